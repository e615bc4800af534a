//! Every rendered failover record compiles: 10 000 random valid policies with random members are
//! rendered, and one LuaJIT process (PowerDNS 4.7 links LuaJIT 2.1) compiles each snippet as
//! PowerDNS does (`"return " .. code`) and runs it against stubs of ifurlup, ifportup and
//! pickwrandom that check the arguments' shape (URL, address family, nesting, option keys).
//!
//! Needs `luajit` (Debian package, installed by `scripts/testbed/apt-deps.sh`); without it the test
//! is skipped with a notice, or fails when `EXODNS_REQUIRE_PEERS=1` (as `scripts/test` sets).
//! `EXODNS_LUA_SEED=<n>` replays a run; the seed is printed on failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use exodns_core::endpoint::Ttl;
use exodns_core::failover::{
    Family, HealthCheck, Member, Placement, Policy, Port, Protocol, Region, Selector, StringMatch, Timeout, UrlPath,
    Weight, lua_code, render,
};
use exodns_core::{DnsName, RecordType};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const CASES: usize = 10_000;

/// Random valid cases from a seeded generator (plain `rand`: proptest's value trees cost ~1 ms a
/// case in a debug build, and shrinking a 10 000-case batch would not help read a Lua error).
struct Gen(StdRng);

impl Gen {
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        *from.choose(&mut self.0).expect("non-empty")
    }

    /// Mostly short, sometimes up to `long`.
    fn len(&mut self, short: usize, long: usize) -> usize {
        if self.0.random_ratio(1, 5) { self.0.random_range(short..=long) } else { self.0.random_range(1..short) }
    }

    fn text(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(self.pick(alphabet))).collect()
    }

    fn label(&mut self, inner: &[u8], max: usize) -> String {
        let ends = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut l = self.text(ends, 1);
        let n = self.0.random_range(0..max);
        if n > 0 {
            l.push_str(&self.text(inner, n - 1));
            l.push_str(&self.text(ends, 1));
        }
        l
    }

    fn region(&mut self) -> Region {
        let r = if self.0.random_bool(0.5) {
            self.pick(&["eu", "us", "ap", "eu-west-1", "us-east-2", "a", "r0"]).to_owned()
        } else {
            self.label(b"abcdefghijklmnopqrstuvwxyz0123456789-", 22)
        };
        Region::parse(&r, "r").expect("generated region")
    }

    fn host(&mut self) -> DnsName {
        let mut h = self.label(b"abcdefghijklmnopqrstuvwxyz0123456789", 20);
        for _ in 0..self.0.random_range(0..4) {
            h.push('.');
            h.push_str(&self.label(b"abcdefghijklmnopqrstuvwxyz0123456789_-", 12));
        }
        DnsName::parse(&format!("{h}.example.org")).expect("generated host")
    }

    fn path(&mut self) -> UrlPath {
        let chars = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&()*+,;=:@/?";
        let mut p = String::from("/");
        for _ in 0..self.len(10, 60) {
            if self.0.random_ratio(1, 9) {
                p.push_str(&format!("%{:02X}", self.0.random::<u8>()));
            } else {
                p.push_str(&self.text(chars, 1));
            }
        }
        p.truncate(200);
        // A cut may leave half an escape behind.
        while let Some(i) = p.rfind('%').filter(|&i| i + 2 >= p.len()) {
            p.truncate(i);
        }
        UrlPath::parse(&p, "p").expect("generated path")
    }

    fn expect(&mut self) -> StringMatch {
        let printable: Vec<u8> = (b' '..=b'~').filter(|c| !matches!(c, b'"' | b'\'' | b'\\')).collect();
        let n = self.len(20, 200);
        StringMatch::parse(&self.text(&printable, n), "e").expect("generated expect")
    }

    fn health_check(&mut self) -> HealthCheck {
        let protocol = self.pick(Protocol::ALL);
        let port = if self.0.random_bool(0.5) { self.pick(&[80, 443, 8080]) } else { self.0.random_range(1..=65535) };
        HealthCheck {
            protocol,
            port: Port::parse(port, "port").unwrap(),
            path: if self.0.random_bool(0.7) { self.path() } else { UrlPath::default() },
            expect: (protocol != Protocol::Tcp && self.0.random_bool(0.5)).then(|| self.expect()),
            timeout: Timeout::parse(self.0.random_range(1..=10), "t").unwrap(),
        }
    }

    fn address(&mut self, family: Family) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::from(self.0.random::<u32>())),
            Family::V6 => match self.0.random_range(0..3) {
                0 => IpAddr::V6(Ipv6Addr::from(self.0.random::<u128>())),
                // Compressed and v4-mapped text forms.
                1 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, self.0.random(), self.0.random())),
                _ => IpAddr::V6(Ipv4Addr::from(self.0.random::<u32>()).to_ipv6_mapped()),
            },
        }
    }

    fn case(&mut self) -> Case {
        let family = self.pick(&[Family::V4, Family::V6]);
        let placement = self.pick(Placement::ALL);
        let mut hc = self.health_check();
        if placement == Placement::ActiveHotStandby && hc.protocol == Protocol::Tcp {
            hc.protocol = Protocol::Https;
        }
        let regions: Vec<Region> = (0..self.0.random_range(1..5)).map(|_| self.region()).collect();
        let members = (0..self.len(6, 80))
            .map(|_| {
                let r = regions.choose(&mut self.0).expect("a region").clone();
                Member::new(r, self.address(family))
            })
            .collect();
        let mut tier_order = regions.clone();
        tier_order.sort();
        tier_order.dedup();
        // Some regions left out of the tier order: they come last.
        tier_order.truncate(tier_order.len().div_ceil(2));
        let weights: BTreeMap<Region, Weight> =
            regions.iter().map(|r| (r.clone(), Weight::parse(self.0.random_range(1..=1000), "w").unwrap())).collect();
        let policy = Policy {
            family,
            ttl: Ttl(self.0.random_range(1..=86_400)),
            placement,
            health_check: (placement != Placement::SingleRegion || self.0.random_bool(0.5)).then_some(hc),
            selector: self.pick(Selector::ALL),
            regions: tier_order,
            weights,
        };
        Case { host: self.host(), policy, members }
    }
}

#[derive(Debug, Clone)]
struct Case {
    host: DnsName,
    policy: Policy,
    members: Vec<Member>,
}

/// Checks each snippet's arguments the way PowerDNS 4.7 reads them.
const STUBS: &str = r#"
local FAMILY
local function fail(msg) error(msg, 0) end
local function is_addr(s)
  if type(s) ~= 'string' then return false end
  if FAMILY == 'A' then
    local a, b, c, d = s:match('^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
    return a and tonumber(a) < 256 and tonumber(b) < 256 and tonumber(c) < 256 and tonumber(d) < 256
  end
  return s:find(':', 1, true) ~= nil and s:match('^[0-9a-f:.]+$') ~= nil
end
local function addr_list(t, what)
  if type(t) ~= 'table' or #t == 0 then fail(what .. ': empty or not a table') end
  for _, a in ipairs(t) do if not is_addr(a) then fail(what .. ': bad address ' .. tostring(a)) end end
end
local function options(o, keys)
  if type(o) ~= 'table' then fail('options: not a table') end
  for k, v in pairs(o) do
    if not keys[k] then fail('options: unknown key ' .. tostring(k)) end
    if k == 'selector' and v ~= 'all' and v ~= 'random' and v ~= 'pickclosest' then fail('selector ' .. tostring(v)) end
    if k == 'timeout' and (type(v) ~= 'number' or v < 1 or v > 10 or v % 1 ~= 0) then fail('timeout ' .. tostring(v)) end
    if k == 'stringmatch' and (type(v) ~= 'string' or #v == 0) then fail('stringmatch') end
  end
end
function ifurlup(url, sets, opts)
  if type(url) ~= 'string' or not url:match('^https?://[a-z0-9._-]+[:/]') then fail('url ' .. tostring(url)) end
  if type(sets) ~= 'table' or #sets == 0 then fail('ifurlup: no addresses') end
  if type(sets[1]) == 'table' then
    for i, s in ipairs(sets) do addr_list(s, 'tier ' .. i) end
  else
    addr_list(sets, 'ifurlup')
  end
  options(opts, {selector = true, timeout = true, stringmatch = true})
  return {}
end
function ifportup(port, addrs, opts)
  if type(port) ~= 'number' or port < 1 or port > 65535 or port % 1 ~= 0 then fail('port ' .. tostring(port)) end
  addr_list(addrs, 'ifportup')  -- a flat list: nested sets SERVFAIL on 4.7
  options(opts, {selector = true, timeout = true})
  return {}
end
function pickwrandom(list)
  if type(list) ~= 'table' or #list == 0 then fail('pickwrandom: empty') end
  for _, e in ipairs(list) do
    if type(e) ~= 'table' or type(e[1]) ~= 'number' or e[1] < 1 or not is_addr(e[2]) then fail('pickwrandom entry') end
  end
  return ''
end
local bad = 0
for i, c in ipairs(CASES) do
  FAMILY = c[1]
  local f, err = loadstring('return ' .. c[2], 'case ' .. i)
  if not f then
    print('COMPILE ' .. i .. ': ' .. err); bad = bad + 1
  else
    local ok, rerr = pcall(f)
    if not ok then print('RUN ' .. i .. ': ' .. tostring(rerr)); bad = bad + 1 end
  end
end
print('checked ' .. #CASES .. ', failed ' .. bad)
os.exit(bad == 0 and 0 or 1)
"#;

/// A Lua long string holding `s` verbatim.
fn long_string(s: &str) -> String {
    let mut level = 0;
    while s.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{s}]{eq}]")
}

fn luajit_available() -> bool {
    Command::new("luajit").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs the stubs over `(type, code)` cases in one luajit process: its success and stdout.
fn luajit_check(cases: &[(RecordType, String)]) -> (bool, String) {
    let mut lua = String::from("CASES = {\n");
    for (rtype, code) in cases {
        let _ = writeln!(lua, "{{'{rtype}', {}}},", long_string(code));
    }
    lua.push_str("}\n");
    lua.push_str(STUBS);
    let mut child = Command::new("luajit")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("luajit starts");
    child.stdin.take().expect("stdin").write_all(lua.as_bytes()).expect("write the cases");
    let out = child.wait_with_output().expect("luajit runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn ten_thousand_random_policies_compile_under_luajit() {
    if !luajit_available() {
        let what = "luajit is not installed (run scripts/testbed/apt-deps.sh)";
        if std::env::var("EXODNS_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("{what}, and EXODNS_REQUIRE_PEERS=1");
        }
        eprintln!("NOTICE: skipping: {what}; set EXODNS_REQUIRE_PEERS=1 to make this a failure");
        return;
    }

    // The checker catches what PowerDNS would SERVFAIL on: a syntax error, nested sets in
    // ifportup, an IPv6 address in an A record, an empty list, an unknown option.
    let broken = [
        (RecordType::A, "ifurlup('http://a.example.org/', {'1.1.1.1'}".to_owned()),
        (RecordType::A, "ifportup(80, {{'1.1.1.1'}, {'2.2.2.2'}}, {selector='all'})".to_owned()),
        (RecordType::A, "ifportup(80, {'2001:db8::1'}, {selector='all'})".to_owned()),
        (RecordType::A, "pickwrandom({})".to_owned()),
        (RecordType::A, "ifurlup('http://a.example.org/', {'1.1.1.1'}, {interval=1})".to_owned()),
        (RecordType::AAAA, "ifportup(80, {'2001:db8::1'}, {selector='all', timeout=1})".to_owned()),
    ];
    let (ok, out) = luajit_check(&broken);
    assert!(!ok && out.contains("checked 6, failed 5") && out.contains("COMPILE 1:"), "{out}");

    let seed: u64 = std::env::var("EXODNS_LUA_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut cases_from = Gen(StdRng::seed_from_u64(seed));
    let started = std::time::Instant::now();

    // 10 000 LUA contents, and the plain records rendered on the way.
    let mut lua_cases: Vec<(Case, String)> = Vec::with_capacity(CASES);
    let mut codes: Vec<(RecordType, String)> = Vec::with_capacity(CASES);
    let mut placements: BTreeMap<String, usize> = BTreeMap::new();
    let mut segmented = 0;
    while lua_cases.len() < CASES {
        let case = cases_from.case();
        let rendered = render(&case.host, &case.policy, &case.members)
            .unwrap_or_else(|e| panic!("seed {seed}: a valid case was refused: {e}\n{case:#?}"));
        // Members in another order: the same bytes.
        let mut reversed = case.members.clone();
        reversed.reverse();
        assert_eq!(render(&case.host, &case.policy, &reversed).as_ref(), Ok(&rendered), "seed {seed}");
        // The canonical form reads back as the same policy (pools carry it in a label).
        let canonical = case.policy.canonical();
        let back = Policy::from_canonical(&canonical).unwrap_or_else(|| panic!("seed {seed}: {canonical}"));
        assert_eq!((back.canonical(), back.hash()), (canonical, case.policy.hash()), "seed {seed}");
        *placements.entry(format!("{}/{}", case.policy.placement, rendered.record_type)).or_default() += 1;
        if rendered.record_type != RecordType::LUA {
            for t in &rendered.targets {
                let ip: IpAddr = t.parse().unwrap_or_else(|_| panic!("seed {seed}: plain target {t}"));
                assert_eq!(Family::of(&ip), case.policy.family);
            }
            continue;
        }
        let content = rendered.targets[0].clone();
        assert!(content.is_ascii() && !content.contains(['\n', '\\']), "seed {seed}: {content}");
        if content.contains("\" \"") {
            segmented += 1;
        }
        let (rtype, code) = lua_code(&content).unwrap_or_else(|| panic!("seed {seed}: unreadable {content}"));
        assert_eq!(rtype, case.policy.family.record_type());
        codes.push((rtype, code));
        lua_cases.push((case, content));
    }
    for p in Placement::ALL {
        assert!(placements.keys().any(|k| k.starts_with(p.as_str())), "seed {seed}: no {p} case: {placements:?}");
    }
    assert!(segmented > 100, "seed {seed}: only {segmented} contents over 255 bytes");
    let generated = started.elapsed();

    let (ok, out) = luajit_check(&codes);
    if !ok {
        let mut report = format!("seed {seed}: luajit refused some contents\n");
        for line in out.lines().take(10) {
            let _ = writeln!(report, "{line}");
            let index = line.split_whitespace().nth(1).and_then(|i| i.trim_end_matches(':').parse::<usize>().ok());
            if let Some((case, content)) = index.and_then(|i| lua_cases.get(i - 1)) {
                let _ = writeln!(report, "  content: {content}\n  case: {case:?}");
            }
        }
        panic!("{report}");
    }
    assert!(out.contains(&format!("checked {CASES}, failed 0")), "seed {seed}: {out}");
    eprintln!(
        "seed {seed}: {CASES} LUA contents ({segmented} in segments), {placements:?}; rendered in {generated:?}, checked by luajit in {:?}",
        started.elapsed() - generated
    );
}
