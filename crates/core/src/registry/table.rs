//! Ownership kept outside the zone, in a table keyed by record (`--registry=crd`: DNSRecord
//! objects; `--registry=dynamodb`: a DynamoDB table), as upstream's CRD and DynamoDB registries.
//!
//! The zone holds no ownership TXT: a record is ours when the table has an entry of our owner for
//! its (name, type, set identifier). The table lives in a store that needs I/O; this module does
//! none. A sync cycle is:
//! 1. the store is read (async, in the controller) and its entries given to
//!    [`TableRegistry::load`]; a store that cannot be read stops the sync before anything is
//!    planned, so it never causes a deletion;
//! 2. [`Registry::records`] puts each entry's labels on the provider's record of its key; a record
//!    without an entry is foreign (left alone, its name not taken);
//! 3. [`Registry::apply`] passes the plan through and lists the table writes it needs
//!    ([`TableWrite`]): claims and updates are written before the provider applies (a claim the
//!    store refuses, because another owner holds the key, drops the create), releases after;
//! 4. [`TableRegistry::commit`] takes into the loaded entries what the store accepted.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::{Owned, Registry, RegistryChanges};
use crate::changes::Changes;
use crate::endpoint::{Endpoint, EndpointKey, Labels, label};
use crate::error::Error;
use crate::name::DnsName;

/// The entries of one owner: labels (with `owner`) by record key; and the keys other owners
/// hold in the same store, which this owner must not claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipTable {
    entries: BTreeMap<EndpointKey, Labels>,
    foreign: BTreeMap<EndpointKey, String>,
}

impl OwnershipTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: EndpointKey, labels: Labels) {
        self.entries.insert(key, labels);
    }

    /// A key another owner holds.
    pub fn insert_foreign(&mut self, key: EndpointKey, owner: String) {
        self.foreign.insert(key, owner);
    }

    /// The owner of a key another owner holds.
    pub fn foreign_owner(&self, key: &EndpointKey) -> Option<&str> {
        self.foreign.get(key).map(String::as_str)
    }

    pub fn get(&self, key: &EndpointKey) -> Option<&Labels> {
        self.entries.get(key)
    }

    pub fn contains(&self, key: &EndpointKey) -> bool {
        self.entries.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&EndpointKey, &Labels)> {
        self.entries.iter()
    }
}

/// A write to the table that a plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableWrite {
    /// Before the provider creates `0`: its key becomes ours, unless another owner holds it.
    Claim(Endpoint),
    /// Before the provider updates a record of ours to `0` (its labels may have changed).
    Update(Endpoint),
    /// After the provider deleted the record of this key (or the record is gone): the entry goes.
    Release(EndpointKey),
}

impl TableWrite {
    pub fn key(&self) -> EndpointKey {
        match self {
            TableWrite::Claim(e) | TableWrite::Update(e) => e.key(),
            TableWrite::Release(k) => k.clone(),
        }
    }

    /// Written before the provider applies (claims and updates) rather than after (releases).
    pub fn is_before(&self) -> bool {
        !matches!(self, TableWrite::Release(_))
    }
}

/// The registry over a table of ownership entries (`--registry=crd`, `--registry=dynamodb`).
#[derive(Debug)]
pub struct TableRegistry {
    owner_id: String,
    /// What the store held when last read, with the writes it accepted since; `None` before the
    /// first read (nothing is ours then).
    table: RwLock<Option<Arc<OwnershipTable>>>,
}

impl TableRegistry {
    /// `owner_id` is `--txt-owner-id`, which upstream's CRD and DynamoDB registries use too.
    pub fn new(owner_id: &str) -> Result<Self, Error> {
        if owner_id.is_empty() {
            return Err(Error::config("--txt-owner-id", "the owner id cannot be empty"));
        }
        Ok(TableRegistry { owner_id: owner_id.to_owned(), table: RwLock::new(None) })
    }

    /// The entries as the store holds them now.
    pub fn load(&self, table: OwnershipTable) {
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(table));
    }

    pub fn is_loaded(&self) -> bool {
        self.table.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub fn snapshot(&self) -> Arc<OwnershipTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
    }

    /// Takes in writes the store accepted.
    pub fn commit(&self, writes: &[TableWrite]) {
        let mut guard = self.table.write().unwrap_or_else(|p| p.into_inner());
        let mut table = guard.as_deref().cloned().unwrap_or_default();
        for w in writes {
            match w {
                TableWrite::Claim(e) | TableWrite::Update(e) => table.insert(e.key(), e.labels.clone()),
                TableWrite::Release(k) => {
                    table.entries.remove(k);
                }
            }
        }
        *guard = Some(Arc::new(table));
    }

    /// Entries whose record the provider does not hold (`present` says which keys it holds),
    /// among those `in_scope` (names the provider read in full: not under a zone it could not
    /// read, inside the domain filter). An entry left behind would claim a record someone else
    /// creates at its key later.
    pub fn orphans(
        &self,
        present: &dyn Fn(&EndpointKey) -> bool,
        in_scope: &dyn Fn(&DnsName) -> bool,
    ) -> Vec<EndpointKey> {
        self.snapshot().entries.keys().filter(|k| !present(k) && in_scope(&k.dns_name)).cloned().collect()
    }

    fn is_ours(&self, ep: &Endpoint) -> bool {
        ep.owner() == Some(self.owner_id.as_str())
    }
}

impl Registry for TableRegistry {
    fn owner_id(&self) -> &str {
        &self.owner_id
    }

    fn records(&self, raw: Vec<Endpoint>) -> Owned {
        let table = self.snapshot();
        let endpoints = raw
            .into_iter()
            .map(|mut ep| {
                // As upstream: the table's labels, or none (a provider's own labels say nothing
                // about ownership here).
                ep.labels = table.get(&ep.key()).cloned().unwrap_or_default();
                ep
            })
            .collect();
        Owned::new(endpoints)
    }

    fn apply(&self, changes: Changes, _owned: &Owned) -> RegistryChanges {
        let Changes { mut create, update_old, update_new, delete } = changes;
        let mut table = Vec::new();
        for r in &mut create {
            r.labels.insert(label::OWNER.to_owned(), self.owner_id.clone());
            table.push(TableWrite::Claim(r.clone()));
        }
        let delete: Vec<Endpoint> = delete.into_iter().filter(|r| self.is_ours(r)).collect();
        let (update_old, update_new): (Vec<Endpoint>, Vec<Endpoint>) =
            update_old.into_iter().zip(update_new).filter(|(o, n)| self.is_ours(o) && self.is_ours(n)).unzip();
        table.extend(update_new.iter().cloned().map(TableWrite::Update));
        table.extend(delete.iter().map(|r| TableWrite::Release(r.key())));
        RegistryChanges { changes: Changes { create, update_old, update_new, delete }, invalid: Vec::new(), table }
    }

    fn ownership_names(&self, _ep: &Endpoint) -> Vec<DnsName> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordType;

    fn ep(name: &str, ip: &str) -> Endpoint {
        Endpoint::parse(name, RecordType::A, &[ip]).unwrap()
    }

    fn labels(owner: &str, resource: &str) -> Labels {
        Labels::from([(label::OWNER.to_owned(), owner.to_owned()), (label::RESOURCE.to_owned(), resource.to_owned())])
    }

    #[test]
    fn entries_own_their_records_and_the_rest_is_foreign() {
        let r = TableRegistry::new("me").unwrap();
        let mut t = OwnershipTable::new();
        t.insert(ep("a.example.org", "192.0.2.1").key(), labels("me", "service/ns/a"));
        r.load(t);
        let foreign = ep("b.example.org", "192.0.2.2").with_label(label::OWNER, "me");
        let owned = r.records(vec![ep("a.example.org", "192.0.2.9"), foreign]);
        assert_eq!(owned.endpoints[0].owner(), Some("me"));
        assert_eq!(owned.endpoints[0].resource(), Some("service/ns/a"));
        assert!(owned.endpoints[1].labels.is_empty(), "a provider's label does not make a record ours");
    }

    #[test]
    fn apply_claims_creates_updates_ours_and_releases_deletes() {
        let r = TableRegistry::new("me").unwrap();
        let mine = ep("a.example.org", "192.0.2.1").with_label(label::OWNER, "me");
        let theirs = ep("b.example.org", "192.0.2.2").with_label(label::OWNER, "other");
        let changes = Changes {
            create: vec![ep("c.example.org", "192.0.2.3")],
            update_old: vec![mine.clone(), theirs.clone()],
            update_new: vec![mine.clone(), theirs.clone()],
            delete: vec![mine.clone(), theirs],
        };
        let out = r.apply(changes, &Owned::default());
        assert_eq!(out.changes.create[0].owner(), Some("me"));
        assert_eq!(out.changes.update_new, vec![mine.clone()]);
        assert_eq!(out.changes.delete, vec![mine.clone()]);
        let keys: Vec<(bool, String)> =
            out.table.iter().map(|w| (w.is_before(), w.key().dns_name.to_string())).collect();
        assert_eq!(
            keys,
            [(true, "c.example.org".into()), (true, "a.example.org".into()), (false, "a.example.org".into())]
        );
        r.commit(&out.table[..1]);
        assert!(r.snapshot().contains(&ep("c.example.org", "192.0.2.3").key()));
    }

    #[test]
    fn orphans_only_in_scope() {
        let r = TableRegistry::new("me").unwrap();
        let mut t = OwnershipTable::new();
        for n in ["a.example.org", "gone.example.org", "gone.frozen.org"] {
            t.insert(ep(n, "192.0.2.1").key(), labels("me", "x"));
        }
        r.load(t);
        let present = |k: &EndpointKey| k.dns_name.as_str() == "a.example.org";
        let scope = |n: &DnsName| !n.as_str().ends_with("frozen.org");
        let orphans: Vec<String> = r.orphans(&present, &scope).into_iter().map(|k| k.dns_name.to_string()).collect();
        assert_eq!(orphans, ["gone.example.org"]);
    }

    #[test]
    fn empty_owner_is_refused() {
        assert!(TableRegistry::new("").is_err());
    }
}
