//! The interface between where objects come from (cluster watches, manifest files) and the
//! controller: which objects exist, what endpoints each makes, whether they can be trusted this
//! moment, and what must not be deleted because of them.
//!
//! It lives here, below both sides, so that the kube crate and the manifest reader implement
//! [`ObjectSource`] without depending on the controller.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::endpoint::{label, merge_endpoints};
use crate::{Changes, Endpoint, Invalid, ObjectRef};

/// What a source made of one object (or of many, merged): the endpoints, and every piece of
/// input it refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceOutput {
    pub endpoints: Vec<Endpoint>,
    pub invalid: Vec<Invalid>,
}

impl SourceOutput {
    /// An output holding only one diagnostic.
    pub fn invalid(invalid: Invalid) -> Self {
        SourceOutput { endpoints: Vec::new(), invalid: vec![invalid] }
    }

    /// Appends another output (not merged yet).
    pub fn extend(&mut self, other: SourceOutput) {
        self.endpoints.extend(other.endpoints);
        self.invalid.extend(other.invalid);
    }

    /// Merges endpoints with the same name, type, set identifier and TTL (upstream's
    /// `MergeEndpoints`). Inputs are ordered by `resource` label first, so the object whose label
    /// a merged endpoint keeps does not depend on input order. Targets end up sorted, endpoints
    /// sorted by name, type and set identifier, and repeated diagnostics are dropped.
    pub fn merged(mut self) -> SourceOutput {
        self.endpoints.sort_by(|a, b| a.labels.get(label::RESOURCE).cmp(&b.labels.get(label::RESOURCE)));
        let mut endpoints = merge_endpoints(self.endpoints);
        for ep in &mut endpoints {
            ep.targets.sort_dedup();
        }
        let mut invalid: Vec<Invalid> = Vec::with_capacity(self.invalid.len());
        for i in self.invalid {
            if !invalid.contains(&i) {
                invalid.push(i);
            }
        }
        SourceOutput { endpoints, invalid }
    }
}

impl FromIterator<SourceOutput> for SourceOutput {
    /// Collects outputs of many objects and merges them.
    fn from_iter<I: IntoIterator<Item = SourceOutput>>(iter: I) -> Self {
        let mut all = SourceOutput::default();
        for o in iter {
            all.extend(o);
        }
        all.merged()
    }
}

/// Whether the objects of one source can be trusted this moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealth {
    /// Source name as in `--source` (`service`, `gateway-httproute`, …).
    pub source: String,
    /// Its first full list has arrived.
    pub synced: bool,
    /// The last attempt to watch or list failed (the cache may be stale; no deletions).
    pub error: Option<String>,
}

impl SourceHealth {
    pub fn healthy(&self) -> bool {
        self.synced && self.error.is_none()
    }
}

/// A change notification: these objects may make different endpoints now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceEvent {
    /// Recompute these objects (a changed object, or the dependents of a changed Gateway, Pod,
    /// Node, EndpointSlice, Namespace).
    Changed(Vec<ObjectRef>),
    /// Recompute everything (e.g. a watch re-listed, or a dependency with unknown dependents).
    All,
    /// A source's health changed.
    Health,
}

/// Something worth telling whoever owns an object (a Kubernetes Event on it, in the kube
/// source). Repeats are expected: the receiver de-duplicates and rate-limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectNote {
    /// Records of the object were created or updated at the provider.
    Published { names: Vec<String> },
    /// The object wants a name whose records belong to another owner (or to no one).
    Conflict { name: String, foreign_owner: String },
    /// Part of the object's input was refused (the rest is published).
    Invalid { message: String },
    /// The deletion of the object's records is held by the deletion budget (the object no
    /// longer wants them — a changed filter, say — along with many others in its zone).
    DeletionHeld { zone: String, held: usize, allowance: usize },
    /// What the last sync found of a failover pool the object declares (its status, not an
    /// Event).
    Pool(Box<crate::failover::pool::PoolReport>),
    /// One record of the object was written, deleted or failed (upstream's `--events-emit`
    /// Events); `record` is upstream's description of it.
    Record { reason: RecordEvent, action: RecordAction, record: String },
    /// A record of the object was written but its DNS server answers SERVFAIL for it (a
    /// PowerDNS LUA record whose Lua does not run; `--pdns-dns-server`). `detail` names the
    /// question and the server.
    NotServed { name: String, record_type: String, detail: String },
}

/// Upstream's record Event reasons (`--events-emit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordEvent {
    /// Created or updated at the provider.
    Ready,
    /// Deleted at the provider.
    Deleted,
    /// The provider refused it, or the write failed.
    Error,
}

impl RecordEvent {
    pub const ALL: [RecordEvent; 3] = [RecordEvent::Ready, RecordEvent::Deleted, RecordEvent::Error];

    /// Upstream's reason: `RecordReady`, `RecordDeleted`, `RecordError`.
    pub fn reason(self) -> &'static str {
        match self {
            RecordEvent::Ready => "RecordReady",
            RecordEvent::Deleted => "RecordDeleted",
            RecordEvent::Error => "RecordError",
        }
    }

    /// The value of `--events-emit` that names it (as upstream spells it, case forgiven).
    pub fn parse(s: &str) -> Option<RecordEvent> {
        RecordEvent::ALL.into_iter().find(|e| e.reason().eq_ignore_ascii_case(s.trim()))
    }
}

/// What happened to the record: upstream's Event actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAction {
    Created,
    Updated,
    Deleted,
}

impl RecordAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordAction::Created => "Created",
            RecordAction::Updated => "Updated",
            RecordAction::Deleted => "Deleted",
        }
    }
}

/// Upstream's description of a record in its Events:
/// `(external-dns) record:NAME,owner:OWNER,type:TYPE,ttl:TTL,targets:T1,T2`.
pub fn record_event_note(ep: &Endpoint, owner: &str) -> String {
    format!(
        "(external-dns) record:{},owner:{},type:{},ttl:{},targets:{}",
        ep.dns_name,
        ep.owner().unwrap_or(owner),
        ep.record_type,
        ep.ttl.0,
        ep.targets.join(",")
    )
}

/// The objects of the enabled sources.
pub trait ObjectSource: Send + Sync {
    /// Every object of the enabled sources that can make endpoints.
    fn objects(&self) -> Vec<ObjectRef>;

    /// The endpoints `object` makes now, unmerged; `None` when it no longer exists. Shared: a
    /// source that remembers what its objects make hands out the same `Arc` for as long as the
    /// object and what it looked up are unchanged, and the controller compares by pointer first.
    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>>;

    /// Every object with what it makes now, as [`endpoints`](Self::endpoints) of each of
    /// [`objects`](Self::objects) (the default): a full sync's pass over everything. A source that
    /// remembers outputs hands them out without a list of the objects and a lookup of each.
    fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        for object in self.objects() {
            if let Some(out) = self.endpoints(&object) {
                f(&object, &out);
            }
        }
    }

    /// Grows whenever what any object makes may have changed; `None` when the source cannot
    /// tell. At an equal version, [`each_output`](Self::each_output) hands out what it handed out
    /// before: a full sync at the version of the last full pass need not pass over the objects.
    fn version(&self) -> Option<u64> {
        None
    }

    /// Health of each enabled source.
    fn health(&self) -> Vec<SourceHealth>;

    /// Called before each full resync: re-read what is not watched (manifest files, the
    /// sources that read no cluster objects).
    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }

    /// Tells the object's owner something (see [`ObjectNote`]).
    fn note(&self, _object: &ObjectRef, _note: &ObjectNote) {}

    /// Called after a sync that published `object`'s endpoints (DNSEndpoint status, Events).
    fn published(&self, _object: &ObjectRef) {}

    /// How many attempts to read objects have failed so far (lists, watches and discovery of a
    /// cluster; files and documents of manifests): upstream's `source_errors_total`.
    fn read_errors(&self) -> u64 {
        0
    }

    /// Waits, at most `limit`, for the writes `note` and `published` started in the background
    /// (Events, statuses): a `--once` run ends right after its sync and must not drop them.
    fn flush(&self, _limit: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// Several sources as one: the cluster's or the manifests' objects beside those of the sources
/// that read no cluster objects. Their object references do not overlap (each names its kind).
pub struct Combined(pub Vec<Arc<dyn ObjectSource>>);

impl ObjectSource for Combined {
    fn objects(&self) -> Vec<ObjectRef> {
        self.0.iter().flat_map(|s| s.objects()).collect()
    }

    fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        self.0.iter().find_map(|s| s.endpoints(object))
    }

    fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        self.0.iter().for_each(|s| s.each_output(f));
    }

    /// The sum of the parts' versions (each only grows), when every part has one.
    fn version(&self) -> Option<u64> {
        self.0.iter().try_fold(0u64, |sum, s| Some(sum.wrapping_add(s.version()?)))
    }

    fn health(&self) -> Vec<SourceHealth> {
        self.0.iter().flat_map(|s| s.health()).collect()
    }

    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            for s in &self.0 {
                s.refresh().await;
            }
        })
    }

    // Each part ignores objects that are not its own.
    fn note(&self, object: &ObjectRef, note: &ObjectNote) {
        self.0.iter().for_each(|s| s.note(object, note));
    }

    fn published(&self, object: &ObjectRef) {
        self.0.iter().for_each(|s| s.published(object));
    }

    fn read_errors(&self) -> u64 {
        self.0.iter().map(|s| s.read_errors()).sum()
    }

    fn flush(&self, limit: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            for s in &self.0 {
                s.flush(limit).await;
            }
        })
    }
}

/// Records that must not be deleted or changed this sync, because what should replace them is
/// not known: their source object had invalid input, or a source failed to load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protected {
    /// No deletes at all (a source failed as a whole).
    pub all: bool,
    /// `resource` labels of objects whose input was partly invalid.
    pub resources: HashSet<String>,
}

impl Protected {
    pub fn is_empty(&self) -> bool {
        !self.all && self.resources.is_empty()
    }

    /// Whether changes to `current` are held back.
    pub fn covers(&self, current: &Endpoint) -> bool {
        self.all || current.resource().is_some_and(|r| self.resources.contains(r))
    }

    /// Takes deletes (and, for objects with invalid input, updates) of protected records out
    /// of `changes`; returns them.
    pub fn hold_back(&self, changes: &mut Changes) -> Vec<Endpoint> {
        let mut held = Vec::new();
        if self.is_empty() {
            return held;
        }
        let (keep, drop): (Vec<Endpoint>, Vec<Endpoint>) =
            std::mem::take(&mut changes.delete).into_iter().partition(|ep| !self.covers(ep));
        changes.delete = keep;
        held.extend(drop);
        if !self.resources.is_empty() {
            let pairs =
                std::mem::take(&mut changes.update_old).into_iter().zip(std::mem::take(&mut changes.update_new));
            for (old, new) in pairs {
                if old.resource().is_some_and(|r| self.resources.contains(r)) {
                    held.push(old);
                } else {
                    changes.update_old.push(old);
                    changes.update_new.push(new);
                }
            }
        }
        held
    }
}

/// A full sync's view of `source`, read once: every desired endpoint, merged across objects as
/// the sources merge them; what must not be deleted (the records of objects with refused input,
/// and everything while any source reports an error); and the refused input itself.
pub fn desired_now(source: &dyn ObjectSource) -> (Vec<Endpoint>, Protected, Vec<Invalid>) {
    let mut protected = Protected { all: source.health().iter().any(|h| h.error.is_some()), ..Protected::default() };
    let mut invalid = Vec::new();
    let mut outputs = Vec::new();
    source.each_output(&mut |object, out| {
        if !out.invalid.is_empty() {
            protected.resources.insert(object.resource_label());
            invalid.extend(out.invalid.iter().cloned());
        }
        outputs.push(SourceOutput { endpoints: out.endpoints.clone(), invalid: Vec::new() });
    });
    let merged: SourceOutput = outputs.into_iter().collect();
    (merged.endpoints, protected, invalid)
}
