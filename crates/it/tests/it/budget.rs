//! The deletion budget against a real kube-apiserver and PowerDNS: a mass delete is held (and
//! said so), objects restored meanwhile lose nothing, the rest goes after the grace; `off`
//! deletes at once; `upsert-only` is unaffected.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, free_port, wait_until_async};

use crate::common::{apply, http_get, kubectl, metric_sum};

const ZONE: &str = "example.org";
const INTERVAL: Duration = Duration::from_secs(3);

/// Services `s0` … `s{n-1}` from `from`: LoadBalancer Services whose target annotation gives
/// their address (no load-balancer controller needed), labelled by group of 20.
fn services(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\n  namespace: default\n  labels: {{group: g{}}}\n  annotations:\n    external-dns.kubernetes.io/hostname: s{i}.example.org\n    external-dns.kubernetes.io/target: 192.0.2.{}\nspec: {{type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{{port: 80}}]}}\n",
                i / 20,
                i % 250 + 1
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn start(bin: &Path, kube: &KubeApiserver, pdns: &Pdns, extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--source=service", "--provider=pdns", "--txt-owner-id=budget", "--kube-api-qps=100"])
        .arg(format!("--interval={}s", INTERVAL.as_secs()))
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--metrics-address=127.0.0.1:{port}"))
        .args(extra)
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "info");
    (Proc::spawn("exodns", &mut cmd), port)
}

/// The A records of the zone, by name.
async fn a_records(pdns: &Pdns) -> Vec<String> {
    let rrsets = pdns.rrsets(ZONE).await.expect("zone");
    rrsets.keys().filter(|(_, t)| t == "A").map(|(n, _)| n.trim_end_matches('.').to_owned()).collect()
}

async fn serial(pdns: &Pdns) -> u64 {
    pdns.get_zone(ZONE).await.expect("zone")["serial"].as_u64().expect("serial")
}

fn metrics(port: u16) -> String {
    http_get(port, "/metrics").map(|(_, body)| body).unwrap_or_default()
}

fn ready(port: u16) -> bool {
    http_get(port, "/readyz").is_some_and(|(code, _)| code == 200)
}

async fn setup() -> Option<(std::path::PathBuf, KubeApiserver, Pdns)> {
    let bin = exodns_bin()?;
    let kube = KubeApiserver::start_or_skip()?;
    let pdns = Pdns::start_or_skip(PdnsOptions::default())?;
    pdns.create_zone(ZONE).await.expect("zone");
    apply(&kube, &services(0, 100));
    Some((bin, kube, pdns))
}

/// Delete 80 of 100 Services: nothing is deleted and the hold is reported (log, metric), the
/// controller stays ready; 40 come back within the grace: no record lost, no write at all;
/// after the grace the other 40 go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_delete_is_held_restores_lose_nothing_and_the_rest_goes_after_the_grace() {
    let Some((bin, kube, pdns)) = setup().await else { return };
    // Long enough to restore 40 Services on a loaded machine; the default is 3 intervals.
    let grace = Duration::from_secs(20);
    let (x, port) = start(&bin, &kube, &pdns, &["--policy=sync", "--deletion-grace=20s"]);
    let log = || x.log();
    wait_records(&pdns, 100, Duration::from_secs(60), log).await;
    let before = serial(&pdns).await;

    // Groups g0..g3 are s0..s79. No deletion can be wanted before this instant.
    let deleting = Instant::now();
    kubectl(&kube, &["-n", "default", "delete", "service", "-l", "group in (g0,g1,g2,g3)", "--wait=false"]);
    let held = || metric_sum(&metrics(port), "exodns_deletions_held", &["zone=\"example.org\""]);
    wait_until_async("the hold reported", Duration::from_secs(15), || held() == 80.0).await;

    // 40 come back within the grace (s0..s39).
    apply(&kube, &services(0, 40));
    assert!(deleting.elapsed() < grace, "the test was too slow to restore within the grace");
    wait_until_async("40 still held", Duration::from_secs(10), || held() == 40.0).await;
    assert!(log().contains("deletion budget exceeded"), "{}", log());
    assert_eq!(a_records(&pdns).await.len(), 100, "{}", log());
    assert!(ready(port), "/readyz must stay ready while deletions are held");
    assert_eq!(pdns.answers("s5.example.org", "A").await, ["192.0.2.6"], "answered by DNS");
    assert_eq!(pdns.answers("s60.example.org", "A").await, ["192.0.2.61"], "answered by DNS");
    assert_eq!(serial(&pdns).await, before, "no write while held and restored:\n{}", log());

    // After the grace the other 40 go, with their TXT records.
    wait_records(&pdns, 60, grace + Duration::from_secs(15), log).await;
    assert!(deleting.elapsed() >= grace, "deleted before the grace: {:?}", deleting.elapsed());
    let left = a_records(&pdns).await;
    assert!(left.contains(&"s0.example.org".to_owned()) && left.contains(&"s99.example.org".to_owned()));
    assert!(!left.contains(&"s40.example.org".to_owned()));
    assert!(pdns.answers("s40.example.org", "A").await.is_empty());
    assert!(pdns.answers("a-s40.example.org", "TXT").await.is_empty());
    assert_eq!(held(), 0.0);
}

/// `--deletion-budget=off` deletes at once; `upsert-only` never deletes and reports no hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_off_deletes_at_once_and_upsert_only_is_unaffected() {
    let Some((bin, kube, pdns)) = setup().await else { return };
    let (x, port) = start(&bin, &kube, &pdns, &["--policy=upsert-only"]);
    wait_records(&pdns, 100, Duration::from_secs(60), || x.log()).await;
    kubectl(&kube, &["-n", "default", "delete", "service", "-l", "group in (g0,g1,g2,g3)", "--wait=false"]);
    apply(&kube, &services(100, 101));
    wait_records(&pdns, 101, Duration::from_secs(10), || x.log()).await;
    assert_eq!(metric_sum(&metrics(port), "exodns_deletions_held", &[]), 0.0, "{}", x.log());
    drop(x);

    let (x, _) = start(&bin, &kube, &pdns, &["--policy=sync", "--deletion-budget=off"]);
    wait_records(&pdns, 21, Duration::from_secs(30), || x.log()).await;
    assert!(!x.log().contains("deletion budget exceeded"), "{}", x.log());
}

/// Waits until the zone has `n` A records.
async fn wait_records(pdns: &Pdns, n: usize, limit: Duration, log: impl Fn() -> String) {
    let started = Instant::now();
    loop {
        let got = a_records(pdns).await.len();
        if got == n {
            return;
        }
        assert!(started.elapsed() < limit, "{got} A records, not {n}, after {limit:?}; log:\n{}", log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
