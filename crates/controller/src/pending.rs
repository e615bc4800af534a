//! The names waiting for an incremental sync, and when that sync is due: a leading-edge debounce.
//!
//! A change that finds the loop idle (no sync running, nothing waiting) is due at once, so an
//! isolated change costs the time of one write. Changes that arrive while a sync runs are a
//! burst: they wait until `--min-event-sync-interval` after that sync ended, and go together
//! with everything that arrives meanwhile. The rule follows what the loop observes (a change
//! arriving during a sync), not the rate of changes: changes made one at a time, each after the
//! last was answered, are never held back, while a burst costs a write per sync plus interval
//! (500 changes within 100 ms: 3 syncs at the default 50 ms, see `tests/controller.rs`).

use std::collections::BTreeSet;
use std::time::Duration;

use exodns_core::DnsName;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Pending {
    names: BTreeSet<DnsName>,
    /// When the oldest of `names` changed (for the event → sync latency).
    since: Option<Instant>,
    /// Set by a sync during which changes arrived: the names wait until then for more.
    batch_until: Option<Instant>,
    min_interval: Duration,
}

impl Pending {
    pub fn new(min_interval: Duration) -> Self {
        Pending { names: BTreeSet::new(), since: None, batch_until: None, min_interval }
    }

    /// Names whose desired records changed at `now`.
    pub fn add(&mut self, names: impl IntoIterator<Item = DnsName>, now: Instant) {
        let before = self.names.len();
        self.names.extend(names);
        if self.names.len() > before {
            self.since.get_or_insert(now);
        }
    }

    /// When the names are due (`None`: nothing waits).
    pub fn due(&self) -> Option<Instant> {
        let since = self.since?;
        Some(self.batch_until.map_or(since, |b| b.max(since)))
    }

    /// The names, for a sync, with when the oldest of them changed.
    pub fn take(&mut self) -> (BTreeSet<DnsName>, Option<Instant>) {
        (std::mem::take(&mut self.names), self.since.take())
    }

    /// Puts back the names of a sync that failed, to be tried again with the next one.
    pub fn restore(&mut self, names: BTreeSet<DnsName>, since: Option<Instant>) {
        self.names.extend(names);
        if let Some(s) = since {
            self.since = Some(self.since.map_or(s, |t| t.min(s)));
        }
    }

    /// A sync ended at `now`, and the changes that arrived while it ran have been added: if
    /// there are any, they are a burst, and wait for the rest of it.
    pub fn synced(&mut self, now: Instant) {
        self.batch_until = (!self.names.is_empty()).then(|| now + self.min_interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<DnsName> {
        n.iter().map(|s| DnsName::parse(s).unwrap()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_into_an_idle_loop_is_due_at_once() {
        let mut p = Pending::new(Duration::from_millis(50));
        assert_eq!(p.due(), None);
        let t0 = Instant::now();
        p.add(names(&["a.example.org"]), t0);
        assert_eq!(p.due(), Some(t0), "no wait");
        let (taken, since) = p.take();
        assert_eq!((taken.len(), since), (1, Some(t0)));
        tokio::time::advance(Duration::from_millis(8)).await;
        p.synced(Instant::now());
        assert_eq!(p.due(), None);
        // The next change, 1 ms after that sync ended, finds the loop idle again.
        tokio::time::advance(Duration::from_millis(1)).await;
        let t1 = Instant::now();
        p.add(names(&["b.example.org"]), t1);
        assert_eq!(p.due(), Some(t1));
    }

    #[tokio::test(start_paused = true)]
    async fn changes_during_a_sync_wait_the_interval_after_it() {
        let mut p = Pending::new(Duration::from_millis(50));
        p.add(names(&["a.example.org"]), Instant::now());
        p.take();
        tokio::time::advance(Duration::from_millis(3)).await;
        let during = Instant::now();
        p.add(names(&["b.example.org"]), during);
        tokio::time::advance(Duration::from_millis(5)).await;
        let ended = Instant::now();
        p.synced(ended);
        assert_eq!(p.due(), Some(ended + Duration::from_millis(50)));
        // More of the burst joins the same sync; nothing is added twice.
        p.add(names(&["c.example.org", "b.example.org"]), ended + Duration::from_millis(10));
        assert_eq!(p.due(), Some(ended + Duration::from_millis(50)));
        let (taken, since) = p.take();
        assert_eq!((taken.len(), since), (2, Some(during)), "latency counts from the oldest change");
        p.synced(ended + Duration::from_millis(60));
        assert_eq!(p.due(), None, "nothing arrived during that sync: idle again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_sync_keeps_its_names_and_their_age() {
        let mut p = Pending::new(Duration::from_millis(50));
        let t0 = Instant::now();
        p.add(names(&["a.example.org"]), t0);
        let (taken, since) = p.take();
        tokio::time::advance(Duration::from_millis(4)).await;
        p.add(names(&["b.example.org"]), Instant::now());
        p.restore(taken, since);
        p.synced(Instant::now());
        assert_eq!(p.due(), Some(Instant::now() + Duration::from_millis(50)), "retried after the interval");
        let (taken, since) = p.take();
        assert_eq!((taken.len(), since), (2, Some(t0)));
    }

    #[test]
    fn no_change_is_nothing_to_do() {
        let mut p = Pending::new(Duration::ZERO);
        p.add(Vec::new(), Instant::now());
        assert_eq!(p.due(), None);
    }
}
