//! Between PowerDNS rrsets and exodns endpoints.
//!
//! PowerDNS wants names and host-name targets absolute (`www.example.org.`); exodns keeps them
//! without the trailing dot. TXT content is in quoted presentation form on both sides. A CNAME
//! at a zone apex is written as ALIAS (a CNAME cannot sit beside the SOA and NS there), and an
//! ALIAS reads back as CNAME, as upstream does.

use std::borrow::Cow;

use exodns_core::endpoint::canonical_targets;
use exodns_core::{DnsName, Endpoint, RecordType, Ttl};

use crate::model::RRSet;

/// Provider-specific property asking for ALIAS instead of CNAME (upstream's
/// `external-dns.kubernetes.io/alias` annotation and `--prefer-alias`).
pub const ALIAS_PROPERTY: &str = "alias";

/// Why an rrset read from PowerDNS is not returned as an endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// SOA: the server's, never managed.
    Soa,
    /// Every record is disabled, or the rrset carries only comments.
    NoEnabledRecords,
    /// A type exodns does not know.
    UnknownType,
    /// The name or a target does not parse.
    Unparsable(String),
}

/// Turns one rrset of zone `zone` (absolute, lowercase) into an endpoint.
pub fn rrset_to_endpoint(rr: &RRSet, zone: &str) -> Result<Endpoint, Skip> {
    let rtype: RecordType = rr.rtype.parse().map_err(|_| Skip::UnknownType)?;
    if rtype == RecordType::SOA {
        return Err(Skip::Soa);
    }
    let contents = rr.records.iter().filter(|r| !r.disabled).map(|r| r.content.as_str());
    if rr.records.iter().all(|r| r.disabled) {
        return Err(Skip::NoEnabledRecords);
    }
    let name = DnsName::parse(&rr.name).map_err(|e| Skip::Unparsable(format!("name {:?}: {e}", rr.name)))?;
    let (stored_type, alias) = match rtype {
        RecordType::ALIAS => (RecordType::CNAME, !rr.name.eq_ignore_ascii_case(zone)),
        other => (other, false),
    };
    let targets = canonical_targets(stored_type, contents).map_err(|e| Skip::Unparsable(e.to_string()))?;
    let mut ep = Endpoint::new(name, stored_type, targets).with_ttl(Ttl(rr.ttl));
    if alias {
        // A non-apex ALIAS is asked for explicitly; say so, so that the planner sees the same
        // property a desired endpoint with alias=true carries.
        ep.set_property(ALIAS_PROPERTY, "true");
    }
    Ok(ep)
}

/// The type written to PowerDNS for `ep` in zone `zone_fqdn`: ALIAS for a CNAME at the apex or
/// with `alias=true`.
pub fn physical_type(ep: &Endpoint, zone_fqdn: &str) -> RecordType {
    if ep.record_type == RecordType::CNAME && (is_apex(&ep.dns_name, zone_fqdn) || wants_alias(ep)) {
        RecordType::ALIAS
    } else {
        ep.record_type
    }
}

pub fn wants_alias(ep: &Endpoint) -> bool {
    ep.property(ALIAS_PROPERTY).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub fn is_apex(name: &DnsName, zone_fqdn: &str) -> bool {
    let zone = zone_fqdn.strip_suffix('.').unwrap_or(zone_fqdn);
    name.as_str().eq_ignore_ascii_case(zone)
}

/// Record content as PowerDNS wants it: host names absolute; everything else as exodns keeps
/// it (TXT already quoted).
pub fn content(rtype: RecordType, target: &str) -> Cow<'_, str> {
    exodns_core::target::with_absolute_hosts(rtype, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Record;

    fn rrset(name: &str, rtype: &str, contents: &[(&str, bool)]) -> RRSet {
        RRSet {
            name: name.into(),
            rtype: rtype.into(),
            ttl: 60,
            records: contents.iter().map(|(c, d)| Record { content: (*c).into(), disabled: *d }).collect(),
        }
    }

    #[test]
    fn reads_rrsets_into_canonical_endpoints() {
        let z = "example.org.";
        let ep = rrset_to_endpoint(&rrset("www.example.org.", "CNAME", &[("LB.example.net.", false)]), z).unwrap();
        assert_eq!(
            (ep.dns_name.as_str(), ep.record_type, ep.targets.to_vec()),
            ("www.example.org", RecordType::CNAME, vec!["lb.example.net".into()])
        );
        assert_eq!(ep.ttl, Ttl(60));
        let ep = rrset_to_endpoint(&rrset("example.org.", "ALIAS", &[("lb.example.net.", false)]), z).unwrap();
        assert_eq!(ep.record_type, RecordType::CNAME);
        assert_eq!(ep.property(ALIAS_PROPERTY), None);
        let ep = rrset_to_endpoint(&rrset("a.example.org.", "ALIAS", &[("lb.example.net.", false)]), z).unwrap();
        assert_eq!(ep.property(ALIAS_PROPERTY), Some("true"));
        let ep = rrset_to_endpoint(&rrset("m.example.org.", "MX", &[("10 mail.example.org.", false)]), z).unwrap();
        assert_eq!(ep.targets, vec!["10 mail.example.org"]);
        let ep = rrset_to_endpoint(&rrset("t.example.org.", "TXT", &[("\"a b\"", false)]), z).unwrap();
        assert_eq!(ep.targets, vec!["\"a b\""]);
        let ep = rrset_to_endpoint(&rrset("d.example.org.", "A", &[("1.1.1.1", true), ("2.2.2.2", false)]), z).unwrap();
        assert_eq!(ep.targets, vec!["2.2.2.2"]);
    }

    #[test]
    fn skips_what_it_cannot_carry() {
        let z = "example.org.";
        assert_eq!(
            rrset_to_endpoint(&rrset("example.org.", "SOA", &[("ns1. h. 1 2 3 4 5", false)]), z),
            Err(Skip::Soa)
        );
        assert_eq!(
            rrset_to_endpoint(&rrset("x.example.org.", "A", &[("1.1.1.1", true)]), z),
            Err(Skip::NoEnabledRecords)
        );
        assert_eq!(rrset_to_endpoint(&rrset("x.example.org.", "A", &[]), z), Err(Skip::NoEnabledRecords));
        assert_eq!(rrset_to_endpoint(&rrset("x.example.org.", "HINFO", &[("a b", false)]), z), Err(Skip::UnknownType));
        assert!(matches!(
            rrset_to_endpoint(&rrset("x.example.org.", "A", &[("nonsense", false)]), z),
            Err(Skip::Unparsable(_))
        ));
        assert!(matches!(
            rrset_to_endpoint(&rrset("0/25.example.org.", "A", &[("1.1.1.1", false)]), z),
            Err(Skip::Unparsable(_))
        ));
    }

    #[test]
    fn writes_absolute_host_names() {
        assert_eq!(content(RecordType::CNAME, "lb.example.net"), "lb.example.net.");
        assert_eq!(content(RecordType::CNAME, "lb.example.net."), "lb.example.net.");
        assert_eq!(content(RecordType::MX, "10 mail.example.org"), "10 mail.example.org.");
        assert_eq!(content(RecordType::SRV, "0 50 5060 sip.example.org"), "0 50 5060 sip.example.org.");
        assert_eq!(content(RecordType::SRV, "0 0 0 ."), "0 0 0 .");
        assert_eq!(
            content(RecordType::NAPTR, "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.org"),
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.org."
        );
        assert_eq!(content(RecordType::TXT, "\"heritage=external-dns\""), "\"heritage=external-dns\"");
        assert_eq!(content(RecordType::A, "1.2.3.4"), "1.2.3.4");
        assert_eq!(content(RecordType::CAA, "0 issue \"letsencrypt.org\""), "0 issue \"letsencrypt.org\"");
    }

    #[test]
    fn apex_cname_is_alias() {
        let apex = Endpoint::parse("example.org", RecordType::CNAME, &["lb.example.net"]).unwrap();
        assert_eq!(physical_type(&apex, "example.org."), RecordType::ALIAS);
        let www = Endpoint::parse("www.example.org", RecordType::CNAME, &["lb.example.net"]).unwrap();
        assert_eq!(physical_type(&www, "example.org."), RecordType::CNAME);
        assert_eq!(physical_type(&www.with_property(ALIAS_PROPERTY, "true"), "example.org."), RecordType::ALIAS);
        let a = Endpoint::parse("example.org", RecordType::A, &["1.1.1.1"]).unwrap();
        assert_eq!(physical_type(&a, "example.org."), RecordType::A);
    }
}
