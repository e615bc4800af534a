//! What the sources look up besides the object they turn into endpoints: the [`ClusterView`]
//! trait, and [`Objects`], a plain set of objects that implements it (the manifest reader fills
//! one; tests build one by hand; the kube crate implements the trait over its watch caches).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::types::{DNSEndpoint, GRPCRoute, Gateway, HTTPRoute, TCPRoute, TLSRoute, UDPRoute};

/// The label EndpointSlices carry with the name of their Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Read access to the cluster objects the sources consult. Objects come as `Arc`s so that a
/// kube-rs reflector store (`Store::state()`, `Store::get()`) can hand out what it holds.
///
/// Objects without a namespace in their metadata are in `default`, as `kubectl apply` would put
/// them.
pub trait ClusterView {
    /// Services, in `namespace` or in all namespaces.
    fn services(&self, namespace: Option<&str>) -> Vec<Arc<Service>>;
    /// Pods of one namespace.
    fn pods(&self, namespace: &str) -> Vec<Arc<Pod>>;
    fn nodes(&self) -> Vec<Arc<Node>>;
    /// EndpointSlices of one Service (label `kubernetes.io/service-name`).
    fn endpoint_slices(&self, namespace: &str, service: &str) -> Vec<Arc<EndpointSlice>>;
    fn namespace(&self, name: &str) -> Option<Arc<Namespace>>;
    /// Gateways, in `namespace` or in all namespaces.
    fn gateways(&self, namespace: Option<&str>) -> Vec<Arc<Gateway>>;

    fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes().into_iter().find(|n| n.metadata.name.as_deref() == Some(name))
    }

    fn gateway(&self, namespace: &str, name: &str) -> Option<Arc<Gateway>> {
        self.gateways(Some(namespace)).into_iter().find(|g| g.metadata.name.as_deref() == Some(name))
    }
}

/// The namespace of an object, `default` when it has none.
pub fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
}

/// A set of objects, by kind.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub services: Vec<Arc<Service>>,
    pub ingresses: Vec<Arc<Ingress>>,
    pub gateways: Vec<Arc<Gateway>>,
    pub http_routes: Vec<Arc<HTTPRoute>>,
    pub grpc_routes: Vec<Arc<GRPCRoute>>,
    pub tls_routes: Vec<Arc<TLSRoute>>,
    pub tcp_routes: Vec<Arc<TCPRoute>>,
    pub udp_routes: Vec<Arc<UDPRoute>>,
    pub dns_endpoints: Vec<Arc<DNSEndpoint>>,
    pub nodes: Vec<Arc<Node>>,
    pub pods: Vec<Arc<Pod>>,
    pub endpoint_slices: Vec<Arc<EndpointSlice>>,
    pub namespaces: Vec<Arc<Namespace>>,
}

/// One decoded object of a kind the sources know.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Object {
    Service(Service),
    Ingress(Ingress),
    Gateway(Gateway),
    HTTPRoute(HTTPRoute),
    GRPCRoute(GRPCRoute),
    TLSRoute(TLSRoute),
    TCPRoute(TCPRoute),
    UDPRoute(UDPRoute),
    DNSEndpoint(DNSEndpoint),
    Node(Node),
    Pod(Pod),
    EndpointSlice(EndpointSlice),
    Namespace(Namespace),
}

impl Objects {
    pub fn push(&mut self, object: Object) {
        match object {
            Object::Service(o) => self.services.push(Arc::new(o)),
            Object::Ingress(o) => self.ingresses.push(Arc::new(o)),
            Object::Gateway(o) => self.gateways.push(Arc::new(o)),
            Object::HTTPRoute(o) => self.http_routes.push(Arc::new(o)),
            Object::GRPCRoute(o) => self.grpc_routes.push(Arc::new(o)),
            Object::TLSRoute(o) => self.tls_routes.push(Arc::new(o)),
            Object::TCPRoute(o) => self.tcp_routes.push(Arc::new(o)),
            Object::UDPRoute(o) => self.udp_routes.push(Arc::new(o)),
            Object::DNSEndpoint(o) => self.dns_endpoints.push(Arc::new(o)),
            Object::Node(o) => self.nodes.push(Arc::new(o)),
            Object::Pod(o) => self.pods.push(Arc::new(o)),
            Object::EndpointSlice(o) => self.endpoint_slices.push(Arc::new(o)),
            Object::Namespace(o) => self.namespaces.push(Arc::new(o)),
        }
    }

    /// Moves every object of `other` into `self`.
    pub fn merge(&mut self, other: Objects) {
        self.services.extend(other.services);
        self.ingresses.extend(other.ingresses);
        self.gateways.extend(other.gateways);
        self.http_routes.extend(other.http_routes);
        self.grpc_routes.extend(other.grpc_routes);
        self.tls_routes.extend(other.tls_routes);
        self.tcp_routes.extend(other.tcp_routes);
        self.udp_routes.extend(other.udp_routes);
        self.dns_endpoints.extend(other.dns_endpoints);
        self.nodes.extend(other.nodes);
        self.pods.extend(other.pods);
        self.endpoint_slices.extend(other.endpoint_slices);
        self.namespaces.extend(other.namespaces);
    }

    /// How many objects there are in all.
    pub fn len(&self) -> usize {
        self.services.len()
            + self.ingresses.len()
            + self.gateways.len()
            + self.http_routes.len()
            + self.grpc_routes.len()
            + self.tls_routes.len()
            + self.tcp_routes.len()
            + self.udp_routes.len()
            + self.dns_endpoints.len()
            + self.nodes.len()
            + self.pods.len()
            + self.endpoint_slices.len()
            + self.namespaces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

fn in_ns<T>(items: &[Arc<T>], namespace: Option<&str>, meta: impl Fn(&T) -> &ObjectMeta) -> Vec<Arc<T>> {
    items.iter().filter(|o| namespace.is_none_or(|ns| namespace_of(meta(o)) == ns)).cloned().collect()
}

impl ClusterView for Objects {
    fn services(&self, namespace: Option<&str>) -> Vec<Arc<Service>> {
        in_ns(&self.services, namespace, |o| &o.metadata)
    }

    fn pods(&self, namespace: &str) -> Vec<Arc<Pod>> {
        in_ns(&self.pods, Some(namespace), |o| &o.metadata)
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.clone()
    }

    fn endpoint_slices(&self, namespace: &str, service: &str) -> Vec<Arc<EndpointSlice>> {
        self.endpoint_slices
            .iter()
            .filter(|s| {
                namespace_of(&s.metadata) == namespace
                    && s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map(String::as_str)
                        == Some(service)
            })
            .cloned()
            .collect()
    }

    fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.namespaces.iter().find(|n| n.metadata.name.as_deref() == Some(name)).cloned()
    }

    fn gateways(&self, namespace: Option<&str>) -> Vec<Arc<Gateway>> {
        in_ns(&self.gateways, namespace, |o| &o.metadata)
    }
}
