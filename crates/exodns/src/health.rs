//! What `/healthz` and `/readyz` say about the controller.
//!
//! Upstream's `/healthz` always answers OK. exodns separates the two questions Kubernetes asks:
//! liveness — is the loop still going round (true while it waits, however long, for a slow
//! apiserver); readiness — has it synced its caches and recently completed a sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use exodns_controller::StatusHandle;
use exodns_telemetry::{Check, HealthChecks};

/// A loop that has not gone round for this long is stuck (a provider call has its own timeout
/// far below this).
const STUCK_AFTER: Duration = Duration::from_secs(300);
/// Failed syncs in a row after which the provider counts as unreachable.
const FAILURES_NOT_READY: u64 = 3;

pub struct ControllerHealth {
    pub status: StatusHandle,
    /// `--interval`: a leader whose last success is older than two of these is not ready.
    pub interval: Duration,
    /// Cleared when the controller task ends.
    pub running: Arc<AtomicBool>,
}

impl HealthChecks for ControllerHealth {
    fn live(&self) -> Check {
        if !self.running.load(Ordering::Relaxed) {
            return Check::failing("the controller loop has stopped");
        }
        match self.status.snapshot().heartbeat {
            Some(beat) if beat.elapsed() > STUCK_AFTER => {
                Check::failing(format!("the controller loop has not gone round for {:?}", beat.elapsed()))
            }
            _ => Check::ok("ok"),
        }
    }

    fn ready(&self) -> Check {
        let s = self.status.snapshot();
        let waiting: Vec<String> = s
            .sources
            .iter()
            .filter(|h| !h.synced)
            .map(|h| match &h.error {
                Some(e) => format!("{} ({e})", h.source),
                None => h.source.clone(),
            })
            .collect();
        if s.sources.is_empty() || !waiting.is_empty() {
            return Check::failing(format!("waiting for the first list of: {}", waiting.join(", ")));
        }
        if !s.leader {
            return Check::ok("follower: caches synced, another replica writes");
        }
        if s.consecutive_failures >= FAILURES_NOT_READY {
            return Check::failing(format!(
                "{} syncs failed in a row; last error: {}",
                s.consecutive_failures,
                s.last_error.unwrap_or_default()
            ));
        }
        let stale_after = (self.interval * 2).max(Duration::from_secs(120));
        match s.last_success {
            None => Check::failing("no sync has completed yet"),
            Some(t) => {
                let age = SystemTime::now().duration_since(t).unwrap_or_default();
                if age > stale_after {
                    Check::failing(format!("last successful sync was {age:?} ago"))
                } else {
                    Check::ok("ok")
                }
            }
        }
    }
}
