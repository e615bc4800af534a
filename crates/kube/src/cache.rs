//! The object caches the watches fill: by namespace and name, so that a namespace's objects
//! are a range and not a scan. Objects are kept in their resource's stored form
//! ([`ObjectType::Stored`]) and handed out as the sources read them.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use exodns_sources::cluster::AnyArc;
use exodns_sources::resource::{ResourceVisitor, StoredForm};
use exodns_sources::{ObjectType, Watched};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub(crate) type Key = (String, String);

pub(crate) fn key_of(meta: &ObjectMeta) -> Key {
    (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
}

/// Objects of `K` in their stored form, by key.
pub(crate) type StoredMap<K> = BTreeMap<Key, Arc<<K as ObjectType>::Stored>>;

pub(crate) struct Cache<K: ObjectType> {
    map: RwLock<StoredMap<K>>,
}

impl<K: ObjectType> Default for Cache<K> {
    fn default() -> Self {
        Cache { map: RwLock::new(BTreeMap::new()) }
    }
}

impl<K: ObjectType> Cache<K> {
    fn read(&self) -> RwLockReadGuard<'_, StoredMap<K>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, StoredMap<K>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read().get(&(namespace.to_owned(), name.to_owned())).map(K::Stored::load)
    }

    /// Objects of one namespace, or all.
    pub fn list(&self, namespace: Option<&str>) -> Vec<Arc<K>> {
        let map = self.read();
        match namespace {
            None => map.values().map(K::Stored::load).collect(),
            Some(ns) => map
                .range((ns.to_owned(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| K::Stored::load(v))
                .collect(),
        }
    }

    pub fn keys(&self) -> Vec<Key> {
        self.read().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Keeps a stripped object; the one it replaces, if any.
    pub fn insert(&self, key: Key, value: Arc<K::Stored>) -> Option<Arc<K::Stored>> {
        self.write().insert(key, value)
    }

    pub fn remove(&self, key: &Key) -> Option<Arc<K::Stored>> {
        self.write().remove(key)
    }

    /// Replaces every object (after a full list).
    pub fn replace(&self, map: StoredMap<K>) {
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

impl<K: ObjectType> AnyCache for Cache<K> {
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
        assert!(c.remove(&("a".into(), "x".into())).is_some());
        assert_eq!(c.len(), 4);
    }
}
