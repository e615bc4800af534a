//! `failover-bench scale`: POOLS pools shared by three regions (eu, us, ap), each an exodns
//! `--once` over its own manifest folder of POOLS FailoverRecords (active-active tcp, one
//! address per region) into one zone. Each run starts from an empty zone: eu's first sync
//! (members, pools and TXTs created), then us's and ap's (their members, every pool re-rendered),
//! then eu again, which must write nothing (the zone's SOA serial, raised by every PATCH, stays).
//! Times are the wall time of each `exodns --once` (start to exit: reading the manifests and the
//! zone, planning both passes, writing).

use std::net::IpAddr;
use std::process::Command;
use std::time::Instant;

use exodns_testbed::{Pdns, free_port};
use serde_json::json;

use crate::{ZONE, exodns_bin, median_p95, pdns, sample};

const REGIONS: [&str; 3] = ["eu", "us", "ap"];

/// A folder with `pools` FailoverRecords of `region` (address 10.<region>.x.y).
fn manifests(region_index: u8, pools: usize) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("exodns-failover-scale-").tempdir().expect("temporary directory");
    let mut yaml = String::with_capacity(pools * 300);
    for i in 0..pools {
        let addr = IpAddr::from([10, region_index, (i / 250) as u8, (i % 250) as u8 + 1]);
        yaml.push_str(&format!(
            "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: p{i}, namespace: web}}\nspec:\n  \
             hostname: p{i}.{ZONE}\n  placement: active-active\n  targets: [{{address: {addr}}}]\n  \
             healthCheck: {{type: tcp, port: 5432, timeoutSeconds: 1}}\n---\n"
        ));
    }
    std::fs::write(dir.path().join("pools.yaml"), yaml).expect("manifest");
    dir
}

/// `exodns --once` of `region`; its wall time in seconds.
fn sync(pdns: &Pdns, region: &str, dir: &tempfile::TempDir) -> f64 {
    let started = Instant::now();
    let out = Command::new(exodns_bin())
        .args(["--once", "--source=manifest", "--source=failover", "--provider=pdns", "--policy=sync"])
        .arg(format!("--txt-owner-id={region}"))
        .arg(format!("--manifest-path={}", dir.path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run exodns");
    let took = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "exodns {region} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    took
}

async fn serial(pdns: &Pdns) -> u64 {
    pdns.get_zone(ZONE).await.expect("zone")["serial"].as_u64().expect("serial")
}

pub async fn run(runs: usize, pools: usize) {
    let pdns = pdns(1).await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|i| manifests(i as u8 + 1, pools)).collect();
    let mut times: [Vec<f64>; 4] = Default::default();
    for run in 1..=runs {
        pdns.delete_zone(ZONE).await.expect("zone");
        pdns.create_zone(ZONE).await.expect("zone");
        let mut t = [0.0; 4];
        for (i, region) in REGIONS.iter().enumerate() {
            t[i] = sync(&pdns, region, &dirs[i]);
        }
        let before = serial(&pdns).await;
        t[3] = sync(&pdns, "eu", &dirs[0]);
        assert_eq!(serial(&pdns).await, before, "run {run}: the no-op sync wrote");
        if run == 1 {
            // Every pool holds the three regions' addresses.
            let rrsets = pdns.rrsets(ZONE).await.expect("zone");
            let lua = &rrsets[&(format!("p0.{ZONE}."), "LUA".to_owned())][0];
            assert!(["10.1.0.1", "10.2.0.1", "10.3.0.1"].iter().all(|a| lua.contains(a)), "{lua}");
            let pools_found = rrsets.keys().filter(|(_, t)| t == "LUA").count();
            assert_eq!(pools_found, pools, "pool records");
        }
        sample(
            json!({"mode": "scale", "pools": pools, "run": run, "eu_first": t[0], "us": t[1], "ap": t[2], "noop": t[3]}),
        );
        for (all, v) in times.iter_mut().zip(t) {
            all.push(v);
        }
    }
    let names = [
        "eu's first sync (members, pools, TXTs created)",
        "us's first sync (its members; every pool re-rendered)",
        "ap's first sync (the same)",
        "eu again: no-op full sync, 0 writes",
    ];
    let mut out = vec![
        format!("| {pools} pools × 3 regions, `exodns --once` wall time | median | p95 | runs |"),
        "|---|---:|---:|---:|".to_owned(),
    ];
    for (name, v) in names.iter().zip(&times) {
        let (m, p) = median_p95(v);
        out.push(format!("| {name} | {m:.2} s | {p:.2} s | {} |", v.len()));
    }
    eprintln!("{}", out.join("\n"));
}
