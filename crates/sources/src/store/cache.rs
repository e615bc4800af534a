//! The object caches a cluster's watches fill: by namespace and name, so that a namespace's
//! objects are a range and not a scan. Objects are kept in their resource's stored form
//! ([`ObjectType::Stored`]) and handed out as the sources read them, each beside what its source
//! last made of it ([`super::Made`]). Every change of a cache counts in its version.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Made;
use crate::cluster::{AnyArc, ClusterView};
use crate::resource::{ResourceVisitor, StoredForm};
use crate::{ObjectType, Watched};

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type Key = (String, String);

pub fn key_of(meta: &ObjectMeta) -> Key {
    (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
}

/// Objects of `K` in their stored form, by key (what a full list gathers before
/// [`Cache::replace`]).
pub type StoredMap<K> = BTreeMap<Key, Arc<<K as ObjectType>::Stored>>;

/// One cached object, and what its source made of it while it was this object.
pub(super) struct Entry<K: ObjectType> {
    pub stored: Arc<K::Stored>,
    pub made: Mutex<Option<Arc<Made>>>,
}

impl<K: ObjectType> Entry<K> {
    fn new(stored: Arc<K::Stored>) -> Self {
        Entry { stored, made: Mutex::new(None) }
    }

    pub fn made(&self) -> Option<Arc<Made>> {
        self.made.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub struct Cache<K: ObjectType> {
    map: RwLock<BTreeMap<Key, Entry<K>>>,
    /// Counts the changes: equal versions, equal objects.
    version: AtomicU64,
}

impl<K: ObjectType> Default for Cache<K> {
    fn default() -> Self {
        Cache { map: RwLock::new(BTreeMap::new()), version: AtomicU64::new(0) }
    }
}

impl<K: ObjectType> Cache<K> {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Key, Entry<K>>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes `f` makes count in the version, counted before the lock is let go: a reader that
    /// took the version before its read lock cannot have read older objects than that version's.
    fn write<R>(&self, f: impl FnOnce(&mut BTreeMap<Key, Entry<K>>) -> R) -> R {
        let mut map: RwLockWriteGuard<'_, _> = self.map.write().unwrap_or_else(|p| p.into_inner());
        let r = f(&mut map);
        self.version.fetch_add(1, Ordering::SeqCst);
        r
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read().get(&(namespace.to_owned(), name.to_owned())).map(|e| K::Stored::load(&e.stored))
    }

    /// Objects of one namespace, or all.
    pub fn list(&self, namespace: Option<&str>) -> Vec<Arc<K>> {
        let map = self.read();
        match namespace {
            None => map.values().map(|e| K::Stored::load(&e.stored)).collect(),
            Some(ns) => map
                .range((ns.to_owned(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, e)| K::Stored::load(&e.stored))
                .collect(),
        }
    }

    pub fn keys(&self) -> Vec<Key> {
        self.read().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Keeps a stripped object; the one it replaces, if any.
    pub fn insert(&self, key: Key, value: Arc<K::Stored>) -> Option<Arc<K::Stored>> {
        self.write(|m| m.insert(key, Entry::new(value))).map(|e| e.stored)
    }

    pub fn remove(&self, key: &Key) -> Option<Arc<K::Stored>> {
        self.write(|m| m.remove(key)).map(|e| e.stored)
    }

    /// Replaces every object (after a full list).
    pub fn replace(&self, map: StoredMap<K>) {
        let map = map.into_iter().map(|(k, v)| (k, Entry::new(v))).collect();
        self.write(|m| *m = map);
    }

    /// Keeps what the source made of `stored` beside it, if the cache still holds it.
    pub(super) fn remember(&self, key: &Key, stored: &Arc<K::Stored>, made: Arc<Made>) {
        if let Some(e) = self.read().get(key).filter(|e| Arc::ptr_eq(&e.stored, stored)) {
            *e.made.lock().unwrap_or_else(|p| p.into_inner()) = Some(made);
        }
    }
}

/// A [`Cache`] of any object type.
pub trait AnyCache: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn version(&self) -> u64;
    fn list_any(&self, namespace: Option<&str>) -> Vec<AnyArc>;
    fn get_any(&self, namespace: &str, name: &str) -> Option<AnyArc>;
    fn as_any(&self) -> &dyn Any;
}

impl<K: ObjectType> AnyCache for Cache<K> {
    fn len(&self) -> usize {
        Cache::len(self)
    }
    fn version(&self) -> u64 {
        Cache::version(self)
    }
    fn list_any(&self, namespace: Option<&str>) -> Vec<AnyArc> {
        self.list(namespace).into_iter().map(|o| o as AnyArc).collect()
    }
    fn get_any(&self, namespace: &str, name: &str) -> Option<AnyArc> {
        self.get(namespace, name).map(|o| o as AnyArc)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One cache per resource the sources read, each of its resource's type.
pub struct Caches(BTreeMap<Watched, Box<dyn AnyCache>>);

struct NewCache;

impl ResourceVisitor for NewCache {
    type Output = Box<dyn AnyCache>;
    fn visit<K: ObjectType>(self) -> Box<dyn AnyCache> {
        Box::new(Cache::<K>::default())
    }
}

impl Default for Caches {
    fn default() -> Self {
        Caches(Watched::ALL.iter().map(|w| (*w, w.visit(NewCache))).collect())
    }
}

impl Caches {
    pub fn new() -> Self {
        Caches::default()
    }

    pub fn of(&self, w: Watched) -> &dyn AnyCache {
        self.0[&w].as_ref()
    }

    /// The cache of `K`'s objects.
    pub fn get<K: ObjectType>(&self) -> &Cache<K> {
        self.of(K::RESOURCE).as_any().downcast_ref().expect("every resource's cache holds its own type")
    }
}

impl ClusterView for Caches {
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc> {
        self.of(resource).list_any(namespace)
    }

    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc> {
        self.of(resource).get_any(namespace, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use k8s_openapi::api::core::v1::Service;

    /// Services (kept in their compact form) named by their position.
    #[test]
    fn namespace_ranges() {
        let c: Cache<Service> = Cache::default();
        for (i, (ns, n)) in [("a", "x"), ("ab", "y"), ("a", "z"), ("b", "x"), ("", "node")].iter().enumerate() {
            let meta = ObjectMeta { name: Some(i.to_string()), ..ObjectMeta::default() };
            let svc = Service { metadata: meta, ..Service::default() };
            c.insert((ns.to_string(), n.to_string()), Arc::new(StoredForm::store(svc)));
        }
        let vals = |v: Vec<Arc<Service>>| v.into_iter().map(|x| x.metadata.name.clone().unwrap()).collect::<Vec<_>>();
        assert_eq!(vals(c.list(Some("a"))), ["0", "2"]);
        assert_eq!(vals(c.list(Some("ab"))), ["1"]);
        assert_eq!(vals(c.list(Some(""))), ["4"]);
        assert_eq!(c.list(None).len(), 5);
        assert_eq!(c.get("b", "x").and_then(|x| x.metadata.name.clone()).as_deref(), Some("3"));
        let v = c.version();
        assert!(c.remove(&("a".into(), "x".into())).is_some());
        assert_eq!(c.len(), 4);
        assert_eq!(c.version(), v + 1, "a change counts");
    }
}
