//! `--provider=rfc2136` through the real exodns binary against real BIND 9.18 and Knot 3.2
//! (started by the test bed on free loopback ports, UPDATE and AXFR allowed only with TSIG keys).
//! Desired records come from DNSEndpoint manifests (`--source=manifest`); what the server holds
//! is checked with DNS queries and AXFR, and "nothing written" with the zone's SOA serial, which
//! both servers raise on every change.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::{DnsServer, DnsServerOptions, Flavor, Proc, exodns_bin, free_port, skip_or_fail, wait_until_log};

const OWNER: &str = "it";

/// A DNSEndpoint manifest with `endpoints` (YAML flow mappings), in a fresh directory.
fn manifests(endpoints: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), endpoints);
    dir
}

fn write_manifest(dir: &Path, endpoints: &[String]) {
    let mut yaml = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: records, namespace: default}\nspec:\n  endpoints:\n",
    );
    for e in endpoints {
        yaml.push_str(&format!("  - {e}\n"));
    }
    std::fs::write(dir.join("records.yaml"), yaml).unwrap();
}

fn endpoint(name: &str, rtype: &str, targets: &[&str], ttl: Option<u32>) -> String {
    let targets: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
    let ttl = ttl.map(|t| format!(", recordTTL: {t}")).unwrap_or_default();
    format!("{{dnsName: {name}, recordType: {rtype}, targets: [{}]{ttl}}}", targets.join(", "))
}

/// Flags of an exodns run against `server`: zones, key of `algorithm`, owner, the manifest
/// source in `dir`.
fn flags(server: &DnsServer, dir: &Path, zones: &[&str], algorithm: &str) -> Vec<String> {
    let key = server.key(algorithm);
    let mut v = vec![
        "--source=manifest".to_owned(),
        format!("--manifest-path={}", dir.display()),
        "--provider=rfc2136".into(),
        format!("--rfc2136-host={}", server.addr()),
        format!("--rfc2136-port={}", server.port()),
        format!("--rfc2136-tsig-keyname={}", key.name),
        format!("--rfc2136-tsig-secret={}", key.secret),
        format!("--rfc2136-tsig-secret-alg={algorithm}"),
        "--rfc2136-axfr".into(),
        format!("--txt-owner-id={OWNER}"),
        "--managed-record-types=A,AAAA,CNAME,TXT,MX".into(),
    ];
    v.extend(zones.iter().map(|z| format!("--rfc2136-zone={z}")));
    v
}

/// `exodns --once` with `args` (plus `--policy=sync` unless given); its output. Panics when it
/// fails.
fn once(exodns: &Path, args: &[String]) -> String {
    let mut cmd = Command::new(exodns);
    cmd.args(args).arg("--once").arg(format!("--metrics-address=127.0.0.1:{}", free_port()));
    if !args.iter().any(|a| a.starts_with("--policy")) {
        cmd.arg("--policy=sync");
    }
    let out = cmd.env("RUST_LOG", "info").output().expect("run exodns");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "exodns {args:?} failed:\n{text}");
    text
}

async fn dig(server: &DnsServer, name: &str, rtype: &str) -> Vec<String> {
    server.dig(name, rtype).await.unwrap_or_else(|e| panic!("{} {name} {rtype}: {e}", server.flavor()))
}

async fn serial(server: &DnsServer, zone: &str) -> u32 {
    server.serial(zone).await.unwrap()
}

fn heritage(resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource={resource}\"")
}

/// (name, type) of every record of the zone by AXFR, TTL and data beside.
fn zone(server: &DnsServer, name: &str) -> Vec<(String, String, u32, String)> {
    server.axfr(name).unwrap().into_iter().map(|r| (r.name, r.rtype, r.ttl, r.data)).collect()
}

/// Full sync of several record types into two zones with ownership TXT (read back by query and
/// AXFR); a second sync writes nothing; records made by hand stay; update, CNAME → A and a
/// delete, which `upsert-only` keeps and `sync` removes. BIND is reached through a dead first
/// host (fail-over), Knot with hmac-sha1 and the secret from a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_sync_publishes_owns_updates_and_deletes() {
    let Some(exodns) = exodns_bin() else { return };
    for flavor in [Flavor::Bind, Flavor::Knot] {
        let opts = DnsServerOptions { zones: vec!["example.test".into(), "other.test".into()], tls: false };
        let Some(server) = DnsServer::start_or_skip(flavor, opts) else { continue };
        let f = flavor;
        server
            .nsupdate(
                "example.test",
                &[
                    "update add keep.example.test. 60 A 192.0.2.200",
                    "update add keep.example.test. 60 TXT \"site=abc\"",
                ],
            )
            .unwrap();
        let dir = manifests(&[
            endpoint("www.example.test", "A", &["192.0.2.1", "192.0.2.2"], Some(120)),
            endpoint("alias.example.test", "CNAME", &["lb.example.net"], None),
            endpoint("txt.example.test", "TXT", &["v=spf1 -all"], None),
            endpoint("v6.other.test", "AAAA", &["2001:db8::1"], None),
            endpoint("other.test", "MX", &["10 ns1.other.test"], None),
        ]);
        let mut args = flags(&server, dir.path(), &["example.test", "other.test"], "hmac-sha512");
        match flavor {
            Flavor::Bind => {
                // 127.0.0.2 is loopback too, but nothing listens there on the port.
                args.retain(|a| !a.starts_with("--rfc2136-host"));
                args.push("--rfc2136-host=127.0.0.2".into());
                args.push(format!("--rfc2136-host={}", server.addr()));
            }
            Flavor::Knot => {
                let key = server.key("hmac-sha1");
                let file = dir.path().join("tsig-secret");
                std::fs::write(&file, format!("{}\n", key.secret)).unwrap();
                args.retain(|a| !a.starts_with("--rfc2136-tsig"));
                args.push(format!("--rfc2136-tsig-keyname={}", key.name));
                args.push(format!("--rfc2136-tsig-secret-file={}", file.display()));
                args.push("--rfc2136-tsig-secret-alg=hmac-sha1".into());
            }
        }

        once(&exodns, &args);
        assert_eq!(dig(&server, "www.example.test", "A").await, ["192.0.2.1", "192.0.2.2"], "{f}");
        assert_eq!(dig(&server, "a-www.example.test", "TXT").await, [heritage("crd/default/records")], "{f}");
        assert_eq!(dig(&server, "alias.example.test", "CNAME").await, ["lb.example.net."], "{f}");
        assert_eq!(dig(&server, "cname-alias.example.test", "TXT").await.len(), 1, "{f}");
        assert_eq!(dig(&server, "txt.example.test", "TXT").await, ["\"v=spf1 -all\""], "{f}");
        assert_eq!(dig(&server, "v6.other.test", "AAAA").await, ["2001:db8::1"], "{f}");
        assert_eq!(dig(&server, "other.test", "MX").await, ["10 ns1.other.test."], "{f}");
        assert_eq!(dig(&server, "mx-_apex.other.test", "TXT").await.len(), 1, "{f}: the apex record owned in its zone");
        let axfr = zone(&server, "example.test");
        let www = axfr.iter().find(|r| r.0 == "www.example.test." && r.1 == "A").unwrap();
        assert_eq!(www.2, 120, "{f}: the TTL asked for");
        let alias = axfr.iter().find(|r| r.0 == "alias.example.test.").unwrap();
        assert_eq!(alias.2, 300, "{f}: no TTL asked for: 300, where upstream writes 0");

        // Nothing to do: nothing written.
        let serials = (serial(&server, "example.test").await, serial(&server, "other.test").await);
        once(&exodns, &args);
        assert_eq!((serial(&server, "example.test").await, serial(&server, "other.test").await), serials, "{f}");

        // An update, CNAME → A in one sync, a delete.
        write_manifest(
            dir.path(),
            &[
                endpoint("www.example.test", "A", &["192.0.2.3"], Some(120)),
                endpoint("alias.example.test", "A", &["192.0.2.4"], None),
                endpoint("v6.other.test", "AAAA", &["2001:db8::1"], None),
                endpoint("other.test", "MX", &["10 ns1.other.test"], None),
            ],
        );
        let mut upsert = args.clone();
        upsert.push("--policy=upsert-only".into());
        let log = once(&exodns, &upsert);
        assert_eq!(dig(&server, "www.example.test", "A").await, ["192.0.2.3"], "{f}");
        assert_eq!(dig(&server, "txt.example.test", "TXT").await, ["\"v=spf1 -all\""], "{f}: upsert-only keeps it");
        // upsert-only cannot delete the CNAME, and an A beside it would be dropped: reported.
        assert_eq!(dig(&server, "alias.example.test", "CNAME").await, ["lb.example.net."], "{f}");
        assert!(log.contains("alias.example.test holds a CNAME that exodns does not remove"), "{f}:\n{log}");
        once(&exodns, &args);
        assert_eq!(dig(&server, "alias.example.test", "A").await, ["192.0.2.4"], "{f}: CNAME → A in one sync");
        assert!(dig(&server, "alias.example.test", "CNAME").await.is_empty(), "{f}");
        assert_eq!(dig(&server, "a-alias.example.test", "TXT").await.len(), 1, "{f}");
        assert!(dig(&server, "cname-alias.example.test", "TXT").await.is_empty(), "{f}");
        assert!(dig(&server, "txt.example.test", "TXT").await.is_empty(), "{f}: sync deletes it");
        assert!(dig(&server, "txt-txt.example.test", "TXT").await.is_empty(), "{f}");

        // And back: A → CNAME in one sync.
        write_manifest(
            dir.path(),
            &[
                endpoint("www.example.test", "A", &["192.0.2.3"], Some(120)),
                endpoint("alias.example.test", "CNAME", &["lb2.example.net"], None),
                endpoint("v6.other.test", "AAAA", &["2001:db8::1"], None),
                endpoint("other.test", "MX", &["10 ns1.other.test"], None),
            ],
        );
        once(&exodns, &args);
        assert_eq!(
            dig(&server, "alias.example.test", "CNAME").await,
            ["lb2.example.net."],
            "{f}: A → CNAME in one sync"
        );
        assert!(dig(&server, "alias.example.test", "A").await.is_empty(), "{f}");

        // The zone holds exactly this: the hand-made records untouched.
        let names: Vec<(String, String)> =
            zone(&server, "example.test").into_iter().map(|(n, t, _, _)| (n, t)).collect();
        let want: Vec<(String, String)> = [
            ("a-www.example.test.", "TXT"),
            ("alias.example.test.", "CNAME"),
            ("cname-alias.example.test.", "TXT"),
            ("example.test.", "NS"),
            ("example.test.", "SOA"),
            ("keep.example.test.", "A"),
            ("keep.example.test.", "TXT"),
            ("ns1.example.test.", "A"),
            ("www.example.test.", "A"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        assert_eq!(names, want, "{f}");
        assert_eq!(dig(&server, "keep.example.test", "A").await, ["192.0.2.200"], "{f}");
        assert_eq!(dig(&server, "keep.example.test", "TXT").await, ["\"site=abc\""], "{f}");
    }
}

/// A CNAME wanted where a record exodns does not manage sits: the server would answer NOERROR
/// and drop it (upstream then publishes the ownership TXT of a record that does not exist).
/// exodns sends nothing for it and reports it; the rest of the sync goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_cname_beside_other_records_is_reported_not_dropped() {
    let Some(exodns) = exodns_bin() else { return };
    for flavor in [Flavor::Bind, Flavor::Knot] {
        let Some(server) = DnsServer::start_or_skip(flavor, DnsServerOptions::default()) else { continue };
        server.nsupdate("example.test", &["update add www.example.test. 60 A 192.0.2.200"]).unwrap();
        let dir = manifests(&[
            endpoint("www.example.test", "CNAME", &["lb.example.net"], None),
            endpoint("ok.example.test", "CNAME", &["lb.example.net"], None),
        ]);
        let mut args = flags(&server, dir.path(), &["example.test"], "hmac-sha256");
        // The A is not managed: the planner does not see it, the provider does.
        args.retain(|a| !a.starts_with("--managed-record-types"));
        args.push("--managed-record-types=CNAME".into());
        let log = once(&exodns, &args);
        assert!(
            log.contains(
                "www.example.test holds A record(s) that exodns does not remove, and a CNAME cannot sit beside"
            ),
            "{flavor}: not reported:\n{log}"
        );
        assert_eq!(dig(&server, "ok.example.test", "CNAME").await, ["lb.example.net."], "{flavor}");
        assert!(dig(&server, "www.example.test", "CNAME").await.is_empty());
        assert!(dig(&server, "cname-www.example.test", "TXT").await.is_empty(), "{flavor}: no ownership of nothing");
        assert_eq!(dig(&server, "www.example.test", "A").await, ["192.0.2.200"]);
    }
}

/// A wrong TSIG secret: every sync says TSIG and the server's answer, the zone is left alone
/// (unreadable, not empty: nothing planned, nothing published), the secret never appears, and
/// the process keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_wrong_tsig_secret_plans_nothing_and_stays_up() {
    let Some(exodns) = exodns_bin() else { return };
    let Some(server) = DnsServer::start_or_skip(Flavor::Bind, DnsServerOptions::default()) else { return };
    let dir = manifests(&[endpoint("www.example.test", "A", &["192.0.2.1"], None)]);
    let secret = "V3JvbmdTZWNyZXQtNzc0MWU0ZGYtZG8tbm90LXByaW50LW1l";
    let mut args = flags(&server, dir.path(), &["example.test"], "hmac-sha256");
    args.retain(|a| !a.starts_with("--rfc2136-tsig-secret="));
    args.push(format!("--rfc2136-tsig-secret={secret}"));
    args.push("--log-level=debug".into());
    let before = serial(&server, "example.test").await;

    let plan =
        Command::new(&exodns).arg("plan").arg("--color=never").args(&args).arg("--policy=sync").output().unwrap();
    let plan_out = format!("{}{}", String::from_utf8_lossy(&plan.stdout), String::from_utf8_lossy(&plan.stderr));
    assert!(plan.status.success(), "{plan_out}");
    assert!(plan_out.contains("0 to create, 0 to update, 0 to delete"), "planned from a failed read:\n{plan_out}");

    let mut cmd = Command::new(&exodns);
    cmd.args(&args)
        .args(["--policy=sync", "--interval=1s"])
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "debug");
    let proc = Proc::spawn("exodns-wrong-secret", &mut cmd);
    let failed_syncs = || proc.log().matches("cannot read zone; leaving it alone").count();
    wait_until_log(
        "three syncs that could not read the zone",
        Duration::from_secs(30),
        || failed_syncs() >= 3,
        || proc.log(),
    );
    let mut proc = proc;
    assert!(proc.is_running(), "exodns exited:\n{}", proc.log());
    let log = proc.log();
    let line = log.lines().find(|l| l.contains("cannot read zone")).unwrap();
    assert!(line.contains("TSIG") && line.contains("NOTAUTH") && line.contains("BADSIG"), "{line}");
    assert!(line.contains("--rfc2136-tsig-secret"), "the message names the flag to check: {line}");
    for text in [&log, &plan_out] {
        assert!(!text.contains(secret) && !text.contains("V3JvbmdTZWNyZXQ"), "the secret was printed:\n{text}");
    }
    assert_eq!(serial(&server, "example.test").await, before, "something was written");
    assert!(dig(&server, "www.example.test", "A").await.is_empty());
}

/// DNS over TLS to BIND's TLS listener: transfers and updates go over it, verified with the CA
/// of `--tls-ca` (or not at all with `--rfc2136-skip-tls-verify`); without a way to verify the
/// server, nothing is read or written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_dns_over_tls_to_bind() {
    let Some(exodns) = exodns_bin() else { return };
    let opts = DnsServerOptions { tls: true, ..DnsServerOptions::default() };
    let Some(server) = DnsServer::start_or_skip(Flavor::Bind, opts) else { return };
    let dir = manifests(&[endpoint("secure.example.test", "A", &["192.0.2.5"], None)]);
    let mut base = flags(&server, dir.path(), &["example.test"], "hmac-sha256");
    base.retain(|a| !a.starts_with("--rfc2136-port"));
    base.push(format!("--rfc2136-port={}", server.tls_port().unwrap()));
    base.push("--rfc2136-use-tls".into());

    // The server's certificate is not signed by a CA the system knows.
    let before = serial(&server, "example.test").await;
    let out = Command::new(&exodns)
        .args(&base)
        .args(["--once", "--policy=sync"])
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("TLS") || text.contains("CA"), "{text}");
    assert_eq!(serial(&server, "example.test").await, before, "written without verifying the server:\n{text}");

    let mut with_ca = base.clone();
    with_ca.push(format!("--tls-ca={}", server.tls_ca().unwrap().display()));
    once(&exodns, &with_ca);
    assert_eq!(dig(&server, "secure.example.test", "A").await, ["192.0.2.5"]);
    let after = serial(&server, "example.test").await;
    assert!(after > before);

    let mut skip = base.clone();
    skip.push("--rfc2136-skip-tls-verify".into());
    once(&exodns, &skip);
    assert_eq!(serial(&server, "example.test").await, after, "the second sync over TLS wrote");
}

/// 10 000 records (and their 10 000 ownership TXT) into BIND, in messages cut at 64 KB (a batch
/// size that would not fit), then read back by AXFR: nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_10000_records_in_64k_messages_and_read_by_axfr() {
    let Some(exodns) = exodns_bin() else { return };
    let Some(server) = DnsServer::start_or_skip(Flavor::Bind, DnsServerOptions::default()) else { return };
    let endpoints: Vec<String> = (0..10_000)
        .map(|i| {
            endpoint(
                &format!("host-{i}.example.test"),
                "A",
                &[&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
                None,
            )
        })
        .collect();
    let dir = manifests(&endpoints);
    let mut args = flags(&server, dir.path(), &["example.test"], "hmac-sha256");
    args.push("--rfc2136-batch-change-size=20000".into());
    let started = Instant::now();
    let log = once(&exodns, &args);
    let first = started.elapsed();
    let records = server.axfr("example.test").unwrap();
    assert_eq!(records.len(), 3 + 20_000, "SOA, NS, ns1 A, 10 000 A and 10 000 TXT");
    let line = log.lines().find(|l| l.contains("changes applied by RFC2136 UPDATE")).expect("apply summary");
    let messages: usize =
        line.split("messages=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().parse().unwrap();
    // Each message holds about 420 record sets with their prerequisites: far below the batch
    // size, cut by the 64 KB limit.
    assert!((30..=80).contains(&messages), "20 000 record sets in {messages} messages: {line}");
    assert_eq!(dig(&server, "host-9999.example.test", "A").await, ["10.0.39.15"]);

    let before = serial(&server, "example.test").await;
    let started = Instant::now();
    once(&exodns, &args);
    assert_eq!(serial(&server, "example.test").await, before);
    eprintln!("10 000 records: first sync {first:?}, second sync {:?}", started.elapsed());
}

// ---- hand-over with the real upstream ExternalDNS v0.22.0 --------------------------------------

fn upstream_bin() -> Option<PathBuf> {
    let bin = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN");
    if bin.is_none() {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
    }
    bin
}

fn run(bin: &Path, args: &[String]) -> Output {
    let out = Command::new(bin).args(args).output().expect("run");
    assert!(out.status.success(), "{} {args:?} failed:\n{}", bin.display(), String::from_utf8_lossy(&out.stderr));
    out
}

/// Flags both tools read the same way, for zone `zone`.
fn shared_flags(kube: &KubeApiserver, server: &DnsServer, zone: &str) -> Vec<String> {
    let key = server.key("hmac-sha256");
    let mut v: Vec<String> =
        ["--source=service", "--provider=rfc2136", "--policy=sync", "--registry=txt", "--rfc2136-axfr"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    v.extend([
        format!("--txt-owner-id={OWNER}"),
        format!("--kubeconfig={}", kube.kubeconfig_path().display()),
        format!("--domain-filter={zone}"),
        format!("--rfc2136-zone={zone}"),
        format!("--rfc2136-host={}", server.addr()),
        format!("--rfc2136-port={}", server.port()),
        format!("--rfc2136-tsig-keyname={}", key.name),
        format!("--rfc2136-tsig-secret={}", key.secret),
        "--rfc2136-tsig-secret-alg=hmac-sha256".into(),
        "--once".into(),
        format!("--metrics-address=127.0.0.1:{}", free_port()),
    ]);
    v
}

fn service(kube: &KubeApiserver, name: &str, hosts: &str, status: &str) {
    kube.apply_yaml(&format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {hosts}\nspec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
    ))
    .unwrap();
    kube.patch_status(
        "default",
        "service",
        name,
        &format!("{{\"status\":{{\"loadBalancer\":{{\"ingress\":[{status}]}}}}}}"),
    )
    .unwrap();
}

/// Upstream v0.22.0 publishes a zone (TTL 0 on every record: it writes no default TTL), then
/// exodns with the same owner plans nothing and writes nothing; and the other way round on a
/// second zone: exodns publishes, upstream writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_hand_over_with_upstream_both_ways() {
    let Some(exodns) = exodns_bin() else { return };
    let Some(upstream) = upstream_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let opts = DnsServerOptions { zones: vec!["example.test".into(), "other.test".into()], tls: false };
    let Some(server) = DnsServer::start_or_skip(Flavor::Bind, opts) else { return };
    for (zone, tag) in [("example.test", "a"), ("other.test", "b")] {
        service(&kube, &format!("web-{tag}"), &format!("web.{zone}"), "{\"ip\":\"192.0.2.10\"}");
        service(
            &kube,
            &format!("lb-{tag}"),
            &format!("lb.{zone},alias.{zone}"),
            "{\"hostname\":\"lb-1.cloud.example.net\"}",
        );
    }

    // Upstream first.
    run(&upstream, &shared_flags(&kube, &server, "example.test"));
    assert_eq!(dig(&server, "web.example.test", "A").await, ["192.0.2.10"], "upstream did not publish");
    assert_eq!(dig(&server, "alias.example.test", "CNAME").await, ["lb-1.cloud.example.net."]);
    let ttls: Vec<u32> = zone(&server, "example.test").iter().filter(|r| r.0.contains("web")).map(|r| r.2).collect();
    assert_eq!(ttls, [0, 0], "upstream writes TTL 0 (record and ownership TXT)");
    let before = serial(&server, "example.test").await;
    let mut plan = vec!["plan".to_owned(), "--color=never".to_owned()];
    plan.extend(shared_flags(&kube, &server, "example.test").into_iter().filter(|f| f != "--once"));
    let text = String::from_utf8_lossy(&run(&exodns, &plan).stdout).into_owned();
    assert!(text.contains("0 to create, 0 to update, 0 to delete"), "exodns would change upstream's zone:\n{text}");
    assert!(!text.contains("not touching"), "exodns sees upstream's records as foreign:\n{text}");
    run(&exodns, &shared_flags(&kube, &server, "example.test"));
    assert_eq!(serial(&server, "example.test").await, before, "exodns wrote to upstream's zone");

    // exodns first.
    run(&exodns, &shared_flags(&kube, &server, "other.test"));
    assert_eq!(dig(&server, "web.other.test", "A").await, ["192.0.2.10"]);
    let before = serial(&server, "other.test").await;
    let out = run(&upstream, &shared_flags(&kube, &server, "other.test"));
    assert_eq!(
        serial(&server, "other.test").await,
        before,
        "upstream wrote to exodns's zone:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And exodns owns what upstream wrote: a change goes through.
    kube.patch_status(
        "default",
        "service",
        "web-a",
        "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.11\"}]}}}",
    )
    .unwrap();
    run(&exodns, &shared_flags(&kube, &server, "example.test"));
    assert_eq!(dig(&server, "web.example.test", "A").await, ["192.0.2.11"]);
}
