//! The planner: from the records we want (desired, from sources) and the records the zone has
//! (current, from the registry), the changes to make.
//!
//! Semantics are upstream ExternalDNS v0.22's (`plan/plan.go`, `conflict.go`, `policy.go`), so
//! that exodns taking over a zone from upstream plans no writes at all. Where upstream's result
//! depends on input order (ties between candidates, duplicate current records, the order of its
//! map iteration) we pick a fixed order instead: the same inputs in any order give the same plan.
//!
//! Steps:
//! 1. keep records whose type is managed and whose name passes both domain filters;
//! 2. group them into rows by (name, set identifier) (`table.rs`);
//! 3. decide each row: create, update or delete per type (`resolve.rs`);
//! 4. apply the policy, keep only updates and deletes of records we own, de-duplicate deletes;
//! 5. sort and clone what is left into [`Changes`].

mod policy;
mod resolve;
mod table;

#[cfg(test)]
pub(crate) mod tests;

use std::cmp::Ordering;

use crate::changes::Changes;
use crate::endpoint::{Endpoint, label};
use crate::filter::DomainFilter;
use crate::name::DnsName;
use crate::record_type::{DEFAULT_MANAGED, RecordType};

pub use policy::{Policy, UnknownPolicy};

use resolve::{Draft, total_cmp};
use table::Table;

/// Everything the planner needs besides the records.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub policy: Policy,
    /// Our owner id (`--txt-owner-id`). Empty means the noop registry, which owns everything.
    pub owner_id: String,
    /// `--migrate-from-txt-owner`; empty for none.
    pub old_owner_id: String,
    /// `--managed-record-types`. Empty manages nothing, as upstream.
    pub managed_types: Vec<RecordType>,
    /// `--exclude-record-types`; wins over `managed_types`.
    pub excluded_types: Vec<RecordType>,
    /// From the flags.
    pub domain_filter: DomainFilter,
    /// The provider's (or registry's) own filter. A record must pass both.
    pub provider_filter: DomainFilter,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            policy: Policy::Sync,
            owner_id: "default".to_owned(),
            old_owner_id: String::new(),
            managed_types: DEFAULT_MANAGED.to_vec(),
            excluded_types: Vec::new(),
            domain_filter: DomainFilter::default(),
            provider_filter: DomainFilter::default(),
        }
    }
}

/// The result of planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by (name, set identifier, type); `update_old[i]` pairs with `update_new[i]`.
    pub changes: Changes,
    /// Creates skipped because the name is held by records we do not own (upstream only counts
    /// them in `registry_skipped_records_owner_mismatch_per_sync`).
    pub conflicts: Vec<OwnerConflict>,
}

/// A desired record that was not created, or not updated, because its row (name, set
/// identifier) already has a record owned by someone else, or by no one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnerConflict {
    pub dns_name: DnsName,
    pub set_identifier: String,
    /// The type of the skipped desired record.
    pub record_type: RecordType,
    /// Owner of the foreign record in the row (the least one, if several); "" when unowned.
    pub foreign_owner: String,
    /// The desired endpoint's `resource` label.
    pub resource: Option<String>,
}

impl OwnerConflict {
    fn new(desired: &Endpoint, foreign: &Endpoint) -> Self {
        OwnerConflict {
            dns_name: desired.dns_name.clone(),
            set_identifier: desired.set_identifier.clone(),
            record_type: desired.record_type,
            foreign_owner: foreign.owner().unwrap_or_default().to_owned(),
            resource: desired.resource().map(str::to_owned),
        }
    }
}

/// Upstream's `IsManagedRecord`: in `managed` and not in `excluded`.
pub fn is_managed(rt: RecordType, managed: &[RecordType], excluded: &[RecordType]) -> bool {
    managed.contains(&rt) && !excluded.contains(&rt)
}

/// Plans the changes that turn `current` into `desired` under `opts`.
pub fn plan(desired: &[Endpoint], current: &[Endpoint], opts: &PlanOptions) -> Plan {
    let table = Table::build(desired, current, opts);
    let mut draft = Draft::default();
    for row in table.rows() {
        draft.add_row(row, &opts.owner_id, &opts.old_owner_id);
    }
    finish(draft, opts)
}

/// Policy, owner filter, de-duplication, order; then the only clones of the whole plan.
fn finish(mut d: Draft<'_>, opts: &PlanOptions) -> Plan {
    if !opts.policy.allows_deletes() {
        d.deletes.clear();
    }
    if !opts.policy.allows_updates() {
        d.updates.clear();
    }
    let owner = opts.owner_id.as_str();
    // Updates of records someone else owns are dropped, as upstream does; unlike upstream, each
    // is reported as a conflict, like a refused create (the object wants a name it cannot have).
    let mut foreign_updates: Vec<(&Endpoint, &Endpoint)> = Vec::new();
    if !owner.is_empty() {
        // The new state inherits the current owner, so one test keeps each pair whole.
        let (ours, theirs): (Vec<_>, Vec<_>) = d.updates.into_iter().partition(|(cur, _)| cur.owner() == Some(owner));
        d.updates = ours;
        foreign_updates = theirs.into_iter().map(|(cur, want)| (want, cur)).collect();
        d.deletes.retain(|e| e.owner() == Some(owner));
    }

    sort_by_name(&mut d.creates, |e| e, |a, b| total_cmp(a, b));
    sort_by_name(&mut d.updates, |u| u.0, |a, b| total_cmp(a.0, b.0).then_with(|| total_cmp(a.1, b.1)));
    sort_by_name(&mut d.deletes, |e| e, |a, b| total_cmp(a, b));
    if !owner.is_empty() {
        // Upstream de-duplicates deletes by (name, type, set identifier) only in this branch;
        // with the noop registry a duplicated current record is deleted twice there too.
        d.deletes.dedup_by(|a, b| same_key(a, b));
    }

    let mut update_old = Vec::with_capacity(d.updates.len());
    let mut update_new = Vec::with_capacity(d.updates.len());
    for (cur, want) in d.updates {
        let (old, new) = update_pair(cur, want);
        update_old.push(old);
        update_new.push(new);
    }

    let mut conflicts: Vec<OwnerConflict> =
        d.refused.iter().chain(&foreign_updates).map(|(want, foreign)| OwnerConflict::new(want, foreign)).collect();
    conflicts.sort_unstable();

    Plan {
        changes: Changes {
            create: d.creates.into_iter().cloned().collect(),
            update_old,
            update_new,
            delete: d.deletes.into_iter().cloned().collect(),
        },
        conflicts,
    }
}

/// Sorts `items` by `cmp`, which orders by the name of `endpoint(item)` first. The first 8 bytes
/// of each name, as one big-endian integer, decide most comparisons in the sort's own array:
/// the names themselves lie scattered over the heap, one cache miss each.
fn sort_by_name<'a, T: Copy>(
    items: &mut Vec<T>,
    endpoint: impl Fn(T) -> &'a Endpoint,
    cmp: impl Fn(&T, &T) -> Ordering,
) {
    let mut keyed: Vec<(u64, T)> = items.iter().map(|&i| (name_prefix(endpoint(i)), i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp(&a.1, &b.1)));
    items.clear();
    items.extend(keyed.into_iter().map(|(_, i)| i));
}

/// Names compare byte by byte; so do these prefixes (zero-padded: a name that is a prefix of
/// another sorts first both ways, and names hold no zero byte).
fn name_prefix(e: &Endpoint) -> u64 {
    let name = e.dns_name.as_str().as_bytes();
    let mut key = [0u8; 8];
    let n = name.len().min(8);
    key[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(key)
}

fn same_key(a: &Endpoint, b: &Endpoint) -> bool {
    a.dns_name == b.dns_name && a.record_type == b.record_type && a.set_identifier == b.set_identifier
}

/// The update pair as upstream emits it. The new state takes the current owner label (set to
/// "" when current has none, as upstream does). Upstream's target comparison also sorts both
/// target lists in place, and `HasChanges` then compares the lists in order; we sort them here
/// so that a pair differing only in target order counts as no change, as it does upstream.
fn update_pair(cur: &Endpoint, want: &Endpoint) -> (Endpoint, Endpoint) {
    let mut old = cur.clone();
    let mut new = want.clone();
    let owner = cur.owner().unwrap_or_default();
    // The usual update: the record read back carries the desired labels and our owner label,
    // the labels the new state gets. Share them rather than copy.
    if cur.labels.is_with(&want.labels, label::OWNER, owner) {
        new.labels = cur.labels.clone();
    } else {
        new.labels.insert(label::OWNER.to_owned(), owner.to_owned());
    }
    old.targets.sort();
    new.targets.sort();
    (old, new)
}

impl Plan {
    /// Upstream's `HasChanges`: whether applying the plan would write anything.
    pub fn has_changes(&self) -> bool {
        self.changes.has_changes()
    }
}
