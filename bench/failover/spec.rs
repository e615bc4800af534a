//! `failover-bench spec` and `failover-bench peer`: a change reaches the DNS answer through a
//! running exodns (`--source=failover`, watching a real kube-apiserver, writing a real PowerDNS
//! with `--pdns-dns-server`).
//!
//! - `spec`: an active-active http FailoverRecord with members 127.0.0.2 and a fresh address per
//!   run (127.0.1.N, never checked before). Each run, after a random part of a check interval,
//!   merge-patches `spec.targets` to add the fresh address (the answer holds it once PowerDNS's
//!   first check of it passed), then to remove it (the answer drops it as soon as the record
//!   changed). Time from the PATCH being sent (`curl`, whose own time is reported beside) to the
//!   first answer that shows the change.
//! - `peer`: a single-region pool (a plain A of every member: no health check in the way) that
//!   this exodns (region eu, `--interval`) renders. Another region's member `us._pool.H` (A + its
//!   ownership TXT, as that region's exodns writes it) is written through the PowerDNS API, then
//!   deleted; time from the write to the pool's answer showing it, which takes eu's next full
//!   sync (the other region's own exodns re-renders the pool at once: that path is `spec`).

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Backends, Pdns, Proc, free_port};
use serde_json::json;

use crate::{ZONE, exodns_bin, median_p95, pdns, random_below, sample, until_answers};

const HOST: &str = "app.bench.test";
const PRIMARY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// A control plane with the chart's FailoverRecord CRD and namespace `web`.
fn cluster() -> KubeApiserver {
    let kube = KubeApiserver::start().expect("kube-apiserver (scripts/testbed/setup.sh)");
    let crd =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/exodns/crds/failoverrecords.exodns.io.yaml");
    let crd = crd.to_str().expect("path");
    for args in [
        &["apply", "--server-side", "-f", crd][..],
        &["wait", "--for=condition=Established", "--timeout=60s", "crd/failoverrecords.exodns.io"],
        &["create", "namespace", "web"],
    ] {
        kube.kubectl(args, None).expect("kubectl");
    }
    kube
}

/// exodns in a loop (region and owner eu) over the cluster into `pdns`; more flags from
/// `EXODNS_EXTRA_ARGS` (whitespace-separated).
fn exodns(kube: &KubeApiserver, pdns: &Pdns, interval: &str) -> Proc {
    let mut cmd = Command::new(exodns_bin());
    cmd.args(["--source=failover", "--provider=pdns", "--policy=sync", "--txt-owner-id=eu"])
        .arg(format!("--interval={interval}"))
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--pdns-dns-server={}:{}", pdns.dns_addr(), pdns.dns_port()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .args(std::env::var("EXODNS_EXTRA_ARGS").unwrap_or_default().split_whitespace())
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "warn");
    Proc::spawn("exodns", &mut cmd)
}

fn record(spec: &str) -> String {
    format!(
        "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: app, namespace: web}}\nspec:\n  \
         hostname: {HOST}\n{spec}"
    )
}

/// Merge-patches the spec of `web/app` with `curl`; how long curl took.
fn patch_spec(kube: &KubeApiserver, spec: serde_json::Value) -> Duration {
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-sS", "-f", "-o", "/dev/null", "-X", "PATCH", "-H", "Content-Type: application/merge-patch+json"])
        .arg("--cacert")
        .arg(kube.ca_path())
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", kube.token()))
        .arg("-d")
        .arg(json!({ "spec": spec }).to_string())
        .arg(format!("{}/apis/exodns.io/v1alpha1/namespaces/web/failoverrecords/app", kube.api_url()))
        .output()
        .expect("curl");
    assert!(out.status.success(), "PATCH: {}", String::from_utf8_lossy(&out.stderr));
    started.elapsed()
}

fn ips(addrs: &[IpAddr]) -> Vec<String> {
    let mut v: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
    v.sort();
    v
}

fn targets(addrs: &[IpAddr]) -> serde_json::Value {
    addrs.iter().map(|a| json!({ "address": a.to_string() })).collect()
}

fn line(what: &str, samples: &[f64], extra: &str) -> String {
    let (m, p) = median_p95(samples);
    format!("| {what} | {:.0} ms | {:.0} ms | {} | {extra} |", m * 1e3, p * 1e3, samples.len())
}

pub async fn spec(runs: usize, check_interval: u32) {
    let pdns = pdns(check_interval).await;
    let fresh: Vec<IpAddr> = (1..=runs).map(|i| IpAddr::from([127, 0, 1, i as u8])).collect();
    let mut all = vec![PRIMARY];
    all.extend(&fresh);
    let backends = Backends::http(&all, "/healthz", "ok").expect("listeners");
    let kube = cluster();
    let x = exodns(&kube, &pdns, "1h");
    let port = backends.port();
    let check = format!("  healthCheck: {{type: http, port: {port}, timeoutSeconds: 1}}\n");
    kube.apply_yaml(&record(&format!("  placement: active-active\n  targets: [{{address: {PRIMARY}}}]\n{check}")))
        .expect("apply");
    let period = Duration::from_secs(u64::from(check_interval));
    let limit = period * 4 + Duration::from_secs(10);
    until_answers(&pdns, HOST, &ips(&[PRIMARY]), limit).await;

    let (mut adds, mut removes, mut curls) = (Vec::new(), Vec::new(), Vec::new());
    for (run, new) in fresh.iter().enumerate() {
        tokio::time::sleep(random_below(period)).await;
        let both = [PRIMARY, *new];
        let started = Instant::now();
        let c1 = patch_spec(&kube, json!({ "targets": targets(&both) }));
        until_answers(&pdns, HOST, &ips(&both), limit).await;
        let add = started.elapsed().as_secs_f64();
        tokio::time::sleep(random_below(period)).await;
        let started = Instant::now();
        let c2 = patch_spec(&kube, json!({ "targets": targets(&[PRIMARY]) }));
        until_answers(&pdns, HOST, &ips(&[PRIMARY]), limit).await;
        let remove = started.elapsed().as_secs_f64();
        sample(json!({"mode": "spec", "run": run + 1, "add": add, "remove": remove,
                      "curl_add": c1.as_secs_f64(), "curl_remove": c2.as_secs_f64()}));
        adds.push(add);
        removes.push(remove);
        curls.extend([c1.as_secs_f64(), c2.as_secs_f64()]);
    }
    assert!(!x.log().contains("SERVFAIL"), "{}", x.log());
    let (cm, _) = median_p95(&curls);
    eprintln!(
        "| spec change → DNS answer (check interval {check_interval} s) | median | p95 | runs | goal |\n|---|---:|---:|---:|---|\n{}\n{}\n\ncurl's own time (in the figures above): median {:.0} ms",
        line("remove an address", &removes, "p50 ≤ 100 ms"),
        line("add a never-checked address", &adds, &format!("p50 ≤ 100 ms + {check_interval} s")),
        cm * 1e3,
    );
}

pub async fn peer(runs: usize, interval: u32) {
    let pdns = pdns(1).await;
    let kube = cluster();
    let x = exodns(&kube, &pdns, &format!("{interval}s"));
    kube.apply_yaml(&record(&format!("  placement: single-region\n  targets: [{{address: {PRIMARY}}}]\n")))
        .expect("apply");
    let period = Duration::from_secs(u64::from(interval));
    let limit = period * 3 + Duration::from_secs(10);
    until_answers(&pdns, HOST, &ips(&[PRIMARY]), limit).await;
    // us's member as us's exodns writes it: eu's ownership TXT with owner us.
    let member = format!("us._pool.{HOST}");
    let txt_name = format!("a-us._pool.{HOST}");
    let eu_txt = pdns.rrsets(ZONE).await.expect("zone")[&(format!("a-eu._pool.{HOST}."), "TXT".to_owned())][0].clone();
    let us_txt = eu_txt.replace("external-dns/owner=eu", "external-dns/owner=us");
    assert_ne!(us_txt, eu_txt, "{eu_txt}");

    let (mut adds, mut removes) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let other = IpAddr::from([127, 0, 2, run as u8]);
        tokio::time::sleep(random_below(period)).await;
        let started = Instant::now();
        let rrsets = json!([
            {"name": format!("{member}."), "type": "A", "ttl": 30, "changetype": "REPLACE",
             "records": [{"content": other.to_string(), "disabled": false}]},
            {"name": format!("{txt_name}."), "type": "TXT", "ttl": 30, "changetype": "REPLACE",
             "records": [{"content": us_txt, "disabled": false}]},
        ]);
        pdns.patch_rrsets(ZONE, rrsets).await.expect("us's member");
        until_answers(&pdns, HOST, &ips(&[PRIMARY, other]), limit).await;
        let add = started.elapsed().as_secs_f64();
        tokio::time::sleep(random_below(period)).await;
        let started = Instant::now();
        let rrsets = json!([
            {"name": format!("{member}."), "type": "A", "changetype": "DELETE"},
            {"name": format!("{txt_name}."), "type": "TXT", "changetype": "DELETE"},
        ]);
        pdns.patch_rrsets(ZONE, rrsets).await.expect("us's member gone");
        until_answers(&pdns, HOST, &ips(&[PRIMARY]), limit).await;
        let remove = started.elapsed().as_secs_f64();
        sample(json!({"mode": "peer", "interval": interval, "run": run, "add": add, "remove": remove}));
        adds.push(add);
        removes.push(remove);
    }
    assert!(!x.log().contains("SERVFAIL"), "{}", x.log());
    let goal = format!("≤ {interval} s + 100 ms");
    eprintln!(
        "| another region's member → pool answer (eu `--interval={interval}s`) | median | p95 | runs | goal |\n|---|---:|---:|---:|---|\n{}\n{}",
        line("us's member added", &adds, &goal),
        line("us's member removed", &removes, &goal),
    );
}
