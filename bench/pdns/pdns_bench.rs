//! Benchmark driver for the PowerDNS provider: one exodns sync (TXT registry + planner +
//! provider, the same path as `exodns run --once`) of N A records into one zone, timed and with
//! its request counts; or the PATCH bodies such a sync sends, for the curl baseline.
//!
//!   pdns-bench sync    --zone Z --count N [--max-body BYTES]   → one JSON line on stdout
//!   pdns-bench payload --zone Z --count N [--max-body BYTES] --out DIR
//!                                            → DIR/patch-1.json … (what a cold sync sends)
//! Env: PDNS_API_URL, PDNS_API_KEY (as `scripts/testbed/pdns.sh start` prints them).

use std::sync::Arc;
use std::time::Instant;

use exodns_controller::Syncer;
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{TxtConfig, TxtRegistry};
use exodns_core::{Endpoint, RecordType, Secret};
use exodns_pdns::{PdnsConfig, PdnsProvider, RequestCounter};

struct Args {
    mode: String,
    zone: String,
    count: u32,
    max_body: usize,
    out: Option<String>,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        mode: it.next().unwrap_or_default(),
        zone: "bench.test".into(),
        count: 10_000,
        max_body: 2_000_000,
        out: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--zone" => a.zone = value,
            "--count" => a.count = value.parse().expect("--count"),
            "--max-body" => a.max_body = value.parse().expect("--max-body"),
            "--out" => a.out = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn desired(zone: &str, n: u32) -> Vec<Endpoint> {
    (0..n)
        .map(|i| {
            Endpoint::parse(
                &format!("host{i}.{zone}"),
                RecordType::A,
                &[&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
            )
            .unwrap()
            .with_label("resource", format!("service/bench/host{i}"))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let a = args();
    let url = std::env::var("PDNS_API_URL").expect("PDNS_API_URL");
    let key = std::env::var("PDNS_API_KEY").expect("PDNS_API_KEY");
    let mut cfg = PdnsConfig::parse(&url, Secret::new(key)).unwrap();
    cfg.max_body_bytes = a.max_body;
    let counter = RequestCounter::new();
    let provider = Arc::new(PdnsProvider::new(cfg).unwrap().with_observer(counter.clone()));
    let registry = Arc::new(TxtRegistry::new(TxtConfig { owner_id: "bench".into(), ..TxtConfig::default() }).unwrap());
    let options = PlanOptions { owner_id: "bench".into(), ..PlanOptions::default() };
    let desired = desired(&a.zone, a.count);
    match a.mode.as_str() {
        "sync" => {
            let syncer = Syncer::new(provider.clone(), registry, options);
            let started = Instant::now();
            let report = syncer.sync_once(desired).await.expect("sync");
            let secs = started.elapsed().as_secs_f64();
            let c = counter.snapshot();
            println!(
                "{{\"seconds\":{secs:.4},\"list_zones\":{},\"get_zone\":{},\"patch_zone\":{},\"failed\":{},\"bytes_sent\":{},\"planned\":{},\"outgoing\":{},\"rejected\":{}}}",
                c.list_zones,
                c.get_zone,
                c.patch_zone,
                c.failed,
                c.bytes_sent,
                report.planned.len(),
                report.outgoing.len(),
                report.rejected.len()
            );
        }
        "payload" => {
            let out = a.out.expect("--out DIR");
            let syncer = Syncer::new(provider.clone(), registry, options).dry_run(true);
            let report = syncer.sync_once(desired).await.expect("dry-run sync");
            let bodies = provider.patch_bodies(&report.outgoing).await.expect("bodies");
            std::fs::create_dir_all(&out).unwrap();
            for (i, (_zone, body)) in bodies.iter().enumerate() {
                std::fs::write(format!("{out}/patch-{}.json", i + 1), body).unwrap();
            }
            println!("{}", bodies.len());
        }
        other => panic!("mode {other:?}: sync or payload"),
    }
}
