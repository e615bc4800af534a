//! The promise of exodns: a zone that upstream ExternalDNS v0.22.0 manages can be handed to
//! exodns with the same owner id and see zero DNS writes. Upstream (the real binary) publishes
//! from a real kube-apiserver into a real PowerDNS; then `exodns plan` must plan nothing, and an
//! exodns sync must leave the zone's SOA serial (which PowerDNS raises on every write) as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::{Pdns, PdnsOptions, dns_query, exodns_bin, free_port, skip_or_fail};

const ZONE: &str = "example.org";
/// 32 raw bytes, as `--txt-encrypt-aes-key` takes them.
const AES_KEY: &str = "0123456789abcdef0123456789abcdef";

fn upstream_bin() -> Option<PathBuf> {
    let bin = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN");
    if bin.is_none() {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
    }
    bin
}

fn run(bin: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let out = Command::new(bin).args(args).envs(env.iter().copied()).output().expect("run");
    assert!(out.status.success(), "{} {args:?} failed:\n{}", bin.display(), String::from_utf8_lossy(&out.stderr));
    out
}

/// Flags both tools understand, with the same meaning.
fn common_flags(kube: &KubeApiserver, pdns: &Pdns, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--source=service",
        "--source=ingress",
        "--provider=pdns",
        "--policy=sync",
        "--registry=txt",
        "--txt-owner-id=cluster-a",
        "--domain-filter=example.org",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("--kubeconfig={}", kube.kubeconfig_path().display()));
    v.push(format!("--pdns-server={}", pdns.api_url()));
    v.push(format!("--pdns-api-key={}", pdns.api_key()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

async fn soa_serial(pdns: &Pdns) -> u64 {
    pdns.get_zone(ZONE).await.expect("zone")["serial"].as_u64().expect("serial")
}

fn cluster_objects(kube: &KubeApiserver) {
    let svc = |name: &str, host: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {host}\n    external-dns.kubernetes.io/ttl: \"120\"\nspec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
        )
    };
    kube.apply_yaml(&svc("web", "web.example.org")).unwrap();
    kube.apply_yaml(&svc("lb", "lb.example.org,alias.example.org")).unwrap();
    kube.apply_yaml(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: shop\n  namespace: default\nspec:\n  rules:\n  - host: shop.example.org\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend: {service: {name: web, port: {number: 80}}}\n",
    )
    .unwrap();
    kube.patch_status(
        "default",
        "service",
        "web",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}"#,
    )
    .unwrap();
    kube.patch_status(
        "default",
        "service",
        "lb",
        r#"{"status":{"loadBalancer":{"ingress":[{"hostname":"lb-1.cloud.example.net"}]}}}"#,
    )
    .unwrap();
    kube.patch_status(
        "default",
        "ingress",
        "shop",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.20"}]}}}"#,
    )
    .unwrap();
}

async fn handover(extra: &[&str], web_txt: &str) {
    let Some(exodns) = exodns_bin() else { return };
    let Some(upstream) = upstream_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    cluster_objects(&kube);

    // Upstream publishes the zone.
    let mut up = common_flags(&kube, &pdns, extra);
    up.extend(["--once".into(), "--log-level=warning".into(), format!("--metrics-address=127.0.0.1:{}", free_port())]);
    run(&upstream, &up, &[]);
    let a = |name: &str| {
        let pdns = &pdns;
        let name = name.to_owned();
        async move { dns_query(pdns.dns_addr(), pdns.dns_port(), &name, "A").await.unwrap_or_default() }
    };
    assert_eq!(a("web.example.org").await, ["203.0.113.10"], "upstream did not publish");
    assert_eq!(a("shop.example.org").await, ["203.0.113.20"]);
    let cname = dns_query(pdns.dns_addr(), pdns.dns_port(), "alias.example.org", "CNAME").await.unwrap();
    assert_eq!(cname, ["lb-1.cloud.example.net."]);
    let before = soa_serial(&pdns).await;

    // exodns, same owner, same flags: nothing to do.
    let mut plan = vec!["plan".to_string(), "--color=never".to_string()];
    plan.extend(common_flags(&kube, &pdns, extra));
    let out = run(&exodns, &plan, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 to create, 0 to update, 0 to delete"), "exodns would change upstream's zone:\n{text}");
    assert!(!text.contains("not touching"), "exodns sees upstream's records as foreign:\n{text}");

    let mut once = common_flags(&kube, &pdns, extra);
    once.extend(["--once".into(), format!("--metrics-address=127.0.0.1:{}", free_port())]);
    let out = run(&exodns, &once, &[("RUST_LOG", "info")]);
    assert_eq!(soa_serial(&pdns).await, before, "exodns wrote to the zone:\n{}", String::from_utf8_lossy(&out.stderr));

    // And it does own them: a change in the cluster goes through.
    kube.patch_status(
        "default",
        "service",
        "web",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.11"}]}}}"#,
    )
    .unwrap();
    run(&exodns, &once, &[]);
    assert_eq!(a("web.example.org").await, ["203.0.113.11"]);
    let txt = dns_query(pdns.dns_addr(), pdns.dns_port(), web_txt, "TXT").await.unwrap();
    assert_eq!(txt.len(), 1, "{web_txt}: {txt:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_zone_hands_over_with_zero_writes() {
    handover(&[], "a-web.example.org").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_zone_with_prefix_and_encryption_hands_over_with_zero_writes() {
    let key = format!("--txt-encrypt-aes-key={AES_KEY}");
    handover(&["--txt-prefix=reg-%{record_type}-", "--txt-encrypt-enabled", &key], "reg-a-web.example.org").await;
}

/// Records at the zone apex, from a DNSEndpoint.
const APEX: &str = r#"
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: apex, namespace: default}
spec:
  endpoints:
  - {dnsName: example.org, recordType: MX, targets: ["10 mail.example.org"]}
  - {dnsName: example.org, recordType: A, targets: ["192.0.2.1"]}
  - {dnsName: example.org, recordType: TXT, targets: ["v=spf1 -all"]}
"#;

/// Upstream names the ownership TXT of an apex record `mx-example.org`, outside the zone: the
/// record would be owned by nobody. exodns keeps it inside the zone (`mx-_apex.example.org`),
/// creates, updates and deletes apex records like any other, and upstream, reading the same
/// zone with the same owner id, plans nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apex_records_are_owned_inside_the_zone_and_upstream_leaves_them() {
    let Some(exodns) = exodns_bin() else { return };
    let Some(upstream) = upstream_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    kube.install_crds(&["dnsendpoint"]).expect("CRD");
    kube.apply_yaml(APEX).unwrap();
    let mut flags: Vec<String> = [
        "--source=crd",
        "--provider=pdns",
        "--policy=sync",
        "--registry=txt",
        "--txt-owner-id=cluster-a",
        "--domain-filter=example.org",
        "--managed-record-types=A",
        "--managed-record-types=MX",
        "--managed-record-types=TXT",
        "--once",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    flags.push(format!("--kubeconfig={}", kube.kubeconfig_path().display()));
    flags.push(format!("--pdns-server={}", pdns.api_url()));
    flags.push(format!("--pdns-api-key={}", pdns.api_key()));
    let once = |bin: &Path| {
        let mut args = flags.clone();
        args.push(format!("--metrics-address=127.0.0.1:{}", free_port()));
        String::from_utf8_lossy(&run(bin, &args, &[("RUST_LOG", "info")]).stderr).into_owned()
    };
    let q = |name: &'static str, rt: &'static str| {
        let pdns = &pdns;
        async move { dns_query(pdns.dns_addr(), pdns.dns_port(), name, rt).await.unwrap_or_default() }
    };
    let owner = "\"heritage=external-dns,external-dns/owner=cluster-a,external-dns/resource=crd/default/apex\"";

    let log = once(&exodns);
    assert_eq!(q(ZONE, "MX").await, ["10 mail.example.org."], "{log}");
    assert_eq!(q(ZONE, "A").await, ["192.0.2.1"]);
    assert_eq!(q(ZONE, "TXT").await, ["\"v=spf1 -all\""]);
    for txt in ["mx-_apex.example.org", "a-_apex.example.org", "txt-_apex.example.org"] {
        assert_eq!(q(txt, "TXT").await, [owner], "{txt}:\n{log}");
    }
    assert!(!log.contains("WARN"), "{log}");

    // Upstream v0.22.0, same owner, same objects: not a single write.
    let before = soa_serial(&pdns).await;
    let up = once(&upstream);
    assert_eq!(soa_serial(&pdns).await, before, "upstream wrote to the zone:\n{up}");

    // Updated and deleted like any other record.
    kube.kubectl(
        &[
            "-n",
            "default",
            "patch",
            "dnsendpoint",
            "apex",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/endpoints/0/targets/0","value":"20 mail.example.org"}]"#,
        ],
        None,
    )
    .unwrap();
    let log = once(&exodns);
    assert_eq!(q(ZONE, "MX").await, ["20 mail.example.org."], "{log}");
    kube.kubectl(&["-n", "default", "delete", "dnsendpoint", "apex"], None).unwrap();
    let log = once(&exodns);
    for (name, rt) in [(ZONE, "MX"), (ZONE, "A"), (ZONE, "TXT"), ("mx-_apex.example.org", "TXT")] {
        assert!(q(name, rt).await.is_empty(), "{name} {rt} left:\n{log}");
    }
}
