//! The object caches the watches fill: by namespace and name, so that a namespace's objects
//! are a range and not a scan.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use exodns_sources::cluster::AnyArc;
use exodns_sources::resource::ResourceVisitor;
use exodns_sources::{ObjectType, Watched};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub(crate) type Key = (String, String);

pub(crate) fn key_of(meta: &ObjectMeta) -> Key {
    (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
}

#[derive(Debug)]
pub(crate) struct Cache<K> {
    map: RwLock<BTreeMap<Key, Arc<K>>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache { map: RwLock::new(BTreeMap::new()) }
    }
}

impl<K> Cache<K> {
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Key, Arc<K>>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Key, Arc<K>>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read().get(&(namespace.to_owned(), name.to_owned())).cloned()
    }

    /// Objects of one namespace, or all.
    pub fn list(&self, namespace: Option<&str>) -> Vec<Arc<K>> {
        let map = self.read();
        match namespace {
            None => map.values().cloned().collect(),
            Some(ns) => map
                .range((ns.to_owned(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    pub fn keys(&self) -> Vec<Key> {
        self.read().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn insert(&self, key: Key, value: Arc<K>) -> Option<Arc<K>> {
        self.write().insert(key, value)
    }

    pub fn remove(&self, key: &Key) -> Option<Arc<K>> {
        self.write().remove(key)
    }

    /// Replaces every object (after a full list).
    pub fn replace(&self, map: BTreeMap<Key, Arc<K>>) {
        *self.write() = map;
    }
}

/// A [`Cache`] of any object type.
pub(crate) trait AnyCache: Send + Sync {
    fn len(&self) -> usize;
    fn list_any(&self, namespace: Option<&str>) -> Vec<AnyArc>;
    fn get_any(&self, namespace: &str, name: &str) -> Option<AnyArc>;
    fn as_any(&self) -> &dyn Any;
}

impl<K: Send + Sync + 'static> AnyCache for Cache<K> {
    fn len(&self) -> usize {
        Cache::len(self)
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
pub(crate) struct Caches(BTreeMap<Watched, Box<dyn AnyCache>>);

struct NewCache;

impl ResourceVisitor for NewCache {
    type Output = Box<dyn AnyCache>;
    fn visit<K: ObjectType>(self) -> Box<dyn AnyCache> {
        Box::new(Cache::<K>::default())
    }
}

impl Caches {
    pub fn new() -> Self {
        Caches(Watched::ALL.iter().map(|w| (*w, w.visit(NewCache))).collect())
    }

    pub fn of(&self, w: Watched) -> &dyn AnyCache {
        self.0[&w].as_ref()
    }

    /// The cache of `K`'s objects.
    pub fn get<K: ObjectType>(&self) -> &Cache<K> {
        self.of(K::RESOURCE).as_any().downcast_ref().expect("every resource's cache holds its own type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_ranges() {
        let c: Cache<u32> = Cache::default();
        for (i, (ns, n)) in [("a", "x"), ("ab", "y"), ("a", "z"), ("b", "x"), ("", "node")].iter().enumerate() {
            c.insert((ns.to_string(), n.to_string()), Arc::new(i as u32));
        }
        let vals = |v: Vec<Arc<u32>>| v.into_iter().map(|x| *x).collect::<Vec<_>>();
        assert_eq!(vals(c.list(Some("a"))), vec![0, 2]);
        assert_eq!(vals(c.list(Some("ab"))), vec![1]);
        assert_eq!(vals(c.list(Some(""))), vec![4]);
        assert_eq!(c.list(None).len(), 5);
        assert_eq!(c.get("b", "x").map(|x| *x), Some(3));
        assert!(c.remove(&("a".into(), "x".into())).is_some());
        assert_eq!(c.len(), 4);
    }
}
