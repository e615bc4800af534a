//! The plan table: the endpoints the planner may touch, grouped into rows keyed by
//! (name, set identifier).
//!
//! Built without per-row allocations: one hash lookup per endpoint gives its row number, then a
//! counting sort lays every row out as one contiguous slice of a single vector (current records
//! first, then candidates, each in input order).

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::endpoint::Endpoint;
use crate::filter::DomainFilter;
use crate::record_type::RecordType;

use super::{PlanOptions, is_managed};

/// One row: every current record and every candidate (desired record) with the same name and
/// set identifier, of any type.
#[derive(Debug, Clone, Copy)]
pub(super) struct Row<'t, 'a> {
    pub current: &'t [&'a Endpoint],
    pub candidates: &'t [&'a Endpoint],
}

pub(super) struct Table<'a> {
    entries: Vec<&'a Endpoint>,
    /// Per row: where its candidates start and where the row ends. The row's current records
    /// start where the previous row ends.
    bounds: Vec<(u32, u32)>,
}

/// Marks an input record the filters dropped.
const SKIP: u32 = u32::MAX;

/// Upstream's record filter: both domain filters must match and the type must be managed.
struct Keep<'o> {
    filters: Vec<&'o DomainFilter>,
    managed: &'o [RecordType],
    excluded: &'o [RecordType],
}

impl Keep<'_> {
    fn new(opts: &PlanOptions) -> Keep<'_> {
        // An unconfigured filter matches everything: skip it rather than test it per record.
        let filters = [&opts.domain_filter, &opts.provider_filter].into_iter().filter(|f| f.is_configured()).collect();
        Keep { filters, managed: &opts.managed_types, excluded: &opts.excluded_types }
    }

    fn keeps(&self, ep: &Endpoint) -> bool {
        is_managed(ep.record_type, self.managed, self.excluded)
            && self.filters.iter().all(|f| f.matches(ep.dns_name.as_str()))
    }
}

impl<'a> Table<'a> {
    pub fn build(desired: &'a [Endpoint], current: &'a [Endpoint], opts: &PlanOptions) -> Table<'a> {
        let keep = Keep::new(opts);
        // Row number of every input record (or SKIP), and per row first its counts of current
        // records and candidates, then (see below) where they go.
        let mut bounds: Vec<(u32, u32)> = Vec::with_capacity(current.len().max(desired.len()));
        let (cur_rows, cand_rows) = {
            let mut index = RowIndex::with_capacity(current.len() + desired.len());
            let mut row_of = |ep: &'a Endpoint, is_current: bool| -> u32 {
                if !keep.keeps(ep) {
                    return SKIP;
                }
                let (row, new) = index.row(ep.dns_name.as_str(), &ep.set_identifier);
                if new {
                    bounds.push((0, 0));
                }
                let b = &mut bounds[row as usize];
                if is_current {
                    b.0 += 1
                } else {
                    b.1 += 1
                }
                row
            };
            let cur: Vec<u32> = current.iter().map(|ep| row_of(ep, true)).collect();
            let cand: Vec<u32> = desired.iter().map(|ep| row_of(ep, false)).collect();
            (cur, cand)
        };

        // Counting sort. Counts become insertion cursors (start of current, start of
        // candidates); after the scatter they have moved to (start of candidates, end of row).
        let mut at = 0u32;
        for b in bounds.iter_mut() {
            let (n_cur, n_cand) = *b;
            *b = (at, at + n_cur);
            at += n_cur + n_cand;
        }
        let Some(filler) = current.first().or(desired.first()) else {
            return Table { entries: Vec::new(), bounds };
        };
        let mut entries = vec![filler; at as usize];
        for (ep, &row) in current.iter().zip(&cur_rows).filter(|(_, r)| **r != SKIP) {
            let slot = &mut bounds[row as usize].0;
            entries[*slot as usize] = ep;
            *slot += 1;
        }
        for (ep, &row) in desired.iter().zip(&cand_rows).filter(|(_, r)| **r != SKIP) {
            let slot = &mut bounds[row as usize].1;
            entries[*slot as usize] = ep;
            *slot += 1;
        }
        Table { entries, bounds }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_, 'a>> + '_ {
        let mut start = 0usize;
        self.bounds.iter().map(move |&(mid, end)| {
            let (mid, end) = (mid as usize, end as usize);
            let row = Row { current: &self.entries[start..mid], candidates: &self.entries[mid..end] };
            start = end;
            row
        })
    }
}

/// Row numbers by (name, set identifier). The keys are copied into one buffer as rows are
/// added: the comparison that confirms a hash match then reads that buffer (a few MB for 100k
/// rows, which the caches hold) rather than the first record's own allocations, scattered over
/// the whole heap; and the table holds only row numbers (4 bytes a slot).
struct RowIndex {
    table: HashTable<u32>,
    hasher: RandomState,
    /// Per row: its key's hash, and where its name and set identifier lie in `bytes`.
    keys: Vec<Key>,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy)]
struct Key {
    hash: u64,
    start: usize,
    name_len: u32,
    set_len: u32,
}

impl RowIndex {
    fn with_capacity(n: usize) -> Self {
        RowIndex {
            table: HashTable::with_capacity(n),
            hasher: RandomState::default(),
            keys: Vec::with_capacity(n),
            bytes: Vec::new(),
        }
    }

    /// The row of (`name`, `set`), and whether it is new.
    fn row(&mut self, name: &str, set: &str) -> (u32, bool) {
        let hash = self.hasher.hash_one((name, set));
        let (keys, bytes) = (&self.keys, &self.bytes);
        let same = |&row: &u32| {
            let k = &keys[row as usize];
            let n = k.name_len as usize;
            k.hash == hash
                && bytes[k.start..k.start + n] == *name.as_bytes()
                && bytes[k.start + n..k.start + n + k.set_len as usize] == *set.as_bytes()
        };
        match self.table.entry(hash, same, |&row| keys[row as usize].hash) {
            Entry::Occupied(o) => (*o.get(), false),
            Entry::Vacant(v) => {
                let row = u32::try_from(self.keys.len()).ok().filter(|n| *n != SKIP).expect("fewer than 2^32 - 1 rows");
                v.insert(row);
                let len = |s: &str| u32::try_from(s.len()).expect("a name under 4 GiB");
                self.keys.push(Key { hash, start: self.bytes.len(), name_len: len(name), set_len: len(set) });
                self.bytes.extend_from_slice(name.as_bytes());
                self.bytes.extend_from_slice(set.as_bytes());
                (row, true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{mk_a, mk_cname};

    #[test]
    fn rows_group_by_name_and_set_identifier_in_input_order() {
        let current = vec![mk_a("a.example.org", &["1.1.1.1"]), mk_cname("b.example.org", "x.example.net")];
        let desired = vec![
            mk_a("a.example.org", &["2.2.2.2"]),
            mk_a("a.example.org", &["3.3.3.3"]).with_set_identifier("eu"),
            mk_a("a.example.org", &["4.4.4.4"]),
            mk_a("c.example.org", &["5.5.5.5"]),
        ];
        let table = Table::build(&desired, &current, &PlanOptions::default());
        let rows: Vec<_> = table.rows().collect();
        assert_eq!(rows.len(), 4);
        let a = rows[0];
        assert_eq!(a.current, &[&current[0]]);
        assert_eq!(a.candidates, &[&desired[0], &desired[2]]);
        assert_eq!((rows[1].current.len(), rows[1].candidates.len()), (1, 0));
        assert_eq!(rows[2].candidates, &[&desired[1]]);
        assert_eq!(rows[3].candidates, &[&desired[3]]);
    }

    #[test]
    fn empty_input_gives_no_rows() {
        assert_eq!(Table::build(&[], &[], &PlanOptions::default()).rows().count(), 0);
    }
}
