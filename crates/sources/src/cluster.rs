//! What the sources look up besides the object they turn into endpoints: the [`ClusterView`]
//! trait (objects of any [`Watched`] resource, typed through [`ClusterViewExt`]), and
//! [`Objects`], a plain set of objects that implements it (the manifest reader fills one; tests
//! build one by hand; the kube crate implements the trait over its watch caches).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::resource::{ObjectType, Watched, is_namespaced};
use crate::types::Gateway;

/// The label EndpointSlices carry with the name of their Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// An object of any resource; [`Object::get`] gives it back typed.
pub type AnyArc = Arc<dyn Any + Send + Sync>;

/// Read access to the cluster objects the sources consult. Objects come as `Arc`s so that a
/// cache can hand out what it holds; each is an `Arc<K>` of the resource's [`ObjectType`].
///
/// Objects without a namespace in their metadata are in `default`, as `kubectl apply` would put
/// them; cluster-scoped objects are found under the namespace `""`.
pub trait ClusterView {
    /// Objects of `resource`, in `namespace` or in all namespaces.
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc>;
    /// One object of `resource`.
    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc>;
}

/// Typed lookups over any [`ClusterView`].
pub trait ClusterViewExt: ClusterView {
    /// Objects of type `K`, in `namespace` or in all namespaces.
    fn list<K: ObjectType>(&self, namespace: Option<&str>) -> Vec<Arc<K>> {
        self.list_any(K::RESOURCE, namespace).into_iter().filter_map(|o| o.downcast::<K>().ok()).collect()
    }

    /// One object of type `K` (`namespace` is `""` for cluster-scoped ones).
    fn get<K: ObjectType>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.get_any(K::RESOURCE, namespace, name).and_then(|o| o.downcast::<K>().ok())
    }

    /// Services, in `namespace` or in all namespaces.
    fn services(&self, namespace: Option<&str>) -> Vec<Arc<Service>> {
        self.list(namespace)
    }

    /// Pods of one namespace.
    fn pods(&self, namespace: &str) -> Vec<Arc<Pod>> {
        self.list(Some(namespace))
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.list(None)
    }

    fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.get("", name)
    }

    /// EndpointSlices of one Service (label `kubernetes.io/service-name`).
    fn endpoint_slices(&self, namespace: &str, service: &str) -> Vec<Arc<EndpointSlice>> {
        let mut slices: Vec<Arc<EndpointSlice>> = self.list(Some(namespace));
        slices.retain(|s| {
            s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map(String::as_str) == Some(service)
        });
        slices
    }

    fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.get("", name)
    }

    /// Gateways, in `namespace` or in all namespaces.
    fn gateways(&self, namespace: Option<&str>) -> Vec<Arc<Gateway>> {
        self.list(namespace)
    }

    fn gateway(&self, namespace: &str, name: &str) -> Option<Arc<Gateway>> {
        self.get(namespace, name)
    }
}

impl<T: ClusterView + ?Sized> ClusterViewExt for T {}

/// The namespace of an object, `default` when it has none.
pub fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
}

/// One decoded object of a resource the sources read.
#[derive(Clone)]
pub struct Object {
    resource: Watched,
    /// `""` for cluster-scoped objects.
    namespace: String,
    name: String,
    object: AnyArc,
}

impl Object {
    pub fn new<K: ObjectType>(object: K) -> Object {
        let meta = object.metadata();
        let namespace = if is_namespaced::<K>() { namespace_of(meta).to_owned() } else { String::new() };
        let name = meta.name.clone().unwrap_or_default();
        Object { resource: K::RESOURCE, namespace, name, object: Arc::new(object) }
    }

    pub fn resource(&self) -> Watched {
        self.resource
    }

    /// The object, if it is a `K`.
    pub fn get<K: ObjectType>(&self) -> Option<&K> {
        self.object.downcast_ref()
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.resource.kind(), self.namespace, self.name)
    }
}

/// A set of objects, by resource, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    by_resource: BTreeMap<Watched, Vec<Object>>,
}

impl Objects {
    pub fn push(&mut self, object: Object) {
        self.by_resource.entry(object.resource).or_default().push(object);
    }

    /// Moves every object of `other` into `self`.
    pub fn merge(&mut self, other: Objects) {
        for (resource, objects) in other.by_resource {
            self.by_resource.entry(resource).or_default().extend(objects);
        }
    }

    /// How many objects of `resource` there are.
    pub fn count(&self, resource: Watched) -> usize {
        self.by_resource.get(&resource).map_or(0, Vec::len)
    }

    /// How many objects there are in all.
    pub fn len(&self) -> usize {
        self.by_resource.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes the `index`th object of type `K` in place.
    #[cfg(test)]
    pub(crate) fn edit<K: ObjectType>(&mut self, index: usize, f: impl FnOnce(&mut K)) {
        let o = &mut self.by_resource.get_mut(&K::RESOURCE).expect("objects of that type")[index];
        let mut k: K = o.get::<K>().expect("an object of that type").clone();
        f(&mut k);
        *o = Object::new(k);
    }

    fn of(&self, resource: Watched) -> &[Object] {
        self.by_resource.get(&resource).map(Vec::as_slice).unwrap_or_default()
    }
}

impl Extend<Object> for Objects {
    fn extend<I: IntoIterator<Item = Object>>(&mut self, iter: I) {
        for o in iter {
            self.push(o);
        }
    }
}

impl FromIterator<Object> for Objects {
    fn from_iter<I: IntoIterator<Item = Object>>(iter: I) -> Self {
        let mut o = Objects::default();
        o.extend(iter);
        o
    }
}

impl ClusterView for Objects {
    fn list_any(&self, resource: Watched, namespace: Option<&str>) -> Vec<AnyArc> {
        self.of(resource)
            .iter()
            .filter(|o| namespace.is_none_or(|ns| o.namespace == ns))
            .map(|o| o.object.clone())
            .collect()
    }

    fn get_any(&self, resource: Watched, namespace: &str, name: &str) -> Option<AnyArc> {
        self.of(resource).iter().find(|o| o.namespace == namespace && o.name == name).map(|o| o.object.clone())
    }
}
