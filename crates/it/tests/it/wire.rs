//! The webhook client's wire form against upstream ExternalDNS v0.22.0's: both drive a recording
//! webhook server from the same objects, and the `Changes` (and `/adjustendpoints` bodies) they
//! send must be equal byte for byte (each list sorted). Third-party webhook providers are written against upstream's form:
//! names as written (`Web.Example.org`), targets as written (`0 50 5060 sip.example.org.`), TXT
//! values unquoted as the user gave them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::{WebhookRecorder, exodns_bin, free_port, skip_or_fail};
use serde_json::value::RawValue;

use crate::common::{apply, patch_status};

/// The zones both clients are told they may write.
const DOMAIN_FILTER: &str = r#"{"include":["example.org","example.net"]}"#;

/// A `Changes` body as its lists, each item's bytes as sent, sorted.
fn sorted_changes(body: &str) -> BTreeMap<String, Vec<String>> {
    let lists: BTreeMap<String, Vec<&RawValue>> = serde_json::from_str(body).expect("Changes JSON");
    lists
        .into_iter()
        .map(|(k, items)| {
            let mut v: Vec<String> = items.iter().map(|i| i.get().to_owned()).collect();
            v.sort();
            (k, v)
        })
        .collect()
}

/// Service, Node and DNSEndpoint objects whose records upstream writes in a form of their own:
/// names in capitals, targets with trailing dots, TXT without quotes, an IPv6 in capitals.
const OBJECTS: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {external-dns.kubernetes.io/hostname: Web.Example.org, external-dns.kubernetes.io/ttl: "120"}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: default
  annotations: {external-dns.kubernetes.io/hostname: lb.example.org}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: tgt
  namespace: default
  annotations: {external-dns.kubernetes.io/hostname: tgt.example.org, external-dns.kubernetes.io/target: Edge.Example.net.}
spec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: sip
  namespace: default
  annotations: {external-dns.kubernetes.io/hostname: Sip.example.org}
spec: {type: NodePort, ports: [{port: 5060, nodePort: 30060, protocol: UDP}]}
---
apiVersion: v1
kind: Node
metadata: {name: worker}
---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: recs, namespace: default}
spec:
  endpoints:
  - {dnsName: Mx.example.org, recordType: MX, targets: ["10 Mail.example.org"]}
  - {dnsName: mx2.example.org, recordType: MX, targets: ["10 mail.example.org."]}
  - {dnsName: _sip._udp.example.org, recordType: SRV, targets: ["0 50 5060 sip.example.org."]}
  - {dnsName: txt.example.org, recordType: TXT, targets: ["hello world"]}
  - {dnsName: q.example.org, recordType: TXT, targets: ["\"quoted\""]}
  - {dnsName: sub.example.org, recordType: NS, targets: ["ns1.example.net"]}
  - {dnsName: c.example.org, recordType: CNAME, targets: ["alias.example.net."]}
  - {dnsName: c2.example.org, recordType: CNAME, targets: ["alias.example.net"]}
  - {dnsName: v6.example.org, recordType: AAAA, targets: ["2001:DB8::1"]}
  - {dnsName: set.example.org, recordType: A, targets: ["192.0.2.7"], setIdentifier: one, recordTTL: 300}
"#;

fn run(bin: &Path, args: &[String]) -> String {
    let out = Command::new(bin).args(args).env_remove("RUST_LOG").output().expect("run");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{} failed:\n{log}", bin.display());
    log
}

#[test]
fn exodns_sends_upstreams_changes_byte_for_byte() {
    let Some(exodns) = exodns_bin() else { return };
    let Some(upstream) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    kube.install_crds(&["dnsendpoint"]).expect("CRD");
    apply(&kube, OBJECTS);
    let lb = |ingress: serde_json::Value| serde_json::json!({"status": {"loadBalancer": {"ingress": [ingress]}}});
    patch_status(&kube, "default", "service", "web", lb(serde_json::json!({"ip": "203.0.113.10"})));
    patch_status(&kube, "default", "service", "lb", lb(serde_json::json!({"hostname": "lb-1.cloud.example.net"})));
    patch_status(&kube, "default", "service", "tgt", lb(serde_json::json!({"ip": "203.0.113.11"})));
    let node = serde_json::json!({"status": {"addresses": [{"type": "ExternalIP", "address": "198.51.100.1"}]}});
    patch_status(&kube, "", "node", "worker", node);

    let flags = |url: &str| -> Vec<String> {
        let mut v: Vec<String> = [
            "--source=service",
            "--source=crd",
            "--provider=webhook",
            "--policy=sync",
            "--registry=txt",
            "--txt-owner-id=wire",
            "--once",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for t in ["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "NS"] {
            v.push(format!("--managed-record-types={t}"));
        }
        v.push(format!("--kubeconfig={}", kube.kubeconfig_path().display()));
        v.push(format!("--webhook-provider-url={url}"));
        v.push(format!("--metrics-address=127.0.0.1:{}", free_port()));
        v
    };
    let recorder = || WebhookRecorder::with_domain_filter(DOMAIN_FILTER).expect("webhook recorder");
    let theirs = recorder();
    let up_log = run(&upstream, &flags(&theirs.url()));
    let ours = recorder();
    let our_log = run(&exodns, &flags(&ours.url()));

    let up = theirs.bodies("/records");
    let ex = ours.bodies("/records");
    assert_eq!(up.len(), 1, "upstream sent {up:?}:\n{up_log}");
    assert_eq!(ex.len(), 1, "exodns sent {ex:?}:\n{our_log}");
    let (up, ex) = (sorted_changes(&up[0]), sorted_changes(&ex[0]));
    assert!(up["create"].len() > 20, "{up:#?}");
    for (list, want) in &up {
        let got = ex.get(list).cloned().unwrap_or_default();
        let missing: Vec<&String> = want.iter().filter(|i| !got.contains(i)).collect();
        let extra: Vec<&String> = got.iter().filter(|i| !want.contains(i)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{list}: upstream only {missing:#?}\nexodns only {extra:#?}");
    }
    assert_eq!(up, ex);

    // The desired endpoints sent to `/adjustendpoints` too.
    let sorted = |bodies: Vec<String>| -> Vec<Vec<String>> {
        bodies
            .iter()
            .map(|b| {
                let items: Vec<&RawValue> = serde_json::from_str(b).expect("Endpoint array");
                let mut v: Vec<String> = items.iter().map(|i| i.get().to_owned()).collect();
                v.sort();
                v
            })
            .collect()
    };
    assert_eq!(sorted(theirs.bodies("/adjustendpoints")), sorted(ours.bodies("/adjustendpoints")));
}
