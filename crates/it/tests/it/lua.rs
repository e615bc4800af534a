//! PowerDNS LUA records against a real `pdns_server` (`enable-lua-records=yes`, health checks
//! every second) and live members: HTTP and TCP listeners on 127.0.0.2–.4 that the tests stop and
//! start again. Records are rendered by `exodns_core::failover::render` and written through the
//! PowerDNS API, so these tests pin what PowerDNS does with what the renderer prints; the
//! FailoverRecord and pool tests build on them.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use exodns_core::DnsName;
use exodns_core::failover::{
    HealthCheck, Member, Placement, Policy, Port, Protocol, Region, StringMatch, Timeout, UrlPath, render,
};
use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{
    BACKEND_ADDRS, Backends, Pdns, PdnsOptions, Proc, TestbedError, exodns_bin, free_port, wait_until_log,
};

use crate::common::{apply, dns_endpoint_yaml, events_for, http_get, manifest_dir, metric_sum, run_once};

const ZONE: &str = "example.org";
const HOST: &str = "app.example.org";
/// What the issue allows between a listener stopping (or starting) and the answer following.
pub(crate) const FOLLOW: Duration = Duration::from_secs(3);
/// The first answers come before PowerDNS's first check (every address counts as down until
/// then): the whole set is awaited this long.
const FIRST_CHECK: Duration = Duration::from_secs(10);

async fn pdns_with_zone() -> Option<Pdns> {
    let pdns = Pdns::start_or_skip(PdnsOptions::default())?;
    pdns.create_zone(ZONE).await.expect("zone");
    Some(pdns)
}

fn member(region: &str, addr: IpAddr) -> Member {
    Member::new(Region::parse(region, "region").unwrap(), addr)
}

fn check(protocol: Protocol, port: u16, expect: Option<&str>) -> HealthCheck {
    HealthCheck {
        protocol,
        port: Port::parse(i64::from(port), "port").unwrap(),
        path: UrlPath::default(),
        expect: expect.map(|e| StringMatch::parse(e, "expect").unwrap()),
        timeout: Timeout::parse(1, "timeout").unwrap(),
    }
}

/// Renders `policy` + `members` at [`HOST`], writes it as a LUA rrset, and returns the content.
async fn publish(pdns: &Pdns, policy: &Policy, members: &[Member]) -> String {
    let host = DnsName::parse(HOST).unwrap();
    let rendered = render(&host, policy, members).expect("renders");
    let content = rendered.targets[0].clone();
    pdns.put_rrset(ZONE, HOST, "LUA", policy.ttl.0, &[&content]).await.expect("LUA rrset accepted");
    content
}

pub(crate) fn ips(addrs: &[IpAddr]) -> Vec<String> {
    addrs.iter().map(IpAddr::to_string).collect()
}

/// Waits until [`HOST`] answers exactly `want` (panics past `limit` or on a SERVFAIL).
pub(crate) async fn answers_become(pdns: &Pdns, want: &[IpAddr], limit: Duration) -> Duration {
    let want = ips(want);
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    pdns.wait_for_answers(HOST, "A", &want, limit, || pdns.log()).await
}

/// Queries [`HOST`] (a query starts PowerDNS's checks) until each of `addrs` has been probed
/// twice, so that the first result is in.
pub(crate) async fn probed_twice(pdns: &Pdns, backends: &Backends, addrs: &[IpAddr]) {
    let started = std::time::Instant::now();
    while !addrs.iter().all(|a| backends.get(*a).hits() >= 2) {
        assert!(started.elapsed() < FIRST_CHECK, "{addrs:?} not probed twice in {FIRST_CHECK:?}:\n{}", pdns.log());
        pdns.answers(HOST, "A").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Active-active: every live member answers; a stopped one leaves the answer and comes back.
pub(crate) async fn member_leaves_and_returns(pdns: &Pdns, backends: &mut Backends) {
    let all = backends.addrs();
    answers_become(pdns, &all, FIRST_CHECK).await;
    let dead = all[1];
    backends.stop(dead);
    let live: Vec<IpAddr> = all.iter().copied().filter(|a| *a != dead).collect();
    let left = answers_become(pdns, &live, FOLLOW).await;
    backends.start(dead);
    let back = answers_become(pdns, &all, FOLLOW).await;
    eprintln!("{dead} left the answer after {left:?}, returned after {back:?}");
}

#[tokio::test]
async fn active_active_http_members_leave_and_return_within_3s() {
    let Some(pdns) = pdns_with_zone().await else { return };
    let mut backends = Backends::http(&BACKEND_ADDRS, "/healthz", "status: ready").expect("listeners");
    let policy = Policy {
        health_check: Some(check(Protocol::Http, backends.port(), Some("ready"))),
        ..Policy::new(Placement::ActiveActive)
    };
    let members: Vec<Member> = BACKEND_ADDRS.iter().zip(["eu", "us", "ap"]).map(|(a, r)| member(r, *a)).collect();
    let content = publish(&pdns, &policy, &members).await;
    assert!(content.starts_with("A \"ifurlup('http://app.example.org:"), "{content}");
    member_leaves_and_returns(&pdns, &mut backends).await;

    // A page without the expected text fails the check as a dead listener does.
    let wrong = BACKEND_ADDRS[2];
    backends.get(wrong).set_body("status: draining");
    answers_become(&pdns, &BACKEND_ADDRS[..2], FOLLOW).await;
    backends.get(wrong).set_body("status: ready");
    answers_become(&pdns, &BACKEND_ADDRS, FOLLOW).await;
}

#[tokio::test]
async fn active_active_tcp_members_leave_and_return_within_3s() {
    let Some(pdns) = pdns_with_zone().await else { return };
    let mut backends = Backends::tcp(&BACKEND_ADDRS).expect("listeners");
    let policy = Policy {
        health_check: Some(check(Protocol::Tcp, backends.port(), None)),
        ..Policy::new(Placement::ActiveActive)
    };
    let members: Vec<Member> = BACKEND_ADDRS.iter().map(|a| member("eu", *a)).collect();
    let content = publish(&pdns, &policy, &members).await;
    assert!(content.starts_with(&format!("A \"ifportup({}, ", backends.port())), "{content}");
    member_leaves_and_returns(&pdns, &mut backends).await;
}

#[tokio::test]
async fn hot_standby_answers_the_primary_only_and_fails_over_within_3s() {
    let Some(pdns) = pdns_with_zone().await else { return };
    let [primary, standby, second_standby] = BACKEND_ADDRS;
    let mut backends = Backends::http(&BACKEND_ADDRS, "/healthz", "ok").expect("listeners");
    let policy = Policy {
        health_check: Some(check(Protocol::Http, backends.port(), None)),
        regions: vec![Region::parse("eu", "regions").unwrap(), Region::parse("us", "regions").unwrap()],
        ..Policy::new(Placement::ActiveHotStandby)
    };
    let mut members = vec![member("us", standby), member("eu", primary)];
    publish(&pdns, &policy, &members).await;

    // Before its first check PowerDNS answers a random address: wait until both members have
    // been probed twice (the first result is in), then for the primary alone.
    probed_twice(&pdns, &backends, &[primary, standby]).await;
    answers_become(&pdns, &[primary], FOLLOW).await;
    assert_eq!(backends.get(second_standby).hits(), 0, "not a member yet");
    backends.stop(primary);
    let over = answers_become(&pdns, &[standby], FOLLOW).await;
    backends.start(primary);
    let back = answers_become(&pdns, &[primary], FOLLOW).await;
    eprintln!("standby answered after {over:?}, primary again after {back:?}");

    // A new standby address changes the content but not the options: the primary's check state
    // is kept, so the answer never moves to a standby.
    members.push(member("us", second_standby));
    let content = publish(&pdns, &policy, &members).await;
    assert!(content.contains("{{'127.0.0.2'}, {'127.0.0.3', '127.0.0.4'}}"), "{content}");
    let checked = pdns.hold_answers(HOST, "A", Duration::from_secs(5), |a| a == ips(&[primary]), || pdns.log()).await;
    assert!(checked > 20, "only {checked} answers in 5 s");
}

/// A content over 255 bytes goes in segments, which PowerDNS 4.7 runs joined with three spaces:
/// the renderer cuts between tokens (and a long URL as a concatenation), so the record answers.
#[tokio::test]
async fn long_content_in_segments_answers() {
    let Some(pdns) = pdns_with_zone().await else { return };
    let host = format!("{}x.{ZONE}", "long-name-".repeat(6));
    let backends = Backends::http(&BACKEND_ADDRS, &format!("/{}", "p".repeat(150)), "ready").expect("listeners");
    let mut hc = check(Protocol::Http, backends.port(), Some("ready"));
    hc.path = UrlPath::parse(&format!("/{}", "p".repeat(150)), "path").unwrap();
    let policy = Policy { health_check: Some(hc), ..Policy::new(Placement::ActiveActive) };
    // 60 members that never answer, and the three listeners.
    let mut members: Vec<Member> = (1..=60).map(|i| member("eu", IpAddr::from([127, 0, 1, i]))).collect();
    members.extend(BACKEND_ADDRS.iter().map(|a| member("us", *a)));
    let rendered = render(&DnsName::parse(&host).unwrap(), &policy, &members).expect("renders");
    let content = &rendered.targets[0];
    assert!(content.matches("\" \"").count() >= 4, "{content}");
    pdns.put_rrset(ZONE, &host, "LUA", 30, &[content]).await.expect("LUA rrset accepted");
    let want = ips(&BACKEND_ADDRS);
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    pdns.wait_for_answers(&host, "A", &want, FIRST_CHECK, || pdns.log()).await;
}

/// PowerDNS takes broken Lua (HTTP 204) and then SERVFAILs: the test bed's queries say so.
#[tokio::test]
async fn broken_lua_is_accepted_and_then_servfails() {
    let Some(pdns) = pdns_with_zone().await else { return };
    pdns.put_rrset(ZONE, "broken.example.org", "LUA", 30, &["A \"ifportup(8080, {'127.0.0.2'\""])
        .await
        .expect("PowerDNS accepts content it cannot run");
    let err = pdns.dig("broken.example.org", "A").await.expect_err("a SERVFAIL is an error");
    assert!(matches!(&err, TestbedError::Dns(m) if m.starts_with("SERVFAIL")), "{err}");
}

/// A DNSEndpoint LUA entry through the real binary (manifest source → planner → TXT registry →
/// PowerDNS): written `a "…"`, published as PowerDNS reads it back (`A "…"`), answered over DNS,
/// and the next sync writes nothing. A bad LUA entry is refused naming the object and the field;
/// the other entries are published.
#[tokio::test]
async fn dnsendpoint_lua_entry_publishes_as_read_back_and_resyncs_without_a_patch() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let backends = Backends::tcp(&BACKEND_ADDRS[..2]).expect("listeners");
    let code = format!("ifportup({}, {{'127.0.0.2', '127.0.0.3'}}, {{selector='all', timeout=1}})", backends.port());
    let written = format!("a \"{code}\"");
    let unquoted = format!("A {code}");
    let manifest = |greeting: &str| {
        dns_endpoint_yaml(&[
            (HOST, "LUA", &[&written]),
            ("plain.example.org", "A", &["192.0.2.1"]),
            ("greet.example.org", "LUA", &[&format!("txt \"'{greeting}'\"")]),
        ])
    };
    // In an object of its own: an object with a bad entry holds back updates of its records.
    let broken =
        dns_endpoint_yaml(&[("bad.example.org", "LUA", &[&unquoted])]).replace("name: records", "name: broken");
    let dir = manifest_dir(&[("records.yaml", &manifest("Hello")), ("broken.yaml", &broken)]);
    let run = || {
        let mut cmd = Command::new(&bin);
        cmd.args(["--source=manifest", "--provider=pdns", "--policy=sync", "--txt-owner-id=lua-it"])
            .args(["--managed-record-types=A", "--managed-record-types=LUA"])
            .arg(format!("--manifest-path={}", dir.path().display()))
            .arg(format!("--pdns-server={}", pdns.api_url()))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
            .env("RUST_LOG", "info");
        run_once("exodns", &mut cmd)
    };
    let log = run();

    let rrsets = pdns.rrsets(ZONE).await.expect("zone");
    let lua = rrsets.get(&(format!("{HOST}."), "LUA".to_owned()));
    assert_eq!(lua, Some(&vec![format!("A \"{code}\"")]), "{rrsets:?}\n{log}");
    let owner = rrsets.get(&(format!("lua-{HOST}."), "TXT".to_owned()));
    assert!(owner.is_some_and(|t| t[0].contains("external-dns/owner=lua-it")), "{rrsets:?}");
    answers_become(&pdns, &BACKEND_ADDRS[..2], FIRST_CHECK).await;
    assert_eq!(pdns.answers("plain.example.org", "A").await, ["192.0.2.1"]);
    assert!(!rrsets.keys().any(|(n, _)| n.starts_with("bad.")), "{rrsets:?}");
    assert!(
        log.lines().any(|l| l.contains("invalid input")
            && l.contains("object=crd/default/broken")
            && l.contains("spec.endpoints[0].targets")
            && l.contains("double quotes")),
        "the unquoted entry is not reported:\n{log}"
    );

    let serial = |z: serde_json::Value| z["serial"].as_u64().expect("serial");
    let before = serial(pdns.get_zone(ZONE).await.expect("zone"));
    let again = run();
    assert_eq!(serial(pdns.get_zone(ZONE).await.expect("zone")), before, "the second sync wrote:\n{again}");

    // Lua code is compared byte for byte: a change of case alone is published.
    assert_eq!(pdns.answers("greet.example.org", "TXT").await, ["\"Hello\""]);
    std::fs::write(dir.path().join("records.yaml"), manifest("hello")).unwrap();
    let log = run();
    assert_eq!(pdns.answers("greet.example.org", "TXT").await, ["\"hello\""], "{log}");
}

/// `--pdns-dns-server`: PowerDNS takes broken Lua (HTTP 204) and SERVFAILs it; exodns asks each
/// LUA record it wrote once, and tells the DNSEndpoint (a Warning Event) and `/metrics`. The
/// question also starts PowerDNS's health checks before anyone else asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servfail_of_a_written_lua_record_is_reported_on_its_dnsendpoint() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    kube.install_crds(&["dnsendpoint"]).expect("CRD");
    let backends = Backends::tcp(&BACKEND_ADDRS[..1]).expect("listener");
    let probed = format!("A \"ifportup({}, {{'127.0.0.2'}}, {{selector='all', timeout=1}})\"", backends.port());
    let broken = "A \"ifportup(8080, {})\""; // an empty list: accepted, then SERVFAIL
    let good = "A \"pickrandom({'192.0.2.1'})\"";
    apply(
        &kube,
        &dns_endpoint_yaml(&[
            ("good.example.org", "LUA", &[good]),
            ("probed.example.org", "LUA", &[&probed]),
            ("broken.example.org", "LUA", &[broken]),
        ]),
    );
    let metrics_port = free_port();
    let mut cmd = Command::new(&bin);
    cmd.args(["--source=crd", "--provider=pdns", "--policy=sync", "--txt-owner-id=lua-it"])
        .args(["--managed-record-types=A", "--managed-record-types=LUA"])
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--pdns-dns-server={}:{}", pdns.dns_addr(), pdns.dns_port()))
        .arg(format!("--metrics-address=127.0.0.1:{metrics_port}"))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "info");
    let x = Proc::spawn("exodns", &mut cmd);

    // Nobody has asked for probed.example.org: exodns's question started PowerDNS's checks.
    let hits = || backends.get(BACKEND_ADDRS[0]).hits();
    wait_until_log("PowerDNS probing the member", Duration::from_secs(20), || hits() > 0, || x.log());
    pdns.wait_for_answers("good.example.org", "A", &["192.0.2.1"], FOLLOW, || x.log()).await;
    let err = pdns.dig("broken.example.org", "A").await.expect_err("published, and SERVFAIL");
    assert!(err.to_string().contains("SERVFAIL"), "{err}");

    let servfails =
        || http_get(metrics_port, "/metrics").map_or(0.0, |(_, m)| metric_sum(&m, "exodns_lua_servfail_total", &[]));
    wait_until_log("exodns_lua_servfail_total 1", Duration::from_secs(10), || servfails() == 1.0, || x.log());
    let told = || {
        events_for(&kube, "records")
            .iter()
            .any(|(reason, note)| reason == "ServFail" && note.contains("broken.example.org LUA (A)"))
    };
    wait_until_log("a ServFail Event on the DNSEndpoint", Duration::from_secs(20), told, || x.log());
    assert!(
        !events_for(&kube, "records").iter().any(|(r, n)| r == "ServFail" && !n.contains("broken.example.org")),
        "only the broken record is reported"
    );
    assert!(x.log().contains("SERVFAIL"), "{}", x.log());
}
