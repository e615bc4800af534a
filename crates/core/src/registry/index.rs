//! The lookup `records` uses: ownership TXTs by the name of the record they own.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::record_type::RecordType;

const NONE: usize = usize::MAX;

struct Slot<'a> {
    /// `None` for the old format.
    rt: Option<RecordType>,
    set_identifier: &'a str,
    txt: usize,
    next: usize,
}

/// Ownership TXTs keyed by (owned name, type, set identifier). One hash per name: the few
/// TXTs of a name (its types, set identifiers) are chained.
pub(super) struct OwnerIndex<'a> {
    heads: HashMap<Cow<'a, str>, usize>,
    slots: Vec<Slot<'a>>,
}

impl<'a> OwnerIndex<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        OwnerIndex { heads: HashMap::with_capacity(n), slots: Vec::with_capacity(n) }
    }

    /// Adds TXT number `txt`; a later TXT with the same key replaces an earlier one, as
    /// upstream's map assignment does.
    pub(super) fn insert(&mut self, name: Cow<'a, str>, rt: Option<RecordType>, set_identifier: &'a str, txt: usize) {
        let new = self.slots.len();
        let head = self.heads.entry(name).or_insert(NONE);
        let mut at = *head;
        while at != NONE {
            let slot = &mut self.slots[at];
            if slot.rt == rt && slot.set_identifier == set_identifier {
                slot.txt = txt;
                return;
            }
            at = slot.next;
        }
        self.slots.push(Slot { rt, set_identifier, txt, next: *head });
        *head = new;
    }

    /// The chain of TXTs owning records named `name`, for [`find`](Self::find).
    pub(super) fn chain(&self, name: &str) -> usize {
        self.heads.get(name).copied().unwrap_or(NONE)
    }

    /// In a chain, the TXT for the type (`None`: old format) and set identifier.
    pub(super) fn find(&self, chain: usize, rt: Option<RecordType>, set_identifier: &str) -> Option<usize> {
        let mut at = chain;
        while at != NONE {
            let slot = &self.slots[at];
            if slot.rt == rt && slot.set_identifier == set_identifier {
                return Some(slot.txt);
            }
            at = slot.next;
        }
        None
    }
}
