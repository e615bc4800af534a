//! The event-driven loop.
//!
//! Upstream ExternalDNS reconciles everything on a timer (at best 5 s after an event). exodns
//! keeps, per object, the endpoints it wants, and the provider's records by name. An event
//! recomputes only the objects it names; the names whose desired records changed become dirty;
//! only those names are planned (at once, or with a burst: see `pending.rs`), against the cached
//! records, and the cache takes what was written. A full resync every `--interval` re-reads the
//! provider and repairs drift. No sync runs before every source has its first full list, and
//! while any source is unhealthy nothing is deleted.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use exodns_core::endpoint::EndpointKey;
use exodns_core::failover::pool;
use exodns_core::registry::Registry;
use exodns_core::source::{ObjectNote, ObjectSource, Protected, RecordEvent, SourceEvent, SourceHealth, SourceOutput};
use exodns_core::{DnsName, Endpoint, ObjectRef, RecordType};
use exodns_provider::ZoneFailure;
use exodns_telemetry::{Metrics, SyncKind, SyncSummary};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, error, info, warn};

use crate::pending::Pending;
use crate::state::{DesiredIndex, RecordCache};
use crate::status::StatusHandle;
use crate::sync::{SyncError, SyncReport, Syncer};

/// Timing of the loop.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--min-event-sync-interval`: changes that arrive while a sync runs wait this long after it
    /// for more; a change that finds the loop idle is synced at once (see `pending.rs`).
    pub min_event_sync_interval: Duration,
    /// Full resync period (`--interval`).
    pub interval: Duration,
    /// How long to wait for the sources' first lists before saying so loudly (the wait goes on).
    pub cache_sync_timeout: Duration,
    /// One full sync, then return (`--once`).
    pub once: bool,
    /// `--provider-cache-time` and `--txt-cache-interval` (the longer): a full sync within this
    /// long of the last read of the provider plans against the cached records instead of reading
    /// again (zero: every full sync reads).
    pub record_cache_time: Duration,
    /// Upstream's per-record Events to post (`--events-emit`).
    pub record_events: Vec<RecordEvent>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_event_sync_interval: Duration::from_millis(50),
            interval: Duration::from_secs(60),
            cache_sync_timeout: Duration::from_secs(600),
            once: false,
            record_cache_time: Duration::ZERO,
            record_events: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("sources did not sync within {0:?} (--cache-sync-timeout): {1}")]
    NotSynced(Duration, String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// First wait after a failed sync; doubles up to `--interval`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How often to repeat "still waiting for the caches".
const WAIT_LOG_EVERY: Duration = Duration::from_secs(10);
/// The loop goes round at least this often, so that its heartbeat shows it alive.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub struct Controller {
    source: Arc<dyn ObjectSource>,
    syncer: Syncer,
    registry: Arc<dyn Registry>,
    settings: Settings,
    desired: DesiredIndex,
    records: RecordCache,
    frozen_zones: Vec<ZoneFailure>,
    /// When the provider's records were last read (for `--provider-cache-time`).
    records_read_at: Option<Instant>,
    /// The names whose desired records changed since they were last synced.
    dirty: Pending,
    /// Names whose deletes or updates were held back while a source was unhealthy or an object's
    /// input was invalid: planned again once that clears.
    held: BTreeSet<DnsName>,
    /// Names whose deletions the deletion budget held, planned again at `budget_release`.
    budget_names: BTreeSet<DnsName>,
    budget_release: Option<Instant>,
    status: StatusHandle,
    leader: watch::Receiver<bool>,
    /// Without leader election: the sender of an always-true `leader`, kept so that waiting on
    /// it sleeps instead of failing at once.
    _always_leader: Option<watch::Sender<bool>>,
    metrics: Option<Arc<Metrics>>,
    /// The source's failed reads already counted in the metrics.
    read_errors_counted: AtomicU64,
    /// Pool hostnames the DNS server answered SERVFAIL for after a write: (content, what it
    /// said), until the content changes (a later sync that writes nothing asks nothing).
    pools_not_served: HashMap<DnsName, (Option<String>, String)>,
    /// Set-identified records the provider cannot keep apart, already reported.
    unroutable_reported: HashSet<EndpointKey>,
    /// The inputs and findings of the last full sync, when it had nothing to do (see `run_full.rs`).
    settled: Option<Settled>,
    /// The desired records' version when the duplicates among them were last counted.
    deduplicated_at: Option<u64>,
    /// The source's version at the start of the last pass over every object.
    swept_at: Option<u64>,
}

impl Controller {
    pub fn new(source: Arc<dyn ObjectSource>, syncer: Syncer, registry: Arc<dyn Registry>, settings: Settings) -> Self {
        // Without leader election this process is always the leader.
        let (always_leader, leader) = watch::channel(true);
        let dirty = Pending::new(settings.min_event_sync_interval);
        Controller {
            source,
            syncer,
            registry,
            settings,
            desired: DesiredIndex::default(),
            records: RecordCache::default(),
            frozen_zones: Vec::new(),
            records_read_at: None,
            dirty,
            held: BTreeSet::new(),
            budget_names: BTreeSet::new(),
            budget_release: None,
            status: StatusHandle::default(),
            leader,
            _always_leader: Some(always_leader),
            metrics: None,
            read_errors_counted: AtomicU64::new(0),
            pools_not_served: HashMap::new(),
            unroutable_reported: HashSet::new(),
            settled: None,
            deduplicated_at: None,
            swept_at: None,
        }
    }

    /// Records every sync in these metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Only sync while `leader` says true (leader election); followers keep their caches warm.
    pub fn with_leader(mut self, leader: watch::Receiver<bool>) -> Self {
        self.leader = leader;
        self._always_leader = None;
        self
    }

    /// A handle on the loop's state for health endpoints and metrics.
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// One full sync now, as the loop's periodic one (for benchmarks that drive the controller
    /// themselves: `benches/noop_sync.rs`).
    pub async fn resync(&mut self) -> Result<(), SyncError> {
        self.full_sync().await
    }

    /// Runs until `events` closes (or, with `once`, after one full sync).
    pub async fn run(mut self, mut events: mpsc::Receiver<SourceEvent>) -> Result<(), RunError> {
        self.wait_for_sources(&mut events).await?;
        let mut backoff = FIRST_BACKOFF;
        // A full sync is due when this instant passes: first at once, then every interval, and
        // sooner after a failure (with backoff) or on becoming leader.
        let mut next_full = Instant::now();
        loop {
            let now = Instant::now();
            let leader = *self.leader.borrow();
            self.status.beat(leader);
            if let Some(m) = &self.metrics {
                m.set_leader(leader);
            }
            self.count_read_errors();
            if leader && now >= next_full {
                let result = self.full_sync().await;
                if !self.settings.once {
                    self.after_sync(&mut events);
                }
                match result {
                    Ok(()) => {
                        backoff = FIRST_BACKOFF;
                        next_full = Instant::now() + self.settings.interval;
                    }
                    Err(e) if self.settings.once => return Err(e.into()),
                    Err(e) => {
                        warn!(retry_in = ?backoff, "full sync failed: {e}");
                        // Its effect on the provider is unknown: the next sync reads it again.
                        self.records.invalidate();
                        next_full = Instant::now() + backoff;
                        backoff = (backoff * 2).min(self.settings.interval.max(FIRST_BACKOFF));
                    }
                }
                if self.settings.once {
                    return Ok(());
                }
                continue;
            }
            if leader && self.budget_release.is_some_and(|t| now >= t) {
                // Held deletions may have been wanted long enough: plan their names again.
                self.budget_release = None;
                self.dirty.add(std::mem::take(&mut self.budget_names), now);
            }
            let due = self.dirty.due();
            if leader && due.is_some_and(|t| now >= t) {
                let result = self.incremental_sync().await;
                self.after_sync(&mut events);
                if let Err(e) = result {
                    warn!(retry_in = ?backoff, "sync of changed names failed: {e}");
                    // Its effect on the provider is unknown: the next sync re-reads everything.
                    self.records.invalidate();
                    next_full = Instant::now() + backoff;
                    backoff = (backoff * 2).min(self.settings.interval.max(FIRST_BACKOFF));
                }
                continue;
            }
            let wake = match (leader, due) {
                (true, Some(d)) => d.min(next_full),
                (true, None) => next_full,
                (false, _) => now + self.settings.interval,
            }
            .min(self.budget_release.unwrap_or(next_full).max(now))
            .min(now + HEARTBEAT);
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => {
                        self.on_event(ev);
                        self.take_queued(&mut events);
                    }
                    None => return Ok(()),
                },
                _ = sleep_until(wake) => {}
                changed = self.leader.changed() => match changed {
                    Ok(()) if *self.leader.borrow() => {
                        info!("became leader; syncing everything");
                        next_full = Instant::now();
                    }
                    Ok(()) => {}
                    // The election stopped (shutting down): nobody will say "leader" again.
                    Err(_) => return Ok(()),
                }
            }
        }
    }

    /// After a sync: takes in the changes that arrived while it ran. Any there are belong to a
    /// burst, and wait `--min-event-sync-interval` for the rest of it.
    fn after_sync(&mut self, events: &mut mpsc::Receiver<SourceEvent>) {
        self.take_queued(events);
        self.dirty.synced(Instant::now());
    }

    /// Takes in the events already queued, so that the next sync covers them all. (A closed
    /// channel is noticed by the loop's next `recv`.)
    fn take_queued(&mut self, events: &mut mpsc::Receiver<SourceEvent>) {
        while let Ok(ev) = events.try_recv() {
            self.on_event(ev);
        }
    }

    async fn wait_for_sources(&mut self, events: &mut mpsc::Receiver<SourceEvent>) -> Result<(), RunError> {
        let started = Instant::now();
        let mut warned_timeout = false;
        let mut next_log = started + WAIT_LOG_EVERY;
        loop {
            let health = self.source.health();
            self.status.beat(*self.leader.borrow());
            self.publish_health(&health);
            self.status.set_sources(health.clone());
            let waiting: Vec<&SourceHealth> = health.iter().filter(|h| !h.synced).collect();
            if waiting.is_empty() {
                info!(after = ?started.elapsed(), "sources synced");
                return Ok(());
            }
            let describe = || {
                waiting
                    .iter()
                    .map(|h| match &h.error {
                        Some(e) => format!("{} ({e})", h.source),
                        None => h.source.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let elapsed = started.elapsed();
            if elapsed >= self.settings.cache_sync_timeout && !warned_timeout {
                if self.settings.once {
                    return Err(RunError::NotSynced(self.settings.cache_sync_timeout, describe()));
                }
                error!(waited = ?elapsed, "sources not synced after --cache-sync-timeout; still waiting, watches keep retrying: {}", describe());
                warned_timeout = true;
            } else if Instant::now() >= next_log {
                info!(waited = ?elapsed, "waiting for the first list of: {}", describe());
                next_log = Instant::now() + WAIT_LOG_EVERY;
            }
            tokio::select! {
                ev = events.recv() => if ev.is_none() { return Ok(()) },
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    fn on_event(&mut self, ev: SourceEvent) {
        let touched = match ev {
            SourceEvent::Changed(objects) => {
                let mut touched = Vec::new();
                for o in &objects {
                    touched.extend(self.set_object(o));
                }
                touched
            }
            SourceEvent::All => self.recompute_all(),
            SourceEvent::Health => {
                let health = self.source.health();
                let healthy = health.iter().all(SourceHealth::healthy);
                self.publish_health(&health);
                self.status.set_sources(health);
                if healthy {
                    // What was held back can be planned now.
                    std::mem::take(&mut self.held).into_iter().collect()
                } else {
                    Vec::new()
                }
            }
        };
        if !touched.is_empty() {
            debug!(names = touched.len(), "desired records changed");
            self.dirty.add(touched, Instant::now());
        }
    }

    fn publish_health(&self, health: &[SourceHealth]) {
        if let Some(m) = &self.metrics {
            for h in health {
                m.set_source_synced(&h.source, h.synced);
            }
        }
        self.count_read_errors();
    }

    /// Adds the source's failed reads since the last look to `external_dns_source_errors_total`.
    fn count_read_errors(&self) {
        let Some(m) = &self.metrics else { return };
        let now = self.source.read_errors();
        let before = self.read_errors_counted.swap(now, Ordering::Relaxed);
        if now > before {
            m.source_errors(now - before);
        }
    }

    /// Recomputes every object; returns the names whose desired records changed.
    fn recompute_all(&mut self) -> Vec<DnsName> {
        // At the version of the last pass, the pass would hand out what the index holds already.
        let version = self.source.version();
        if version.is_some() && version == self.swept_at {
            return Vec::new();
        }
        self.desired.begin_sweep();
        let mut touched = Vec::new();
        let source = self.source.clone();
        source.each_output(&mut |o, out| touched.extend(self.set_output(o, Some(out))));
        touched.extend(self.desired.end_sweep());
        self.swept_at = version;
        touched
    }

    /// Recomputes one object.
    fn set_object(&mut self, object: &ObjectRef) -> Vec<DnsName> {
        let now = self.source.endpoints(object);
        self.set_output(object, now.as_ref())
    }

    /// Takes in what `object` makes now; tells its owner about input it refused.
    fn set_output(&mut self, object: &ObjectRef, now: Option<&Arc<SourceOutput>>) -> Vec<DnsName> {
        if self.desired.unchanged(object, now) {
            return Vec::new();
        }
        if let Some(oe) = now {
            // Said once, and again only when what is wrong changes: the object is recomputed at
            // every change of anything it depends on.
            let before = self.desired.invalid_of(object);
            for inv in oe.invalid.iter().filter(|i| !before.contains(i)) {
                warn!(
                    object = %object,
                    field = %inv.field,
                    value = %inv.value,
                    reason = %inv.reason,
                    record_type = inv.record_type.map(|t| t.to_string()).unwrap_or_default(),
                    "invalid input"
                );
                self.source.note(object, &ObjectNote::Invalid { message: inv.to_string() });
                if let Some(m) = &self.metrics {
                    m.invalid_input(inv.kind.as_str());
                }
            }
        }
        let version = self.desired.version();
        let touched = self.desired.set(object, now.cloned());
        if let Some(m) = self.metrics.as_ref().filter(|_| self.desired.version() != version) {
            m.set_invalid_now(&self.desired.invalid_by_label());
        }
        touched
    }

    /// Deletes and updates held back this sync: everything when a source is unhealthy; records
    /// of objects whose input is partly invalid.
    fn protection(&self) -> Protected {
        let health = self.source.health();
        let unhealthy: Vec<String> = health.iter().filter(|h| !h.healthy()).map(|h| h.source.clone()).collect();
        if !unhealthy.is_empty() {
            warn!(sources = %unhealthy.join(","), "sources unhealthy; no deletions until they recover");
        }
        Protected { all: !unhealthy.is_empty(), resources: self.desired.objects_with_invalid_input() }
    }

    async fn incremental_sync(&mut self) -> Result<(), SyncError> {
        if !self.records.is_valid() {
            return self.full_sync().await;
        }
        let started = Instant::now();
        let (mut names, since) = self.dirty.take();
        if self.syncer.has_pools() {
            self.add_pool_names(&mut names);
        }
        let desired = self.desired.endpoints_at(&names);
        let lookup = self.names_with_ownership(&names);
        let current = self.records.records_at(&lookup);
        let protected = self.protection();
        let result = self.syncer.sync_against(desired, current, self.frozen_zones.clone(), &protected).await;
        let objects: Vec<ObjectRef> = self.desired.objects_at(&names).into_iter().collect();
        let outcome = self.finish(SyncKind::Incremental, result, started, since, Some(&objects), None);
        if outcome.is_err() {
            // Try these names again with the next sync.
            self.dirty.restore(names, since);
        }
        outcome
    }

    /// Events for the objects a sync concerned: what was published (for changes that events
    /// caused: the first full sync of a large cluster would otherwise post an Event per object),
    /// and what another owner holds.
    fn notify(&self, kind: SyncKind, report: &SyncReport) {
        if report.applied && kind == SyncKind::Incremental {
            let mut published: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
            for ep in report.planned.create.iter().chain(&report.planned.update_new) {
                if let Some(r) = ep.resource() {
                    published.entry(r).or_default().push(ep.dns_name.to_string());
                }
            }
            for (resource, mut names) in published {
                if let Some(o) = ObjectRef::from_resource_label(resource) {
                    names.dedup();
                    self.source.note(&o, &ObjectNote::Published { names });
                }
            }
        }
        for h in &report.deletions.holds {
            let note =
                ObjectNote::DeletionHeld { zone: h.zone.clone(), held: h.records.len(), allowance: h.allowance_left };
            let objects: BTreeSet<&str> = h.records.iter().filter_map(|e| e.resource()).collect();
            for o in objects.into_iter().filter_map(ObjectRef::from_resource_label) {
                self.source.note(&o, &note);
            }
        }
        for r in &report.pools {
            for o in r.resources.iter().filter_map(|r| ObjectRef::from_resource_label(r)) {
                self.source.note(&o, &ObjectNote::Pool(Box::new(r.clone())));
            }
        }
        for c in &report.conflicts {
            if let Some(o) = c.resource.as_deref().and_then(ObjectRef::from_resource_label) {
                let note =
                    ObjectNote::Conflict { name: c.dns_name.to_string(), foreign_owner: c.foreign_owner.clone() };
                self.source.note(&o, &note);
            }
        }
        for n in &report.not_served {
            // A pool's record is the pool owner's (no object label): told to the objects that
            // declare the pool.
            let pool_objects = report.pools.iter().filter(|p| p.host == n.endpoint.dns_name).flat_map(|p| &p.resources);
            let objects: BTreeSet<ObjectRef> = n
                .endpoint
                .resource()
                .into_iter()
                .chain(pool_objects.map(String::as_str))
                .filter_map(ObjectRef::from_resource_label)
                .collect();
            let record_type = n.endpoint.targets.iter().next().and_then(|t| t.split(' ').next()).unwrap_or("");
            let note = ObjectNote::NotServed {
                name: n.endpoint.dns_name.to_string(),
                record_type: format!("{} ({record_type})", n.endpoint.record_type),
                detail: n.detail.clone(),
            };
            for o in &objects {
                self.source.note(o, &note);
            }
        }
        if let Some(m) = self.metrics.as_ref().filter(|_| !report.not_served.is_empty()) {
            m.lua_servfail(report.not_served.len() as u64);
        }
        if report.applied {
            self.record_notes(&report.planned, &report.rejected, false);
        }
    }

    /// `--events-emit`: upstream's Event per record of `changes`.
    fn record_notes(&self, changes: &exodns_core::Changes, rejected: &[exodns_provider::Rejected], failed: bool) {
        let owner = self.registry.owner_id();
        for (o, note) in
            crate::record_events::record_notes(&self.settings.record_events, changes, rejected, failed, owner)
        {
            self.source.note(&o, &note);
        }
    }

    /// A pool's record is rendered from every member of it: a dirty pool hostname, or member,
    /// brings in the hostname and every name under `_pool.<hostname>` (members and their TXTs),
    /// desired or cached.
    fn add_pool_names(&self, names: &mut BTreeSet<DnsName>) {
        let mut hosts: BTreeSet<DnsName> = names.iter().cloned().collect();
        hosts.extend(names.iter().filter_map(|n| pool::member_of(n).map(|(_, h)| h)));
        let under = |n: &DnsName| pool::member_of(n).is_some_and(|(_, h)| hosts.contains(&h));
        let found: Vec<DnsName> =
            self.desired.names().chain(self.records.names()).filter(|n| under(n)).cloned().collect();
        names.extend(found);
        names.extend(hosts);
    }

    /// `names` plus the names of the TXT records that can carry their ownership.
    fn names_with_ownership(&self, names: &BTreeSet<DnsName>) -> Vec<DnsName> {
        let mut out: Vec<DnsName> = names.iter().cloned().collect();
        for name in names {
            for rt in RecordType::ALL {
                let probe = Endpoint::new(name.clone(), *rt, Default::default());
                out.extend(self.registry.ownership_names(&probe));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn finish(
        &mut self,
        kind: SyncKind,
        result: Result<SyncReport, SyncError>,
        started: Instant,
        event_since: Option<Instant>,
        objects: Option<&[ObjectRef]>,
        full: Option<FullCounts>,
    ) -> Result<(), SyncError> {
        let label = match kind {
            SyncKind::Full => "full",
            SyncKind::Incremental => "incremental",
        };
        match result {
            Ok(mut report) => {
                self.held.extend(report.held_back.iter().map(|e| e.dns_name.clone()));
                if full.as_ref().is_some_and(|f| !f.replayed) {
                    self.syncer.observe_full(&report);
                }
                self.budget_names.extend(report.deletions.names().cloned());
                if let Some(at) = report.deletions.retry_at.map(Instant::from_std) {
                    self.budget_release = Some(self.budget_release.map_or(at, |t| t.min(at)));
                }
                if let Some(m) = &self.metrics {
                    m.set_deletions_held(&self.syncer.deletions_held());
                }
                let c = &report.outgoing;
                let took = started.elapsed();
                if c.is_empty() {
                    debug!(kind = label, ?took, "sync: no changes");
                } else {
                    info!(
                        kind = label,
                        ?took,
                        create = c.create.len(),
                        update = c.update_new.len(),
                        delete = c.delete.len(),
                        rejected = report.rejected.len(),
                        applied = report.applied,
                        "sync applied"
                    );
                }
                self.mark_pools_not_served(&mut report);
                self.report_unroutable(kind, &report);
                // Notes first: a status writer reads the pool reports among them.
                self.notify(kind, &report);
                match objects {
                    Some(objects) => objects.iter().for_each(|o| self.source.published(o)),
                    None => self.desired.objects().for_each(|o| self.source.published(o)),
                }
                let latency = event_since.map(|t| t.elapsed());
                self.status.sync_succeeded(label, took, latency, &report);
                if let Some(m) = &self.metrics {
                    m.sync_succeeded(kind, took, latency, &summary(&report, full));
                }
                if report.applied {
                    // Last, with the rest of the report gone, so that the sent changes move into
                    // the cache instead of being copied beside everything else.
                    let sent = std::mem::take(&mut report.outgoing);
                    let rejected = std::mem::take(&mut report.rejected);
                    drop(report);
                    self.records.record_applied(sent, &rejected);
                    if let Some(m) = self.metrics.as_ref().filter(|_| !self.settings.record_cache_time.is_zero()) {
                        m.provider_cache_apply();
                    }
                }
                Ok(())
            }
            Err(e) => {
                if let Some(changes) = self.syncer.take_failed() {
                    self.record_notes(&changes, &[], true);
                }
                self.status.sync_failed(&e.to_string());
                if let Some(m) = &self.metrics {
                    m.sync_failed();
                    // Upstream counts a failed apply as a registry error too.
                    if matches!(e, SyncError::Records(_) | SyncError::Apply(_) | SyncError::Registry(_)) {
                        m.registry_error();
                    }
                }
                Err(e)
            }
        }
    }
}

pub(crate) fn count_by_type<'a>(eps: impl Iterator<Item = &'a Endpoint>) -> Vec<(String, i64)> {
    let mut counts: std::collections::BTreeMap<RecordType, i64> = std::collections::BTreeMap::new();
    for ep in eps {
        *counts.entry(ep.record_type).or_default() += 1;
    }
    counts.into_iter().map(|(t, n)| (t.to_string(), n)).collect()
}

/// The metrics' view of a sync report.
fn summary(report: &SyncReport, full: Option<FullCounts>) -> SyncSummary {
    let c = &report.planned;
    let (desired_by_type, current_by_type) = full.map(|f| (f.desired_by_type, f.current_by_type)).unzip();
    SyncSummary {
        creates: c.create.len() as u64,
        updates: c.update_new.len() as u64,
        deletes: c.delete.len() as u64,
        rejected: report.rejected.len() as u64,
        conflicts: report
            .conflicts
            .iter()
            .map(|k| (k.record_type.to_string(), k.foreign_owner.clone(), k.dns_name.to_string()))
            .collect(),
        verified_by_type: desired_by_type.is_some().then(|| report.verified_by_type.clone()),
        desired_by_type,
        current_by_type,
    }
}

#[path = "run_findings.rs"]
mod findings;
#[path = "run_full.rs"]
mod full;

use full::{FullCounts, Settled};
