//! The Istio sources (`istio-gateway`, `istio-virtualservice`) on a real apiserver with Istio's
//! published CRDs (istio.io/api v1.30.3): the same records as upstream ExternalDNS v0.22.0 for
//! every object shape, under the shipped ClusterRole; where upstream fails the whole sync on one
//! object, exodns reports that object and publishes the rest; and a Gateway's Service getting a
//! new address re-publishes every VirtualService name bound to it within a second (answers
//! checked with DNS queries against PowerDNS).

use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, dns_query};
use serde_json::json;

use crate::common::{kubectl, patch_status};
use crate::diff::{Differ, apply_with_status};

/// Namespaces; the ingress gateway's Services (a load balancer IP, one with a host name, one
/// with both in one entry, one with external IPs, one unrelated) and an Ingress fronting a
/// Gateway.
const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Service
metadata: {name: igw, namespace: istio-system}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, selector: {istio: ingressgateway, app: igw}, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: v1
kind: Service
metadata: {name: igw-cloud, namespace: istio-system}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, selector: {istio: ingressgateway}, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{hostname: lb.cloud.example.net}]}}
---
apiVersion: v1
kind: Service
metadata: {name: dual, namespace: infra}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, selector: {istio: dual}, ports: [{port: 443}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.60, hostname: dual.cloud.example.net}]}}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: infra}
spec: {type: ClusterIP, selector: {istio: edge}, externalIPs: [198.51.100.7], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: apps}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, selector: {app: other}, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.50}]}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front, namespace: infra}
spec: {defaultBackend: {service: {name: edge, port: {number: 80}}}}
status: {loadBalancer: {ingress: [{ip: 203.0.113.5, hostname: ignored.example.net}, {hostname: front.cloud.example.net}]}}
"#;

/// Gateway shapes: several servers with namespaced and wildcard hosts and a TTL; hostname
/// annotation with a `*` server; target annotation over an ingress annotation; ingress
/// annotation; no matching Service; another controller; TLS servers behind a load balancer
/// entry with an IP and a host name; set identifier and a provider-specific property.
const GATEWAYS: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: infra, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.org, "apps/b.example.org", "./c.example.org"]
  - port: {number: 8080, name: http-wild, protocol: HTTP}
    hosts: ["*.wild.example.org"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: edge
  namespace: infra
  annotations: {external-dns.kubernetes.io/hostname: "edge.example.org, edge2.example.org"}
spec:
  selector: {istio: edge}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: fixed
  namespace: infra
  annotations: {external-dns.kubernetes.io/target: "fixed.example.net.", external-dns.kubernetes.io/ingress: front}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [fixed.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: fronted, namespace: infra, annotations: {external-dns.kubernetes.io/ingress: infra/front}}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [fronted.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: nowhere, namespace: infra}
spec:
  selector: {istio: none}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [nowhere.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other-controller, namespace: infra, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [skipped.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tls, namespace: infra}
spec:
  selector: {istio: dual}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: secure-cert}
    hosts: [secure.example.org, "*/secure2.example.org"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: routed
  namespace: infra
  annotations: {external-dns.kubernetes.io/set-identifier: blue, external-dns.kubernetes.io/webhook-weight: "10"}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [routed.example.org]}]
"#;

/// VirtualService shapes: a wildcard Gateway host; a Gateway of its own namespace by short name
/// plus a cross-namespace one plus a missing one; exported only to its own namespace; its own
/// target and hostname annotations; hosts no Gateway serves and the mesh; a host the Gateway
/// admits for its namespace only; TTL and set identifier; a Gateway behind an Ingress; a TLS
/// Gateway; another controller.
const VIRTUAL_SERVICES: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: apps}
spec: {hosts: [x.wild.example.org], gateways: [infra/public]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: two, namespace: infra}
spec: {hosts: [c.example.org], gateways: [public, infra/edge, missing]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: apps}
spec: {hosts: [a.example.org], gateways: [infra/public], exportTo: ["."]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: pinned
  namespace: apps
  annotations: {external-dns.kubernetes.io/target: 203.0.113.9, external-dns.kubernetes.io/hostname: extra.example.org}
spec: {hosts: [pinned.example.org], gateways: [infra/nowhere]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: apps}
spec: {hosts: [web.example.org, "apps/api.example.org", "*"], gateways: [infra/public, mesh]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cross, namespace: apps}
spec: {hosts: [b.example.org, a.example.org], gateways: [infra/public]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other-ns, namespace: istio-system}
spec: {hosts: [b.example.org], gateways: [infra/public]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: timed
  namespace: apps
  annotations: {external-dns.kubernetes.io/ttl: 5m, external-dns.kubernetes.io/set-identifier: green}
spec: {hosts: [timed.wild.example.org], gateways: [infra/public]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: fronted, namespace: infra}
spec: {hosts: [fronted.example.org], gateways: [fronted]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure, namespace: apps}
spec: {hosts: [secure2.example.org, secure.example.org], gateways: [infra/tls]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: not-ours, namespace: apps, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec: {hosts: [x2.wild.example.org], gateways: [infra/public]}
"#;

/// Objects upstream fails the whole sync on: an Ingress annotation naming no Ingress, and a
/// gateway reference with too many slashes.
const BROKEN: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: broken}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: lost, namespace: broken, annotations: {external-dns.kubernetes.io/ingress: gone}}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [lost.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad-ref, namespace: broken}
spec: {hosts: [x3.wild.example.org], gateways: ["x/y/z", infra/public]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_sources_match_upstream_and_follow_their_gateways() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    kube.install_crds(&["istio"]).expect("Istio CRDs");
    for yaml in [CLUSTER, GATEWAYS, VIRTUAL_SERVICES] {
        apply_with_status(&kube, yaml);
    }

    let gw = differ.compare(&["--source=istio-gateway"], &[]);
    let vs = differ.compare(&["--source=istio-virtualservice"], &[]);
    assert!(gw >= 20 && vs >= 16, "too few records to compare: {gw} gateway, {vs} virtualservice");
    // Lookups limited by --namespace (the Services of istio-system are out of reach), and names
    // from --fqdn-template for objects that have none of their own.
    differ.compare(&["--source=istio-gateway", "--source=istio-virtualservice", "--namespace=infra"], &[]);
    differ.compare(&["--source=istio-virtualservice", "--fqdn-template={{.Name}}.tpl.example.org"], &[]);
    differ.compare(
        &["--source=istio-gateway", "--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"],
        &[],
    );

    upstream_fails_where_exodns_reports_one_object(&kube, &differ);
    gateway_service_address_republishes_bound_names(&kube).await;
}

/// A Gateway whose `ingress` annotation names no Ingress, and a VirtualService with a malformed
/// gateway reference: upstream v0.22.0 fails the whole sync (and exits); exodns reports each
/// object and field and plans every other record as before.
fn upstream_fails_where_exodns_reports_one_object(kube: &KubeApiserver, differ: &Differ) {
    let flags = ["--source=istio-gateway", "--source=istio-virtualservice"];
    // exodns before and after (two sources may want one name, and upstream breaks such ties by
    // source order where exodns uses a total order: compared with itself, not with upstream).
    differ.upstream(&flags).expect("upstream before the broken objects");
    let (before, _) = differ.exodns(&flags);
    apply_with_status(kube, BROKEN);
    let log = differ.upstream(&flags).expect_err("upstream v0.22.0 fails the whole sync on one bad object");
    assert!(log.contains("gone") || log.contains("x/y/z"), "{log}");
    let (after, log) = differ.exodns(&flags);
    // The VirtualService still binds through its good reference.
    let extra: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    assert!(extra.iter().all(|r| r.contains("x3.wild.example.org") || r.contains("bad-ref")), "{extra:#?}");
    assert!(!extra.is_empty(), "the VirtualService's good gateway reference was not used: {after:#?}\n{log}");
    assert!(before.iter().all(|r| after.contains(r)), "exodns lost records because of one bad object");
    assert!(log.contains("gateway/broken/lost") && log.contains("Ingress broken/gone not found"), "{log}");
    assert!(log.contains("virtualservice/broken/bad-ref") && log.contains("spec.gateways[0]"), "{log}");
    kubectl(kube, &["delete", "namespace", "broken", "--wait=false"]);
    kubectl(
        kube,
        &["-n", "broken", "delete", "gateways.networking.istio.io,virtualservices.networking.istio.io", "--all"],
    );
}

/// exodns watching VirtualServices into PowerDNS: the Service of the `public` Gateway gets a new
/// load balancer address; every name bound to that Gateway answers it within a second.
async fn gateway_service_address_republishes_bound_names(kube: &KubeApiserver) {
    let Some(bin) = exodns_testbed::exodns_bin() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone("example.org").await.expect("zone");
    let mut cmd = Command::new(&bin);
    cmd.args(["--source=istio-virtualservice", "--provider=pdns", "--policy=sync", "--txt-owner-id=istio"])
        .args(["--domain-filter=example.org", "--metrics-address=127.0.0.1:0", "--kube-api-qps=50"])
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key());
    let x = Proc::spawn("exodns", &mut cmd);
    // Bound to infra/public, whose targets are igw (an IP) and igw-cloud (a host name); c is
    // bound to infra/edge as well. (timed.wild.example.org has a set identifier: PowerDNS has no
    // routing policies, so it is reported and not published; see it/failover.rs.)
    let bound: [(&str, &[&str], &[&str]); 4] = [
        ("x.wild.example.org", &["192.0.2.1"], &["192.0.2.2"]),
        ("b.example.org", &["192.0.2.1"], &["192.0.2.2"]),
        ("a.example.org", &["192.0.2.1"], &["192.0.2.2"]),
        ("c.example.org", &["192.0.2.1", "198.51.100.7"], &["192.0.2.2", "198.51.100.7"]),
    ];
    for (name, before, _) in bound {
        pdns.wait_for_answers(name, "A", before, Duration::from_secs(60), || x.log()).await;
    }
    let pinned = || pdns.answers("pinned.example.org", "A");
    assert_eq!(pinned().await, ["203.0.113.9"]);

    patch_status(
        kube,
        "istio-system",
        "service",
        "igw",
        json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.2"}]}}}),
    );
    let changed = Instant::now();
    let limit = Duration::from_secs(1);
    let mut pending: Vec<(&str, &[&str])> = bound.iter().map(|(n, _, after)| (*n, *after)).collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for (name, want) in pending {
            let mut a = dns_query(pdns.dns_addr(), pdns.dns_port(), name, "A").await.unwrap_or_default();
            a.sort();
            if a != want {
                still.push((name, want));
            }
        }
        pending = still;
        assert!(
            pending.is_empty() || changed.elapsed() < limit,
            "after {:?}, still not re-published: {pending:?}\n{}",
            changed.elapsed(),
            x.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("all {} bound names answered the new address {:?} after the change", bound.len(), changed.elapsed());
    // A name not bound to that Gateway is left alone.
    assert_eq!(pinned().await, ["203.0.113.9"]);
    drop(x);
}
