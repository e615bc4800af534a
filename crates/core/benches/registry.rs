//! The TXT registry on a large zone: reading 100k records with their 100k ownership TXTs
//! (`records`, the per-sync cost), and adding TXTs to 100k creates (`apply`, the first sync).
//!
//! Each is measured in wall time and again in CPU time of the benchmark thread (`cpu/…`): on a
//! shared machine the second is the one that means something.

use std::hint::black_box;

use criterion::measurement::Measurement;

#[path = "common/cpu.rs"]
#[macro_use]
mod cpu;
use criterion::{BatchSize, Criterion};
use exodns_core::registry::{AesKey, Owned, Registry, TxtConfig, TxtRegistry};
use exodns_core::{Changes, DnsName, Endpoint, RecordType, Targets};

const RECORDS: usize = 100_000;

fn ep(name: &str, rt: RecordType, target: String) -> Endpoint {
    Endpoint::new(DnsName::parse(name).unwrap(), rt, Targets::new(vec![target]))
}

/// `n` records (¾ A, ¼ CNAME; one in ten of another owner) and their ownership TXTs, listed
/// the way a provider returns them: interleaved, without labels.
fn zone(reg: &TxtRegistry, n: usize) -> Vec<Endpoint> {
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let name = format!("host-{i}.apps.example.com");
        let (rt, target) = if i % 4 == 3 {
            (RecordType::CNAME, format!("lb-{}.elb.example.net", i % 97))
        } else {
            (RecordType::A, format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255))
        };
        let owner = if i % 10 == 0 { "other" } else { "default" };
        let mut record = ep(&name, rt, target)
            .with_label("owner", owner)
            .with_label("resource", format!("service/default/host-{i}"));
        let txt = reg.ownership_txt(&mut record, &Owned::default()).unwrap();
        out.push(ep(&name, rt, record.targets[0].clone()));
        out.push(ep(txt.dns_name.as_str(), RecordType::TXT, txt.targets[0].clone()));
    }
    out
}

fn desired(n: usize) -> Vec<Endpoint> {
    (0..n)
        .map(|i| {
            ep(&format!("new-{i}.apps.example.com"), RecordType::A, format!("10.0.{}.{}", (i >> 8) & 255, i & 255))
                .with_label("resource", format!("ingress/default/new-{i}"))
        })
        .collect()
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let reg = TxtRegistry::new(TxtConfig::default()).unwrap();
    let raw = zone(&reg, RECORDS);
    let owned = reg.records(raw.clone());
    assert_eq!(owned.endpoints.len(), RECORDS);
    assert_eq!(owned.txt_count(), RECORDS);
    assert!(owned.endpoints.iter().all(|e| e.owner().is_some()));

    let mut g = c.benchmark_group(group);
    g.sample_size(20);
    g.bench_function("records/plain/100k+100k", |b| {
        b.iter_batched(|| raw.clone(), |raw| black_box(reg.records(raw)), BatchSize::LargeInput)
    });

    let creates = Changes { create: desired(RECORDS), ..Changes::default() };
    g.bench_function("apply/plain/100k-creates", |b| {
        b.iter_batched(|| creates.clone(), |changes| black_box(reg.apply(changes, &owned)), BatchSize::LargeInput)
    });

    // Encrypted values cost AES-GCM and gunzip each: a smaller zone.
    let key = AesKey::parse("passphrasewhichneedstobe32bytes!").unwrap();
    let enc = TxtRegistry::new(TxtConfig { encrypt: true, encryption_key: Some(key), ..TxtConfig::default() }).unwrap();
    let raw = zone(&enc, RECORDS / 10);
    g.bench_function("records/encrypted/10k+10k", |b| {
        b.iter_batched(|| raw.clone(), |raw| black_box(enc.records(raw)), BatchSize::LargeInput)
    });
    g.finish();
}

wall_and_cpu_main!(bench, "wall", "cpu");
