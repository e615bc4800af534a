//! The `contour-httpproxy` source on a real apiserver with Contour's published CRDs
//! (github.com/projectcontour/contour v1.33.6): the same records as upstream ExternalDNS v0.22.0
//! for every HTTPProxy shape, under the shipped ClusterRole.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, apply_in_namespaces};

/// HTTPProxy shapes: a load balancer IP with a TTL; a load balancer host name; an entry with
/// both an IP and a host name plus an IPv6 entry; hostname annotation with a target override; an
/// included proxy (no virtual host); no address yet; TLS; a wildcard name; another controller;
/// set identifier with a provider-specific property; another namespace.
const PROXIES: &str = r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: ip, namespace: web, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec: {virtualhost: {fqdn: ip.example.org}, routes: [{services: [{name: web, port: 80}]}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: cloud, namespace: web}
spec: {virtualhost: {fqdn: cloud.example.org}}
status: {loadBalancer: {ingress: [{hostname: lb.cloud.example.net}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: dual, namespace: web}
spec: {virtualhost: {fqdn: dual.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.2, hostname: dual.cloud.example.net}, {ip: "2001:db8::2"}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: pinned
  namespace: web
  annotations:
    external-dns.kubernetes.io/hostname: "extra.example.org, extra2.example.org"
    external-dns.kubernetes.io/target: "fixed.example.net., 203.0.113.9"
spec: {virtualhost: {fqdn: pinned.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: included, namespace: web}
spec: {routes: [{services: [{name: web, port: 80}]}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: pending, namespace: web, annotations: {external-dns.kubernetes.io/hostname: pending2.example.org}}
spec: {virtualhost: {fqdn: pending.example.org}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: secure, namespace: shop}
spec: {virtualhost: {fqdn: secure.example.org, tls: {secretName: secure-cert}}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: wild, namespace: shop}
spec: {virtualhost: {fqdn: "*.wild.example.org"}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: not-ours, namespace: shop, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec: {virtualhost: {fqdn: skipped.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: routed
  namespace: shop
  annotations: {external-dns.kubernetes.io/set-identifier: blue, external-dns.kubernetes.io/webhook-weight: "10"}
spec: {virtualhost: {fqdn: routed.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.4}]}}
"#;

#[test]
fn contour_httpproxy_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    kube.install_crds(&["contour"]).expect("Contour CRDs");
    apply_in_namespaces(&kube, &["web", "shop"], PROXIES);

    let n = differ.compare(&["--source=contour-httpproxy"], &[]);
    assert!(n >= 20, "too few records to compare: {n}");
    differ.compare(&["--source=contour-httpproxy", "--namespace=shop"], &[]);
    // Upstream requires a template with --ignore-hostname-annotation.
    differ.compare(
        &["--source=contour-httpproxy", "--ignore-hostname-annotation", "--fqdn-template={{.Name}}.ign.example.org"],
        &[],
    );
    // Names from the template for the proxies without one; for all with the combine flag.
    differ.compare(&["--source=contour-httpproxy", "--fqdn-template={{.Name}}.{{.Namespace}}.tpl.example.org"], &[]);
    differ.compare(
        &["--source=contour-httpproxy", "--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"],
        &[],
    );
    differ.compare(&["--source=contour-httpproxy", "--label-filter=app!=none", "--default-targets=198.51.100.1"], &[]);
}
