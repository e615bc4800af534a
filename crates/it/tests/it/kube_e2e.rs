//! End to end, the Must-hold items of issue 5: the `exodns` binary against a real kube-apiserver
//! + etcd and a real PowerDNS, answers checked with DNS queries.
//!
//! - every cluster source lands with its ownership TXT, run with the token of a ServiceAccount
//!   bound only to the shipped ClusterRole (no Forbidden); a deleted object's records go under
//!   `--policy=sync`;
//! - they stay under `--policy=upsert-only`;
//! - exodns started before the apiserver waits, then converges; the apiserver stopped for a
//!   minute mid-run causes no deletion and no exit, and exodns converges once it is back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, wait_until_async, wait_until_log};
use serde_json::json;

use crate::common::{
    ROUTES, apply, install_shipped_rbac, kubectl, lb_status, patch_status, publish_lb, set_route_statuses,
};

const ZONE: &str = "example.org";

/// An exodns process (killed on drop) writing into `pdns` what `kubeconfig` lets it read.
pub(crate) fn start_exodns(bin: &Path, kubeconfig: &Path, pdns: &Pdns, args: &[&str]) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.args([
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
    // The controller's debug lines include no-op syncs, which tests count (`full_syncs`).
    .env("RUST_LOG", "info,exodns_controller=debug");
    Proc::spawn("exodns", &mut cmd)
}

/// Full syncs exodns has finished so far, no-op ones included, from its log.
pub(crate) fn full_syncs(x: &Proc) -> usize {
    x.log().matches("kind=\"full\"").count()
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

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps, labels: {team: web}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: infra}\n";

/// A Node (named in the zone, for the `node` source), a headless Service `db` with its Pods and
/// EndpointSlice, and a NodePort Service `sip`.
const NODE_AND_SERVICES: &str = r#"
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
"#;

/// A Pod with a host name of its own (the `pod` source).
const SOLO_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: apps
  annotations: {external-dns.kubernetes.io/internal-hostname: solo.example.org}
spec:
  nodeName: worker.example.org
  containers: [{name: c, image: registry.example.org/c:1}]
"#;

/// MX, SRV and TXT records (the `crd` source).
const DNSENDPOINT: &str = r#"
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: records, namespace: apps}
spec:
  endpoints:
  - {dnsName: mx.example.org, recordType: MX, targets: ["10 mail.example.org"]}
  - {dnsName: _sip._udp.example.org, recordType: SRV, targets: ["0 50 5060 sip.example.org."]}
  - {dnsName: txt.example.org, recordType: TXT, targets: ["v=spf1 -all"]}
"#;

fn set_everything_status(kube: &KubeApiserver) {
    patch_status(
        kube,
        "",
        "node",
        "worker.example.org",
        json!({"status": {"addresses": [
        {"type": "ExternalIP", "address": "198.51.100.1"}, {"type": "InternalIP", "address": "10.0.0.1"}]}}),
    );
    for (pod, ip) in [("db-0", "10.1.0.10"), ("db-1", "10.1.0.11"), ("solo", "10.1.0.20")] {
        patch_status(
            kube,
            "apps",
            "pod",
            pod,
            json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "hostIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}}),
        );
    }
    set_route_statuses(kube);
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
    for yaml in [NAMESPACES, NODE_AND_SERVICES, SOLO_POD, ROUTES, DNSENDPOINT] {
        apply(&kube, yaml);
    }
    publish_lb(&kube, "apps", "web", "192.0.2.10");
    set_everything_status(&kube);
    let node_port =
        kubectl(&kube, &["-n", "apps", "get", "service", "sip", "-o", "jsonpath={.spec.ports[0].nodePort}"]);

    // A ServiceAccount bound only to the shipped ClusterRole, with a token from the TokenRequest API.
    install_shipped_rbac(&kube);
    let kubeconfig = kube.service_account_kubeconfig("exodns", "exodns").expect("ServiceAccount kubeconfig");
    let mut args = vec!["--policy=sync", "--interval=1m"];
    args.extend_from_slice(ALL_SOURCES);
    args.extend_from_slice(RECORD_TYPES);
    let x = start_exodns(&bin, &kubeconfig, &pdns, &args);
    let d = Duration::from_secs(60);
    pdns.wait_for_answers("web.example.org", "A", &["192.0.2.10"], d, || x.log()).await;
    let d = Duration::from_secs(10);
    pdns.wait_for_answers("shop.example.org", "A", &["192.0.2.20"], d, || x.log()).await;
    pdns.wait_for_answers("route.example.org", "A", &["192.0.2.30"], d, || x.log()).await;
    pdns.wait_for_answers("grpc.example.org", "A", &["192.0.2.30"], d, || x.log()).await;
    pdns.wait_for_answers("tcp.example.org", "A", &["192.0.2.30"], d, || x.log()).await;
    pdns.wait_for_answers("db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, || x.log()).await;
    pdns.wait_for_answers("db-0.db.example.org", "A", &["10.1.0.10"], d, || x.log()).await;
    pdns.wait_for_answers("sip.example.org", "A", &["198.51.100.1"], d, || x.log()).await;
    let srv = format!("0 50 {} sip.example.org.", node_port.trim());
    pdns.wait_for_answers("_sip._udp.sip.example.org", "SRV", &[&srv], d, || x.log()).await;
    pdns.wait_for_answers("mx.example.org", "MX", &["10 mail.example.org."], d, || x.log()).await;
    pdns.wait_for_answers("_sip._udp.example.org", "SRV", &["0 50 5060 sip.example.org."], d, || x.log()).await;
    pdns.wait_for_answers("txt.example.org", "TXT", &["\"v=spf1 -all\""], d, || x.log()).await;
    pdns.wait_for_answers("worker.example.org", "A", &["198.51.100.1"], d, || x.log()).await;
    pdns.wait_for_answers("solo.example.org", "A", &["10.1.0.20"], d, || x.log()).await;

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
    let txt = pdns.answers("a-web.example.org", "TXT").await;
    assert!(txt.len() == 1 && txt[0].contains("resource=service/apps/web"), "{txt:?}");
    // DNSEndpoint status acknowledged.
    let observed = || {
        kubectl(&kube, &["-n", "apps", "get", "dnsendpoint", "records", "-o", "jsonpath={.status.observedGeneration}"])
    };
    wait_until_log("status.observedGeneration", Duration::from_secs(10), || observed().trim() == "1", || x.log());

    // Event → answer.
    let mut took = Vec::new();
    for ip in ["192.0.2.11", "192.0.2.12", "192.0.2.13"] {
        patch_status(&kube, "apps", "service", "web", lb_status(ip));
        took.push(pdns.wait_for_answers("web.example.org", "A", &[ip], Duration::from_secs(10), || x.log()).await);
    }
    eprintln!("status patch → DNS answer (kubectl included): {took:?}");

    // Deleting under sync removes the records and their TXT.
    kubectl(&kube, &["-n", "apps", "delete", "service", "web", "--wait=false"]);
    pdns.wait_for_answers("web.example.org", "A", &[], Duration::from_secs(10), || x.log()).await;
    pdns.wait_for_answers("a-web.example.org", "TXT", &[], Duration::from_secs(10), || x.log()).await;

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
    publish_lb(&kube, "apps", "web", "192.0.2.10");
    let args = ["--policy=upsert-only", "--source=service", "--interval=2s"];
    let x = start_exodns(&bin, kube.kubeconfig_path(), &pdns, &args);
    pdns.wait_for_answers("web.example.org", "A", &["192.0.2.10"], Duration::from_secs(60), || x.log()).await;

    kubectl(&kube, &["-n", "apps", "delete", "service", "web"]);
    // A later object lands: the deletion was seen and handled; and full syncs ran since.
    publish_lb(&kube, "apps", "later", "192.0.2.40");
    pdns.wait_for_answers("later.example.org", "A", &["192.0.2.40"], Duration::from_secs(10), || x.log()).await;
    let seen = full_syncs(&x);
    wait_until_async("a full sync after the deletion", Duration::from_secs(20), || full_syncs(&x) > seen).await;
    assert_eq!(pdns.answers("web.example.org", "A").await, ["192.0.2.10"], "{}", x.log());
    assert_eq!(pdns.answers("a-web.example.org", "TXT").await.len(), 1);
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
    publish_lb(&kube, "apps", "web", "192.0.2.10");
    apply(&kube, NODE_AND_SERVICES);
    set_statuses_without_crds(&kube);

    kube.stop_apiserver().expect("stop kube-apiserver");
    let args = [
        "--policy=sync",
        "--source=service",
        "--interval=5s",
        "--managed-record-types=A",
        "--managed-record-types=SRV",
    ];
    let mut x = start_exodns(&bin, kube.kubeconfig_path(), &pdns, &args);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(x.is_running(), "exodns exited without an apiserver:\n{}", x.log());
    assert!(pdns.answers("web.example.org", "A").await.is_empty());

    let up = Instant::now();
    kube.start_apiserver().expect("start kube-apiserver");
    let d = Duration::from_secs(60);
    pdns.wait_for_answers("web.example.org", "A", &["192.0.2.10"], d, || x.log()).await;
    pdns.wait_for_answers("db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, || x.log()).await;
    pdns.wait_for_answers("sip.example.org", "A", &["198.51.100.1"], d, || x.log()).await;
    eprintln!("converged {:?} after the apiserver came up", up.elapsed());
    let before = pdns.rrsets(ZONE).await.unwrap();

    // A minute without the apiserver, full resyncs every 5 s.
    kube.stop_apiserver().expect("stop kube-apiserver");
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(60) {
        assert!(x.is_running(), "exodns exited during the outage:\n{}", x.log());
        assert_eq!(pdns.rrsets(ZONE).await.unwrap(), before, "records changed during the outage:\n{}", x.log());
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    kube.start_apiserver().expect("start kube-apiserver");
    patch_status(&kube, "apps", "service", "web", lb_status("192.0.2.14"));
    publish_lb(&kube, "apps", "after", "192.0.2.41");
    // The watches come back on kube-rs's default backoff (client-go's: up to 30 s plus jitter
    // after a long outage).
    let back = Instant::now();
    let d = Duration::from_secs(90);
    pdns.wait_for_answers("web.example.org", "A", &["192.0.2.14"], d, || x.log()).await;
    pdns.wait_for_answers("after.example.org", "A", &["192.0.2.41"], d, || x.log()).await;
    pdns.wait_for_answers("db.example.org", "A", &["10.1.0.10", "10.1.0.11"], d, || x.log()).await;
    eprintln!("converged {:?} after the apiserver came back from a 60 s outage", back.elapsed());
    if std::env::var_os("EXODNS_E2E_LOG").is_some() {
        eprintln!("{}", x.log());
    }
    assert!(x.is_running());
}

fn set_statuses_without_crds(kube: &KubeApiserver) {
    patch_status(
        kube,
        "",
        "node",
        "worker.example.org",
        json!({"status": {"addresses": [
        {"type": "ExternalIP", "address": "198.51.100.1"}]}}),
    );
    for (pod, ip) in [("db-0", "10.1.0.10"), ("db-1", "10.1.0.11")] {
        patch_status(
            kube,
            "apps",
            "pod",
            pod,
            json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}]}}),
        );
    }
}
