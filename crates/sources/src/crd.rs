//! The `crd` source: `DNSEndpoint` objects (`externaldns.k8s.io/v1alpha1`), whose
//! `spec.endpoints` are records written out in full, of any type.
//!
//! Each entry is checked on its own — name, record type, every target for its type, TTL, set
//! identifier — and a bad entry is reported with its index while the others are published. An
//! entry without targets takes `--default-targets`, or is reported when there are none. The
//! `resource` label is `crd/<namespace>/<name>`; labels written in the entry are kept.

use exodns_core::endpoint::canonical_targets;
use exodns_core::record_type::RecordType;
use exodns_core::{DnsName, Endpoint, Invalid, InvalidKind, Targets, Ttl};

use crate::SourceOutput;
use crate::annotations::check_set_identifier;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Read, Source, StatusWriter};
use crate::resource::Watched;
use crate::types::{DNSEndpoint, DNSEndpointEntry};

/// The `crd` source.
pub struct CrdSource;

impl Source for CrdSource {
    const NAME: &'static str = "crd";
    const LABEL: &'static str = "crd";
    type Object = DNSEndpoint;
    const READS: &'static [Read] = &[Read::own(Watched::DnsEndpoints)];
    const STATUS: Option<StatusWriter<DNSEndpoint>> = Some(|obj, _| {
        let generation = observed_generation_update(obj)?;
        Some(serde_json::json!({"status": {"observedGeneration": generation}}))
    });

    fn endpoints(obj: &DNSEndpoint, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(obj, cfg)
    }
}

/// The endpoints of one DNSEndpoint.
pub fn endpoints(obj: &DNSEndpoint, cfg: &SourceConfig) -> SourceOutput {
    // Entries carry their own TTL, set identifier and properties: no annotation applies to them.
    let mut ctx = match Ctx::admit::<CrdSource>(&obj.metadata, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    for (i, entry) in obj.spec.endpoints.iter().enumerate() {
        match entry_endpoint(entry, &format!("spec.endpoints[{i}]"), cfg) {
            Ok(ep) => {
                let mut ep = ep;
                ep.labels.insert(exodns_core::endpoint::label::RESOURCE.to_owned(), ctx.obj.resource_label());
                ctx.endpoints.push(ep);
            }
            Err(e) => ctx.invalid.push(e.on(&ctx.obj)),
        }
    }
    ctx.finish()
}

/// The status a DNSEndpoint should get once read: `observedGeneration` set to its generation.
/// `None` when it already has it (no write needed).
pub fn observed_generation_update(obj: &DNSEndpoint) -> Option<i64> {
    let generation = obj.metadata.generation?;
    let observed = obj.status.as_ref().and_then(|s| s.observed_generation);
    (observed != Some(generation)).then_some(generation)
}

/// One entry, checked; `path` names it in diagnostics (`spec.endpoints[2]`). An entry without
/// targets is kept without them when `--default-targets` will fill them in.
pub(crate) fn entry_endpoint(e: &DNSEndpointEntry, path: &str, cfg: &SourceConfig) -> Result<Endpoint, Invalid> {
    let at = |f: &str| format!("{path}.{f}");
    let name = DnsName::parse(&e.dns_name).map_err(|err| err.invalid(at("dnsName"), &e.dns_name))?;
    if e.record_type.trim().is_empty() {
        return Err(Invalid::new(
            InvalidKind::RecordType,
            at("recordType"),
            "",
            "recordType is required (A, AAAA, CNAME, TXT, MX, SRV, …)",
        ));
    }
    let rt: RecordType = e.record_type.parse().map_err(|err: exodns_core::record_type::UnknownRecordType| {
        Invalid::new(InvalidKind::RecordType, at("recordType"), &e.record_type, err.to_string())
    })?;
    let targets: Vec<&str> = e.targets.iter().map(String::as_str).filter(|t| !t.trim().is_empty()).collect();
    let targets = if targets.is_empty() {
        if cfg.default_targets.is_empty() {
            return Err(Invalid::new(
                InvalidKind::Target,
                at("targets"),
                "",
                format!("{rt} records need at least one target (or --default-targets)"),
            ));
        }
        // Filled from --default-targets when the object's endpoints are finished.
        Targets::default()
    } else {
        canonical_targets(rt, targets.iter().copied()).map_err(|mut err| {
            if matches!(rt, RecordType::A | RecordType::AAAA)
                && e.provider_specific.iter().any(|p| p.name == "alias" && p.value.eq_ignore_ascii_case("true"))
            {
                // Upstream publishes these as they are; exodns asks for the form every provider
                // reads the same way.
                err.reason = format!(
                    "{}; for an alias record write a CNAME with alias=true: Route 53 writes it as alias A and \
                     AAAA records, PowerDNS as ALIAS",
                    err.reason
                );
            }
            err.at(at("targets"))
        })?
    };
    let ttl = match e.record_ttl {
        None | Some(0) => Ttl::default(),
        Some(n) => Ttl::checked(n).map_err(|err| err.at(at("recordTTL")))?,
    };
    check_set_identifier(&e.set_identifier)
        .map_err(|reason| Invalid::new(InvalidKind::SetIdentifier, at("setIdentifier"), &e.set_identifier, reason))?;
    let mut ep = Endpoint::new(name, rt, targets).with_ttl(ttl).with_set_identifier(e.set_identifier.clone());
    let written: Vec<String> = e.targets.iter().map(|t| wire_form(rt, t)).collect();
    ep.spell(&e.dns_name, written.iter().map(String::as_str));
    ep.labels = e.labels.clone().into();
    ep.provider_specific = e.provider_specific.clone();
    Ok(ep)
}

/// A target as upstream puts it on the webhook wire: as written, except for the trailing dot
/// upstream's rules demand (SRV and NAPTR hosts absolute) or refuse (NS, PTR and the other
/// single-host types but CNAME and DNAME). exodns accepts both spellings of those (see
/// docs/sources.md) and sends the one upstream's providers expect.
fn wire_form(rt: RecordType, raw: &str) -> String {
    let t = raw.trim();
    match rt {
        RecordType::SRV | RecordType::NAPTR if !t.ends_with('.') => format!("{t}."),
        RecordType::NS | RecordType::PTR => t.strip_suffix('.').unwrap_or(t).to_owned(),
        _ => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFlags;
    use crate::types::{DNSEndpointSpec, DNSEndpointStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn entry(name: &str, rt: &str, targets: &[&str]) -> DNSEndpointEntry {
        DNSEndpointEntry {
            dns_name: name.into(),
            record_type: rt.into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    pub(crate) fn mk_dns_endpoint(ns: &str, name: &str, entries: Vec<DNSEndpointEntry>) -> DNSEndpoint {
        DNSEndpoint {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(ns.into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: DNSEndpointSpec { endpoints: entries },
            status: Some(DNSEndpointStatus { observed_generation: Some(1) }),
        }
    }

    /// The webhook wire carries entries as written, with the trailing dots upstream's rules
    /// want: SRV and NAPTR hosts absolute, NS hosts bare; TXT unquoted, names in capitals.
    #[test]
    fn entries_keep_their_spelling_for_the_wire() {
        let obj = mk_dns_endpoint(
            "dns",
            "records",
            vec![
                entry("_sip._udp.Example.org", "SRV", &["0 50 5060 Sip.example.org"]),
                entry("sub.example.org", "NS", &["ns1.example.net."]),
                entry("txt.example.org", "TXT", &["hello world"]),
                entry("c.example.org", "CNAME", &["Alias.example.net."]),
            ],
        );
        let out = endpoints(&obj, &SourceConfig::default());
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        let wire: Vec<(String, Vec<String>)> =
            out.endpoints.iter().map(|e| (e.wire_name().to_owned(), e.wire_targets())).collect();
        let want = |n: &str, t: &str| (n.to_owned(), vec![t.to_owned()]);
        assert_eq!(
            wire,
            vec![
                want("_sip._udp.Example.org", "0 50 5060 Sip.example.org."),
                want("c.example.org", "Alias.example.net."),
                want("sub.example.org", "ns1.example.net"),
                want("txt.example.org", "hello world"),
            ]
        );
        assert_eq!(out.endpoints[0].targets, ["0 50 5060 sip.example.org"], "planned on the canonical form");
    }

    /// PowerDNS LUA entries: the type token upper-cased as PowerDNS reads it back; content that
    /// is not a type and quoted code is refused on the entry's targets, the rest published.
    #[test]
    fn lua_entries_take_the_read_back_form_or_are_refused() {
        let code = "\"ifportup(443, {'192.0.2.1', '192.0.2.2'})\"";
        let obj = mk_dns_endpoint(
            "dns",
            "lua",
            vec![
                entry("app.example.org", "LUA", &[&format!("a {code}")]),
                entry("bad.example.org", "LUA", &["A ifportup(443, {'192.0.2.1'})"]),
                entry("empty.example.org", "lua", &["A \"\""]),
            ],
        );
        let out = endpoints(&obj, &SourceConfig::default());
        assert_eq!(out.endpoints.len(), 1, "{:?}", out.endpoints);
        assert_eq!(out.endpoints[0].record_type, RecordType::LUA);
        assert_eq!(out.endpoints[0].targets, [format!("A {code}")]);
        let fields: Vec<(String, &str)> = out
            .invalid
            .iter()
            .map(|i| (i.object.as_ref().map(|o| o.to_string()).unwrap_or_default(), i.field.as_str()))
            .collect();
        let want = |f: &'static str| ("crd/dns/lua".to_owned(), f);
        assert_eq!(fields, [want("spec.endpoints[1].targets"), want("spec.endpoints[2].targets")]);
        assert!(out.invalid[0].reason.contains("double quotes"), "{}", out.invalid[0].reason);
        assert!(out.invalid[1].reason.contains("empty"), "{}", out.invalid[1].reason);
    }

    #[test]
    fn entries_verbatim_with_resource_label() {
        let mut mx = entry("example.org", "MX", &["10 mail.example.org."]);
        mx.record_ttl = Some(300);
        mx.labels.insert("team".into(), "mail".into());
        let mut weighted = entry("w.example.org", "CNAME", &["lb.example.net"]);
        weighted.set_identifier = "eu".into();
        weighted
            .provider_specific
            .push(exodns_core::ProviderSpecific { name: "aws/weight".into(), value: "10".into() });
        let obj =
            mk_dns_endpoint("dns", "records", vec![mx, weighted, entry("txt.example.org", "TXT", &["v=spf1 -all"])]);
        let out = endpoints(&obj, &SourceConfig::default());
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        let text: Vec<String> = out.endpoints.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "example.org MX ttl=300 10 mail.example.org",
                "txt.example.org TXT \"v=spf1 -all\"",
                "w.example.org CNAME [eu] lb.example.net",
            ]
        );
        assert_eq!(out.endpoints[0].resource(), Some("crd/dns/records"));
        assert_eq!(out.endpoints[0].labels.get("team").map(String::as_str), Some("mail"));
        assert_eq!(out.endpoints[2].property("aws/weight"), Some("10"));
        assert_eq!(observed_generation_update(&obj), Some(2));
    }

    #[test]
    fn bad_entries_are_reported_by_index_and_others_kept() {
        let obj = mk_dns_endpoint(
            "dns",
            "mixed",
            vec![
                entry("ok.example.org", "A", &["1.2.3.4"]),
                entry("bad..example.org", "A", &["1.2.3.4"]),
                entry("x.example.org", "BOGUS", &["1.2.3.4"]),
                entry("y.example.org", "A", &["not-an-ip"]),
                entry("z.example.org", "A", &[]),
            ],
        );
        let out = endpoints(&obj, &SourceConfig::default());
        assert_eq!(out.endpoints.len(), 1);
        let fields: Vec<&str> = out.invalid.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "spec.endpoints[1].dnsName",
                "spec.endpoints[2].recordType",
                "spec.endpoints[3].targets",
                "spec.endpoints[4].targets",
            ]
        );
        assert!(out.invalid.iter().all(|i| i.object.as_ref().unwrap().to_string() == "crd/dns/mixed"));
    }

    #[test]
    fn empty_targets_take_default_targets() {
        let cfg = SourceConfig::new(&SourceFlags {
            default_targets: vec!["10.0.0.1".into(), "lb.example.net".into()],
            ..Default::default()
        })
        .unwrap();
        let obj = mk_dns_endpoint(
            "dns",
            "d",
            vec![entry("a.example.org", "A", &[]), entry("b.example.org", "A", &["1.1.1.1"])],
        );
        let out = endpoints(&obj, &cfg);
        let text: Vec<String> = out.endpoints.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec!["a.example.org A 10.0.0.1", "a.example.org CNAME lb.example.net", "b.example.org A 1.1.1.1"]
        );
        let forced = SourceConfig { force_default_targets: true, ..cfg };
        let out = endpoints(&obj, &forced);
        assert!(out.endpoints.iter().all(|e| !e.targets.contains(&"1.1.1.1".to_string())));
    }
}
