//! One full synchronisation, the building block of both `--once` and the loop.

use std::sync::Arc;

use exodns_core::plan::{OwnerConflict, PlanOptions, plan};
use exodns_core::registry::Registry;
use exodns_core::{Changes, Endpoint, Invalid};
use exodns_provider::{Provider, ProviderError, Rejected, ZoneFailure};
use tracing::{debug, info, warn};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("reading records: {0}")]
    Records(#[source] ProviderError),
    #[error("adjusting endpoints: {0}")]
    Adjust(#[source] ProviderError),
    #[error("applying changes: {0}")]
    Apply(#[source] ProviderError),
}

impl SyncError {
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Records(e) | SyncError::Adjust(e) | SyncError::Apply(e) => e.is_transient(),
        }
    }
}

/// What one sync found and did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// The planner's changes on records (no ownership TXT).
    pub planned: Changes,
    /// What was sent to the provider: records and their ownership TXT (empty on a dry run).
    pub sent: Changes,
    /// Changes the provider refused.
    pub rejected: Vec<Rejected>,
    /// Desired endpoints dropped as invalid (by the registry: an ownership name that cannot be formed).
    pub invalid: Vec<Invalid>,
    /// Creates skipped because another owner holds the name.
    pub conflicts: Vec<OwnerConflict>,
    /// Zones the provider could not read; nothing under them was planned.
    pub frozen_zones: Vec<ZoneFailure>,
    /// The records as read (after ownership decoding), for printing and caches.
    pub current: Vec<Endpoint>,
}

/// Plans and applies with one provider, one registry and one set of plan options.
pub struct Syncer {
    provider: Arc<dyn Provider>,
    registry: Arc<dyn Registry + Send + Sync>,
    options: PlanOptions,
    dry_run: bool,
}

impl Syncer {
    pub fn new(provider: Arc<dyn Provider>, registry: Arc<dyn Registry + Send + Sync>, mut options: PlanOptions) -> Self {
        options.provider_filter = provider.domain_filter();
        Syncer { provider, registry, options, dry_run: false }
    }

    /// Plan and report, but send nothing to the provider.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// Plans `desired` against what the provider holds now and applies the difference.
    pub async fn sync_once(&self, desired: Vec<Endpoint>) -> Result<SyncReport, SyncError> {
        let records = self.provider.records().await.map_err(SyncError::Records)?;
        let current = records.endpoints;
        self.sync_against(desired, current, records.unreadable_zones).await
    }

    /// Plans `desired` against `current` (raw provider records, ownership TXT included) and
    /// applies the difference. Names under `frozen_zones` are left out of the plan entirely.
    pub async fn sync_against(
        &self,
        desired: Vec<Endpoint>,
        current: Vec<Endpoint>,
        frozen_zones: Vec<ZoneFailure>,
    ) -> Result<SyncReport, SyncError> {
        let owned = self.registry.records(current);
        let mut desired = self.provider.adjust_endpoints(desired).await.map_err(SyncError::Adjust)?;
        let mut current_view = owned.endpoints.clone();
        if !frozen_zones.is_empty() {
            // An unread zone is unknown, not empty: plan nothing under it.
            let frozen = |ep: &Endpoint| frozen_zones.iter().any(|z| ep.dns_name.is_within(&z.zone));
            for z in &frozen_zones {
                warn!(zone = %z.zone, reason = %z.reason, "zone could not be read; its names are left alone this sync");
            }
            desired.retain(|ep| !frozen(ep));
            current_view.retain(|ep| !frozen(ep));
        }
        let planned = plan(&desired, &current_view, &self.options);
        for c in &planned.conflicts {
            info!(name = %c.dns_name, record_type = %c.record_type, foreign_owner = %c.foreign_owner,
                  resource = c.resource.as_deref().unwrap_or(""), "name is held by another owner; not taking it over");
        }
        let mut report = SyncReport {
            planned: planned.changes.clone(),
            conflicts: planned.conflicts,
            frozen_zones,
            current: owned.endpoints.clone(),
            ..SyncReport::default()
        };
        if !planned.changes.has_changes() {
            debug!("no changes");
            return Ok(report);
        }
        let outgoing = self.registry.apply(planned.changes, &owned);
        report.invalid = outgoing.invalid;
        for inv in &report.invalid {
            warn!("{inv}");
        }
        if self.dry_run {
            info!(changes = outgoing.changes.len(), "dry run: not applying");
            report.sent = Changes::default();
            report.planned = outgoing.changes;
            return Ok(report);
        }
        let applied = self.provider.apply_changes(&outgoing.changes).await.map_err(SyncError::Apply)?;
        for r in &applied.rejected {
            warn!(record = %r.endpoint, reason = %r.reason, "provider refused a change");
        }
        report.rejected = applied.rejected;
        report.sent = outgoing.changes;
        Ok(report)
    }
}
