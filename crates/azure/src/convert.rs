//! Between Azure record sets and exodns endpoints, for both flavours of the API: public DNS
//! (`Microsoft.Network/dnsZones`, properties `TTL`, `ARecords`, `CNAMERecord`, …) and private DNS
//! (`Microsoft.Network/privateDnsZones`, properties `ttl`, `aRecords`, `cnameRecord`, …).
//!
//! Names are relative to the zone (`@` for the apex); host names are written as exodns keeps them,
//! without the trailing dot, as upstream does. A TXT target's text goes in `value` (split in
//! strings of at most 255 bytes); it reads back in exodns's quoted form. Record-set `metadata`
//! (Azure's tags) is carried as upstream carries it: `azure/metadata-<key>` properties plus
//! `azure/metadata-keys`, the keys in order.

use exodns_core::endpoint::canonical_targets;
use exodns_core::target::txt_text;
use exodns_core::{DnsName, Endpoint, RecordType, Ttl};
use serde_json::{Map, Value, json};

/// TTL written for an endpoint without one (upstream's `defaultTTL`).
pub const DEFAULT_TTL: u32 = 300;
/// The annotation `azure-tags`, as sources give it (`key1=value1,key2=value2`).
pub const TAGS_PROPERTY: &str = "azure/tags";
pub const METADATA_PREFIX: &str = "azure/metadata-";
pub const METADATA_KEYS: &str = "azure/metadata-keys";

/// Which ARM API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Azure DNS, api-version 2018-05-01 (upstream's armdns v1.2.0).
    Public,
    /// Azure Private DNS, api-version 2024-06-01 (upstream's armprivatedns v1.3.0).
    Private,
}

impl Flavor {
    pub fn zones_segment(self) -> &'static str {
        match self {
            Flavor::Public => "dnsZones",
            Flavor::Private => "privateDnsZones",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::Public => "2018-05-01",
            Flavor::Private => "2024-06-01",
        }
    }

    /// The path segment listing every record set of a zone.
    pub fn all_segment(self) -> &'static str {
        match self {
            Flavor::Public => "all",
            Flavor::Private => "ALL",
        }
    }

    fn ttl_key(self) -> &'static str {
        match self {
            Flavor::Public => "TTL",
            Flavor::Private => "ttl",
        }
    }

    /// The property holding records of type `rt`; `None`: this API has no such records.
    fn records_key(self, rt: RecordType) -> Option<&'static str> {
        use RecordType as T;
        Some(match (self, rt) {
            (Flavor::Public, T::A) => "ARecords",
            (Flavor::Public, T::AAAA) => "AAAARecords",
            (Flavor::Public, T::CNAME) => "CNAMERecord",
            (Flavor::Public, T::MX) => "MXRecords",
            (Flavor::Public, T::NS) => "NSRecords",
            (Flavor::Public, T::PTR) => "PTRRecords",
            (Flavor::Public, T::SRV) => "SRVRecords",
            (Flavor::Public, T::TXT) => "TXTRecords",
            (Flavor::Public, T::CAA) => "caaRecords",
            (Flavor::Private, T::A) => "aRecords",
            (Flavor::Private, T::AAAA) => "aaaaRecords",
            (Flavor::Private, T::CNAME) => "cnameRecord",
            (Flavor::Private, T::MX) => "mxRecords",
            (Flavor::Private, T::PTR) => "ptrRecords",
            (Flavor::Private, T::SRV) => "srvRecords",
            (Flavor::Private, T::TXT) => "txtRecords",
            _ => return None,
        })
    }

    /// Whether exodns can write `rt` here.
    pub fn writable(self, rt: RecordType) -> bool {
        self.records_key(rt).is_some()
    }
}

/// The relative name of `name` in `zone` (`@` for the apex).
pub fn relative_name(name: &DnsName, zone: &str) -> String {
    let n = name.as_str();
    if n.eq_ignore_ascii_case(zone) {
        return "@".into();
    }
    n.strip_suffix(zone).and_then(|h| h.strip_suffix('.')).unwrap_or(n).to_owned()
}

/// Why a record set is not returned as an endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// SOA, or a type exodns does not carry.
    Unmanaged,
    /// An alias record set (`targetResource`) or one without records.
    NoRecords,
    Unparsable(String),
}

/// The type of a record set from its `type` (`Microsoft.Network/dnszones/A`).
pub fn record_type(azure_type: &str) -> Option<RecordType> {
    azure_type.rsplit('/').next()?.parse().ok()
}

/// One record set of zone `zone` (no trailing dot) as an endpoint.
pub fn to_endpoint(flavor: Flavor, zone: &str, name: &str, rtype: RecordType, props: &Value) -> Result<Endpoint, Skip> {
    let key = flavor.records_key(rtype).ok_or(Skip::Unmanaged)?;
    let fqdn = if name == "@" { zone.to_owned() } else { format!("{name}.{zone}") };
    let dns_name = DnsName::parse(&fqdn).map_err(|e| Skip::Unparsable(format!("name {fqdn:?}: {e}")))?;
    let items: Vec<Value> = match props.get(key) {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or_default();
    let raw: Vec<String> = items
        .iter()
        .map(|v| match rtype {
            RecordType::A => text(v, "ipv4Address"),
            RecordType::AAAA => text(v, "ipv6Address"),
            RecordType::CNAME => text(v, "cname"),
            RecordType::NS => text(v, "nsdname"),
            RecordType::PTR => text(v, "ptrdname"),
            RecordType::MX => format!("{} {}", num(v, "preference"), text(v, "exchange")),
            RecordType::SRV => {
                format!("{} {} {} {}", num(v, "priority"), num(v, "weight"), num(v, "port"), text(v, "target"))
            }
            RecordType::CAA => format!("{} {} {}", num(v, "flags"), text(v, "tag"), quote(&text(v, "value"))),
            RecordType::TXT => {
                let joined: String =
                    v.get("value").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
                if joined.starts_with('"') { joined } else { quote(&joined) }
            }
            _ => String::new(),
        })
        .collect();
    if raw.is_empty() || raw.iter().any(String::is_empty) {
        return Err(Skip::NoRecords);
    }
    let targets = canonical_targets(rtype, raw.iter().map(String::as_str))
        .map_err(|e| Skip::Unparsable(format!("{fqdn} {rtype}: {e}")))?;
    let ttl = props.get(flavor.ttl_key()).and_then(Value::as_u64).unwrap_or_default();
    let mut ep = Endpoint::new(dns_name, rtype, targets).with_ttl(Ttl(u32::try_from(ttl).unwrap_or(u32::MAX)));
    if let Some(Value::Object(meta)) = props.get("metadata") {
        let mut keys: Vec<&String> = meta.keys().filter(|k| meta[*k].is_string()).collect();
        keys.sort();
        for k in &keys {
            ep.set_property(&format!("{METADATA_PREFIX}{k}"), meta[*k].as_str().unwrap_or_default());
        }
        if !keys.is_empty() {
            ep.set_property(METADATA_KEYS, keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","));
        }
    }
    Ok(ep)
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `properties` of the record set Azure is sent for `ep`; `Err` names what cannot be written.
pub fn properties(flavor: Flavor, ep: &Endpoint) -> Result<Value, String> {
    let rt = ep.record_type;
    let key = flavor.records_key(rt).ok_or_else(|| {
        format!("Azure {} DNS has no {rt} record sets", if flavor == Flavor::Public { "public" } else { "private" })
    })?;
    let fields = |t: &str, n: usize| -> Result<Vec<String>, String> {
        let parts: Vec<String> = t.split_whitespace().map(str::to_owned).collect();
        if parts.len() == n { Ok(parts) } else { Err(format!("{rt} target {t:?} has {} fields, not {n}", parts.len())) }
    };
    let int = |s: &str| s.parse::<u64>().map_err(|_| format!("{s:?} is not a number"));
    let mut items = Vec::with_capacity(ep.targets.len());
    for t in ep.targets.iter() {
        items.push(match rt {
            RecordType::A => json!({"ipv4Address": t}),
            RecordType::AAAA => json!({"ipv6Address": t}),
            RecordType::CNAME => json!({"cname": t}),
            RecordType::NS => json!({"nsdname": t}),
            RecordType::PTR => json!({"ptrdname": t}),
            RecordType::MX => {
                let f = fields(t, 2)?;
                json!({"preference": int(&f[0])?, "exchange": f[1]})
            }
            RecordType::SRV => {
                let f = fields(t, 4)?;
                json!({"priority": int(&f[0])?, "weight": int(&f[1])?, "port": int(&f[2])?, "target": f[3]})
            }
            RecordType::CAA => {
                let (flags, rest) = t.split_once(' ').ok_or("CAA needs flags, tag and value")?;
                let (tag, value) = rest.split_once(' ').ok_or("CAA needs flags, tag and value")?;
                json!({"flags": int(flags)?, "tag": tag, "value": txt_text(value)})
            }
            RecordType::TXT => json!({"value": chunks(&txt_text(t))}),
            _ => return Err(format!("{rt} is not written to Azure")),
        });
    }
    let mut props = Map::new();
    props.insert(flavor.ttl_key().into(), json!(if ep.ttl.is_set() { ep.ttl.0 } else { DEFAULT_TTL }));
    if rt == RecordType::CNAME {
        props.insert(key.into(), items.into_iter().next().unwrap_or(Value::Null));
    } else {
        props.insert(key.into(), Value::Array(items));
    }
    let meta = metadata(ep);
    if !meta.is_empty() {
        props.insert("metadata".into(), Value::Object(meta));
    }
    Ok(Value::Object(props))
}

/// A TXT text in strings of at most 255 bytes (cut on character boundaries).
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if cur.len() + c.len_utf8() > 255 {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The endpoint's `azure/metadata-*` properties named in `azure/metadata-keys`.
fn metadata(ep: &Endpoint) -> Map<String, Value> {
    let mut m = Map::new();
    for k in ep.property(METADATA_KEYS).unwrap_or_default().split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if let Some(v) = ep.property(&format!("{METADATA_PREFIX}{k}")).filter(|v| !v.is_empty()) {
            m.insert(k.to_owned(), v.into());
        }
    }
    m
}

/// Upstream's `AdjustEndpoints`: `azure/tags` (`k1=v1,k2=v2`) becomes `azure/metadata-k1`, … and
/// `azure/metadata-keys` (sorted, unique); the `azure/tags` property goes.
pub fn expand_tags(ep: &mut Endpoint) {
    let Some(tags_text) = ep.property(TAGS_PROPERTY).map(str::to_owned) else { return };
    ep.remove_property(TAGS_PROPERTY);
    let mut tags = std::collections::BTreeMap::new();
    for tag in tags_text.split(',') {
        let Some((k, v)) = tag.split_once('=') else { continue };
        let (k, v) = (k.trim(), v.trim());
        if !k.is_empty() && !v.is_empty() {
            tags.insert(k.to_owned(), v.to_owned());
        }
    }
    for (k, v) in &tags {
        ep.set_property(&format!("{METADATA_PREFIX}{k}"), v.as_str());
    }
    if !tags.is_empty() {
        ep.set_property(METADATA_KEYS, tags.keys().cloned().collect::<Vec<_>>().join(","));
    }
}

/// Whether a record set as read (`props`) holds the same records as `ep`.
pub fn same_records(flavor: Flavor, zone: &str, name: &str, props: &Value, ep: &Endpoint) -> bool {
    to_endpoint(flavor, zone, name, ep.record_type, props)
        .is_ok_and(|cur| cur.ttl == ep.ttl && cur.targets.same(&ep.targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, rt: RecordType, t: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, t).unwrap().with_ttl(Ttl(60))
    }

    #[test]
    fn round_trips_every_type_in_both_flavours() {
        for flavor in [Flavor::Public, Flavor::Private] {
            for e in [
                ep("www.example.org", RecordType::A, &["192.0.2.1", "192.0.2.2"]),
                ep("www.example.org", RecordType::AAAA, &["2001:db8::1"]),
                ep("api.example.org", RecordType::CNAME, &["lb.example.net"]),
                ep("example.org", RecordType::MX, &["10 mx.example.org"]),
                ep("_sip._udp.example.org", RecordType::SRV, &["0 50 5060 sip.example.org"]),
                ep("a-www.example.org", RecordType::TXT, &["\"heritage=external-dns,external-dns/owner=o\""]),
                ep("t.example.org", RecordType::TXT, &[&"x".repeat(300)]),
            ] {
                let props = properties(flavor, &e).unwrap();
                let name = relative_name(&e.dns_name, "example.org");
                let back = to_endpoint(flavor, "example.org", &name, e.record_type, &props).unwrap();
                assert_eq!(back, e, "{flavor:?} {props}");
            }
        }
        let ns = ep("sub.example.org", RecordType::NS, &["ns1.example.net"]);
        assert!(properties(Flavor::Public, &ns).is_ok());
        assert!(properties(Flavor::Private, &ns).unwrap_err().contains("private"));
    }

    #[test]
    fn shapes_as_the_api_has_them() {
        let p = properties(Flavor::Public, &ep("x.example.org", RecordType::TXT, &["hello world"])).unwrap();
        assert_eq!(p, json!({"TTL": 60, "TXTRecords": [{"value": ["hello world"]}]}));
        let p = properties(Flavor::Private, &ep("x.example.org", RecordType::CNAME, &["lb.example.net"])).unwrap();
        assert_eq!(p, json!({"ttl": 60, "cnameRecord": {"cname": "lb.example.net"}}));
        let p = properties(Flavor::Public, &ep("x.example.org", RecordType::MX, &["10 mx.example.org"])).unwrap();
        assert_eq!(p["MXRecords"], json!([{"preference": 10, "exchange": "mx.example.org"}]));
        assert_eq!(relative_name(&DnsName::parse("example.org").unwrap(), "example.org"), "@");
        assert_eq!(relative_name(&DnsName::parse("*.w.example.org").unwrap(), "example.org"), "*.w");
        assert_eq!(record_type("Microsoft.Network/dnszones/CNAME"), Some(RecordType::CNAME));
        assert_eq!(record_type("Microsoft.Network/privateDnsZones/SOA"), Some(RecordType::SOA));
        // A TXT value upstream wrote with its quotes reads the same as ours.
        let quoted = json!({"TTL": 60, "TXTRecords": [{"value": ["\"heritage=external-dns\""]}]});
        let plain = json!({"TTL": 60, "TXTRecords": [{"value": ["heritage=external-dns"]}]});
        let a = to_endpoint(Flavor::Public, "example.org", "t", RecordType::TXT, &quoted).unwrap();
        let b = to_endpoint(Flavor::Public, "example.org", "t", RecordType::TXT, &plain).unwrap();
        assert_eq!(a.targets, b.targets);
        assert_eq!(to_endpoint(Flavor::Public, "example.org", "@", RecordType::SOA, &json!({})), Err(Skip::Unmanaged));
        assert_eq!(
            to_endpoint(Flavor::Public, "example.org", "x", RecordType::A, &json!({"TTL": 1})),
            Err(Skip::NoRecords)
        );
    }

    #[test]
    fn tags_become_metadata_and_read_back_the_same() {
        let mut e = ep("x.example.org", RecordType::A, &["192.0.2.1"])
            .with_property(TAGS_PROPERTY, "team=dns, env = prod,bad,=x,team=dns");
        expand_tags(&mut e);
        assert_eq!(e.property(TAGS_PROPERTY), None);
        assert_eq!(e.property(METADATA_KEYS), Some("env,team"));
        let props = properties(Flavor::Public, &e).unwrap();
        assert_eq!(props["metadata"], json!({"env": "prod", "team": "dns"}));
        let back = to_endpoint(Flavor::Public, "example.org", "x", RecordType::A, &props).unwrap();
        assert_eq!(back.provider_specific, e.provider_specific);
    }
}
