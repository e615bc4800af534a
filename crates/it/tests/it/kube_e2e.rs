//! End to end, the Must-hold items of issue 5: the `exodns` binary against a real kube-apiserver
//! + etcd and a real PowerDNS, answers checked with DNS queries.
//!
//! - every cluster source lands with its ownership TXT, run with the token of a ServiceAccount
//!   bound only to the shipped ClusterRole (no Forbidden); a deleted object's records go under
//!   `--policy=sync`;
//! - they stay under `--policy=upsert-only`;
//! - exodns started before the apiserver waits, then converges; the apiserver stopped for a
//!   minute mid-run causes no deletion and no exit, and exodns converges once it is back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, dns_query, require_peers};

const ZONE: &str = "example.org";

/// The exodns binary cargo built next to this test binary (or `EXODNS_BIN`).
fn exodns_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EXODNS_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("exodns");
    if bin.is_file() {
        return Some(bin);
    }
    assert!(!require_peers(), "the exodns binary is not built at {}", bin.display());
    eprintln!("NOTICE: skipping: exodns binary not built (cargo build -p exodns)");
    None
}

/// One exodns process, killed on drop.
struct Exodns {
    child: Child,
    log: PathBuf,
}

impl Exodns {
    fn start(bin: &Path, kubeconfig: &Path, pdns: &Pdns, args: &[&str], log: PathBuf) -> Exodns {
        let child = Command::new(bin)
            .args([
                "--provider=pdns",
                "--txt-owner-id=e2e",
                "--kube-api-qps=50",
                "--kube-api-burst=100",
                "--metrics-address=127.0.0.1:0",
            ])
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg(format!("--pdns-server={}", pdns.api_url()))
            .args(args)
            .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start exodns");
        Exodns { child, log }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Exodns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn answers(pdns: &Pdns, name: &str, rtype: &str) -> Vec<String> {
    dns_query(pdns.dns_addr(), pdns.dns_port(), name, rtype).await.unwrap_or_default()
}

/// Waits until `name` answers exactly `want` (sorted) for `rtype`; how long it took.
async fn wait_answer(pdns: &Pdns, name: &str, rtype: &str, want: &[&str], deadline: Duration, x: &Exodns) -> Duration {
    let start = Instant::now();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    loop {
        let got = answers(pdns, name, rtype).await;
        if got == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < deadline,
            "{name} {rtype}: {got:?}, not {want:?} within {deadline:?}; exodns log:\n{}",
            x.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The ownership TXT records of the zone, by the `resource` they name.
async fn owners(pdns: &Pdns) -> Vec<String> {
    pdns.rrsets(ZONE)
        .await
        .unwrap()
        .into_iter()
        .filter(|((_, t), _)| t == "TXT")
        .flat_map(|(_, contents)| contents)
        .filter(|c| c.contains("heritage=external-dns"))
        .collect()
}

fn kubectl(kube: &KubeApiserver, args: &[&str]) -> String {
    kube.kubectl(args, None).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

fn apply(kube: &KubeApiserver, yaml: &str) {
    kube.apply_yaml(yaml).unwrap_or_else(|e| panic!("kubectl apply: {e}\n{yaml}"));
}

fn status(kube: &KubeApiserver, ns: &str, kind: &str, name: &str, patch: serde_json::Value) {
    kube.patch_status(ns, kind, name, &patch.to_string()).unwrap_or_else(|e| panic!("status of {kind} {ns}/{name}: {e}"));
}

fn lb_service(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: apps\n  annotations: {{external-dns.kubernetes.io/hostname: {name}.{ZONE}}}\n\
         spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
    )
}

fn publish_lb(kube: &KubeApiserver, name: &str, ip: &str) {
    apply(kube, &lb_service(name));
    status(kube, "apps", "service", name, serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}));
}

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps, labels: {team: web}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: infra}\n";

/// Objects of every source, with names in the zone (the Node is named in it too, for the
/// `node` source).
const EVERYTHING: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: worker.example.org}
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: db.example.org}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: apps, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  nodeName: worker.example.org
  containers: [{name: db, image: registry.example.org/db:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: apps, labels: {app: db}}
spec:
  nodeName: worker.example.org
  containers: [{name: db, image: registry.example.org/db:1}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-abc
  namespace: apps
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
endpoints:
- addresses: [10.1.0.10]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: db-0, namespace: apps}
- addresses: [10.1.0.11]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: db-1, namespace: apps}
---
apiVersion: v1
kind: Service
metadata:
  name: sip
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: sip.example.org}
spec:
  type: NodePort
  selector: {app: sip}
  ports: [{port: 5060, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: apps
  annotations: {external-dns.kubernetes.io/internal-hostname: solo.example.org}
spec:
  nodeName: worker.example.org
  containers: [{name: c, image: registry.example.org/c:1}]
---
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
---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: records, namespace: apps}
spec:
  endpoints:
  - {dnsName: mx.example.org, recordType: MX, targets: ["10 mail.example.org"]}
  - {dnsName: _sip._udp.example.org, recordType: SRV, targets: ["0 50 5060 sip.example.org."]}
  - {dnsName: txt.example.org, recordType: TXT, targets: ["v=spf1 -all"]}
"#;

fn accepted(section: &str) -> serde_json::Value {
    serde_json::json!({"status": {"parents": [{
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw", "namespace": "infra", "sectionName": section},
        "controllerName": "example.net/gateway",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok",
            "lastTransitionTime": "2026-11-22T00:00:00Z", "observedGeneration": 1}]}]}})
}

fn set_everything_status(kube: &KubeApiserver) {
    status(kube, "", "node", "worker.example.org", serde_json::json!({"status": {"addresses": [
        {"type": "ExternalIP", "address": "198.51.100.1"}, {"type": "InternalIP", "address": "10.0.0.1"}]}}));
    for (pod, ip) in [("db-0", "10.1.0.10"), ("db-1", "10.1.0.11"), ("solo", "10.1.0.20")] {
        status(kube, "apps", "pod", pod, serde_json::json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "hostIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}}));
    }
    status(kube, "apps", "ingress", "shop", serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.20"}]}}}));
    status(kube, "infra", "gateway", "gw", serde_json::json!({"status": {"addresses": [{"type": "IPAddress", "value": "192.0.2.30"}]}}));
    status(kube, "apps", "httproute", "web", accepted("http"));
    status(kube, "apps", "grpcroute", "api", accepted("http"));
    status(kube, "apps", "tcproute", "db", accepted("tcp"));
}

/// A kubeconfig with the token (TokenRequest API, via `kubectl create token`) of a
/// ServiceAccount bound only to the shipped ClusterRole (`deploy/rbac/`).
fn service_account_kubeconfig(kube: &KubeApiserver) -> PathBuf {
    let rbac = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rbac");
    apply(kube, "apiVersion: v1\nkind: Namespace\nmetadata: {name: exodns}\n");
    kubectl(kube, &["apply", "-f", rbac.to_str().unwrap()]);
    let token = kubectl(kube, &["-n", "exodns", "create", "token", "exodns", "--duration=1h"]);
    let path = kube.dir().join("kubeconfig-exodns-sa");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\n\
             users:\n- name: u\n  user: {{token: \"{}\"}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
            kube.api_url(),
            kube.ca_path().display(),
            token.trim()
        ),
    )
    .unwrap();
    path
}

const ALL_SOURCES: &[&str] = &[
    "--source=service",
    "--source=ingress",
    "--source=gateway-httproute",
    "--source=gateway-grpcroute",
    "--source=gateway-tlsroute",
    "--source=gateway-tcproute",
    "--source=gateway-udproute",
    "--source=crd",
    "--source=node",
    "--source=pod",
];

const RECORD_TYPES: &[&str] = &[
    "--managed-record-types=A",
    "--managed-record-types=AAAA",
    "--managed-record-types=CNAME",
    "--managed-record-types=TXT",
    "--managed-record-types=MX",
    "--managed-record-types=SRV",
];

/// Every source lands, each record with its ownership TXT, under a ServiceAccount that has only
/// the shipped ClusterRole; a status change is answered within moments; a deleted Service's
/// records go (`--policy=sync`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_every_source_lands_under_the_shipped_cluster_role() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    kube.install_crds(&["gateway", "dnsendpoint"]).expect("CRDs");
    apply(&kube, NAMESPACES);
    apply(&kube, EVERYTHING);
    publish_lb(&kube, "web", "192.0.2.10");
    set_everything_status(&kube);
    let node_port = kubectl(&kube, &["-n", "apps", "get", "service", "sip", "-o", "jsonpath={.spec.ports[0].nodePort}"]);

    let kubeconfig = service_account_kubeconfig(&kube);
    let logs = tempfile::tempdir().unwrap();
    let mut args = vec!["--policy=sync", "--interval=1m"];
    args.extend_from_slice(ALL_SOURCES);
    args.extend_from_slice(RECORD_TYPES);
    let x = Exodns::start(&bin, &kubeconfig, &pdns, &args, logs.path().join("exodns.log"));
    let d = Duration::from_secs(60);
    wait_answer(&pdns, "web.example.org", "A", &["192.0.2.10"], d, &x).await;
    let d = Duration::from_secs(10);
    wait_answer(&pdns, "shop.example.org", "A", &["192.0.2.20"], d, &x).await;
    wait_answer(&pdns, "route.example.org", "A", &["192.0.2.30"], d, &x).await;
    wait_answer(&pdns, "grpc.example.org", "A", &["192.0.2.30"], d, &x).await;
    wait_answer(&pdns, "tcp.example.org", "A", &["192.0.2.30"], d, &x).await;
    wait_answer(&pdns, "db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, &x).await;
    wait_answer(&pdns, "db-0.db.example.org", "A", &["10.1.0.10"], d, &x).await;
    wait_answer(&pdns, "sip.example.org", "A", &["198.51.100.1"], d, &x).await;
    let srv = format!("0 50 {} sip.example.org.", node_port.trim());
    wait_answer(&pdns, "_sip._udp.sip.example.org", "SRV", &[&srv], d, &x).await;
    wait_answer(&pdns, "mx.example.org", "MX", &["10 mail.example.org."], d, &x).await;
    wait_answer(&pdns, "_sip._udp.example.org", "SRV", &["0 50 5060 sip.example.org."], d, &x).await;
    wait_answer(&pdns, "txt.example.org", "TXT", &["\"v=spf1 -all\""], d, &x).await;
    wait_answer(&pdns, "worker.example.org", "A", &["198.51.100.1"], d, &x).await;
    wait_answer(&pdns, "solo.example.org", "A", &["10.1.0.20"], d, &x).await;

    // Each record has its ownership TXT naming the object it came from.
    let own = owners(&pdns).await;
    for resource in [
        "service/apps/web",
        "service/apps/db",
        "service/apps/sip",
        "ingress/apps/shop",
        "httproute/apps/web",
        "grpcroute/apps/api",
        "tcproute/apps/db",
        "crd/apps/records",
        "node/worker.example.org",
        "pod/apps/solo",
    ] {
        let needle = format!("external-dns/resource={resource}");
        assert!(own.iter().any(|t| t.contains(&needle) && t.contains("external-dns/owner=e2e")), "{resource}: {own:?}");
    }
    let txt = answers(&pdns, "a-web.example.org", "TXT").await;
    assert!(txt.len() == 1 && txt[0].contains("resource=service/apps/web"), "{txt:?}");
    // DNSEndpoint status acknowledged.
    let observed = || kubectl(&kube, &["-n", "apps", "get", "dnsendpoint", "records", "-o", "jsonpath={.status.observedGeneration}"]);
    let start = Instant::now();
    while observed().trim() != "1" {
        assert!(start.elapsed() < Duration::from_secs(10), "no status.observedGeneration:\n{}", x.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Event → answer.
    let mut took = Vec::new();
    for ip in ["192.0.2.11", "192.0.2.12", "192.0.2.13"] {
        status(&kube, "apps", "service", "web", serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}));
        took.push(wait_answer(&pdns, "web.example.org", "A", &[ip], Duration::from_secs(10), &x).await);
    }
    eprintln!("status patch → DNS answer (kubectl included): {took:?}");

    // Deleting under sync removes the records and their TXT.
    kubectl(&kube, &["-n", "apps", "delete", "service", "web", "--wait=false"]);
    wait_answer(&pdns, "web.example.org", "A", &[], Duration::from_secs(10), &x).await;
    wait_answer(&pdns, "a-web.example.org", "TXT", &[], Duration::from_secs(10), &x).await;

    let log = x.log();
    assert!(!log.to_lowercase().contains("forbidden"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

/// Under `--policy=upsert-only`, a deleted object's records stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_upsert_only_keeps_the_records_of_deleted_objects() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    apply(&kube, NAMESPACES);
    publish_lb(&kube, "web", "192.0.2.10");
    let logs = tempfile::tempdir().unwrap();
    let args = ["--policy=upsert-only", "--source=service", "--interval=2s"];
    let x = Exodns::start(&bin, kube.kubeconfig_path(), &pdns, &args, logs.path().join("exodns.log"));
    wait_answer(&pdns, "web.example.org", "A", &["192.0.2.10"], Duration::from_secs(60), &x).await;

    kubectl(&kube, &["-n", "apps", "delete", "service", "web"]);
    // A later object lands: the deletion was seen and handled; and full syncs ran since.
    publish_lb(&kube, "later", "192.0.2.40");
    wait_answer(&pdns, "later.example.org", "A", &["192.0.2.40"], Duration::from_secs(10), &x).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(answers(&pdns, "web.example.org", "A").await, ["192.0.2.10"], "{}", x.log());
    assert_eq!(answers(&pdns, "a-web.example.org", "TXT").await.len(), 1);
}

/// exodns started while the apiserver is down waits (alive, nothing written) and converges when
/// it comes up; later the apiserver stops for a minute: no deletion (with full resyncs every
/// 5 s meanwhile), no exit, and a change made after it returns is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_waits_for_the_apiserver_and_rides_out_an_outage() {
    let Some(bin) = exodns_bin() else { return };
    let Some(mut kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    apply(&kube, NAMESPACES);
    publish_lb(&kube, "web", "192.0.2.10");
    apply(
        &kube,
        &EVERYTHING[..EVERYTHING.find("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: solo").unwrap()],
    );
    set_statuses_without_crds(&kube);

    kube.stop_apiserver().expect("stop kube-apiserver");
    let logs = tempfile::tempdir().unwrap();
    let args = ["--policy=sync", "--source=service", "--interval=5s", "--managed-record-types=A", "--managed-record-types=SRV"];
    let mut x = Exodns::start(&bin, kube.kubeconfig_path(), &pdns, &args, logs.path().join("exodns.log"));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(x.alive(), "exodns exited without an apiserver:\n{}", x.log());
    assert!(answers(&pdns, "web.example.org", "A").await.is_empty());

    let up = Instant::now();
    kube.start_apiserver().expect("start kube-apiserver");
    let d = Duration::from_secs(60);
    wait_answer(&pdns, "web.example.org", "A", &["192.0.2.10"], d, &x).await;
    wait_answer(&pdns, "db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, &x).await;
    wait_answer(&pdns, "sip.example.org", "A", &["198.51.100.1"], d, &x).await;
    eprintln!("converged {:?} after the apiserver came up", up.elapsed());
    let before = pdns.rrsets(ZONE).await.unwrap();

    // A minute without the apiserver, full resyncs every 5 s.
    kube.stop_apiserver().expect("stop kube-apiserver");
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(60) {
        assert!(x.alive(), "exodns exited during the outage:\n{}", x.log());
        assert_eq!(pdns.rrsets(ZONE).await.unwrap(), before, "records changed during the outage:\n{}", x.log());
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    kube.start_apiserver().expect("start kube-apiserver");
    status(&kube, "apps", "service", "web", serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.14"}]}}}));
    publish_lb(&kube, "after", "192.0.2.41");
    // The watches come back on kube-rs's default backoff (client-go's: up to 30 s plus jitter
    // after a long outage).
    let back = Instant::now();
    let d = Duration::from_secs(90);
    wait_answer(&pdns, "web.example.org", "A", &["192.0.2.14"], d, &x).await;
    wait_answer(&pdns, "after.example.org", "A", &["192.0.2.41"], d, &x).await;
    wait_answer(&pdns, "db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, &x).await;
    eprintln!("converged {:?} after the apiserver came back from a 60 s outage", back.elapsed());
    if std::env::var_os("EXODNS_E2E_LOG").is_some() {
        eprintln!("{}", x.log());
    }
    assert!(x.alive());
}

fn set_statuses_without_crds(kube: &KubeApiserver) {
    status(kube, "", "node", "worker.example.org", serde_json::json!({"status": {"addresses": [
        {"type": "ExternalIP", "address": "198.51.100.1"}]}}));
    for (pod, ip) in [("db-0", "10.1.0.10"), ("db-1", "10.1.0.11")] {
        status(kube, "apps", "pod", pod, serde_json::json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}]}}));
    }
}
