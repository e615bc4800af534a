//! [`KubeSource`]: the watches of the enabled sources, their caches as a [`ClusterView`], and
//! the controller's [`ObjectSource`] over them.
//!
//! Each watched resource has one kube-rs `watcher` (list, then watch from the last
//! resourceVersion; kube-rs's default backoff on errors) and one cache. Objects are cut down
//! ([`crate::strip`]) before they enter the cache, and an update that changes nothing the
//! sources read is not passed on. Every change becomes a [`SourceEvent::Changed`] naming the
//! objects whose endpoints may differ: the object itself, or the dependents of a Gateway, Pod,
//! EndpointSlice, Node or Namespace.
//!
//! Watches are started only for what the enabled sources read. EndpointSlices, Pods and Nodes
//! for the `service` source start when the first Service that reads them appears (a headless or
//! NodePort Service with a host name and no `target` annotation, admitted by
//! `--service-type-filter`); Namespaces when a Gateway listener selects route namespaces by
//! label; Nodes for the `pod` source when a Pod takes its node's addresses. A watch, once
//! started, runs until the source is dropped.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use exodns_controller::{ObjectEndpoints, ObjectNote, ObjectSource, SourceEvent, SourceHealth};
use exodns_core::{ObjectRef, error_chain};
use exodns_sources::annotations::{Annotations, ENDPOINTS_TYPE};
use exodns_sources::cluster::{ClusterView, SERVICE_NAME_LABEL};
use exodns_sources::service::ENDPOINTS_TYPE_NODE_EXTERNAL_IP;
use exodns_sources::types::{
    DNSEndpoint, GATEWAY_GROUP, GRPCRoute, Gateway, GatewayRoute, HTTPRoute, ParentReference, TCPRoute, TLSRoute,
    UDPRoute,
};
use exodns_sources::{Selector, SourceConfig, SourceKind, SourceOutput};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, DefaultBackoff, Event};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::cache::{Cache, Key, key_of};
use crate::client::KubeClient;
use crate::error::KubeError;
use crate::events::EventSink;
use crate::resources::{Obj, Watched, discover};
use crate::strip::{Lean, Strip};

/// First wait before asking discovery again about a resource the cluster does not serve;
/// doubles up to [`DISCOVERY_RETRY_MAX`].
const DISCOVERY_RETRY_FIRST: Duration = Duration::from_secs(1);
const DISCOVERY_RETRY_MAX: Duration = Duration::from_secs(60);
/// While a watch keeps failing, its error is logged at warn level this often (debug between).
const ERROR_LOG_EVERY: Duration = Duration::from_secs(300);
/// While the apiserver is unreachable, how often `/version` is asked whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// What one watch has done so far (for health, metrics and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchStatus {
    /// A source needs it and its task runs.
    pub started: bool,
    /// The `apiVersion` discovery chose (`gateway.networking.k8s.io/v1`).
    pub api_version: Option<String>,
    /// Its first full list has arrived.
    pub synced: bool,
    /// Why the last attempt failed; cleared by the next event or accepted watch request.
    pub error: Option<String>,
    /// A re-list is under way (the watch could not resume): the cache may be stale.
    pub relisting: bool,
    /// Full lists (1 after the first; more are re-lists).
    pub lists: u64,
    /// Watch events (adds, updates, deletes) received after the lists.
    pub events: u64,
    /// Of those, updates that changed nothing the sources read (not passed on).
    pub unchanged: u64,
    /// Failed list or watch attempts.
    pub errors: u64,
    /// Objects in the cache.
    pub objects: usize,
}

#[derive(Debug, Default)]
struct WatchState {
    status: WatchStatus,
    /// Sources whose health this watch is part of.
    needed_by: BTreeSet<SourceKind>,
    api: Option<ApiResource>,
    /// The error comes from discovery (not cleared by a watch request).
    discovery_error: bool,
    /// The last error was an unreachable apiserver.
    unreachable: bool,
    error_since: Option<Instant>,
    last_warn: Option<Instant>,
}

/// The Kubernetes side of exodns: watches, caches, and the controller's [`ObjectSource`].
///
/// Dropping it stops its watches.
pub struct KubeSource {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    client: KubeClient,
    cfg: SourceConfig,
    strip: Strip,
    sources: Vec<SourceKind>,
    events: mpsc::Sender<SourceEvent>,
    runtime: tokio::runtime::Handle,
    services: Cache<Service>,
    slices: Cache<EndpointSlice>,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    namespaces: Cache<Namespace>,
    ingresses: Cache<Ingress>,
    gateways: Cache<Gateway>,
    http_routes: Cache<HTTPRoute>,
    grpc_routes: Cache<GRPCRoute>,
    tls_routes: Cache<TLSRoute>,
    tcp_routes: Cache<TCPRoute>,
    udp_routes: Cache<UDPRoute>,
    dns_endpoints: Cache<DNSEndpoint>,
    watches: Mutex<BTreeMap<Watched, WatchState>>,
    last_health: Mutex<Vec<SourceHealth>>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// DNSEndpoint status writes under way: (namespace, name, generation).
    status_writes: Mutex<HashSet<(String, String, i64)>>,
    /// Kubernetes Events on source objects.
    events_out: EventSink,
    /// Woken when the apiserver answers again after watches found it unreachable.
    apiserver_back: tokio::sync::Notify,
    probing: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The kind in [`ObjectRef`]s (upstream's `resource` label) of a source's objects.
pub fn object_kind(source: SourceKind) -> Option<&'static str> {
    Some(match source {
        SourceKind::Service => "service",
        SourceKind::Ingress => "ingress",
        SourceKind::GatewayHttpRoute => "httproute",
        SourceKind::GatewayGrpcRoute => "grpcroute",
        SourceKind::GatewayTlsRoute => "tlsroute",
        SourceKind::GatewayTcpRoute => "tcproute",
        SourceKind::GatewayUdpRoute => "udproute",
        SourceKind::Crd => "crd",
        SourceKind::Node => "node",
        SourceKind::Pod => "pod",
        SourceKind::Manifest => return None,
    })
}

impl KubeSource {
    /// Starts the watches of `sources` (discovery first for custom resources) and returns at
    /// once; `events` hears of every change. Must be called inside a Tokio runtime.
    /// `manifest` is not a cluster source and is refused.
    pub fn start(
        client: KubeClient,
        sources: &[SourceKind],
        cfg: SourceConfig,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<KubeSource, KubeError> {
        let mut kinds: Vec<SourceKind> = Vec::new();
        for s in sources {
            if *s == SourceKind::Manifest {
                return Err(KubeError::Config {
                    setting: "--source",
                    message: "manifest is read from files, not watched; it is not a cluster source".into(),
                });
            }
            if !kinds.contains(s) {
                kinds.push(*s);
            }
        }
        let runtime = tokio::runtime::Handle::current();
        let shared = Arc::new(Shared {
            events_out: EventSink::new(&client, runtime.clone()),
            client,
            strip: Strip::new(&cfg),
            cfg,
            sources: kinds,
            events,
            runtime,
            services: Cache::default(),
            slices: Cache::default(),
            pods: Cache::default(),
            nodes: Cache::default(),
            namespaces: Cache::default(),
            ingresses: Cache::default(),
            gateways: Cache::default(),
            http_routes: Cache::default(),
            grpc_routes: Cache::default(),
            tls_routes: Cache::default(),
            tcp_routes: Cache::default(),
            udp_routes: Cache::default(),
            dns_endpoints: Cache::default(),
            watches: Mutex::new(BTreeMap::new()),
            last_health: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            status_writes: Mutex::new(HashSet::new()),
            apiserver_back: tokio::sync::Notify::new(),
            probing: std::sync::atomic::AtomicBool::new(false),
        });
        {
            let s = shared.clone();
            let mut rx = shared.client.watch_starts();
            let task = tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ws) if ws.status == 200 => s.watch_accepted(&ws.group, &ws.plural).await,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            lock(&shared.tasks).push(task.abort_handle());
        }
        for src in shared.sources.clone() {
            for w in Watched::primary(src) {
                shared.ensure(*w, src);
            }
        }
        *lock(&shared.last_health) = shared.compute_health();
        Ok(KubeSource { shared })
    }

    /// The state of every started watch.
    pub fn watch_status(&self) -> BTreeMap<Watched, WatchStatus> {
        let mut out = BTreeMap::new();
        for (w, st) in lock(&self.shared.watches).iter().filter(|(_, st)| st.status.started) {
            let mut s = st.status.clone();
            s.objects = self.shared.cache_len(*w);
            out.insert(*w, s);
        }
        out
    }

    /// The enabled sources.
    pub fn sources(&self) -> &[SourceKind] {
        &self.shared.sources
    }
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Debug for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSource").field("sources", &self.shared.sources).finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// What a Service, Pod or Gateway makes the sources read besides itself.

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Needs {
    pods: bool,
    slices: bool,
    nodes: bool,
}

/// What the `service` source reads for this Service besides the Service. Errs on the side of
/// reading more: any name from annotations or `--fqdn-template` counts, filters are not
/// applied (the watch already honours `--namespace` and `--label-filter`).
fn service_needs(svc: &Service, cfg: &SourceConfig) -> Needs {
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
fn pod_needs_node(pod: &Pod, cfg: &SourceConfig) -> bool {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    if cfg.ignore_non_host_network_pods && !host_network {
        return false;
    }
    let ann = Annotations::new(pod.metadata.annotations.as_ref(), &cfg.annotation_prefix);
    !ann.hostnames().is_empty() && !ann.has_targets()
}

fn gateway_selects_namespaces(gw: &Gateway) -> bool {
    gw.spec.listeners.iter().any(|l| {
        l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref()).and_then(|n| n.from.as_deref())
            == Some("Selector")
    })
}

fn service_selector(svc: &Service) -> Selector {
    Selector::from_map(&svc.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default())
}

fn names_gateway(p: &ParentReference, route_ns: &str, gw_ns: &str, gw_name: &str) -> bool {
    p.name == gw_name
        && p.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(route_ns) == gw_ns
        && p.group.as_deref().filter(|g| !g.is_empty()).unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
        && p.kind.as_deref().filter(|k| !k.is_empty()).unwrap_or("Gateway") == "Gateway"
}

// ---------------------------------------------------------------------------------------------
// The kinds of objects, and what a change to each affects.

pub(crate) trait Kind:
    Lean + Clone + Debug + PartialEq + DeserializeOwned + Serialize + k8s_openapi::Metadata<Ty = ObjectMeta> + Send + Sync + 'static
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

// ---------------------------------------------------------------------------------------------
// Watches

impl Shared {
    /// The object an Event regards: its kind, the API version it is served at, and its uid.
    fn regarding(&self, object: &ObjectRef) -> Option<ObjectReference> {
        let ns = object.namespace.as_deref().unwrap_or_default();
        let name = object.name.as_str();
        fn uid<K: k8s_openapi::Metadata<Ty = ObjectMeta>>(o: Option<Arc<K>>) -> Option<Option<String>> {
            o.map(|o| o.metadata().uid.clone())
        }
        let served = |w: Watched, fallback: &str| -> String {
            lock(&self.watches)
                .get(&w)
                .and_then(|st| st.api.as_ref().map(|a| a.api_version.clone()))
                .unwrap_or_else(|| fallback.to_owned())
        };
        let (api_version, kind, uid) = match object.kind.as_str() {
            "service" => ("v1".to_owned(), "Service", uid(self.services.get(ns, name))?),
            "ingress" => ("networking.k8s.io/v1".to_owned(), "Ingress", uid(self.ingresses.get(ns, name))?),
            "httproute" => (served(Watched::HttpRoutes, "gateway.networking.k8s.io/v1"), "HTTPRoute", uid(self.http_routes.get(ns, name))?),
            "grpcroute" => (served(Watched::GrpcRoutes, "gateway.networking.k8s.io/v1"), "GRPCRoute", uid(self.grpc_routes.get(ns, name))?),
            "tlsroute" => (served(Watched::TlsRoutes, "gateway.networking.k8s.io/v1"), "TLSRoute", uid(self.tls_routes.get(ns, name))?),
            "tcproute" => (served(Watched::TcpRoutes, "gateway.networking.k8s.io/v1"), "TCPRoute", uid(self.tcp_routes.get(ns, name))?),
            "udproute" => (served(Watched::UdpRoutes, "gateway.networking.k8s.io/v1"), "UDPRoute", uid(self.udp_routes.get(ns, name))?),
            "crd" => (served(Watched::DnsEndpoints, "externaldns.k8s.io/v1alpha1"), "DNSEndpoint", uid(self.dns_endpoints.get(ns, name))?),
            "node" => ("v1".to_owned(), "Node", uid(self.nodes.get("", name))?),
            "pod" => ("v1".to_owned(), "Pod", uid(self.pods.get(ns, name))?),
            _ => return None,
        };
        Some(ObjectReference {
            api_version: Some(api_version),
            kind: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            namespace: object.namespace.clone(),
            uid,
            ..ObjectReference::default()
        })
    }

    fn enabled(&self, s: SourceKind) -> bool {
        self.sources.contains(&s)
    }

    /// `source gateway-tcproute` / `sources service, pod`: the enabled sources that read `w`.
    fn sources_of(&self, w: Watched) -> String {
        let names: Vec<&str> = self
            .sources
            .iter()
            .filter(|s| Watched::primary(**s).contains(&w) || Watched::on_demand(**s).contains(&w))
            .map(|s| s.as_str())
            .collect();
        name_sources(&names)
    }

    fn cache_len(&self, w: Watched) -> usize {
        match w {
            Watched::Services => self.services.len(),
            Watched::EndpointSlices => self.slices.len(),
            Watched::Pods => self.pods.len(),
            Watched::Nodes => self.nodes.len(),
            Watched::Namespaces => self.namespaces.len(),
            Watched::Ingresses => self.ingresses.len(),
            Watched::Gateways => self.gateways.len(),
            Watched::HttpRoutes => self.http_routes.len(),
            Watched::GrpcRoutes => self.grpc_routes.len(),
            Watched::TlsRoutes => self.tls_routes.len(),
            Watched::TcpRoutes => self.tcp_routes.len(),
            Watched::UdpRoutes => self.udp_routes.len(),
            Watched::DnsEndpoints => self.dns_endpoints.len(),
        }
    }

    /// Calls `f` for every route of the enabled route sources (in `namespace`, or all).
    fn each_route(&self, namespace: Option<&str>, f: &mut dyn FnMut(&dyn GatewayRoute)) {
        fn each<R: GatewayRoute>(c: &Cache<R>, ns: Option<&str>, f: &mut dyn FnMut(&dyn GatewayRoute)) {
            for r in c.list(ns) {
                f(r.as_ref());
            }
        }
        for src in &self.sources {
            match src {
                SourceKind::GatewayHttpRoute => each(&self.http_routes, namespace, f),
                SourceKind::GatewayGrpcRoute => each(&self.grpc_routes, namespace, f),
                SourceKind::GatewayTlsRoute => each(&self.tls_routes, namespace, f),
                SourceKind::GatewayTcpRoute => each(&self.tcp_routes, namespace, f),
                SourceKind::GatewayUdpRoute => each(&self.udp_routes, namespace, f),
                _ => {}
            }
        }
    }

    fn start_needed(self: &Arc<Self>, n: Needs, by: SourceKind) {
        if n.slices {
            self.ensure(Watched::EndpointSlices, by);
        }
        if n.pods {
            self.ensure(Watched::Pods, by);
        }
        if n.nodes {
            self.ensure(Watched::Nodes, by);
        }
    }

    fn ensure_for_routes(self: &Arc<Self>, w: Watched) {
        for src in self.sources.clone() {
            if Watched::on_demand(src).contains(&w) && Watched::primary(src).contains(&Watched::Gateways) {
                self.ensure(w, src);
            }
        }
    }

    /// Makes `w` part of `by`'s health and starts its watch if it does not run yet. The watch
    /// counts as not synced from this moment, before any event that depends on it is sent.
    fn ensure(self: &Arc<Self>, w: Watched, by: SourceKind) {
        let start = {
            let mut watches = lock(&self.watches);
            let st = watches.entry(w).or_default();
            st.needed_by.insert(by);
            let start = !st.status.started;
            st.status.started = true;
            start
        };
        if !start {
            return;
        }
        if Watched::primary(by).contains(&w) {
            debug!(resource = %w, source = %by, "starting watch");
        } else {
            info!(resource = %w, source = %by, "starting watch (an object needs it)");
        }
        let s = self.clone();
        let task = self.runtime.spawn(async move {
            match w {
                Watched::Services => run::<Service>(s).await,
                Watched::EndpointSlices => run::<EndpointSlice>(s).await,
                Watched::Pods => run::<Pod>(s).await,
                Watched::Nodes => run::<Node>(s).await,
                Watched::Namespaces => run::<Namespace>(s).await,
                Watched::Ingresses => run::<Ingress>(s).await,
                Watched::Gateways => run::<Gateway>(s).await,
                Watched::HttpRoutes => run::<HTTPRoute>(s).await,
                Watched::GrpcRoutes => run::<GRPCRoute>(s).await,
                Watched::TlsRoutes => run::<TLSRoute>(s).await,
                Watched::TcpRoutes => run::<TCPRoute>(s).await,
                Watched::UdpRoutes => run::<UDPRoute>(s).await,
                Watched::DnsEndpoints => run::<DNSEndpoint>(s).await,
            }
        });
        lock(&self.tasks).push(task.abort_handle());
    }

    /// Namespace scope of a watch: `--namespace`, or `--gateway-namespace` for Gateways.
    fn scope(&self, w: Watched) -> Option<&str> {
        match w {
            Watched::Nodes | Watched::Namespaces => None,
            Watched::Gateways => self.cfg.gateway_namespace.as_deref(),
            _ => self.cfg.namespace.as_deref(),
        }
    }

    /// List+watch settings of a watch: label selectors where the watched objects are read
    /// only by the source the filter is for, and the pods of the `service` source without
    /// finished ones.
    pub(crate) fn watcher_config(&self, w: Watched) -> watcher::Config {
        // Served from the apiserver's watch cache in one answer, as client-go's informers do:
        // with a page size, kube-rs leaves out `resourceVersion=0` and the apiserver pages from
        // etcd (20 requests for 10 000 Services, each behind the --kube-api-qps limiter).
        let mut c = watcher::Config::default().any_semantic();
        c.page_size = None;
        let selector = match w {
            Watched::Services
            | Watched::Ingresses
            | Watched::HttpRoutes
            | Watched::GrpcRoutes
            | Watched::TlsRoutes
            | Watched::TcpRoutes
            | Watched::UdpRoutes
            | Watched::DnsEndpoints => Some(&self.cfg.label_filter),
            Watched::Gateways => Some(&self.cfg.gateway_label_filter),
            _ => None,
        };
        if let Some(sel) = selector.filter(|s| !s.is_empty()) {
            c = c.labels(&sel.to_string());
        }
        if w == Watched::Pods && !self.enabled(SourceKind::Pod) {
            // Headless Services publish ready or not-ready endpoints of pods that still run;
            // NodePort with `Local` looks at running pods. Finished pods are never read.
            c = c.fields("status.phase!=Succeeded,status.phase!=Failed");
        }
        c
    }

    async fn send(&self, ev: SourceEvent) {
        // A closed channel means the controller is gone; the watches stop with the source.
        let _ = self.events.send(ev).await;
    }

    fn compute_health(&self) -> Vec<SourceHealth> {
        let watches = lock(&self.watches);
        self.sources
            .iter()
            .map(|src| {
                let mut synced = true;
                let mut errors = Vec::new();
                for (w, st) in watches.iter().filter(|(_, st)| st.needed_by.contains(src)) {
                    synced &= st.status.synced;
                    if let Some(e) = &st.status.error {
                        errors.push(e.clone());
                    } else if st.status.relisting {
                        errors.push(format!("re-listing {w}: its watch could not resume"));
                    }
                }
                SourceHealth {
                    source: src.as_str().to_owned(),
                    synced,
                    error: (!errors.is_empty()).then(|| join_errors(errors)),
                }
            })
            .collect()
    }

    /// Sends [`SourceEvent::Health`] when any source's health differs from the last one sent.
    async fn health_changed(&self) {
        let now = self.compute_health();
        let changed = {
            let mut last = lock(&self.last_health);
            if *last == now {
                false
            } else {
                *last = now;
                true
            }
        };
        if changed {
            self.send(SourceEvent::Health).await;
        }
    }

    fn update<R>(&self, w: Watched, f: impl FnOnce(&mut WatchState) -> R) -> R {
        f(lock(&self.watches).entry(w).or_default())
    }

    /// Discovery, retried with backoff until the resource is served.
    async fn discover_until_served(&self, w: Watched) -> ApiResource {
        let mut delay = DISCOVERY_RETRY_FIRST;
        loop {
            match discover(self.client.client(), w).await {
                Ok(ar) => {
                    let recovered = self.update(w, |st| {
                        st.status.api_version = Some(ar.api_version.clone());
                        st.api = Some(ar.clone());
                        let had = st.discovery_error;
                        if had {
                            st.status.error = None;
                            st.discovery_error = false;
                            st.error_since = None;
                        }
                        had
                    });
                    if recovered {
                        info!(resource = %w, api_version = %ar.api_version, "the cluster serves it now");
                    }
                    if w.is_custom() {
                        debug!(resource = %w, api_version = %ar.api_version, "watching");
                    }
                    self.health_changed().await;
                    return ar;
                }
                Err(e) => {
                    let msg = e.to_string();
                    let first = self.update(w, |st| {
                        st.status.errors += 1;
                        let first = st.status.error.is_none();
                        st.status.error = Some(msg.clone());
                        st.discovery_error = true;
                        first
                    });
                    if first {
                        let sources = self.sources_of(w);
                        warn!(resource = %w, retry_in = ?delay, error_kind = e.metric_label(), "{sources}: {msg}");
                    } else {
                        debug!(resource = %w, retry_in = ?delay, "still not served: {e}");
                    }
                    self.health_changed().await;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(DISCOVERY_RETRY_MAX);
                }
            }
        }
    }

    /// The apiserver accepted a watch request for `(group, plural)`: the watch runs again.
    async fn watch_accepted(&self, group: &str, plural: &str) {
        let Some(w) = Watched::ALL.iter().copied().find(|w| w.group() == group && w.plural() == plural) else {
            return;
        };
        // Another source on the same client may watch what this one does not.
        let cleared = lock(&self.watches).get_mut(&w).and_then(|st| {
            if st.status.error.is_some() && !st.discovery_error {
                st.status.error = None;
                st.error_since.take()
            } else {
                None
            }
        });
        if let Some(since) = cleared {
            info!(resource = %w, after = ?since.elapsed(), "watch running again");
            self.health_changed().await;
        }
    }

    /// An event arrived: whatever failed before works now.
    async fn watch_ok(&self, w: Watched) {
        let cleared = self.update(w, |st| {
            if st.status.error.is_some() {
                st.status.error = None;
                st.error_since.take()
            } else {
                None
            }
        });
        if let Some(since) = cleared {
            info!(resource = %w, after = ?since.elapsed(), "watch running again");
            self.health_changed().await;
        }
    }

    /// Records a failed list or watch; whether the apiserver could not be reached.
    async fn watch_failed(&self, w: Watched, e: &watcher::Error) -> bool {
        if let watcher::Error::WatchError(st) = e
            && st.code == 410
        {
            // The resourceVersion is too old to resume from: kube-rs lists again (Init next).
            debug!(resource = %w, "watch expired; listing again");
            return false;
        }
        let unreachable = is_unreachable(e);
        let msg = describe_watch_error(w, e);
        let now = Instant::now();
        let (first, warn_again) = self.update(w, |st| {
            st.status.errors += 1;
            st.unreachable = unreachable;
            let first = st.status.error.is_none();
            st.status.error = Some(msg.clone());
            if first {
                st.error_since = Some(now);
                st.last_warn = Some(now);
            }
            let again = !first && st.last_warn.is_none_or(|t| now.duration_since(t) >= ERROR_LOG_EVERY);
            if again {
                st.last_warn = Some(now);
            }
            (first, again.then(|| st.error_since.map(|s| now.duration_since(s)).unwrap_or_default()))
        });
        if first {
            let sources = self.sources_of(w);
            warn!(resource = %w, "{sources}: {msg}; retrying with backoff (their names are kept meanwhile)");
        } else if let Some(failing_for) = warn_again {
            let sources = self.sources_of(w);
            warn!(resource = %w, ?failing_for, "{sources}: still failing: {msg}");
        } else {
            debug!(resource = %w, "{msg}");
        }
        self.health_changed().await;
        unreachable
    }

    /// While a watch waits because the apiserver could not be reached, asks `/readyz` every
    /// [`PROBE_EVERY`]; the first answer after a failure wakes every such watch at once
    /// (instead of after up to 30 s of backoff). Errors of other kinds (Forbidden, …) keep
    /// their backoff.
    fn ensure_prober(self: Arc<Self>) {
        if self.probing.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let s = self.clone();
        let task = self.runtime.spawn(async move {
            let mut answered = false;
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let waiting = lock(&s.watches).values().any(|st| st.unreachable && st.status.error.is_some());
                if !waiting {
                    break;
                }
                // `/readyz`, not `/version`: a starting apiserver answers `/version` (and accepts
                // watches) before its storage and watch caches are ready.
                let ready = http::Request::get("/readyz").body(Vec::new()).expect("a valid request");
                let ok = s.client.client().request_text(ready).await.is_ok_and(|t| t.trim() == "ok");
                if ok && !answered {
                    s.apiserver_back.notify_waiters();
                }
                answered = ok;
            }
            s.probing.store(false, std::sync::atomic::Ordering::SeqCst);
        });
        lock(&self.tasks).push(task.abort_handle());
    }
}

/// `source gateway-httproute` / `sources service, pod`.
fn name_sources(names: &[&str]) -> String {
    match names {
        [one] => format!("source {one}"),
        many => format!("sources {}", many.join(", ")),
    }
}

/// Messages of several failed watches of one source, with "does not serve" ones that share a
/// hint said once: `the cluster does not serve a (looked for v1), b (looked for v1); hint`.
fn join_errors(errors: Vec<String>) -> String {
    const NOT_SERVED: &str = "the cluster does not serve ";
    let mut out: Vec<String> = Vec::new();
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for e in errors {
        match e.strip_prefix(NOT_SERVED).and_then(|rest| rest.split_once("; ")) {
            Some((what, hint)) => match grouped.iter_mut().find(|(h, _)| h == hint) {
                Some((_, whats)) => whats.push(what.to_owned()),
                None => grouped.push((hint.to_owned(), vec![what.to_owned()])),
            },
            None => {
                if !out.contains(&e) {
                    out.push(e)
                }
            }
        }
    }
    for (hint, whats) in grouped {
        out.push(format!("{NOT_SERVED}{}; {hint}", whats.join(", ")));
    }
    out.join("; ")
}

fn is_unreachable(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            matches!(KubeError::from_kube(k), KubeError::Unreachable(_))
        }
        _ => false,
    }
}

fn describe_watch_error(w: Watched, e: &watcher::Error) -> String {
    let inner = match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => k,
        watcher::Error::WatchError(st) if st.code == 403 => {
            return KubeError::Forbidden(st.message.clone()).to_string();
        }
        other => return format!("watch of {w}: {}", error_chain(other)),
    };
    match inner {
        kube::Error::Api(st) if st.code == 404 => {
            format!("the cluster does not serve {} any more (was the CRD deleted?); {}", w.resource_name(), w.hint())
        }
        k => format!("watch of {w}: {}", KubeError::from_kube(k)),
    }
}

/// One watch: discovery, then list+watch into the cache for as long as the source lives.
async fn run<K: Kind>(s: Arc<Shared>) {
    let w = K::WATCHED;
    let ar = s.discover_until_served(w).await;
    let client = s.client.client().clone();
    let api: Api<Obj<K>> = match s.scope(w).filter(|_| w.namespaced()) {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    };
    // kube-rs's watcher with its default backoff (client-go's: 0.8 s doubling to 30 s, with
    // jitter), applied here rather than by `StreamBackoff` so that a wait caused by an
    // unreachable apiserver ends as soon as the apiserver answers again.
    let mut stream = watcher(api, s.watcher_config(w)).boxed();
    let mut backoff = DefaultBackoff::default();
    let mut buffer: Option<BTreeMap<Key, Arc<K>>> = None;
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => {
                let unreachable = s.watch_failed(w, &e).await;
                let delay = backoff.next().unwrap_or(DISCOVERY_RETRY_MAX);
                if unreachable {
                    s.clone().ensure_prober();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = s.apiserver_back.notified() => debug!(resource = %w, "the apiserver answers again; retrying now"),
                    }
                } else {
                    tokio::time::sleep(delay).await;
                }
                continue;
            }
        };
        backoff.reset();
        s.watch_ok(w).await;
        match ev {
            Event::Init => {
                let relist = s.update(w, |st| {
                    st.status.lists += 1;
                    st.status.relisting = st.status.synced;
                    st.status.relisting
                });
                if relist {
                    info!(resource = %w, "listing again (the watch could not resume from where it was)");
                    s.health_changed().await;
                }
                buffer = Some(BTreeMap::new());
            }
            Event::InitApply(Obj(mut o)) => {
                o.strip(&s.strip);
                buffer.get_or_insert_default().insert(key_of(o.metadata()), Arc::new(o));
            }
            Event::InitDone => {
                let map = buffer.take().unwrap_or_default();
                K::listed(&s, &map);
                let n = map.len();
                K::cache(&s).replace(map);
                let first = s.update(w, |st| {
                    let first = !st.status.synced;
                    st.status.synced = true;
                    st.status.relisting = false;
                    first
                });
                if first {
                    debug!(resource = %w, objects = n, "listed");
                } else {
                    info!(resource = %w, objects = n, "listed again");
                }
                s.health_changed().await;
                s.send(SourceEvent::All).await;
            }
            Event::Apply(Obj(mut o)) => {
                o.strip(&s.strip);
                let new = Arc::new(o);
                let old = K::cache(&s).insert(key_of(new.metadata()), new.clone());
                let unchanged = old.as_deref().is_some_and(|o| K::same(o, &new));
                s.update(w, |st| {
                    st.status.events += 1;
                    st.status.unchanged += u64::from(unchanged);
                });
                if unchanged {
                    continue;
                }
                let mut out = Vec::new();
                K::affected(&s, old.as_deref(), Some(&new), &mut out);
                // A watch this object started counts before anyone hears of the object.
                s.health_changed().await;
                if !out.is_empty() {
                    s.send(SourceEvent::Changed(out)).await;
                }
            }
            Event::Delete(Obj(mut o)) => {
                let key = key_of(o.metadata());
                let old = match K::cache(&s).remove(&key) {
                    Some(old) => old,
                    None => {
                        o.strip(&s.strip);
                        Arc::new(o)
                    }
                };
                s.update(w, |st| st.status.events += 1);
                let mut out = Vec::new();
                K::affected(&s, Some(&old), None, &mut out);
                if !out.is_empty() {
                    s.send(SourceEvent::Changed(out)).await;
                }
            }
        }
    }
    warn!(resource = %w, "watch stream ended");
}

fn watcher<K: Kind>(api: Api<Obj<K>>, c: watcher::Config) -> impl futures::Stream<Item = watcher::Result<Event<Obj<K>>>> {
    kube::runtime::watcher(api, c)
}

// ---------------------------------------------------------------------------------------------
// ClusterView and ObjectSource

impl ClusterView for KubeSource {
    fn services(&self, namespace: Option<&str>) -> Vec<Arc<Service>> {
        self.shared.services.list(namespace)
    }

    fn pods(&self, namespace: &str) -> Vec<Arc<Pod>> {
        self.shared.pods.list(Some(namespace))
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.shared.nodes.list(None)
    }

    fn endpoint_slices(&self, namespace: &str, service: &str) -> Vec<Arc<EndpointSlice>> {
        self.shared
            .slices
            .list(Some(namespace))
            .into_iter()
            .filter(|s| s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map(String::as_str) == Some(service))
            .collect()
    }

    fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.shared.namespaces.get("", name)
    }

    fn gateways(&self, namespace: Option<&str>) -> Vec<Arc<Gateway>> {
        self.shared.gateways.list(namespace)
    }

    fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.shared.nodes.get("", name)
    }

    fn gateway(&self, namespace: &str, name: &str) -> Option<Arc<Gateway>> {
        self.shared.gateways.get(namespace, name)
    }
}

fn out(o: SourceOutput) -> ObjectEndpoints {
    ObjectEndpoints { endpoints: o.endpoints, invalid: o.invalid }
}

impl ObjectSource for KubeSource {
    fn objects(&self) -> Vec<ObjectRef> {
        let s = &self.shared;
        let mut refs = Vec::new();
        for src in &s.sources {
            let Some(kind) = object_kind(*src) else { continue };
            let keys = match src {
                SourceKind::Service => s.services.keys(),
                SourceKind::Ingress => s.ingresses.keys(),
                SourceKind::GatewayHttpRoute => s.http_routes.keys(),
                SourceKind::GatewayGrpcRoute => s.grpc_routes.keys(),
                SourceKind::GatewayTlsRoute => s.tls_routes.keys(),
                SourceKind::GatewayTcpRoute => s.tcp_routes.keys(),
                SourceKind::GatewayUdpRoute => s.udp_routes.keys(),
                SourceKind::Crd => s.dns_endpoints.keys(),
                SourceKind::Node => s.nodes.keys(),
                SourceKind::Pod => s.pods.keys(),
                SourceKind::Manifest => Vec::new(),
            };
            refs.extend(keys.into_iter().map(|(ns, name)| {
                if ns.is_empty() { ObjectRef::cluster(kind, &name) } else { ObjectRef::namespaced(kind, &ns, &name) }
            }));
        }
        refs
    }

    fn endpoints(&self, object: &ObjectRef) -> Option<ObjectEndpoints> {
        let s = &self.shared;
        let ns = object.namespace.as_deref().unwrap_or_default();
        let name = object.name.as_str();
        let cfg = &s.cfg;
        let on = |k: SourceKind| s.enabled(k);
        Some(match object.kind.as_str() {
            "service" if on(SourceKind::Service) => {
                out(exodns_sources::service::endpoints(s.services.get(ns, name)?.as_ref(), self, cfg))
            }
            "ingress" if on(SourceKind::Ingress) => out(exodns_sources::ingress::endpoints(s.ingresses.get(ns, name)?.as_ref(), cfg)),
            "httproute" if on(SourceKind::GatewayHttpRoute) => {
                out(exodns_sources::gateway::endpoints(s.http_routes.get(ns, name)?.as_ref(), self, cfg))
            }
            "grpcroute" if on(SourceKind::GatewayGrpcRoute) => {
                out(exodns_sources::gateway::endpoints(s.grpc_routes.get(ns, name)?.as_ref(), self, cfg))
            }
            "tlsroute" if on(SourceKind::GatewayTlsRoute) => {
                out(exodns_sources::gateway::endpoints(s.tls_routes.get(ns, name)?.as_ref(), self, cfg))
            }
            "tcproute" if on(SourceKind::GatewayTcpRoute) => {
                out(exodns_sources::gateway::endpoints(s.tcp_routes.get(ns, name)?.as_ref(), self, cfg))
            }
            "udproute" if on(SourceKind::GatewayUdpRoute) => {
                out(exodns_sources::gateway::endpoints(s.udp_routes.get(ns, name)?.as_ref(), self, cfg))
            }
            "crd" if on(SourceKind::Crd) => out(exodns_sources::crd::endpoints(s.dns_endpoints.get(ns, name)?.as_ref(), cfg)),
            "node" if on(SourceKind::Node) => out(exodns_sources::node::endpoints(s.nodes.get("", name)?.as_ref(), cfg)),
            "pod" if on(SourceKind::Pod) => out(exodns_sources::pod::endpoints(s.pods.get(ns, name)?.as_ref(), self, cfg)),
            _ => return None,
        })
    }

    fn health(&self) -> Vec<SourceHealth> {
        self.shared.compute_health()
    }

    /// A Kubernetes Event on the object (de-duplicated and rate-limited by the sink).
    fn note(&self, object: &ObjectRef, note: &ObjectNote) {
        if let Some(regarding) = self.shared.regarding(object) {
            self.shared.events_out.emit(regarding, note);
        }
    }

    /// DNSEndpoint: writes `status.observedGeneration` (merge patch of the status subresource)
    /// in the background; failures are logged and the next publish tries again.
    fn published(&self, object: &ObjectRef) {
        let s = &self.shared;
        if object.kind != "crd" || !s.enabled(SourceKind::Crd) {
            return;
        }
        let ns = object.namespace.clone().unwrap_or_default();
        let Some(obj) = s.dns_endpoints.get(&ns, &object.name) else { return };
        let Some(generation) = exodns_sources::crd::observed_generation_update(&obj) else { return };
        let Some(ar) = lock(&s.watches).get(&Watched::DnsEndpoints).and_then(|st| st.api.clone()) else { return };
        let key = (ns.clone(), object.name.clone(), generation);
        if !lock(&s.status_writes).insert(key.clone()) {
            return;
        }
        let api: Api<Obj<DNSEndpoint>> = Api::namespaced_with(s.client.client().clone(), &ns, &ar);
        let shared = s.clone();
        let name = object.name.clone();
        s.runtime.spawn(async move {
            let patch = serde_json::json!({"status": {"observedGeneration": generation}});
            match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => debug!(dnsendpoint = %format!("{ns}/{name}"), generation, "status.observedGeneration written"),
                Err(kube::Error::Api(st)) if st.code == 404 => {
                    debug!(dnsendpoint = %format!("{ns}/{name}"), "gone before its status was written")
                }
                Err(e) => {
                    let e = KubeError::from_kube(&e);
                    warn!(dnsendpoint = %format!("{ns}/{name}"), error_kind = e.metric_label(), "cannot write status.observedGeneration: {e}")
                }
            }
            lock(&shared.status_writes).remove(&key);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_sources::SourceFlags;

    fn svc(json: serde_json::Value) -> Service {
        serde_json::from_value(json).unwrap()
    }

    fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
        let mut f = SourceFlags::default();
        edit(&mut f);
        SourceConfig::new(&f).unwrap()
    }

    #[test]
    fn which_services_need_pods_and_nodes() {
        let c = SourceConfig::default();
        let headless = svc(serde_json::json!({
            "metadata": {"name": "db", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "db.example.org"}},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}}}));
        assert_eq!(service_needs(&headless, &c), Needs { pods: true, slices: true, nodes: false });
        let unnamed = svc(serde_json::json!({"metadata": {"name": "db", "namespace": "a"}, "spec": {"clusterIP": "None"}}));
        assert_eq!(service_needs(&unnamed, &c), Needs::default(), "a StatefulSet's headless Service without DNS");
        let templ = cfg(|f| f.fqdn_template = vec!["{{.Name}}.example.org".into()]);
        assert!(service_needs(&unnamed, &templ).pods);
        let node_ext = svc(serde_json::json!({
            "metadata": {"name": "db", "namespace": "a", "annotations": {
                "external-dns.alpha.kubernetes.io/internal-hostname": "db.example.org",
                "external-dns.kubernetes.io/endpoints-type": "NodeExternalIP"}},
            "spec": {"clusterIP": "None"}}));
        assert_eq!(service_needs(&node_ext, &c), Needs { pods: true, slices: true, nodes: true });
        let np = svc(serde_json::json!({
            "metadata": {"name": "np", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "np.example.org"}},
            "spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}}));
        assert_eq!(service_needs(&np, &c), Needs { pods: true, slices: false, nodes: true });
        let lb_only = cfg(|f| f.service_type_filter = vec!["LoadBalancer".into()]);
        assert_eq!(service_needs(&np, &lb_only), Needs::default());
        assert_eq!(service_needs(&headless, &lb_only), Needs::default());
        let mut targeted = np.clone();
        targeted.metadata.annotations.as_mut().unwrap().insert("external-dns.kubernetes.io/target".into(), "1.2.3.4".into());
        assert_eq!(service_needs(&targeted, &c), Needs::default());
        let ignore = cfg(|f| f.ignore_hostname_annotation = true);
        assert_eq!(service_needs(&np, &ignore), Needs::default());
    }

    #[test]
    fn gateway_parent_matching() {
        let p = |ns: Option<&str>, kind: Option<&str>| ParentReference {
            name: "gw".into(),
            namespace: ns.map(Into::into),
            kind: kind.map(Into::into),
            ..Default::default()
        };
        assert!(names_gateway(&p(None, None), "infra", "infra", "gw"));
        assert!(!names_gateway(&p(None, None), "apps", "infra", "gw"));
        assert!(names_gateway(&p(Some("infra"), Some("Gateway")), "apps", "infra", "gw"));
        assert!(!names_gateway(&p(Some("infra"), Some("ListenerSet")), "apps", "infra", "gw"));
    }

    #[test]
    fn errors_joined() {
        assert_eq!(name_sources(&["gateway-tcproute"]), "source gateway-tcproute");
        assert_eq!(name_sources(&["service", "pod"]), "sources service, pod");
        let e = join_errors(vec![
            "the cluster does not serve gateways.g (looked for v1); install it".into(),
            "cannot reach the apiserver: refused".into(),
            "the cluster does not serve tcproutes.g (looked for v1, v1alpha2); install it".into(),
            "cannot reach the apiserver: refused".into(),
        ]);
        assert_eq!(
            e,
            "cannot reach the apiserver: refused; the cluster does not serve gateways.g (looked for v1), tcproutes.g (looked for v1, v1alpha2); install it"
        );
    }
}
