//! The webhook JSON as it travels, and the decoders both sides use.
//!
//! The decoders take what Go's `encoding/json` writes and reads: `null` for an empty list or map,
//! a property without a `value` (Go's `omitempty`), unknown fields (ignored), capitalised
//! `Changes` keys (before upstream v0.17). A body of the wrong shape is an error that names the
//! field at fault (`create[3].recordTTL: invalid type: string "60", expected i64`). An item of the
//! right shape whose content exodns refuses (a bad name, a target that does not fit its type) is
//! not an error: it is set aside as [`Skipped`], with the reason, and the rest goes on.

use std::collections::BTreeMap;

use exodns_core::endpoint::RawEndpoint;
use exodns_core::filter::DomainFilterJson;
use exodns_core::{Changes, DomainFilter, Endpoint, ProviderSpecific};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// Media type of every webhook body, as upstream's client sends and expects it.
pub const MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";
/// The media type without its `version` parameter.
pub const MEDIA_TYPE_ESSENCE: &str = "application/external.dns.webhook+json";
/// Protocol version exodns speaks.
pub const PROTOCOL_VERSION: &str = "1";

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A struct read from a JSON object only. serde's derived structs also take an array (fields
/// by position); Go's decoder does not, and neither does exodns.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData)).map(ObjectOnly)
    }
}

/// A list of objects; `null` is empty.
fn object_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let list: Option<Vec<ObjectOnly<T>>> = Option::deserialize(d)?;
    Ok(list.unwrap_or_default().into_iter().map(|o| o.0).collect())
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One provider-specific property on the wire (`{"name":"webhook/foo","value":"bar"}`); Go
/// omits an empty value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireProperty {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// The webhook `Endpoint` as it travels, before any check of its content. Every field may be
/// missing or `null`; empty fields are left out when written, as Go's `omitempty` does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEndpoint {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub dns_name: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub record_type: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub set_identifier: String,
    #[serde(rename = "recordTTL", default, deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub record_ttl: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "object_list", skip_serializing_if = "Vec::is_empty")]
    pub provider_specific: Vec<WireProperty>,
}

impl WireEndpoint {
    /// Checks and canonicalises the content (name, type, targets, TTL).
    #[allow(clippy::result_large_err)] // exodns_core's error type
    pub fn to_endpoint(&self) -> Result<Endpoint, exodns_core::Invalid> {
        let raw = RawEndpoint {
            dns_name: self.dns_name.clone(),
            targets: self.targets.clone(),
            record_type: self.record_type.clone(),
            set_identifier: self.set_identifier.clone(),
            record_ttl: self.record_ttl,
            labels: self.labels.clone().into(),
            provider_specific: self
                .provider_specific
                .iter()
                .map(|p| ProviderSpecific { name: p.name.clone(), value: p.value.clone() })
                .collect(),
        };
        Endpoint::try_from(raw)
    }
}

impl From<&Endpoint> for WireEndpoint {
    fn from(ep: &Endpoint) -> Self {
        // As written by the source (upstream's form), where the endpoint knows it.
        WireEndpoint {
            dns_name: ep.wire_name().to_owned(),
            targets: ep.wire_targets(),
            record_type: ep.record_type.as_str().to_owned(),
            set_identifier: ep.set_identifier.clone(),
            record_ttl: i64::from(ep.ttl.0),
            labels: ep.labels.clone().into(),
            provider_specific: ep
                .provider_specific
                .iter()
                .map(|p| WireProperty { name: p.name.clone(), value: p.value.clone() })
                .collect(),
        }
    }
}

/// The webhook `Changes` as it travels. Lowercase keys (upstream ≥ v0.17) and capitalised ones
/// are both read; `null` lists are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireChanges {
    #[serde(default, alias = "Create", deserialize_with = "object_list", skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<WireEndpoint>,
    #[serde(default, alias = "UpdateOld", deserialize_with = "object_list", skip_serializing_if = "Vec::is_empty")]
    pub update_old: Vec<WireEndpoint>,
    #[serde(default, alias = "UpdateNew", deserialize_with = "object_list", skip_serializing_if = "Vec::is_empty")]
    pub update_new: Vec<WireEndpoint>,
    #[serde(default, alias = "Delete", deserialize_with = "object_list", skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<WireEndpoint>,
}

impl From<&Changes> for WireChanges {
    fn from(c: &Changes) -> Self {
        let list = |v: &[Endpoint]| v.iter().map(WireEndpoint::from).collect();
        WireChanges {
            create: list(&c.create),
            update_old: list(&c.update_old),
            update_new: list(&c.update_new),
            delete: list(&c.delete),
        }
    }
}

/// The negotiation body: upstream's `DomainFilter` JSON (`{"include":[…],"exclude":[…]}` or
/// `{"regexInclude":"…","regexExclude":"…"}`, every key omitted when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDomainFilter {
    #[serde(default, deserialize_with = "nullable")]
    include: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    exclude: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    regex_include: String,
    #[serde(default, deserialize_with = "nullable")]
    regex_exclude: String,
}

/// A body that is not JSON of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct DecodeError {
    /// Where in the body: `create[3].dnsName`, `[0]`, or empty for the body as a whole.
    pub path: String,
    pub message: String,
}

impl DecodeError {
    fn describe(&self) -> String {
        if self.path.is_empty() || self.path == "." {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }

    fn whole(message: impl Into<String>) -> Self {
        DecodeError { path: String::new(), message: message.into() }
    }
}

/// An item of the right shape whose content exodns refused; it was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where it was: `create[3]`, `[7]`.
    pub location: String,
    pub reason: String,
    /// The item as it came (re-encoded).
    pub item: WireEndpoint,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {}): {}", self.location, self.item.dns_name, self.item.record_type, self.reason)
    }
}

/// A decoded list or change set, and what was set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded<T> {
    pub value: T,
    pub skipped: Vec<Skipped>,
}

fn strict<'de, T: Deserialize<'de>>(body: &'de [u8], what: &str) -> Result<T, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::whole(format!("the body is empty; expected {what}")));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("not valid JSON: {inner}")
        } else {
            format!("{inner}; expected {what}")
        };
        DecodeError { path, message }
    })?;
    de.end().map_err(|e| DecodeError::whole(format!("unexpected data after the JSON value: {e}")))?;
    Ok(value)
}

fn check_all(list: Vec<WireEndpoint>, key: &str, skipped: &mut Vec<Skipped>) -> Vec<Option<Endpoint>> {
    list.into_iter()
        .enumerate()
        .map(|(i, item)| match item.to_endpoint() {
            Ok(ep) => Some(ep),
            Err(e) => {
                skipped.push(Skipped { location: format!("{key}[{i}]"), reason: e.to_string(), item });
                None
            }
        })
        .collect()
}

/// Decodes a `POST /records` body. A body of the wrong shape is an error; an invalid endpoint is
/// skipped (an update pair goes or stays as a whole). `updateOld` and `updateNew` must pair up.
pub fn decode_changes(body: &[u8]) -> Result<Decoded<Changes>, DecodeError> {
    let ObjectOnly(wire): ObjectOnly<WireChanges> =
        strict(body, "a Changes object {\"create\":[…],\"updateOld\":[…],\"updateNew\":[…],\"delete\":[…]}")?;
    if wire.update_old.len() != wire.update_new.len() {
        return Err(DecodeError {
            path: "updateOld".into(),
            message: format!(
                "{} updateOld entries for {} updateNew entries; they must pair up one to one",
                wire.update_old.len(),
                wire.update_new.len()
            ),
        });
    }
    let mut skipped = Vec::new();
    let create = check_all(wire.create, "create", &mut skipped).into_iter().flatten().collect();
    let delete = check_all(wire.delete, "delete", &mut skipped).into_iter().flatten().collect();
    let old = check_all(wire.update_old, "updateOld", &mut skipped);
    let new = check_all(wire.update_new, "updateNew", &mut skipped);
    let mut changes = Changes { create, delete, ..Changes::default() };
    for (i, pair) in old.into_iter().zip(new).enumerate() {
        match pair {
            (Some(o), Some(n)) => {
                changes.update_old.push(o);
                changes.update_new.push(n);
            }
            (o, n) => {
                // Its partner was valid: set it aside too, so the pair stays whole.
                if let Some(o) = o {
                    skipped.push(Skipped {
                        location: format!("updateOld[{i}]"),
                        reason: "its updateNew partner is invalid".into(),
                        item: (&o).into(),
                    });
                }
                if let Some(n) = n {
                    skipped.push(Skipped {
                        location: format!("updateNew[{i}]"),
                        reason: "its updateOld partner is invalid".into(),
                        item: (&n).into(),
                    });
                }
            }
        }
    }
    Ok(Decoded { value: changes, skipped })
}

/// Decodes a JSON array of endpoints (`POST /adjustendpoints`), strictly on shape: an item of the
/// wrong shape is an error naming it; an invalid endpoint is skipped. `null` is an empty list.
pub fn decode_endpoints(body: &[u8]) -> Result<Decoded<Vec<Endpoint>>, DecodeError> {
    let wire: Option<Vec<ObjectOnly<WireEndpoint>>> = strict(body, "a JSON array of Endpoint objects")?;
    let wire = wire.unwrap_or_default().into_iter().map(|o| o.0).collect();
    let mut skipped = Vec::new();
    let value = check_all(wire, "", &mut skipped).into_iter().flatten().collect();
    Ok(Decoded { value, skipped })
}

/// Decodes a JSON array of endpoints leniently (`GET /records` answers): an item of the wrong
/// shape is skipped like an invalid one. Only a body that is not a JSON array (or `null`) is an
/// error.
pub fn decode_endpoints_lenient(body: &[u8]) -> Result<Decoded<Vec<Endpoint>>, DecodeError> {
    // Invalid UTF-8 becomes U+FFFD, as Go's decoder does; raw items must be text.
    let text = String::from_utf8_lossy(body);
    let items: Option<Vec<&RawValue>> = strict(text.as_bytes(), "a JSON array of Endpoint objects")?;
    let items = items.unwrap_or_default();
    let mut value = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    for (i, raw) in items.into_iter().enumerate() {
        let mut de = serde_json::Deserializer::from_slice(raw.get().as_bytes());
        let wire: WireEndpoint = match serde_path_to_error::deserialize::<_, ObjectOnly<WireEndpoint>>(&mut de) {
            Ok(w) => w.0,
            Err(e) => {
                let path = e.path().to_string();
                let reason = if path.is_empty() || path == "." {
                    format!("not an Endpoint object: {}", e.into_inner())
                } else {
                    format!("{path}: {}", e.into_inner())
                };
                skipped.push(Skipped { location: format!("[{i}]"), reason, item: WireEndpoint::default() });
                continue;
            }
        };
        match wire.to_endpoint() {
            Ok(ep) => value.push(ep),
            Err(e) => skipped.push(Skipped { location: format!("[{i}]"), reason: e.to_string(), item: wire }),
        }
    }
    Ok(Decoded { value, skipped })
}

/// Decodes the negotiation body into a filter. `{}` (and `null`) match every name. When both a
/// list and a regex are given, the regex wins (upstream refuses such a body).
pub fn decode_domain_filter(body: &[u8]) -> Result<DomainFilter, DecodeError> {
    let wire: Option<ObjectOnly<WireDomainFilter>> =
        strict(body, "a DomainFilter object {\"include\":[…],\"exclude\":[…]}")?;
    let wire = wire.map(|o| o.0).unwrap_or_default();
    let json = DomainFilterJson {
        include: wire.include,
        exclude: wire.exclude,
        regex_include: wire.regex_include,
        regex_exclude: wire.regex_exclude,
    };
    DomainFilter::from_json(&json).map_err(|e| DecodeError { path: "regexInclude".into(), message: e.to_string() })
}

/// Encodes endpoints as the webhook JSON array.
pub fn encode_endpoints(endpoints: &[Endpoint]) -> Vec<u8> {
    // Endpoint's own Serialize writes the webhook shape; it cannot fail (string keys only).
    serde_json::to_vec(endpoints).unwrap_or_else(|_| b"[]".to_vec())
}

/// A parsed media type: lowercase `type/subtype` and its parameters (names lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses a `Content-Type` value or one `Accept` entry; `None` when it is not `a/b`.
    pub fn parse(s: &str) -> Option<MediaType> {
        let mut parts = s.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (t, sub) = essence.split_once('/')?;
        if t.is_empty() || sub.is_empty() || t.contains(char::is_whitespace) || sub.contains(char::is_whitespace) {
            return None;
        }
        let params = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
            })
            .collect();
        Some(MediaType { essence, params })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The webhook media type at protocol version 1 (a missing `version` counts as 1).
    pub fn is_webhook_v1(&self) -> bool {
        self.essence == MEDIA_TYPE_ESSENCE && self.param("version").is_none_or(|v| v == PROTOCOL_VERSION)
    }

    /// A body exodns reads: the webhook media type (version 1) or plain JSON.
    pub fn is_accepted_body(&self) -> bool {
        self.is_webhook_v1() || self.essence == "application/json"
    }

    /// As an `Accept` range: whether the webhook media type satisfies it.
    pub fn accepts_webhook(&self) -> bool {
        if self.param("q").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)) {
            return false;
        }
        matches!(self.essence.as_str(), "*/*" | "application/*" | "application/json") || self.is_webhook_v1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_nulls_and_capitalised_keys() {
        let body = br#"{"Create":[{"dnsName":"a.example.org","targets":["1.2.3.4"],"recordType":"A","labels":null,"providerSpecific":[{"name":"alias"}]}],"UpdateOld":null,"UpdateNew":null,"Delete":null}"#;
        let d = decode_changes(body).unwrap();
        assert!(d.skipped.is_empty());
        assert_eq!(d.value.create.len(), 1);
        assert_eq!(d.value.create[0].property("alias"), Some(""));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let e = decode_changes(br#"{"create":[{"dnsName":"a.example.org"},{"recordTTL":"60"}]}"#).unwrap_err();
        assert_eq!(e.path, "create[1].recordTTL");
        assert!(e.to_string().starts_with("create[1].recordTTL: invalid type"), "{e}");
        let e = decode_changes(b"{\"create\":[").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let e = decode_changes(b"  ").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = decode_changes(b"[]").unwrap_err();
        assert!(e.to_string().contains("expected a Changes object"), "{e}");
        // serde would read a struct from an array, field by field; Go does not, nor do we.
        let e = decode_endpoints(br#"[["a.example.org",["192.0.2.1"],"A"]]"#).unwrap_err();
        assert_eq!(e.path, "[0]");
        assert!(e.message.contains("expected a JSON object"), "{e}");
        assert_eq!(
            decode_changes(br#"{"create":[{"providerSpecific":[["n","v"]]}]}"#).unwrap_err().path,
            "create[0].providerSpecific[0]"
        );
        let e = decode_changes(b"{} x").unwrap_err();
        assert!(e.to_string().contains("after the JSON value"), "{e}");
    }

    #[test]
    fn invalid_content_is_skipped_and_pairs_stay_whole() {
        let body = br#"{"create":[{"dnsName":"a..b","targets":["1.2.3.4"],"recordType":"A"},{"dnsName":"ok.example.org","targets":["1.2.3.4"],"recordType":"A"}],
            "updateOld":[{"dnsName":"u.example.org","targets":["1.1.1.1"],"recordType":"A"}],
            "updateNew":[{"dnsName":"u.example.org","targets":["not-an-ip"],"recordType":"A"}]}"#;
        let d = decode_changes(body).unwrap();
        assert_eq!(d.value.create.len(), 1);
        assert!(d.value.update_old.is_empty() && d.value.update_new.is_empty());
        let locs: Vec<&str> = d.skipped.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(locs, ["create[0]", "updateNew[0]", "updateOld[0]"]);
        assert!(decode_changes(br#"{"updateOld":[{}]}"#).unwrap_err().to_string().contains("pair up"));
    }

    #[test]
    fn lenient_list_skips_bad_items() {
        let body = br#"[{"dnsName":"a.example.org","targets":["1.2.3.4"],"recordType":"A"}, 5, {"dnsName":"b.example.org","recordTTL":"x"}, {"dnsName":"c.example.org","targets":["1.2.3.4"],"recordType":"BOGUS"}]"#;
        let d = decode_endpoints_lenient(body).unwrap();
        assert_eq!(d.value.len(), 1);
        assert_eq!(d.skipped.len(), 3);
        assert!(d.skipped[1].reason.starts_with("recordTTL:"), "{}", d.skipped[1].reason);
        assert!(decode_endpoints_lenient(b"null").unwrap().value.is_empty());
        assert!(decode_endpoints_lenient(b"{}").is_err());
        // The strict list names the item at fault.
        assert_eq!(decode_endpoints(body).unwrap_err().path, "[1]");
    }

    #[test]
    fn domain_filter_bodies() {
        assert!(decode_domain_filter(b"{}").unwrap().matches("anything.test"));
        let f = decode_domain_filter(br#"{"include":["example.org"],"exclude":null}"#).unwrap();
        assert!(f.matches("a.example.org") && !f.matches("example.com"));
        let f = decode_domain_filter(br#"{"regexInclude":"\\.example\\.org$"}"#).unwrap();
        assert!(f.matches("a.example.org") && !f.matches("a.example.com"));
        assert!(decode_domain_filter(br#"{"regexInclude":"("}"#).is_err());
        // upstream's stale OpenAPI shape is not what the code sends; it reads as "no filter"
        assert!(decode_domain_filter(br#"{"filters":["example.org"]}"#).unwrap().matches("x.test"));
    }

    #[test]
    fn endpoint_round_trip_through_the_wire() {
        let ep = Endpoint::parse("a.example.org", exodns_core::RecordType::A, &["1.2.3.4"])
            .unwrap()
            .with_ttl(exodns_core::Ttl(60))
            .with_label("owner", "x")
            .with_property("webhook/foo", "");
        let body = encode_endpoints(std::slice::from_ref(&ep));
        let back = decode_endpoints(&body).unwrap();
        assert_eq!(back.value, vec![ep]);
    }

    #[test]
    fn media_types() {
        let m = |s: &str| MediaType::parse(s).unwrap();
        assert!(m(MEDIA_TYPE).is_webhook_v1());
        assert!(m("Application/External.DNS.Webhook+JSON; version=\"1\"").is_webhook_v1());
        assert!(!m("application/external.dns.webhook+json;version=2").is_accepted_body());
        assert!(m("application/json; charset=utf-8").is_accepted_body());
        assert!(!m("text/plain").is_accepted_body());
        assert!(m("*/*").accepts_webhook());
        assert!(!m("text/html").accepts_webhook());
        assert!(!m("application/json;q=0").accepts_webhook());
        assert!(MediaType::parse("garbage").is_none());
    }
}

/// The checks the fuzz targets (`fuzz/`) and the property tests run on one input. Each panics
/// when a decoder breaks its promise: it panics itself, or what it accepted does not survive
/// being encoded and decoded again unchanged.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    pub fn changes(data: &[u8]) {
        let Ok(d) = decode_changes(data) else { return };
        let again = serde_json::to_vec(&WireChanges::from(&d.value)).expect("encode Changes");
        let back =
            decode_changes(&again).unwrap_or_else(|e| panic!("re-decoding {}: {e}", String::from_utf8_lossy(&again)));
        assert!(back.skipped.is_empty(), "re-decoded changes skipped {:?}", back.skipped);
        assert_eq!(back.value, d.value, "Changes changed on a round trip");
        assert_eq!(d.value.update_old.len(), d.value.update_new.len());
    }

    pub fn endpoints(data: &[u8]) {
        let strict = decode_endpoints(data);
        let lenient = decode_endpoints_lenient(data);
        if let Ok(s) = &strict {
            let l = lenient.as_ref().unwrap_or_else(|e| {
                panic!("lenient refused what strict took: {e}; input {:?}", String::from_utf8_lossy(data))
            });
            assert_eq!(l.value, s.value, "lenient and strict disagree");
        }
        for d in [strict.ok(), lenient.ok()].into_iter().flatten() {
            let again = encode_endpoints(&d.value);
            let back = decode_endpoints(&again)
                .unwrap_or_else(|e| panic!("re-decoding {}: {e}", String::from_utf8_lossy(&again)));
            assert!(back.skipped.is_empty(), "re-decoded endpoints skipped {:?}", back.skipped);
            assert_eq!(back.value, d.value, "endpoints changed on a round trip");
        }
    }

    pub fn domain_filter(data: &[u8]) {
        if let Ok(f) = decode_domain_filter(data) {
            let _ = f.matches("a.example.org");
        }
    }

    /// Every decoder on one input.
    pub fn all(data: &[u8]) {
        changes(data);
        endpoints(data);
        domain_filter(data);
    }
}
