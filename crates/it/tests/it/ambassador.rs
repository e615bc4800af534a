//! The `ambassador-host` source on a real apiserver with Emissary-ingress's published Host CRD
//! (github.com/emissary-ingress/emissary/v3 v3.10.0): the same records as upstream ExternalDNS
//! v0.22.0 for every Host shape, under the shipped ClusterRole; a change to the Service in front
//! of Emissary re-plans the Hosts behind it.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, Difference, apply_in_namespaces};

/// Services in front of Emissary: a load balancer with an IP and a host name; external IPs
/// beside a load balancer (external IPs win); an IPv6 load balancer; one without an address yet.
/// Hosts: `namespace/name` with a TTL; `name.namespace`; `name` (in `default`); a target override
/// naming a missing Service; no Service annotation (skipped, even with a target); a Service
/// without an address; a missing Service; a set identifier with a provider-specific property; a
/// `hostname` annotation (not read); a wildcard host name in another namespace with a label;
/// another controller; no `spec.hostname`.
const HOSTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: emissary, namespace: emissary}
spec: {type: LoadBalancer, selector: {app: emissary}, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1, hostname: lb.example.net}, {ip: 192.0.2.2}]}}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: default}
spec: {type: LoadBalancer, selector: {app: edge}, externalIPs: [198.51.100.1], ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}
---
apiVersion: v1
kind: Service
metadata: {name: six, namespace: emissary}
spec: {type: LoadBalancer, selector: {app: six}, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: "2001:db8::1"}]}}
---
apiVersion: v1
kind: Service
metadata: {name: pending, namespace: emissary}
spec: {type: LoadBalancer, selector: {app: pending}, ports: [{port: 80}]}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: ttl, namespace: web, annotations: {external-dns.ambassador-service: emissary/emissary, external-dns.kubernetes.io/ttl: "60"}}
spec: {hostname: ttl.example.org, tlsSecret: {name: ttl-cert}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: dotted, namespace: web, annotations: {external-dns.ambassador-service: six.emissary}}
spec: {hostname: six.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: plain, namespace: web, annotations: {external-dns.ambassador-service: edge}}
spec: {hostname: plain.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: pinned
  namespace: web
  annotations: {external-dns.ambassador-service: nowhere/missing, external-dns.kubernetes.io/target: "fixed.example.net., 203.0.113.9"}
spec: {hostname: pinned.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: unannotated, namespace: web, annotations: {external-dns.kubernetes.io/target: 192.0.2.7}}
spec: {hostname: skipped.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: waiting, namespace: web, annotations: {external-dns.ambassador-service: emissary/pending}}
spec: {hostname: waiting.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: lost, namespace: web, annotations: {external-dns.ambassador-service: emissary/gone}}
spec: {hostname: lost.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: routed
  namespace: shop
  annotations:
    external-dns.ambassador-service: emissary/emissary
    external-dns.kubernetes.io/set-identifier: blue
    external-dns.kubernetes.io/webhook-weight: "10"
    external-dns.kubernetes.io/hostname: ignored.example.org
spec: {hostname: routed.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: wild, namespace: shop, labels: {app: none}, annotations: {external-dns.ambassador-service: emissary/emissary}}
spec: {hostname: "*.wild.example.org"}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: not-ours, namespace: shop, annotations: {external-dns.ambassador-service: emissary/emissary, external-dns.kubernetes.io/controller: someone-else}}
spec: {hostname: not-ours.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: nameless, namespace: shop, annotations: {external-dns.ambassador-service: emissary/emissary}}
spec: {acmeProvider: {authority: none}}
"#;

/// Upstream's ambassador-host source does not read the `controller` annotation; exodns skips
/// another controller's objects in every source.
const NOT_OURS: Difference = Difference {
    case: "a Host of another controller",
    upstream_only: &[
        r#"a-not-ours.example.org TXT "heritage=external-dns,external-dns/owner=diff,external-dns/resource=host/shop/not-ours" {"ownedRecord":"not-ours.example.org"}"#,
        r#"not-ours.example.org A 192.0.2.1,192.0.2.2 {"owner":"diff","resource":"host/shop/not-ours"}"#,
    ],
    exodns_only: &[],
};

#[test]
fn ambassador_host_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    // Without the CRD, the source says what to install.
    differ.exodns_names_missing(
        &["--source=ambassador-host"],
        &["hosts.getambassador.io", "install Emissary-ingress's CRDs"],
    );
    kube.install_crds(&["ambassador"]).expect("Emissary's Host CRD");
    apply_in_namespaces(&kube, &["emissary", "web", "shop"], HOSTS);

    let n = differ.compare(&["--source=ambassador-host"], &[NOT_OURS]);
    assert!(n >= 12, "too few records to compare: {n}");
    differ.compare(&["--source=ambassador-host", "--namespace=web"], &[]);
    differ.compare(&["--source=ambassador-host", "--label-filter=app!=none", "--namespace=shop"], &[NOT_OURS]);
    differ.compare(&["--source=ambassador-host", "--annotation-filter=external-dns.kubernetes.io/ttl in (60)"], &[]);
    // Neither reads the hostname annotation nor a template for Hosts.
    differ.compare(
        &["--source=ambassador-host", "--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"],
        &[NOT_OURS],
    );
    differ.compare(&["--source=ambassador-host", "--default-targets=198.51.100.7", "--namespace=web"], &[]);
}
