//! One full synchronisation, the building block of both `--once` and the loop.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use exodns_core::endpoint::EndpointKey;
use exodns_core::failover::pool::{PoolPlan, PoolReport, PoolSettings, plan_pools};
use exodns_core::plan::{OwnerConflict, PlanOptions, plan};
use exodns_core::record_type::RecordType;
use exodns_core::registry::{Owned, Registry, TableRegistry, TableWrite};
use exodns_core::source::Protected;
use exodns_core::{Changes, DnsName, Endpoint, Invalid};
use exodns_provider::store::Outcome;
use exodns_provider::{NotServed, OwnershipStore, Provider, ProviderError, Refused, Rejected, ZoneFailure};
use tracing::{debug, info, warn};

use crate::budget::{DeletionBudget, Filtered};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("reading records: {0}")]
    Records(#[source] ProviderError),
    #[error("adjusting endpoints: {0}")]
    Adjust(#[source] ProviderError),
    #[error("applying changes: {0}")]
    Apply(#[source] ProviderError),
    #[error("not applying changes: this replica is no longer sure it holds the leader lease")]
    NotLeader,
    /// The ownership store of `--registry=crd`/`dynamodb` could not be read or written.
    #[error("registry: {0}")]
    Registry(#[source] ProviderError),
}

impl SyncError {
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Records(e) | SyncError::Adjust(e) | SyncError::Apply(e) | SyncError::Registry(e) => {
                e.is_transient()
            }
            SyncError::NotLeader => true,
        }
    }

    /// Label for the `error` dimension of metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            SyncError::Records(_) => "records",
            SyncError::Adjust(_) => "adjust",
            SyncError::Apply(_) => "apply",
            SyncError::NotLeader => "not_leader",
            SyncError::Registry(_) => "registry",
        }
    }
}

/// What one sync found and did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// The planner's changes on records (no ownership TXT).
    pub planned: Changes,
    /// The changes with their ownership TXT: sent to the provider, or on a dry run, what would
    /// have been sent.
    pub outgoing: Changes,
    /// Whether `outgoing` was sent.
    pub applied: bool,
    /// Changes the provider refused.
    pub rejected: Vec<Rejected>,
    /// Record sets applied that the DNS server answers SERVFAIL for (PowerDNS LUA records whose
    /// Lua does not run, found with `--pdns-dns-server`).
    pub not_served: Vec<NotServed>,
    /// Desired endpoints dropped by the registry (an ownership name that cannot be formed).
    pub invalid: Vec<Invalid>,
    /// Creates skipped because another owner holds the name.
    pub conflicts: Vec<OwnerConflict>,
    /// Zones the provider could not read; nothing under them was planned.
    pub frozen_zones: Vec<ZoneFailure>,
    /// Current records whose delete or update was held back by [`Protected`].
    pub held_back: Vec<Endpoint>,
    /// The records as read, ownership decoded.
    pub current: Vec<Endpoint>,
    /// Desired records found as desired, by type (filled by full syncs).
    pub verified_by_type: Vec<(String, i64)>,
    /// Deletions the deletion budget held or put off.
    pub deletions: Filtered,
    /// The failover pools this sync saw (see [`Pools`]).
    pub pools: Vec<PoolReport>,
    /// Desired records with a set identifier that the provider cannot keep apart
    /// ([`Provider::routing_policies`]): not planned, their objects' records held as they are.
    pub unroutable: Vec<Endpoint>,
}

/// Failover pools: records at pool hostnames planned in a second pass under the shared pool
/// owner, with its own registry (see `exodns_core::failover::pool`).
#[derive(Clone)]
pub struct Pools {
    pub registry: Arc<dyn Registry>,
    pub settings: PoolSettings,
}

/// A registry whose ownership entries live in a store outside the zone (`--registry=crd`,
/// `--registry=dynamodb`): the registry plans with the entries, the store is read before
/// planning and written around the provider's apply.
#[derive(Clone)]
pub struct TableStore {
    pub registry: Arc<TableRegistry>,
    pub store: Arc<dyn OwnershipStore>,
}

/// Asked right before every write to the provider (leader election's fence).
pub trait WriteGate: Send + Sync {
    fn may_write(&self) -> bool;
}

impl<F: Fn() -> bool + Send + Sync> WriteGate for F {
    fn may_write(&self) -> bool {
        self()
    }
}

/// Plans and applies with one provider, one registry and one set of plan options.
pub struct Syncer {
    provider: Arc<dyn Provider>,
    registry: Arc<dyn Registry>,
    options: PlanOptions,
    dry_run: bool,
    gate: Option<Arc<dyn WriteGate>>,
    budget: Option<Mutex<DeletionBudget>>,
    /// The planned changes of the last sync whose apply failed (for `RecordError` Events).
    failed: Mutex<Option<Changes>>,
    pools: Option<Pools>,
    table: Option<TableStore>,
    /// Unreadable store entries already warned about (each is said once).
    warned: Mutex<std::collections::HashSet<String>>,
}

impl Syncer {
    pub fn new(provider: Arc<dyn Provider>, registry: Arc<dyn Registry>, options: PlanOptions) -> Self {
        Syncer {
            provider,
            registry,
            options,
            dry_run: false,
            gate: None,
            budget: None,
            failed: Mutex::new(None),
            pools: None,
            table: None,
            warned: Mutex::new(Default::default()),
        }
    }

    /// Keeps ownership in `table`'s store (its registry must be the one given to [`Syncer::new`]).
    pub fn with_table_store(mut self, table: TableStore) -> Self {
        self.table = Some(table);
        self
    }

    /// Reads the ownership store, if the registry has one; before every full sync. A store
    /// that cannot be read fails the sync before anything is planned.
    pub async fn load_ownership(&self) -> Result<(), SyncError> {
        let Some(t) = &self.table else { return Ok(()) };
        let loaded = t.store.load().await.map_err(SyncError::Registry)?;
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        for why in &loaded.invalid {
            if warned.insert(why.clone()) {
                warn!(store = %t.store.describe(), "{why}; the entry owns nothing");
            }
        }
        debug!(store = %t.store.describe(), entries = loaded.table.len(), "ownership entries read");
        t.registry.load(loaded.table);
        Ok(())
    }

    /// Plans failover pools (a second pass under the pool owner).
    pub fn with_pools(mut self, pools: Pools) -> Self {
        self.pools = Some(pools);
        self
    }

    pub fn has_pools(&self) -> bool {
        self.pools.is_some()
    }

    /// Whether ownership is kept in a store outside the zone (`--registry=crd|dynamodb`).
    pub fn has_ownership_store(&self) -> bool {
        self.table.is_some()
    }

    /// Limits deletions per zone and sync window (see [`crate::budget`]).
    pub fn with_deletion_budget(mut self, budget: DeletionBudget) -> Self {
        self.budget = Some(Mutex::new(budget));
        self
    }

    fn budget(&self) -> Option<std::sync::MutexGuard<'_, DeletionBudget>> {
        self.budget.as_ref().map(|b| b.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The zone of `name` as the deletion budget counts it; empty when the provider cannot tell.
    fn zone_namer(&self) -> impl Fn(&DnsName) -> String + use<> {
        let zones = self.provider.zones();
        move |n: &DnsName| zones.as_ref().and_then(|z| z.zone_of(n)).unwrap_or_default().to_owned()
    }

    /// After a full sync: tells the deletion budget what each zone holds for this owner.
    pub fn observe_full(&self, report: &SyncReport) {
        if let Some(mut b) = self.budget() {
            b.observe_full(&report.current, &self.zone_namer(), &self.options.owner_id);
        }
    }

    /// Deletions the budget holds now, by zone.
    pub fn deletions_held(&self) -> Vec<(String, usize)> {
        self.budget().map(|b| b.held_by_zone()).unwrap_or_default()
    }

    /// Writes only while `gate` allows (a leader whose lease may have lapsed must not write).
    pub fn with_gate(mut self, gate: Arc<dyn WriteGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Plan and report, but send nothing to the provider.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The planned changes of the last failed apply, once.
    pub fn take_failed(&self) -> Option<Changes> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// Plans `desired` against what the provider holds now and applies the difference.
    pub async fn sync_once(&self, desired: Vec<Endpoint>) -> Result<SyncReport, SyncError> {
        self.sync_protected(desired, &Protected::default()).await
    }

    /// As [`sync_once`](Self::sync_once), holding back changes to `protected` records.
    pub async fn sync_protected(&self, desired: Vec<Endpoint>, protected: &Protected) -> Result<SyncReport, SyncError> {
        let records = self.provider.records().await.map_err(SyncError::Records)?;
        self.load_ownership().await?;
        self.sync_full(desired, records.endpoints, records.unreadable_zones, protected).await
    }

    /// As [`sync_against`](Self::sync_against) with `current` the provider's whole read: with
    /// an ownership store, its entries whose record is gone are released too.
    pub async fn sync_full(
        &self,
        desired: Vec<Endpoint>,
        current: Vec<Endpoint>,
        frozen_zones: Vec<ZoneFailure>,
        protected: &Protected,
    ) -> Result<SyncReport, SyncError> {
        let orphans = match &self.table {
            Some(t) => {
                let present: std::collections::HashSet<EndpointKey> = current.iter().map(Endpoint::key).collect();
                let filter = &self.options.domain_filter;
                let provider_filter = self.provider.domain_filter();
                let in_scope = |n: &DnsName| {
                    !frozen_zones.iter().any(|z| n.is_within(&z.zone))
                        && filter.matches(n.as_str())
                        && provider_filter.matches(n.as_str())
                };
                t.registry.orphans(&|k| present.contains(k), &in_scope)
            }
            None => Vec::new(),
        };
        let pool_owned =
            self.pools.as_ref().map(|p| p.registry.records(current.clone()).with_zones(self.provider.zones()));
        let owned = self.registry.records(current).with_zones(self.provider.zones());
        self.plan_and_apply_with(desired, owned, pool_owned, frozen_zones, protected, orphans).await
    }

    /// Plans `desired` against `current` (raw provider records, ownership TXT included) and
    /// applies the difference. Names under `frozen_zones` are left out of the plan entirely.
    pub async fn sync_against(
        &self,
        desired: Vec<Endpoint>,
        current: Vec<Endpoint>,
        frozen_zones: Vec<ZoneFailure>,
        protected: &Protected,
    ) -> Result<SyncReport, SyncError> {
        let pool_owned =
            self.pools.as_ref().map(|p| p.registry.records(current.clone()).with_zones(self.provider.zones()));
        let owned = self.registry.records(current).with_zones(self.provider.zones());
        self.plan_and_apply_with(desired, owned, pool_owned, frozen_zones, protected, Vec::new()).await
    }

    /// Plans `desired` against records whose ownership is already decoded (`exodns plan
    /// --current-endpoints` reads them from a file) and applies the difference.
    pub async fn plan_and_apply(
        &self,
        desired: Vec<Endpoint>,
        owned: Owned,
        frozen_zones: Vec<ZoneFailure>,
        protected: &Protected,
    ) -> Result<SyncReport, SyncError> {
        let pool_owned = self.pools.as_ref().map(|_| Owned::new(owned.endpoints.clone()));
        self.plan_and_apply_with(desired, owned, pool_owned, frozen_zones, protected, Vec::new()).await
    }

    async fn plan_and_apply_with(
        &self,
        desired: Vec<Endpoint>,
        owned: Owned,
        pool_owned: Option<Owned>,
        frozen_zones: Vec<ZoneFailure>,
        protected: &Protected,
        orphans: Vec<EndpointKey>,
    ) -> Result<SyncReport, SyncError> {
        let mut desired = desired;
        let mut current = owned.endpoints.clone();
        // An unread zone is unknown, not empty: plan nothing under it.
        let frozen = |ep: &Endpoint| frozen_zones.iter().any(|z| ep.dns_name.is_within(&z.zone));
        if !frozen_zones.is_empty() {
            for z in &frozen_zones {
                warn!(zone = %z.zone, reason = %z.reason, "zone could not be read; its names are left alone this sync");
            }
            desired.retain(|ep| !frozen(ep));
            current.retain(|ep| !frozen(ep));
        }
        let mut pool_plan: Option<PoolPlan> = None;
        if let Some(p) = &self.pools {
            let mut pp = plan_pools(desired, &mut current, &p.settings, &|c: &Endpoint| protected.covers(c));
            desired = std::mem::take(&mut pp.desired);
            pool_plan = Some(pp);
        }
        // Without routing policies a set-identified record would be merged with its siblings
        // (and, read back without its identifier, created again at every sync): left out, its
        // object's records kept as they are. At a pool's hostname it joined the member above.
        let mut unroutable = Vec::new();
        let held_objects;
        let mut protected = protected;
        if !self.provider.routing_policies() && desired.iter().any(|e| !e.set_identifier.is_empty()) {
            let (routed, plain): (Vec<Endpoint>, Vec<Endpoint>) =
                desired.into_iter().partition(|e| !e.set_identifier.is_empty());
            desired = plain;
            let mut held = protected.clone();
            held.resources.extend(routed.iter().filter_map(|e| e.resource().map(str::to_owned)));
            held_objects = held;
            protected = &held_objects;
            unroutable = routed;
        }
        let desired = self.provider.adjust_endpoints(desired).await.map_err(SyncError::Adjust)?;
        // The provider's filter can change (a webhook negotiated late, zones created since): ask
        // each time.
        let options = PlanOptions { provider_filter: self.provider.domain_filter(), ..self.options.clone() };
        let mut planned = plan(&desired, &current, &options);
        // Not needed past the plan; the apply below can take a while.
        drop(desired);
        let pool_changes = match (&pool_plan, &self.pools) {
            (Some(pp), Some(p)) => {
                let opts = PlanOptions {
                    owner_id: p.settings.pool_owner.clone(),
                    old_owner_id: String::new(),
                    managed_types: vec![RecordType::A, RecordType::AAAA, RecordType::LUA],
                    excluded_types: Vec::new(),
                    ..options.clone()
                };
                let pool_current = pp.pool_current(&current, &self.options.owner_id);
                let pooled = plan(&pp.pool_desired, &pool_current, &opts);
                for r in &pp.reports {
                    report_pool(r);
                }
                pooled.changes
            }
            _ => Changes::default(),
        };
        let held_back = protected.hold_back(&mut planned.changes);
        if !held_back.is_empty() {
            warn!(
                held_back = held_back.len(),
                "holding back deletes and updates of records whose source input is broken or missing"
            );
        }
        let deletions = match self.budget() {
            Some(mut b) => {
                let now = Instant::now();
                let f = b.filter(&mut planned.changes, &current, &self.zone_namer(), &self.options.owner_id, now);
                for h in &f.holds {
                    warn!(
                        zone = %h.zone,
                        held = h.records.len(),
                        allowance = h.allowance_left,
                        owned = h.owned,
                        release_in = ?h.release_at.saturating_duration_since(now),
                        "deletion budget exceeded: holding every deletion of this zone (creates and updates go on); they go ahead once wanted for --deletion-grace, or with --deletion-budget=off"
                    );
                }
                if !f.deferred.is_empty() {
                    debug!(
                        deferred = f.deferred.len(),
                        "deletions wait for more that may follow before the budget counts them"
                    );
                }
                f
            }
            None => Filtered::default(),
        };
        log_conflicts(&planned.conflicts);
        let mut all_planned = planned.changes.clone();
        merge(&mut all_planned, pool_changes.clone());
        let mut report = SyncReport {
            planned: all_planned,
            pools: pool_plan.map(|p| p.reports).unwrap_or_default(),
            unroutable,
            conflicts: planned.conflicts,
            frozen_zones,
            held_back,
            deletions,
            current: owned.endpoints.clone(),
            ..SyncReport::default()
        };
        if !planned.changes.has_changes() && !pool_changes.has_changes() {
            debug!("no changes");
            if !orphans.is_empty() && !self.dry_run && self.gate.as_ref().is_none_or(|g| g.may_write()) {
                self.finish_table(Outcome { releases: orphans, ..Outcome::default() }).await?;
            }
            return Ok(report);
        }
        let mut outgoing = self.registry.apply(planned.changes, &owned);
        if let (Some(p), Some(pool_owned)) = (&self.pools, &pool_owned)
            && pool_changes.has_changes()
        {
            // One apply: a plain record of ours at a pool's hostname is replaced in the same
            // request (one PowerDNS PATCH per zone).
            let pooled = p.registry.apply(pool_changes, pool_owned);
            merge(&mut outgoing.changes, pooled.changes);
            outgoing.invalid.extend(pooled.invalid);
        }
        for inv in &outgoing.invalid {
            warn!("{inv}");
        }
        report.invalid = outgoing.invalid;
        report.outgoing = outgoing.changes;
        if self.dry_run {
            info!(changes = report.outgoing.len(), "dry run: not applying");
            return Ok(report);
        }
        if self.gate.as_ref().is_some_and(|g| !g.may_write()) {
            return Err(SyncError::NotLeader);
        }
        let table = outgoing.table;
        let before = self.prepare_table(&table, &mut report).await?;
        if report.outgoing.is_empty() {
            // Every create was refused by the ownership store.
            if !orphans.is_empty() {
                self.finish_table(Outcome { releases: orphans, ..Outcome::default() }).await?;
            }
            return Ok(report);
        }
        let applied = match self.provider.apply_changes(&report.outgoing).await {
            Ok(a) => a,
            Err(e) => {
                if !before.is_empty() {
                    let why = format!("the provider could not apply the batch: {e}");
                    let failed = before.iter().map(|k| (k.clone(), why.clone())).collect();
                    if let Err(te) = self.finish_table(Outcome { failed, ..Outcome::default() }).await {
                        warn!("{te}");
                    }
                }
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.planned);
                return Err(SyncError::Apply(e));
            }
        };
        if self.table.is_some() {
            let refused: std::collections::HashMap<EndpointKey, String> =
                applied.rejected.iter().map(|r| (r.endpoint.key(), r.reason.to_string())).collect();
            let mut outcome = Outcome::default();
            for key in before {
                match refused.get(&key) {
                    Some(why) => outcome.failed.push((key, why.clone())),
                    None => outcome.applied.push(key),
                }
            }
            let claimed: std::collections::HashSet<&EndpointKey> =
                outcome.applied.iter().chain(outcome.failed.iter().map(|(k, _)| k)).collect();
            let released = table.iter().filter_map(|w| match w {
                TableWrite::Release(k) if !refused.contains_key(k) => Some(k.clone()),
                _ => None,
            });
            let orphans = orphans.into_iter().filter(|k| !claimed.contains(k));
            outcome.releases = released.chain(orphans).collect();
            self.finish_table(outcome).await?;
        }
        for r in &applied.rejected {
            warn!(record = %r.endpoint, reason = %r.reason, "provider refused a change");
        }
        for n in &applied.not_served {
            warn!(record = %n.endpoint, detail = %n.detail, "applied, but the DNS server answers SERVFAIL for it");
        }
        report.rejected = applied.rejected;
        report.not_served = applied.not_served;
        report.applied = true;
        Ok(report)
    }
}

impl Syncer {
    /// Writes the claims and updates of `table` to the ownership store before the provider
    /// applies; drops the creates whose claim another owner holds (reported as conflicts).
    /// Returns the keys written.
    async fn prepare_table(
        &self,
        table: &[TableWrite],
        report: &mut SyncReport,
    ) -> Result<Vec<EndpointKey>, SyncError> {
        let Some(t) = &self.table else { return Ok(Vec::new()) };
        let before: Vec<TableWrite> = table.iter().filter(|w| w.is_before()).cloned().collect();
        if before.is_empty() {
            return Ok(Vec::new());
        }
        // Keys another owner holds are refused here, without asking the store.
        let snapshot = t.registry.snapshot();
        let (held, before): (Vec<TableWrite>, Vec<TableWrite>) = before
            .into_iter()
            .partition(|w| matches!(w, TableWrite::Claim(_)) && snapshot.foreign_owner(&w.key()).is_some());
        let mut refused: Vec<Refused> = held
            .iter()
            .map(|w| Refused { key: w.key(), owner: snapshot.foreign_owner(&w.key()).unwrap_or("").to_owned() })
            .collect();
        if !before.is_empty() {
            refused.extend(t.store.prepare(&before).await.map_err(SyncError::Registry)?);
        }
        for r in &refused {
            info!(name = %r.key.dns_name, record_type = %r.key.record_type, foreign_owner = %r.owner,
                  "the ownership store holds this record for another owner; not creating it");
            let is_it = |e: &Endpoint| e.key() == r.key;
            if let Some(ep) = report.outgoing.create.iter().find(|e| is_it(e)) {
                report.conflicts.push(OwnerConflict {
                    dns_name: ep.dns_name.clone(),
                    set_identifier: ep.set_identifier.clone(),
                    record_type: ep.record_type,
                    foreign_owner: r.owner.clone(),
                    resource: ep.resource().map(str::to_owned),
                });
            }
            report.outgoing.create.retain(|e| !is_it(e));
            report.planned.create.retain(|e| !is_it(e));
        }
        let written: Vec<TableWrite> =
            before.into_iter().filter(|w| !refused.iter().any(|r| r.key == w.key())).collect();
        t.registry.commit(&written);
        Ok(written.iter().map(TableWrite::key).collect())
    }

    /// Writes the releases (and the outcome of the claims) to the ownership store.
    async fn finish_table(&self, outcome: Outcome) -> Result<(), SyncError> {
        let Some(t) = &self.table else { return Ok(()) };
        if outcome.is_empty() {
            return Ok(());
        }
        t.store.finish(&outcome).await.map_err(SyncError::Registry)?;
        let released: Vec<TableWrite> = outcome.releases.into_iter().map(TableWrite::Release).collect();
        t.registry.commit(&released);
        Ok(())
    }
}

fn merge(into: &mut Changes, from: Changes) {
    into.create.extend(from.create);
    into.update_old.extend(from.update_old);
    into.update_new.extend(from.update_new);
    into.delete.extend(from.delete);
}

/// Said at every sync that plans the name (and at every full sync: see `run_full.rs`).
pub(crate) fn log_conflicts(conflicts: &[OwnerConflict]) {
    for c in conflicts {
        info!(name = %c.dns_name, record_type = %c.record_type, foreign_owner = %c.foreign_owner,
              resource = c.resource.as_deref().unwrap_or(""), "name is held by another owner; not taking it over");
    }
}

pub(crate) fn report_pool(r: &PoolReport) {
    use exodns_core::failover::pool::PoolOutcome as O;
    let objects = r.resources.join(",");
    match &r.outcome {
        O::Foreign { record_type, owner } => warn!(
            host = %r.host, %record_type, owner = %if owner.is_empty() { "(none)" } else { owner.as_str() }, %objects,
            "failover pool: the hostname holds a record of another owner; nothing is written there"
        ),
        O::PolicyConflict { regions } => warn!(
            host = %r.host, regions = %regions.join(","), %objects,
            "failover pool: the regions' members disagree on the policy; the published record is left as it is"
        ),
        O::Unrenderable { reason } => warn!(host = %r.host, %reason, %objects, "failover pool: left as it is"),
        other => {
            debug!(host = %r.host, outcome = ?other, content = r.content.as_deref().unwrap_or(""), "failover pool")
        }
    }
}
