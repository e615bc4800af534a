//! What several test modules share: kubectl calls that panic on failure, and the objects the
//! tests create (LoadBalancer Services, an Ingress and Gateway API routes, the shipped RBAC) with
//! the statuses the missing controllers would set.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use exodns_testbed::kube::KubeApiserver;
use serde_json::{Value, json};

/// The CRD sets (`apiserver.sh crds`) of every custom resource a cluster source reads: with
/// them, every source of `exodns_kube::rbac::cluster_sources` can sync.
pub const CLUSTER_SOURCE_CRDS: &[&str] = &[
    "gateway",
    "dnsendpoint",
    "istio",
    "contour",
    "traefik",
    "traefik-legacy",
    "failover",
    "ambassador",
    "f5",
    "openshift",
];

/// `kubectl ARGS`; its stdout. Panics when it fails.
pub fn kubectl(kube: &KubeApiserver, args: &[&str]) -> String {
    kube.kubectl(args, None).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

/// `kubectl apply` of YAML (several documents allowed). Panics when it fails.
pub fn apply(kube: &KubeApiserver, yaml: &str) {
    kube.apply_yaml(yaml).unwrap_or_else(|e| panic!("kubectl apply: {e}\n{yaml}"));
}

/// Merge-patches the status of an object (`ns` empty for cluster objects). Panics when it fails.
pub fn patch_status(kube: &KubeApiserver, ns: &str, kind: &str, name: &str, patch: Value) {
    kube.patch_status(ns, kind, name, &patch.to_string())
        .unwrap_or_else(|e| panic!("status of {kind} {ns}/{name}: {e}"));
}

/// A `LoadBalancer` Service `namespace/name` for `name.example.org` (port 80, no node ports).
pub fn lb_service(namespace: &str, name: &str) -> String {
    lb_service_annotated(namespace, name, &[])
}

/// [`lb_service`] with more annotations.
pub fn lb_service_annotated(namespace: &str, name: &str, annotations: &[(&str, &str)]) -> String {
    let mut extra = String::new();
    for (k, v) in annotations {
        extra.push_str(&format!("    {k}: {v}\n"));
    }
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n{extra}    external-dns.kubernetes.io/hostname: {name}.example.org\n\
         spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
    )
}

/// The status of a Service (or Ingress) whose load balancer has `ip`.
pub fn lb_status(ip: &str) -> Value {
    json!({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}})
}

/// Creates [`lb_service`] and gives its load balancer `ip`.
pub fn publish_lb(kube: &KubeApiserver, namespace: &str, name: &str, ip: &str) {
    apply(kube, &lb_service(namespace, name));
    patch_status(kube, namespace, "service", name, lb_status(ip));
}

/// An Ingress `apps/shop` (`shop.example.org`), a Gateway `infra/gw` with an HTTP listener open to
/// every namespace and a TCP listener open to namespaces labelled `team: web`, and routes in
/// `apps`: HTTPRoute `web` (`route.example.org`), GRPCRoute `api` (`grpc.example.org`), TCPRoute
/// `db` (`tcp.example.org`). Needs the namespaces and the Gateway API CRDs; statuses:
/// [`set_route_statuses`].
pub const ROUTES: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: apps}
spec:
  rules:
  - host: shop.example.org
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: example
  listeners:
  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
  - name: tcp
    protocol: TCP
    port: 9000
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: web}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  hostnames: [route.example.org]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  hostnames: [grpc.example.org]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata:
  name: db
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: tcp.example.org}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: tcp}]
  rules: [{backendRefs: [{name: db, port: 5432}]}]
"#;

/// The statuses of [`ROUTES`]: the Ingress at 192.0.2.20, the Gateway at 192.0.2.30, every route
/// accepted by its listener.
pub fn set_route_statuses(kube: &KubeApiserver) {
    patch_status(kube, "apps", "ingress", "shop", lb_status("192.0.2.20"));
    patch_status(
        kube,
        "infra",
        "gateway",
        "gw",
        json!({"status": {"addresses": [{"type": "IPAddress", "value": "192.0.2.30"}]}}),
    );
    patch_status(kube, "apps", "httproute", "web", accepted("http"));
    patch_status(kube, "apps", "grpcroute", "api", accepted("http"));
    patch_status(kube, "apps", "tcproute", "db", accepted("tcp"));
}

/// A route status: accepted by the listener `section` of Gateway `infra/gw`.
pub fn accepted(section: &str) -> Value {
    json!({"status": {"parents": [{
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw", "namespace": "infra", "sectionName": section},
        "controllerName": "example.net/gateway",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok",
            "lastTransitionTime": "2026-11-22T00:00:00Z", "observedGeneration": 1}]}]}})
}

/// Namespace `exodns` and `deploy/rbac/` (ServiceAccount `exodns/exodns` bound to the shipped
/// ClusterRole).
pub fn install_shipped_rbac(kube: &KubeApiserver) {
    let rbac = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rbac");
    apply(kube, "apiVersion: v1\nkind: Namespace\nmetadata: {name: exodns}\n");
    kubectl(kube, &["apply", "-f", rbac.to_str().unwrap()]);
}

/// The sum of the samples of a Prometheus text page on lines that start with `prefix` (a name,
/// or a name and labels) and hold each of `labels`; 0 when there are none.
pub fn metric_sum(page: &str, prefix: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A DNSEndpoint `default/records` holding `records` (name, type, targets), as manifest YAML.
pub fn dns_endpoint_yaml(records: &[(&str, &str, &[&str])]) -> String {
    let mut yaml = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: records, namespace: default}\nspec:\n  endpoints:",
    );
    yaml.push_str(if records.is_empty() { " []\n" } else { "\n" });
    for (name, rtype, targets) in records {
        let t: Vec<String> = targets.iter().map(|t| format!("{t:?}")).collect();
        yaml.push_str(&format!("  - {{dnsName: {name}, recordType: {rtype}, targets: [{}]}}\n", t.join(", ")));
    }
    yaml
}

/// `cmd --once`, given a minute: its log. Panics when it fails.
pub fn run_once(name: &str, cmd: &mut std::process::Command) -> String {
    cmd.arg("--once");
    let mut p = exodns_testbed::Proc::spawn(name, cmd);
    let status = p.wait(std::time::Duration::from_secs(60));
    let log = p.log();
    assert!(status.success(), "exodns --once failed:\n{log}");
    log
}

/// stdout and stderr of a finished process, as one text.
pub fn log_of(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A temporary folder holding `files` (name, text), for `--source=manifest`.
pub fn manifest_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("exodns-manifests-").tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// A `LoadBalancer` Service for a manifest (status included, as no controller sets it there):
/// `default/name` for `host`, its load balancer `status` (`ip: …` or `hostname: …`), more
/// annotations; ends with a document separator.
pub fn manifest_service(name: &str, host: &str, status: &str, annotations: &[(&str, &str)]) -> String {
    let mut extra = String::new();
    for (k, v) in annotations {
        extra.push_str(&format!("    {k}: \"{v}\"\n"));
    }
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {host}\n{extra}\
         spec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\nstatus:\n  loadBalancer:\n    ingress: [{{{status}}}]\n---\n"
    )
}

/// `exodns ARGS` once with `env` and `RUST_LOG=debug`; its log. Panics with the log when it fails
/// or when `secret` shows in it.
pub fn exodns_checked(args: &[String], env: &[(&str, String)], secret: &str) -> String {
    let out = std::process::Command::new(exodns_testbed::exodns_bin().expect("exodns binary"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "debug")
        .output()
        .expect("run exodns");
    let log = log_of(&out);
    assert!(out.status.success(), "exodns failed:\n{log}");
    assert!(!log.contains(secret), "the secret is in the log");
    log
}

/// Status code and body of a plain HTTP GET on loopback; `None` when nothing listens.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((code, body))
}

/// Events of `events.k8s.io` regarding `name`, as (reason, note).
pub fn events_for(kube: &KubeApiserver, name: &str) -> Vec<(String, String)> {
    let json = kube.kubectl(&["get", "events.events.k8s.io", "-n", "default", "-o", "json"], None).unwrap_or_default();
    let v: Value = serde_json::from_str(&json).unwrap_or_default();
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["regarding"]["name"] == name && e["reportingController"] == "exodns")
        .map(|e| (e["reason"].as_str().unwrap_or("").to_owned(), e["note"].as_str().unwrap_or("").to_owned()))
        .collect()
}
