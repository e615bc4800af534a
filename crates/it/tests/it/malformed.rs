//! Bad input in a live cluster: 50 Services with malformed annotations next to 5 good ones. Every
//! bad object is named in exodns's log within 2 s and in a Warning Event within 5 s; none of them
//! gets a record; the good ones are published.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, free_port};

use crate::common::{apply, http_get, kubectl};

const ZONE: &str = "example.org";

/// A LoadBalancer Service whose address comes from its target annotation (no load-balancer
/// controller needed); `annotations` are JSON members.
fn service(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{{annotations}}}\nspec: {{type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{{port: 80}}]}}\n"
    )
}

fn host_and_target(host: &str, target: &str) -> String {
    format!(
        "\"external-dns.kubernetes.io/hostname\": {}, \"external-dns.kubernetes.io/target\": {}",
        serde_json::to_string(host).unwrap(),
        serde_json::to_string(target).unwrap()
    )
}

/// 50 Services, each wrong in one way: labels of 300 characters, empty labels, misplaced
/// wildcards, Unicode that IDNA refuses, bad TTLs, bad targets, a set identifier with a space.
fn bad_services() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..50 {
        let name = format!("bad-{i}");
        let good_host = format!("{name}.{ZONE}");
        let ann = match i / 7 {
            0 => host_and_target(&format!("{}.{ZONE}", "x".repeat(300)), "192.0.2.99"),
            1 => host_and_target(&format!("{name}..{ZONE}"), "192.0.2.99"),
            2 => host_and_target(&format!("a.*.{name}.{ZONE}"), "192.0.2.99"),
            3 => host_and_target(&format!("\u{301}{name}.{ZONE}"), "192.0.2.99"),
            4 => {
                let ttl = ["abc", "-1", "0", "99999999999", "1x", "5 0", "1.5.3"][i % 7];
                format!("{}, \"external-dns.kubernetes.io/ttl\": \"{ttl}\"", host_and_target(&good_host, "192.0.2.99"))
            }
            5 => host_and_target(
                &good_host,
                ["999.1.1.1", "300.300.300.300", "not_valid!", "1.2.3", "-a.example.net", "a..b", "x.123"][i % 7],
            ),
            _ => format!(
                "{}, \"external-dns.kubernetes.io/set-identifier\": \"a b\"",
                host_and_target(&good_host, "192.0.2.99")
            ),
        };
        out.push((name.clone(), service(&name, &ann)));
    }
    out
}

fn start(bin: &Path, kube: &KubeApiserver, pdns: &Pdns) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--source=service", "--provider=pdns", "--policy=sync", "--txt-owner-id=malformed"])
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--metrics-address=127.0.0.1:{port}"))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "info");
    (Proc::spawn("exodns", &mut cmd), port)
}

/// The objects named by Warning Events `InvalidInput` in the namespace.
fn objects_with_events(kube: &KubeApiserver) -> BTreeSet<String> {
    let out = kubectl(
        kube,
        &[
            "-n",
            "default",
            "get",
            "events.events.k8s.io",
            "-o",
            "jsonpath={range .items[?(@.reason==\"InvalidInput\")]}{.regarding.name}{\"\\n\"}{end}",
        ],
    );
    out.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_malformed_services_are_each_named_in_the_log_and_an_event_and_the_good_ones_publish() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    let (x, port) = start(&bin, &kube, &pdns);
    let ready = Instant::now();
    while http_get(port, "/readyz").is_none_or(|(code, _)| code != 200) {
        assert!(ready.elapsed() < Duration::from_secs(30), "not ready:\n{}", x.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let bad = bad_services();
    let good: Vec<String> = (0..5)
        .map(|i| {
            service(&format!("good-{i}"), &host_and_target(&format!("good-{i}.{ZONE}"), &format!("192.0.2.{}", 10 + i)))
        })
        .collect();
    let all: Vec<&str> = bad.iter().map(|(_, y)| y.as_str()).chain(good.iter().map(String::as_str)).collect();
    apply(&kube, &all.join("---\n"));
    let created = Instant::now();

    // The log names every bad object within 2 s.
    let unnamed = |log: &str| -> Vec<String> {
        bad.iter().map(|(n, _)| n).filter(|n| !log.contains(&format!("object=service/default/{n} "))).cloned().collect()
    };
    loop {
        let missing = unnamed(&x.log());
        if missing.is_empty() {
            break;
        }
        assert!(created.elapsed() < Duration::from_secs(2), "not named in the log after 2 s: {missing:?}\n{}", x.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logged = created.elapsed();

    // An Event on every bad object within 5 s.
    loop {
        let with = objects_with_events(&kube);
        let missing: Vec<&String> = bad.iter().map(|(n, _)| n).filter(|n| !with.contains(*n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(created.elapsed() < Duration::from_secs(5), "no Event after 5 s for {missing:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("all 50 named in the log after {logged:?}, in Events after {:?}", created.elapsed());

    // The good ones are published (asked of the DNS server), the bad ones have no record.
    for i in 0..5 {
        let name = format!("good-{i}.{ZONE}");
        let ip = format!("192.0.2.{}", 10 + i);
        pdns.wait_for_answers(&name, "A", &[&ip], Duration::from_secs(10), || x.log()).await;
    }
    let names: BTreeSet<String> =
        pdns.rrsets(ZONE).await.expect("zone").keys().map(|(n, _)| n.trim_end_matches('.').to_owned()).collect();
    let foreign: Vec<&String> = names.iter().filter(|n| n.contains("bad-") || n.starts_with("xxx")).collect();
    assert!(foreign.is_empty(), "records for bad objects: {foreign:?}");
    for i in [28, 35] {
        assert!(pdns.answers(&format!("bad-{i}.{ZONE}"), "A").await.is_empty(), "bad-{i} answered");
    }
    // Said once: a bad object recomputed with the same fault logs nothing new. (The good
    // Service changed after it shows when both changes were taken in: one watch, in order.)
    let said = |log: &str| log.lines().filter(|l| l.contains("invalid input")).count();
    let before = said(&x.log());
    kubectl(&kube, &["-n", "default", "annotate", "service", "bad-0", "touched=yes"]);
    kubectl(
        &kube,
        &[
            "-n",
            "default",
            "annotate",
            "--overwrite",
            "service",
            "good-0",
            "external-dns.kubernetes.io/target=192.0.2.50",
        ],
    );
    pdns.wait_for_answers(&format!("good-0.{ZONE}"), "A", &["192.0.2.50"], Duration::from_secs(10), || x.log()).await;
    assert_eq!(said(&x.log()), before, "{}", x.log());
}

/// `--once` with DNSEndpoints: every refused entry is logged (before, nothing was, even at
/// debug level), and `status.observedGeneration` is written after the sync (before, the process
/// ended before its background write did).
#[test]
fn once_logs_every_refused_dnsendpoint_entry_and_writes_its_status() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    kube.install_crds(&["dnsendpoint"]).expect("CRD");
    apply(
        &kube,
        r#"
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: mixed, namespace: default}
spec:
  endpoints:
  - {dnsName: ok.example.org, recordType: A, targets: [192.0.2.1]}
  - {dnsName: a.example.org, recordType: A, targets: [lb.example.net]}
  - {dnsName: mx.example.org, recordType: MX, targets: [mail.example.org]}
  - {dnsName: ns.example.org, recordType: NS, targets: [ns1.example.net.]}
  - {dnsName: _s._tcp.example.org, recordType: SRV, targets: ["0 5 70000 s.example.org."]}
"#,
    );
    let out = Command::new(&bin)
        .args(["--once", "--source=crd", "--provider=inmemory", "--inmemory-zone=example.org", "--policy=sync"])
        .args(["--managed-record-types=A", "--managed-record-types=MX", "--managed-record-types=NS"])
        .args(["--managed-record-types=SRV", "--log-level=warning"])
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env_remove("RUST_LOG")
        .output()
        .expect("run");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for field in ["spec.endpoints[1].targets", "spec.endpoints[2].targets", "spec.endpoints[4].targets"] {
        assert!(
            log.lines()
                .any(|l| l.contains("invalid input") && l.contains("object=crd/default/mixed") && l.contains(field)),
            "{field} not logged:\n{log}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok.example.org") && stdout.contains("ns.example.org"), "{stdout}");
    let observed = kubectl(
        &kube,
        &["-n", "default", "get", "dnsendpoint", "mixed", "-o", "jsonpath={.status.observedGeneration}"],
    );
    assert_eq!(observed.trim(), "1", "status not written by the --once run:\n{log}");
}
