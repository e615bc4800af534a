//! Cloudflare and Hetzner at scale, against their fakes (without Prism: the tools are measured).
//!
//! Cloudflare: exodns and upstream ExternalDNS v0.22.0 read the same N endpoints from one
//! DNSEndpoint in a real kube-apiserver (`--source=crd`) and publish them, each into a fresh fake
//! with an empty zone; then an idle sync. Hetzner: exodns alone (upstream has no Hetzner
//! provider), from the manifest, as the Google and Azure runs.

use std::path::Path;
use std::process::Command;

use exodns_testbed::fake::RequestRecord;
use exodns_testbed::fake::cloudflare::{Access, CloudflareFake};
use exodns_testbed::fake::hetzner::{self, HetznerFake};
use exodns_testbed::kube::{KubeApiserver, peer_binary};

use crate::{Runs, base, manifest, run};

const TOKEN: &str = "bench-token";
const ZONE: &str = "bench.test";

/// How many of `reqs` are `method` on a path ending in `suffix`.
fn count(reqs: &[RequestRecord], method: &str, suffix: &str) -> f64 {
    reqs.iter().filter(|r| r.method == method && r.path.ends_with(suffix)).count() as f64
}

/// A kube-apiserver holding one DNSEndpoint with `n` A endpoints (both tools read it with
/// `--source=crd`). `kubectl create`, not apply: the last-applied annotation would double the
/// object past etcd's size limit.
pub fn cluster_with_endpoints(n: usize) -> KubeApiserver {
    let kube = KubeApiserver::start_or_skip().expect("kube-apiserver (scripts/testbed/setup.sh)");
    kube.install_crds(&["dnsendpoint"]).expect("CRDs");
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), ZONE, n);
    let file = dir.path().join("desired.yaml");
    kube.kubectl(&["create", "-f", file.to_str().unwrap()], None).expect("DNSEndpoint created");
    kube
}

/// One tool's cold and idle sync of the cluster's endpoints into a fresh Cloudflare fake.
fn cloudflare_tool(bin: &Path, kube: &KubeApiserver, n: usize, owner: &str, runs: &mut Runs) {
    let fake = CloudflareFake::start();
    fake.add_token(TOKEN, Access::Edit);
    fake.add_zone(ZONE);
    let cmd = || {
        let mut c = Command::new(bin);
        c.args(["--once", "--source=crd", "--provider=cloudflare", "--policy=sync", "--registry=txt"])
            .arg(format!("--txt-owner-id={owner}"))
            .arg(format!("--domain-filter={ZONE}"))
            .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
            .arg(format!("--metrics-address=127.0.0.1:{}", exodns_testbed::free_port()))
            .env("CF_API_TOKEN", TOKEN)
            .env("CLOUDFLARE_BASE_URL", fake.base_url())
            .env_remove("RUST_LOG");
        c
    };
    let cold = run(&mut cmd());
    let reqs = fake.server().requests();
    let batches: Vec<_> = reqs.iter().filter(|r| r.path.ends_with("/batch")).collect();
    let largest = batches.iter().map(|r| {
        let j = r.json();
        ["deletes", "patches", "puts", "posts"].iter().map(|k| j[k].as_array().map_or(0, Vec::len)).sum::<usize>()
    });
    runs.add("cold sync, wall (s)", cold.as_secs_f64());
    runs.add("cold sync, requests in all", reqs.len() as f64);
    runs.add("cold sync, batch requests", batches.len() as f64);
    runs.add("cold sync, largest batch (operations)", largest.max().unwrap_or(0) as f64);
    runs.add("cold sync, record list pages", count(&reqs, "GET", "/dns_records"));
    runs.add("cold sync, zone list pages", count(&reqs, "GET", "/zones"));
    runs.add("cold sync, requests refused (non-2xx)", reqs.iter().filter(|r| r.status >= 300).count() as f64);
    let records = fake.records(ZONE);
    runs.add("records after (A + ownership TXT)", records.len() as f64);
    assert_eq!(records.iter().filter(|r| r.rtype == "A").count(), n, "{owner}: every record written");
    fake.server().clear_requests();
    let idle = run(&mut cmd());
    runs.add("idle sync, wall (s)", idle.as_secs_f64());
    runs.add("idle sync, requests", fake.server().requests().len() as f64);
}

/// Cloudflare: exodns, then upstream v0.22.0 when it is built, `rounds` times each.
pub fn cloudflare(bin: &Path, n: usize, rounds: usize) {
    let kube = cluster_with_endpoints(n);
    let upstream = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN");
    let (mut exo, mut up) = (Runs::default(), Runs::default());
    for _ in 0..rounds {
        cloudflare_tool(bin, &kube, n, "exodns", &mut exo);
        if let Some(u) = &upstream {
            cloudflare_tool(u, &kube, n, "upstream", &mut up);
        }
    }
    exo.print(&format!("Cloudflare, {n} records from one DNSEndpoint, exodns, {rounds} runs"));
    match upstream {
        Some(_) => up.print(&format!("Cloudflare, the same, upstream ExternalDNS v0.22.0, {rounds} runs")),
        None => println!("\n(upstream external-dns is not built: scripts/testbed/setup.sh)"),
    }
}

/// Hetzner: exodns's cold and idle sync of `n` records from the manifest, `rounds` times. The
/// fake's rate limit is off: the real API's budget (3 600 requests an hour) is the limit then,
/// see docs/BENCHMARKS.md.
pub fn hetzner_runs(bin: &Path, n: usize, rounds: usize) {
    let mut runs = Runs::default();
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let fake = HetznerFake::start();
        fake.add_token(TOKEN, hetzner::Access::ReadWrite);
        fake.add_zone(ZONE);
        manifest(dir.path(), ZONE, n);
        let cmd = || {
            let mut c = base(bin, dir.path());
            c.args(["--provider=hetzner", &format!("--domain-filter={ZONE}")])
                .env("HETZNER_TOKEN", TOKEN)
                .env("HCLOUD_ENDPOINT", fake.base_url());
            c
        };
        let cold = run(&mut cmd());
        let reqs = fake.server().requests();
        runs.add("cold sync, wall (s)", cold.as_secs_f64());
        runs.add("cold sync, requests in all", reqs.len() as f64);
        runs.add("cold sync, rrset creates (POST /rrsets)", count(&reqs, "POST", "/rrsets"));
        runs.add("cold sync, action polls (GET /actions)", count(&reqs, "GET", "/actions"));
        runs.add("cold sync, rrset list pages", count(&reqs, "GET", "/rrsets"));
        assert_eq!(fake.rrsets(ZONE).len(), 2 * n, "every record and its TXT written");
        fake.server().clear_requests();
        let idle = run(&mut cmd());
        runs.add("idle sync, wall (s)", idle.as_secs_f64());
        runs.add("idle sync, requests", fake.server().requests().len() as f64);
    }
    runs.print(&format!("Hetzner, {n} records, exodns, {rounds} runs"));
}
