//! The shared state's lookups, and starting the watches the sources need on demand.

use std::sync::Arc;

use exodns_core::ObjectRef;
use exodns_core::source::SourceEvent;
use exodns_sources::SourceKind;
use exodns_sources::types::{DNSEndpoint, GRPCRoute, Gateway, GatewayRoute, HTTPRoute, TCPRoute, TLSRoute, UDPRoute};
use k8s_openapi::api::core::v1::{Namespace, Node, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher::{self};
use tracing::{debug, info};

use crate::cache::Cache;
use crate::resources::Watched;

use super::dependents::Needs;
use super::watch::{name_sources, run};
use super::{Shared, lock};

impl Shared {
    /// The object an Event regards: its kind, the API version it is served at, and its uid.
    pub(super) fn regarding(&self, object: &ObjectRef) -> Option<ObjectReference> {
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
            "httproute" => (
                served(Watched::HttpRoutes, "gateway.networking.k8s.io/v1"),
                "HTTPRoute",
                uid(self.http_routes.get(ns, name))?,
            ),
            "grpcroute" => (
                served(Watched::GrpcRoutes, "gateway.networking.k8s.io/v1"),
                "GRPCRoute",
                uid(self.grpc_routes.get(ns, name))?,
            ),
            "tlsroute" => (
                served(Watched::TlsRoutes, "gateway.networking.k8s.io/v1"),
                "TLSRoute",
                uid(self.tls_routes.get(ns, name))?,
            ),
            "tcproute" => (
                served(Watched::TcpRoutes, "gateway.networking.k8s.io/v1"),
                "TCPRoute",
                uid(self.tcp_routes.get(ns, name))?,
            ),
            "udproute" => (
                served(Watched::UdpRoutes, "gateway.networking.k8s.io/v1"),
                "UDPRoute",
                uid(self.udp_routes.get(ns, name))?,
            ),
            "crd" => (
                served(Watched::DnsEndpoints, "externaldns.k8s.io/v1alpha1"),
                "DNSEndpoint",
                uid(self.dns_endpoints.get(ns, name))?,
            ),
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

    pub(super) fn enabled(&self, s: SourceKind) -> bool {
        self.sources.contains(&s)
    }

    /// `source gateway-tcproute` / `sources service, pod`: the enabled sources that read `w`.
    pub(super) fn sources_of(&self, w: Watched) -> String {
        let names: Vec<&str> = self
            .sources
            .iter()
            .filter(|s| Watched::primary(**s).contains(&w) || Watched::on_demand(**s).contains(&w))
            .map(|s| s.as_str())
            .collect();
        name_sources(&names)
    }

    pub(super) fn cache_len(&self, w: Watched) -> usize {
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
    pub(super) fn each_route(&self, namespace: Option<&str>, f: &mut dyn FnMut(&dyn GatewayRoute)) {
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

    pub(super) fn start_needed(self: &Arc<Self>, n: Needs, by: SourceKind) {
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

    pub(super) fn ensure_for_routes(self: &Arc<Self>, w: Watched) {
        for src in self.sources.clone() {
            if Watched::on_demand(src).contains(&w) && Watched::primary(src).contains(&Watched::Gateways) {
                self.ensure(w, src);
            }
        }
    }

    /// Makes `w` part of `by`'s health and starts its watch if it does not run yet. The watch
    /// counts as not synced from this moment, before any event that depends on it is sent.
    pub(super) fn ensure(self: &Arc<Self>, w: Watched, by: SourceKind) {
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
    pub(super) fn scope(&self, w: Watched) -> Option<&str> {
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

    pub(super) async fn send(&self, ev: SourceEvent) {
        // A closed channel means the controller is gone; the watches stop with the source.
        let _ = self.events.send(ev).await;
    }
}
