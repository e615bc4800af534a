//! Planner throughput on a zone the size of a large cluster: each side holds `n` records and
//! the plan is 70 % no-ops, 10 % updates, 10 % creates, 10 % deletes.
//!
//! `cargo bench -p exodns-core --bench plan`

use std::hint::black_box;

use criterion::Criterion;
use criterion::measurement::Measurement;

#[path = "common/cpu.rs"]
#[macro_use]
mod cpu;
use exodns_core::Endpoint;
use exodns_core::endpoint::{Ttl, label};
use exodns_core::plan::{PlanOptions, plan};
use exodns_core::record_type::RecordType;

const OWNER: &str = "bench";

/// Row `i`'s record: mostly single-address A records, some with two addresses, some AAAA, some
/// CNAME; a few with a set identifier. `variant` changes the targets (for updates).
fn record(i: usize, variant: u8) -> Endpoint {
    let name = format!("svc-{i}.ns-{}.apps.example.org", i % 97);
    let (a, b) = ((i >> 8) as u8, i as u8);
    let (rt, targets): (RecordType, Vec<String>) = match i % 20 {
        0..=11 => (RecordType::A, vec![format!("10.{variant}.{a}.{b}")]),
        12..=14 => (RecordType::A, vec![format!("10.{variant}.{a}.{b}"), format!("172.16.{a}.{b}")]),
        15..=17 => (RecordType::AAAA, vec![format!("2001:db8:{variant:x}::{a:x}:{b:x}")]),
        _ => (RecordType::CNAME, vec![format!("lb-{i}-{variant}.elb.example.net")]),
    };
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let mut ep = Endpoint::parse(&name, rt, &refs).expect("valid bench record");
    if i % 47 == 1 {
        ep = ep.with_set_identifier("eu-west-1");
    }
    ep.with_ttl(Ttl(300)).with_label(label::RESOURCE, format!("service/ns-{}/svc-{i}", i % 97))
}

/// (desired, current) with `n` records each.
fn zone(n: usize) -> (Vec<Endpoint>, Vec<Endpoint>) {
    let (mut desired, mut current) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..rows(n) {
        let owned = |ep: Endpoint| ep.with_label(label::OWNER, OWNER);
        match i % 10 {
            0 => desired.push(record(i, 0)),        // create
            1 => current.push(owned(record(i, 0))), // delete
            2 => {
                desired.push(record(i, 1)); // update
                current.push(owned(record(i, 0)));
            }
            _ => {
                desired.push(record(i, 0)); // no-op
                current.push(owned(record(i, 0)));
            }
        }
    }
    // Sources and providers do not hand records over in the same order.
    current.reverse();
    (desired, current)
}

fn bench_plan<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let opts = PlanOptions { owner_id: OWNER.into(), ..PlanOptions::default() };
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    for n in [10_000usize, 100_000] {
        let (desired, current) = zone(n);
        let p = plan(&desired, &current, &opts);
        let c = &p.changes;
        let tenth = |k: usize| (0..rows(n)).filter(|i| i % 10 == k).count();
        assert_eq!((c.create.len(), c.update_new.len(), c.delete.len()), (tenth(0), tenth(2), tenth(1)));
        group.bench_function(format!("{}k x {}k", n / 1000, n / 1000), |b| {
            b.iter(|| plan(black_box(&desired), black_box(&current), &opts))
        });
        // Yardstick for the machine: copying the current records once, as a planner that
        // cloned its input would.
        group.bench_function(format!("clone {}k", n / 1000), |b| b.iter(|| black_box(&current).clone()));
    }
    group.finish();
}

/// Desired and current each miss a tenth of the rows.
fn rows(n: usize) -> usize {
    n * 10 / 9
}

wall_and_cpu_main!(bench_plan, "plan", "plan-cpu");
