//! What the controller needs from the world of objects: which objects exist, what endpoints each
//! makes, and a stream of which ones changed. The kube crate implements it over watch caches;
//! the manifest reader over files.

use exodns_core::ObjectRef;
use exodns_core::{Endpoint, Invalid};

/// The endpoints one object makes, and what of its input was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectEndpoints {
    pub endpoints: Vec<Endpoint>,
    pub invalid: Vec<Invalid>,
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
}

/// The objects of the enabled sources.
pub trait ObjectSource: Send + Sync {
    /// Every object of the enabled sources that can make endpoints.
    fn objects(&self) -> Vec<ObjectRef>;

    /// The endpoints `object` makes now; `None` when it no longer exists.
    fn endpoints(&self, object: &ObjectRef) -> Option<ObjectEndpoints>;

    /// Health of each enabled source.
    fn health(&self) -> Vec<SourceHealth>;

    /// Called before each full resync: re-read what is not watched (manifest files).
    fn refresh(&self) {}

    /// Tells the object's owner something (see [`ObjectNote`]).
    fn note(&self, _object: &ObjectRef, _note: &ObjectNote) {}

    /// Called after a sync that published `object`'s endpoints (DNSEndpoint status, Events).
    fn published(&self, _object: &ObjectRef) {}
}
