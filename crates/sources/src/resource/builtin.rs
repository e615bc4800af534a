//! The built-in resources the sources read (k8s-openapi's types): what each keeps of an object.
//!
//! Pods keep hostname/subdomain/nodeName/hostNetwork, their IPs, host IP, phase and the Ready
//! condition; Nodes their addresses, `unschedulable` and labels; EndpointSlices addresses,
//! readiness and target; Services and Ingresses what their source reads of spec and status;
//! Namespaces their name and labels.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Namespace, Node, NodeSpec, NodeStatus, ObjectReference, Pod, PodCondition,
    PodIP, PodSpec, PodStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec, IngressStatus, IngressTLS,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ObjectType, Served, Strip, Watched};

/// A built-in resource at the one version exodns reads (k8s-openapi's).
macro_rules! builtin {
    ($ty:ty, $resource:ident) => {
        builtin!($ty, $resource, Self);
    };
    ($ty:ty, $resource:ident, $stored:ty) => {
        type Stored = $stored;
        const RESOURCE: Watched = Watched::$resource;
        const VERSIONS: &'static [&'static str] = &[<$ty as k8s_openapi::Resource>::VERSION];
        const SERVED: Served = Served::Always;
    };
}

impl ObjectType for Pod {
    builtin!(Pod, Pods);

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

impl ObjectType for Service {
    builtin!(Service, Services, super::compact::StoredService);

    fn decode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::decode::service(d)
    }

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

impl ObjectType for Node {
    builtin!(Node, Nodes);

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec = self.spec.take().map(|sp| NodeSpec { unschedulable: sp.unschedulable, ..NodeSpec::default() });
        self.status = self.status.take().map(|st| NodeStatus { addresses: st.addresses, ..NodeStatus::default() });
    }
}

impl ObjectType for EndpointSlice {
    builtin!(EndpointSlice, EndpointSlices);

    fn strip(&mut self, s: &Strip) {
        // The label naming the Service is what ties a slice to it; other labels are not read.
        let service = self.metadata.labels.as_mut().and_then(|l| l.remove_entry(crate::cluster::SERVICE_NAME_LABEL));
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

impl ObjectType for Namespace {
    builtin!(Namespace, Namespaces);

    fn strip(&mut self, s: &Strip) {
        let mut meta = s.meta(std::mem::take(&mut self.metadata));
        meta.annotations = None;
        self.metadata = meta;
        self.spec = None;
        self.status = None;
    }
}

impl ObjectType for Ingress {
    builtin!(Ingress, Ingresses);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SourceConfig, SourceFlags};

    /// A Pod as a Deployment and the kubelet leave it (trimmed from a real one, kubectl apply'd).
    const POD: &str = include_str!("../../tests/data/pod.json");

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
        let view = crate::Objects::default();
        for c in [SourceConfig::default(), cfg(|f| f.fqdn_template = vec!["{{.Name}}.pods.example.org".into()])] {
            assert_eq!(crate::pod::endpoints(&full, &view, &c), crate::pod::endpoints(&lean, &view, &c));
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
        // Annotations reached through the raw metadata without being named.
        let s = Strip::new(&cfg(|f| {
            f.fqdn_template = vec!["{{range $k, $v := .Metadata}}{{$k}}.example.org,{{end}}".into()]
        }));
        assert!(s.keep_annotation("dns"));
        let s = Strip::new(&cfg(|f| f.fqdn_template = vec!["{{.Name}}.example.org".into()]));
        assert!(!s.keep_annotation("dns"));
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
