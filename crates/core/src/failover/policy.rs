//! The typed parts of a failover policy. Each value can only be built through a constructor that
//! checks it, so the renderer prints nothing it has not checked: no quote, backslash, whitespace
//! or control character can reach a Lua string, and every number is in range.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::endpoint::Ttl;
use crate::error::{Invalid, InvalidKind};
use crate::record_type::RecordType;

/// Longest `path` and `expect` accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 200;
/// Largest weight of a region.
pub const MAX_WEIGHT: u32 = 1000;
/// Health-check timeout bounds, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 1..=10;
/// Default health-check timeout (PowerDNS's own default is 2 s).
pub const DEFAULT_TIMEOUT: u8 = 2;
/// Default TTL of a failover record.
pub const DEFAULT_TTL: u32 = 30;
/// Largest TTL of a failover record: an answer that must move within seconds has no use for a
/// long one.
pub const MAX_TTL: i64 = 86_400;
/// Default probe path.
pub const DEFAULT_PATH: &str = "/healthz";

fn invalid(field: &str, value: &str, reason: impl Into<String>) -> Invalid {
    Invalid::new(InvalidKind::Failover, field, value, reason)
}

/// The address family of a record: A (IPv4) or AAAA (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn parse(raw: &str, field: &str) -> Result<Family, Invalid> {
        match raw.trim() {
            "A" => Ok(Family::V4),
            "AAAA" => Ok(Family::V6),
            _ => Err(invalid(field, raw, "recordType is A or AAAA")),
        }
    }

    pub fn record_type(self) -> RecordType {
        match self {
            Family::V4 => RecordType::A,
            Family::V6 => RecordType::AAAA,
        }
    }

    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str, field: &str) -> Result<$name, Invalid> {
                let t = raw.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == t).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    invalid(field, raw, format!("{} is one of {}", $what, known.join(", ")))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// How the members of a pool share the name.
    Placement, "placement", {
        SingleRegion => "single-region",
        ActiveActive => "active-active",
        ActiveHotStandby => "active-hotstandby",
        Weighted => "weighted",
    }
);

keyword_enum!(
    /// How PowerDNS probes a member.
    Protocol, "healthCheck.type", {
        Http => "http",
        Https => "https",
        Tcp => "tcp",
    }
);

keyword_enum!(
    /// Which of the live addresses PowerDNS answers (the `selector` option of ifurlup/ifportup).
    Selector, "selector", {
        All => "all",
        Random => "random",
        PickClosest => "pickclosest",
    }
);

/// A region: one DNS label of lowercase letters, digits and inner hyphens (it becomes the first
/// label of `<region>._pool.<hostname>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

impl Region {
    pub fn parse(raw: &str, field: &str) -> Result<Region, Invalid> {
        let t = raw.trim();
        let bad = |reason: &str| Err(invalid(field, raw, format!("a region is one DNS label: {reason}")));
        if t.is_empty() {
            return bad("it is empty");
        }
        if t.len() > 63 {
            return bad("at most 63 characters");
        }
        if !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return bad("lowercase letters, digits and '-' only");
        }
        if t.starts_with('-') || t.ends_with('-') {
            return bad("it may not start or end with '-'");
        }
        Ok(Region(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    pub fn parse(raw: i64, field: &str) -> Result<Port, Invalid> {
        match u16::try_from(raw) {
            Ok(p) if p != 0 => Ok(Port(p)),
            _ => Err(invalid(field, &raw.to_string(), "a port is 1 to 65535")),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// The path (and query) of a health-check URL: starts with `/`, at most [`MAX_TEXT_LEN`] bytes,
/// only the characters RFC 3986 allows in a path or query, minus `'`, and `%` only before two hex
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UrlPath(String);

impl UrlPath {
    pub fn parse(raw: &str, field: &str) -> Result<UrlPath, Invalid> {
        let bad = |reason: String| Err(invalid(field, raw, reason));
        if !raw.starts_with('/') {
            return bad("a health-check path starts with '/' (scheme, host and port come from the other fields)".into());
        }
        if raw.len() > MAX_TEXT_LEN {
            return bad(format!("at most {MAX_TEXT_LEN} bytes"));
        }
        let bytes = raw.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let ok = b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/?".contains(&b);
            if ok {
                continue;
            }
            if b == b'%' {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if hex(i + 1) && hex(i + 2) {
                    continue;
                }
                return bad("'%' must start a percent-encoded byte (%2F)".into());
            }
            let shown = raw[i..].chars().next().unwrap_or('?');
            return bad(format!(
                "{shown:?} is not allowed in a health-check path (no quotes, backslashes, whitespace; percent-encode it)"
            ));
        }
        Ok(UrlPath(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UrlPath {
    fn default() -> Self {
        UrlPath(DEFAULT_PATH.to_owned())
    }
}

/// Text the probed page must contain (`stringmatch`): 1 to [`MAX_TEXT_LEN`] bytes of printable
/// ASCII without quotes or backslashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StringMatch(String);

impl StringMatch {
    pub fn parse(raw: &str, field: &str) -> Result<StringMatch, Invalid> {
        if raw.is_empty() {
            return Err(invalid(field, raw, "expect is empty; leave it out to accept any page"));
        }
        if raw.len() > MAX_TEXT_LEN {
            return Err(invalid(field, raw, format!("expect is at most {MAX_TEXT_LEN} bytes")));
        }
        if let Some(c) = raw.chars().find(|c| !(' '..='~').contains(c) || matches!(c, '"' | '\'' | '\\')) {
            return Err(invalid(
                field,
                raw,
                format!("expect takes printable ASCII without quotes or backslashes, not {c:?}"),
            ));
        }
        Ok(StringMatch(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Health-check timeout in whole seconds, [`TIMEOUT_RANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout(u8);

impl Timeout {
    pub fn parse(raw: i64, field: &str) -> Result<Timeout, Invalid> {
        if TIMEOUT_RANGE.contains(&raw) {
            Ok(Timeout(raw as u8))
        } else {
            Err(invalid(field, &raw.to_string(), "timeoutSeconds is 1 to 10"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Timeout {
    fn default() -> Self {
        Timeout(DEFAULT_TIMEOUT)
    }
}

/// The weight of a region, 1 to [`MAX_WEIGHT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Weight(u32);

impl Weight {
    pub fn parse(raw: i64, field: &str) -> Result<Weight, Invalid> {
        match u32::try_from(raw) {
            Ok(w) if (1..=MAX_WEIGHT).contains(&w) => Ok(Weight(w)),
            _ => Err(invalid(
                field,
                &raw.to_string(),
                format!("a weight is 1 to {MAX_WEIGHT} (leave a region out to send it nothing)"),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The TTL of a failover record, 1 to [`MAX_TTL`] seconds.
pub fn failover_ttl(raw: i64, field: &str) -> Result<Ttl, Invalid> {
    if (1..=MAX_TTL).contains(&raw) {
        Ok(Ttl(raw as u32))
    } else {
        Err(Invalid::new(
            InvalidKind::Ttl,
            field,
            &raw.to_string(),
            format!("a failover TTL is 1 to {MAX_TTL} seconds"),
        ))
    }
}

/// How PowerDNS probes the members.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HealthCheck {
    pub protocol: Protocol,
    pub port: Port,
    /// Not used by tcp checks.
    pub path: UrlPath,
    /// Not allowed with tcp checks.
    pub expect: Option<StringMatch>,
    pub timeout: Timeout,
}

impl HealthCheck {
    /// The port a protocol probes when none is given: 80, 443; tcp has none.
    pub fn default_port(protocol: Protocol) -> Option<Port> {
        match protocol {
            Protocol::Http => Some(Port(80)),
            Protocol::Https => Some(Port(443)),
            Protocol::Tcp => None,
        }
    }
}

/// Everything about a failover record except its members: what every region publishing the name
/// must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    pub family: Family,
    pub ttl: Ttl,
    pub placement: Placement,
    pub health_check: Option<HealthCheck>,
    pub selector: Selector,
    /// Tier order for hot standby (first = primary).
    pub regions: Vec<Region>,
    pub weights: BTreeMap<Region, Weight>,
}

impl Policy {
    /// A policy with the defaults: A, TTL 30, no check, selector `all`.
    pub fn new(placement: Placement) -> Policy {
        Policy {
            family: Family::V4,
            ttl: Ttl(DEFAULT_TTL),
            placement,
            health_check: None,
            selector: Selector::All,
            regions: Vec::new(),
            weights: BTreeMap::new(),
        }
    }

    /// The rules between fields, with the field each one is reported on.
    pub fn check(&self) -> Result<(), Invalid> {
        for (i, r) in self.regions.iter().enumerate() {
            if self.regions[..i].contains(r) {
                return Err(invalid(&format!("spec.regions[{i}]"), r.as_str(), "region listed twice"));
            }
        }
        if let Some(HealthCheck { protocol: Protocol::Tcp, expect: Some(expect), .. }) = &self.health_check {
            return Err(invalid(
                "spec.healthCheck.expect",
                expect.as_str(),
                "a tcp check reads no page; expect needs an http or https check",
            ));
        }
        match self.placement {
            Placement::SingleRegion => Ok(()),
            Placement::ActiveActive => self.needs_check().map(drop),
            Placement::ActiveHotStandby => {
                let hc = self.needs_check()?;
                if hc.protocol == Protocol::Tcp {
                    return Err(invalid(
                        "spec.healthCheck.type",
                        "tcp",
                        "active-hotstandby needs an http or https check: PowerDNS 4.7's ifportup takes no ordered sets",
                    ));
                }
                if self.regions.is_empty() {
                    return Err(invalid(
                        "spec.regions",
                        "",
                        "active-hotstandby needs the regions in tier order (first = primary)",
                    ));
                }
                Ok(())
            }
            Placement::Weighted => {
                if self.weights.is_empty() {
                    return Err(invalid("spec.weights", "", "weighted needs a weight per region"));
                }
                Ok(())
            }
        }
    }

    fn needs_check(&self) -> Result<&HealthCheck, Invalid> {
        self.health_check.as_ref().ok_or_else(|| {
            invalid("spec.healthCheck", "", format!("{} needs a health check (http, https or tcp)", self.placement))
        })
    }

    /// The policy in one canonical line: every field, in a fixed order, defaults spelt out.
    /// Regions compare this (through [`Policy::hash`]) to agree on a shared pool.
    pub fn canonical(&self) -> String {
        let mut s = format!(
            "v1 {} ttl={} {} selector={}",
            self.family.record_type(),
            self.ttl.0,
            self.placement,
            self.selector
        );
        if let Some(hc) = &self.health_check {
            s.push_str(&format!(" check={}:{} timeout={}", hc.protocol, hc.port.get(), hc.timeout.get()));
            if hc.protocol != Protocol::Tcp {
                s.push_str(&format!(" path={}", hc.path.as_str()));
            }
            if let Some(e) = &hc.expect {
                // Printable ASCII without quotes: the length makes the field unambiguous.
                s.push_str(&format!(" expect={}:{}", e.as_str().len(), e.as_str()));
            }
        }
        let regions: Vec<&str> = self.regions.iter().map(Region::as_str).collect();
        s.push_str(&format!(" regions={}", regions.join(",")));
        let weights: Vec<String> = self.weights.iter().map(|(r, w)| format!("{r}:{}", w.get())).collect();
        s.push_str(&format!(" weights={}", weights.join(",")));
        s
    }

    /// A stable 64-bit hash of [`Policy::canonical`] (FNV-1a), as 16 hex digits: the same on every
    /// platform and version, so that regions running different builds still agree.
    pub fn hash(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.canonical().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// One address serving the name, and the region it serves from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    pub region: Region,
    pub address: IpAddr,
}

impl Member {
    pub fn new(region: Region, address: IpAddr) -> Member {
        Member { region, address }
    }
}

impl Policy {
    /// The policy back from [`Policy::canonical`]; `None` for any other text. (A source hands
    /// the policy to the pool planner through an endpoint label in this form.)
    pub fn from_canonical(s: &str) -> Option<Policy> {
        fn word<'a>(rest: &mut &'a str) -> &'a str {
            match rest.split_once(' ') {
                Some((w, r)) => {
                    *rest = r;
                    w
                }
                None => std::mem::take(rest),
            }
        }
        const F: &str = "canonical";
        let mut rest = s.strip_prefix("v1 ")?;
        let family = Family::parse(word(&mut rest), F).ok()?;
        let ttl = failover_ttl(word(&mut rest).strip_prefix("ttl=")?.parse().ok()?, F).ok()?;
        let placement = Placement::parse(word(&mut rest), F).ok()?;
        let selector = Selector::parse(word(&mut rest).strip_prefix("selector=")?, F).ok()?;
        let mut health_check = None;
        if let Some(c) = rest.strip_prefix("check=") {
            rest = c;
            let (proto, port) = word(&mut rest).split_once(':')?;
            let protocol = Protocol::parse(proto, F).ok()?;
            let port = Port::parse(port.parse().ok()?, F).ok()?;
            let timeout = Timeout::parse(word(&mut rest).strip_prefix("timeout=")?.parse().ok()?, F).ok()?;
            let mut path = UrlPath::default();
            if let Some(p) = rest.strip_prefix("path=") {
                rest = p;
                path = UrlPath::parse(word(&mut rest), F).ok()?;
            }
            let mut expect = None;
            if let Some(e) = rest.strip_prefix("expect=") {
                let (len, after) = e.split_once(':')?;
                let len: usize = len.parse().ok()?;
                expect = Some(StringMatch::parse(after.get(..len)?, F).ok()?);
                rest = after.get(len..)?.strip_prefix(' ')?;
            }
            health_check = Some(HealthCheck { protocol, port, path, expect, timeout });
        }
        let regions = word(&mut rest).strip_prefix("regions=")?;
        let regions: Vec<Region> =
            regions.split(',').filter(|r| !r.is_empty()).map(|r| Region::parse(r, F).ok()).collect::<Option<_>>()?;
        let mut weights = BTreeMap::new();
        for w in word(&mut rest).strip_prefix("weights=")?.split(',').filter(|w| !w.is_empty()) {
            let (r, n) = w.split_once(':')?;
            weights.insert(Region::parse(r, F).ok()?, Weight::parse(n.parse().ok()?, F).ok()?);
        }
        if !rest.is_empty() {
            return None;
        }
        Some(Policy { family, ttl, placement, health_check, selector, regions, weights })
    }
}
