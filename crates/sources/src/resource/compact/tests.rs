use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::SourceConfig;
use crate::resource::{ObjectType, Strip};

/// A Service with every field k8s-openapi knows of set.
fn full_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "web", "namespace": "shop", "uid": "0d3c5b1e", "resourceVersion": "42", "generation": 3,
            "generateName": "web-", "creationTimestamp": "2026-01-02T03:04:05Z", "finalizers": ["x/y"],
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"external-dns.kubernetes.io/hostname": "web.example.org", "other": "dropped"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u"}]
        },
        "spec": {
            "type": "LoadBalancer", "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"],
            "externalIPs": ["192.0.2.1", "192.0.2.2"], "externalName": "ext.example.org",
            "selector": {"app": "web"}, "publishNotReadyAddresses": true, "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Cluster", "sessionAffinity": "None", "ipFamilies": ["IPv4"],
            "loadBalancerSourceRanges": ["0.0.0.0/0"], "healthCheckNodePort": 30000,
            "ports": [
                {"name": "http", "port": 80, "nodePort": 31080, "protocol": "TCP", "targetPort": 8080, "appProtocol": "http"},
                {"port": 53, "protocol": "UDP"}
            ]
        },
        "status": {
            "loadBalancer": {"ingress": [
                {"ip": "198.51.100.1", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]},
                {"hostname": "lb.example.net"}
            ]},
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-02T03:04:05Z",
                "reason": "r", "message": "m"}]
        }
    })
}

fn stripped(v: Value) -> Service {
    let mut svc: Service = serde_json::from_value(v).unwrap();
    svc.strip(&Strip::new(&SourceConfig::default()));
    svc
}

fn round_trip(svc: &Service) -> Service {
    let stored = Arc::new(StoredService::store(svc.clone()));
    Arc::unwrap_or_clone(<StoredService as StoredForm<Service>>::load(&stored))
}

#[test]
fn a_stripped_service_comes_back_as_it_was() {
    let svc = stripped(full_service());
    assert_eq!(svc.metadata.annotations.as_ref().unwrap().len(), 1, "the strip dropped the foreign annotation");
    assert_eq!(round_trip(&svc), svc);
}

/// Each `Option` level on its own: absent, empty, present.
#[test]
fn empty_and_absent_parts_stay_apart() {
    let mut shapes = vec![json!({}), json!({"metadata": {}}), json!({"spec": {}}), json!({"status": {}})];
    shapes.push(json!({"status": {"loadBalancer": {}}}));
    shapes.push(json!({"status": {"loadBalancer": {"ingress": []}}}));
    shapes.push(json!({"status": {"loadBalancer": {"ingress": [{}]}}}));
    shapes.push(json!({"spec": {"selector": {}, "ports": [], "externalIPs": []}}));
    shapes.push(json!({"spec": {"ports": [{"port": 1}]}}));
    for v in shapes {
        let svc = stripped(v.clone());
        assert_eq!(round_trip(&svc), svc, "{v}");
    }
    let a = StoredService::store(stripped(json!({"status": {}})));
    let b = StoredService::store(stripped(json!({"status": {"loadBalancer": {}}})));
    assert_ne!(a, b);
}

fn opt(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(s)
}

fn labels() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    proptest::option::of(proptest::collection::btree_map("[a-z./-]{0,6}", "[a-z0-9.]{0,6}", 0..4))
}

prop_compose! {
    /// Stripped Services of every shape.
    pub(crate) fn any_service()(
        name in opt("[a-z]{0,5}".prop_map(String::from)), uid in opt("[0-9a-f]{0,4}".prop_map(String::from)),
        labels in labels(), selector in labels(),
        type_ in opt("(LoadBalancer|ClusterIP|NodePort|ExternalName|)".prop_map(String::from)),
        cluster_ip in opt("(None|10\\.0\\.0\\.[0-9])".prop_map(String::from)),
        external_ips in proptest::option::of(proptest::collection::vec("[0-9.]{1,7}", 0..3)),
        pnr in proptest::option::of(any::<bool>()),
        ports in proptest::option::of(proptest::collection::vec(
            (opt("[a-z]{1,3}".prop_map(String::from)), any::<i32>(), proptest::option::of(any::<i32>()),
             opt("(TCP|UDP)".prop_map(String::from))), 0..3)),
        status in proptest::option::of(proptest::option::of(proptest::option::of(proptest::collection::vec(
            (opt("[0-9.]{1,7}".prop_map(String::from)), opt("[a-z.]{1,7}".prop_map(String::from))), 0..3)))),
        has_spec in any::<bool>(),
    ) -> Service {
        let spec = has_spec.then(|| ServiceSpec {
            type_, cluster_ip, external_ips, selector, publish_not_ready_addresses: pnr,
            external_name: Some("x.example.org".into()), external_traffic_policy: Some("Local".into()),
            ports: ports.map(|ps| ps.into_iter().map(|(name, port, node_port, protocol)|
                ServicePort { name, port, node_port, protocol, ..ServicePort::default() }).collect()),
            ..ServiceSpec::default()
        });
        let status = status.map(|lb| ServiceStatus {
            load_balancer: lb.map(|ingress| LoadBalancerStatus {
                ingress: ingress.map(|i| i.into_iter().map(|(ip, hostname)|
                    LoadBalancerIngress { ip, hostname, ..LoadBalancerIngress::default() }).collect()),
            }),
            conditions: None,
        });
        let metadata = ObjectMeta { name, uid, labels, namespace: Some("ns".into()), ..ObjectMeta::default() };
        Service { metadata, spec, status }
    }
}

proptest! {
    /// Storing is exact, and two Services are stored alike only if they are alike.
    #[test]
    fn storing_keeps_every_stripped_service(a in any_service(), b in any_service()) {
        prop_assert_eq!(&round_trip(&a), &a);
        prop_assert_eq!(StoredService::store(a.clone()) == StoredService::store(b.clone()), a == b);
    }
}
