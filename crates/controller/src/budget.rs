//! The deletion budget (`--deletion-budget`, `--deletion-grace`).
//!
//! A wrong label filter, a deleted namespace, a source that returns nothing for a reason exodns
//! cannot see: the next sync would delete a large part of a zone. So the deletions a zone may
//! take within one sync window (`--interval`) are limited: by default to 30 % of the records the
//! zone holds for this owner, and at least 10. A sync whose deletions in a zone exceed what is
//! left of that zone's budget holds *all* of them (creates and updates go on), and says so. A
//! held deletion goes ahead once it has been wanted for `--deletion-grace` (the same desired
//! state seen for that long), or when the budget allows it; restoring the objects meanwhile
//! loses nothing, since nothing was deleted.
//!
//! The budget counts per zone per window across every sync, full or event-driven, so a mass
//! delete split over many small syncs is held just the same. A deletion whose name gets a
//! record of another type in the same sync (a CNAME becoming an A) is a replacement, not a
//! loss, and is not counted.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use exodns_core::endpoint::EndpointKey;
use exodns_core::{Changes, DnsName, Endpoint};

/// The smallest allowance of a percentage budget: small zones are not held for a few deletes.
pub const MIN_ALLOWANCE: usize = 10;
/// `--deletion-budget`'s default.
pub const DEFAULT_PERCENT: u32 = 30;

/// How many deletions a zone may take per sync window (`--deletion-budget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `off`: no limit.
    Off,
    /// `30%`: that share of the records the zone holds for this owner, at least [`MIN_ALLOWANCE`].
    Percent(u32),
    /// `25`: that many records.
    Count(usize),
}

impl Default for Limit {
    fn default() -> Self {
        Limit::Percent(DEFAULT_PERCENT)
    }
}

impl FromStr for Limit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("off") {
            return Ok(Limit::Off);
        }
        let bad = || format!("{s:?}: expected off, a percentage (30%) or a number of records (25)");
        match t.strip_suffix('%') {
            Some(p) => match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Limit::Percent(p)),
                _ => Err(bad()),
            },
            None => t.parse::<usize>().map(Limit::Count).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Off => f.write_str("off"),
            Limit::Percent(p) => write!(f, "{p}%"),
            Limit::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Limit {
    /// Deletions allowed per window in a zone holding `owned` records for this owner.
    pub fn allowance(self, owned: usize) -> usize {
        match self {
            Limit::Off => usize::MAX,
            Limit::Percent(p) => (owned * p as usize / 100).max(MIN_ALLOWANCE),
            Limit::Count(n) => n,
        }
    }
}

/// Settings of the budget.
#[derive(Debug, Clone)]
pub struct BudgetConfig {
    pub limit: Limit,
    /// `--deletion-grace`: how long a held deletion must stay wanted before it goes ahead.
    pub grace: Duration,
    /// The sync window the allowance is counted over (`--interval`).
    pub window: Duration,
    /// Deletions wait this long after the last new one in their zone before they are counted,
    /// so that a mass delete arriving as many events is judged as a whole (0 for `--once`).
    pub settle: Duration,
}

/// [`BudgetConfig::settle`] of the loop.
pub const SETTLE: Duration = Duration::from_secs(2);

/// One zone whose deletions a sync held.
#[derive(Debug, Clone)]
pub struct Hold {
    /// The zone (no trailing dot); empty when the provider cannot tell its zones.
    pub zone: String,
    /// Records held (ownership TXTs not counted).
    pub records: Vec<Endpoint>,
    /// Deletions the zone could still take in this window.
    pub allowance_left: usize,
    /// Records the zone holds for this owner.
    pub owned: usize,
    /// When the last of them will have been wanted for the grace period.
    pub release_at: Instant,
}

#[derive(Debug, Default)]
struct ZoneState {
    /// Records the zone holds for this owner, as of the last full read.
    owned: Option<usize>,
    window_start: Option<Instant>,
    deleted_in_window: usize,
    /// Deletions held or put off, since when they are wanted.
    pending: HashMap<EndpointKey, Instant>,
    /// When a deletion last joined `pending`.
    last_new: Option<Instant>,
    /// Deletions over the budget at the last count (the rest of `pending` is put off).
    held: usize,
}

impl ZoneState {
    /// Held deletions still wanted (some may have been restored since they were counted).
    fn held(&self) -> usize {
        self.held.min(self.pending.len())
    }
}

/// The budget's memory across syncs.
#[derive(Debug)]
pub struct DeletionBudget {
    cfg: BudgetConfig,
    zones: HashMap<String, ZoneState>,
}

impl DeletionBudget {
    pub fn new(cfg: BudgetConfig) -> Self {
        DeletionBudget { cfg, zones: HashMap::new() }
    }

    pub fn config(&self) -> &BudgetConfig {
        &self.cfg
    }

    /// After a full read (`current`, owner labels decoded): how many records each zone holds for
    /// `owner`; held deletions of records no longer there are forgotten.
    pub fn observe_full(&mut self, current: &[Endpoint], zone_of: &dyn Fn(&DnsName) -> String, owner: &str) {
        let mut owned: HashMap<String, usize> = HashMap::new();
        let mut present: HashSet<EndpointKey> = HashSet::new();
        for ep in current.iter().filter(|e| e.is_owned_by(owner)) {
            *owned.entry(zone_of(&ep.dns_name)).or_default() += 1;
            present.insert(ep.key());
        }
        for state in self.zones.values_mut() {
            state.owned = Some(0);
            state.pending.retain(|k, _| present.contains(k));
        }
        for (zone, n) in owned {
            self.zones.entry(zone).or_default().owned = Some(n);
        }
    }

    /// Held deletions by zone.
    pub fn held_by_zone(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self.zones.iter().map(|(z, s)| (z.clone(), s.held())).collect();
        v.sort();
        v
    }

    /// Deletions held over the budget, in every zone.
    pub fn held(&self) -> usize {
        self.zones.values().map(ZoneState::held).sum()
    }

    /// When the next held deletion will have been wanted for the grace period.
    pub fn next_release(&self) -> Option<Instant> {
        self.zones.values().flat_map(|z| z.pending.values()).min().map(|t| *t + self.cfg.grace)
    }

    /// Takes the deletions this sync may not make out of `changes`. `current` are the records
    /// the plan was made on (owner labels decoded): a held deletion of one of them that is no
    /// longer planned was restored, and is forgotten. `zone_of` names the zone of a record;
    /// `owner` counts the records a zone holds when no full read told.
    pub fn filter(
        &mut self,
        changes: &mut Changes,
        current: &[Endpoint],
        zone_of: &dyn Fn(&DnsName) -> String,
        owner: &str,
        now: Instant,
    ) -> Filtered {
        let deleting: HashSet<EndpointKey> = changes.delete.iter().map(Endpoint::key).collect();
        // Restored: planned on, and no longer deleted.
        for ep in current {
            let key = ep.key();
            if !deleting.contains(&key)
                && let Some(state) = self.zones.get_mut(&zone_of(&ep.dns_name))
            {
                state.pending.remove(&key);
            }
        }
        let mut out = Filtered::default();
        if matches!(self.cfg.limit, Limit::Off) {
            for z in self.zones.values_mut() {
                z.pending.clear();
            }
            return out;
        }
        if changes.delete.is_empty() {
            return out;
        }
        // A name that gets another record in this sync is being replaced, not lost.
        let replaced: HashSet<&DnsName> =
            changes.create.iter().chain(&changes.update_new).map(|e| &e.dns_name).collect();
        let mut by_zone: HashMap<String, Vec<Endpoint>> = HashMap::new();
        let mut kept = Vec::with_capacity(changes.delete.len());
        for ep in std::mem::take(&mut changes.delete) {
            if replaced.contains(&ep.dns_name) {
                kept.push(ep);
            } else {
                by_zone.entry(zone_of(&ep.dns_name)).or_default().push(ep);
            }
        }
        let cfg = &self.cfg;
        for (zone, deletes) in by_zone {
            let owned_here = || current.iter().filter(|e| e.is_owned_by(owner) && zone_of(&e.dns_name) == zone).count();
            let state = self.zones.entry(zone.clone()).or_default();
            let mut fresh = Vec::new();
            for ep in deletes {
                let since = *state.pending.entry(ep.key()).or_insert_with(|| {
                    state.last_new = Some(now);
                    now
                });
                if since + cfg.grace <= now {
                    // Wanted for the grace period: it goes.
                    state.pending.remove(&ep.key());
                    kept.push(ep);
                } else {
                    fresh.push(ep);
                }
            }
            if fresh.is_empty() {
                continue;
            }
            let settled_at = state.last_new.unwrap_or(now) + cfg.settle;
            if now < settled_at {
                // More deletions may be on their way (a namespace going, a `kubectl delete -l`):
                // decide once they have all been seen.
                out.deferred.extend(fresh);
                out.retry_at = Some(out.retry_at.map_or(settled_at, |t| t.min(settled_at)));
                continue;
            }
            if state.window_start.is_none_or(|s| now >= s + cfg.window) {
                state.window_start = Some(now);
                state.deleted_in_window = 0;
            }
            let owned = state.owned.unwrap_or_else(owned_here);
            let allowance_left = cfg.limit.allowance(owned).saturating_sub(state.deleted_in_window);
            if fresh.len() <= allowance_left {
                state.held = 0;
                state.deleted_in_window += fresh.len();
                for ep in &fresh {
                    state.pending.remove(&ep.key());
                }
                kept.extend(fresh);
            } else {
                let release_at =
                    fresh.iter().filter_map(|e| state.pending.get(&e.key())).max().copied().unwrap_or(now) + cfg.grace;
                out.retry_at = Some(out.retry_at.map_or(release_at, |t| t.min(release_at)));
                state.held = fresh.len();
                out.holds.push(Hold { zone, records: fresh, allowance_left, owned, release_at });
            }
        }
        changes.delete = kept;
        out.holds.sort_by(|a, b| a.zone.cmp(&b.zone));
        out
    }
}

/// What [`DeletionBudget::filter`] took out of a sync.
#[derive(Debug, Default)]
pub struct Filtered {
    /// Zones whose deletions exceed the budget: held, and reported.
    pub holds: Vec<Hold>,
    /// Deletions put off while more may follow (within [`BudgetConfig::settle`] of the last new one).
    pub deferred: Vec<Endpoint>,
    /// When the names of held or deferred deletions should be planned again.
    pub retry_at: Option<Instant>,
}

impl Filtered {
    /// The names to plan again at [`retry_at`](Self::retry_at).
    pub fn names(&self) -> impl Iterator<Item = &DnsName> {
        self.holds.iter().flat_map(|h| &h.records).chain(&self.deferred).map(|e| &e.dns_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::RecordType;

    fn a(name: &str) -> Endpoint {
        Endpoint::parse(&format!("{name}.example.org"), RecordType::A, &["192.0.2.1"])
            .unwrap()
            .with_label("owner", "me")
    }

    fn zone(_: &DnsName) -> String {
        "example.org".into()
    }

    fn budget(limit: Limit) -> DeletionBudget {
        DeletionBudget::new(BudgetConfig {
            limit,
            grace: Duration::from_secs(180),
            window: Duration::from_secs(60),
            settle: Duration::ZERO,
        })
    }

    fn zone_of(n: usize) -> Vec<Endpoint> {
        (0..n).map(|i| a(&format!("r{i}"))).collect()
    }

    #[test]
    fn limits_parse_and_allow() {
        assert_eq!("off".parse::<Limit>(), Ok(Limit::Off));
        assert_eq!("30%".parse::<Limit>(), Ok(Limit::Percent(30)));
        assert_eq!("25".parse::<Limit>(), Ok(Limit::Count(25)));
        assert!("150%".parse::<Limit>().is_err() && "lots".parse::<Limit>().is_err());
        assert_eq!(Limit::default().allowance(100), 30);
        assert_eq!(Limit::default().allowance(5), MIN_ALLOWANCE);
        assert_eq!(Limit::Count(3).allowance(1000), 3);
    }

    /// 80 of 100 deleted: all held; 40 restored meanwhile: nothing lost; after the grace the
    /// other 40 go.
    #[test]
    fn a_mass_delete_is_held_then_goes_after_the_grace() {
        let mut b = budget(Limit::default());
        let current = zone_of(100);
        let t0 = Instant::now();
        let mut c = Changes { delete: current[..80].to_vec(), create: vec![a("new")], ..Changes::default() };
        let holds = b.filter(&mut c, &current, &zone, "me", t0);
        assert!(c.delete.is_empty(), "{:?}", c.delete);
        assert_eq!(c.create.len(), 1, "creates go on");
        assert_eq!((holds.holds.len(), holds.holds[0].records.len(), holds.holds[0].allowance_left), (1, 80, 30));
        assert_eq!(b.held(), 80);

        // Within the grace, 40 come back: the plan deletes only the other 40, still held.
        let t1 = t0 + Duration::from_secs(90);
        let mut c = Changes { delete: current[40..80].to_vec(), ..Changes::default() };
        let holds = b.filter(&mut c, &current, &zone, "me", t1);
        assert!(c.delete.is_empty());
        assert_eq!(holds.holds[0].records.len(), 40);
        assert_eq!(b.held(), 40, "the restored ones are forgotten");
        assert_eq!(b.next_release(), Some(t0 + Duration::from_secs(180)));

        // The grace passes: they go.
        let mut c = Changes { delete: current[40..80].to_vec(), ..Changes::default() };
        let holds = b.filter(&mut c, &current, &zone, "me", t0 + Duration::from_secs(180));
        assert!(holds.holds.is_empty());
        assert_eq!(c.delete.len(), 40);
        assert_eq!(b.held(), 0);
    }

    #[test]
    fn the_window_counts_across_small_syncs() {
        let mut b = budget(Limit::default());
        let current = zone_of(100);
        b.observe_full(&current, &zone, "me");
        let t0 = Instant::now();
        let mut deleted = 0;
        for i in 0..5 {
            let mut c = Changes { delete: current[i * 10..i * 10 + 10].to_vec(), ..Changes::default() };
            let part = &current[i * 10..i * 10 + 10];
            b.filter(&mut c, part, &zone, "me", t0 + Duration::from_millis(i as u64));
            deleted += c.delete.len();
        }
        assert_eq!(deleted, 30, "three syncs of ten fit the budget of 30, the fourth and fifth are held");
        // A new window: allowed again.
        let mut c = Changes { delete: current[40..50].to_vec(), ..Changes::default() };
        b.filter(&mut c, &current[40..50], &zone, "me", t0 + Duration::from_secs(61));
        assert_eq!(c.delete.len(), 10);
    }

    /// A mass delete arriving as many small syncs is judged as a whole: nothing goes before the
    /// deletions settle, then all are held.
    #[test]
    fn deletions_settle_before_they_are_counted() {
        let mut b = budget(Limit::default());
        b.cfg.settle = Duration::from_secs(2);
        let current = zone_of(100);
        let t0 = Instant::now();
        for i in 0..8 {
            let part = &current[i * 10..i * 10 + 10];
            let mut c = Changes { delete: part.to_vec(), ..Changes::default() };
            let f = b.filter(&mut c, part, &zone, "me", t0 + Duration::from_millis(100 * i as u64));
            assert!(c.delete.is_empty() && f.holds.is_empty());
            assert_eq!(f.deferred.len(), 10);
            assert_eq!(f.retry_at, Some(t0 + Duration::from_millis(100 * i as u64 + 2000)));
        }
        // Settled: all 80 planned again at once, and held.
        let mut c = Changes { delete: current[..80].to_vec(), ..Changes::default() };
        let f = b.filter(&mut c, &current, &zone, "me", t0 + Duration::from_millis(2700));
        assert!(c.delete.is_empty());
        assert_eq!(f.holds[0].records.len(), 80);
        // One deletion alone goes once settled.
        let mut b = budget(Limit::default());
        b.cfg.settle = Duration::from_secs(2);
        let mut c = Changes { delete: current[..1].to_vec(), ..Changes::default() };
        assert_eq!(b.filter(&mut c, &current, &zone, "me", t0).deferred.len(), 1);
        let mut c = Changes { delete: current[..1].to_vec(), ..Changes::default() };
        b.filter(&mut c, &current, &zone, "me", t0 + Duration::from_secs(2));
        assert_eq!(c.delete.len(), 1);
    }

    #[test]
    fn off_small_and_replaced_deletes_go_at_once() {
        let current = zone_of(100);
        let mut c = Changes { delete: current[..80].to_vec(), ..Changes::default() };
        assert!(budget(Limit::Off).filter(&mut c, &current, &zone, "me", Instant::now()).holds.is_empty());
        assert_eq!(c.delete.len(), 80);
        let mut c = Changes { delete: current[..10].to_vec(), ..Changes::default() };
        assert!(budget(Limit::default()).filter(&mut c, &current[..12], &zone, "me", Instant::now()).holds.is_empty());
        assert_eq!(c.delete.len(), 10, "at least 10 per window, however small the zone");
        // Type changes: the old record goes with its replacement.
        let mut c = Changes {
            delete: current[..50].to_vec(),
            create: current[..50]
                .iter()
                .map(|e| Endpoint::parse(e.dns_name.as_str(), RecordType::CNAME, &["x.example.net"]).unwrap())
                .collect(),
            ..Changes::default()
        };
        assert!(budget(Limit::default()).filter(&mut c, &current, &zone, "me", Instant::now()).holds.is_empty());
        assert_eq!(c.delete.len(), 50);
    }
}
