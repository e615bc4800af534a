//! Between Cloudflare records and exodns endpoints, and the provider-specific properties.
//!
//! Cloudflare keeps one record per value; exodns one endpoint per (name, type) with its targets.
//! A target is the canonical exodns form: MX `pref host`, SRV `prio weight port host`, TXT
//! quoted. Cloudflare takes MX as `content` + `priority`, SRV and CAA as `data`, and the rest as
//! `content`. Host names are written without the final dot, as Cloudflare shows them.

use exodns_core::target::canonical_target;
use exodns_core::{Endpoint, RecordType};
use serde_json::{Value, json};

use crate::model::Record;

/// Properties, under the names exodns uses (upstream v0.23's): the provider reads every
/// spelling ([`canonical_property`]) and writes these.
pub const PROXIED: &str = "cloudflare/proxied";
pub const REGION_KEY: &str = "cloudflare/region-key";
pub const CUSTOM_HOSTNAME: &str = "cloudflare/custom-hostname";
pub const RECORD_COMMENT: &str = "cloudflare/record-comment";
pub const TAGS: &str = "cloudflare/tags";

const KNOWN: &[&str] = &["proxied", "region-key", "custom-hostname", "record-comment", "tags"];

/// The exodns name of a Cloudflare property under any of upstream's spellings: v0.23's
/// `cloudflare/proxied`, and before it the annotation key, `<annotation prefix>cloudflare-proxied`
/// (`external-dns.kubernetes.io/…` by default, `external-dns.alpha.kubernetes.io/…` before v0.22
/// or with that `--annotation-prefix`). `None` for other properties.
pub fn canonical_property(name: &str) -> Option<&'static str> {
    let suffix = name.strip_prefix("cloudflare/").or_else(|| name.rsplit_once("/cloudflare-").map(|(_, s)| s))?;
    let i = KNOWN.iter().position(|k| *k == suffix)?;
    Some([PROXIED, REGION_KEY, CUSTOM_HOSTNAME, RECORD_COMMENT, TAGS][i])
}

/// Types Cloudflare can proxy.
pub fn proxiable(rt: RecordType) -> bool {
    matches!(rt, RecordType::A | RecordType::AAAA | RecordType::CNAME)
}

/// Why a record read from Cloudflare is not returned as (part of) an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// SOA: Cloudflare's, never managed.
    Soa,
    /// A type exodns does not carry (LOC, SPF, CERT, URI, …).
    UnknownType(String),
    /// The value does not parse as its type.
    Unparsable(String),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Soa => f.write_str("SOA records are Cloudflare's own"),
            Skip::UnknownType(t) => write!(f, "exodns does not carry {t} records"),
            Skip::Unparsable(why) => write!(f, "value does not parse: {why}"),
        }
    }
}

fn num(d: &Value, k: &str) -> Option<u64> {
    d.get(k).and_then(Value::as_f64).filter(|v| *v >= 0.0 && v.fract() == 0.0).map(|v| v as u64)
}

/// The record type and the canonical target of one Cloudflare record.
pub fn record_target(r: &Record) -> Result<(RecordType, String), Skip> {
    let rtype: RecordType = match r.rtype.parse() {
        Ok(RecordType::SOA) => return Err(Skip::Soa),
        Ok(t) => t,
        Err(_) => return Err(Skip::UnknownType(r.rtype.clone())),
    };
    let content = r.content.as_deref().unwrap_or_default();
    let data = r.data.as_ref();
    let raw = match rtype {
        RecordType::MX => {
            let prio = r.priority.ok_or_else(|| Skip::Unparsable("MX without priority".into()))?;
            format!("{prio} {content}")
        }
        RecordType::SRV => {
            let d = data.ok_or_else(|| Skip::Unparsable("SRV without data".into()))?;
            let target = d.get("target").and_then(Value::as_str).unwrap_or_default();
            match (num(d, "priority"), num(d, "weight"), num(d, "port")) {
                (Some(p), Some(w), Some(port)) => format!("{p} {w} {port} {target}"),
                _ => return Err(Skip::Unparsable(format!("SRV data {d}"))),
            }
        }
        RecordType::CAA => {
            let d = data.ok_or_else(|| Skip::Unparsable("CAA without data".into()))?;
            let tag = d.get("tag").and_then(Value::as_str).unwrap_or_default();
            let value = d.get("value").and_then(Value::as_str).unwrap_or_default();
            format!("{} {tag} \"{value}\"", num(d, "flags").unwrap_or(0))
        }
        _ => content.to_owned(),
    };
    let target = canonical_target(rtype, &raw).map_err(|e| Skip::Unparsable(e.to_string()))?;
    Ok((rtype, target))
}

/// How a target is written: `content`, `data` and `priority` of the record body. `None` for a
/// type exodns does not write to Cloudflare.
pub fn write_fields(rt: RecordType, target: &str) -> Option<(Option<String>, Option<Value>, Option<u16>)> {
    let fields: Vec<&str> = target.split_whitespace().collect();
    match rt {
        RecordType::A | RecordType::AAAA | RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::TXT => {
            Some((Some(target.to_owned()), None, None))
        }
        RecordType::MX => {
            let [pref, host] = fields[..] else { return None };
            Some((Some(host.to_owned()), None, Some(pref.parse().ok()?)))
        }
        RecordType::SRV => {
            let [prio, weight, port, host] = fields[..] else { return None };
            let (prio, weight, port): (u16, u16, u16) = (prio.parse().ok()?, weight.parse().ok()?, port.parse().ok()?);
            let data = json!({"priority": prio, "weight": weight, "port": port, "target": host});
            Some((None, Some(data), Some(prio)))
        }
        RecordType::CAA => {
            let mut it = target.splitn(3, ' ');
            let (flags, tag, value) = (it.next()?.parse::<u8>().ok()?, it.next()?, it.next()?);
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            Some((None, Some(json!({"flags": flags, "tag": tag, "value": value})), None))
        }
        _ => None,
    }
}

/// The value of property `name` on `ep`, whatever spelling it came under.
pub fn property<'a>(ep: &'a Endpoint, name: &str) -> Option<&'a str> {
    ep.provider_specific.iter().find(|p| canonical_property(&p.name) == Some(name)).map(|p| p.value.as_str())
}

/// Tags as Cloudflare keeps them: trimmed, without empties, sorted.
pub fn parse_tags(raw: &str) -> Vec<String> {
    let mut tags: Vec<String> = raw.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
    tags.sort();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_property() {
        for name in [
            "cloudflare/proxied",
            "external-dns.alpha.kubernetes.io/cloudflare-proxied",
            "external-dns.kubernetes.io/cloudflare-proxied",
            "custom.example/cloudflare-proxied",
        ] {
            assert_eq!(canonical_property(name), Some(PROXIED), "{name}");
        }
        assert_eq!(
            canonical_property("external-dns.alpha.kubernetes.io/cloudflare-record-comment"),
            Some(RECORD_COMMENT)
        );
        assert_eq!(canonical_property("cloudflare/unknown"), None);
        assert_eq!(canonical_property("aws/weight"), None);
        assert_eq!(canonical_property("proxied"), None);
    }

    #[test]
    fn write_fields_per_type() {
        assert_eq!(
            write_fields(RecordType::MX, "10 mail.example.org"),
            Some((Some("mail.example.org".into()), None, Some(10)))
        );
        let (c, d, p) = write_fields(RecordType::SRV, "1 50 5060 sip.example.org").unwrap();
        assert_eq!((c, p), (None, Some(1)));
        assert_eq!(d.unwrap(), json!({"priority": 1, "weight": 50, "port": 5060, "target": "sip.example.org"}));
        let (_, d, _) = write_fields(RecordType::CAA, "0 issue \"letsencrypt.org\"").unwrap();
        assert_eq!(d.unwrap(), json!({"flags": 0, "tag": "issue", "value": "letsencrypt.org"}));
        assert_eq!(write_fields(RecordType::SSHFP, "1 1 abcd"), None);
    }

    #[test]
    fn tags_are_trimmed_and_sorted() {
        assert_eq!(parse_tags(" b:2, a:1,,"), ["a:1", "b:2"]);
    }
}
