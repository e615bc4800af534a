//! The event-driven loop against the in-memory provider: what it syncs, when, and what it
//! refuses to delete.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use exodns_controller::budget::{BudgetConfig, DeletionBudget, Limit};
use exodns_controller::{Controller, Settings, Syncer};
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{Registry, TxtConfig, TxtRegistry};
use exodns_core::source::{ObjectNote, ObjectSource, SourceEvent, SourceHealth, SourceOutput};
use exodns_core::{Changes, DomainFilter, Endpoint, ObjectRef, RecordType};
use exodns_provider::inmemory::InMemoryProvider;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records};
use tokio::sync::mpsc;

/// A source whose objects and health the test sets by hand.
#[derive(Default)]
struct FakeSource {
    objects: Mutex<HashMap<ObjectRef, SourceOutput>>,
    /// Grows with every edit of `objects` (through `edit`): full syncs at an unchanged version
    /// do not ask the objects.
    version: AtomicU64,
    synced: Mutex<bool>,
    error: Mutex<Option<String>>,
    notes: Mutex<Vec<(ObjectRef, ObjectNote)>>,
}

impl FakeSource {
    fn edit(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef, SourceOutput>> {
        self.version.fetch_add(1, Ordering::SeqCst);
        self.objects.lock().unwrap()
    }

    fn set(&self, name: &str, ip: &str) -> ObjectRef {
        let obj = mk_obj(name);
        let ep = Endpoint::parse(&format!("{name}.example.org"), RecordType::A, &[ip])
            .unwrap()
            .with_label("resource", obj.resource_label());
        self.edit().insert(obj.clone(), SourceOutput { endpoints: vec![ep], invalid: vec![] });
        obj
    }

    fn remove(&self, name: &str) -> ObjectRef {
        let obj = mk_obj(name);
        self.edit().remove(&obj);
        obj
    }
}

impl ObjectSource for FakeSource {
    fn objects(&self) -> Vec<ObjectRef> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.objects.lock().unwrap().get(object).cloned().map(Arc::new)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version.load(Ordering::SeqCst))
    }
    fn health(&self) -> Vec<SourceHealth> {
        vec![SourceHealth {
            source: "service".into(),
            synced: *self.synced.lock().unwrap(),
            error: self.error.lock().unwrap().clone(),
        }]
    }
    fn note(&self, object: &ObjectRef, note: &ObjectNote) {
        self.notes.lock().unwrap().push((object.clone(), note.clone()));
    }
}

/// Counts reads and applies of the in-memory provider; each apply can take a while (a PATCH's
/// round trip, on tokio's clock) and is logged with when it started and how many changes it had.
struct Counting {
    inner: InMemoryProvider,
    reads: AtomicUsize,
    applies: AtomicUsize,
    apply_takes: Duration,
    apply_log: Mutex<Vec<(tokio::time::Instant, usize)>>,
}

#[async_trait]
impl Provider for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn domain_filter(&self) -> DomainFilter {
        self.inner.domain_filter()
    }
    fn zones(&self) -> Option<exodns_core::zones::ZoneIndex> {
        self.inner.zones()
    }
    async fn records(&self) -> Result<Records, ProviderError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.records().await
    }
    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        self.apply_log.lock().unwrap().push((tokio::time::Instant::now(), changes.len()));
        tokio::time::sleep(self.apply_takes).await;
        let report = self.inner.apply_changes(changes).await?;
        assert!(report.is_clean(), "the in-memory provider refused {:?}", report.rejected);
        Ok(report)
    }
}

fn mk_obj(name: &str) -> ObjectRef {
    ObjectRef::namespaced("service", "default", name)
}

struct Rig {
    source: Arc<FakeSource>,
    provider: Arc<Counting>,
    events: mpsc::Sender<SourceEvent>,
    task: tokio::task::JoinHandle<()>,
}

fn mk_rig(source: Arc<FakeSource>) -> Rig {
    mk_rig_with(source, quick(), None)
}

/// Debounce of 10 ms, no periodic sync within a test.
fn quick() -> Settings {
    Settings {
        min_event_sync_interval: Duration::from_millis(10),
        interval: Duration::from_secs(3600),
        ..Settings::default()
    }
}

fn mk_rig_with(source: Arc<FakeSource>, settings: Settings, budget: Option<DeletionBudget>) -> Rig {
    mk_rig_timed(source, settings, budget, Duration::ZERO)
}

/// [`mk_rig_with`] with a provider whose applies take `apply_takes`.
fn mk_rig_timed(
    source: Arc<FakeSource>,
    settings: Settings,
    budget: Option<DeletionBudget>,
    apply_takes: Duration,
) -> Rig {
    let (controller, provider) = mk_controller(source.clone(), settings, budget, apply_takes);
    let (events, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        controller.run(rx).await.unwrap();
    });
    Rig { source, provider, events, task }
}

/// A controller over the counting in-memory provider, not running.
fn mk_controller(
    source: Arc<FakeSource>,
    settings: Settings,
    budget: Option<DeletionBudget>,
    apply_takes: Duration,
) -> (Controller, Arc<Counting>) {
    let provider = Arc::new(Counting {
        inner: InMemoryProvider::new(&["example.org".into()]),
        reads: AtomicUsize::new(0),
        applies: AtomicUsize::new(0),
        apply_takes,
        apply_log: Mutex::new(Vec::new()),
    });
    let registry: Arc<dyn Registry> =
        Arc::new(TxtRegistry::new(TxtConfig { owner_id: "test".into(), ..TxtConfig::default() }).unwrap());
    let options = PlanOptions { owner_id: "test".into(), ..PlanOptions::default() };
    let mut syncer = Syncer::new(provider.clone(), registry.clone(), options);
    if let Some(b) = budget {
        syncer = syncer.with_deletion_budget(b);
    }
    (Controller::new(source, syncer, registry, settings), provider)
}

fn zone_of(provider: &Counting) -> Vec<String> {
    provider.inner.dump().iter().map(|e| format!("{} {} {}", e.dns_name, e.record_type, e.targets.join(","))).collect()
}

impl Rig {
    fn zone(&self) -> Vec<String> {
        zone_of(&self.provider)
    }

    /// Polls until `check` holds (the loop runs on its own task); fails after 5 s.
    async fn until(&self, what: &str, check: impl Fn(&Rig) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !check(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}; zone: {:?}", self.zone());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn has(&self, line: &str) -> bool {
        self.zone().iter().any(|l| l == line)
    }
}

#[tokio::test]
async fn events_sync_only_what_changed_without_rereading_the_zone() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    source.set("web", "10.0.0.1");
    let rig = mk_rig(source);
    rig.until("first full sync", |r| r.has("web.example.org A 10.0.0.1") && r.has("a-web.example.org TXT \"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/default/web\"")).await;
    assert_eq!(rig.provider.reads.load(Ordering::SeqCst), 1);

    let api = rig.source.set("api", "10.0.0.2");
    rig.events.send(SourceEvent::Changed(vec![api])).await.unwrap();
    rig.until("api created", |r| r.has("api.example.org A 10.0.0.2")).await;

    let web = rig.source.set("web", "10.0.0.9");
    rig.events.send(SourceEvent::Changed(vec![web])).await.unwrap();
    rig.until("web updated", |r| r.has("web.example.org A 10.0.0.9")).await;

    let api = rig.source.remove("api");
    rig.events.send(SourceEvent::Changed(vec![api])).await.unwrap();
    rig.until("api deleted with its TXT", |r| !r.zone().iter().any(|l| l.contains("api.example.org"))).await;

    // Three events, three applies, and still the one read of the first sync.
    assert_eq!(rig.provider.reads.load(Ordering::SeqCst), 1);
    assert_eq!(rig.provider.applies.load(Ordering::SeqCst), 4);
    rig.task.abort();
}

/// A full sync whose inputs are as the last quiet one found them writes nothing; one that
/// finds an object changed (without an event: only a full sync sees it), or a record changed
/// behind exodns's back, plans again: the change is written, the record repaired.
#[tokio::test]
async fn a_full_sync_after_a_quiet_one_still_writes_what_changed() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    source.set("web", "10.0.0.1");
    source.set("api", "10.0.0.2");
    let (mut c, provider) = mk_controller(source.clone(), quick(), None, Duration::ZERO);
    let applies = || provider.applies.load(Ordering::SeqCst);
    let has = |line: &str| zone_of(&provider).iter().any(|l| l == line);
    c.resync().await.unwrap();
    assert!(has("web.example.org A 10.0.0.1") && has("api.example.org A 10.0.0.2"));
    c.resync().await.unwrap();
    c.resync().await.unwrap();
    assert_eq!(applies(), 1, "quiet full syncs wrote");

    source.set("web", "10.0.0.9");
    c.resync().await.unwrap();
    assert!(has("web.example.org A 10.0.0.9"), "{:?}", zone_of(&provider));
    c.resync().await.unwrap();
    assert_eq!(applies(), 2);

    // Behind exodns's back: api's record deleted, web's changed.
    let api = Endpoint::parse("api.example.org", RecordType::A, &["10.0.0.2"]).unwrap();
    let web = Endpoint::parse("web.example.org", RecordType::A, &["10.0.0.9"]).unwrap();
    let web_edited = Endpoint::parse("web.example.org", RecordType::A, &["192.0.2.1"]).unwrap();
    let edit = Changes { delete: vec![api], update_old: vec![web], update_new: vec![web_edited], ..Changes::default() };
    provider.inner.apply_changes(&edit).await.unwrap();
    assert!(!has("api.example.org A 10.0.0.2") && has("web.example.org A 192.0.2.1"));
    c.resync().await.unwrap();
    assert!(has("api.example.org A 10.0.0.2") && has("web.example.org A 10.0.0.9"), "{:?}", zone_of(&provider));
    assert_eq!(applies(), 3);
    c.resync().await.unwrap();
    assert_eq!(applies(), 3);
    assert_eq!(provider.reads.load(Ordering::SeqCst), 7, "each full sync reads the zone");
}

/// A name held by a record of no owner: every full sync tells the object again, also those that
/// find their inputs as the last one did and do not plan.
#[tokio::test]
async fn every_full_sync_tells_of_a_name_held_by_another_owner() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    let web = source.set("web", "10.0.0.1");
    let (mut c, provider) = mk_controller(source.clone(), quick(), None, Duration::ZERO);
    let theirs = Endpoint::parse("web.example.org", RecordType::A, &["192.0.2.1"]).unwrap();
    provider.inner.apply_changes(&Changes { create: vec![theirs], ..Changes::default() }).await.unwrap();
    for _ in 0..3 {
        c.resync().await.unwrap();
    }
    let told = source
        .notes
        .lock()
        .unwrap()
        .iter()
        .filter(|(o, n)| *o == web && matches!(n, ObjectNote::Conflict { .. }))
        .count();
    assert_eq!(told, 3);
    assert_eq!(provider.applies.load(Ordering::SeqCst), 0);
    assert_eq!(zone_of(&provider), ["web.example.org A 192.0.2.1"]);
}

#[tokio::test]
async fn nothing_is_synced_before_the_sources_are() {
    let source = Arc::new(FakeSource::default());
    source.set("web", "10.0.0.1");
    let rig = mk_rig(source);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.provider.reads.load(Ordering::SeqCst), 0, "synced before the source's first list");
    *rig.source.synced.lock().unwrap() = true;
    rig.until("sync after the source synced", |r| r.has("web.example.org A 10.0.0.1")).await;
    rig.task.abort();
}

#[tokio::test]
async fn an_unhealthy_source_causes_no_deletions() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    source.set("web", "10.0.0.1");
    source.set("api", "10.0.0.2");
    let rig = mk_rig(source);
    rig.until("first sync", |r| r.has("api.example.org A 10.0.0.2")).await;

    // The watch breaks, and the cache no longer shows `api` (say a re-list came back short).
    *rig.source.error.lock().unwrap() = Some("watch failed".into());
    let api = rig.source.remove("api");
    let web = rig.source.set("web", "10.0.0.5");
    rig.events.send(SourceEvent::Changed(vec![api, web])).await.unwrap();
    rig.until("web updated", |r| r.has("web.example.org A 10.0.0.5")).await;
    assert!(rig.has("api.example.org A 10.0.0.2"), "deleted while the source was unhealthy");

    // Healthy again: the deletion goes through with the next change of that name.
    *rig.source.error.lock().unwrap() = None;
    rig.events.send(SourceEvent::Health).await.unwrap();
    rig.until("api deleted once healthy", |r| !r.has("api.example.org A 10.0.0.2")).await;
    rig.task.abort();
}

/// The apex of a zone is created, updated and deleted with its ownership TXT inside the zone
/// (the in-memory provider refuses a name outside its zones, as a real server does).
#[tokio::test]
async fn apex_records_carry_their_ownership_inside_the_zone() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    let set_apex = |ip: &str| {
        let obj = mk_obj("apex");
        let ep =
            Endpoint::parse("example.org", RecordType::A, &[ip]).unwrap().with_label("resource", obj.resource_label());
        source.edit().insert(obj.clone(), SourceOutput { endpoints: vec![ep], invalid: vec![] });
        obj
    };
    set_apex("10.0.0.1");
    let rig = mk_rig(source.clone());
    let txt = "a-_apex.example.org TXT \"heritage=external-dns,external-dns/owner=test,external-dns/resource=service/default/apex\"";
    rig.until("apex created with its TXT", |r| r.has("example.org A 10.0.0.1") && r.has(txt)).await;
    let apex = set_apex("10.0.0.2");
    rig.events.send(SourceEvent::Changed(vec![apex])).await.unwrap();
    rig.until("apex updated", |r| r.has("example.org A 10.0.0.2") && r.has(txt)).await;
    let apex = rig.source.remove("apex");
    rig.events.send(SourceEvent::Changed(vec![apex])).await.unwrap();
    rig.until("apex deleted with its TXT", |r| r.zone().is_empty()).await;
    rig.task.abort();
}

/// 15 of 20 objects stop wanting their records (a filter changed, say): nothing is deleted,
/// and each of them is told why, naming the zone and the budget.
#[tokio::test]
async fn a_held_mass_delete_tells_each_object() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    for i in 0..20 {
        source.set(&format!("s{i}"), "10.0.0.1");
    }
    let budget = DeletionBudget::new(BudgetConfig {
        limit: Limit::default(),
        grace: Duration::from_secs(3600),
        window: Duration::from_secs(3600),
        settle: Duration::ZERO,
    });
    let rig = mk_rig_with(source.clone(), quick(), Some(budget));
    rig.until("20 published", |r| r.zone().len() == 40).await;
    let gone: Vec<ObjectRef> = (0..15)
        .map(|i| {
            let o = mk_obj(&format!("s{i}"));
            source.edit().insert(o.clone(), SourceOutput::default());
            o
        })
        .collect();
    rig.events.send(SourceEvent::Changed(gone.clone())).await.unwrap();
    rig.until("each object told", |_| {
        let notes = source.notes.lock().unwrap();
        gone.iter().all(|o| {
            notes
                .iter()
                .any(|(n, note)| n == o && matches!(note, ObjectNote::DeletionHeld { held: 15, allowance: 10, .. }))
        })
    })
    .await;
    assert_eq!(rig.zone().len(), 40, "nothing deleted");
    rig.task.abort();
}

mod equivalence {
    //! Event by event, the incremental syncs must leave the zone as one full sync of the final
    //! state would, with the one zone read of the start.

    use super::*;
    use proptest::prelude::*;

    fn zone_shape(p: &InMemoryProvider) -> Vec<String> {
        // TXT values carry the `resource` of whichever object created the record; the planner
        // (as upstream's) does not rewrite them when only the contributing objects change, so
        // compare TXT by name only.
        p.dump()
            .iter()
            .map(|e| match e.record_type {
                RecordType::TXT => format!("{} TXT", e.dns_name),
                _ => {
                    let mut t = e.targets.clone();
                    t.sort();
                    format!("{} {} {}", e.dns_name, e.record_type, t.join(","))
                }
            })
            .collect()
    }

    /// (object, Some((name, address))) sets an object; (object, None) deletes it.
    fn ops() -> impl Strategy<Value = Vec<(u8, Option<(u8, u8)>)>> {
        proptest::collection::vec((0u8..4, proptest::option::of((0u8..3, 1u8..4))), 1..12)
    }

    /// Applies `ops` event by event, then checks the zone against one full sync of the final
    /// state (after `settle`, the longest a held deletion may wait).
    fn check_ops(ops: Vec<(u8, Option<(u8, u8)>)>, budget: Option<DeletionBudget>, settle: Duration) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let source = Arc::new(FakeSource::default());
            *source.synced.lock().unwrap() = true;
            let rig = mk_rig_with(source.clone(), quick(), budget);
            rig.until("first sync", |r| r.provider.reads.load(Ordering::SeqCst) == 1).await;
            let mut applies_seen = rig.provider.applies.load(Ordering::SeqCst);
            for (obj, op) in ops {
                let object = mk_obj(&format!("o{obj}"));
                let before = rig.zone();
                match op {
                    Some((name, ip)) => {
                        // Name 0 is the zone apex, whose ownership TXT lies inside the zone.
                        let host = if name == 0 { "example.org".to_owned() } else { format!("n{name}.example.org") };
                        let ep = Endpoint::parse(&host, RecordType::A, &[&format!("10.0.0.{ip}")])
                            .unwrap()
                            .with_label("resource", object.resource_label());
                        source.edit().insert(object.clone(), SourceOutput { endpoints: vec![ep], invalid: vec![] });
                    }
                    None => {
                        source.edit().remove(&object);
                    }
                }
                rig.events.send(SourceEvent::Changed(vec![object])).await.unwrap();
                // Wait until the loop has taken the event in: either it applied something,
                // or there was nothing to do (the zone stays as it was for a little while).
                let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
                while tokio::time::Instant::now() < deadline {
                    let applies = rig.provider.applies.load(Ordering::SeqCst);
                    if applies != applies_seen && rig.zone() != before {
                        applies_seen = applies;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(rig.provider.reads.load(Ordering::SeqCst), 1, "an event caused a zone read");

            // The same final state, synced in one go into an empty zone.
            let fresh = InMemoryProvider::new(&["example.org".into()]);
            let registry: Arc<dyn Registry> =
                Arc::new(TxtRegistry::new(TxtConfig { owner_id: "test".into(), ..TxtConfig::default() }).unwrap());
            let syncer = Syncer::new(
                Arc::new(fresh),
                registry,
                PlanOptions { owner_id: "test".into(), ..PlanOptions::default() },
            );
            let desired: Vec<Endpoint> =
                source.objects.lock().unwrap().values().flat_map(|o| o.endpoints.clone()).collect();
            let merged = exodns_core::endpoint::merge_endpoints(desired);
            syncer.sync_once(merged).await.unwrap();
            let fresh_zone = {
                let records = syncer.provider().records().await.unwrap().endpoints;
                let p = InMemoryProvider::new(&[]).with_records(records);
                zone_shape(&p)
            };
            // Held deletions are planned again when their time comes, without a zone read.
            let deadline = tokio::time::Instant::now() + settle;
            while zone_shape(&rig.provider.inner) != fresh_zone && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(rig.provider.reads.load(Ordering::SeqCst), 1, "a held deletion caused a zone read");
            assert_eq!(zone_shape(&rig.provider.inner), fresh_zone);
            rig.task.abort();
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn incremental_equals_full(ops in ops()) {
            check_ops(ops, None, Duration::ZERO);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
        /// With a deletion budget of one record per window, every other deletion is held, then
        /// released after the grace by the loop's own timer: the zone still ends as one full
        /// sync of the final state.
        #[test]
        fn incremental_with_a_deletion_budget_converges(ops in ops()) {
            let budget = DeletionBudget::new(BudgetConfig {
                limit: Limit::Count(1),
                grace: Duration::from_millis(200),
                window: Duration::from_secs(3600),
                settle: Duration::from_millis(20),
            });
            check_ops(ops, Some(budget), Duration::from_secs(3));
        }
    }
}

/// `--provider-cache-time`, `--txt-cache-interval`: full syncs within the cache time plan against the cache (the zone is
/// read once); once it has passed, the next full sync reads again. On tokio's paused clock, so
/// the intervals pass without waiting.
#[tokio::test(start_paused = true)]
async fn provider_cache_time_spares_reads_of_the_zone() {
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    source.set("web", "10.0.0.1");
    let interval = Duration::from_secs(60);
    let settings = |cache: u64| Settings {
        min_event_sync_interval: Duration::from_millis(10),
        interval,
        record_cache_time: Duration::from_secs(cache),
        ..Settings::default()
    };
    let reads = |rig: &Rig| rig.provider.reads.load(Ordering::SeqCst);

    let cached = mk_rig_with(source.clone(), settings(600), None);
    cached.until("the first sync", |r| r.has("web.example.org A 10.0.0.1")).await;
    tokio::time::sleep(interval * 5 + Duration::from_secs(1)).await;
    assert_eq!(reads(&cached), 1, "five full syncs within the cache time read the zone once");
    tokio::time::sleep(interval * 5).await;
    assert_eq!(reads(&cached), 2, "after 10 minutes the zone is read again");
    cached.task.abort();

    let uncached = mk_rig_with(source, settings(0), None);
    uncached.until("the first sync", |r| r.has("web.example.org A 10.0.0.1")).await;
    tokio::time::sleep(interval * 5 + Duration::from_secs(1)).await;
    assert_eq!(reads(&uncached), 6, "without a cache time every full sync reads");
    uncached.task.abort();
}

/// `--min-event-sync-interval` (a leading-edge debounce), on tokio's paused clock with applies
/// that take 5 ms: a change that finds the loop idle is applied at once, also when the changes
/// come one after the other (each 3 ms after the last was written, as a client that waits for
/// the answer); 500 changes within 100 ms are applied in 3 writes.
#[tokio::test(start_paused = true)]
async fn an_isolated_change_is_applied_at_once_and_a_burst_in_three_writes() {
    use tokio::time::Instant;
    let source = Arc::new(FakeSource::default());
    *source.synced.lock().unwrap() = true;
    source.set("web", "10.0.0.1");
    let settings = Settings { interval: Duration::from_secs(3600), ..Settings::default() };
    assert_eq!(settings.min_event_sync_interval, Duration::from_millis(50), "the default");
    let rig = mk_rig_timed(source.clone(), settings, None, Duration::from_millis(5));
    rig.until("first full sync", |r| r.has("web.example.org A 10.0.0.1")).await;
    let applies = || rig.provider.apply_log.lock().unwrap().clone();

    for i in 0..20 {
        let before = applies().len();
        let sent = Instant::now();
        let obj = source.set("web", &format!("10.0.1.{i}"));
        rig.events.send(SourceEvent::Changed(vec![obj])).await.unwrap();
        rig.until("the change applied", |r| r.provider.apply_log.lock().unwrap().len() > before).await;
        assert_eq!(applies()[before].0, sent, "change {i} waited before its write");
        rig.until("written", |r| r.has(&format!("web.example.org A 10.0.1.{i}"))).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    let before = applies().len();
    let start = Instant::now();
    for ms in 0..100 {
        for k in 0..5 {
            let obj = source.set(&format!("b{}", ms * 5 + k), "10.0.2.1");
            rig.events.send(SourceEvent::Changed(vec![obj])).await.unwrap();
        }
        tokio::time::sleep_until(start + Duration::from_millis(ms + 1)).await;
    }
    rig.until("the burst applied", |r| r.zone().iter().filter(|l| l.ends_with(" A 10.0.2.1")).count() == 500).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let burst: Vec<(Duration, usize)> = applies()[before..].iter().map(|(t, n)| (*t - start, *n)).collect();
    assert!(burst.len() <= 3, "500 changes within 100 ms took {} writes: {burst:?}", burst.len());
    // Each of the 500 names comes with its ownership TXT.
    assert_eq!(burst.iter().map(|(_, n)| n).sum::<usize>(), 1000, "{burst:?}");
    assert_eq!(burst[0].0, Duration::ZERO, "the first change of the burst is written at once");
    rig.task.abort();
}
