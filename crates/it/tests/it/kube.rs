//! The Kubernetes side (`exodns-kube`) against a real kube-apiserver + etcd
//! (`scripts/testbed/apiserver.sh`): discovery, lean watches, change events, health through an
//! outage, and the shipped least-privilege ClusterRole.
//!
//! Nothing runs Kubernetes controllers here: tests write what they would (load-balancer status,
//! EndpointSlices, Pod status, route acceptance) themselves.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exodns_core::ObjectRef;
use exodns_core::source::{ObjectSource, SourceEvent, SourceHealth, SourceOutput};
use exodns_kube::rbac::cluster_sources;
use exodns_kube::{KubeClient, KubeSettings, KubeSource, Watched};
use exodns_sources::ClusterViewExt;
use exodns_sources::{Objects, SourceConfig, SourceFlags, SourceKind};
use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::wait_until_async;
use serde_json::json;
use tokio::sync::mpsc;

use crate::common::{
    CLUSTER_SOURCE_CRDS, ROUTES, apply, install_shipped_rbac, kubectl, lb_status, patch_status, set_route_statuses,
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn apiserver() -> Option<KubeApiserver> {
    KubeApiserver::start_or_skip()
}

fn settings(kubeconfig: &Path) -> KubeSettings {
    // Tests create objects quickly; the limit itself is unit-tested.
    KubeSettings { kubeconfig: Some(kubeconfig.to_owned()), qps: 50.0, burst: 100, ..KubeSettings::default() }
}

async fn client(kube: &KubeApiserver) -> KubeClient {
    exodns_kube::connect(&settings(kube.kubeconfig_path())).await.expect("a client for the test apiserver")
}

fn flags(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

/// Every event the source sends, kept for the test to look at.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<SourceEvent>>>);

impl Events {
    fn spawn(mut rx: mpsc::Receiver<SourceEvent>) -> Events {
        let ev = Events::default();
        let keep = ev.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                keep.0.lock().unwrap().push(e);
            }
        });
        ev
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn since(&self, from: usize) -> Vec<SourceEvent> {
        self.0.lock().unwrap()[from..].to_vec()
    }

    fn changed_since(&self, from: usize) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in self.since(from) {
            if let SourceEvent::Changed(refs) = e {
                out.extend(refs.iter().map(|r| r.to_string()));
            }
        }
        out
    }

    fn count_all_since(&self, from: usize) -> usize {
        self.since(from).iter().filter(|e| matches!(e, SourceEvent::All)).count()
    }
}

fn start_source(client: KubeClient, sources: &[SourceKind], cfg: SourceConfig) -> (KubeSource, Events) {
    let (tx, rx) = mpsc::channel(1024);
    let source = KubeSource::start(client, sources, cfg, tx);
    (source, Events::spawn(rx))
}

fn healthy(source: &KubeSource) -> bool {
    source.health().iter().all(SourceHealth::healthy)
}

fn health_of(source: &KubeSource, name: &str) -> SourceHealth {
    source.health().into_iter().find(|h| h.source == name).unwrap_or_else(|| panic!("no health for {name}"))
}

fn oref(s: &str) -> ObjectRef {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [k, n] => ObjectRef::cluster(k, n),
        [k, ns, n] => ObjectRef::namespaced(k, ns, n),
        _ => panic!("bad object ref {s}"),
    }
}

/// `name TYPE targets` lines of an object's endpoints.
fn lines(e: &Option<std::sync::Arc<SourceOutput>>) -> Vec<String> {
    e.as_ref().map(|e| e.endpoints.iter().map(|ep| ep.to_string()).collect()).unwrap_or_default()
}

/// Every object the sources read, as the apiserver serves them (not stripped).
fn full_objects(kube: &KubeApiserver, kinds: &str) -> Objects {
    let json = kubectl(kube, &["get", kinds, "-A", "-o", "json"]);
    let (objects, errors) = exodns_sources::manifest::parse(&json, Path::new("cluster.json"));
    assert!(errors.is_empty(), "{errors:?}");
    objects.into_iter().collect()
}

/// The objects of most tests: a namespace of apps, a LoadBalancer and a headless Service with
/// its Pods and EndpointSlice, a NodePort Service, a Node, an Ingress, a Gateway with HTTP,
/// GRPC and TCP routes ([`ROUTES`]), and a DNSEndpoint with MX, SRV, TXT and A records.
const APPS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {team: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: web.example.org, kubectl.kubernetes.io/noise: "x"}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"#;

const HEADLESS: &str = r#"
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
  nodeName: node-1
  containers: [{name: db, image: registry.example.org/db:1, env: [{name: A, value: b}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: apps, labels: {app: db}}
spec:
  nodeName: node-1
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
ports: [{port: 5432, protocol: TCP}]
"#;

const NODEPORT: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {zone: a}}
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

const DNSENDPOINT: &str = r#"
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: records, namespace: apps}
spec:
  endpoints:
  - {dnsName: example.org, recordType: MX, targets: ["10 mail.example.org"]}
  - {dnsName: _sip._udp.example.org, recordType: SRV, targets: ["0 50 5060 sip.example.org."]}
  - {dnsName: txt.example.org, recordType: TXT, targets: ["v=spf1 -all"]}
  - {dnsName: a.example.org, recordType: A, targets: [192.0.2.99], recordTTL: 60}
"#;

const POD_SOURCE: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: apps
  annotations: {external-dns.kubernetes.io/internal-hostname: solo.example.org}
spec:
  nodeName: node-1
  containers: [{name: c, image: registry.example.org/c:1}]
"#;

fn set_statuses(kube: &KubeApiserver, headless: bool, nodeport: bool, edge: bool) {
    patch_status(kube, "apps", "service", "web", lb_status("192.0.2.10"));
    if headless || nodeport {
        for (pod, container, ip) in
            [("db-0", "db", "10.1.0.10"), ("db-1", "db", "10.1.0.11"), ("solo", "c", "10.1.0.20")]
        {
            if pod == "solo" && !nodeport {
                continue;
            }
            patch_status(
                kube,
                "apps",
                "pod",
                pod,
                json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": container, "ready": true, "restartCount": 0, "image": "x", "imageID": "",
                        "state": {"running": {"startedAt": "2026-11-22T00:00:00Z"}}}]}}),
            );
        }
    }
    if nodeport {
        patch_status(
            kube,
            "",
            "node",
            "node-1",
            json!({"status": {"addresses": [{"type": "ExternalIP", "address": "198.51.100.1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                "images": [{"names": ["registry.example.org/huge:1"], "sizeBytes": 1000000}]}}),
        );
    }
    if edge {
        set_route_statuses(kube);
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Every source over a real cluster: the endpoints of each watched object equal what the
/// sources crate computes from the objects as served (so stripping dropped nothing they read);
/// TCPRoute is watched as v1 (Gateway API 1.6.1); changes arrive as events naming the objects
/// and their dependents; DNSEndpoints get `status.observedGeneration`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_watches_match_the_sources() {
    let Some(kube) = apiserver() else { return };
    kube.install_crds(CLUSTER_SOURCE_CRDS).expect("CRDs");
    for y in [APPS, HEADLESS, NODEPORT, ROUTES, DNSENDPOINT, POD_SOURCE] {
        apply(&kube, y);
    }
    set_statuses(&kube, true, true, true);

    let kinds = cluster_sources();
    let cfg = SourceConfig::default();
    let (source, events) = start_source(client(&kube).await, &kinds, cfg.clone());
    let took = wait_until_async("every source synced", Duration::from_secs(60), || healthy(&source)).await;
    eprintln!("all sources synced in {took:?}");

    // Discovery: Gateway API 1.6.1 serves TCPRoute only as v1.
    let status = source.watch_status();
    assert_eq!(status[&Watched::TcpRoutes].api_version.as_deref(), Some("gateway.networking.k8s.io/v1"));
    assert_eq!(status[&Watched::Gateways].api_version.as_deref(), Some("gateway.networking.k8s.io/v1"));
    assert_eq!(status[&Watched::DnsEndpoints].api_version.as_deref(), Some("externaldns.k8s.io/v1alpha1"));

    // Same endpoints as the sources crate computes from the full objects.
    let full = full_objects(
        &kube,
        "services,pods,nodes,endpointslices,namespaces,ingresses,gateways.gateway.networking.k8s.io,httproutes,grpcroutes,tlsroutes,tcproutes,udproutes,dnsendpoints",
    );
    let expected = exodns_sources::manifest::per_object(&full, &kinds, &cfg);
    let want_refs: BTreeSet<String> = expected.iter().map(|(r, _)| r.to_string()).collect();
    let have_refs: BTreeSet<String> = source.objects().iter().map(|r| r.to_string()).collect();
    assert_eq!(have_refs, want_refs);
    for (r, out) in &expected {
        assert_eq!(source.endpoints(r).as_deref(), Some(out), "{r}");
    }
    // …and they are not vacuous.
    let e = |s: &str| lines(&source.endpoints(&oref(s)));
    assert_eq!(e("service/apps/web"), vec!["web.example.org A 192.0.2.10"]);
    assert_eq!(e("service/apps/db"), vec!["db-0.db.example.org A 10.1.0.10", "db.example.org A 10.1.0.10,10.1.0.11"]);
    let sip = e("service/apps/sip");
    assert!(sip.contains(&"sip.example.org A 198.51.100.1".to_string()), "{sip:?}");
    assert!(sip.iter().any(|l| l.starts_with("_sip._udp.sip.example.org SRV 0 50 ")), "{sip:?}");
    assert_eq!(e("ingress/apps/shop"), vec!["shop.example.org A 192.0.2.20"]);
    assert_eq!(e("httproute/apps/web"), vec!["route.example.org A 192.0.2.30"]);
    assert_eq!(e("grpcroute/apps/api"), vec!["grpc.example.org A 192.0.2.30"]);
    assert_eq!(e("tcproute/apps/db"), vec!["tcp.example.org A 192.0.2.30"]);
    let crd = e("crd/apps/records");
    assert_eq!(crd.len(), 4, "{crd:?}");
    assert!(crd.iter().any(|l| l.starts_with("example.org MX")) && crd.iter().any(|l| l.contains(" SRV ")));
    assert_eq!(e("node/node-1"), vec!["node-1 A 198.51.100.1"]);
    assert_eq!(e("pod/apps/solo"), vec!["solo.example.org A 10.1.0.20"]);

    // What the caches keep.
    for pod in source.pods("apps") {
        let spec = pod.spec.as_ref().unwrap();
        assert!(spec.containers.is_empty(), "containers kept: {:?}", pod.metadata.name);
        // The uid stays: Kubernetes Events name the object they regard by it.
        assert!(pod.metadata.managed_fields.is_none() && pod.metadata.uid.is_some());
        assert!(pod.status.as_ref().unwrap().container_statuses.is_none());
    }
    let node = source.node("node-1").unwrap();
    assert!(node.status.as_ref().unwrap().images.is_none());
    let web = ClusterViewExt::services(&source, Some("apps"))
        .into_iter()
        .find(|s| s.metadata.name.as_deref() == Some("web"))
        .unwrap();
    assert_eq!(
        web.metadata.annotations.as_ref().unwrap().keys().collect::<Vec<_>>(),
        vec!["external-dns.kubernetes.io/hostname"],
        "last-applied-configuration and other annotations are dropped"
    );

    // Events: an object, and the dependents of what it reads.
    let mark = events.len();
    patch_status(&kube, "apps", "service", "web", lb_status("192.0.2.11"));
    wait_until_async("the Service event", Duration::from_secs(10), || {
        events.changed_since(mark).contains("service/apps/web")
    })
    .await;
    assert_eq!(e("service/apps/web"), vec!["web.example.org A 192.0.2.11"]);

    let mark = events.len();
    patch_status(
        &kube,
        "infra",
        "gateway",
        "gw",
        json!({"status": {"addresses": [{"type": "IPAddress", "value": "192.0.2.31"}]}}),
    );
    wait_until_async("route events after the Gateway changed", Duration::from_secs(10), || {
        let c = events.changed_since(mark);
        ["httproute/apps/web", "grpcroute/apps/api", "tcproute/apps/db"].iter().all(|r| c.contains(*r))
    })
    .await;
    assert_eq!(e("tcproute/apps/db"), vec!["tcp.example.org A 192.0.2.31"]);

    // Namespace labels decide a Selector listener: the TCPRoute goes when they stop matching.
    let mark = events.len();
    kubectl(&kube, &["label", "namespace", "apps", "team=other", "--overwrite"]);
    wait_until_async("the TCPRoute event after its namespace changed", Duration::from_secs(10), || {
        events.changed_since(mark).contains("tcproute/apps/db")
    })
    .await;
    assert!(e("tcproute/apps/db").is_empty());

    let mark = events.len();
    kubectl(
        &kube,
        &[
            "-n",
            "apps",
            "patch",
            "endpointslice",
            "db-abc",
            "--type=json",
            "-p",
            r#"[{"op": "replace", "path": "/endpoints/1/conditions/ready", "value": false}]"#,
        ],
    );
    wait_until_async("the headless Service event after its EndpointSlice changed", Duration::from_secs(10), || {
        events.changed_since(mark).contains("service/apps/db")
    })
    .await;
    assert_eq!(e("service/apps/db"), vec!["db-0.db.example.org A 10.1.0.10", "db.example.org A 10.1.0.10"]);

    let mark = events.len();
    patch_status(
        &kube,
        "",
        "node",
        "node-1",
        json!({"status": {"addresses": [{"type": "ExternalIP", "address": "198.51.100.2"}]}}),
    );
    wait_until_async("node, NodePort Service and pod events after the Node changed", Duration::from_secs(10), || {
        let c = events.changed_since(mark);
        c.contains("node/node-1") && c.contains("service/apps/sip")
    })
    .await;
    assert_eq!(e("node/node-1"), vec!["node-1 A 198.51.100.2"]);

    // An update of nothing the sources read is not passed on.
    let before = source.watch_status()[&Watched::Pods].unchanged;
    kubectl(&kube, &["-n", "apps", "annotate", "pod", "db-1", "unrelated.example.com/x=1"]);
    wait_until_async("the no-op Pod update", Duration::from_secs(10), || {
        source.watch_status()[&Watched::Pods].unchanged > before
    })
    .await;

    let mark = events.len();
    kubectl(&kube, &["-n", "apps", "delete", "service", "web", "--wait=false"]);
    wait_until_async("the delete event", Duration::from_secs(10), || {
        events.changed_since(mark).contains("service/apps/web")
    })
    .await;
    assert!(source.endpoints(&oref("service/apps/web")).is_none());

    // DNSEndpoint status: published → status.observedGeneration.
    source.published(&oref("crd/apps/records"));
    let observed = || {
        kubectl(&kube, &["-n", "apps", "get", "dnsendpoint", "records", "-o", "jsonpath={.status.observedGeneration}"])
    };
    wait_until_async("status.observedGeneration", Duration::from_secs(10), || observed().trim() == "1").await;
    kubectl(
        &kube,
        &[
            "-n",
            "apps",
            "patch",
            "dnsendpoint",
            "records",
            "--type=merge",
            "-p",
            r#"{"spec": {"endpoints": [{"dnsName": "b.example.org", "recordType": "A", "targets": ["192.0.2.98"]}]}}"#,
        ],
    );
    wait_until_async("the new generation in the cache", Duration::from_secs(10), || {
        e("crd/apps/records") == vec!["b.example.org A 192.0.2.98"]
    })
    .await;
    source.published(&oref("crd/apps/records"));
    wait_until_async("status.observedGeneration 2", Duration::from_secs(10), || observed().trim() == "2").await;

    assert!(healthy(&source), "{:?}", source.health());
    let st = source.watch_status();
    for (w, s) in &st {
        eprintln!("{w}: {s:?}");
        assert_eq!(s.lists, 1, "{w} listed once");
    }
    drop(source);
    assert!(events.count_all_since(0) >= 1);
}

/// Lean watches: a `service` source watches Pods, EndpointSlices and Nodes only once a Service
/// needs them, and never with `--service-type-filter=LoadBalancer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_service_dependencies_start_on_demand() {
    let Some(kube) = apiserver() else { return };
    apply(&kube, APPS);
    set_statuses(&kube, false, false, false);
    let c = client(&kube).await;
    let (lean, _ev1) = start_source(c.clone(), &[SourceKind::Service], SourceConfig::default());
    let (lb_only, _ev2) =
        start_source(c, &[SourceKind::Service], flags(|f| f.service_type_filter = vec!["LoadBalancer".into()]));
    wait_until_async("synced", Duration::from_secs(30), || healthy(&lean) && healthy(&lb_only)).await;
    let watched = |s: &KubeSource| s.watch_status().keys().copied().collect::<Vec<_>>();
    assert_eq!(watched(&lean), vec![Watched::Services]);

    // A headless Service without a host name (a StatefulSet's) needs nothing.
    apply(
        &kube,
        "apiVersion: v1\nkind: Service\nmetadata: {name: plain, namespace: apps}\nspec: {clusterIP: None, selector: {app: x}}\n",
    );
    // Once the Service is in the cache, the decision about its dependencies has been made.
    wait_until_async("the Service in the cache", Duration::from_secs(30), || {
        lean.objects().contains(&oref("service/apps/plain"))
    })
    .await;
    assert_eq!(watched(&lean), vec![Watched::Services]);

    apply(&kube, HEADLESS);
    apply(&kube, "apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n");
    set_statuses(&kube, true, false, false);
    wait_until_async("Pod and EndpointSlice watches", Duration::from_secs(30), || {
        watched(&lean) == vec![Watched::Services, Watched::EndpointSlices, Watched::Pods]
    })
    .await;
    wait_until_async("per-pod records", Duration::from_secs(30), || {
        healthy(&lean)
            && lines(&lean.endpoints(&oref("service/apps/db")))
                == vec!["db-0.db.example.org A 10.1.0.10", "db.example.org A 10.1.0.10,10.1.0.11"]
    })
    .await;

    apply(&kube, NODEPORT);
    wait_until_async("the Node watch", Duration::from_secs(30), || watched(&lean).contains(&Watched::Nodes)).await;
    wait_until_async("synced", Duration::from_secs(30), || healthy(&lean)).await;

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(watched(&lb_only), vec![Watched::Services], "--service-type-filter=LoadBalancer watches only Services");
    assert_eq!(lines(&lb_only.endpoints(&oref("service/apps/web"))), vec!["web.example.org A 192.0.2.10"]);
    assert!(lines(&lb_only.endpoints(&oref("service/apps/db"))).is_empty());
}

/// A source whose CRD is not installed says so, quickly and by name, while the others work;
/// once the CRD is installed it starts without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_missing_crd_is_a_clear_error_for_that_source_only() {
    let Some(kube) = apiserver() else { return };
    apply(&kube, APPS);
    set_statuses(&kube, false, false, false);
    let sources = [SourceKind::Service, SourceKind::GatewayTcpRoute, SourceKind::Crd, SourceKind::IstioVirtualService];
    let (source, events) = start_source(client(&kube).await, &sources, SourceConfig::default());
    // A source's error joins those of its failed watches as each fails, and a source's watches
    // (Istio's VirtualServices and Gateways, the TCPRoute source's routes and Gateways) may fail
    // a moment apart: wait until each error names what is asserted below.
    let names = |source_name: &str, resources: &[&str]| {
        health_of(&source, source_name).error.is_some_and(|e| resources.iter().all(|r| e.contains(r)))
    };
    let took = wait_until_async("health errors for the missing CRDs", Duration::from_secs(10), || {
        names("istio-virtualservice", &["virtualservices.networking.istio.io", "gateways.networking.istio.io"])
            && names("gateway-tcproute", &["tcproutes.gateway.networking.k8s.io"])
            && names("crd", &["dnsendpoints.externaldns.k8s.io"])
    })
    .await;
    let istio = health_of(&source, "istio-virtualservice").error.unwrap();
    assert!(
        istio.contains("virtualservices.networking.istio.io")
            && istio.contains("gateways.networking.istio.io")
            && istio.contains("install Istio's CRDs"),
        "{istio}"
    );
    let tcp = health_of(&source, "gateway-tcproute").error.unwrap();
    let crd = health_of(&source, "crd").error.unwrap();
    eprintln!("after {took:?}:\n  {tcp}\n  {crd}");
    assert!(
        tcp.starts_with("the cluster does not serve ")
            && tcp.contains("tcproutes.gateway.networking.k8s.io (looked for v1, v1alpha2)")
            && tcp.contains("install the Gateway API CRDs"),
        "{tcp}"
    );
    assert!(crd.contains("does not serve dnsendpoints.externaldns.k8s.io") && crd.contains("DNSEndpoint CRD"), "{crd}");
    assert!(!health_of(&source, "gateway-tcproute").synced);

    wait_until_async("the service source", Duration::from_secs(20), || health_of(&source, "service").healthy()).await;
    let mark = events.len();
    patch_status(&kube, "apps", "service", "web", lb_status("192.0.2.12"));
    wait_until_async("a Service event", Duration::from_secs(10), || {
        events.changed_since(mark).contains("service/apps/web")
    })
    .await;
    assert_eq!(lines(&source.endpoints(&oref("service/apps/web"))), vec!["web.example.org A 192.0.2.12"]);

    kube.install_crds(&["gateway", "dnsendpoint"]).expect("CRDs");
    apply(&kube, ROUTES);
    apply(&kube, DNSENDPOINT);
    set_statuses(&kube, false, false, true);
    let took = wait_until_async("the CRD sources after installing the CRDs", Duration::from_secs(90), || {
        ["service", "gateway-tcproute", "crd"].iter().all(|s| health_of(&source, s).healthy())
    })
    .await;
    eprintln!("CRD sources healthy {took:?} after the CRDs were installed");
    wait_until_async("the TCPRoute", Duration::from_secs(10), || {
        lines(&source.endpoints(&oref("tcproute/apps/db"))) == vec!["tcp.example.org A 192.0.2.30"]
    })
    .await;
}

/// The apiserver stops for a while: the sources report the error (names are then frozen by the
/// controller), keep their objects, do not panic, and are healthy again once it is back. Also:
/// a source started while the apiserver is down waits and syncs when it comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_apiserver_outage_and_late_start() {
    let Some(mut kube) = apiserver() else { return };
    apply(&kube, APPS);
    set_statuses(&kube, false, false, false);
    let c = client(&kube).await;
    let (source, events) = start_source(c.clone(), &[SourceKind::Service], SourceConfig::default());
    wait_until_async("synced", Duration::from_secs(30), || healthy(&source)).await;
    let objects = source.objects();
    assert!(objects.contains(&oref("service/apps/web")));
    let lists_before = source.watch_status()[&Watched::Services].lists;

    kube.stop_apiserver().expect("stop kube-apiserver");
    let down = Instant::now();
    let took =
        wait_until_async("a health error", Duration::from_secs(60), || health_of(&source, "service").error.is_some())
            .await;
    eprintln!("error reported {took:?} after the apiserver stopped: {:?}", health_of(&source, "service").error);
    // A source started now waits for the apiserver.
    let (late, late_events) = start_source(c.clone(), &[SourceKind::Service], SourceConfig::default());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(source.objects(), objects, "objects are kept while the apiserver is away");
    assert_eq!(lines(&source.endpoints(&oref("service/apps/web"))), vec!["web.example.org A 192.0.2.10"]);
    let lh = health_of(&late, "service");
    assert!(!lh.synced && lh.error.as_deref().is_some_and(|e| e.contains("cannot reach the apiserver")), "{lh:?}");

    kube.start_apiserver().expect("start kube-apiserver");
    eprintln!("apiserver back after {:?}", down.elapsed());
    let took = wait_until_async("healthy again", Duration::from_secs(90), || healthy(&source)).await;
    eprintln!("healthy {took:?} after the apiserver came back");
    wait_until_async("the late source", Duration::from_secs(90), || healthy(&late)).await;
    assert_eq!(lines(&late.endpoints(&oref("service/apps/web"))), vec!["web.example.org A 192.0.2.10"]);
    assert!(late_events.count_all_since(0) >= 1);

    let lists_after = source.watch_status()[&Watched::Services].lists;
    eprintln!(
        "Services listed {lists_before} time(s) before the outage, {lists_after} after; All events: {}",
        events.count_all_since(0)
    );
    // Still watching: a change made after the restart arrives.
    let mark = events.len();
    patch_status(&kube, "apps", "service", "web", lb_status("192.0.2.13"));
    wait_until_async("an event after the restart", Duration::from_secs(30), || {
        events.changed_since(mark).contains("service/apps/web")
    })
    .await;
    assert_eq!(lines(&source.endpoints(&oref("service/apps/web"))), vec!["web.example.org A 192.0.2.13"]);
}

/// The shipped ClusterRole is enough, and no more is needed: a ServiceAccount bound only to it
/// (`deploy/rbac/`), with a token from the TokenRequest API, lists and watches for every source
/// (including the on-demand watches) and writes DNSEndpoint status without a Forbidden; a
/// ServiceAccount without the binding is refused, which the health says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_serviceaccount_with_the_shipped_cluster_role() {
    let Some(kube) = apiserver() else { return };
    kube.install_crds(CLUSTER_SOURCE_CRDS).expect("CRDs");
    for y in [APPS, HEADLESS, NODEPORT, ROUTES, DNSENDPOINT, POD_SOURCE] {
        apply(&kube, y);
    }
    set_statuses(&kube, true, true, true);
    install_shipped_rbac(&kube);
    kubectl(&kube, &["-n", "exodns", "create", "serviceaccount", "nobody"]);
    let sa_kubeconfig = kube.service_account_kubeconfig("exodns", "exodns").expect("kubeconfig of exodns");
    let nobody_kubeconfig = kube.service_account_kubeconfig("exodns", "nobody").expect("kubeconfig of nobody");

    let kinds = cluster_sources();
    let c = exodns_kube::connect(&settings(&sa_kubeconfig)).await.unwrap();
    let (source, _events) = start_source(c, &kinds, SourceConfig::default());
    let mut seen_errors: Vec<String> = Vec::new();
    wait_until_async("every source synced with the ServiceAccount", Duration::from_secs(60), || {
        seen_errors.extend(source.health().into_iter().filter_map(|h| h.error));
        healthy(&source)
    })
    .await;
    assert!(seen_errors.iter().all(|e| !e.to_lowercase().contains("forbidden")), "{seen_errors:?}");
    let watched: BTreeSet<Watched> = source.watch_status().keys().copied().collect();
    // ListenerSets are read only with --gateway-listener-sets; what --unstructured-resource
    // chooses is not covered by the shipped role (it/unstructured.rs).
    let all: BTreeSet<Watched> =
        Watched::ALL.iter().copied().filter(|w| *w != Watched::ListenerSets && !w.is_chosen()).collect();
    assert_eq!(watched, all, "every resource is watched (on-demand ones included)");
    assert_eq!(lines(&source.endpoints(&oref("tcproute/apps/db"))), vec!["tcp.example.org A 192.0.2.30"]);
    source.published(&oref("crd/apps/records"));
    wait_until_async("status.observedGeneration written with the ServiceAccount", Duration::from_secs(10), || {
        kubectl(&kube, &["-n", "apps", "get", "dnsendpoint", "records", "-o", "jsonpath={.status.observedGeneration}"])
            .trim()
            == "1"
    })
    .await;

    // Control: without the binding, Forbidden — reported in the health, by source.
    let c = exodns_kube::connect(&settings(&nobody_kubeconfig)).await.unwrap();
    let (denied, _e) = start_source(c, &[SourceKind::Service], SourceConfig::default());
    wait_until_async("a Forbidden health error", Duration::from_secs(20), || {
        health_of(&denied, "service").error.is_some_and(|e| e.contains("forbidden"))
    })
    .await;
    eprintln!("{:?}", health_of(&denied, "service").error);
}
