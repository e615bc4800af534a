//! [`ClusterView`] and [`ObjectSource`] over the caches.

use std::sync::Arc;

use exodns_core::ObjectRef;
use exodns_core::source::{ObjectNote, ObjectSource, SourceHealth};
use exodns_sources::cluster::{ClusterView, SERVICE_NAME_LABEL};
use exodns_sources::types::{DNSEndpoint, Gateway};
use exodns_sources::{SourceKind, SourceOutput};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams};
use tracing::{debug, warn};

use crate::error::KubeError;
use crate::resources::{Obj, Watched};

use super::{KubeSource, lock, object_kind};

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
            .filter(|s| {
                s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map(String::as_str) == Some(service)
            })
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

impl ObjectSource for KubeSource {
    fn objects(&self) -> Vec<ObjectRef> {
        let s = &self.shared;
        let mut refs = Vec::new();
        for src in &s.sources {
            let Some(kind) = object_kind(*src) else {
                continue;
            };
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

    fn endpoints(&self, object: &ObjectRef) -> Option<SourceOutput> {
        let s = &self.shared;
        let ns = object.namespace.as_deref().unwrap_or_default();
        let name = object.name.as_str();
        let cfg = &s.cfg;
        let on = |k: SourceKind| s.enabled(k);
        Some(match object.kind.as_str() {
            "service" if on(SourceKind::Service) => {
                exodns_sources::service::endpoints(s.services.get(ns, name)?.as_ref(), self, cfg)
            }
            "ingress" if on(SourceKind::Ingress) => {
                exodns_sources::ingress::endpoints(s.ingresses.get(ns, name)?.as_ref(), cfg)
            }
            "httproute" if on(SourceKind::GatewayHttpRoute) => {
                exodns_sources::gateway::endpoints(s.http_routes.get(ns, name)?.as_ref(), self, cfg)
            }
            "grpcroute" if on(SourceKind::GatewayGrpcRoute) => {
                exodns_sources::gateway::endpoints(s.grpc_routes.get(ns, name)?.as_ref(), self, cfg)
            }
            "tlsroute" if on(SourceKind::GatewayTlsRoute) => {
                exodns_sources::gateway::endpoints(s.tls_routes.get(ns, name)?.as_ref(), self, cfg)
            }
            "tcproute" if on(SourceKind::GatewayTcpRoute) => {
                exodns_sources::gateway::endpoints(s.tcp_routes.get(ns, name)?.as_ref(), self, cfg)
            }
            "udproute" if on(SourceKind::GatewayUdpRoute) => {
                exodns_sources::gateway::endpoints(s.udp_routes.get(ns, name)?.as_ref(), self, cfg)
            }
            "crd" if on(SourceKind::Crd) => {
                exodns_sources::crd::endpoints(s.dns_endpoints.get(ns, name)?.as_ref(), cfg)
            }
            "node" if on(SourceKind::Node) => exodns_sources::node::endpoints(s.nodes.get("", name)?.as_ref(), cfg),
            "pod" if on(SourceKind::Pod) => exodns_sources::pod::endpoints(s.pods.get(ns, name)?.as_ref(), self, cfg),
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
        let Some(obj) = s.dns_endpoints.get(&ns, &object.name) else {
            return;
        };
        let Some(generation) = exodns_sources::crd::observed_generation_update(&obj) else {
            return;
        };
        let Some(ar) = lock(&s.watches).get(&Watched::DnsEndpoints).and_then(|st| st.api.clone()) else {
            return;
        };
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
