//! Change batches under Route 53's limits: at most `max_changes` changes, `max_values` record
//! values and `max_bytes` characters of values per request, where an UPSERT counts twice (AWS's
//! rule). A record and its ownership TXT (and every record set of one name) stay in the same
//! batch, so a batch never leaves a record without its owner.

use std::collections::BTreeMap;

use exodns_core::Endpoint;
use exodns_core::endpoint::label;

use crate::model::{Action, ResourceRecordSet, change_batch_xml};

/// Limits of one `ChangeResourceRecordSets` request (upstream's `--aws-batch-change-size*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_changes: usize,
    pub max_bytes: usize,
    pub max_values: usize,
}

impl Default for Limits {
    /// AWS's limits: 1 000 changes, 32 000 characters, 1 000 values.
    fn default() -> Self {
        Limits { max_changes: 1000, max_bytes: 32_000, max_values: 1000 }
    }
}

/// One change of a zone.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub action: Action,
    pub rrset: ResourceRecordSet,
    /// The endpoint it was made from, for reports.
    pub source: &'a Endpoint,
    /// Changes with the same key go in the same batch: the owned record's name for an ownership
    /// TXT, the record's own name otherwise.
    pub group: String,
    pub bytes: usize,
    pub values: usize,
}

impl<'a> Item<'a> {
    pub fn new(action: Action, rrset: ResourceRecordSet, source: &'a Endpoint) -> Self {
        let (mut bytes, mut values) = match &rrset.alias_target {
            Some(a) => (a.dns_name.len(), 1),
            None => (rrset.values().map(str::len).sum(), rrset.values().count()),
        };
        if action == Action::Upsert {
            bytes *= 2;
            values *= 2;
        }
        let group =
            source.labels.get(label::OWNED_RECORD).cloned().unwrap_or_else(|| source.dns_name.as_str().to_owned());
        let group = group.trim_end_matches('.').to_ascii_lowercase();
        Item { action, rrset, source, group, bytes, values }
    }
}

/// Sizes of a batch, as AWS counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub changes: usize,
    pub bytes: usize,
    pub values: usize,
}

impl Size {
    pub fn of(items: &[Item<'_>], batch: &[usize]) -> Size {
        batch.iter().fold(Size::default(), |s, &i| Size {
            changes: s.changes + 1,
            bytes: s.bytes + items[i].bytes,
            values: s.values + items[i].values,
        })
    }

    fn fits(self, l: Limits) -> bool {
        self.changes <= l.max_changes && self.bytes <= l.max_bytes && self.values <= l.max_values
    }

    fn plus(self, o: Size) -> Size {
        Size { changes: self.changes + o.changes, bytes: self.bytes + o.bytes, values: self.values + o.values }
    }
}

/// The groups of `items` (indexes), in name order.
pub fn groups(items: &[Item<'_>]) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        by.entry(it.group.as_str()).or_default().push(i);
    }
    by.into_values().collect()
}

/// Packs groups into batches in order, each under `limits`. A group that alone exceeds the
/// limits is returned apart: it cannot be sent.
pub fn pack(items: &[Item<'_>], groups: Vec<Vec<usize>>, limits: Limits) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut batches = Vec::new();
    let mut too_big = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut size = Size::default();
    for g in groups {
        let gs = Size::of(items, &g);
        if !gs.fits(limits) {
            too_big.push(g);
            continue;
        }
        if !size.plus(gs).fits(limits) {
            batches.push(std::mem::take(&mut current));
            size = Size::default();
        }
        size = size.plus(gs);
        current.extend(g);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    for b in &mut batches {
        sort_batch(items, b);
    }
    (batches, too_big)
}

/// UPSERTs, then DELETEs, then CREATEs, each by name and type (upstream's order), so that a
/// DELETE frees a name before a CREATE of another type takes it.
fn sort_batch(items: &[Item<'_>], batch: &mut [usize]) {
    batch.sort_by(|&a, &b| {
        let (x, y) = (&items[a], &items[b]);
        x.action
            .cmp(&y.action)
            .then_with(|| x.rrset.name.cmp(&y.rrset.name))
            .then_with(|| x.rrset.rtype.cmp(&y.rrset.rtype))
    });
}

/// The request body of a batch.
pub fn body(items: &[Item<'_>], batch: &[usize]) -> String {
    change_batch_xml(batch.iter().map(|&i| (items[i].action, &items[i].rrset)))
}

/// Splits a refused batch in two halves along group boundaries; `None` when it is one group.
pub fn split(items: &[Item<'_>], batch: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    let mut gs: Vec<Vec<usize>> = Vec::new();
    for &i in batch {
        match gs.iter_mut().find(|g| items[g[0]].group == items[i].group) {
            Some(g) => g.push(i),
            None => gs.push(vec![i]),
        }
    }
    if gs.len() < 2 {
        return None;
    }
    let right = gs.split_off(gs.len() / 2);
    let mut a: Vec<usize> = gs.into_iter().flatten().collect();
    let mut b: Vec<usize> = right.into_iter().flatten().collect();
    sort_batch(items, &mut a);
    sort_batch(items, &mut b);
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{WriteOptions, to_rrset};
    use exodns_core::RecordType;

    fn eps(n: usize) -> Vec<Endpoint> {
        let mut v = Vec::new();
        for i in 0..n {
            let name = format!("host-{i:05}.example.org");
            v.push(Endpoint::parse(&name, RecordType::A, &[&format!("10.0.{}.{}", i / 256, i % 256)]).unwrap());
            let txt = format!(
                "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/svc-{i:05}\""
            );
            v.push(
                Endpoint::parse(&format!("a-host-{i:05}.example.org"), RecordType::TXT, &[&txt])
                    .unwrap()
                    .with_label(label::OWNED_RECORD, name),
            );
        }
        v
    }

    fn items(eps: &[Endpoint], action: Action) -> Vec<Item<'_>> {
        let o = WriteOptions { evaluate_target_health: true };
        eps.iter().map(|e| Item::new(action, to_rrset(e, o).unwrap(), e)).collect()
    }

    #[test]
    fn batches_stay_under_every_limit_and_keep_owners_together() {
        let e = eps(2500);
        for action in [Action::Create, Action::Upsert] {
            let it = items(&e, action);
            let (batches, too_big) = pack(&it, groups(&it), Limits::default());
            assert!(too_big.is_empty());
            assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), it.len());
            for b in &batches {
                let s = Size::of(&it, b);
                assert!(s.changes <= 1000 && s.values <= 1000 && s.bytes <= 32_000, "{s:?}");
                let names: std::collections::BTreeSet<&str> = b.iter().map(|&i| it[i].group.as_str()).collect();
                assert_eq!(names.len() * 2, b.len(), "record and TXT together");
                let chars: usize = body(&it, b).len();
                assert!(chars < 400_000, "{chars}");
            }
            // Bytes bind first: TXT values are ~90 characters.
            let first = Size::of(&it, &batches[0]);
            assert!(first.bytes > 31_000, "batches are full: {first:?}");
        }
    }

    #[test]
    fn a_group_over_the_limits_is_set_apart_and_split_follows_groups() {
        let big: Vec<String> = (0..1001).map(|i| format!("10.1.{}.{}", i / 256, i % 256)).collect();
        let refs: Vec<&str> = big.iter().map(String::as_str).collect();
        let mut e = eps(3);
        e.push(Endpoint::parse("big.example.org", RecordType::A, &refs).unwrap());
        let it = items(&e, Action::Create);
        let (batches, too_big) = pack(&it, groups(&it), Limits::default());
        assert_eq!(too_big.len(), 1);
        assert_eq!(batches.len(), 1);
        let (a, b) = split(&it, &batches[0]).unwrap();
        assert_eq!((a.len(), b.len()), (2, 4));
        assert!(split(&it, &a).is_none(), "one group does not split");
    }
}
