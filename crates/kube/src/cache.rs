//! The object caches the watches fill: by namespace and name, so that a namespace's objects
//! are a range and not a scan.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

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
