//! When exodns writes after a change (`--min-event-sync-interval`, a leading-edge debounce): the
//! `exodns` binary against a real kube-apiserver and a real PowerDNS, writes counted in
//! PowerDNS's own request log.

use std::collections::BTreeMap;
use std::time::Duration;

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, exodns_bin, wait_until_async, wait_until_checked};

use crate::common::{apply, lb_service};
use crate::kube_e2e::start_exodns;

const ZONE: &str = "example.org";
const SERVICES: usize = 500;
/// Far longer than a sync takes here, so that waiting for it would show.
const INTERVAL: Duration = Duration::from_secs(5);

/// `(name, status patch)` giving Service `s<i>` the address `<prefix>.<i / 256>.<i % 256>`.
fn statuses(prefix: &str, range: std::ops::Range<usize>) -> Vec<(String, String)> {
    range
        .map(|i| {
            let ip = format!("{prefix}.{}.{}", i / 256, i % 256);
            (format!("s{i}"), format!(r#"{{"status":{{"loadBalancer":{{"ingress":[{{"ip":"{ip}"}}]}}}}}}"#))
        })
        .collect()
}

/// Services `s<i>` whose A record in PowerDNS has the address of `prefix`.
async fn published(pdns: &Pdns, prefix: &str) -> usize {
    let rrsets: BTreeMap<(String, String), Vec<String>> = pdns.rrsets(ZONE).await.unwrap_or_default();
    (0..SERVICES)
        .filter(|i| {
            let want = format!("{prefix}.{}.{}", i / 256, i % 256);
            rrsets.get(&(format!("s{i}.{ZONE}."), "A".to_owned())).is_some_and(|c| c == &[want])
        })
        .count()
}

/// exodns's incremental syncs that wrote something, from its log.
fn incremental_writes(log: &str) -> usize {
    log.lines().filter(|l| l.contains("sync applied") && l.contains("kind=\"incremental\"")).count()
}

/// With a 5 s `--min-event-sync-interval`: a change that finds exodns idle is written at once,
/// well within the interval; 500 changes made as fast as the apiserver takes them (a burst within
/// the interval) are written in at most 3 PATCHes (the first change at once, the rest together).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_an_isolated_change_is_written_at_once_a_burst_in_three_patches() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions { log_requests: true, ..Default::default() }) else { return };
    pdns.create_zone(ZONE).await.unwrap();
    let services: Vec<String> = (0..SERVICES).map(|i| lb_service("default", &format!("s{i}"))).collect();
    apply(&kube, &services.join("---\n"));
    kube.patch_statuses("default", "services", statuses("10.1", 0..SERVICES), 8).await.unwrap();

    let interval = format!("--min-event-sync-interval={}s", INTERVAL.as_secs());
    let exodns = start_exodns(
        &bin,
        kube.kubeconfig_path(),
        &pdns,
        &["--source=service", "--policy=sync", "--domain-filter=example.org", "--interval=10m", &interval],
    );
    wait_until_checked("the 500 Services published", Duration::from_secs(120), || async {
        published(&pdns, "10.1").await == SERVICES
    })
    .await;
    let patches = || pdns.api_requests("PATCH");

    // One change, exodns idle: answered long before the interval would have passed.
    let before = (patches(), incremental_writes(&exodns.log()));
    kube.patch_statuses("default", "services", statuses("10.2", 0..1), 1).await.unwrap();
    let took = pdns.wait_for_answers(&format!("s0.{ZONE}"), "A", &["10.2.0.0"], INTERVAL * 2, || exodns.log()).await;
    assert!(took < INTERVAL * 3 / 4, "an isolated change waited {took:?}, as if for the {INTERVAL:?} interval");
    wait_until_async("exodns's write and PowerDNS's PATCH", Duration::from_secs(10), || {
        (patches(), incremental_writes(&exodns.log())) == (before.0 + 1, before.1 + 1)
    })
    .await;

    // The burst: every Service again, 16 requests in flight.
    let before = (patches(), incremental_writes(&exodns.log()));
    let span = kube.patch_statuses("default", "services", statuses("10.3", 0..SERVICES), 16).await.unwrap();
    assert!(span < INTERVAL, "the 500 status changes took {span:?}: no burst within the interval");
    let took = wait_until_checked("the burst published", INTERVAL * 4, || async {
        published(&pdns, "10.3").await == SERVICES
    })
    .await;
    // Each write exodns logs is one PATCH PowerDNS logs (one zone, bodies far under its limit).
    let mut counts = (0, 0);
    wait_until_async("PowerDNS's PATCHes match exodns's writes", Duration::from_secs(10), || {
        counts = (patches() - before.0, incremental_writes(&exodns.log()) - before.1);
        counts.0 == counts.1
    })
    .await;
    eprintln!("burst of {SERVICES} changes in {span:?}: {} PATCHes, published {took:?} after", counts.0);
    assert!((1..=3).contains(&counts.0), "{SERVICES} changes within {span:?} took {} PATCHes", counts.0);
}
