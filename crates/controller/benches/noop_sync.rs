//! A full sync that finds nothing to do, at 10 000 endpoints: the periodic resync of a cluster
//! whose DNS is up to date. Issue 18 asks for 0 writes, at most one read per zone and at most
//! 5 ms of CPU beyond the zone read.
//!
//! `cargo bench -p exodns-controller --bench noop_sync`
//!
//! 10 000 Services, each wanting one A record (with its `resource` label), against the in-memory
//! provider holding exactly what exodns writes for them (the A records and their ownership TXT,
//! put there by one sync first). Timed: `resync` on a warm controller (the loop's periodic full
//! sync: every object recomputed, the zone read and compared with what the last quiet sync
//! planned from, nothing applied), and as a yardstick the zone read alone (`records()`: the
//! in-memory provider's copy of its 20 000 records, where a real provider decodes its API's
//! answer). The difference is exodns's own work.
//!
//! Beside them, for scale, a full sync that finds one object changed (no event told of it): the
//! whole zone decoded and planned, one change written to the in-memory provider.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use criterion::Criterion;
use criterion::measurement::Measurement;
use exodns_controller::{Controller, Settings, Syncer};
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{Registry, TxtConfig, TxtRegistry};
use exodns_core::source::{ObjectSource, SourceHealth, SourceOutput};
use exodns_core::{Changes, DomainFilter, Endpoint, ObjectRef, RecordType};
use exodns_provider::inmemory::InMemoryProvider;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records};

#[path = "../../core/benches/common/cpu.rs"]
#[macro_use]
mod cpu;

const N: usize = 10_000;

/// A source that remembers each object's output and hands it out shared.
struct Cluster(Mutex<HashMap<ObjectRef, Arc<SourceOutput>>>);

impl ObjectSource for Cluster {
    fn objects(&self) -> Vec<ObjectRef> {
        self.0.lock().expect("cluster").keys().cloned().collect()
    }
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.0.lock().expect("cluster").get(object).cloned()
    }
    fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        self.0.lock().expect("cluster").iter().for_each(|(o, out)| f(o, out));
    }
    fn health(&self) -> Vec<SourceHealth> {
        vec![SourceHealth { source: "service".into(), synced: true, error: None }]
    }
}

/// The in-memory provider, counting reads and writes.
struct Counted {
    inner: InMemoryProvider,
    reads: AtomicUsize,
    writes: AtomicUsize,
}

#[async_trait]
impl Provider for Counted {
    fn name(&self) -> &str {
        "inmemory"
    }
    fn domain_filter(&self) -> DomainFilter {
        self.inner.domain_filter()
    }
    fn zones(&self) -> Option<exodns_core::zones::ZoneIndex> {
        self.inner.zones()
    }
    async fn records(&self) -> Result<Records, ProviderError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.records().await
    }
    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.apply_changes(changes).await
    }
}

/// Service `i` and what it wants: one A record at `ip`.
fn service(i: usize, ip: &str) -> (ObjectRef, Arc<SourceOutput>) {
    let o = ObjectRef::namespaced("service", &format!("ns-{}", i % 97), &format!("svc-{i}"));
    let ep = Endpoint::parse(&format!("svc-{i}.ns-{}.apps.example.org", i % 97), RecordType::A, &[ip])
        .expect("valid bench record")
        .with_label("resource", o.resource_label());
    (o, Arc::new(SourceOutput { endpoints: vec![ep], invalid: vec![] }))
}

fn cluster() -> Cluster {
    let objects = (0..N).map(|i| service(i, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))).collect();
    Cluster(Mutex::new(objects))
}

fn bench_noop<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let provider = Arc::new(Counted {
        inner: InMemoryProvider::new(&["example.org".into()]),
        reads: AtomicUsize::new(0),
        writes: AtomicUsize::new(0),
    });
    let registry: Arc<dyn Registry> =
        Arc::new(TxtRegistry::new(TxtConfig { owner_id: "bench".into(), ..TxtConfig::default() }).expect("registry"));
    let syncer = Syncer::new(
        provider.clone(),
        registry.clone(),
        PlanOptions { owner_id: "bench".into(), ..PlanOptions::default() },
    );
    let cluster = Arc::new(cluster());
    let mut controller = Controller::new(cluster.clone(), syncer, registry, Settings::default());
    // The first sync publishes everything (and builds the controller's index); the second is
    // the first no-op.
    rt.block_on(controller.resync()).expect("first sync");
    assert_eq!(provider.inner.dump().len(), 2 * N, "every record and its ownership TXT");
    let (reads, writes) = (provider.reads.load(Ordering::Relaxed), provider.writes.load(Ordering::Relaxed));
    rt.block_on(controller.resync()).expect("no-op sync");
    assert_eq!(provider.reads.load(Ordering::Relaxed) - reads, 1, "one read of the one zone");
    assert_eq!(provider.writes.load(Ordering::Relaxed) - writes, 0, "no write");

    let mut g = c.benchmark_group(group);
    g.sample_size(30);
    g.bench_function("10k no-op full sync", |b| b.iter(|| rt.block_on(controller.resync()).expect("sync")));
    g.bench_function("10k zone read alone (yardstick)", |b| {
        b.iter(|| black_box(rt.block_on(provider.records()).expect("read")))
    });
    assert_eq!(provider.writes.load(Ordering::Relaxed), writes, "a no-op sync wrote");
    let mut flip = 0u32;
    g.bench_function("10k full sync, one object changed (one write)", |b| {
        b.iter(|| {
            flip += 1;
            let (o, out) = service(0, &format!("192.0.2.{}", 1 + flip % 2));
            cluster.0.lock().expect("cluster").insert(o, out);
            let before = provider.writes.load(Ordering::Relaxed);
            rt.block_on(controller.resync()).expect("sync");
            assert_eq!(provider.writes.load(Ordering::Relaxed), before + 1, "the changed object was not written");
        })
    });
    g.finish();
}

wall_and_cpu_main!(bench_noop, "noop-sync", "noop-sync-cpu");
