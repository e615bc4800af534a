//! Benchmark driver for failover records (issue 13): how fast DNS answers follow what happens to
//! the members and to the specs. Each mode is a module next to this file; each prints one JSON
//! line per sample on stdout and a markdown summary (median, p95) on stderr.
//!
//!   failover-bench backend [--runs N] [--intervals 1,5]
//!       a member's listener killed → the answer changes; restarted → the answer returns; for
//!       ifurlup, ifportup and hot standby, at each PowerDNS `lua-health-checks-interval`.
//!   failover-bench spec [--runs N] [--intervals 1]
//!       a FailoverRecord's spec changed on a kube-apiserver → the answer of a running exodns's
//!       record changes (an address removed; a never-checked address added).
//!   failover-bench peer [--runs N] [--sync-interval 5]
//!       another region's member written into the zone → the pool's answer (this exodns's next
//!       full sync).
//!   failover-bench scale [--runs N] [--pools 1000]
//!       POOLS pools × 3 regions: each region's first full sync, and a no-op sync with 0 writes.
//!
//! Records are published by the exodns binary (`EXODNS_BIN`, else `exodns` next to this driver:
//! `target/release/exodns` from `cargo build --release`) from a DNSEndpoint manifest whose LUA
//! entries core's renderer made — the content exodns writes for a FailoverRecord. PowerDNS and the
//! members (listeners on 127.0.0.2–.4) come from the test bed (`exodns-testbed`).

mod backend;
mod scale;
mod spec;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::{Pdns, PdnsOptions, free_port};

/// The zone every mode publishes into.
pub const ZONE: &str = "bench.test";

struct Args {
    mode: String,
    runs: usize,
    intervals: Vec<u32>,
    sync_interval: u32,
    pools: usize,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a =
        Args { mode: it.next().unwrap_or_default(), runs: 20, intervals: vec![1, 5], sync_interval: 5, pools: 1000 };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => a.runs = value.parse().expect("--runs"),
            "--intervals" => a.intervals = value.split(',').map(|v| v.trim().parse().expect("--intervals")).collect(),
            "--sync-interval" => a.sync_interval = value.parse().expect("--sync-interval"),
            "--pools" => a.pools = value.parse().expect("--pools"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    match a.mode.as_str() {
        "backend" => backend::run(a.runs, &a.intervals).await,
        "spec" => spec::spec(a.runs, a.intervals[0]).await,
        "peer" => spec::peer(a.runs, a.sync_interval).await,
        "scale" => scale::run(a.runs, a.pools).await,
        other => {
            eprintln!(
                "usage: failover-bench backend|spec|peer|scale [--runs N] [--intervals 1,5] [--sync-interval 5] [--pools 1000]  (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}

/// A fresh PowerDNS (LUA records on, health checks every `interval` s) holding [`ZONE`].
pub async fn pdns(interval: u32) -> Pdns {
    let pdns = Pdns::start_with(PdnsOptions { lua_health_check_interval: Some(interval), ..PdnsOptions::default() })
        .expect("start pdns_server (scripts/testbed/apt-deps.sh)");
    pdns.create_zone(ZONE).await.expect("zone");
    pdns
}

/// The exodns binary: `EXODNS_BIN`, else `exodns` beside this driver.
pub fn exodns_bin() -> PathBuf {
    let bin = std::env::var_os("EXODNS_BIN").map(PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe().expect("current exe").parent().expect("its directory").join("exodns")
    });
    assert!(bin.is_file(), "no exodns binary at {} (cargo build --release -p exodns)", bin.display());
    bin
}

/// One DNSEndpoint entry: name, record type, targets.
pub type Record = (String, &'static str, Vec<String>);

/// `exodns --once` over a DNSEndpoint holding `records`, into `pdns`, with `--pdns-dns-server`
/// (its question starts PowerDNS's health checks). Panics when it fails.
pub fn publish(pdns: &Pdns, records: &[Record]) {
    let dir = tempfile::Builder::new().prefix("exodns-failover-bench-").tempdir().expect("temporary directory");
    let mut yaml = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: bench, namespace: default}\nspec:\n  endpoints:\n",
    );
    for (name, rtype, targets) in records {
        let t: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
        yaml.push_str(&format!(
            "  - {{dnsName: {name}, recordType: {rtype}, recordTTL: 30, targets: [{}]}}\n",
            t.join(", ")
        ));
    }
    std::fs::write(dir.path().join("bench.yaml"), yaml).expect("manifest");
    let out = Command::new(exodns_bin())
        .args(["--once", "--source=manifest", "--provider=pdns", "--policy=sync", "--txt-owner-id=bench"])
        .args(["--managed-record-types=A", "--managed-record-types=LUA"])
        .arg(format!("--manifest-path={}", dir.path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--pdns-dns-server={}:{}", pdns.dns_addr(), pdns.dns_port()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run exodns");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !log.contains("SERVFAIL"), "exodns --once failed:\n{log}");
}

/// Asks `name A` every 10 ms until the answers are exactly `want`; the time that took. Panics on
/// a SERVFAIL or after `limit`.
pub async fn until_answers(pdns: &Pdns, name: &str, want: &[String], limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let got = pdns.dig(name, "A").await.unwrap_or_else(|e| panic!("{name}: {e}"));
        if got == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{name}: {got:?}, not {want:?} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A pseudo-random duration in `[0, max)` (the phase of a kill against the check timer).
pub fn random_below(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    h.write_u128(now ^ u128::from(std::process::id()));
    let frac = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(frac)
}

/// Median and p95 (nearest rank) of `samples`, in seconds.
pub fn median_p95(samples: &[f64]) -> (f64, f64) {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
    (median, rank(0.95))
}

/// One JSON line on stdout.
pub fn sample(fields: serde_json::Value) {
    println!("{fields}");
}
