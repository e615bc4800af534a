//! A cluster's objects as the controller reads them: the watch caches ([`Caches`]) and, beside
//! each object, what its source made of it, handed out again while it still holds.
//!
//! A source is a pure function of its object, of what it looks up through the [`ClusterView`],
//! and of the flags. So what it made of an object holds while the cache keeps that very object
//! (a watch event replaces it, and with it what was made of it) and while every cache it looked
//! up is at the version it was when it looked: a full sync over an unchanged cluster hands out
//! every object's output as it was — the same `Arc`, which the controller compares by pointer —
//! without rebuilding one object or computing one endpoint. What is looked up is recorded per
//! resource: a headless Service that read Pods is made again after any Pod changed.
//!
//! One source reads outside the cluster: `--resolve-service-load-balancer-hostname` resolves
//! load balancers' host names in DNS, whose answers change on their own (a cloud load balancer's
//! addresses do). Its outputs are made again at every full sync, as upstream resolves at each.

mod cache;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use exodns_core::ObjectRef;
use exodns_core::source::SourceOutput;

pub use cache::{AnyCache, Cache, Caches, Key, StoredMap, key_of};

use crate::cluster::{AnyArc, ClusterView};
use crate::config::SourceConfig;
use crate::kind::{Source, SourceKind, SourceVisitor};
use crate::resource::StoredForm;
use crate::{ObjectType, Watched};

/// What a source made of one cached object, and the versions of the caches it looked up.
pub(crate) struct Made {
    kind: SourceKind,
    object: ObjectRef,
    output: Arc<SourceOutput>,
    reads: Vec<(Watched, u64)>,
}

impl Made {
    /// Whether it holds for `kind` now: every cache it looked up is as it was, and `kind` read
    /// nothing outside the cluster.
    fn holds(&self, kind: SourceKind, caches: &Caches, cfg: &SourceConfig) -> bool {
        self.kind == kind && !reads_outside(kind, cfg) && self.reads.iter().all(|(w, v)| caches.of(*w).version() == *v)
    }
}

/// The view a source computes through: the caches, noting the version of each one looked up
/// (taken before the lookup: a change during it makes the output count as stale).
struct Recording<'a> {
    caches: &'a Caches,
    reads: RefCell<Vec<(Watched, u64)>>,
}

impl Recording<'_> {
    fn note(&self, w: Watched) {
        let mut reads = self.reads.borrow_mut();
        if !reads.iter().any(|(r, _)| *r == w) {
            reads.push((w, self.caches.of(w).version()));
        }
    }
}

impl ClusterView for Recording<'_> {
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc> {
        self.note(resource);
        self.caches.list_any(resource, namespace)
    }

    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc> {
        self.note(resource);
        self.caches.get_any(resource, namespace, name)
    }
}

/// Whether what `kind` makes depends on more than the cluster and the flags (a DNS answer).
fn reads_outside(kind: SourceKind, cfg: &SourceConfig) -> bool {
    kind == SourceKind::Service && cfg.resolve_service_load_balancer_hostname
}

/// Counts the versions of sources that read outside the cluster: each call is a new one.
static OUTSIDE: AtomicU64 = AtomicU64::new(0);

/// The reference of the object at `key` of source `S`.
fn object_ref<S: Source>(key: &Key) -> ObjectRef {
    let (ns, name) = key;
    if ns.is_empty() { ObjectRef::cluster(S::label(), name) } else { ObjectRef::namespaced(S::label(), ns, name) }
}

/// Makes the output of the object `stored` at `key` and keeps it beside the object.
fn make<S: Source>(
    caches: &Caches,
    cfg: &SourceConfig,
    kind: SourceKind,
    key: &Key,
    stored: &Arc<<S::Object as ObjectType>::Stored>,
) -> Arc<Made> {
    let object = <S::Object as ObjectType>::Stored::load(stored);
    let view = Recording { caches, reads: RefCell::new(Vec::new()) };
    let output = Arc::new(crate::post::endpoints_of::<S>(&object, &view, cfg));
    let made = Arc::new(Made { kind, object: object_ref::<S>(key), output, reads: view.reads.into_inner() });
    caches.get::<S::Object>().remember(key, stored, made.clone());
    made
}

/// The objects of the enabled source kinds in `caches`, and what each makes: the controller's
/// [`ObjectSource`](exodns_core::source::ObjectSource) over a cluster's caches, less health and
/// notes.
#[derive(Clone, Copy)]
pub struct CachedSource<'a> {
    pub caches: &'a Caches,
    pub kinds: &'a [SourceKind],
    pub cfg: &'a SourceConfig,
}

impl CachedSource<'_> {
    /// Grows with every change of any cache: what any object makes may differ only at another
    /// version.
    pub fn version(&self) -> u64 {
        let caches = Watched::ALL.iter().fold(0u64, |sum, w| sum.wrapping_add(self.caches.of(*w).version()));
        if self.kinds.iter().any(|k| reads_outside(*k, self.cfg)) {
            // Never the same twice: every full sync passes over every object again.
            return caches.wrapping_add(OUTSIDE.fetch_add(1 << 32, Ordering::Relaxed));
        }
        caches
    }

    /// Every object of the enabled kinds.
    pub fn objects(&self) -> Vec<ObjectRef> {
        struct Objects<'a>(&'a Caches);
        impl SourceVisitor for Objects<'_> {
            type Output = Vec<ObjectRef>;
            fn visit<S: Source>(self) -> Vec<ObjectRef> {
                self.0.get::<S::Object>().read().keys().map(object_ref::<S>).collect()
            }
        }
        let mut out: Vec<ObjectRef> = self.kinds.iter().flat_map(|k| k.visit(Objects(self.caches))).collect();
        // One object may be held by two kinds that share a label.
        out.sort();
        out.dedup();
        out
    }

    /// The enabled kinds whose objects `object` names (several when kinds of one name share a
    /// label, such as Traefik's two API groups).
    fn kinds_of<'b>(&'b self, object: &'b ObjectRef) -> impl Iterator<Item = SourceKind> + 'b {
        self.kinds.iter().copied().filter(|k| k.label() == object.kind)
    }

    /// What every enabled kind that holds `object` makes of it, merged.
    pub fn endpoints(&self, object: &ObjectRef) -> Option<Arc<SourceOutput>> {
        struct One<'a> {
            src: &'a CachedSource<'a>,
            kind: SourceKind,
            key: Key,
        }
        impl SourceVisitor for One<'_> {
            type Output = Option<Arc<SourceOutput>>;
            fn visit<S: Source>(self) -> Option<Arc<SourceOutput>> {
                let (caches, kind) = (self.src.caches, self.kind);
                let (stored, made) = {
                    let map = caches.get::<S::Object>().read();
                    let e = map.get(&self.key)?;
                    (e.stored.clone(), e.made())
                };
                match made.filter(|m| m.holds(kind, caches, self.src.cfg)) {
                    Some(m) => Some(m.output.clone()),
                    None => Some(make::<S>(caches, self.src.cfg, kind, &self.key, &stored).output.clone()),
                }
            }
        }
        let key = (object.namespace.clone().unwrap_or_default(), object.name.clone());
        let mut found: Vec<Arc<SourceOutput>> =
            self.kinds_of(object).filter_map(|kind| kind.visit(One { src: self, kind, key: key.clone() })).collect();
        if found.len() < 2 {
            return found.pop();
        }
        let mut all = SourceOutput::default();
        found.iter().for_each(|o| all.extend(SourceOutput::clone(o)));
        Some(Arc::new(all.merged()))
    }

    /// Every object with what it makes now (see the module's documentation).
    pub fn each_output(&self, f: &mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>)) {
        struct Each<'a> {
            src: &'a CachedSource<'a>,
            kind: SourceKind,
            f: &'a mut dyn FnMut(&ObjectRef, &Arc<SourceOutput>),
        }
        impl SourceVisitor for Each<'_> {
            type Output = ();
            fn visit<S: Source>(self) {
                let (caches, kind) = (self.src.caches, self.kind);
                let cache = caches.get::<S::Object>();
                // `f` is called with no lock held (it may look objects up), and objects are made
                // with none held (their source reads the caches).
                let map = cache.read();
                let mut outputs = Vec::with_capacity(map.len());
                let mut stale = Vec::new();
                for (key, e) in map.iter() {
                    match e.made().filter(|m| m.holds(kind, caches, self.src.cfg)) {
                        Some(m) => outputs.push(m),
                        None => stale.push((key.clone(), e.stored.clone())),
                    }
                }
                drop(map);
                for (key, stored) in &stale {
                    outputs.push(make::<S>(caches, self.src.cfg, kind, key, stored));
                }
                for m in &outputs {
                    (self.f)(&m.object, &m.output);
                }
            }
        }
        let shares_label = |k: &SourceKind| self.kinds.iter().filter(|o| o.label() == k.label()).count() > 1;
        let mut shared: Vec<ObjectRef> = Vec::new();
        let mut done: Vec<SourceKind> = Vec::new();
        for kind in self.kinds.iter().copied() {
            if done.contains(&kind) {
                continue;
            }
            done.push(kind);
            if shares_label(&kind) {
                // Merged across the kinds that hold the same reference, as `endpoints` does.
                let one = [kind];
                shared.extend(CachedSource { kinds: &one, ..*self }.objects());
            } else {
                kind.visit(Each { src: self, kind, f: &mut *f });
            }
        }
        shared.sort();
        shared.dedup();
        for o in &shared {
            if let Some(out) = self.endpoints(o) {
                f(o, &out);
            }
        }
    }
}
