//! Upstream's source wrappers and annotation prefixes against the real upstream v0.22.0 on one
//! apiserver (through [`crate::diff`]): PTR records (`--create-ptr`, the `record-type`
//! annotation), `--nat64-networks`, `--fqdn-target-template`, and the legacy
//! `external-dns.alpha.kubernetes.io/` annotations read and not read — the same records,
//! ownership TXT values included.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, Difference, apply_with_status};

const OBJECTS: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: wrap}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: wrap
  annotations: {external-dns.kubernetes.io/hostname: 'web.example.org,www.example.org', external-dns.kubernetes.io/ttl: "120"}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.10}, {ip: '64:ff9b::c000:20b'}, {ip: '2001:db8::a'}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: wrap
  annotations: {external-dns.kubernetes.io/hostname: api.example.org, external-dns.kubernetes.io/record-type: ptr}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.11}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: opt-out
  namespace: wrap
  annotations: {external-dns.kubernetes.io/hostname: opt-out.example.org, external-dns.kubernetes.io/record-type: none}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.12}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: tpl
  namespace: wrap
  annotations: {ip: 192.0.2.30, ip6: '2001:db8::30'}
spec: {type: ClusterIP, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: old
  namespace: legacy
  labels: {legacy-only: "yes"}
  annotations: {external-dns.alpha.kubernetes.io/hostname: old.example.org, external-dns.alpha.kubernetes.io/ttl: "60"}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.40}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: both
  namespace: legacy
  annotations: {external-dns.alpha.kubernetes.io/hostname: alpha-both.example.org, external-dns.kubernetes.io/hostname: new-both.example.org}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.41}]}}
"#;

/// PTR managed (one type per flag: upstream's parser takes no commas here).
const PTR: [&str; 4] = [
    "--managed-record-types=A",
    "--managed-record-types=AAAA",
    "--managed-record-types=CNAME",
    "--managed-record-types=PTR",
];

#[test]
fn wrappers_and_legacy_annotations_match_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    apply_with_status(&kube, OBJECTS);
    let svc = "--source=service";

    // Upstream v0.22 never reads the alpha prefix: exodns with it turned off.
    let legacy_off = "--enable-legacy-annotation-prefix=false";
    let n = differ.compare_sides(&[svc], &[], &[legacy_off], &[]);
    assert!(n >= 12, "too few records to compare: {n}");
    // PTR records for every A/AAAA (but the object that opts out), and only where asked.
    let with_ptr = |more: &[&'static str]| -> Vec<&'static str> { [&[svc][..], &PTR, more].concat() };
    let n = differ.compare_sides(&with_ptr(&["--create-ptr"]), &[], &[legacy_off], &[]);
    assert!(n >= 20, "too few records with PTR: {n}");
    differ.compare_sides(&with_ptr(&[]), &[], &[legacy_off], &[]);
    // NAT64: an A record beside the AAAA in the prefix; its PTR too.
    differ.compare_sides(&[svc, "--nat64-networks=64:ff9b::/96"], &[], &[legacy_off], &[]);
    differ.compare_sides(&with_ptr(&["--nat64-networks=64:ff9b::/96", "--create-ptr"]), &[], &[legacy_off], &[]);
    // Host:target pairs from a template, for the Service without a host name of its own.
    let template = r#"--fqdn-target-template={{.Name}}.{{.Namespace}}.example.org:{{index .Annotations "ip"}},{{.Name}}.{{.Namespace}}.example.org:{{index .Annotations "ip6"}}"#;
    // Same records; upstream's template records carry no `resource` (exodns's name their Service,
    // as its other records do; docs/operations.md).
    let unlabelled = Difference {
        case: "--fqdn-target-template records name their object",
        upstream_only: &[
            "a-tpl.wrap.example.org TXT \"heritage=external-dns,external-dns/owner=diff\" {\"ownedRecord\":\"tpl.wrap.example.org\"}",
            "aaaa-tpl.wrap.example.org TXT \"heritage=external-dns,external-dns/owner=diff\" {\"ownedRecord\":\"tpl.wrap.example.org\"}",
            "tpl.wrap.example.org A 192.0.2.30 {\"owner\":\"diff\"}",
            "tpl.wrap.example.org AAAA 2001:db8::30 {\"owner\":\"diff\"}",
        ],
        exodns_only: &[
            "a-tpl.wrap.example.org TXT \"heritage=external-dns,external-dns/owner=diff,external-dns/resource=service/wrap/tpl\" {\"ownedRecord\":\"tpl.wrap.example.org\"}",
            "aaaa-tpl.wrap.example.org TXT \"heritage=external-dns,external-dns/owner=diff,external-dns/resource=service/wrap/tpl\" {\"ownedRecord\":\"tpl.wrap.example.org\"}",
            "tpl.wrap.example.org A 192.0.2.30 {\"owner\":\"diff\",\"resource\":\"service/wrap/tpl\"}",
            "tpl.wrap.example.org AAAA 2001:db8::30 {\"owner\":\"diff\",\"resource\":\"service/wrap/tpl\"}",
        ],
    };
    differ.compare_sides(&[svc, template, "--namespace=wrap"], &[], &[legacy_off], &[unlabelled]);

    // The alpha keys read (as v0.21 and older did, with them as the prefix): the same records
    // for objects that carry only those keys.
    let alpha = "--annotation-prefix=external-dns.alpha.kubernetes.io/";
    let only_alpha = "--label-filter=legacy-only=yes";
    let n = differ.compare_sides(&[svc, only_alpha], &[alpha], &[], &[]);
    assert_eq!(n, 2, "old.example.org and its TXT");
    differ.compare(&[svc, only_alpha, alpha], &[]);
}

const LISTENER_SETS: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: lsinfra}
---
apiVersion: v1
kind: Namespace
metadata: {name: lsteam}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: lsinfra}
spec:
  gatewayClassName: example
  allowedListeners: {namespaces: {from: All}}
  listeners:
  - {name: http, protocol: HTTP, port: 80, hostname: "*.infra.example.org", allowedRoutes: {namespaces: {from: All}}}
status:
  addresses: [{type: IPAddress, value: 192.0.2.50}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: team, namespace: lsteam}
spec:
  parentRef: {name: gw, namespace: lsinfra}
  listeners:
  - {name: shop, protocol: HTTP, port: 80, hostname: "*.shop.example.org"}
  - {name: pending, protocol: HTTP, port: 80, hostname: "*.pending.example.org"}
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}
  listeners:
  - name: shop
    attachedRoutes: 1
    supportedKinds: [{kind: HTTPRoute}]
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  - name: pending
    attachedRoutes: 0
    supportedKinds: [{kind: HTTPRoute}]
    conditions: [{type: Accepted, status: "False", reason: Pending, message: wait, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: lsteam}
spec:
  parentRefs: [{kind: ListenerSet, name: team}]
  hostnames: [www.shop.example.org, www.pending.example.org]
status:
  parents:
  - parentRef: {kind: ListenerSet, name: team}
    controllerName: example.net/gateway
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: direct, namespace: lsteam}
spec:
  parentRefs: [{name: gw, namespace: lsinfra}]
  hostnames: [direct.infra.example.org]
status:
  parents:
  - parentRef: {name: gw, namespace: lsinfra}
    controllerName: example.net/gateway
    conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
"#;

/// `--gateway-listener-sets`: routes attached to a ListenerSet, with and without the flag.
#[test]
fn listener_sets_match_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    kube.install_crds(&["gateway"]).expect("Gateway API CRDs");
    apply_with_status(&kube, LISTENER_SETS);
    let route = "--source=gateway-httproute";
    let with = differ.compare(&[route, "--gateway-listener-sets"], &[]);
    let without = differ.compare(&[route], &[]);
    assert!(with > without && without >= 2, "with {with}, without {without} records");
    differ.compare(&[route, "--gateway-listener-sets", "--gateway-name=gw"], &[]);
}
