//! What a Service, Pod or Gateway makes the sources read besides itself, and for each kind of
//! object, which objects a change to it affects.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use exodns_core::ObjectRef;
use exodns_sources::annotations::{Annotations, ENDPOINTS_TYPE};
use exodns_sources::cluster::SERVICE_NAME_LABEL;
use exodns_sources::service::ENDPOINTS_TYPE_NODE_EXTERNAL_IP;
use exodns_sources::types::{
    DNSEndpoint, GATEWAY_GROUP, GRPCRoute, Gateway, HTTPRoute, ParentReference, TCPRoute, TLSRoute, UDPRoute,
};
use exodns_sources::{Selector, SourceConfig, SourceKind};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::{Cache, Key};
use crate::resources::Watched;
use crate::strip::Lean;

use super::Shared;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Needs {
    pub(super) pods: bool,
    pub(super) slices: bool,
    pub(super) nodes: bool,
}

/// What the `service` source reads for this Service besides the Service. Errs on the side of
/// reading more: any name from annotations or `--fqdn-template` counts, filters are not
/// applied (the watch already honours `--namespace` and `--label-filter`).
pub(super) fn service_needs(svc: &Service, cfg: &SourceConfig) -> Needs {
    let Some(spec) = svc.spec.as_ref() else {
        return Needs::default();
    };
    let t = spec.type_.as_deref().filter(|t| !t.is_empty()).unwrap_or("ClusterIP");
    if !cfg.service_type_filter.is_empty() && !cfg.service_type_filter.iter().any(|f| f == t) {
        return Needs::default();
    }
    let headless = t == "ClusterIP" && spec.cluster_ip.as_deref() == Some("None");
    let node_port = t == "NodePort";
    if !headless && !node_port {
        return Needs::default();
    }
    let ann = Annotations::new(svc.metadata.annotations.as_ref(), &cfg.annotation_prefix);
    let named = cfg.fqdn_template.is_some()
        || (!cfg.ignore_hostname_annotation && (!ann.hostnames().is_empty() || !ann.internal_hostnames().is_empty()));
    if !named || ann.has_targets() {
        return Needs::default();
    }
    if headless {
        Needs { pods: true, slices: true, nodes: ann.get(ENDPOINTS_TYPE) == Some(ENDPOINTS_TYPE_NODE_EXTERNAL_IP) }
    } else {
        Needs { pods: spec.external_traffic_policy.as_deref() == Some("Local"), slices: false, nodes: true }
    }
}

/// Whether the `pod` source reads this Pod's node (for its `hostname` annotation).
pub(super) fn pod_needs_node(pod: &Pod, cfg: &SourceConfig) -> bool {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    if cfg.ignore_non_host_network_pods && !host_network {
        return false;
    }
    let ann = Annotations::new(pod.metadata.annotations.as_ref(), &cfg.annotation_prefix);
    !ann.hostnames().is_empty() && !ann.has_targets()
}

pub(super) fn gateway_selects_namespaces(gw: &Gateway) -> bool {
    gw.spec.listeners.iter().any(|l| {
        l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref()).and_then(|n| n.from.as_deref())
            == Some("Selector")
    })
}

pub(super) fn service_selector(svc: &Service) -> Selector {
    Selector::from_map(&svc.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default())
}

pub(super) fn names_gateway(p: &ParentReference, route_ns: &str, gw_ns: &str, gw_name: &str) -> bool {
    p.name == gw_name
        && p.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(route_ns) == gw_ns
        && p.group.as_deref().filter(|g| !g.is_empty()).unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
        && p.kind.as_deref().filter(|k| !k.is_empty()).unwrap_or("Gateway") == "Gateway"
}

pub(crate) trait Kind:
    Lean
    + Clone
    + Debug
    + PartialEq
    + DeserializeOwned
    + Serialize
    + k8s_openapi::Metadata<Ty = ObjectMeta>
    + Send
    + Sync
    + 'static
{
    const WATCHED: Watched;
    fn cache(s: &Shared) -> &Cache<Self>;
    /// Whether two stripped versions make the same endpoints for every object.
    fn same(a: &Self, b: &Self) -> bool {
        a == b
    }
    /// The objects whose endpoints may change when `old` becomes `new`; starts the watches
    /// `new` makes necessary.
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>);
    /// After a full list: starts the watches the objects make necessary.
    fn listed(_s: &Arc<Shared>, _objects: &BTreeMap<Key, Arc<Self>>) {}
}

fn meta_ref(kind: &str, m: &ObjectMeta) -> ObjectRef {
    ObjectRef::namespaced(kind, m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default())
}

fn either<'a, K>(old: Option<&'a K>, new: Option<&'a K>) -> &'a K {
    new.or(old).expect("an event has an old or a new object")
}

impl Kind for Service {
    const WATCHED: Watched = Watched::Services;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.services
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        if let Some(n) = new {
            s.start_needed(service_needs(n, &s.cfg), SourceKind::Service);
        }
        out.push(meta_ref("service", &either(old, new).metadata));
    }
    fn listed(s: &Arc<Shared>, objects: &BTreeMap<Key, Arc<Self>>) {
        for svc in objects.values() {
            s.start_needed(service_needs(svc, &s.cfg), SourceKind::Service);
        }
    }
}

impl Kind for Pod {
    const WATCHED: Watched = Watched::Pods;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.pods
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        let meta = &either(old, new).metadata;
        if s.enabled(SourceKind::Pod) {
            if new.is_some_and(|p| pod_needs_node(p, &s.cfg)) {
                s.ensure(Watched::Nodes, SourceKind::Pod);
            }
            out.push(meta_ref("pod", meta));
        }
        if s.enabled(SourceKind::Service) {
            let ns = meta.namespace.as_deref().unwrap_or_default();
            for svc in s.services.list(Some(ns)) {
                if !service_needs(&svc, &s.cfg).pods {
                    continue;
                }
                let sel = service_selector(&svc);
                if [old, new].iter().flatten().any(|p| sel.matches(p.metadata.labels.as_ref())) {
                    out.push(meta_ref("service", &svc.metadata));
                }
            }
        }
    }
    fn listed(s: &Arc<Shared>, objects: &BTreeMap<Key, Arc<Self>>) {
        if s.enabled(SourceKind::Pod) && objects.values().any(|p| pod_needs_node(p, &s.cfg)) {
            s.ensure(Watched::Nodes, SourceKind::Pod);
        }
    }
}

impl Kind for EndpointSlice {
    const WATCHED: Watched = Watched::EndpointSlices;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.slices
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        for slice in [old, new].into_iter().flatten() {
            let ns = slice.metadata.namespace.as_deref().unwrap_or_default();
            let Some(svc) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
                continue;
            };
            if s.services.get(ns, svc).is_some() {
                let r = ObjectRef::namespaced("service", ns, svc);
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
    }
}

impl Kind for Node {
    const WATCHED: Watched = Watched::Nodes;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.nodes
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        let name = either(old, new).metadata.name.clone().unwrap_or_default();
        if s.enabled(SourceKind::Node) {
            out.push(ObjectRef::cluster("node", &name));
        }
        if s.enabled(SourceKind::Service) {
            for svc in s.services.list(None) {
                if service_needs(&svc, &s.cfg).nodes {
                    out.push(meta_ref("service", &svc.metadata));
                }
            }
        }
        if s.enabled(SourceKind::Pod) {
            for pod in s.pods.list(None) {
                if pod.spec.as_ref().and_then(|p| p.node_name.as_deref()) == Some(name.as_str())
                    && pod_needs_node(&pod, &s.cfg)
                {
                    out.push(meta_ref("pod", &pod.metadata));
                }
            }
        }
    }
}

impl Kind for Namespace {
    const WATCHED: Watched = Watched::Namespaces;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.namespaces
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        let ns = either(old, new).metadata.name.clone().unwrap_or_default();
        s.each_route(Some(&ns), &mut |r| out.push(meta_ref(r.route_kind().label(), r.meta())));
    }
}

impl Kind for Gateway {
    const WATCHED: Watched = Watched::Gateways;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.gateways
    }
    fn affected(s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        if new.is_some_and(gateway_selects_namespaces) {
            s.ensure_for_routes(Watched::Namespaces);
        }
        let gw = &either(old, new).metadata;
        let (gw_ns, gw_name) = (gw.namespace.as_deref().unwrap_or_default(), gw.name.as_deref().unwrap_or_default());
        s.each_route(None, &mut |r| {
            let route_ns = r.meta().namespace.as_deref().unwrap_or_default();
            let in_spec = r.route_spec().parent_refs.iter().any(|p| names_gateway(p, route_ns, gw_ns, gw_name));
            let in_status = r
                .route_status()
                .is_some_and(|st| st.parents.iter().any(|p| names_gateway(&p.parent_ref, route_ns, gw_ns, gw_name)));
            if in_spec || in_status {
                out.push(meta_ref(r.route_kind().label(), r.meta()));
            }
        });
    }
    fn listed(s: &Arc<Shared>, objects: &BTreeMap<Key, Arc<Self>>) {
        if objects.values().any(|g| gateway_selects_namespaces(g)) {
            s.ensure_for_routes(Watched::Namespaces);
        }
    }
}

macro_rules! own_kind {
    ($ty:ty, $watched:expr, $field:ident, $label:expr) => {
        impl Kind for $ty {
            const WATCHED: Watched = $watched;
            fn cache(s: &Shared) -> &Cache<Self> {
                &s.$field
            }
            fn affected(_s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
                out.push(meta_ref($label, &either(old, new).metadata));
            }
        }
    };
}
own_kind!(Ingress, Watched::Ingresses, ingresses, "ingress");
own_kind!(HTTPRoute, Watched::HttpRoutes, http_routes, "httproute");
own_kind!(GRPCRoute, Watched::GrpcRoutes, grpc_routes, "grpcroute");
own_kind!(TLSRoute, Watched::TlsRoutes, tls_routes, "tlsroute");
own_kind!(TCPRoute, Watched::TcpRoutes, tcp_routes, "tcproute");
own_kind!(UDPRoute, Watched::UdpRoutes, udp_routes, "udproute");

impl Kind for DNSEndpoint {
    const WATCHED: Watched = Watched::DnsEndpoints;
    fn cache(s: &Shared) -> &Cache<Self> {
        &s.dns_endpoints
    }
    fn same(a: &Self, b: &Self) -> bool {
        // Our own status write changes nothing the source reads.
        a.metadata == b.metadata && a.spec == b.spec
    }
    fn affected(_s: &Arc<Shared>, old: Option<&Self>, new: Option<&Self>, out: &mut Vec<ObjectRef>) {
        out.push(meta_ref("crd", &either(old, new).metadata));
    }
}
