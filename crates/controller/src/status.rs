//! The loop's state as health endpoints and metrics see it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::sync::SyncReport;
use exodns_core::source::SourceHealth;

/// A snapshot of the loop.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub sources: Vec<SourceHealth>,
    /// When the last sync (full or incremental) succeeded.
    pub last_success: Option<SystemTime>,
    /// When the last full sync succeeded.
    pub last_full_success: Option<SystemTime>,
    pub last_error: Option<String>,
    pub consecutive_failures: u64,
    pub syncs: u64,
    pub last_duration: Option<Duration>,
    /// From the first event of a burst to its changes being applied.
    pub last_event_latency: Option<Duration>,
    /// Last time the loop went round (it goes round at least every few seconds while alive).
    pub heartbeat: Option<std::time::Instant>,
    /// Whether this replica may write (always true without leader election).
    pub leader: bool,
}

impl Status {
    pub fn sources_synced(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().all(|s| s.synced)
    }
}

/// Shared, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StatusHandle(Arc<Mutex<Status>>);

impl StatusHandle {
    pub fn snapshot(&self) -> Status {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_sources(&self, sources: Vec<SourceHealth>) {
        self.lock().sources = sources;
    }

    pub(crate) fn beat(&self, leader: bool) {
        let mut s = self.lock();
        s.heartbeat = Some(std::time::Instant::now());
        s.leader = leader;
    }

    pub(crate) fn sync_succeeded(
        &self,
        kind: &str,
        took: Duration,
        event_latency: Option<Duration>,
        _report: &SyncReport,
    ) {
        let mut s = self.lock();
        let now = SystemTime::now();
        s.last_success = Some(now);
        if kind == "full" {
            s.last_full_success = Some(now);
        }
        s.last_error = None;
        s.consecutive_failures = 0;
        s.syncs += 1;
        s.last_duration = Some(took);
        if event_latency.is_some() {
            s.last_event_latency = event_latency;
        }
    }

    pub(crate) fn sync_failed(&self, error: &str) {
        let mut s = self.lock();
        s.last_error = Some(error.to_owned());
        s.consecutive_failures += 1;
    }
}
