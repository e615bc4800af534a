//! The full sync: every object recomputed, the zone read again, everything planned — unless
//! nothing it plans from changed since the last full sync that had nothing to do.
//!
//! A full sync is the loop's repair of drift: most of them, in a cluster whose DNS is up to
//! date, find nothing. The plan is a function of its inputs (the desired records, the zone's
//! records, what is protected, the provider's filter and zones), so when each is found equal to
//! what a quiet full sync planned from, planning again would find the same nothing: the zone is
//! still read and compared with the cache (that is the repair), but not decoded nor planned, and
//! the findings of that sync (conflicts, pools, records the provider cannot route) are reported
//! again as they were.

use std::collections::HashMap;

use exodns_core::Targets;
use exodns_core::endpoint::EndpointKey;
use exodns_core::filter::DomainFilterJson;
use exodns_core::source::Protected;
use exodns_core::zones::ZoneIndex;
use exodns_telemetry::SyncKind;
use tokio::time::Instant;
use tracing::debug;

use super::{Controller, count_by_type};
use crate::sync::{SyncError, SyncReport, log_conflicts, report_pool};

/// A full sync's counts by record type, for the metrics.
#[derive(Debug, Clone)]
pub(crate) struct FullCounts {
    pub desired_by_type: Vec<(String, i64)>,
    pub current_by_type: Vec<(String, i64)>,
    /// The report is a quiet sync's findings reported again: it does not hold the zone.
    pub replayed: bool,
}

/// What a plan is computed from, besides the zone's records.
#[derive(Debug, PartialEq)]
struct Inputs {
    desired: u64,
    protected: Protected,
    provider_filter: DomainFilterJson,
    zones: Option<ZoneIndex>,
}

/// The last full sync that had nothing to do: what it planned from, and what it found.
pub(crate) struct Settled {
    inputs: Inputs,
    /// The record cache's version: the zone as that sync read it.
    records: u64,
    counts: FullCounts,
    report: SyncReport,
}

impl Settled {
    /// Keeps `report`'s findings when it shows nothing to do: nothing planned, held, deferred,
    /// refused, or left out.
    fn of(inputs: Inputs, records: u64, report: &SyncReport, counts: &FullCounts) -> Option<Settled> {
        let quiet = !report.applied
            && report.planned.is_empty()
            && report.outgoing.is_empty()
            && report.rejected.is_empty()
            && report.not_served.is_empty()
            && report.invalid.is_empty()
            && report.frozen_zones.is_empty()
            && report.held_back.is_empty()
            && report.deletions.holds.is_empty()
            && report.deletions.deferred.is_empty()
            && report.deletions.retry_at.is_none();
        quiet.then(|| Settled {
            inputs,
            records,
            counts: FullCounts { replayed: true, ..counts.clone() },
            report: SyncReport {
                conflicts: report.conflicts.clone(),
                pools: report.pools.clone(),
                unroutable: report.unroutable.clone(),
                verified_by_type: report.verified_by_type.clone(),
                ..SyncReport::default()
            },
        })
    }

    /// The findings again, logged as the sync that found them logged them.
    fn replay(&self) -> (SyncReport, FullCounts) {
        let r = &self.report;
        r.pools.iter().for_each(report_pool);
        log_conflicts(&r.conflicts);
        let report = SyncReport {
            conflicts: r.conflicts.clone(),
            pools: r.pools.clone(),
            unroutable: r.unroutable.clone(),
            verified_by_type: r.verified_by_type.clone(),
            ..SyncReport::default()
        };
        (report, self.counts.clone())
    }
}

impl Controller {
    fn inputs(&self, protected: &Protected) -> Inputs {
        let provider = self.syncer.provider();
        Inputs {
            desired: self.desired.version(),
            protected: protected.clone(),
            provider_filter: provider.domain_filter().to_json(),
            zones: provider.zones(),
        }
    }

    pub(super) async fn full_sync(&mut self) -> Result<(), SyncError> {
        let started = Instant::now();
        // A full sync covers every pending change.
        let (_, since) = self.dirty.take();
        self.held.clear();
        self.source.refresh().await;
        self.count_read_errors();
        self.recompute_all();
        let protected = self.protection();
        let cache_time = self.settings.record_cache_time;
        let cached = !cache_time.is_zero()
            && self.records.is_valid()
            && self.frozen_zones.is_empty()
            && self.records_read_at.is_some_and(|t| t.elapsed() < cache_time);
        if let Some(m) = self.metrics.as_ref().filter(|_| !cache_time.is_zero()) {
            m.provider_cache_read(cached);
        }
        if let Some(m) = &self.metrics
            && self.deduplicated_at != Some(self.desired.version())
        {
            m.set_deduplicated(&self.desired.duplicates_by_label());
            self.deduplicated_at = Some(self.desired.version());
        }
        let read = if cached {
            debug!("full sync against the cached records (--provider-cache-time, --txt-cache-interval)");
            None
        } else {
            match self.syncer.provider().records().await {
                Ok(r) => Some(r),
                Err(e) => {
                    self.records.invalidate();
                    self.status.sync_failed(&e.to_string());
                    if let Some(m) = &self.metrics {
                        // A failed sync, as upstream counts one whose registry read failed.
                        m.sync_failed();
                        m.registry_error();
                    }
                    return Err(SyncError::Records(e));
                }
            }
        };
        // Most reads find what the cache holds (what was read and written since): then the
        // cache is kept, not rebuilt from a copy of the read.
        let read_is_cached = read.as_ref().is_some_and(|r| {
            r.unreadable_zones.is_empty() && self.frozen_zones.is_empty() && self.records.holds_exactly(&r.endpoints)
        });
        // An ownership store is read at every full sync and plans with what it holds: such a
        // sync always plans.
        let inputs = self.inputs(&protected);
        if let Some(s) = self.settled.take().filter(|_| !self.syncer.has_ownership_store()) {
            let same_zone = self.records.version() == s.records && (read.is_none() || read_is_cached);
            if same_zone && s.inputs == inputs {
                debug!("full sync: the desired records and the zone are as the last quiet sync found them");
                if read.is_some() {
                    self.records_read_at = Some(Instant::now());
                }
                if let Some(read) = read {
                    self.records.relist(read.endpoints);
                }
                let (report, counts) = s.replay();
                self.settled = Some(s);
                return self.finish(SyncKind::Full, Ok(report), started, since, None, Some(counts));
            }
        }
        let (current, unreadable) = match read {
            None => (self.records.all(), Vec::new()),
            Some(records) => {
                if !read_is_cached {
                    self.records.replace(records.endpoints.clone());
                }
                self.records_read_at = Some(Instant::now());
                self.frozen_zones = records.unreadable_zones.clone();
                (records.endpoints, records.unreadable_zones)
            }
        };
        if let Err(e) = self.syncer.load_ownership().await {
            // Nothing is planned without the owners: nothing is deleted by accident.
            self.status.sync_failed(&e.to_string());
            if let Some(m) = &self.metrics {
                m.sync_failed();
                m.registry_error();
            }
            return Err(e);
        }
        let desired = self.desired.all_endpoints();
        let wanted: HashMap<EndpointKey, Targets> = desired.iter().map(|e| (e.key(), e.targets.clone())).collect();
        let desired_by_type = count_by_type(desired.iter());
        let mut result = self.syncer.sync_full(desired, current, unreadable, &protected).await;
        let mut counts = None;
        if let Ok(report) = &mut result {
            // Upstream's `verified_records`: desired records the provider already holds as desired.
            let verified = report
                .current
                .iter()
                .filter(|c| wanted.get(&c.key()).is_some_and(|t| t.same_for(c.record_type, &c.targets)));
            report.verified_by_type = count_by_type(verified);
            counts = Some(FullCounts {
                desired_by_type,
                current_by_type: count_by_type(report.current.iter()),
                replayed: false,
            });
        }
        let settled = match (&result, &counts) {
            (Ok(report), Some(c)) if !self.syncer.has_ownership_store() => {
                Settled::of(inputs, self.records.version(), report, c)
            }
            _ => None,
        };
        let outcome = self.finish(SyncKind::Full, result, started, since, None, counts);
        if outcome.is_ok() {
            self.settled = settled;
        }
        outcome
    }
}
