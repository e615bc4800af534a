//! Constructors for test objects (`mk_*`) and a compact text form of outputs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LoadBalancerIngress, LoadBalancerStatus, Namespace, Node, NodeAddress, NodeSpec, NodeStatus, ObjectReference, Pod,
    PodCondition, PodSpec, PodStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
};
use k8s_openapi::api::discovery::v1::{Endpoint as SliceEndpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressSpec, IngressStatus, IngressTLS,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::SourceOutput;
use crate::cluster::SERVICE_NAME_LABEL;
use crate::types::{
    AllowedRoutes, Condition, Gateway, GatewaySpec, GatewayStatus, GatewayStatusAddress, HTTPRoute, Listener,
    ParentReference, RouteNamespaces, RouteParentStatus, RouteSpec, RouteStatus,
};

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn meta(ns: &str, name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: (!ns.is_empty()).then(|| ns.to_owned()), ..Default::default() }
}

/// One line per endpoint: `name TYPE [set] ttl=N targets (resource)`; then one per diagnostic.
pub fn lines(out: &SourceOutput) -> Vec<String> {
    let mut v: Vec<String> = out.endpoints.iter().map(|e| format!("{e} ({})", e.resource().unwrap_or("-"))).collect();
    v.extend(out.invalid.iter().map(|i| format!("INVALID {i}")));
    v
}

pub trait WithMeta {
    fn meta_mut(&mut self) -> &mut ObjectMeta;
}

macro_rules! with_meta {
    ($($t:ty),*) => {$(
        impl WithMeta for $t {
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    )*};
}
with_meta!(Service, Pod, Node, Ingress, Gateway, HTTPRoute, Namespace, EndpointSlice, crate::types::ListenerSet);

pub fn with_annotations<T: WithMeta>(mut o: T, pairs: &[(&str, &str)]) -> T {
    o.meta_mut().annotations.get_or_insert_default().extend(map(pairs));
    o
}

pub fn with_labels<T: WithMeta>(mut o: T, pairs: &[(&str, &str)]) -> T {
    o.meta_mut().labels.get_or_insert_default().extend(map(pairs));
    o
}

pub fn hostname(h: &str) -> (&'static str, &str) {
    ("external-dns.kubernetes.io/hostname", h)
}

pub fn mk_service(ns: &str, name: &str, type_: &str) -> Service {
    Service {
        metadata: meta(ns, name),
        spec: Some(ServiceSpec {
            type_: Some(type_.into()),
            cluster_ip: Some("10.0.0.10".into()),
            selector: Some(map(&[("app", name)])),
            ..Default::default()
        }),
        status: None,
    }
}

pub fn mk_lb_service(ns: &str, name: &str, ips: &[&str], hostnames: &[&str]) -> Service {
    let mut s = mk_service(ns, name, "LoadBalancer");
    let mut ingress: Vec<LoadBalancerIngress> =
        ips.iter().map(|ip| LoadBalancerIngress { ip: Some(ip.to_string()), ..Default::default() }).collect();
    ingress
        .extend(hostnames.iter().map(|h| LoadBalancerIngress { hostname: Some(h.to_string()), ..Default::default() }));
    s.status = Some(ServiceStatus {
        load_balancer: Some(LoadBalancerStatus { ingress: Some(ingress) }),
        ..Default::default()
    });
    s
}

pub fn mk_headless(ns: &str, name: &str) -> Service {
    let mut s = mk_service(ns, name, "ClusterIP");
    s.spec.as_mut().unwrap().cluster_ip = Some("None".into());
    s
}

pub fn mk_node_port(ns: &str, name: &str, node_port: i32, protocol: &str) -> Service {
    let mut s = mk_service(ns, name, "NodePort");
    s.spec.as_mut().unwrap().ports = Some(vec![ServicePort {
        port: 80,
        node_port: Some(node_port),
        protocol: (!protocol.is_empty()).then(|| protocol.to_owned()),
        ..Default::default()
    }]);
    s
}

pub fn mk_node(name: &str, addrs: &[(&str, &str)]) -> Node {
    Node {
        metadata: meta("", name),
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            addresses: Some(
                addrs.iter().map(|(t, a)| NodeAddress { type_: t.to_string(), address: a.to_string() }).collect(),
            ),
            ..Default::default()
        }),
    }
}

/// A running, ready pod labelled `app=<app>` on `node`.
pub fn mk_pod(ns: &str, name: &str, app: &str, ip: &str, node: &str) -> Pod {
    let mut m = meta(ns, name);
    m.labels = Some(map(&[("app", app)]));
    Pod {
        metadata: m,
        spec: Some(PodSpec { node_name: Some(node.into()), ..Default::default() }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some(ip.into()),
            host_ip: Some("192.168.0.1".into()),
            conditions: Some(vec![PodCondition { type_: "Ready".into(), status: "True".into(), ..Default::default() }]),
            ..Default::default()
        }),
    }
}

pub fn set_ready(pod: &mut Pod, ready: bool) {
    let c = &mut pod.status.as_mut().unwrap().conditions.as_mut().unwrap()[0];
    c.status = if ready { "True" } else { "False" }.into();
}

/// An EndpointSlice of `service` with one endpoint per `(pod, ip, ready)`.
pub fn mk_slice(ns: &str, service: &str, address_type: &str, eps: &[(&str, &str, Option<bool>)]) -> EndpointSlice {
    let mut m = meta(ns, &format!("{service}-abc"));
    m.labels = Some(map(&[(SERVICE_NAME_LABEL, service)]));
    EndpointSlice {
        metadata: m,
        address_type: address_type.into(),
        endpoints: eps
            .iter()
            .map(|(pod, ip, ready)| SliceEndpoint {
                addresses: vec![ip.to_string()],
                conditions: Some(EndpointConditions { ready: *ready, ..Default::default() }),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some(pod.to_string()),
                    namespace: Some(ns.into()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ports: None,
    }
}

pub fn mk_ingress(ns: &str, name: &str, hosts: &[&str], tls_hosts: &[&str], lb: &[&str]) -> Ingress {
    let lb_ingress = lb
        .iter()
        .map(|t| {
            if t.parse::<std::net::IpAddr>().is_ok() {
                IngressLoadBalancerIngress { ip: Some(t.to_string()), ..Default::default() }
            } else {
                IngressLoadBalancerIngress { hostname: Some(t.to_string()), ..Default::default() }
            }
        })
        .collect();
    Ingress {
        metadata: meta(ns, name),
        spec: Some(IngressSpec {
            rules: Some(hosts.iter().map(|h| IngressRule { host: Some(h.to_string()), http: None }).collect()),
            tls: (!tls_hosts.is_empty()).then(|| {
                vec![IngressTLS { hosts: Some(tls_hosts.iter().map(|h| h.to_string()).collect()), secret_name: None }]
            }),
            ..Default::default()
        }),
        status: Some(IngressStatus { load_balancer: Some(IngressLoadBalancerStatus { ingress: Some(lb_ingress) }) }),
    }
}

pub fn mk_namespace(name: &str, labels: &[(&str, &str)]) -> Namespace {
    let mut m = meta("", name);
    m.labels = Some(map(labels));
    Namespace { metadata: m, ..Default::default() }
}

pub fn mk_listener(name: &str, protocol: &str, port: i32, hostname: Option<&str>, from: &str) -> Listener {
    Listener {
        name: name.into(),
        hostname: hostname.map(str::to_owned),
        port,
        protocol: protocol.into(),
        allowed_routes: (!from.is_empty()).then(|| AllowedRoutes {
            namespaces: Some(RouteNamespaces { from: Some(from.into()), selector: None }),
            kinds: Vec::new(),
        }),
    }
}

pub fn mk_gateway(ns: &str, name: &str, listeners: Vec<Listener>, addresses: &[&str]) -> Gateway {
    Gateway {
        metadata: meta(ns, name),
        spec: GatewaySpec { gateway_class_name: "test".into(), listeners, allowed_listeners: None },
        status: Some(GatewayStatus {
            addresses: addresses.iter().map(|a| GatewayStatusAddress { type_: None, value: a.to_string() }).collect(),
            conditions: vec![Condition { type_: "Accepted".into(), status: "True".into(), ..Default::default() }],
        }),
    }
}

pub fn parent_ref(ns: &str, name: &str) -> ParentReference {
    ParentReference {
        group: Some("gateway.networking.k8s.io".into()),
        kind: Some("Gateway".into()),
        namespace: Some(ns.into()),
        name: name.into(),
        section_name: None,
        port: None,
    }
}

/// A route whose spec and status list the same parents, all `Accepted=True`.
pub fn mk_route_spec_status(hostnames: &[&str], parents: &[ParentReference]) -> (RouteSpec, RouteStatus) {
    let spec =
        RouteSpec { parent_refs: parents.to_vec(), hostnames: hostnames.iter().map(|h| h.to_string()).collect() };
    let status = RouteStatus {
        parents: parents
            .iter()
            .map(|p| RouteParentStatus {
                parent_ref: p.clone(),
                controller_name: "example.net/gateway".into(),
                conditions: vec![Condition { type_: "Accepted".into(), status: "True".into(), ..Default::default() }],
            })
            .collect(),
    };
    (spec, status)
}

pub fn mk_http_route(ns: &str, name: &str, hostnames: &[&str], parents: &[ParentReference]) -> HTTPRoute {
    let (spec, status) = mk_route_spec_status(hostnames, parents);
    HTTPRoute { metadata: meta(ns, name), spec, status: Some(status) }
}

/// The sorted record lines `kinds` publish from the objects of a YAML manifest, under the default
/// flags as `edit` changes them.
pub fn manifest_lines(
    yaml: &str,
    kinds: &[crate::kind::SourceKind],
    edit: impl FnOnce(&mut crate::SourceFlags),
) -> Vec<String> {
    let mut flags = crate::SourceFlags::default();
    edit(&mut flags);
    let cfg = crate::config::SourceConfig::new(&flags).unwrap();
    let (objects, errors) = crate::manifest::parse(yaml, std::path::Path::new("test.yaml"));
    assert!(errors.is_empty(), "{errors:?}");
    let objs: crate::cluster::Objects = objects.into_iter().collect();
    let per = crate::manifest::per_object(&objs, kinds, &cfg);
    let mut out: Vec<String> = per.iter().flat_map(|(_, o)| lines(o)).collect();
    out.sort();
    out
}
