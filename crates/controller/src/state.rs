//! The controller's memory between syncs: what each object wants, which objects want each
//! name, and the provider's records by name.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

// The maps below are looked up for every object and every record at each full sync: foldhash
// (seeded per process) rather than SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use exodns_core::endpoint::merge_endpoints;
use exodns_core::{Changes, DnsName, Endpoint, Invalid, ObjectRef};
use exodns_provider::Rejected;

use exodns_core::source::SourceOutput;

/// Desired endpoints per object, and the reverse index name → objects.
#[derive(Debug, Default)]
pub struct DesiredIndex {
    by_object: HashMap<ObjectRef, Wanted>,
    /// Almost every name is wanted by one object: a small vector, not a tree.
    by_name: HashMap<DnsName, Vec<ObjectRef>>,
    /// Pieces of refused input over all objects by (record type, source), kept as objects come
    /// and go (upstream's `external_dns_source_invalid_endpoints` labels).
    invalid_by_label: HashMap<(String, String), usize>,
    /// Counts the changes of what objects want: equal versions, equal desired records.
    version: u64,
    /// The current pass over every object (see [`DesiredIndex::begin_sweep`]).
    sweep: u64,
}

/// What one object wants (as its source handed it out), and the last pass over every object
/// that found it.
#[derive(Debug)]
struct Wanted {
    output: Arc<SourceOutput>,
    seen: u64,
}

/// The labels of one piece of refused input: its record type (`unknown` when the input did not
/// get that far) and the kind of its object.
fn invalid_label(object: &ObjectRef, inv: &Invalid) -> (String, String) {
    let rt = inv.record_type.map_or_else(|| "unknown".to_owned(), |t| t.to_string());
    (rt, object.kind.clone())
}

impl DesiredIndex {
    /// Replaces what `object` wants (`None`: the object is gone). Returns the names whose desired
    /// records may have changed.
    pub fn set(&mut self, object: &ObjectRef, now: Option<Arc<SourceOutput>>) -> Vec<DnsName> {
        if self.unchanged(object, now.as_ref()) {
            return Vec::new();
        }
        self.version += 1;
        let mut touched: BTreeSet<DnsName> = BTreeSet::new();
        if let Some(Wanted { output: old, .. }) = self.by_object.remove(object) {
            for inv in &old.invalid {
                let label = invalid_label(object, inv);
                if let Some(n) = self.invalid_by_label.get_mut(&label) {
                    *n -= 1;
                    if *n == 0 {
                        self.invalid_by_label.remove(&label);
                    }
                }
            }
            for ep in &old.endpoints {
                touched.insert(ep.dns_name.clone());
                if let Some(set) = self.by_name.get_mut(&ep.dns_name) {
                    set.retain(|o| o != object);
                    if set.is_empty() {
                        self.by_name.remove(&ep.dns_name);
                    }
                }
            }
        }
        if let Some(new) = now {
            for inv in &new.invalid {
                *self.invalid_by_label.entry(invalid_label(object, inv)).or_default() += 1;
            }
            for ep in &new.endpoints {
                touched.insert(ep.dns_name.clone());
                let set = self.by_name.entry(ep.dns_name.clone()).or_default();
                if !set.contains(object) {
                    set.push(object.clone());
                }
            }
            self.by_object.insert(object.clone(), Wanted { output: new, seen: self.sweep });
        }
        touched.into_iter().collect()
    }

    /// Whether `object` wants `now` already (one lookup: the common case of a full sync);
    /// marks it seen by the current sweep. A source that remembers outputs hands out the same
    /// `Arc` again: equal pointers are equal outputs, without a comparison of their content.
    pub fn unchanged(&mut self, object: &ObjectRef, now: Option<&Arc<SourceOutput>>) -> bool {
        match (self.by_object.get_mut(object), now) {
            (None, None) => true,
            (Some(w), Some(now)) if Arc::ptr_eq(&w.output, now) || w.output == *now => {
                // Kept as handed out this time, so that the next comparison is by pointer.
                w.output = now.clone();
                w.seen = self.sweep;
                true
            }
            _ => false,
        }
    }

    /// Starts a pass over every object: those not [`set`](Self::set) (or found
    /// [`unchanged`](Self::unchanged)) before [`end_sweep`](Self::end_sweep) are gone.
    pub fn begin_sweep(&mut self) {
        self.sweep += 1;
    }

    /// Drops the objects the pass did not find; returns the names they wanted.
    pub fn end_sweep(&mut self) -> Vec<DnsName> {
        let sweep = self.sweep;
        let gone: Vec<ObjectRef> =
            self.by_object.iter().filter(|(_, w)| w.seen != sweep).map(|(o, _)| o.clone()).collect();
        gone.iter().flat_map(|o| self.set(o, None)).collect()
    }

    /// Changes whenever what any object wants changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The desired endpoints at `names`, merged across objects as the sources merge them.
    pub fn endpoints_at<'a>(&self, names: impl IntoIterator<Item = &'a DnsName>) -> Vec<Endpoint> {
        let mut out = Vec::new();
        for name in names {
            for object in self.by_name.get(name).into_iter().flatten() {
                if let Some(w) = self.by_object.get(object) {
                    out.extend(w.output.endpoints.iter().filter(|e| &e.dns_name == name).cloned());
                }
            }
        }
        merge_sorted(out)
    }

    /// Every desired endpoint, merged.
    pub fn all_endpoints(&self) -> Vec<Endpoint> {
        merge_sorted(self.by_object.values().flat_map(|w| w.output.endpoints.iter().cloned()).collect())
    }

    /// Desired endpoints that repeat one of another object exactly (name, type, set identifier
    /// and targets), by (record type, source kind of the repeating object): upstream's
    /// `deduplicated_endpoints`. The first by object is kept, as objects are ordered.
    pub fn duplicates_by_label(&self) -> Vec<(String, String, usize)> {
        let mut objects: Vec<&ObjectRef> = self.by_object.keys().collect();
        objects.sort();
        let mut seen: HashSet<(&DnsName, exodns_core::RecordType, &str, Vec<&str>)> = HashSet::new();
        let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
        for o in objects {
            for ep in &self.by_object[o].output.endpoints {
                let mut targets: Vec<&str> = ep.targets.iter().collect();
                targets.sort_unstable();
                if !seen.insert((&ep.dns_name, ep.record_type, ep.set_identifier.as_str(), targets)) {
                    *counts.entry((ep.record_type.to_string(), o.kind.clone())).or_default() += 1;
                }
            }
        }
        counts.into_iter().map(|((rt, kind), n)| (rt, kind, n)).collect()
    }

    /// Pieces of input refused right now, over all objects.
    /// Refused input right now by (record type, source).
    pub fn invalid_by_label(&self) -> Vec<(String, String, usize)> {
        let mut v: Vec<_> = self.invalid_by_label.iter().map(|((rt, src), n)| (rt.clone(), src.clone(), *n)).collect();
        v.sort();
        v
    }

    /// The input of `object` refused at its last recomputation.
    pub fn invalid_of(&self, object: &ObjectRef) -> &[Invalid] {
        self.by_object.get(object).map_or(&[], |w| w.output.invalid.as_slice())
    }

    /// `resource` labels of objects that have invalid input right now.
    pub fn objects_with_invalid_input(&self) -> HashSet<String> {
        self.by_object.iter().filter(|(_, w)| !w.output.invalid.is_empty()).map(|(o, _)| o.resource_label()).collect()
    }

    /// The objects that want any of `names`.
    pub fn objects_at<'a>(&self, names: impl IntoIterator<Item = &'a DnsName>) -> BTreeSet<ObjectRef> {
        names.into_iter().flat_map(|n| self.by_name.get(n).into_iter().flatten().cloned()).collect()
    }

    /// Every name some object wants.
    pub fn names(&self) -> impl Iterator<Item = &DnsName> {
        self.by_name.keys()
    }

    pub fn objects(&self) -> impl Iterator<Item = &ObjectRef> {
        self.by_object.keys()
    }
}

/// Merge as `SourceOutput::merged` does: by resource label first, so the label a merged endpoint
/// keeps does not depend on hash order.
fn merge_sorted(mut eps: Vec<Endpoint>) -> Vec<Endpoint> {
    eps.sort_by(|a, b| a.resource().cmp(&b.resource()));
    let mut merged = merge_endpoints(eps);
    for ep in &mut merged {
        ep.targets.sort();
    }
    merged
}

/// The provider's records (ownership TXT included), as last read and since written: in the
/// order the provider listed them, so that the next read, most often the same listing again, is
/// compared record by record without a lookup; and by name.
#[derive(Debug, Default)]
pub struct RecordCache {
    /// As the provider listed them, then those written since; `None` where one was deleted.
    records: Vec<Option<Endpoint>>,
    by_name: HashMap<DnsName, Named>,
    len: usize,
    /// `records` is a listing as the provider gave it: nothing written since.
    listed: bool,
    valid: bool,
    /// Counts the changes of the cache: equal versions, equal records.
    version: u64,
}

/// Where the cached records of one name are in [`RecordCache::records`].
#[derive(Debug, Default)]
struct Named {
    at: Vec<u32>,
    /// Scratch of [`RecordCache::holds_exactly`]: `at[..matched]` were found in the read.
    matched: usize,
}

impl RecordCache {
    pub fn replace(&mut self, records: Vec<Endpoint>) {
        self.list(records);
        self.version += 1;
    }

    /// Takes a listing as the cache, by name and in its order.
    fn list(&mut self, records: Vec<Endpoint>) {
        self.by_name.clear();
        self.len = records.len();
        for (i, ep) in records.iter().enumerate() {
            self.by_name.entry(ep.dns_name.clone()).or_default().at.push(index(i));
        }
        self.records = records.into_iter().map(Some).collect();
        self.listed = true;
        self.valid = true;
    }

    /// Whether the cache holds exactly `read` (as a multiset: the order of the read is the
    /// provider's), without copying it: a zone read that finds what the cache holds. A read in
    /// the order of the listing the cache holds is compared record by record.
    pub fn holds_exactly(&mut self, read: &[Endpoint]) -> bool {
        if !self.valid || read.len() != self.len {
            return false;
        }
        if self.listed && read.iter().zip(&self.records).all(|(r, c)| c.as_ref() == Some(r)) {
            return true;
        }
        let mut same = true;
        for ep in read {
            // Each cached record matches one record of the read: the ones matched so far are
            // moved to the front of their name's list.
            let Some(named) = self.by_name.get_mut(&ep.dns_name) else {
                same = false;
                break;
            };
            let start = named.matched;
            let found = named.at[start..].iter().position(|&i| self.records[i as usize].as_ref() == Some(ep));
            match found {
                Some(i) => {
                    named.at.swap(start, start + i);
                    named.matched += 1;
                }
                None => {
                    same = false;
                    break;
                }
            }
        }
        for named in self.by_name.values_mut() {
            same &= named.matched == named.at.len();
            named.matched = 0;
        }
        same
    }

    /// Takes `read`, found to be what the cache holds ([`holds_exactly`](Self::holds_exactly)),
    /// as the cache: the same records, in the provider's order again (after writes), so that the
    /// next read is compared record by record.
    pub fn relist(&mut self, read: Vec<Endpoint>) {
        if !self.listed {
            self.list(read);
        }
    }

    /// Changes whenever the cached records change (or are found unknown).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// After a failure whose effect on the provider is unknown: the next sync must re-read.
    pub fn invalidate(&mut self) {
        self.valid = false;
        self.version += 1;
    }

    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Every name with a cached record.
    pub fn names(&self) -> impl Iterator<Item = &DnsName> {
        self.by_name.keys()
    }

    /// Every cached record.
    pub fn all(&self) -> Vec<Endpoint> {
        self.records.iter().flatten().cloned().collect()
    }

    pub fn records_at<'a>(&self, names: impl IntoIterator<Item = &'a DnsName>) -> Vec<Endpoint> {
        let mut seen = HashSet::new();
        names
            .into_iter()
            .filter(|n| seen.insert(*n))
            .flat_map(|n| self.by_name.get(n).into_iter().flat_map(|n| &n.at))
            .filter_map(|&i| self.records[i as usize].clone())
            .collect()
    }

    /// Takes in what an apply did: sent changes minus what the provider refused. Takes the
    /// changes by value: after a first sync they are most of the zone, and a copy of them would
    /// be the sync's peak of memory.
    pub fn record_applied(&mut self, sent: Changes, rejected: &[Rejected]) {
        if !sent.is_empty() {
            self.version += 1;
            self.listed = false;
        }
        let refused = |ep: &Endpoint| rejected.iter().any(|r| r.endpoint.key() == ep.key());
        for ep in sent.delete.iter().filter(|e| !refused(e)) {
            self.remove(ep);
        }
        for (old, new) in sent.update_old.iter().zip(sent.update_new) {
            if !refused(&new) {
                self.remove(old);
                self.insert(new);
            }
        }
        for ep in sent.create.into_iter().filter(|e| !refused(e)) {
            self.remove(&ep);
            self.insert(ep);
        }
        // Deleted records leave holes: dropped once they outnumber the records.
        if self.records.len() > 2 * self.len + 64 {
            let kept: Vec<Endpoint> = std::mem::take(&mut self.records).into_iter().flatten().collect();
            self.list(kept);
            self.listed = false;
        }
    }

    fn remove(&mut self, ep: &Endpoint) {
        if let Some(named) = self.by_name.get_mut(&ep.dns_name) {
            let records = &mut self.records;
            let before = named.at.len();
            named.at.retain(|&i| {
                let slot = &mut records[i as usize];
                let gone = slot
                    .as_ref()
                    .is_some_and(|e| e.record_type == ep.record_type && e.set_identifier == ep.set_identifier);
                if gone {
                    *slot = None;
                }
                !gone
            });
            self.len -= before - named.at.len();
            if named.at.is_empty() {
                self.by_name.remove(&ep.dns_name);
            }
        }
    }

    fn insert(&mut self, mut ep: Endpoint) {
        // The provider stores no labels besides what the registry decodes from TXT.
        ep.labels.clear();
        self.len += 1;
        let i = index(self.records.len());
        self.by_name.entry(ep.dns_name.clone()).or_default().at.push(i);
        self.records.push(Some(ep));
    }
}

/// A position in [`RecordCache::records`] (a zone of more than 4 billion records is not read).
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records")
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::RecordType;

    fn mk_ep(name: &str, ip: &str, resource: &str) -> Endpoint {
        Endpoint::parse(name, RecordType::A, &[ip]).unwrap().with_label("resource", resource)
    }

    fn mk_obj(name: &str) -> ObjectRef {
        ObjectRef::namespaced("service", "default", name)
    }

    #[test]
    fn index_tracks_names_and_merges() {
        let mut idx = DesiredIndex::default();
        let a = mk_obj("a");
        let b = mk_obj("b");
        let touched = idx.set(
            &a,
            Some(Arc::new(SourceOutput {
                endpoints: vec![mk_ep("x.example.org", "1.1.1.1", "service/default/a")],
                invalid: vec![],
            })),
        );
        assert_eq!(touched.len(), 1);
        idx.set(
            &b,
            Some(Arc::new(SourceOutput {
                endpoints: vec![mk_ep("x.example.org", "2.2.2.2", "service/default/b")],
                invalid: vec![],
            })),
        );
        let n = DnsName::parse("x.example.org").unwrap();
        let eps = idx.endpoints_at([&n]);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].targets, vec!["1.1.1.1", "2.2.2.2"]);
        assert_eq!(eps[0].resource(), Some("service/default/a"));
        // Unchanged input touches nothing.
        let same =
            SourceOutput { endpoints: vec![mk_ep("x.example.org", "2.2.2.2", "service/default/b")], invalid: vec![] };
        assert!(idx.set(&b, Some(Arc::new(same))).is_empty());
        assert_eq!(idx.set(&a, None), vec![n.clone()]);
        assert_eq!(idx.endpoints_at([&n])[0].targets, vec!["2.2.2.2"]);
    }

    #[test]
    fn a_read_is_compared_in_the_providers_order_or_as_a_multiset() {
        let eps = |ips: &[&str]| -> Vec<Endpoint> {
            ips.iter().enumerate().map(|(i, ip)| mk_ep(&format!("n{}.example.org", i % 2), ip, "")).collect()
        };
        let mut cache = RecordCache::default();
        let read = eps(&["1.1.1.1", "2.2.2.2", "3.3.3.3"]);
        cache.replace(read.clone());
        assert!(cache.holds_exactly(&read), "the listing again");
        let mut reversed = read.clone();
        reversed.reverse();
        assert!(cache.holds_exactly(&reversed), "another order");
        assert!(!cache.holds_exactly(&eps(&["1.1.1.1", "2.2.2.2", "3.3.3.4"])));
        assert!(!cache.holds_exactly(&read[..2]));
        let version = cache.version();
        cache.relist(reversed.clone());
        assert_eq!(cache.version(), version, "the same records");
        let created = Endpoint::parse("new.example.org", RecordType::A, &["4.4.4.4"]).unwrap();
        let deleted = read[1].clone();
        cache.record_applied(
            Changes { create: vec![created.clone()], delete: vec![deleted], ..Changes::default() },
            &[],
        );
        let mut now = vec![created, read[0].clone(), read[2].clone()];
        assert!(cache.holds_exactly(&now), "the writes are in");
        cache.relist(now.clone());
        assert!(cache.holds_exactly(&now));
        now.swap(0, 2);
        assert!(cache.holds_exactly(&now));
        assert_eq!(cache.all().len(), 3);
        assert_eq!(cache.records_at([&DnsName::parse("n0.example.org").unwrap()]).len(), 2);
    }

    #[test]
    fn cache_takes_applied_changes_but_not_refused_ones() {
        let mut cache = RecordCache::default();
        cache.replace(vec![mk_ep("old.example.org", "1.1.1.1", "")]);
        let create = Endpoint::parse("new.example.org", RecordType::A, &["2.2.2.2"]).unwrap();
        let refused = Endpoint::parse("bad.example.org", RecordType::A, &["3.3.3.3"]).unwrap();
        let sent = Changes {
            create: vec![create, refused.clone()],
            delete: vec![Endpoint::parse("old.example.org", RecordType::A, &["1.1.1.1"]).unwrap()],
            ..Changes::default()
        };
        let rejected =
            vec![Rejected { endpoint: refused, reason: exodns_provider::RejectReason::Refused("no".into()) }];
        cache.record_applied(sent, &rejected);
        let names: Vec<DnsName> = ["old.example.org", "new.example.org", "bad.example.org"]
            .iter()
            .map(|n| DnsName::parse(n).unwrap())
            .collect();
        let left = cache.records_at(&names);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].dns_name.as_str(), "new.example.org");
    }
}
