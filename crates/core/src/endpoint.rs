//! The endpoint: one record set (name, type, set identifier) with its targets and metadata. Its
//! JSON form is the ExternalDNS webhook `Endpoint`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Invalid, InvalidKind};
use crate::name::DnsName;
use crate::record_type::RecordType;
use crate::spelling::Spelling;
use crate::target::{Targets, canonical_target, infer_type};

/// Label keys upstream ExternalDNS uses.
pub mod label {
    pub const OWNER: &str = "owner";
    pub const RESOURCE: &str = "resource";
    /// On a registry TXT endpoint: the name of the record it owns.
    pub const OWNED_RECORD: &str = "ownedRecord";
    /// Hidden label holding the AES-GCM nonce, so re-encrypting gives the same bytes.
    pub const TXT_ENCRYPTION_NONCE: &str = "txt-encryption-nonce";
}

/// Provider-specific property the TXT registry sets on a record whose ownership TXT is missing,
/// so that the planner emits an update that re-creates it.
pub const FORCE_UPDATE_PROPERTY: &str = "txt/force-update";

/// Largest TTL upstream accepts (2³¹ − 1 seconds, RFC 2181).
pub const MAX_TTL: i64 = i32::MAX as i64;

/// Seconds; 0 means "not set" (the provider's default applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ttl(pub u32);

impl Ttl {
    pub fn is_set(self) -> bool {
        self.0 != 0
    }

    /// Checks a TTL from user input: 1 ..= 2³¹ − 1.
    pub fn checked(seconds: i64) -> Result<Ttl, Invalid> {
        if (1..=MAX_TTL).contains(&seconds) {
            Ok(Ttl(seconds as u32))
        } else {
            Err(Invalid::new(InvalidKind::Ttl, "ttl", &seconds.to_string(), format!("a TTL is 1 to {MAX_TTL} seconds")))
        }
    }
}

pub use crate::labels::Labels;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProviderSpecific {
    pub name: String,
    pub value: String,
}

/// One record set as exodns plans it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawEndpoint")]
pub struct Endpoint {
    pub dns_name: DnsName,
    pub targets: Targets,
    pub record_type: RecordType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set_identifier: String,
    #[serde(rename = "recordTTL", default, skip_serializing_if = "is_unset")]
    pub ttl: Ttl,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_specific: Vec<ProviderSpecific>,
    /// The name and targets as written, for the webhook wire; ignored by comparisons.
    #[serde(skip)]
    pub spelling: Spelling,
}

fn is_unset(ttl: &Ttl) -> bool {
    !ttl.is_set()
}

/// The webhook `Endpoint` JSON as it arrives, before any check. Decoders that must survive a
/// bad item (a provider listing records, a webhook body) read this and convert item by item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEndpoint {
    #[serde(default)]
    pub dns_name: String,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub record_type: String,
    #[serde(default)]
    pub set_identifier: String,
    #[serde(rename = "recordTTL", default)]
    pub record_ttl: i64,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub provider_specific: Vec<ProviderSpecific>,
}

impl TryFrom<RawEndpoint> for Endpoint {
    type Error = Invalid;
    fn try_from(raw: RawEndpoint) -> Result<Self, Invalid> {
        let rt: RecordType = raw.record_type.parse().map_err(|e: crate::record_type::UnknownRecordType| {
            Invalid::new(InvalidKind::RecordType, "recordType", &raw.record_type, e.to_string())
        })?;
        let name = DnsName::parse(&raw.dns_name).map_err(|e| e.invalid("dnsName", &raw.dns_name))?;
        let ttl = match raw.record_ttl {
            0 => Ttl::default(),
            n => Ttl::checked(n).map_err(|e| e.at("recordTTL"))?,
        };
        let mut ep = Endpoint::new(name, rt, Targets::default());
        ep.targets = canonical_targets(rt, raw.targets.iter().map(String::as_str))
            .map_err(|e| e.at(format!("targets ({})", raw.dns_name)))?;
        ep.spell(&raw.dns_name, raw.targets.iter().map(String::as_str));
        ep.set_identifier = raw.set_identifier;
        ep.ttl = ttl;
        ep.labels = raw.labels;
        ep.provider_specific = raw.provider_specific;
        Ok(ep)
    }
}

impl From<Endpoint> for RawEndpoint {
    fn from(ep: Endpoint) -> Self {
        RawEndpoint {
            dns_name: ep.dns_name.as_str().to_owned(),
            targets: ep.targets.to_vec(),
            record_type: ep.record_type.as_str().to_owned(),
            set_identifier: ep.set_identifier,
            record_ttl: i64::from(ep.ttl.0),
            labels: ep.labels,
            provider_specific: ep.provider_specific,
        }
    }
}

/// Validates and canonicalises every target; duplicates are dropped, order kept.
pub fn canonical_targets<'a>(rt: RecordType, raw: impl IntoIterator<Item = &'a str>) -> Result<Targets, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let c = canonical_target(rt, t)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() && rt != RecordType::TXT {
        return Err(Invalid::new(
            InvalidKind::Target,
            "targets",
            "",
            format!("a {rt} record needs at least one target"),
        ));
    }
    Ok(Targets::new(out))
}

/// The identity of a record set, what the registry and the caches key on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointKey {
    pub dns_name: DnsName,
    pub record_type: RecordType,
    pub set_identifier: String,
}

impl Endpoint {
    /// An endpoint from parts that are already valid.
    pub fn new(dns_name: DnsName, record_type: RecordType, targets: Targets) -> Self {
        Endpoint {
            dns_name,
            targets,
            record_type,
            set_identifier: String::new(),
            ttl: Ttl::default(),
            labels: Labels::new(),
            provider_specific: Vec::new(),
            spelling: Spelling::default(),
        }
    }

    /// Records how the name and the targets were written (each raw target is matched to its
    /// canonical form; ones that do not validate are ignored).
    pub fn spell<'a>(&mut self, name: &str, targets: impl IntoIterator<Item = &'a str>) {
        self.spelling.set_name(self.dns_name.as_str(), name);
        for raw in targets {
            if let Ok(c) = canonical_target(self.record_type, raw) {
                self.spelling.set_target(&c, raw);
            }
        }
    }

    /// The name as written (upstream's wire form), else the canonical name.
    pub fn wire_name(&self) -> &str {
        self.spelling.name().unwrap_or(self.dns_name.as_str())
    }

    /// The targets as written (upstream's wire form), else canonical, in the endpoint's order.
    pub fn wire_targets(&self) -> Vec<String> {
        self.targets.iter().map(|t| self.spelling.target(t).to_owned()).collect()
    }

    /// An endpoint from text: the name and each target are checked and canonicalised.
    pub fn parse(name: &str, record_type: RecordType, targets: &[&str]) -> Result<Self, Invalid> {
        let dns_name = DnsName::parse(name).map_err(|e| e.invalid("name", name))?;
        let targets = canonical_targets(record_type, targets.iter().copied())?;
        Ok(Endpoint::new(dns_name, record_type, targets))
    }

    pub fn with_ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    pub fn with_set_identifier(mut self, id: impl Into<String>) -> Self {
        self.set_identifier = id.into();
        self
    }

    pub fn with_label(mut self, key: &str, value: impl Into<String>) -> Self {
        self.labels.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_property(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_property(name, value);
        self
    }

    pub fn set_property(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.provider_specific.iter_mut().find(|p| p.name == name) {
            Some(p) => p.value = value,
            None => self.provider_specific.push(ProviderSpecific { name: name.to_owned(), value }),
        }
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.provider_specific.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    pub fn remove_property(&mut self, name: &str) {
        self.provider_specific.retain(|p| p.name != name);
    }

    pub fn owner(&self) -> Option<&str> {
        self.labels.get(label::OWNER).map(String::as_str)
    }

    /// Owned by `owner`. An empty owner id owns everything (the `noop` registry).
    pub fn is_owned_by(&self, owner: &str) -> bool {
        owner.is_empty() || self.owner() == Some(owner)
    }

    pub fn resource(&self) -> Option<&str> {
        self.labels.get(label::RESOURCE).map(String::as_str)
    }

    pub fn key(&self) -> EndpointKey {
        EndpointKey {
            dns_name: self.dns_name.clone(),
            record_type: self.record_type,
            set_identifier: self.set_identifier.clone(),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.dns_name, self.record_type)?;
        if !self.set_identifier.is_empty() {
            write!(f, " [{}]", self.set_identifier)?;
        }
        if self.ttl.is_set() {
            write!(f, " ttl={}", self.ttl.0)?;
        }
        write!(f, " {}", self.targets.join(","))
    }
}

/// Endpoints for a name from bare targets, one per inferred type (IPv4 → A, IPv6 → AAAA, other
/// → CNAME), as upstream's sources build them. Invalid targets are returned as diagnostics.
pub fn endpoints_for_targets(name: &DnsName, targets: &[String], ttl: Ttl) -> (Vec<Endpoint>, Vec<Invalid>) {
    let mut by_type: BTreeMap<RecordType, Vec<String>> = BTreeMap::new();
    let mut errors = Vec::new();
    for t in targets {
        let rt = infer_type(t);
        match canonical_target(rt, t) {
            Ok(c) => {
                let list = by_type.entry(rt).or_default();
                if !list.contains(&c) {
                    list.push(c);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let eps =
        by_type.into_iter().map(|(rt, ts)| Endpoint::new(name.clone(), rt, Targets::new(ts)).with_ttl(ttl)).collect();
    (eps, errors)
}

/// Merges endpoints with the same name, type, set identifier and TTL into one whose targets are
/// the union, keeping the first one's labels — upstream's `MergeEndpoints`. A CNAME or DNAME has
/// one target by definition, so those merge only with the same target; two different ones stay
/// apart as two candidates for the planner. PTR records merge whatever their TTLs and take the
/// lowest, as upstream's PTR wrapper groups the names of one address. Output is sorted.
pub fn merge_endpoints(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    type MergeKey = (EndpointKey, Ttl, Option<String>);
    let mut merged: BTreeMap<MergeKey, Endpoint> = BTreeMap::new();
    for ep in endpoints {
        let single = matches!(ep.record_type, RecordType::CNAME | RecordType::DNAME)
            .then(|| ep.targets.first().cloned())
            .flatten();
        let ttl = if ep.record_type == RecordType::PTR { Ttl::default() } else { ep.ttl };
        match merged.entry((ep.key(), ttl, single)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(ep);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let into = o.get_mut();
                into.ttl = into.ttl.min(ep.ttl);
                if ep.targets.iter().any(|t| !into.targets.iter().any(|i| i == t)) {
                    into.targets.edit(|into| {
                        for t in ep.targets.iter() {
                            if !into.iter().any(|i| i == t) {
                                into.push(t.to_owned());
                            }
                        }
                    });
                }
                into.spelling.merge_targets(&ep.spelling);
            }
        }
    }
    merged.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_json_round_trip() {
        let json = r#"{"dnsName":"a.example.com","targets":["1.2.3.4"],"recordType":"A","setIdentifier":"v1","recordTTL":60,"labels":{"owner":"x","resource":"service/ns/n"},"providerSpecific":[{"name":"webhook/foo","value":"bar"}]}"#;
        let ep: Endpoint = serde_json::from_str(json).unwrap();
        assert_eq!(ep.ttl, Ttl(60));
        assert_eq!(ep.owner(), Some("x"));
        assert_eq!(serde_json::to_string(&ep).unwrap(), json);
    }

    #[test]
    fn webhook_json_rejects_bad_fields_by_name() {
        let err = serde_json::from_str::<Endpoint>(r#"{"dnsName":"a..b","targets":["1.2.3.4"],"recordType":"A"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dnsName"), "{err}");
        let err = serde_json::from_str::<Endpoint>(r#"{"dnsName":"a.b","targets":["x"],"recordType":"A"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("IPv4"), "{err}");
    }

    #[test]
    fn webhook_json_keeps_the_spelling_for_the_wire() {
        let json =
            r#"{"dnsName":"Mx.Example.org","targets":["10 Mail.example.org.","20 b.example.org"],"recordType":"MX"}"#;
        let ep: Endpoint = serde_json::from_str(json).unwrap();
        assert_eq!(ep.dns_name.as_str(), "mx.example.org");
        assert_eq!(ep.targets, ["10 mail.example.org", "20 b.example.org"]);
        assert_eq!(ep.wire_name(), "Mx.Example.org");
        assert_eq!(ep.wire_targets(), ["10 Mail.example.org.", "20 b.example.org"]);
        let txt: Endpoint =
            serde_json::from_str(r#"{"dnsName":"t.example.org","targets":["hello world"],"recordType":"TXT"}"#)
                .unwrap();
        assert_eq!((txt.targets[0].as_str(), txt.wire_targets()[0].as_str()), ("\"hello world\"", "hello world"));
        // Merged with another spelling of the same record set: each target keeps its own.
        let mut other = Endpoint::parse("mx.example.org", RecordType::MX, &["30 c.example.org"]).unwrap();
        other.spell("mx.example.org", ["30 C.example.org."]);
        let merged = merge_endpoints(vec![ep.clone(), other]);
        assert_eq!(merged[0].wire_targets(), ["10 Mail.example.org.", "20 b.example.org", "30 C.example.org."]);
        let plain =
            Endpoint::parse("mx.example.org", RecordType::MX, &["10 mail.example.org", "20 b.example.org"]).unwrap();
        assert_eq!(plain, ep, "spellings do not make endpoints differ");
    }

    #[test]
    fn targets_split_by_inferred_type() {
        let name = DnsName::parse("x.example.org").unwrap();
        let (eps, errs) =
            endpoints_for_targets(&name, &["1.2.3.4".into(), "::1".into(), "lb.example.net".into()], Ttl(0));
        assert!(errs.is_empty());
        let types: Vec<_> = eps.iter().map(|e| e.record_type).collect();
        assert_eq!(types, vec![RecordType::A, RecordType::AAAA, RecordType::CNAME]);
    }

    #[test]
    fn merge_keeps_different_cnames_apart() {
        let a = Endpoint::parse("x.example.org", RecordType::CNAME, &["a.example.net"]).unwrap();
        let b = Endpoint::parse("x.example.org", RecordType::CNAME, &["b.example.net"]).unwrap();
        assert_eq!(merge_endpoints(vec![a.clone(), b, a]).len(), 2);
    }

    #[test]
    fn merge_unions_targets() {
        let a = Endpoint::parse("x.example.org", RecordType::A, &["1.1.1.1"]).unwrap().with_label("resource", "a");
        let b = Endpoint::parse("x.example.org", RecordType::A, &["2.2.2.2", "1.1.1.1"]).unwrap();
        let m = merge_endpoints(vec![a, b]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].targets, vec!["1.1.1.1", "2.2.2.2"]);
        assert_eq!(m[0].resource(), Some("a"));
    }
}
