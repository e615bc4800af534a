//! Operations against a real kube-apiserver and PowerDNS: leader election between two exodns
//! processes, what `/healthz` and `/readyz` say while the apiserver is away, and the error
//! counters of `/metrics` while a CRD is missing or PowerDNS is down.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, free_port, wait_until};

use crate::common::{
    apply, events_for, http_get, lb_service_annotated, lb_status, metric_sum, patch_status, publish_lb,
};

const ZONE: &str = "example.org";

/// A metric's value from `/metrics` (0 when absent).
fn metric(port: u16, line_prefix: &str) -> f64 {
    http_get(port, "/metrics").map_or(0.0, |(_, body)| metric_sum(&body, line_prefix, &[]))
}

/// One exodns process, killed (SIGKILL) on drop.
struct Replica {
    proc: Proc,
    metrics_port: u16,
}

impl Replica {
    fn start(bin: &Path, name: &str, kube: &KubeApiserver, pdns: &Pdns, extra: &[&str]) -> Replica {
        let metrics_port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args([
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
        .env("RUST_LOG", "info");
        Replica { proc: Proc::spawn(name, &mut cmd), metrics_port }
    }

    fn is_leader(&self) -> bool {
        metric(self.metrics_port, "exodns_leader") == 1.0
    }

    /// Calls this replica made to PowerDNS (reads and writes).
    fn provider_calls(&self) -> f64 {
        metric(self.metrics_port, "exodns_provider_requests_total")
    }

    fn log(&self) -> String {
        self.proc.log()
    }

    fn kill9(&mut self) {
        self.proc.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_writer_and_takeover_after_kill_9() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    publish_lb(&kube, "default", "one", "203.0.113.1");

    let lease = Duration::from_secs(4);
    let election = [
        "--leader-election",
        "--leader-election-namespace=default",
        "--leader-election-lease-duration=4s",
        "--leader-election-renew-deadline=3s",
        "--leader-election-retry-period=500ms",
    ];
    let a = Replica::start(&bin, "replica-a", &kube, &pdns, &election);
    let b = Replica::start(&bin, "replica-b", &kube, &pdns, &election);
    let logs = || format!("--- a ---\n{}\n--- b ---\n{}", a.log(), b.log());
    pdns.wait_for_answers("one.example.org", "A", &["203.0.113.1"], Duration::from_secs(30), logs).await;

    // Exactly one leader, and only it has talked to PowerDNS.
    wait_until("one leader", Duration::from_secs(10), || a.is_leader() != b.is_leader());
    let (mut leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert!(leader.provider_calls() >= 2.0, "the leader read and wrote");
    assert_eq!(follower.provider_calls(), 0.0, "the follower talked to PowerDNS:\n{}", follower.log());
    let holder = kube
        .kubectl(&["get", "lease", "exodns", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}"], None)
        .unwrap();
    assert!(holder.starts_with(&format!("{}-", leader.proc.name())), "{holder}");

    // The leader dies without releasing the lease; a new Service appears.
    leader.kill9();
    let killed = Instant::now();
    publish_lb(&kube, "default", "two", "203.0.113.2");
    pdns.wait_for_answers("two.example.org", "A", &["203.0.113.2"], Duration::from_secs(30), || follower.log()).await;
    let took = killed.elapsed();
    // The lease must run out (4 s, plus the retry period), then one full sync.
    let bound = lease + Duration::from_secs(6);
    assert!(took <= bound, "takeover took {took:?}, more than {bound:?}:\n{}", follower.log());
    assert!(follower.is_leader());

    // Nothing lost, nothing twice: each name has its one A and its one ownership TXT.
    for (name, ip) in [("one", "203.0.113.1"), ("two", "203.0.113.2")] {
        assert_eq!(pdns.answers(&format!("{name}.{ZONE}"), "A").await, [ip]);
        let txt = pdns.dig(&format!("a-{name}.{ZONE}"), "TXT").await.unwrap();
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
    publish_lb(&kube, "default", "web", "203.0.113.9");
    kube.stop_apiserver().expect("stop apiserver");
    let r = Replica::start(&bin, "lonely", &kube, &pdns, &[]);

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
    assert_eq!(pdns.answers("web.example.org", "A").await, ["203.0.113.9"], "{}", r.log());
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
    publish_lb(&kube, "default", "good", "203.0.113.20");
    publish_lb(&kube, "default", "taken", "203.0.113.21");
    apply(&kube, &lb_service_annotated("default", "badttl", &[("external-dns.kubernetes.io/ttl", "soon")]));
    patch_status(&kube, "default", "service", "badttl", lb_status("203.0.113.22"));

    let r = Replica::start(&bin, "events", &kube, &pdns, &[]);
    let logs = || r.log();
    pdns.wait_for_answers("good.example.org", "A", &["203.0.113.20"], Duration::from_secs(30), logs).await;
    // The invalid TTL is reported, and the object publishes nothing until it is fixed (its records
    // would carry a TTL nobody asked for); the sync that published `good` has seen it.
    assert!(pdns.answers("badttl.example.org", "A").await.is_empty(), "{}", r.log());
    assert_eq!(pdns.answers("taken.example.org", "A").await, ["198.51.100.1"], "took over a foreign name");

    let has = |name: &str, reason: &str, needle: &str| {
        events_for(&kube, name).iter().any(|(r, n)| r == reason && n.contains(needle))
    };
    // The first full sync posts no "Published" (one per object in a large cluster would flood
    // the apiserver); a change an event brings does.
    assert!(!has("good", "Published", "good.example.org"), "Published on the first full sync");
    patch_status(&kube, "default", "service", "good", lb_status("203.0.113.23"));
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
    let record_events = events_for(&kube, "good").into_iter().filter(|(r, _)| r.starts_with("Record")).count();
    assert_eq!(record_events, 0, "upstream's record Events only with --events-emit");
}

/// An exodns process (killed on drop) with `args`, serving `/metrics` on the port returned.
fn spawn_exodns(bin: &Path, name: &str, args: &[String], env: &[(&str, &str)]) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--policy=sync", "--txt-owner-id=ops-test"])
        .args(args)
        .arg(format!("--metrics-address=127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .env("RUST_LOG", "info");
    let p = Proc::spawn(name, &mut cmd);
    wait_until("the ops endpoint", Duration::from_secs(20), || http_get(port, "/metrics").is_some());
    (p, port)
}

/// A source that cannot list (the cluster does not serve the DNSEndpoint CRD) moves
/// `external_dns_source_errors_total`, attempt by attempt; once the CRD is installed and the
/// source synced, it stops moving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_errors_count_the_failed_reads_of_a_missing_crd() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let args = [
        "--source=crd".to_owned(),
        "--provider=inmemory".to_owned(),
        "--interval=1s".to_owned(),
        format!("--kubeconfig={}", kube.kubeconfig_path().display()),
    ];
    let (x, port) = spawn_exodns(&bin, "missing-crd", &args, &[]);
    let errors = || metric(port, "external_dns_source_errors_total");
    wait_until("two failed reads counted", Duration::from_secs(30), || errors() >= 2.0);
    assert_eq!(metric(port, "external_dns_registry_errors_total"), 0.0, "{}", x.log());

    kube.install_crds(&["dnsendpoint"]).expect("the DNSEndpoint CRD");
    wait_until("ready once the CRD is served", Duration::from_secs(90), || {
        http_get(port, "/readyz").is_some_and(|(c, _)| c == 200)
    });
    let settled = errors();
    // A synced source fails no read: the counter holds still over three more full syncs.
    let syncs = || metric(port, "exodns_sync_duration_seconds_count");
    let synced_before = syncs();
    wait_until("three more syncs", Duration::from_secs(30), || syncs() >= synced_before + 3.0);
    assert_eq!(errors(), settled, "{}", x.log());
}

/// A registry that cannot read (PowerDNS is down) moves `external_dns_registry_errors_total`,
/// sync by sync; the source's counter does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_errors_count_the_failed_reads_of_a_powerdns_that_is_down() {
    let Some(bin) = exodns_bin() else { return };
    let Some(mut pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let args = [
        "--source=manifest".to_owned(),
        format!("--manifest-path={}", examples.display()),
        "--provider=pdns".to_owned(),
        format!("--pdns-server={}", pdns.api_url()),
        "--interval=1s".to_owned(),
    ];
    let (x, port) = spawn_exodns(&bin, "pdns-down", &args, &[("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())]);
    let logs = || x.log();
    pdns.wait_for_answers("web.example.org", "A", &["203.0.113.10"], Duration::from_secs(30), logs).await;
    let errors = || metric(port, "external_dns_registry_errors_total");
    assert_eq!(errors(), 0.0, "{}", x.log());

    pdns.stop().expect("stop PowerDNS");
    wait_until("two failed reads counted", Duration::from_secs(60), || errors() >= 2.0);
    assert_eq!(metric(port, "external_dns_source_errors_total"), 0.0, "{}", x.log());
    // Each failed read is a failed sync too.
    assert!(metric(port, "external_dns_controller_consecutive_soft_errors") >= 2.0, "{}", x.log());
    assert!(x.log().contains("full sync failed"), "{}", x.log());
}

/// `--events-emit`: upstream's per-record Events, with upstream's reasons and notes, on the
/// objects the records belong to — `RecordReady` on the first full sync too (as upstream),
/// `RecordDeleted` when an object stops wanting a record, `RecordError` for a record PowerDNS
/// refuses (a CNAME beside a hand-made TXT; the rest of the sync goes on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_emit_posts_upstreams_record_events() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    publish_lb(&kube, "default", "ready", "203.0.113.30");
    // A CNAME beside a hand-made TXT (a type exodns does not manage): PowerDNS refuses it.
    pdns.put_rrset(ZONE, "lost.example.org", "TXT", 300, &["\"made by hand\""]).await.unwrap();
    apply(&kube, &lb_service_annotated("default", "lost", &[]));
    let lb = serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.net"}]}}});
    patch_status(&kube, "default", "service", "lost", lb);
    let all = ["--events-emit=RecordReady", "--events-emit=RecordDeleted,RecordError"];
    let r = Replica::start(&bin, "events-emit", &kube, &pdns, &all);
    pdns.wait_for_answers("ready.example.org", "A", &["203.0.113.30"], Duration::from_secs(30), || r.log()).await;

    let has =
        |name: &str, reason: &str, note: &str| events_for(&kube, name).iter().any(|(r, n)| r == reason && n == note);
    let ready = "(external-dns) record:ready.example.org,owner:ops-test,type:A,ttl:0,targets:203.0.113.30";
    wait_until("RecordReady on ready", Duration::from_secs(20), || has("ready", "RecordReady", ready));
    let lost = "(external-dns) record:lost.example.org,owner:ops-test,type:CNAME,ttl:0,targets:lb.example.net";
    let why = || format!("{:?}\n{}", events_for(&kube, "lost"), r.log());
    exodns_testbed::wait_until_log(
        "RecordError on lost",
        Duration::from_secs(20),
        || has("lost", "RecordError", lost),
        why,
    );
    assert!(!events_for(&kube, "lost").iter().any(|(r, _)| r == "RecordReady"), "{}", r.log());

    // The object now wants another name: its old record goes, and the object is told.
    kube.kubectl(
        &["annotate", "--overwrite", "service", "ready", "external-dns.kubernetes.io/hostname=moved.example.org"],
        None,
    )
    .unwrap();
    pdns.wait_for_answers("moved.example.org", "A", &["203.0.113.30"], Duration::from_secs(30), || r.log()).await;
    wait_until("RecordDeleted on ready", Duration::from_secs(20), || {
        events_for(&kube, "ready").iter().any(|(r, n)| r == "RecordDeleted" && n.contains("record:ready.example.org,"))
    });
}
