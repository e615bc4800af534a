//! A full sync that finds nothing to do, at 10 000 endpoints: the periodic resync of a cluster
//! whose DNS is up to date. Issue 18 asks for 0 writes, at most one read per zone and at most
//! 5 ms of CPU beyond the zone read.
//!
//! `cargo bench -p exodns-controller --bench noop_sync`
//!
//! 10 000 LoadBalancer Services, each wanting one A record (its `hostname` annotation), kept as
//! the cluster's watches keep them (the compact Service cache of `exodns_sources::store`) and
//! read through the same `CachedSource` as the kube source's: what a real source costs, besides
//! its watches. Against the in-memory provider holding exactly what exodns writes for them (the
//! A records and their ownership TXT, put there by one sync first). Timed: `resync` on a warm
//! controller (the loop's periodic full sync: every object's output asked for, the zone read and
//! compared with what the last quiet sync planned from, nothing applied), and as a yardstick the
//! zone read alone (`records()`: the in-memory provider's copy of its 20 000 records, where a
//! real provider decodes its API's answer). The difference is exodns's own work.
//!
//! With nothing changed in the cluster since the last sync, the source says so (its version) and
//! the sync does not ask the objects at all. Beside it: the same sync after a change the Services
//! do not read (a Pod): every object asked, each output handed out as it was and compared by
//! pointer; the same sync when every object's output must be made again (the watch listed
//! everything again: each Service rebuilt from its compact form and run through the source); and
//! a full sync that finds one Service changed (no event told of it): the whole zone decoded and
//! planned, one change written to the in-memory provider.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use criterion::Criterion;
use criterion::measurement::Measurement;
use exodns_controller::{Controller, Settings, Syncer};
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{Registry, TxtConfig, TxtRegistry};
use exodns_core::source::{ObjectSource, SourceHealth, SourceOutput};
use exodns_core::{Changes, DomainFilter, ObjectRef};
use exodns_provider::inmemory::InMemoryProvider;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records};
use exodns_sources::resource::StoredForm;
use exodns_sources::store::{CachedSource, Caches, StoredMap, key_of};
use exodns_sources::{SourceConfig, SourceKind};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Pod, Service, ServiceSpec, ServiceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

#[path = "../../core/benches/common/cpu.rs"]
#[macro_use]
mod cpu;

const N: usize = 10_000;

/// The cluster's Services as the kube source's watch caches hold them.
struct Cluster {
    caches: Caches,
    cfg: SourceConfig,
}

impl Cluster {
    fn cached(&self) -> CachedSource<'_> {
        CachedSource { caches: &self.caches, kinds: &[SourceKind::Service], cfg: &self.cfg }
    }
}

impl ObjectSource for Cluster {
    fn objects(&self) -> Vec<ObjectRef> {
        self.cached().objects()
    }
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.cached().endpoints(object)
    }
    fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        self.cached().each_output(f)
    }
    fn version(&self) -> Option<u64> {
        Some(self.cached().version())
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

/// Service `i`, a LoadBalancer at `ip` wanting one A record, stripped and stored as the watches
/// keep it.
fn service(i: usize, ip: &str) -> ((String, String), Arc<<Service as exodns_sources::ObjectType>::Stored>) {
    let (ns, name) = (format!("ns-{}", i % 97), format!("svc-{i}"));
    let annotations = [("external-dns.kubernetes.io/hostname".to_owned(), format!("{name}.{ns}.apps.example.org"))];
    let svc = Service {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(ns),
            uid: Some(format!("00000000-0000-0000-0000-{i:012}")),
            annotations: Some(annotations.into_iter().collect()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec { type_: Some("LoadBalancer".into()), ..ServiceSpec::default() }),
        status: Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![LoadBalancerIngress { ip: Some(ip.into()), ..LoadBalancerIngress::default() }]),
            }),
            ..ServiceStatus::default()
        }),
    };
    (key_of(&svc.metadata), Arc::new(StoredForm::store(svc)))
}

fn services() -> StoredMap<Service> {
    (0..N).map(|i| service(i, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))).collect()
}

fn cluster() -> Cluster {
    let caches = Caches::new();
    caches.get::<Service>().replace(services());
    Cluster { caches, cfg: SourceConfig::default() }
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
    let mut pod = 0u32;
    g.bench_function("10k no-op full sync, every object asked (a Pod changed)", |b| {
        b.iter(|| {
            pod += 1;
            let meta = ObjectMeta {
                name: Some(format!("p{}", pod % 2)),
                namespace: Some("ns-0".into()),
                ..ObjectMeta::default()
            };
            cluster.caches.get::<Pod>().insert(key_of(&meta), Arc::new(Pod { metadata: meta, ..Pod::default() }));
            rt.block_on(controller.resync()).expect("sync")
        })
    });
    g.bench_function("10k no-op full sync, every output made again", |b| {
        b.iter_batched(
            services,
            |fresh| {
                cluster.caches.get::<Service>().replace(fresh);
                rt.block_on(controller.resync()).expect("sync")
            },
            criterion::BatchSize::LargeInput,
        )
    });
    assert_eq!(provider.writes.load(Ordering::Relaxed), writes, "a no-op sync wrote");
    let mut flip = 0u32;
    g.bench_function("10k full sync, one object changed (one write)", |b| {
        b.iter(|| {
            flip += 1;
            let (key, svc) = service(0, &format!("192.0.2.{}", 1 + flip % 2));
            cluster.caches.get::<Service>().insert(key, svc);
            let before = provider.writes.load(Ordering::Relaxed);
            rt.block_on(controller.resync()).expect("sync");
            assert_eq!(provider.writes.load(Ordering::Relaxed), before + 1, "the changed object was not written");
        })
    });
    g.finish();
}

wall_and_cpu_main!(bench_noop, "noop-sync", "noop-sync-cpu");
