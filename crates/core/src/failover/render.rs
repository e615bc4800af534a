//! Policy + members → the record PowerDNS serves.
//!
//! The Lua is assembled from a closed grammar: function names and option keys are literals here,
//! numbers come from range-checked types, addresses are printed from parsed [`IpAddr`]s, and the
//! only strings (URL, `stringmatch`) come from types whose constructors refuse quotes,
//! backslashes, whitespace and control characters. The options table holds policy fields only,
//! in a fixed order: PowerDNS keys its health-check state by (address, URL, options), so a
//! member change keeps every other member's state.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::error::{Invalid, InvalidKind};
use crate::name::DnsName;
use crate::record_type::RecordType;

use super::policy::{Family, HealthCheck, Member, Placement, Policy, Protocol, Region};

/// Longest character-string in DNS presentation form; longer content is split in segments that
/// PowerDNS joins back.
pub const MAX_SEGMENT: usize = 255;

/// What a policy and its members publish at the hostname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// A or AAAA for a plain record, LUA otherwise.
    pub record_type: RecordType,
    /// The addresses of a plain record, or the one LUA content (`A "ifurlup(…)"`).
    pub targets: Vec<String>,
    /// Whether PowerDNS probes the members (false for single-region and weighted).
    pub health_checked: bool,
}

/// Renders the record for `host`. Members are taken in any order; the output depends only on
/// the set of members. Refused, naming the field: a wildcard host, a policy that breaks a rule
/// ([`Policy::check`]), no members, a member of the other address family, a member of a region
/// without a weight (weighted).
pub fn render(host: &DnsName, policy: &Policy, members: &[Member]) -> Result<Rendered, Invalid> {
    if host.is_wildcard() {
        return Err(Invalid::new(
            InvalidKind::Failover,
            "spec.hostname",
            host.as_str(),
            "a failover hostname cannot be a wildcard (it is also the probed URL's host)",
        ));
    }
    policy.check()?;
    if members.is_empty() {
        return Err(Invalid::new(InvalidKind::Failover, "spec.targets", "", "the record has no members"));
    }
    if let Some(m) = members.iter().find(|m| Family::of(&m.address) != policy.family) {
        return Err(Invalid::new(
            InvalidKind::Failover,
            "spec.targets",
            &m.address.to_string(),
            format!(
                "a {} record takes {} addresses only (region {})",
                policy.family.record_type(),
                family_name(policy.family),
                m.region
            ),
        ));
    }

    let plain = |health_checked| Rendered {
        record_type: policy.family.record_type(),
        targets: ordered(members).into_iter().map(|m| m.address.to_string()).collect(),
        health_checked,
    };
    let lua = match (policy.placement, &policy.health_check) {
        (Placement::SingleRegion, _) => return Ok(plain(false)),
        (Placement::Weighted, _) => weighted(policy, members)?,
        (Placement::ActiveActive | Placement::ActiveHotStandby, None) => unreachable_by_check(policy)?,
        (Placement::ActiveActive, Some(hc)) => {
            let addrs = address_list(ordered(members).iter().map(|m| &m.address));
            match hc.protocol {
                Protocol::Tcp => format!("ifportup({}, {addrs}, {})", hc.port.get(), options(policy, hc)),
                Protocol::Http | Protocol::Https => {
                    format!("ifurlup('{}', {addrs}, {})", url(host, hc), options(policy, hc))
                }
            }
        }
        (Placement::ActiveHotStandby, Some(hc)) => {
            let tiers: Vec<String> =
                tiers(&policy.regions, members).iter().map(|t| address_list(t.iter().copied())).collect();
            format!("ifurlup('{}', {{{}}}, {})", url(host, hc), tiers.join(", "), options(policy, hc))
        }
    };
    Ok(Rendered {
        record_type: RecordType::LUA,
        targets: vec![lua_content(policy.family, &lua)],
        health_checked: policy.placement != Placement::Weighted,
    })
}

// `Policy::check` refuses these before; kept as an error rather than a panic.
fn unreachable_by_check(policy: &Policy) -> Result<String, Invalid> {
    Err(Invalid::new(
        InvalidKind::Failover,
        "spec.healthCheck",
        "",
        format!("{} needs a health check", policy.placement),
    ))
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// Members sorted by address, each address once (the first region in sorted order keeps it).
fn ordered(members: &[Member]) -> Vec<&Member> {
    let mut v: Vec<&Member> = members.iter().collect();
    v.sort_by(|a, b| (a.address, &a.region).cmp(&(b.address, &b.region)));
    v.dedup_by(|b, a| a.address == b.address);
    v
}

/// Hot-standby tiers: the listed regions in order, then the unlisted ones by name; empty tiers
/// left out; an address in the first tier that has it only.
fn tiers<'a>(order: &'a [Region], members: &'a [Member]) -> Vec<Vec<&'a IpAddr>> {
    let mut regions: Vec<&Region> = order.iter().collect();
    let unlisted: BTreeSet<&Region> = members.iter().map(|m| &m.region).filter(|r| !order.contains(r)).collect();
    regions.extend(unlisted);
    let mut seen: BTreeSet<&IpAddr> = BTreeSet::new();
    let mut out = Vec::new();
    for r in regions {
        let tier: BTreeSet<&IpAddr> =
            members.iter().filter(|m| &m.region == r).map(|m| &m.address).filter(|a| !seen.contains(a)).collect();
        if !tier.is_empty() {
            seen.extend(tier.iter().copied());
            out.push(tier.into_iter().collect());
        }
    }
    out
}

fn weighted(policy: &Policy, members: &[Member]) -> Result<String, Invalid> {
    let mut entries = Vec::new();
    for m in ordered(members) {
        let w = policy.weights.get(&m.region).ok_or_else(|| {
            Invalid::new(
                InvalidKind::Failover,
                "spec.weights",
                m.region.as_str(),
                format!("region {} has members but no weight", m.region),
            )
        })?;
        entries.push(format!("{{{}, '{}'}}", w.get(), m.address));
    }
    Ok(format!("pickwrandom({{{}}})", entries.join(", ")))
}

fn address_list<'a>(addrs: impl Iterator<Item = &'a IpAddr>) -> String {
    let quoted: Vec<String> = addrs.map(|a| format!("'{a}'")).collect();
    format!("{{{}}}", quoted.join(", "))
}

/// The probed URL: scheme and port from the check, host from the record, the checked path.
fn url(host: &DnsName, hc: &HealthCheck) -> String {
    let mut u = format!("{}://{}", hc.protocol, host.as_str());
    if Some(hc.port) != HealthCheck::default_port(hc.protocol) {
        let _ = write!(u, ":{}", hc.port.get());
    }
    u.push_str(hc.path.as_str());
    u
}

/// The options table: policy fields only, always in this order.
fn options(policy: &Policy, hc: &HealthCheck) -> String {
    let mut o = format!("{{selector='{}', timeout={}", policy.selector, hc.timeout.get());
    if let Some(e) = &hc.expect {
        let _ = write!(o, ", stringmatch='{}'", e.as_str());
    }
    o.push('}');
    o
}

/// `A "code"`, the code in quoted segments of at most [`MAX_SEGMENT`] bytes. The code is ASCII
/// without `"` or `\` (see the module doc), so it needs no escaping.
fn lua_content(family: Family, code: &str) -> String {
    debug_assert!(code.is_ascii() && !code.contains(['"', '\\']), "{code}");
    let mut out = String::with_capacity(code.len() + 8);
    out.push_str(family.record_type().as_str());
    for seg in segments(code) {
        out.push_str(" \"");
        out.push_str(&seg);
        out.push('"');
    }
    out
}

/// What PowerDNS 4.7 puts between two segments when it runs the code: the closing quote, the
/// separator and the opening quote each become a space (measured: `TXT "'a' .. 'b" "c'"`
/// answers `ab   c`).
pub const SEGMENT_JOIN: &str = "   ";

/// Cuts `code` so that the segments, joined with [`SEGMENT_JOIN`], are the same program: cuts fall
/// between tokens outside string literals (at a space, or after `,` `{` `(` `}`), where more
/// whitespace changes nothing; a string literal longer than a segment is cut as `'…' .. '…'`.
/// The code's string literals are single-quoted without escapes (the renderer's grammar).
fn segments(code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    // "'" when the segment continues a string literal cut by the previous one.
    let mut reopen = "";
    while reopen.len() + (b.len() - start) > MAX_SEGMENT {
        let room = MAX_SEGMENT - reopen.len();
        let mut in_str = !reopen.is_empty();
        let mut cut = None;
        for i in start..=start + room {
            let between = i > start && i < b.len() && (b[i] == b' ' || b",{(} ".contains(&b[i - 1]));
            if !in_str && between {
                cut = Some(i);
            }
            if i < start + room && b[i] == b'\'' {
                in_str = !in_str;
            }
        }
        let mut seg = String::from(reopen);
        match cut {
            Some(i) => {
                seg.push_str(code[start..i].trim_end_matches(' '));
                start = i + code[i..].len() - code[i..].trim_start_matches(' ').len();
                reopen = "";
            }
            None => {
                // No token boundary: the segment lies inside one string literal.
                let i = start + room - "' ..".len();
                seg.push_str(&code[start..i]);
                seg.push_str("' ..");
                start = i;
                reopen = "'";
            }
        }
        out.push(seg);
    }
    out.push(format!("{reopen}{}", &code[start..]));
    out
}

/// The record type and Lua code of a LUA content as PowerDNS runs it: segments joined with
/// [`SEGMENT_JOIN`] (`A "a" "b"` → (A, `a   b`)); escapes are kept as written. `None` when it is
/// not a type token followed by quoted segments.
pub fn lua_code(content: &str) -> Option<(RecordType, String)> {
    let (token, rest) = content.trim().split_once(' ')?;
    let rtype: RecordType = token.parse().ok()?;
    let mut code = String::with_capacity(rest.len());
    let mut rest = rest.trim_start();
    let mut first = true;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('"')?;
        let end = crate::target::closing_quote(inner)?;
        if !first {
            code.push_str(SEGMENT_JOIN);
        }
        first = false;
        code.push_str(&inner[..end]);
        rest = inner[end + 1..].trim_start();
    }
    Some((rtype, code))
}
