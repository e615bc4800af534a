//! The `f5-virtualserver` and `f5-transportserver` sources on a real apiserver with F5 CIS's
//! published CRDs (github.com/F5Networks/k8s-bigip-ctlr/v2 v2.20.2): the same records as
//! upstream ExternalDNS v0.22.0 for every object shape, under the shipped ClusterRole.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, Difference, apply_in_namespaces};

/// VirtualServers: an address with a TTL; host aliases; an address only in the status (IPAM);
/// `status.vsAddress: None`; no status yet; a target override; set identifier, provider-specific
/// and hostname annotations (none read); another controller; IPv6; a wildcard host in another
/// namespace with a label; no host. TransportServers: an address; one with a target override in
/// another namespace; one not yet given an address.
const OBJECTS: &str = r#"
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: ttl, namespace: web, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec: {host: ttl.example.org, virtualServerAddress: 192.0.2.1, pools: [{path: /, service: web, servicePort: 80}]}
status: {vsAddress: 192.0.2.1, status: Ok}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: aliases, namespace: web}
spec: {host: main.example.org, hostAliases: [alias1.example.org, alias2.example.org], virtualServerAddress: 192.0.2.2}
status: {vsAddress: 192.0.2.2}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: ipam, namespace: web}
spec: {host: ipam.example.org, ipamLabel: prod}
status: {vsAddress: 192.0.2.3}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: refused, namespace: web}
spec: {host: refused.example.org, virtualServerAddress: 192.0.2.4}
status: {vsAddress: None, status: Failed}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: fresh, namespace: web}
spec: {host: fresh.example.org, virtualServerAddress: 192.0.2.5}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: pinned, namespace: web, annotations: {external-dns.kubernetes.io/target: "fixed.example.net., 203.0.113.9"}}
spec: {host: pinned.example.org, virtualServerAddress: 192.0.2.6}
status: {vsAddress: 192.0.2.6}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata:
  name: routed
  namespace: web
  annotations:
    external-dns.kubernetes.io/set-identifier: blue
    external-dns.kubernetes.io/webhook-weight: "10"
    external-dns.kubernetes.io/hostname: ignored.example.org
spec: {host: routed.example.org, virtualServerAddress: 192.0.2.7}
status: {vsAddress: 192.0.2.7}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: not-ours, namespace: web, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec: {host: not-ours.example.org, virtualServerAddress: 192.0.2.8}
status: {vsAddress: 192.0.2.8}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: six, namespace: shop}
spec: {host: six.example.org, virtualServerAddress: "2001:db8::1"}
status: {vsAddress: "2001:db8::1"}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: wild, namespace: shop, labels: {app: none}}
spec: {host: "*.wild.example.org", virtualServerAddress: 192.0.2.9}
status: {vsAddress: 192.0.2.9}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: hostless, namespace: shop}
spec: {virtualServerAddress: 192.0.2.10}
status: {vsAddress: 192.0.2.10}
---
apiVersion: cis.f5.com/v1
kind: TransportServer
metadata: {name: db, namespace: web, annotations: {external-dns.kubernetes.io/ttl: "120"}}
spec: {host: db.example.org, virtualServerAddress: 192.0.2.20, virtualServerPort: 5432, mode: standard, pool: {service: db, servicePort: 5432}}
status: {vsAddress: 192.0.2.20}
---
apiVersion: cis.f5.com/v1
kind: TransportServer
metadata: {name: mq, namespace: shop, annotations: {external-dns.kubernetes.io/target: mq.lb.example.net}}
spec: {host: mq.example.org, virtualServerAddress: 192.0.2.21, virtualServerPort: 5672, mode: performance, pool: {service: mq, servicePort: 5672}}
status: {vsAddress: 192.0.2.21}
---
apiVersion: cis.f5.com/v1
kind: TransportServer
metadata: {name: waiting, namespace: shop}
spec: {host: waiting.example.org, virtualServerAddress: 192.0.2.22, virtualServerPort: 53, mode: standard, type: udp, pool: {service: dns, servicePort: 53}}
"#;

/// Upstream publishes a VirtualServer without `spec.host` under the empty name (its ownership
/// TXT is `a-`); exodns has no name to publish.
const HOSTLESS: Difference = Difference {
    case: "a VirtualServer without spec.host",
    upstream_only: &[
        r#" A 192.0.2.10 {"owner":"diff","resource":"f5-virtualserver/shop/hostless"}"#,
        r#"a- TXT "heritage=external-dns,external-dns/owner=diff,external-dns/resource=f5-virtualserver/shop/hostless" {"ownedRecord":""}"#,
    ],
    exodns_only: &[],
};

#[test]
fn f5_sources_match_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    differ.exodns_names_missing(
        &["--source=f5-transportserver"],
        &["transportservers.cis.f5.com", "install F5 CIS's CRDs"],
    );
    kube.install_crds(&["f5"]).expect("F5 CIS CRDs");
    apply_in_namespaces(&kube, &["web", "shop"], OBJECTS);

    let n = differ.compare(&["--source=f5-virtualserver"], &[HOSTLESS]);
    assert!(n >= 16, "too few records to compare: {n}");
    let n = differ.compare(&["--source=f5-transportserver"], &[]);
    assert!(n >= 4, "too few records to compare: {n}");
    for (source, hostless) in [("--source=f5-virtualserver", &[HOSTLESS][..]), ("--source=f5-transportserver", &[])] {
        differ.compare(&[source, "--namespace=shop"], hostless);
        differ.compare(&[source, "--label-filter=app!=none", "--default-targets=198.51.100.1"], hostless);
        differ.compare(&[source, "--annotation-filter=external-dns.kubernetes.io/ttl"], &[]);
        // A template alone gives no targets (they would come from --target-template).
        differ.compare(&[source, "--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"], hostless);
    }
}
