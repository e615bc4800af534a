//! Per-row decisions: type conflicts, which candidate wins, whether an update is due, and the
//! ownership check on creates. Works on references only; the caller clones what survives.

use std::cmp::Ordering;

use crate::endpoint::Endpoint;
use crate::record_type::RecordType;

use super::table::Row;

/// The changes of a plan before policy, owner filter, sorting and cloning.
#[derive(Default)]
pub(super) struct Draft<'a> {
    pub creates: Vec<&'a Endpoint>,
    /// (current, chosen candidate)
    pub updates: Vec<(&'a Endpoint, &'a Endpoint)>,
    pub deletes: Vec<&'a Endpoint>,
    /// Creates refused by the ownership check: (desired, the row's least foreign record).
    pub refused: Vec<(&'a Endpoint, &'a Endpoint)>,
    /// Scratch buffers reused across rows, so a row costs no allocation.
    types: Vec<RecordType>,
    pending: Vec<&'a Endpoint>,
}

impl<'a> Draft<'a> {
    pub fn add_row(&mut self, row: Row<'_, 'a>, owner_id: &str, old_owner_id: &str) {
        let Row { current, candidates } = row;
        // Nothing desired here any more (or owned by another instance): delete every current
        // record, duplicates included; the owner filter later keeps only ours.
        if candidates.is_empty() {
            self.deletes.extend_from_slice(current);
            return;
        }

        // RFC 1034 §3.6.2: a CNAME cannot share its name. When candidates mix CNAME with other
        // types, the others win; a current CNAME stays in play so that it is deleted.
        let drop_cname = candidates.len() > 1
            && candidates.iter().any(|c| c.record_type == RecordType::CNAME)
            && candidates.iter().any(|c| c.record_type != RecordType::CNAME);

        self.types.clear();
        self.types.extend(current.iter().chain(candidates).map(|e| e.record_type));
        self.types.sort_unstable();
        self.types.dedup();

        self.pending.clear();
        for &rt in &self.types {
            let cands = || {
                candidates
                    .iter()
                    .copied()
                    .filter(move |c| c.record_type == rt && !(drop_cname && rt == RecordType::CNAME))
            };
            let cur = pick_current(current, rt);
            match (cur, cands().next().is_some()) {
                (Some(cur), false) => self.deletes.push(cur),
                (None, true) => self.pending.push(best(cands()).expect("at least one candidate")),
                (Some(cur), true) => {
                    let chosen = resolve_update(cur, cands());
                    if needs_update(cur, chosen, old_owner_id) {
                        self.updates.push((cur, chosen));
                    }
                }
                (None, false) => {}
            }
        }
        if self.pending.is_empty() {
            return;
        }

        // A name someone else holds is not ours to add to: create only when every current
        // record of the row (any type) carries our owner label. The noop registry owns all.
        let foreign = if owner_id.is_empty() {
            None
        } else {
            current.iter().copied().filter(|c| c.owner() != Some(owner_id)).min_by(|a, b| total_cmp(a, b))
        };
        match foreign {
            None => self.creates.append(&mut self.pending),
            Some(foreign) => self.refused.extend(self.pending.drain(..).map(|p| (p, foreign))),
        }
    }
}

/// The current record of type `rt` in a row. A provider should return one per (name, set
/// identifier, type); if it returns more, upstream takes the last one it read, which depends
/// on the provider's order. We take the least by [`total_cmp`] so the plan does not depend on
/// input order; the others stay untouched, as upstream leaves them.
fn pick_current<'a>(current: &[&'a Endpoint], rt: RecordType) -> Option<&'a Endpoint> {
    current.iter().copied().filter(|c| c.record_type == rt).min_by(|a, b| total_cmp(a, b))
}

/// Upstream's `ResolveCreate`: the candidate with the least targets by `Targets::is_less`.
/// Ties (same targets, other labels or TTL) are broken by [`total_cmp`] where upstream takes the
/// first in source order, so that the result does not depend on input order.
fn best<'a>(mut cands: impl Iterator<Item = &'a Endpoint>) -> Option<&'a Endpoint> {
    let first = cands.next()?;
    Some(cands.fold(first, |best, c| if cmp_candidates(c, best) == Ordering::Less { c } else { best }))
}

fn cmp_candidates(a: &Endpoint, b: &Endpoint) -> Ordering {
    if a.targets.is_less(&b.targets) {
        Ordering::Less
    } else if b.targets.is_less(&a.targets) {
        Ordering::Greater
    } else {
        total_cmp(a, b)
    }
}

/// Upstream's `ResolveUpdate`: keep the resource that holds the name (a missing `resource`
/// label counts as the empty one on both sides), else fall back to the least candidate.
fn resolve_update<'a>(current: &Endpoint, cands: impl Iterator<Item = &'a Endpoint> + Clone) -> &'a Endpoint {
    // The common case, one candidate: it wins either way; skip the label lookups.
    let mut probe = cands.clone();
    if let (Some(only), None) = (probe.next(), probe.next()) {
        return only;
    }
    let resource = current.resource().unwrap_or_default();
    best(cands.clone().filter(|c| c.resource().unwrap_or_default() == resource))
        .or_else(|| best(cands))
        .expect("at least one candidate")
}

/// Whether `desired` must replace `current`. Checked in upstream's order; all are cheap.
pub(super) fn needs_update(current: &Endpoint, desired: &Endpoint, old_owner_id: &str) -> bool {
    // An unset desired TTL means "whatever the provider has": never a reason to update.
    (desired.ttl.is_set() && desired.ttl != current.ttl)
        || !desired.targets.same_for(desired.record_type, &current.targets)
        || provider_specific_changed(desired, current)
        // Migration: the TXT registry has already relabelled the old owner's records to us, so
        // this is true for every record it returns; the owner filter keeps only ours.
        || (!old_owner_id.is_empty() && current.owner().unwrap_or_default() != old_owner_id)
}

/// Upstream's comparison of provider-specific properties: as name → value maps (the last
/// desired value of a name wins), except that a name repeated in `current` counts as a change.
/// The registry's `txt/force-update` on a current record therefore always forces an update.
pub(super) fn provider_specific_changed(desired: &Endpoint, current: &Endpoint) -> bool {
    let (d, c) = (&desired.provider_specific, &current.provider_specific);
    if d.is_empty() || c.is_empty() {
        return d.len() != c.len();
    }
    if d == c {
        // Same list: differs only if `current` repeats a name (then the second is "extra").
        return c.iter().enumerate().any(|(i, p)| c[..i].iter().any(|q| q.name == p.name));
    }
    // (name, value, matched): desired as a map.
    let mut want: Vec<(&str, &str, bool)> = Vec::with_capacity(d.len());
    for p in d {
        match want.iter_mut().find(|w| w.0 == p.name) {
            Some(w) => w.1 = &p.value,
            None => want.push((&p.name, &p.value, false)),
        }
    }
    for p in c {
        match want.iter_mut().find(|w| w.0 == p.name && !w.2) {
            Some(w) if w.1 == p.value => w.2 = true,
            _ => return true,
        }
    }
    want.iter().any(|w| !w.2)
}

/// A total order on endpoints: (name, set identifier, type) first, then everything else, so
/// that sorting by it makes the output independent of input order.
pub(super) fn total_cmp(a: &Endpoint, b: &Endpoint) -> Ordering {
    a.dns_name
        .cmp(&b.dns_name)
        .then_with(|| a.set_identifier.cmp(&b.set_identifier))
        .then_with(|| a.record_type.cmp(&b.record_type))
        .then_with(|| a.targets[..].cmp(&b.targets[..]))
        .then_with(|| a.ttl.cmp(&b.ttl))
        .then_with(|| a.labels.cmp(&b.labels))
        .then_with(|| a.provider_specific.cmp(&b.provider_specific))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Ttl;
    use crate::plan::tests::{mk_a, mk_cname};

    #[test]
    fn provider_specific_rules() {
        let base = mk_a("a.example.org", &["1.1.1.1"]);
        let with = |props: &[(&str, &str)]| {
            let mut e = base.clone();
            for (n, v) in props {
                e.provider_specific
                    .push(crate::endpoint::ProviderSpecific { name: n.to_string(), value: v.to_string() });
            }
            e
        };
        let changed = |d: &[(&str, &str)], c: &[(&str, &str)]| provider_specific_changed(&with(d), &with(c));
        assert!(!changed(&[], &[]));
        assert!(!changed(&[("aws/evaluate-target-health", "true")], &[("aws/evaluate-target-health", "true")]));
        assert!(!changed(&[("a", "1"), ("b", "2")], &[("b", "2"), ("a", "1")]), "order does not matter");
        assert!(changed(&[("custom/property", "true")], &[("custom/property", "false")]));
        assert!(changed(&[("custom/property", "true")], &[("new/property", "true")]));
        assert!(changed(&[("a", "1")], &[]), "added");
        assert!(changed(&[], &[("a", "1")]), "removed");
        assert!(changed(&[], &[("txt/force-update", "true")]), "registry forces an update");
        assert!(!changed(&[("a", "1"), ("a", "2")], &[("a", "2")]), "last desired value wins");
        assert!(changed(&[("a", "1")], &[("a", "1"), ("a", "1")]), "a name repeated in current is a change");
        assert!(changed(&[("a", "1"), ("a", "1")], &[("a", "1"), ("a", "1")]));
    }

    #[test]
    fn update_triggers() {
        let cur = mk_a("a.example.org", &["1.1.1.1"]).with_ttl(Ttl(300));
        assert!(!needs_update(&cur, &mk_a("a.example.org", &["1.1.1.1"]), ""), "unset TTL keeps the provider's");
        assert!(!needs_update(&cur, &cur.clone(), ""));
        assert!(needs_update(&cur, &cur.clone().with_ttl(Ttl(60)), ""));
        assert!(needs_update(&cur, &mk_a("a.example.org", &["1.1.1.2"]), ""));
        let owned = cur.clone().with_label("owner", "new");
        assert!(needs_update(&owned, &cur, "old"), "migration updates records no longer labelled old");
        assert!(!needs_update(&owned.clone().with_label("owner", "old"), &cur, "old"));
    }

    #[test]
    fn candidate_choice() {
        let v1 = mk_cname("foo.example.org", "v1.example.net").with_label("resource", "ingress/default/foo-v1");
        let v2 = mk_cname("foo.example.org", "v2.example.net").with_label("resource", "ingress/default/foo-v2");
        let v3_same_res =
            mk_cname("foo.example.org", "v3.example.net").with_label("resource", "ingress/default/foo-v1");
        assert_eq!(best([&v2, &v1].into_iter()), Some(&v1));
        assert_eq!(resolve_update(&v2, [&v1, &v2].into_iter()), &v2, "keeps the resource holding the name");
        assert_eq!(resolve_update(&v1, [&v3_same_res, &v2, &v1].into_iter()), &v1, "least of that resource");
        let legacy = mk_cname("foo.example.org", "v9.example.net");
        assert_eq!(resolve_update(&legacy, [&v2, &v1].into_iter()), &v1, "no resource match: least");
        let unlabelled = mk_cname("foo.example.org", "v8.example.net");
        assert_eq!(resolve_update(&legacy, [&v1, &unlabelled].into_iter()), &unlabelled, "missing matches missing");
        let a = mk_a("foo.example.org", &["5.5.5.5"]);
        assert_eq!(best([&v1, &a].into_iter()), Some(&a), "IP targets sort before names");
    }
}
