//! The plan table: the endpoints the planner may touch, grouped into rows keyed by
//! (name, set identifier).
//!
//! Built without per-row allocations: one hash lookup per endpoint gives its row number, then a
//! counting sort lays every row out as one contiguous slice of a single vector (current records
//! first, then candidates, each in input order).

use std::collections::HashMap;

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
    /// Per row: where its current records start and where its candidates start. A row's
    /// candidates end where the next row starts (or at the end of `entries`).
    bounds: Vec<(u32, u32)>,
}

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
        let mut index: HashMap<(&'a str, &'a str), u32> = HashMap::with_capacity(current.len().max(desired.len()));
        // Per row: number of current records, number of candidates.
        let mut counts: Vec<(u32, u32)> = Vec::with_capacity(current.len().max(desired.len()));
        let mut row_of = |ep: &'a Endpoint| -> u32 {
            let next = index.len() as u32;
            let row = *index.entry((ep.dns_name.as_str(), ep.set_identifier.as_str())).or_insert(next);
            if row == next {
                counts.push((0, 0));
            }
            row
        };

        let mut placed: Vec<(u32, &'a Endpoint)> = Vec::with_capacity(current.len() + desired.len());
        for ep in current.iter().filter(|ep| keep.keeps(ep)) {
            placed.push((row_of(ep), ep));
        }
        let n_current = placed.len();
        for ep in desired.iter().filter(|ep| keep.keeps(ep)) {
            placed.push((row_of(ep), ep));
        }
        for (i, (row, _)) in placed.iter().enumerate() {
            let c = &mut counts[*row as usize];
            if i < n_current {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }

        // Prefix sums give each row its slice; `cursor` is where the next record of a row goes.
        let mut bounds = Vec::with_capacity(counts.len());
        let mut cursor: Vec<(u32, u32)> = Vec::with_capacity(counts.len());
        let mut at = 0u32;
        for &(n_cur, n_cand) in &counts {
            bounds.push((at, at + n_cur));
            cursor.push((at, at + n_cur));
            at += n_cur + n_cand;
        }

        let Some(&(_, filler)) = placed.first() else {
            return Table { entries: Vec::new(), bounds };
        };
        let mut entries = vec![filler; placed.len()];
        for (i, &(row, ep)) in placed.iter().enumerate() {
            let c = &mut cursor[row as usize];
            let slot = if i < n_current { &mut c.0 } else { &mut c.1 };
            entries[*slot as usize] = ep;
            *slot += 1;
        }
        Table { entries, bounds }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_, 'a>> + '_ {
        (0..self.bounds.len()).map(move |r| {
            let (start, mid) = self.bounds[r];
            let end = self.bounds.get(r + 1).map_or(self.entries.len(), |b| b.0 as usize);
            Row { current: &self.entries[start as usize..mid as usize], candidates: &self.entries[mid as usize..end] }
        })
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
