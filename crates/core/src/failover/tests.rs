use std::net::IpAddr;

use super::*;
use crate::endpoint::Ttl;
use crate::{DnsName, RecordType};

fn host() -> DnsName {
    DnsName::parse("app.example.org").unwrap()
}

fn region(r: &str) -> Region {
    Region::parse(r, "spec.targets[0].region").unwrap()
}

fn member(r: &str, a: &str) -> Member {
    Member::new(region(r), a.parse::<IpAddr>().unwrap())
}

fn check(protocol: Protocol, port: u16) -> HealthCheck {
    HealthCheck {
        protocol,
        port: Port::parse(i64::from(port), "spec.healthCheck.port").unwrap(),
        path: UrlPath::default(),
        expect: None,
        timeout: Timeout::default(),
    }
}

fn policy(placement: Placement, hc: Option<HealthCheck>) -> Policy {
    Policy { health_check: hc, ..Policy::new(placement) }
}

fn content(p: &Policy, members: &[Member]) -> String {
    let r = render(&host(), p, members).unwrap();
    assert_eq!(r.targets.len(), 1, "{r:?}");
    r.targets[0].clone()
}

#[test]
fn each_placement_renders_its_record() {
    let eu_us = [member("us", "127.0.0.3"), member("eu", "127.0.0.2")];

    let single = render(&host(), &policy(Placement::SingleRegion, None), &eu_us).unwrap();
    assert_eq!(
        (single.record_type, single.targets, single.health_checked),
        (RecordType::A, vec!["127.0.0.2".to_owned(), "127.0.0.3".to_owned()], false)
    );

    let aa_http = policy(Placement::ActiveActive, Some(check(Protocol::Http, 8080)));
    assert_eq!(
        content(&aa_http, &eu_us),
        r#"A "ifurlup('http://app.example.org:8080/healthz', {'127.0.0.2', '127.0.0.3'}, {selector='all', timeout=2})""#
    );
    let aa_tcp = policy(Placement::ActiveActive, Some(check(Protocol::Tcp, 5432)));
    assert_eq!(
        content(&aa_tcp, &eu_us),
        r#"A "ifportup(5432, {'127.0.0.2', '127.0.0.3'}, {selector='all', timeout=2})""#
    );

    let mut https = check(Protocol::Https, 443);
    https.expect = Some(StringMatch::parse("status: ok", "spec.healthCheck.expect").unwrap());
    https.path = UrlPath::parse("/ready?full=1", "spec.healthCheck.path").unwrap();
    https.timeout = Timeout::parse(5, "spec.healthCheck.timeoutSeconds").unwrap();
    let mut hs = policy(Placement::ActiveHotStandby, Some(https));
    hs.regions = vec![region("us"), region("eu")];
    hs.selector = Selector::PickClosest;
    let members =
        [member("eu", "127.0.0.2"), member("us", "127.0.0.4"), member("us", "127.0.0.3"), member("ap", "127.0.0.5")];
    let r = render(&host(), &hs, &members).unwrap();
    assert!(r.health_checked);
    assert_eq!(r.record_type, RecordType::LUA);
    assert_eq!(
        r.targets[0],
        "A \"ifurlup('https://app.example.org/ready?full=1', {{'127.0.0.3', '127.0.0.4'}, {'127.0.0.2'}, {'127.0.0.5'}}, {selector='pickclosest', timeout=5, stringmatch='status: ok'})\""
    );

    let mut w = policy(Placement::Weighted, None);
    w.weights.insert(region("eu"), Weight::parse(10, "spec.weights.eu").unwrap());
    w.weights.insert(region("us"), Weight::parse(1, "spec.weights.us").unwrap());
    let r = render(&host(), &w, &eu_us).unwrap();
    assert!(!r.health_checked);
    assert_eq!(r.targets[0], r#"A "pickwrandom({{10, '127.0.0.2'}, {1, '127.0.0.3'}})""#);

    let mut v6 = policy(Placement::ActiveActive, Some(check(Protocol::Tcp, 443)));
    v6.family = Family::V6;
    assert_eq!(
        content(&v6, &[member("eu", "2001:db8::0:1"), member("us", "2001:DB8::2")]),
        r#"AAAA "ifportup(443, {'2001:db8::1', '2001:db8::2'}, {selector='all', timeout=2})""#
    );
}

#[test]
fn output_depends_on_the_member_set_only() {
    let p = policy(Placement::ActiveActive, Some(check(Protocol::Http, 80)));
    let a = [member("eu", "10.0.0.2"), member("us", "10.0.0.1"), member("eu", "10.0.0.3")];
    let b = [member("eu", "10.0.0.3"), member("eu", "10.0.0.2"), member("us", "10.0.0.1"), member("eu", "10.0.0.2")];
    assert_eq!(render(&host(), &p, &a), render(&host(), &p, &b));
}

#[test]
fn a_member_change_keeps_the_url_and_options() {
    // PowerDNS keys health-check state by (address, URL, options): only the list may change.
    let mut hc = check(Protocol::Http, 8080);
    hc.expect = Some(StringMatch::parse("ok", "x").unwrap());
    let p = policy(Placement::ActiveActive, Some(hc));
    let one = content(&p, &[member("eu", "10.0.0.1")]);
    let two = content(&p, &[member("eu", "10.0.0.1"), member("us", "10.0.0.2")]);
    let tail = |c: &str| c[c.rfind('}').map(|i| c[..i].rfind('{').unwrap()).unwrap()..].to_owned();
    assert_eq!(tail(&one), tail(&two));
    assert_eq!(one.split(',').next(), two.split(',').next());
}

#[test]
fn long_content_is_split_in_segments() {
    let p = policy(Placement::ActiveActive, Some(check(Protocol::Http, 80)));
    let members: Vec<Member> = (1..=80).map(|i| member("eu", &format!("10.0.1.{i}"))).collect();
    let c = content(&p, &members);
    assert!(c.len() > 3 * MAX_SEGMENT, "{}", c.len());
    let segments: Vec<&str> = c[2..].split("\" \"").collect();
    assert!(segments.len() >= 3);
    assert!(segments.iter().all(|s| s.trim_matches('"').len() <= MAX_SEGMENT));
    let (rt, code) = lua_code(&c).unwrap();
    assert_eq!(rt, RecordType::A);
    assert!(
        code.starts_with("ifurlup('http://app.example.org/healthz', {'10.0.1.1', ") && code.ends_with("timeout=2})")
    );
    assert_eq!(code.matches("'10.0.1.").count(), 80);
}

/// The tokens of renderer-made Lua: string literals whole (a `'a' .. 'b'` concatenation merged
/// into `'ab'`), every other non-space character on its own. Whitespace between tokens is what
/// cutting a content in segments may change, and all it may change.
fn tokens(code: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {}
            '\'' => {
                let mut lit = String::from("'");
                for c in chars.by_ref() {
                    lit.push(c);
                    if c == '\'' {
                        break;
                    }
                }
                out.push(lit);
            }
            c => out.push(c.to_string()),
        }
    }
    // 'a' . . 'b' → 'ab'
    let mut merged: Vec<String> = Vec::new();
    let mut i = 0;
    while i < out.len() {
        let concat = out.get(i + 1).is_some_and(|t| t == ".") && out.get(i + 2).is_some_and(|t| t == ".");
        if out[i].starts_with('\'') && concat && out.get(i + 3).is_some_and(|t| t.starts_with('\'')) {
            let joined = format!("{}{}", out[i].trim_end_matches('\''), out[i + 3].trim_start_matches('\''));
            out[i + 3] = joined;
            i += 3;
            continue;
        }
        merged.push(out[i].clone());
        i += 1;
    }
    merged
}

fn assert_segments_fit(content: &str) {
    let (_, rest) = content.split_once(' ').unwrap();
    let segments: Vec<&str> = rest.strip_prefix('"').unwrap().strip_suffix('"').unwrap().split("\" \"").collect();
    for s in &segments {
        assert!(s.len() <= MAX_SEGMENT && !s.is_empty(), "{} bytes: {s}", s.len());
    }
}

#[test]
fn segments_are_cut_between_tokens_or_as_concatenated_strings() {
    // 80 members and a long URL and stringmatch: cuts fall between tokens and inside the URL.
    let label = "l".repeat(63);
    let host = DnsName::parse(&format!("{label}.{label}.{label}.example.org")).unwrap();
    let mut hc = check(Protocol::Https, 8443);
    hc.path = UrlPath::parse(&format!("/{}", "p".repeat(199)), "x").unwrap();
    hc.expect = Some(StringMatch::parse(&"ok ".repeat(66), "x").unwrap());
    let p = policy(Placement::ActiveActive, Some(hc));
    let members: Vec<Member> = (1..=80).map(|i| member("eu", &format!("10.0.1.{i}"))).collect();
    let r = render(&host, &p, &members).unwrap();
    let content = &r.targets[0];
    assert_segments_fit(content);
    let addrs: Vec<String> = (1..=80).map(|i| format!("'10.0.1.{i}'")).collect();
    let want = format!(
        "ifurlup('https://{}:8443/{}', {{{}}}, {{selector='all', timeout=2, stringmatch='{}'}})",
        host.as_str(),
        "p".repeat(199),
        addrs.join(", "),
        "ok ".repeat(66)
    );
    let (_, code) = lua_code(content).unwrap();
    assert!(code.contains("' ..   '"), "the URL is longer than a segment: {code}");
    assert_eq!(tokens(&code), tokens(&want));
}

#[test]
fn lua_code_reads_contents_back() {
    assert_eq!(lua_code(r#"A "pickrandom({'1.1.1.1'})""#), Some((RecordType::A, "pickrandom({'1.1.1.1'})".into())));
    // PowerDNS 4.7 runs the segments joined with three spaces.
    assert_eq!(lua_code(r#"aaaa "a" "b""#), Some((RecordType::AAAA, "a   b".into())));
    assert_eq!(lua_code(r#"A unquoted"#), None);
    assert_eq!(lua_code(r#"A "open"#), None);
    assert_eq!(lua_code(r#"BOGUS "x""#), None);
}

#[test]
fn rules_between_fields_name_the_field() {
    let members = [member("eu", "10.0.0.1")];
    let field = |p: &Policy, m: &[Member]| render(&host(), p, m).unwrap_err().field;

    assert_eq!(field(&policy(Placement::ActiveActive, None), &members), "spec.healthCheck");
    let mut hs = policy(Placement::ActiveHotStandby, Some(check(Protocol::Tcp, 80)));
    hs.regions = vec![region("eu")];
    assert_eq!(field(&hs, &members), "spec.healthCheck.type");
    hs.health_check = Some(check(Protocol::Http, 80));
    hs.regions.clear();
    assert_eq!(field(&hs, &members), "spec.regions");
    hs.regions = vec![region("eu"), region("us"), region("eu")];
    assert_eq!(field(&hs, &members), "spec.regions[2]");
    let mut tcp_expect = check(Protocol::Tcp, 80);
    tcp_expect.expect = Some(StringMatch::parse("ok", "x").unwrap());
    assert_eq!(field(&policy(Placement::ActiveActive, Some(tcp_expect)), &members), "spec.healthCheck.expect");
    assert_eq!(field(&policy(Placement::Weighted, None), &members), "spec.weights");
    let mut w = policy(Placement::Weighted, None);
    w.weights.insert(region("us"), Weight::parse(1, "x").unwrap());
    let e = render(&host(), &w, &members).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("spec.weights", "eu"));

    let aa = policy(Placement::ActiveActive, Some(check(Protocol::Http, 80)));
    assert_eq!(field(&aa, &[]), "spec.targets");
    let e = render(&host(), &aa, &[member("eu", "10.0.0.1"), member("us", "2001:db8::1")]).unwrap_err();
    assert_eq!((e.field.as_str(), e.value.as_str()), ("spec.targets", "2001:db8::1"));
    let wild = DnsName::parse("*.example.org").unwrap();
    assert_eq!(render(&wild, &aa, &members).unwrap_err().field, "spec.hostname");
}

#[test]
fn values_are_range_and_character_checked() {
    let f = "spec.x";
    for bad in ["", "EU", "eu_west", "-eu", "eu-", "eu.west", &"a".repeat(64), "eu west"] {
        assert!(Region::parse(bad, f).is_err(), "{bad:?}");
    }
    assert_eq!(Region::parse("eu-west-1", f).unwrap().as_str(), "eu-west-1");
    for bad in [0, 65536, -1] {
        assert!(Port::parse(bad, f).is_err(), "{bad}");
    }
    assert_eq!(Port::parse(65535, f).unwrap().get(), 65535);
    for bad in [0, 11, -3] {
        assert!(Timeout::parse(bad, f).is_err(), "{bad}");
    }
    for bad in [0, 1001, -1] {
        assert!(Weight::parse(bad, f).is_err(), "{bad}");
    }
    for bad in [
        "healthz",
        "/a b",
        "/a'b",
        "/a\"b",
        "/a\\b",
        "/a\nb",
        "/%zz",
        "/%4",
        "/é",
        "ftp://x/",
        &format!("/{}", "a".repeat(200)),
    ] {
        assert!(UrlPath::parse(bad, f).is_err(), "{bad:?}");
    }
    assert!(UrlPath::parse("/a-b_c.d~e/!$&()*+,;=:@?x=%2F", f).is_ok());
    for bad in ["", "a\"b", "a'b", "a\\b", "tab\there", "é", &"a".repeat(201)] {
        assert!(StringMatch::parse(bad, f).is_err(), "{bad:?}");
    }
    assert!(StringMatch::parse("OK: all {systems} [go] -- 100%", f).is_ok());
    assert_eq!(Placement::parse("active-active", f).unwrap(), Placement::ActiveActive);
    let e = Placement::parse("round-robin", f).unwrap_err();
    assert!(e.reason.contains("single-region, active-active, active-hotstandby, weighted"), "{e}");
    assert!(Protocol::parse("ftp", f).is_err());
    assert!(Family::parse("CNAME", f).is_err());
    assert!(policy::failover_ttl(0, f).is_err() && policy::failover_ttl(86_401, f).is_err());
    assert_eq!(policy::failover_ttl(30, f).unwrap(), Ttl(30));
}

#[test]
fn the_policy_hash_is_stable_and_sees_every_field() {
    let base = policy(Placement::ActiveActive, Some(check(Protocol::Http, 80)));
    // Fixed: regions running different builds compare it.
    assert_eq!(
        base.canonical(),
        "v1 A ttl=30 active-active selector=all check=http:80 timeout=2 path=/healthz regions= weights="
    );
    assert_eq!(base.hash(), base.clone().hash());
    let mut changes: Vec<Policy> = Vec::new();
    let mut p = base.clone();
    p.ttl = Ttl(60);
    changes.push(p);
    let mut p = base.clone();
    p.health_check.as_mut().unwrap().timeout = Timeout::parse(3, "x").unwrap();
    changes.push(p);
    let mut p = base.clone();
    p.health_check.as_mut().unwrap().expect = Some(StringMatch::parse("ok", "x").unwrap());
    changes.push(p);
    let mut p = base.clone();
    p.selector = Selector::Random;
    changes.push(p);
    let mut p = base.clone();
    p.regions = vec![region("eu")];
    changes.push(p);
    let mut p = base.clone();
    p.family = Family::V6;
    changes.push(p);
    let mut hashes: Vec<String> = changes.iter().map(Policy::hash).collect();
    hashes.push(base.hash());
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), changes.len() + 1);
    assert!(hashes.iter().all(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())));
}
