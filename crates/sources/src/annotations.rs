//! The `external-dns.kubernetes.io/*` annotations: reading, checking and mapping them to endpoint
//! fields and provider-specific properties.
//!
//! The configured prefix (`--annotation-prefix`) is read, and the legacy
//! `external-dns.alpha.kubernetes.io/` keys are too unless `--enable-legacy-annotation-prefix=false`:
//! a legacy key is copied under the configured prefix unless that key is set as well, in which
//! case the configured one wins.

use std::collections::BTreeMap;

use exodns_core::endpoint::MAX_TTL;
use exodns_core::spelling::Spelling;
use exodns_core::target::{canonical_target, infer_type};
use exodns_core::{Invalid, InvalidKind, ObjectRef, ProviderSpecific, Ttl};

use crate::config::SourceConfig;

/// The default `--annotation-prefix` (upstream v0.22).
pub const DEFAULT_PREFIX: &str = "external-dns.kubernetes.io/";
/// The prefix before v0.22, always read as well.
pub const LEGACY_PREFIX: &str = "external-dns.alpha.kubernetes.io/";

pub const HOSTNAME: &str = "hostname";
pub const INTERNAL_HOSTNAME: &str = "internal-hostname";
pub const TARGET: &str = "target";
pub const TTL: &str = "ttl";
pub const CONTROLLER: &str = "controller";
pub const ACCESS: &str = "access";
pub const ENDPOINTS_TYPE: &str = "endpoints-type";
pub const SET_IDENTIFIER: &str = "set-identifier";
pub const ALIAS: &str = "alias";
pub const RECORD_TYPE: &str = "record-type";
pub const INGRESS_HOSTNAME_SOURCE: &str = "ingress-hostname-source";
pub const GATEWAY_HOSTNAME_SOURCE: &str = "gateway-hostname-source";
/// `name` or `namespace/name` of an Ingress whose load balancer carries an Istio (or Gloo)
/// Gateway's addresses.
pub const INGRESS: &str = "ingress";

/// The only value of the `controller` annotation that keeps an object.
pub const CONTROLLER_VALUE: &str = "dns-controller";
/// Cloudflare properties keep the full annotation key as their name (upstream v0.22).
const CLOUDFLARE_KEYS: &[&str] = &[
    "cloudflare-proxied",
    "cloudflare-custom-hostname",
    "cloudflare-region-key",
    "cloudflare-record-comment",
    "cloudflare-tags",
];
/// Longest set identifier accepted (Route 53's limit, the strictest provider that uses one).
pub const MAX_SET_IDENTIFIER: usize = 128;

/// Which host names an Ingress or Route publishes (`*-hostname-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostnameSource {
    /// No annotation: spec hosts and the `hostname` annotation.
    All,
    DefinedHostsOnly,
    AnnotationOnly,
}

/// The annotations of one object, with legacy keys folded in under the configured prefix.
#[derive(Debug, Clone)]
pub struct Annotations {
    prefix: String,
    effective: BTreeMap<String, String>,
    /// Configured key → the legacy key its value came from.
    from_legacy: BTreeMap<String, String>,
}

impl Annotations {
    /// The annotations as the flags say to read them (`--annotation-prefix`,
    /// `--enable-legacy-annotation-prefix`).
    pub fn read(raw: Option<&BTreeMap<String, String>>, cfg: &SourceConfig) -> Self {
        Self::new(raw, &cfg.annotation_prefix, cfg.legacy_annotation_prefix)
    }

    /// `legacy`: fold the legacy keys in as well.
    pub fn new(raw: Option<&BTreeMap<String, String>>, prefix: &str, legacy: bool) -> Self {
        let mut effective = raw.cloned().unwrap_or_default();
        let mut from_legacy = BTreeMap::new();
        if legacy && prefix != LEGACY_PREFIX {
            for (k, v) in raw.into_iter().flatten() {
                if let Some(suffix) = k.strip_prefix(LEGACY_PREFIX) {
                    let key = format!("{prefix}{suffix}");
                    if !effective.contains_key(&key) {
                        effective.insert(key.clone(), v.clone());
                        from_legacy.insert(key, k.clone());
                    }
                }
            }
        }
        Annotations { prefix: prefix.to_owned(), effective, from_legacy }
    }

    /// All annotations as the filters see them (legacy keys also under the configured prefix).
    pub fn effective(&self) -> &BTreeMap<String, String> {
        &self.effective
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.effective.get(&format!("{}{name}", self.prefix)).map(String::as_str)
    }

    /// The key the value of `name` was read from, for messages: `annotation <key>`.
    pub fn field(&self, name: &str) -> String {
        let key = format!("{}{name}", self.prefix);
        format!("annotation {}", self.from_legacy.get(&key).unwrap_or(&key))
    }

    /// `hostname`: comma-separated, spaces removed, empty entries dropped.
    pub fn hostnames(&self) -> Vec<String> {
        self.get(HOSTNAME).map(split_list).unwrap_or_default()
    }

    pub fn has_hostname(&self) -> bool {
        self.get(HOSTNAME).is_some()
    }

    pub fn internal_hostnames(&self) -> Vec<String> {
        self.get(INTERNAL_HOSTNAME).map(split_list).unwrap_or_default()
    }

    /// `target`: the checked targets (canonical form); bad ones become diagnostics. An empty
    /// result with a non-empty annotation means every target was bad.
    pub fn targets(&self, obj: &ObjectRef, invalid: &mut Vec<Invalid>, written: &mut Spelling) -> Vec<String> {
        let Some(raw) = self.get(TARGET) else {
            return Vec::new();
        };
        check_targets(target_list(raw).iter().map(String::as_str), obj, &self.field(TARGET), invalid, written)
    }

    pub fn has_targets(&self) -> bool {
        self.get(TARGET).is_some_and(|t| !split_list(t).is_empty())
    }

    /// `ttl`: seconds or a Go duration. A bad value is reported and gives no TTL.
    pub fn ttl(&self, obj: &ObjectRef, invalid: &mut Vec<Invalid>) -> Ttl {
        let Some(raw) = self.get(TTL) else {
            return Ttl::default();
        };
        match parse_ttl(raw) {
            Ok(ttl) => ttl,
            Err(reason) => {
                invalid.push(Invalid::new(InvalidKind::Ttl, self.field(TTL), raw, reason).on(obj));
                Ttl::default()
            }
        }
    }

    /// False when a `controller` annotation names another controller.
    pub fn controller_matches(&self) -> bool {
        self.get(CONTROLLER).is_none_or(|v| v == CONTROLLER_VALUE)
    }

    /// `set-identifier`, checked. Empty when absent.
    pub fn set_identifier(&self, obj: &ObjectRef) -> Result<String, Invalid> {
        let Some(raw) = self.get(SET_IDENTIFIER) else {
            return Ok(String::new());
        };
        check_set_identifier(raw)
            .map(str::to_owned)
            .map_err(|reason| Invalid::new(InvalidKind::SetIdentifier, self.field(SET_IDENTIFIER), raw, reason).on(obj))
    }

    /// Provider-specific properties: `alias`, `record-type`, `aws-*` → `aws/*`, `scw-*` → `scw/*`,
    /// `webhook-*` → `webhook/*`, `coredns-*` → `coredns/*`, `azure-tags` → `azure/tags`, and the
    /// five known `cloudflare-*` keys under their full key. Sorted by key after the first two.
    pub fn provider_specific(&self) -> Vec<ProviderSpecific> {
        let mut out = Vec::new();
        let prop = |name: String, value: &str| ProviderSpecific { name, value: value.to_owned() };
        if self.get(ALIAS) == Some("true") {
            out.push(prop("alias".into(), "true"));
        }
        if let Some(v) = self.get(RECORD_TYPE) {
            out.push(prop("record-type".into(), v));
        }
        for (k, v) in &self.effective {
            let Some(name) = k.strip_prefix(self.prefix.as_str()) else {
                continue;
            };
            let mapped = if let Some(a) = name.strip_prefix("aws-") {
                Some(format!("aws/{a}"))
            } else if let Some(a) = name.strip_prefix("scw-") {
                Some(format!("scw/{a}"))
            } else if let Some(a) = name.strip_prefix("webhook-") {
                Some(format!("webhook/{a}"))
            } else if let Some(a) = name.strip_prefix("coredns-") {
                Some(format!("coredns/{a}"))
            } else if name == "azure-tags" {
                Some("azure/tags".to_owned())
            } else if CLOUDFLARE_KEYS.contains(&name) {
                Some(k.clone())
            } else {
                None
            };
            if let Some(n) = mapped {
                out.push(prop(n, v));
            }
        }
        out
    }

    /// `ingress-hostname-source` / `gateway-hostname-source`.
    pub fn hostname_source(&self, name: &str, obj: &ObjectRef) -> Result<HostnameSource, Invalid> {
        let Some(raw) = self.get(name) else {
            return Ok(HostnameSource::All);
        };
        match raw.to_ascii_lowercase().as_str() {
            "defined-hosts-only" => Ok(HostnameSource::DefinedHostsOnly),
            "annotation-only" => Ok(HostnameSource::AnnotationOnly),
            _ => Err(Invalid::new(
                InvalidKind::Annotation,
                self.field(name),
                raw,
                "must be \"defined-hosts-only\" or \"annotation-only\"",
            )
            .on(obj)),
        }
    }
}

/// Splits a comma-separated annotation, removing every space, dropping empty entries.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.replace(' ', "").split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// A `target` annotation's entries as upstream reads them: split at commas, spaces removed, one
/// trailing dot dropped (`lb.example.net.` and `192.0.2.1.` are `lb.example.net`, `192.0.2.1`).
pub fn target_list(raw: &str) -> Vec<String> {
    split_list(raw).into_iter().map(|t| t.strip_suffix('.').map(str::to_owned).unwrap_or(t)).collect()
}

/// Checks bare targets (the type is inferred from each) and returns their canonical forms;
/// bad ones become diagnostics on `field`. How each was written goes to `written`.
pub fn check_targets<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    obj: &ObjectRef,
    field: &str,
    invalid: &mut Vec<Invalid>,
    written: &mut Spelling,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in raw {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        match canonical_target(infer_type(t), t) {
            Ok(c) => {
                written.set_target(&c, t);
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            Err(e) => invalid.push(e.at(field).on(obj)),
        }
    }
    out
}

/// Checks a set identifier: 1 to 128 characters, no spaces or control characters.
pub fn check_set_identifier(raw: &str) -> Result<&str, String> {
    if raw.is_empty() {
        return Ok(raw);
    }
    if raw.chars().count() > MAX_SET_IDENTIFIER {
        return Err(format!("a set identifier is at most {MAX_SET_IDENTIFIER} characters"));
    }
    if let Some(c) = raw.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("a set identifier cannot hold {c:?}"));
    }
    Ok(raw)
}

/// Parses a TTL the way upstream does: a Go duration (`90s`, `1m30s`, `1.5h`; fractions of a
/// second are dropped) or a number of seconds; then checks 1 ..= 2³¹ − 1.
pub fn parse_ttl(raw: &str) -> Result<Ttl, String> {
    let s = raw.trim();
    let seconds = match go_duration_seconds(s) {
        Some(Ok(secs)) => secs,
        Some(Err(e)) => return Err(e),
        None => s.parse::<i64>().map_err(|_| "not a number of seconds or a duration like \"1m30s\"".to_owned())?,
    };
    Ttl::checked(seconds).map_err(|_| format!("a TTL is 1 to {MAX_TTL} seconds, this is {seconds}"))
}

/// `None` when `s` is not duration syntax at all (so it may be a plain number); `Some(Err)` when
/// it is but overflows.
fn go_duration_seconds(s: &str) -> Option<Result<i64, String>> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body == "0" {
        return Some(Ok(0));
    }
    if body.is_empty() {
        return None;
    }
    let mut rest = body;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit: u128 = match &rest[..unit_end] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_end..];
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut add = int.checked_mul(unit)?;
        let mut scale = unit;
        for d in frac.bytes() {
            scale /= 10;
            add += u128::from(d - b'0') * scale;
        }
        nanos = nanos.checked_add(add)?;
        // Go refuses durations beyond ~292 years.
        if nanos > i64::MAX as u128 {
            return Some(Err("the duration is too long".into()));
        }
    }
    let secs = (nanos / 1_000_000_000) as i64;
    Some(Ok(if neg { -secs } else { secs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> Annotations {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Annotations::new(Some(&map), DEFAULT_PREFIX, true)
    }

    #[test]
    fn ttl_values() {
        for (raw, want) in
            [("60", 60), ("1m30s", 90), ("1.5s", 1), ("10m", 600), ("2h", 7200), ("2147483647", 2147483647)]
        {
            assert_eq!(parse_ttl(raw), Ok(Ttl(want)), "{raw}");
        }
        for raw in ["0", "-1", "abc", "99999999999", "1x", "", "-5m", "1.2.3s", "3000000h"] {
            assert!(parse_ttl(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn legacy_prefix_is_read_and_configured_wins() {
        let a = ann(&[
            ("external-dns.alpha.kubernetes.io/hostname", "old.example.org"),
            ("external-dns.alpha.kubernetes.io/ttl", "60"),
            ("external-dns.kubernetes.io/ttl", "120"),
        ]);
        assert_eq!(a.hostnames(), vec!["old.example.org"]);
        assert_eq!(a.field(HOSTNAME), "annotation external-dns.alpha.kubernetes.io/hostname");
        let mut inv = Vec::new();
        assert_eq!(a.ttl(&ObjectRef::cluster("node", "n"), &mut inv), Ttl(120));
        // A custom prefix still reads the legacy keys.
        let map: BTreeMap<String, String> =
            [("external-dns.alpha.kubernetes.io/hostname".to_string(), "x.org".to_string())].into();
        assert_eq!(Annotations::new(Some(&map), "custom.io/", true).hostnames(), vec!["x.org"]);
    }

    #[test]
    fn hostnames_are_split_and_stripped() {
        let a = ann(&[("external-dns.kubernetes.io/hostname", " a.example.org, b.example.org ,,")]);
        assert_eq!(a.hostnames(), vec!["a.example.org", "b.example.org"]);
    }

    #[test]
    fn provider_specific_mapping() {
        let a = ann(&[
            ("external-dns.kubernetes.io/alias", "true"),
            ("external-dns.kubernetes.io/record-type", "ptr"),
            ("external-dns.kubernetes.io/aws-weight", "10"),
            ("external-dns.kubernetes.io/scw-something", "x"),
            ("external-dns.kubernetes.io/webhook-foo", "bar"),
            ("external-dns.kubernetes.io/coredns-group", "g"),
            ("external-dns.kubernetes.io/azure-tags", "a=b"),
            ("external-dns.kubernetes.io/cloudflare-proxied", "true"),
            ("external-dns.kubernetes.io/cloudflare-unknown", "x"),
            ("external-dns.alpha.kubernetes.io/aws-region", "eu-west-1"),
            ("other.io/aws-weight", "1"),
        ]);
        let got: Vec<(String, String)> = a.provider_specific().into_iter().map(|p| (p.name, p.value)).collect();
        let want: Vec<(String, String)> = [
            ("alias", "true"),
            ("record-type", "ptr"),
            ("aws/region", "eu-west-1"),
            ("aws/weight", "10"),
            ("azure/tags", "a=b"),
            ("external-dns.kubernetes.io/cloudflare-proxied", "true"),
            ("coredns/group", "g"),
            ("scw/something", "x"),
            ("webhook/foo", "bar"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn set_identifier_checks() {
        assert!(check_set_identifier("eu-west-1").is_ok());
        assert!(check_set_identifier("has space").is_err());
        assert!(check_set_identifier(&"x".repeat(129)).is_err());
    }

    #[test]
    fn controller_annotation() {
        assert!(ann(&[]).controller_matches());
        assert!(ann(&[("external-dns.kubernetes.io/controller", "dns-controller")]).controller_matches());
        assert!(!ann(&[("external-dns.kubernetes.io/controller", "other")]).controller_matches());
    }
}
