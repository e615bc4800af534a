//! The `traefik-proxy` source on a real apiserver with Traefik's published CRDs (traefik.io from
//! github.com/traefik/traefik/v3 v3.7.13, traefik.containo.us from github.com/traefik/traefik/v2
//! v2.11.30): the same records as upstream ExternalDNS v0.22.0 for every object shape and both
//! groups' flags, under the shipped ClusterRole.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, Difference, apply_in_namespaces};

/// IngressRoutes: one host with a TTL; several hosts in several routes (`||`, v2's
/// `Host(a, b)`) with a host name target; `HostHeader` with spaces and a mixed target list; the
/// hostname annotation beside a rule with an IPv6 target; no target (nothing to publish); a
/// wildcard host with `*` and `HostRegexp` beside it; another controller; a set identifier with a
/// provider-specific property; a label the filter leaves out. An IngressRouteTCP (`HostSNI`, and
/// `HostSNI(*)`), an IngressRouteUDP (annotation only) in another namespace. The legacy group: an
/// IngressRoute of the same namespace and name as one of the new group, an IngressRouteTCP and an
/// IngressRouteUDP.
const ROUTES: &str = r#"
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: ip, namespace: web, annotations: {external-dns.kubernetes.io/target: 192.0.2.1, external-dns.kubernetes.io/ttl: "60"}}
spec: {routes: [{match: "Host(`ip.example.org`)", kind: Rule, services: [{name: web, port: 80}]}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: multi, namespace: web, annotations: {external-dns.kubernetes.io/target: lb.example.net}}
spec:
  routes:
  - {match: "(Host(`a.example.org`) || Host(`b.example.org`)) && PathPrefix(`/api`)", kind: Rule}
  - {match: "Host(`c.example.org`, `d.example.org`)", kind: Rule}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: header, namespace: web, annotations: {external-dns.kubernetes.io/target: "fixed.example.net., 203.0.113.9"}}
spec: {routes: [{match: "HostHeader( `hh.example.org` ) && Method(`GET`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: anno
  namespace: web
  annotations: {external-dns.kubernetes.io/hostname: "extra.example.org, extra2.example.org", external-dns.kubernetes.io/target: "2001:db8::1"}
spec: {routes: [{match: "Host(`rule.example.org`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: none, namespace: web}
spec: {routes: [{match: "Host(`none.example.org`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: wild, namespace: shop, annotations: {external-dns.kubernetes.io/target: 192.0.2.3}}
spec:
  routes:
  - {match: "Host(`*.wild.example.org`)", kind: Rule}
  - {match: "Host(`*`)", kind: Rule}
  - {match: "HostRegexp(`^.+\\.re\\.example\\.org$`)", kind: Rule}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: not-ours, namespace: shop, annotations: {external-dns.kubernetes.io/controller: someone-else, external-dns.kubernetes.io/target: 192.0.2.3}}
spec: {routes: [{match: "Host(`skipped.example.org`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: routed
  namespace: shop
  labels: {app: none}
  annotations: {external-dns.kubernetes.io/set-identifier: blue, external-dns.kubernetes.io/webhook-weight: "10", external-dns.kubernetes.io/target: 192.0.2.4}
spec: {routes: [{match: "Host(`routed.example.org`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {name: db, namespace: shop, annotations: {external-dns.kubernetes.io/target: 192.0.2.5}}
spec:
  routes:
  - {match: "HostSNI(`db.example.org`)", services: [{name: db, port: 5432}]}
  - {match: "HostSNI(`*`)", services: [{name: db, port: 5432}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteUDP
metadata: {name: dns, namespace: shop, annotations: {external-dns.kubernetes.io/hostname: udp.example.org, external-dns.kubernetes.io/target: 192.0.2.6}}
spec: {routes: [{services: [{name: dns, port: 53}]}]}
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata: {name: ip, namespace: web, annotations: {external-dns.kubernetes.io/target: 192.0.2.9, external-dns.kubernetes.io/ttl: "60"}}
spec: {routes: [{match: "Host(`ip.example.org`) || Host(`old.example.org`)", kind: Rule, services: [{name: web, port: 80}]}]}
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRouteTCP
metadata: {name: old-db, namespace: shop, annotations: {external-dns.kubernetes.io/target: old-lb.example.net}}
spec: {routes: [{match: "HostSNI(`old-db.example.org`)", services: [{name: db, port: 5432}]}]}
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRouteUDP
metadata: {name: old-dns, namespace: web, annotations: {external-dns.kubernetes.io/hostname: old-udp.example.org, external-dns.kubernetes.io/target: 192.0.2.10}}
spec: {routes: [{services: [{name: dns, port: 53}]}]}
"#;

#[test]
fn traefik_proxy_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    kube.install_crds(&["traefik", "traefik-legacy"]).expect("Traefik CRDs");
    apply_in_namespaces(&kube, &["web", "shop"], ROUTES);

    let n = differ.compare(&["--source=traefik-proxy"], &[]);
    assert!(n >= 24, "too few records to compare: {n}");
    differ.compare(&["--source=traefik-proxy", "--namespace=shop"], &[]);
    let with_legacy = differ.compare(&["--source=traefik-proxy", "--traefik-enable-legacy"], &[]);
    assert_eq!(with_legacy, n + 6, "the legacy group adds three records and their TXT records");
    differ.compare(&["--source=traefik-proxy", "--traefik-enable-legacy", "--traefik-disable-new"], &[]);
    // Upstream requires a template with --ignore-hostname-annotation; alone, a template gives
    // no targets (they would come from --target-template).
    differ.compare(
        &["--source=traefik-proxy", "--ignore-hostname-annotation", "--fqdn-template={{.Name}}.ign.example.org"],
        &[],
    );
    differ.compare(
        &["--source=traefik-proxy", "--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"],
        &[],
    );
    differ.compare(&["--source=traefik-proxy", "--label-filter=app!=none", "--default-targets=198.51.100.1"], &[]);
    // Upstream's template pairs carry no `resource` label; exodns's name their object.
    let unlabelled = Difference {
        case: "--fqdn-target-template records name their object",
        upstream_only: &[
            r#"a-none.pair.example.org TXT "heritage=external-dns,external-dns/owner=diff" {"ownedRecord":"none.pair.example.org"}"#,
            r#"none.pair.example.org A 198.51.100.7 {"owner":"diff"}"#,
        ],
        exodns_only: &[
            r#"a-none.pair.example.org TXT "heritage=external-dns,external-dns/owner=diff,external-dns/resource=ingressroute/web/none" {"ownedRecord":"none.pair.example.org"}"#,
            r#"none.pair.example.org A 198.51.100.7 {"owner":"diff","resource":"ingressroute/web/none"}"#,
        ],
    };
    differ.compare(
        &["--source=traefik-proxy", "--fqdn-target-template={{.Name}}.pair.example.org:198.51.100.7"],
        &[unlabelled],
    );
    differ.compare(
        &[
            "--source=traefik-proxy",
            "--annotation-filter=external-dns.kubernetes.io/ttl in (60)",
            "--traefik-enable-legacy",
        ],
        &[],
    );
}

/// Without Traefik's CRDs the source says what to install; with only the new group's, the
/// legacy kinds (`--traefik-enable-legacy`) say so alone.
#[test]
fn traefik_proxy_without_its_crds_names_them() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    differ.exodns_names_missing(&["--source=traefik-proxy"], &["ingressroutes.traefik.io", "install Traefik's CRDs"]);
    kube.install_crds(&["traefik"]).expect("Traefik CRDs");
    let log = differ.exodns_failure(&["--source=traefik-proxy", "--traefik-enable-legacy"]);
    assert!(log.contains("ingressroutes.traefik.containo.us") && !log.contains("ingressroutes.traefik.io"), "{log}");
}
