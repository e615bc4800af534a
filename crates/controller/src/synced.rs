//! Waiting for a source's first full lists, for callers that read the objects once (`exodns
//! plan`) rather than run the loop.

use std::time::Duration;

use exodns_core::source::{ObjectSource, SourceEvent};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::run::RunError;

/// How soon the health is asked again when no event arrives.
const RECHECK: Duration = Duration::from_millis(200);

/// Waits until every source of `source` has its first full list, reading (and dropping) its
/// events meanwhile; after `timeout`, [`RunError::NotSynced`] names the sources still waiting
/// and why.
pub async fn until_synced(
    source: &dyn ObjectSource,
    events: &mut mpsc::Receiver<SourceEvent>,
    timeout: Duration,
) -> Result<(), RunError> {
    let deadline = Instant::now() + timeout;
    // Watches a source needs on demand (Pods for a headless Service, …) start while the first
    // lists arrive: ask twice, a moment apart, before trusting "all synced".
    let mut synced_twice = 0;
    while synced_twice < 2 {
        let health = source.health();
        if health.iter().all(|h| h.synced) {
            synced_twice += 1;
        } else {
            synced_twice = 0;
            if Instant::now() >= deadline {
                let waiting: Vec<String> = health
                    .iter()
                    .filter(|h| !h.synced)
                    .map(|h| format!("{} ({})", h.source, h.error.as_deref().unwrap_or("listing")))
                    .collect();
                return Err(RunError::NotSynced(timeout, waiting.join(", ")));
            }
        }
        tokio::select! {
            ev = events.recv() => if ev.is_none() {
                // Nobody sends any more: only the health can say.
                tokio::time::sleep(RECHECK).await;
            },
            _ = tokio::time::sleep(RECHECK) => {}
        }
    }
    Ok(())
}
