//! Record targets: per-type validation into one canonical text form, and the comparisons the
//! planner uses.
//!
//! Canonical form: IP addresses as Rust prints them (IPv6 compressed, lowercase); host names
//! lowercase without the trailing dot (providers add it back when they write); numbers without
//! leading zeros; TXT values in quoted presentation form (`"v=spf1 -all"`), the way upstream's
//! registry writes its ownership values; CAA and NAPTR strings with their quotes. A current record read from a provider and a
//! desired one from a source go through the same function, so equal meaning means equal text.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Invalid, InvalidKind};
use crate::name::DnsName;
use crate::record_type::RecordType;

/// Longest TXT target accepted. DNS splits TXT data in 255-octet strings; providers do the split.
/// Beyond a few KiB a record no longer fits a UDP answer and is almost certainly a mistake.
pub const MAX_TXT_LEN: usize = 4096;

/// The targets of one record set, in the order they were given. Shared between clones: a
/// planned change, an outgoing change and the record cache hold the same strings, and cloning an
/// endpoint allocates nothing. Changes go through [`edit`](Self::edit), which copies first.
#[derive(Debug, Clone, Eq)]
pub struct Targets(Arc<[String]>);

impl Default for Targets {
    fn default() -> Self {
        Targets(Arc::new([]))
    }
}

impl Deref for Targets {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl PartialEq for Targets {
    fn eq(&self, other: &Targets) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::hash::Hash for Targets {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0[..].hash(state);
    }
}

impl<T> PartialEq<Vec<T>> for Targets
where
    String: PartialEq<T>,
{
    fn eq(&self, other: &Vec<T>) -> bool {
        self.0[..] == other[..]
    }
}

impl<T, const N: usize> PartialEq<[T; N]> for Targets
where
    String: PartialEq<T>,
{
    fn eq(&self, other: &[T; N]) -> bool {
        self.0[..] == other[..]
    }
}

impl Serialize for Targets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(d).map(Targets::new)
    }
}

impl<'a> IntoIterator for &'a Targets {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Targets {
    pub fn new(targets: Vec<String>) -> Self {
        Targets(targets.into())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// A copy of the list, for a caller that takes it apart.
    pub fn to_vec(&self) -> Vec<String> {
        self.0.to_vec()
    }

    /// Changes the list: copies it out, lets `f` edit it, shares the result. Endpoints that
    /// shared the old list keep it.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<String>) -> R) -> R {
        let mut v = self.0.to_vec();
        let r = f(&mut v);
        self.0 = v.into();
        r
    }

    /// Sorted by text; shares the list when it already is (the common case: one target).
    pub fn sort(&mut self) {
        if !self.0.is_sorted() {
            self.edit(|v| v.sort_unstable());
        }
    }

    /// Sorted by text without repeats; shares the list when it already is.
    pub fn sort_dedup(&mut self) {
        if !self.0.windows(2).all(|w| w[0] < w[1]) {
            self.edit(|v| {
                v.sort_unstable();
                v.dedup();
            });
        }
    }

    /// Same set of targets: order- and case-insensitive, IP addresses compared as addresses.
    pub fn same(&self, other: &Targets) -> bool {
        if self.0.len() != other.0.len() {
            return false;
        }
        // Targets are canonical (sources and providers go through `canonical_target`), so equal
        // lists in the same order are the common case: no allocation for them.
        if self.0.iter().zip(other.0.iter()).all(|(x, y)| same_target(x, y)) {
            return true;
        }
        if self.0.len() == 1 {
            return false;
        }
        let mut a: Vec<&str> = self.iter().collect();
        let mut b: Vec<&str> = other.iter().collect();
        a.sort_unstable_by(|x, y| cmp_ignore_case(x, y));
        b.sort_unstable_by(|x, y| cmp_ignore_case(x, y));
        a.iter().zip(&b).all(|(x, y)| same_target(x, y))
    }

    /// [`same`](Self::same), except for LUA records, whose code is compared byte for byte (a
    /// `stringmatch='OK'` is not `stringmatch='ok'`).
    pub fn same_for(&self, rt: RecordType, other: &Targets) -> bool {
        if rt != RecordType::LUA {
            return self.same(other);
        }
        let mut a: Vec<&str> = self.iter().collect();
        let mut b: Vec<&str> = other.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }

    /// Upstream's order for choosing among candidates: fewer targets first; then, comparing the
    /// sorted targets pairwise, IP addresses before names, addresses by value, names by text.
    pub fn is_less(&self, other: &Targets) -> bool {
        match self.0.len().cmp(&other.0.len()) {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
        let mut a: Vec<&str> = self.iter().collect();
        let mut b: Vec<&str> = other.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        for (x, y) in a.iter().zip(&b) {
            if x == y {
                continue;
            }
            return match (x.parse::<IpAddr>(), y.parse::<IpAddr>()) {
                (Ok(ix), Ok(iy)) => ix < iy,
                (Ok(_), Err(_)) => true,
                (Err(_), Ok(_)) => false,
                (Err(_), Err(_)) => x < y,
            };
        }
        false
    }
}

impl From<Vec<String>> for Targets {
    fn from(v: Vec<String>) -> Self {
        Targets::new(v)
    }
}

impl<'a> FromIterator<&'a str> for Targets {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        Targets::new(iter.into_iter().map(str::to_owned).collect())
    }
}

fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

fn same_target(a: &str, b: &str) -> bool {
    // Canonical targets are lowercase: byte equality (memcmp) settles the common case.
    if a == b || a.eq_ignore_ascii_case(b) {
        return true;
    }
    // An IPv4 address has one text form (the parser refuses leading zeros), so only IPv6 text
    // can differ for the same address; skipping the parse elsewhere keeps updates cheap.
    a.contains(':')
        && b.contains(':')
        && matches!((a.parse::<Ipv6Addr>(), b.parse::<Ipv6Addr>()), (Ok(x), Ok(y)) if x == y)
}

/// The record type a bare target implies, as upstream infers it: IPv4 → A, IPv6 → AAAA,
/// anything else → CNAME.
pub fn infer_type(target: &str) -> RecordType {
    match target.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => RecordType::A,
        Ok(IpAddr::V6(_)) => RecordType::AAAA,
        Err(_) => RecordType::CNAME,
    }
}

/// Validates one target of a record of type `rt` and returns its canonical form.
pub fn canonical_target(rt: RecordType, raw: &str) -> Result<String, Invalid> {
    let bad = |reason: String| Invalid::new(InvalidKind::Target, "target", raw, reason).for_type(rt);
    let t = raw.trim();
    if t.is_empty() {
        return Err(bad(format!("a {rt} record needs a non-empty target")));
    }
    match rt {
        RecordType::A => {
            t.parse::<Ipv4Addr>().map(|ip| ip.to_string()).map_err(|_| bad("an A record needs an IPv4 address".into()))
        }
        RecordType::AAAA => t
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| bad("an AAAA record needs an IPv6 address".into())),
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::ALIAS | RecordType::DNAME => {
            host(t).map_err(|e| bad(format!("a {rt} record needs a host name: {e}")))
        }
        RecordType::TXT => txt(t).map_err(bad),
        RecordType::MX => mx(t).map_err(bad),
        RecordType::SRV => srv(t).map_err(bad),
        RecordType::CAA => caa(t).map_err(bad),
        RecordType::NAPTR => naptr(t).map_err(bad),
        RecordType::LUA => lua(t).map_err(bad),
        _ => Ok(t.to_owned()),
    }
}

fn host(t: &str) -> Result<String, String> {
    if t.parse::<IpAddr>().is_ok() {
        return Err("an IP address is not a host name".into());
    }
    DnsName::parse(t).map(|n| n.as_str().to_owned()).map_err(|e| e.to_string())
}

/// `.` is the "no such service" target of SRV and the empty replacement of NAPTR.
fn host_or_root(t: &str) -> Result<String, String> {
    if t == "." { Ok(".".into()) } else { host(t) }
}

fn txt(t: &str) -> Result<String, String> {
    if t.len() > MAX_TXT_LEN {
        return Err(format!("a TXT value is {} bytes long; exodns takes at most {MAX_TXT_LEN}", t.len()));
    }
    if let Some(c) = t.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(format!("a TXT value holds the control character {c:?}"));
    }
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return Ok(t.to_owned());
    }
    let mut quoted = String::with_capacity(t.len() + 2);
    quoted.push('"');
    for c in t.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok(quoted)
}

/// The text of a TXT target without its presentation quoting: `"a" "b"` → `ab`, `"x\"y"` → `x"y`.
/// Unquoted input is returned as it is.
pub fn txt_text(target: &str) -> String {
    let t = target.trim();
    if !t.starts_with('"') {
        return t.to_owned();
    }
    let mut out = String::with_capacity(t.len());
    let mut in_string = false;
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        match (c, in_string) {
            ('"', _) => in_string = !in_string,
            ('\\', true) => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (c, true) => out.push(c),
            (_, false) => {} // whitespace between strings
        }
    }
    out
}

/// A canonical target in the form zone-file APIs (PowerDNS, Cloud DNS) want: host names absolute
/// (`lb.example.net.`), also as the last field of MX, SRV and NAPTR; anything else unchanged.
pub fn with_absolute_hosts(rt: RecordType, target: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let absolute = |h: &str| if h.ends_with('.') { Cow::Owned(h.to_owned()) } else { Cow::Owned(format!("{h}.")) };
    match rt {
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::ALIAS | RecordType::DNAME => {
            let t = target.trim();
            if t.ends_with('.') { Cow::Borrowed(t) } else { absolute(t) }
        }
        RecordType::MX | RecordType::SRV | RecordType::NAPTR => {
            let t = target.trim();
            match t.rsplit_once(char::is_whitespace) {
                Some((head, host)) if !host.ends_with('.') => Cow::Owned(format!("{head} {host}.")),
                _ => Cow::Borrowed(t),
            }
        }
        _ => Cow::Borrowed(target),
    }
}

/// Longest LUA target accepted: what one DNS message could carry. PowerDNS 4.7 takes a 44 KB one.
pub const MAX_LUA_LEN: usize = 65_535;

/// A PowerDNS LUA record: a record type and quoted Lua code, in the form PowerDNS reads back —
/// the type upper-case (it stores `a "…"` as `A "…"`), one space before each quoted segment (it
/// refuses other spacing). Escapes inside a segment are kept as written. What the code does is
/// not checked here: PowerDNS compiles it only when asked (see `--pdns-dns-server`).
fn lua(t: &str) -> Result<String, String> {
    const FORM: &str = "a LUA target is a record type and quoted Lua code, as A \"ifportup(443, {'192.0.2.1'})\"";
    if t.len() > MAX_LUA_LEN {
        return Err(format!("a LUA target is {} bytes long; exodns takes at most {MAX_LUA_LEN}", t.len()));
    }
    if let Some(c) = t.chars().find(|c| c.is_control() && *c != '\t' && *c != ' ') {
        return Err(format!("a LUA target holds the control character {c:?}"));
    }
    let (token, rest) = t.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((t, ""));
    let rtype: RecordType = token.parse().map_err(|_| format!("{FORM}; {token:?} is not a record type"))?;
    if matches!(rtype, RecordType::LUA | RecordType::SOA) {
        return Err(format!("{FORM}; a LUA record cannot make a {rtype} record"));
    }
    let mut out = String::from(rtype.as_str());
    let mut rest = rest.trim_start();
    let mut code_len = 0;
    if rest.is_empty() {
        return Err(format!("{FORM}; the code is missing"));
    }
    while !rest.is_empty() {
        let inner = rest.strip_prefix('"').ok_or_else(|| format!("{FORM}; the code must be in double quotes"))?;
        let end = closing_quote(inner).ok_or_else(|| format!("{FORM}; a quote is not closed"))?;
        out.push_str(" \"");
        out.push_str(&inner[..end]);
        out.push('"');
        code_len += inner[..end].trim().len();
        rest = &inner[end + 1..];
        if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            return Err(format!("{FORM}; quoted segments are separated by a space"));
        }
        rest = rest.trim_start();
    }
    if code_len == 0 {
        return Err(format!("{FORM}; the code is empty"));
    }
    Ok(out)
}

/// Where the quoted segment that `inner` starts (just past its opening `"`) ends: the byte index
/// of the first `"` not escaped by a backslash.
pub(crate) fn closing_quote(inner: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn number<T: std::str::FromStr>(field: &str, what: &str, record: &str) -> Result<T, String> {
    field.parse::<T>().map_err(|_| format!("{record}: {what} {field:?} is not a number in range"))
}

fn mx(t: &str) -> Result<String, String> {
    let parts: Vec<&str> = t.split_whitespace().collect();
    let [pref, exchange] = parts[..] else {
        return Err("an MX target is \"<preference> <host>\", e.g. \"10 mail.example.org\"".into());
    };
    let pref: u16 = number(pref, "preference", "MX")?;
    Ok(format!("{pref} {}", host_or_root(exchange).map_err(|e| format!("MX exchange: {e}"))?))
}

fn srv(t: &str) -> Result<String, String> {
    let parts: Vec<&str> = t.split_whitespace().collect();
    let [prio, weight, port, target] = parts[..] else {
        return Err("an SRV target is \"<priority> <weight> <port> <host>\", e.g. \"0 50 5060 sip.example.org\"".into());
    };
    let prio: u16 = number(prio, "priority", "SRV")?;
    let weight: u16 = number(weight, "weight", "SRV")?;
    let port: u16 = number(port, "port", "SRV")?;
    let target = host_or_root(target).map_err(|e| format!("SRV target: {e}"))?;
    Ok(format!("{prio} {weight} {port} {target}"))
}

fn caa(t: &str) -> Result<String, String> {
    let mut it = t.splitn(3, char::is_whitespace);
    let (Some(flags), Some(tag), Some(value)) = (it.next(), it.next(), it.next()) else {
        return Err(
            "a CAA target is \"<flags> <tag> \\\"<value>\\\"\", e.g. \"0 issue \\\"letsencrypt.org\\\"\"".into()
        );
    };
    let flags: u8 = number(flags, "flags", "CAA")?;
    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("CAA tag {tag:?} must be letters and digits (issue, issuewild, iodef)"));
    }
    let value = value.trim();
    let inner = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    if inner.contains('"') {
        return Err("a CAA value cannot hold a double quote".into());
    }
    Ok(format!("{flags} {} \"{inner}\"", tag.to_ascii_lowercase()))
}

fn naptr(t: &str) -> Result<String, String> {
    const SHAPE: &str = "a NAPTR target is '<order> <preference> \"<flags>\" \"<service>\" \"<regexp>\" <replacement>'";
    let mut rest = t;
    let mut next_word = || -> Option<&str> {
        let s = rest.trim_start();
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        let (w, r) = s.split_at(end);
        rest = r;
        (!w.is_empty()).then_some(w)
    };
    let order: u16 = number(next_word().ok_or(SHAPE)?, "order", "NAPTR")?;
    let pref: u16 = number(next_word().ok_or(SHAPE)?, "preference", "NAPTR")?;
    let mut quoted = Vec::with_capacity(3);
    for _ in 0..3 {
        let s = rest.trim_start();
        let body = s.strip_prefix('"').ok_or(SHAPE)?;
        let end = body.find('"').ok_or(SHAPE)?;
        quoted.push(&body[..end]);
        rest = &body[end + 1..];
    }
    let replacement = rest.trim();
    if replacement.is_empty() || replacement.contains(char::is_whitespace) {
        return Err(SHAPE.into());
    }
    let replacement = host_or_root(replacement).map_err(|e| format!("NAPTR replacement: {e}"))?;
    Ok(format!("{order} {pref} \"{}\" \"{}\" \"{}\" {replacement}", quoted[0], quoted[1], quoted[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rt: RecordType, t: &str) -> String {
        canonical_target(rt, t).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(ok(RecordType::AAAA, "2001:DB8:0:0::1"), "2001:db8::1");
        assert_eq!(ok(RecordType::CNAME, "LB.Example.com."), "lb.example.com");
        assert_eq!(ok(RecordType::MX, "010  Mail.Example.org."), "10 mail.example.org");
        assert_eq!(ok(RecordType::SRV, "0 50 5060 sip.example.org."), "0 50 5060 sip.example.org");
        assert_eq!(ok(RecordType::TXT, "v=spf1 \"x\""), "\"v=spf1 \\\"x\\\"\"");
        assert_eq!(ok(RecordType::TXT, "\"heritage=external-dns\""), "\"heritage=external-dns\"");
        assert_eq!(txt_text(&ok(RecordType::TXT, "v=spf1 \"x\"")), "v=spf1 \"x\"");
        assert_eq!(txt_text("\"ab\" \"cd\""), "abcd");
        assert_eq!(ok(RecordType::CAA, "0 ISSUE letsencrypt.org"), "0 issue \"letsencrypt.org\"");
        assert_eq!(
            ok(RecordType::NAPTR, "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.org."),
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.org"
        );
    }

    #[test]
    fn rejects_with_reason() {
        for (rt, t) in [
            (RecordType::A, "1.2.3"),
            (RecordType::A, "::1"),
            (RecordType::AAAA, "1.2.3.4"),
            (RecordType::CNAME, "1.2.3.4"),
            (RecordType::CNAME, "999.1.1.1"),
            (RecordType::CNAME, "300.300.300.300"),
            (RecordType::NS, "ns.123"),
            (RecordType::MX, "10 1.2.3.256"),
            (RecordType::SRV, "0 50 5060 1.2.3.999"),
            (RecordType::MX, "mail.example.org"),
            (RecordType::SRV, "0 50 70000 x.example.org"),
            (RecordType::CAA, "0 issue \"a\"b\""),
            (RecordType::NAPTR, "100 10 S SIP x.example.org"),
            (RecordType::TXT, "a\u{0}b"),
        ] {
            assert!(canonical_target(rt, t).is_err(), "{rt} {t:?} should be refused");
        }
    }

    #[test]
    fn same_ignores_order_case_and_ip_spelling() {
        let a = Targets::from_iter(["B.example.com", "a.example.com"]);
        let b = Targets::from_iter(["a.example.com", "b.EXAMPLE.com"]);
        assert!(a.same(&b));
        assert!(Targets::from_iter(["2001:db8::1"]).same(&Targets::from_iter(["2001:DB8:0::1"])));
        assert!(!Targets::from_iter(["1.1.1.1"]).same(&Targets::from_iter(["1.1.1.2"])));
    }

    #[test]
    fn lua_targets_take_powerdns_read_back_form() {
        let code = "\"ifportup(443, {'192.0.2.1'})\"";
        assert_eq!(ok(RecordType::LUA, &format!("a {code}")), format!("A {code}"));
        assert_eq!(ok(RecordType::LUA, &format!("  aaaa\t {code}   \"--x\" ")), format!("AAAA {code} \"--x\""));
        assert_eq!(ok(RecordType::LUA, r#"TXT "'a\"b'""#), r#"TXT "'a\"b'""#, "escapes kept");
        for (t, why) in [
            ("A", "the code is missing"),
            ("A ifportup(443, {'192.0.2.1'})", "double quotes"),
            ("A \"ifportup(443\"x", "separated by a space"),
            ("A \"ifportup(443", "not closed"),
            ("A \"ifportup(443\\\"", "not closed"),
            ("A \"\"", "empty"),
            ("A \"  \" \"\"", "empty"),
            ("BOGUS \"x\"", "not a record type"),
            ("\"x\"", "not a record type"),
            ("LUA \"x\"", "cannot make a LUA"),
            ("A \"x\ny\"", "control character"),
        ] {
            let err = canonical_target(RecordType::LUA, t).expect_err(t);
            assert!(err.reason.contains(why), "{t:?}: {}", err.reason);
        }
    }

    #[test]
    fn lua_targets_compare_byte_for_byte() {
        let a = Targets::from_iter(["A \"ifurlup('http://x/', {'192.0.2.1'}, {stringmatch='OK'})\""]);
        let b = Targets::from_iter(["A \"ifurlup('http://x/', {'192.0.2.1'}, {stringmatch='ok'})\""]);
        assert!(a.same(&b), "upstream's comparison ignores case");
        assert!(!a.same_for(RecordType::LUA, &b));
        assert!(a.same_for(RecordType::LUA, &a.clone()));
        let two = Targets::from_iter(["A \"x\"", "A \"y\""]);
        assert!(two.same_for(RecordType::LUA, &Targets::from_iter(["A \"y\"", "A \"x\""])));
        assert!(a.same_for(RecordType::TXT, &b));
    }

    #[test]
    fn less_prefers_fewer_then_ips_then_text() {
        let one = Targets::from_iter(["z.example.com"]);
        let two = Targets::from_iter(["1.1.1.1", "2.2.2.2"]);
        assert!(one.is_less(&two));
        assert!(Targets::from_iter(["9.9.9.9"]).is_less(&Targets::from_iter(["1-2-3-4.example.com"])));
        assert!(Targets::from_iter(["9.9.9.9"]).is_less(&Targets::from_iter(["10.0.0.1"])));
        assert!(!Targets::from_iter(["b"]).is_less(&Targets::from_iter(["a"])));
    }
}
