//! Ownership of records: which records in a zone are ours (`--registry`).
//!
//! The [`TxtRegistry`] is upstream ExternalDNS v0.22's TXT registry: it reads what upstream
//! wrote and writes what upstream would (names and plain-text values byte for byte; encrypted
//! values in upstream's scheme, reusing the zone's bytes where the labels are unchanged), so a
//! zone can move from upstream to exodns without a single DNS write. Each record we own has a
//! TXT record next to it whose name comes from [`NameMapper`] and whose value holds our labels
//! ([`labels`], [`crypto`]).
//!
//! The registry does no I/O (ownership kept in a table outside the zone, [`table`], is read and
//! written by the controller around it). A sync cycle is:
//! 1. the provider lists the zone; [`Registry::records`] turns the list into [`Owned`]: the
//!    records with their owner labels attached, ownership TXTs taken out;
//! 2. the planner compares `Owned::endpoints` with the desired records;
//! 3. [`Registry::apply`] adds the ownership TXTs to the plan's changes (and drops updates and
//!    deletes of records that are not ours); the provider applies the result.

// `Invalid` (the crate's diagnostic) is large; it is returned rarely and never in a hot loop.
#![allow(clippy::result_large_err)]

pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
mod index;
pub mod labels;
pub mod mapper;
pub mod table;
mod txt;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use crate::changes::Changes;
use crate::endpoint::{Endpoint, Labels};
use crate::error::Invalid;
use crate::name::DnsName;
use crate::target::Targets;
use crate::zones::ZoneIndex;

pub use crypto::AesKey;
pub use mapper::NameMapper;
pub use table::{OwnershipTable, TableRegistry, TableWrite};
pub use txt::{TxtConfig, TxtRegistry};

/// Ownership bookkeeping over the records of a zone.
pub trait Registry: Send + Sync {
    /// The owner id this registry claims records for; empty for the noop registry, which owns
    /// everything.
    fn owner_id(&self) -> &str;

    /// Upstream's `Records()`: the zone's records as the planner should see them.
    fn records(&self, raw: Vec<Endpoint>) -> Owned;

    /// Upstream's `ApplyChanges()` without the provider call: the changes to send to the provider.
    /// `owned` is what [`records`](Self::records) returned for the zone the changes were planned
    /// on.
    fn apply(&self, changes: Changes, owned: &Owned) -> RegistryChanges;

    /// The names of the TXT records that can carry the ownership of `ep` (the one `apply`
    /// writes first, then the legacy ones still read). Empty for the noop registry.
    fn ownership_names(&self, ep: &Endpoint) -> Vec<DnsName>;
}

/// The zone as the registry read it: the records (ownership TXTs removed, labels attached) and
/// the ownership TXTs that exist, which [`Registry::apply`] needs.
#[derive(Debug, Clone, Default)]
pub struct Owned {
    pub endpoints: Vec<Endpoint>,
    txt: Vec<ExistingTxt>,
    /// The provider's zones, when it can tell them: ownership TXTs are kept in the zone of
    /// their record, and a record whose TXT cannot be is not written.
    zones: Option<ZoneIndex>,
    /// `txt` positions sorted by (name, set identifier), built when first needed: a sync
    /// without changes never asks.
    sorted: OnceLock<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ExistingTxt {
    name: DnsName,
    set_identifier: String,
    /// The targets as the zone has them (never empty; the first is the value), shared with
    /// the record read.
    target: Targets,
    /// With encryption on: the labels the target decodes to, so that an unchanged value is
    /// written back with the zone's bytes.
    labels: Option<Labels>,
}

impl PartialEq for Owned {
    fn eq(&self, other: &Self) -> bool {
        self.endpoints == other.endpoints && self.txt == other.txt
    }
}

impl Eq for Owned {}

impl Owned {
    /// Records without any ownership TXT (what the noop registry returns).
    pub fn new(endpoints: Vec<Endpoint>) -> Self {
        Owned { endpoints, txt: Vec::new(), zones: None, sorted: OnceLock::new() }
    }

    /// The zones the records were read from (the provider's `zones()`); `None`: unknown.
    pub fn with_zones(mut self, zones: Option<ZoneIndex>) -> Self {
        self.zones = zones;
        self
    }

    pub fn into_endpoints(self) -> Vec<Endpoint> {
        self.endpoints
    }

    /// Whether the zone has an ownership TXT with this name and set identifier.
    pub fn has_txt(&self, name: &DnsName, set_identifier: &str) -> bool {
        self.existing(name, set_identifier).is_some()
    }

    /// The ownership TXTs of the zone: (name, set identifier), in the provider's order.
    pub fn txt_records(&self) -> impl Iterator<Item = (&DnsName, &str)> {
        self.txt.iter().map(|t| (&t.name, t.set_identifier.as_str()))
    }

    /// Number of ownership TXTs in the zone.
    pub fn txt_count(&self) -> usize {
        self.txt.len()
    }

    /// The TXT with this name and set identifier (the last one listed, if the provider listed
    /// it twice).
    fn existing(&self, name: &DnsName, set_identifier: &str) -> Option<&ExistingTxt> {
        let key = |i: &usize| {
            let t = &self.txt[*i];
            (&t.name, t.set_identifier.as_str())
        };
        let sorted = self.sorted.get_or_init(|| {
            let mut sorted: Vec<usize> = (0..self.txt.len()).collect();
            sorted.sort_by(|a, b| key(a).cmp(&key(b)));
            sorted
        });
        let end = sorted.partition_point(|i| key(i) <= (name, set_identifier));
        let last = end.checked_sub(1).map(|at| sorted[at])?;
        (key(&last) == (name, set_identifier)).then(|| &self.txt[last])
    }
}

/// What [`Registry::apply`] returns: the changes for the provider, and the records it had to
/// leave out or change without their ownership TXT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryChanges {
    pub changes: Changes,
    pub invalid: Vec<Invalid>,
    /// Writes to an ownership table kept outside the zone ([`table`]); empty for the TXT and
    /// noop registries.
    pub table: Vec<TableWrite>,
}

/// `--registry=noop`: no ownership records; every record counts as ours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoopRegistry;

impl Registry for NoopRegistry {
    fn owner_id(&self) -> &str {
        ""
    }

    fn records(&self, raw: Vec<Endpoint>) -> Owned {
        Owned::new(raw)
    }

    fn apply(&self, changes: Changes, _owned: &Owned) -> RegistryChanges {
        RegistryChanges { changes, invalid: Vec::new(), table: Vec::new() }
    }

    fn ownership_names(&self, _ep: &Endpoint) -> Vec<DnsName> {
        Vec::new()
    }
}
