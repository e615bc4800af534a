//! Operations against a real kube-apiserver and PowerDNS: leader election between two exodns
//! processes, and what `/healthz` and `/readyz` say while the apiserver is away.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions};
use exodns_testbed::{dns_query, require_peers};

const ZONE: &str = "example.org";

/// The exodns binary cargo built next to this test binary (or `EXODNS_BIN`).
fn exodns_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EXODNS_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("exodns");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(!require_peers(), "the exodns binary is not built at {}", bin.display());
    eprintln!("NOTICE: skipping: exodns binary not built");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Status code and body of a plain HTTP GET on loopback; `None` when nothing listens.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((code, body))
}

/// A metric's value from `/metrics` (0 when absent).
fn metric(port: u16, line_prefix: &str) -> f64 {
    let Some((_, body)) = http_get(port, "/metrics") else { return 0.0 };
    body.lines()
        .filter(|l| l.starts_with(line_prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One exodns process, killed (SIGKILL) on drop.
struct Replica {
    child: Child,
    metrics_port: u16,
    log: PathBuf,
}

impl Replica {
    fn start(bin: &Path, name: &str, kube: &KubeApiserver, pdns: &Pdns, extra: &[&str], log_dir: &Path) -> Replica {
        let metrics_port = free_port();
        let log = log_dir.join(format!("{name}.log"));
        let child = Command::new(bin)
            .args([
                "--source=service",
                "--provider=pdns",
                "--policy=sync",
                "--txt-owner-id=ops-test",
                "--interval=1m",
                "--kube-api-qps=50",
                "--kube-api-burst=100",
            ])
            .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
            .arg(format!("--pdns-server={}", pdns.api_url()))
            .arg(format!("--metrics-address=127.0.0.1:{metrics_port}"))
            .args(extra)
            .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
            .env("POD_NAME", name)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start exodns");
        Replica { child, metrics_port, log }
    }

    fn is_leader(&self) -> bool {
        metric(self.metrics_port, "exodns_leader") == 1.0
    }

    /// Calls this replica made to PowerDNS (reads and writes).
    fn provider_calls(&self) -> f64 {
        metric(self.metrics_port, "exodns_provider_requests_total")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn service_yaml(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {name}.{ZONE}\nspec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
    )
}

fn publish_service(kube: &KubeApiserver, name: &str, ip: &str) {
    kube.apply_yaml(&service_yaml(name)).expect("create service");
    kube.patch_status("default", "service", name, &format!(r#"{{"status":{{"loadBalancer":{{"ingress":[{{"ip":"{ip}"}}]}}}}}}"#))
        .expect("patch status");
}

async fn answers(pdns: &Pdns, name: &str) -> Vec<String> {
    dns_query(pdns.dns_addr(), pdns.dns_port(), name, "A").await.unwrap_or_default()
}

async fn wait_for_answer(pdns: &Pdns, name: &str, want: &str, deadline: Duration, logs: &dyn Fn() -> String) -> Duration {
    let start = Instant::now();
    loop {
        if answers(pdns, name).await == [want] {
            return start.elapsed();
        }
        assert!(start.elapsed() < deadline, "{name} did not answer {want} within {deadline:?}; logs:\n{}", logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn wait_until(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_writer_and_takeover_after_kill_9() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    publish_service(&kube, "one", "203.0.113.1");
    let logs_dir = tempfile::tempdir().unwrap();

    let lease = Duration::from_secs(4);
    let election = [
        "--leader-election",
        "--leader-election-namespace=default",
        "--leader-election-lease-duration=4s",
        "--leader-election-renew-deadline=3s",
        "--leader-election-retry-period=500ms",
    ];
    let a = Replica::start(&bin, "replica-a", &kube, &pdns, &election, logs_dir.path());
    let b = Replica::start(&bin, "replica-b", &kube, &pdns, &election, logs_dir.path());
    let logs = || format!("--- a ---\n{}\n--- b ---\n{}", a.log(), b.log());
    wait_for_answer(&pdns, "one.example.org", "203.0.113.1", Duration::from_secs(30), &logs).await;

    // Exactly one leader, and only it has talked to PowerDNS.
    wait_until("one leader", Duration::from_secs(10), || a.is_leader() != b.is_leader());
    let (mut leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert!(leader.provider_calls() >= 2.0, "the leader read and wrote");
    assert_eq!(follower.provider_calls(), 0.0, "the follower talked to PowerDNS:\n{}", follower.log());
    let holder = kube.kubectl(&["get", "lease", "exodns", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}"], None).unwrap();
    assert!(holder.starts_with(if leader.log.ends_with("replica-a.log") { "replica-a-" } else { "replica-b-" }), "{holder}");

    // The leader dies without releasing the lease; a new Service appears.
    leader.kill9();
    let killed = Instant::now();
    publish_service(&kube, "two", "203.0.113.2");
    let flogs = || follower.log();
    wait_for_answer(&pdns, "two.example.org", "203.0.113.2", Duration::from_secs(30), &flogs).await;
    let took = killed.elapsed();
    // The lease must run out (4 s, plus the retry period), then one full sync.
    let bound = lease + Duration::from_secs(6);
    assert!(took <= bound, "takeover took {took:?}, more than {bound:?}:\n{}", follower.log());
    assert!(follower.is_leader());

    // Nothing lost, nothing twice: each name has its one A and its one ownership TXT.
    for (name, ip) in [("one", "203.0.113.1"), ("two", "203.0.113.2")] {
        assert_eq!(answers(&pdns, &format!("{name}.{ZONE}")).await, [ip]);
        let txt = dns_query(pdns.dns_addr(), pdns.dns_port(), &format!("a-{name}.{ZONE}"), "TXT").await.unwrap();
        assert_eq!(txt.len(), 1, "{name}: {txt:?}");
        assert!(txt[0].contains("owner=ops-test"), "{txt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_the_apiserver_is_away_yet_alive_then_ready() {
    let Some(bin) = exodns_bin() else { return };
    let Some(mut kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    publish_service(&kube, "web", "203.0.113.9");
    kube.stop_apiserver().expect("stop apiserver");
    let logs_dir = tempfile::tempdir().unwrap();
    let r = Replica::start(&bin, "lonely", &kube, &pdns, &[], logs_dir.path());

    wait_until("the ops endpoint", Duration::from_secs(20), || http_get(r.metrics_port, "/healthz").is_some());
    // Give it a few seconds without an apiserver: alive, not ready, still running.
    for _ in 0..6 {
        let (live, body) = http_get(r.metrics_port, "/healthz").unwrap();
        assert_eq!(live, 200, "{body}");
        let (ready, body) = http_get(r.metrics_port, "/readyz").unwrap();
        assert_eq!(ready, 503, "ready without an apiserver: {body}");
        assert!(body.contains("waiting for the first list"), "{body}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let back = Instant::now();
    kube.start_apiserver().expect("start apiserver");
    wait_until("ready", Duration::from_secs(60), || http_get(r.metrics_port, "/readyz").is_some_and(|(c, _)| c == 200));
    let took = back.elapsed();
    assert!(took < Duration::from_secs(30), "ready {took:?} after the apiserver came back:\n{}", r.log());
    assert_eq!(answers(&pdns, "web.example.org").await, ["203.0.113.9"], "{}", r.log());
}

/// Events of `events.k8s.io` regarding `name`, as (reason, note).
fn events_for(kube: &KubeApiserver, name: &str) -> Vec<(String, String)> {
    let json = kube.kubectl(&["get", "events.events.k8s.io", "-n", "default", "-o", "json"], None).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["regarding"]["name"] == name && e["reportingController"] == "exodns")
        .map(|e| (e["reason"].as_str().unwrap_or("").to_owned(), e["note"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tell_application_teams_what_happened() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    // A name another ExternalDNS owns.
    pdns.patch_rrsets(
        ZONE,
        serde_json::json!([
            {"name": "taken.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "198.51.100.1", "disabled": false}]},
            {"name": "a-taken.example.org.", "type": "TXT", "ttl": 60, "changetype": "REPLACE",
             "records": [{"content": "\"heritage=external-dns,external-dns/owner=blue\"", "disabled": false}]}
        ]),
    )
    .await
    .expect("foreign records");
    publish_service(&kube, "good", "203.0.113.20");
    publish_service(&kube, "taken", "203.0.113.21");
    kube.apply_yaml(&service_yaml("badttl").replace("annotations:\n", "annotations:\n    external-dns.kubernetes.io/ttl: soon\n"))
        .unwrap();
    kube.patch_status("default", "service", "badttl", r#"{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.22"}]}}}"#).unwrap();

    let logs_dir = tempfile::tempdir().unwrap();
    let r = Replica::start(&bin, "events", &kube, &pdns, &[], logs_dir.path());
    let logs = || r.log();
    wait_for_answer(&pdns, "good.example.org", "203.0.113.20", Duration::from_secs(30), &logs).await;
    // The invalid TTL is reported, and the record still published (without the TTL).
    wait_for_answer(&pdns, "badttl.example.org", "203.0.113.22", Duration::from_secs(30), &logs).await;
    assert_eq!(answers(&pdns, "taken.example.org").await, ["198.51.100.1"], "took over a foreign name");

    let has = |name: &str, reason: &str, needle: &str| {
        events_for(&kube, name).iter().any(|(r, n)| r == reason && n.contains(needle))
    };
    wait_until("Published on good", Duration::from_secs(20), || has("good", "Published", "good.example.org"));
    wait_until("InvalidInput on badttl", Duration::from_secs(20), || has("badttl", "InvalidInput", "ttl"));
    wait_until("OwnerConflict on taken", Duration::from_secs(20), || has("taken", "OwnerConflict", "\"blue\""));

    // Metrics count the refused input.
    assert!(metric(r.metrics_port, "exodns_invalid_endpoints_total{kind=\"ttl\"}") >= 1.0, "{}", r.log());
    assert_eq!(metric(r.metrics_port, "external_dns_source_invalid_endpoints"), 1.0);
    assert!(metric(r.metrics_port, "exodns_owner_conflicts_total") >= 1.0);

    // Recomputing the object again (a label change) does not repeat the same event.
    kube.kubectl(&["label", "service", "badttl", "touched=yes"], None).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let invalid = events_for(&kube, "badttl").into_iter().filter(|(r, _)| r == "InvalidInput").count();
    assert_eq!(invalid, 1, "{:?}\n{}", events_for(&kube, "badttl"), r.log());
}
