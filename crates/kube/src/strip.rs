//! Keeping only what the sources read: every watched object is cut down by [`Lean::strip`]
//! before it enters a cache.
//!
//! Metadata keeps name, namespace, labels (label filters, selectors and templates read them) and
//! the annotations exodns reads: those under `external-dns.kubernetes.io/`,
//! `external-dns.alpha.kubernetes.io/` and `--annotation-prefix`, `kubernetes.io/ingress.class`,
//! and any key `--annotation-filter` names (all of them when `--fqdn-template` reads
//! `.Annotations`). Gone: managedFields, `kubectl.kubernetes.io/last-applied-configuration`,
//! resourceVersion, timestamps, owner references, finalizers. Pods keep
//! hostname/subdomain/nodeName/hostNetwork, their IPs, host IP, phase and the Ready condition;
//! Nodes their addresses, `unschedulable` and labels; EndpointSlices addresses, readiness and
//! target; Services and Ingresses what their source reads of spec and status.

use std::collections::BTreeMap;

use exodns_sources::SourceConfig;
use exodns_sources::annotations::{DEFAULT_PREFIX, LEGACY_PREFIX};
use exodns_sources::config::INGRESS_CLASS_ANNOTATION;
use exodns_sources::selector::Selector;
use exodns_sources::types::{DNSEndpoint, GRPCRoute, Gateway, HTTPRoute, RouteStatus, TCPRoute, TLSRoute, UDPRoute};
use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Namespace, Node, NodeSpec, NodeStatus, ObjectReference, Pod, PodCondition,
    PodIP, PodSpec, PodStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec, IngressStatus, IngressTLS,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Which annotations survive.
#[derive(Debug, Clone)]
pub struct Strip {
    prefixes: Vec<String>,
    annotation_filter: Selector,
    keep_all_annotations: bool,
}

impl Strip {
    pub fn new(cfg: &SourceConfig) -> Self {
        let mut prefixes = vec![DEFAULT_PREFIX.to_owned(), LEGACY_PREFIX.to_owned()];
        if !prefixes.contains(&cfg.annotation_prefix) {
            prefixes.push(cfg.annotation_prefix.clone());
        }
        // A template may read any annotation (`.Annotations.x`, `index .Annotations $k`).
        let keep_all_annotations = cfg.fqdn_template.as_ref().is_some_and(|t| t.as_str().contains("Annotations"));
        Strip { prefixes, annotation_filter: cfg.annotation_filter.clone(), keep_all_annotations }
    }

    /// Whether an annotation is kept.
    pub fn keep_annotation(&self, key: &str) -> bool {
        self.keep_all_annotations
            || key == INGRESS_CLASS_ANNOTATION
            || self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
            || self.annotation_filter.mentions(key)
    }

    fn annotations(&self, a: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
        let kept: BTreeMap<String, String> = a?.into_iter().filter(|(k, _)| self.keep_annotation(k)).collect();
        (!kept.is_empty()).then_some(kept)
    }

    /// Metadata reduced to what the sources read.
    pub fn meta(&self, m: ObjectMeta) -> ObjectMeta {
        ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            // Kubernetes Events name the object they regard by uid too.
            uid: m.uid,
            labels: m.labels.filter(|l| !l.is_empty()),
            annotations: self.annotations(m.annotations),
            ..ObjectMeta::default()
        }
    }
}

/// An object that can be cut down to what the sources read.
pub trait Lean {
    fn strip(&mut self, s: &Strip);
}

impl Lean for Pod {
    fn strip(&mut self, s: &Strip) {
        let deletion = self.metadata.deletion_timestamp.take();
        self.metadata = ObjectMeta { deletion_timestamp: deletion, ..s.meta(std::mem::take(&mut self.metadata)) };
        self.spec = self.spec.take().map(|p| PodSpec {
            hostname: p.hostname,
            subdomain: p.subdomain,
            node_name: p.node_name,
            host_network: p.host_network,
            ..PodSpec::default()
        });
        self.status = self.status.take().map(|st| PodStatus {
            pod_ip: st.pod_ip,
            pod_ips: st.pod_ips.map(|ips| ips.into_iter().map(|i| PodIP { ip: i.ip }).collect()),
            host_ip: st.host_ip,
            phase: st.phase,
            conditions: st.conditions.map(|c| {
                c.into_iter()
                    .filter(|c| c.type_ == "Ready")
                    .map(|c| PodCondition { type_: c.type_, status: c.status, ..PodCondition::default() })
                    .collect()
            }),
            ..PodStatus::default()
        });
    }
}

impl Lean for Service {
    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec = self.spec.take().map(|sp| ServiceSpec {
            type_: sp.type_,
            cluster_ip: sp.cluster_ip,
            external_ips: sp.external_ips,
            external_name: sp.external_name,
            selector: sp.selector,
            publish_not_ready_addresses: sp.publish_not_ready_addresses,
            external_traffic_policy: sp.external_traffic_policy,
            ports: sp.ports.map(|ps| {
                ps.into_iter()
                    .map(|p| ServicePort {
                        name: p.name,
                        port: p.port,
                        node_port: p.node_port,
                        protocol: p.protocol,
                        ..ServicePort::default()
                    })
                    .collect()
            }),
            ..ServiceSpec::default()
        });
        self.status = self.status.take().map(|st| ServiceStatus {
            load_balancer: st.load_balancer.map(|lb| LoadBalancerStatus {
                ingress: lb.ingress.map(|i| {
                    i.into_iter()
                        .map(|i| LoadBalancerIngress {
                            ip: i.ip,
                            hostname: i.hostname,
                            ..LoadBalancerIngress::default()
                        })
                        .collect()
                }),
            }),
            conditions: None,
        });
    }
}

impl Lean for Node {
    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec = self.spec.take().map(|sp| NodeSpec { unschedulable: sp.unschedulable, ..NodeSpec::default() });
        self.status = self.status.take().map(|st| NodeStatus { addresses: st.addresses, ..NodeStatus::default() });
    }
}

impl Lean for EndpointSlice {
    fn strip(&mut self, s: &Strip) {
        // The label naming the Service is what ties a slice to it; other labels are not read.
        let service =
            self.metadata.labels.as_mut().and_then(|l| l.remove_entry(exodns_sources::cluster::SERVICE_NAME_LABEL));
        let mut meta = s.meta(std::mem::take(&mut self.metadata));
        meta.labels = service.map(|(k, v)| BTreeMap::from([(k, v)]));
        meta.annotations = None;
        self.metadata = meta;
        self.ports = None;
        for ep in &mut self.endpoints {
            *ep = Endpoint {
                addresses: std::mem::take(&mut ep.addresses),
                conditions: ep
                    .conditions
                    .take()
                    .map(|c| EndpointConditions { ready: c.ready, ..EndpointConditions::default() }),
                target_ref: ep.target_ref.take().map(|r| ObjectReference {
                    api_version: r.api_version,
                    kind: r.kind,
                    name: r.name,
                    namespace: r.namespace,
                    ..ObjectReference::default()
                }),
                ..Endpoint::default()
            };
        }
    }
}

impl Lean for Namespace {
    fn strip(&mut self, s: &Strip) {
        let mut meta = s.meta(std::mem::take(&mut self.metadata));
        meta.annotations = None;
        self.metadata = meta;
        self.spec = None;
        self.status = None;
    }
}

impl Lean for Ingress {
    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec = self.spec.take().map(|sp| IngressSpec {
            ingress_class_name: sp.ingress_class_name,
            rules: sp.rules.map(|r| r.into_iter().map(|r| IngressRule { host: r.host, http: None }).collect()),
            tls: sp.tls.map(|t| t.into_iter().map(|t| IngressTLS { hosts: t.hosts, secret_name: None }).collect()),
            default_backend: None,
        });
        self.status = self.status.take().map(|st| IngressStatus {
            load_balancer: st.load_balancer.map(|lb| IngressLoadBalancerStatus {
                ingress: lb.ingress.map(|i| {
                    i.into_iter()
                        .map(|i| IngressLoadBalancerIngress { ip: i.ip, hostname: i.hostname, ports: None })
                        .collect()
                }),
            }),
        });
    }
}

impl Lean for Gateway {
    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec.gateway_class_name = String::new();
        if let Some(st) = &mut self.status {
            st.conditions = Vec::new();
        }
    }
}

fn strip_route_status(status: &mut Option<RouteStatus>) {
    for p in status.iter_mut().flat_map(|s| s.parents.iter_mut()) {
        p.conditions.retain(|c| c.type_ == "Accepted");
        for c in &mut p.conditions {
            c.reason = None;
            c.message = None;
            c.observed_generation = None;
            c.last_transition_time = None;
        }
    }
}

macro_rules! lean_route {
    ($($ty:ty),*) => {$(
        impl Lean for $ty {
            fn strip(&mut self, s: &Strip) {
                self.metadata = s.meta(std::mem::take(&mut self.metadata));
                strip_route_status(&mut self.status);
            }
        }
    )*};
}
lean_route!(HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute);

impl Lean for DNSEndpoint {
    fn strip(&mut self, s: &Strip) {
        // The generation is what `status.observedGeneration` acknowledges.
        let generation = self.metadata.generation;
        self.metadata = ObjectMeta { generation, ..s.meta(std::mem::take(&mut self.metadata)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_sources::SourceFlags;

    /// A Pod as a Deployment and the kubelet leave it (trimmed from a real one, kubectl apply'd).
    const POD: &str = include_str!("../tests/data/pod.json");

    fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
        let mut f = SourceFlags::default();
        edit(&mut f);
        SourceConfig::new(&f).unwrap()
    }

    #[test]
    fn pod_shrinks_and_keeps_what_sources_read() {
        let full: Pod = serde_json::from_str(POD).unwrap();
        let before = serde_json::to_vec(&full).unwrap().len();
        let mut lean = full.clone();
        lean.strip(&Strip::new(&SourceConfig::default()));
        let after = serde_json::to_vec(&lean).unwrap().len();
        println!("pod: {before} bytes as served, {after} bytes kept ({:.1}%)", after as f64 * 100.0 / before as f64);
        assert!(after * 8 < before, "{after} of {before} bytes kept");

        let m = &lean.metadata;
        assert_eq!(m.name.as_deref(), Some("web-7d9c8b6f5-x2x9k"));
        assert_eq!(m.labels.as_ref().unwrap().get("app").map(String::as_str), Some("web"));
        let ann = m.annotations.as_ref().unwrap();
        assert_eq!(
            ann.keys().collect::<Vec<_>>(),
            vec!["external-dns.alpha.kubernetes.io/target", "external-dns.kubernetes.io/hostname"]
        );
        assert!(m.managed_fields.is_none() && m.resource_version.is_none());
        let spec = lean.spec.as_ref().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("web-0"));
        assert_eq!(spec.node_name.as_deref(), Some("worker-1"));
        assert_eq!(spec.host_network, Some(false));
        assert!(spec.containers.is_empty() && spec.volumes.is_none());
        let st = lean.status.as_ref().unwrap();
        assert_eq!(st.pod_ip.as_deref(), Some("10.244.1.17"));
        assert_eq!(st.pod_ips.as_ref().unwrap().len(), 2);
        assert_eq!(st.host_ip.as_deref(), Some("172.18.0.3"));
        assert_eq!(st.phase.as_deref(), Some("Running"));
        let conds = st.conditions.as_ref().unwrap();
        assert_eq!(conds.len(), 1);
        assert_eq!((conds[0].type_.as_str(), conds[0].status.as_str()), ("Ready", "True"));
        assert!(st.container_statuses.is_none());

        // The sources make the same endpoints of the full and the lean object.
        let view = exodns_sources::Objects::default();
        for c in [SourceConfig::default(), cfg(|f| f.fqdn_template = vec!["{{.Name}}.pods.example.org".into()])] {
            assert_eq!(
                exodns_sources::pod::endpoints(&full, &view, &c),
                exodns_sources::pod::endpoints(&lean, &view, &c)
            );
        }
    }

    #[test]
    fn annotations_kept_by_prefix_filter_and_template() {
        let s = Strip::new(&cfg(|f| {
            f.annotation_prefix = "dns.example.com/".into();
            f.annotation_filter = "team in (a,b),!kubectl.kubernetes.io/last-applied-configuration".into();
        }));
        for k in [
            "dns.example.com/hostname",
            "external-dns.kubernetes.io/ttl",
            "external-dns.alpha.kubernetes.io/hostname",
            "kubernetes.io/ingress.class",
            "team",
            "kubectl.kubernetes.io/last-applied-configuration",
        ] {
            assert!(s.keep_annotation(k), "{k}");
        }
        assert!(!s.keep_annotation("deployment.kubernetes.io/revision"));
        let s = Strip::new(&SourceConfig::default());
        assert!(!s.keep_annotation("kubectl.kubernetes.io/last-applied-configuration"));
        let s = Strip::new(&cfg(|f| f.fqdn_template = vec!["{{index .Annotations \"dns\"}}.example.org".into()]));
        assert!(s.keep_annotation("dns"));
    }

    #[test]
    fn node_and_slice() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}, "uid": "u",
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": "10.0.0.0/24", "unschedulable": true, "providerID": "x"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                "images": [{"names": ["registry.example/big:1"], "sizeBytes": 1}],
                "capacity": {"cpu": "2"}, "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b",
                "kernelVersion": "k", "osImage": "o", "containerRuntimeVersion": "c", "kubeletVersion": "v",
                "kubeProxyVersion": "p", "operatingSystem": "linux", "architecture": "amd64"}}
        }))
        .unwrap();
        let mut lean = node.clone();
        lean.strip(&Strip::new(&SourceConfig::default()));
        assert_eq!(
            serde_json::to_value(&lean).unwrap(),
            serde_json::json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "n1", "uid": "u", "labels": {"zone": "a"}},
                "spec": {"unschedulable": true},
                "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})
        );
        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-abc", "namespace": "apps", "generateName": "web-",
                "labels": {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "x"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true, "serving": true},
                "nodeName": "n1", "zone": "a",
                "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "apps", "uid": "u"}}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]
        }))
        .unwrap();
        let mut lean = slice.clone();
        lean.strip(&Strip::new(&SourceConfig::default()));
        assert_eq!(
            serde_json::to_value(&lean).unwrap(),
            serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "web-abc", "namespace": "apps", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true},
                    "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "apps"}}]})
        );
    }
}
