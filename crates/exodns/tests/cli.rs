//! The binary as a user runs it: the quick start, `exodns plan`, flags and env vars.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn exodns(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exodns")).args(args).env_remove("RUST_LOG").output().expect("run exodns")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn quick_start_args(examples: &str) -> Vec<String> {
    [
        "--once",
        "--source=manifest",
        &format!("--manifest-path={examples}"),
        "--provider=inmemory",
        "--inmemory-zone=example.org",
        "--policy=sync",
        "--txt-owner-id=quickstart",
        "--managed-record-types=A,AAAA,CNAME,TXT,MX,SRV",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One line of the zone listing, split into its fields.
fn zone_line<'a>(listing: &'a str, name: &str, rtype: &str) -> Vec<&'a str> {
    listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name) && f.get(3) == Some(&rtype))
        .unwrap_or_else(|| panic!("no {name} {rtype} in:\n{listing}"))
}

#[test]
fn quick_start_publishes_records_with_ownership() {
    let ex = examples();
    let args = quick_start_args(ex.to_str().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_exodns")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let zone = stdout(&out);
    assert_eq!(zone_line(&zone, "web.example.org.", "A")[1..], ["300", "IN", "A", "203.0.113.10"]);
    assert_eq!(zone_line(&zone, "api.example.org.", "CNAME")[4], "api-1234.lb.example.net");
    let txt = zone_line(&zone, "a-web.example.org.", "TXT");
    assert_eq!(
        txt[4],
        "\"heritage=external-dns,external-dns/owner=quickstart,external-dns/resource=service/default/web\""
    );
    zone_line(&zone, "cname-api.example.org.", "TXT");
    zone_line(&zone, "mail.example.org.", "MX");
    zone_line(&zone, "mx-mail.example.org.", "TXT");
    zone_line(&zone, "_sip._udp.example.org.", "SRV");
}

#[test]
fn env_vars_work_like_flags() {
    let ex = examples();
    let out = Command::new(env!("CARGO_BIN_EXE_exodns"))
        .args(["--once"])
        .env("EXTERNAL_DNS_SOURCE", "manifest")
        .env("EXTERNAL_DNS_MANIFEST_PATH", &ex)
        .env("EXTERNAL_DNS_PROVIDER", "inmemory")
        .env("EXTERNAL_DNS_POLICY", "sync")
        .env("EXTERNAL_DNS_TXT_OWNER_ID", "from-env")
        .env("EXTERNAL_DNS_TXT_PREFIX", "own-")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let zone = stdout(&out);
    let txt = zone_line(&zone, "own-a-web.example.org.", "TXT");
    assert!(txt[4].contains("owner=from-env"), "{zone}");
}

#[test]
fn policy_is_required_as_upstream() {
    let ex = examples();
    let out =
        exodns(&["--once", "--source=manifest", &format!("--manifest-path={}", ex.display()), "--provider=inmemory"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--policy is required"), "{}", stderr(&out));
}

#[test]
fn bad_flags_name_the_flag() {
    let ex = format!("--manifest-path={}", examples().display());
    for (flag, expect) in [
        ("--policy=sometimes", "--policy"),
        ("--managed-record-types=A,BOGUS", "--managed-record-types"),
        ("--regex-domain-filter=(", "--regex-domain-filter"),
        ("--label-filter=a in (", "--label-filter"),
        ("--txt-encrypt-enabled", "--txt-encrypt-aes-key"),
    ] {
        let mut args = vec!["--once", "--source=manifest", &ex, "--provider=inmemory", flag];
        if !flag.starts_with("--policy") {
            args.push("--policy=sync");
        }
        let out = exodns(&args);
        assert!(!out.status.success(), "{flag} accepted");
        assert!(stderr(&out).contains(expect), "{flag}: {}", stderr(&out));
    }
}

/// A zone as the registry returns it, written to `dir`: web has an old address,
/// gone.example.org is ours but no longer wanted, shop.example.org belongs to someone else, and
/// one record is unreadable.
fn mk_current_zone(dir: &Path) -> PathBuf {
    let current = dir.join("zone.json");
    std::fs::write(
        &current,
        r#"[
  {"dnsName":"web.example.org","targets":["198.51.100.1"],"recordType":"A","recordTTL":300,"labels":{"owner":"default","resource":"service/default/web"}},
  {"dnsName":"gone.example.org","targets":["198.51.100.2"],"recordType":"A","labels":{"owner":"default","resource":"service/default/gone"}},
  {"dnsName":"shop.example.org","targets":["198.51.100.3"],"recordType":"A","labels":{"owner":"someone-else"}},
  {"dnsName":"bad..example.org","targets":["1.2.3.4"],"recordType":"A"}
]"#,
    )
    .unwrap();
    current
}

fn plan_against(current: &Path, output: &str) -> Output {
    exodns(&[
        "plan",
        "--source=manifest",
        &format!("--manifest-path={}", examples().display()),
        "--policy=sync",
        "--color=never",
        &format!("--output={output}"),
        &format!("--current-endpoints={}", current.display()),
    ])
}

#[test]
fn plan_against_current_endpoints_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan_against(&mk_current_zone(dir.path()), "json");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad..example.org"), "the bad record is reported: {}", stderr(&out));
    let changes: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names = |key: &str| -> Vec<String> {
        changes[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("{} {}", e["dnsName"].as_str().unwrap(), e["recordType"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names("updateOld"), ["web.example.org A", "a-web.example.org TXT"]);
    assert_eq!(changes["updateNew"][0]["targets"][0], "203.0.113.10");
    assert_eq!(names("delete"), ["gone.example.org A", "a-gone.example.org TXT"]);
    let created = names("create");
    assert!(created.contains(&"app.example.org A".to_string()), "{created:?}");
    assert!(!created.iter().any(|n| n.starts_with("shop.")), "took over a foreign name: {created:?}");
}

#[test]
fn plan_diff_is_readable() {
    let out = exodns(&[
        "plan",
        "--source=manifest",
        &format!("--manifest-path={}", examples().display()),
        "--provider=inmemory",
        "--policy=sync",
        "--color=never",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("+ create web.example.org A  203.0.113.10 ttl=300  (service/default/web)"), "{text}");
    assert!(text.contains("6 to create, 0 to update, 0 to delete"), "{text}");
}

/// The whole plan of the examples against that zone, as text and as webhook `Changes` JSON:
/// a change of wording, order or wire shape shows up here for review (`cargo insta review`).
#[test]
fn plan_output_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let current = mk_current_zone(dir.path());
    let text = plan_against(&current, "diff");
    assert!(text.status.success(), "{}", stderr(&text));
    insta::assert_snapshot!("plan_text", stdout(&text));
    let json = plan_against(&current, "json");
    assert!(json.status.success(), "{}", stderr(&json));
    serde_json::from_str::<serde_json::Value>(&stdout(&json)).expect("the JSON output parses");
    // The bytes as printed: field order and layout are part of what a pipeline reads.
    insta::assert_snapshot!("plan_json", stdout(&json));
}

#[test]
fn a_broken_manifest_reports_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples().join("services.yaml"), dir.path().join("services.yaml")).unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [not, a, map]\n").unwrap();
    let mut args = quick_start_args(dir.path().to_str().unwrap());
    args.retain(|a| !a.starts_with("--managed"));
    let out = Command::new(env!("CARGO_BIN_EXE_exodns")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.yaml"), "{}", stderr(&out));
    zone_line(&stdout(&out), "web.example.org.", "A");
}

/// CPU seconds a process has used so far (utime + stime from /proc).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn an_idle_controller_sleeps() {
    let ex = examples();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exodns"))
        .args([
            "--source=manifest",
            &format!("--manifest-path={}", ex.display()),
            "--provider=inmemory",
            "--policy=sync",
            "--metrics-address=127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it start and sync, then measure a quiet spell.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let before = cpu_seconds(child.id());
    std::thread::sleep(std::time::Duration::from_secs(3));
    let used = cpu_seconds(child.id()) - before;
    let _ = child.kill();
    let _ = child.wait();
    assert!(used < 0.3, "an idle exodns used {used:.2} s of CPU in 3 s");
}

/// `exodns plan` over `manifest` (written to a temporary folder) with `args`: the names it would
/// create, as `name TYPE`.
fn planned_names(manifest: &str, args: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = planned_records(manifest, args)
        .iter()
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    names.sort();
    names
}

const INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: apps}
spec:
  rules: [{host: rules.example.org}]
  tls: [{hosts: [tls.example.org]}]
status:
  loadBalancer: {ingress: [{ip: 203.0.113.20}]}
";

#[test]
fn ignore_ingress_tls_spec_flag() {
    let both = planned_names(INGRESS, &["--source=ingress"]);
    assert_eq!(both, ["rules.example.org A", "tls.example.org A"]);
    assert_eq!(planned_names(INGRESS, &["--source=ingress", "--ignore-ingress-tls-spec"]), ["rules.example.org A"]);
}

#[test]
fn ignore_ingress_rules_spec_flag() {
    assert_eq!(planned_names(INGRESS, &["--source=ingress", "--ignore-ingress-rules-spec"]), ["tls.example.org A"]);
}

#[test]
fn exclude_unschedulable_flag() {
    let nodes = "apiVersion: v1
kind: Node
metadata: {name: up.nodes.example.org}
status: {addresses: [{type: ExternalIP, address: 192.0.2.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: cordoned.nodes.example.org}
spec: {unschedulable: true}
status: {addresses: [{type: ExternalIP, address: 192.0.2.2}]}
";
    let both = ["cordoned.nodes.example.org A", "up.nodes.example.org A"];
    // Upstream's default: true.
    assert_eq!(planned_names(nodes, &["--source=node"]), ["up.nodes.example.org A"]);
    assert_eq!(planned_names(nodes, &["--source=node", "--exclude-unschedulable"]), ["up.nodes.example.org A"]);
    assert_eq!(planned_names(nodes, &["--source=node", "--exclude-unschedulable=false"]), both);
    assert_eq!(planned_names(nodes, &["--source=node", "--no-exclude-unschedulable"]), both);
}

#[test]
fn ignore_non_host_network_pods_flag() {
    let pods = "apiVersion: v1
kind: Pod
metadata:
  name: agent
  namespace: apps
  annotations: {external-dns.alpha.kubernetes.io/internal-hostname: agent.pods.example.org}
spec: {hostNetwork: true, nodeName: n1}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: apps
  annotations: {external-dns.alpha.kubernetes.io/internal-hostname: web.pods.example.org}
spec: {nodeName: n1}
status: {podIP: 10.244.1.7}
";
    assert_eq!(planned_names(pods, &["--source=pod"]), ["agent.pods.example.org A", "web.pods.example.org A"]);
    assert_eq!(planned_names(pods, &["--source=pod", "--ignore-non-host-network-pods"]), ["agent.pods.example.org A"]);
}

/// `exodns plan` over `manifest` (written to a temporary folder) with `args`: the create lines,
/// as `name TYPE targets ttl=N`.
fn planned_records(manifest: &str, args: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("objects.yaml"), manifest).unwrap();
    let path = format!("--manifest-path={}", dir.path().display());
    let mut all = vec!["plan", "--source=manifest", &path, "--provider=inmemory", "--policy=sync", "--color=never"];
    all.extend_from_slice(args);
    let out = exodns(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let mut lines: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("+ create "))
        .map(|l| l.split("  (").next().unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// A DNSEndpoint with the records the target flags act on.
const TARGETS: &str = "apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: targets, namespace: apps}
spec:
  endpoints:
  - {dnsName: v4.example.org, recordType: A, targets: [10.1.0.1, 10.9.0.1, 192.0.2.1]}
  - {dnsName: public.example.org, recordType: A, targets: [192.0.2.2]}
  - {dnsName: v6.example.org, recordType: AAAA, targets: ['64:ff9b::c000:205', '2001:db8::5']}
  - {dnsName: alias.example.org, recordType: CNAME, targets: [lb.example.net]}
  - {dnsName: fixed.example.org, recordType: A, targets: [192.0.2.9], recordTTL: 30}
";

#[test]
fn target_net_filter_and_exclude_target_net_flags() {
    let crd = ["--source=crd"];
    assert_eq!(planned_names(TARGETS, &crd).len(), 5);
    assert_eq!(
        planned_records(
            TARGETS,
            &["--source=crd", "--target-net-filter=10.0.0.0/8", "--exclude-target-net=10.9.0.0/16"]
        ),
        ["v4.example.org A 10.1.0.1"],
        "only addresses in the filter and outside the exclusion; a CNAME's host name is no address"
    );
    assert_eq!(
        planned_names(
            TARGETS,
            &["--source=crd", "--exclude-target-net=192.0.2.0/24", "--exclude-target-net=2001:db8::/32"]
        ),
        ["alias.example.org CNAME", "v4.example.org A", "v6.example.org AAAA"]
    );
    let out = exodns(&["plan", "--source=crd", "--provider=inmemory", "--policy=sync", "--target-net-filter=10.0.0.0"]);
    assert!(!out.status.success() && stderr(&out).contains("--target-net-filter"), "{}", stderr(&out));
}

#[test]
fn nat64_networks_flag() {
    let without = planned_records(TARGETS, &["--source=crd"]);
    assert!(!without.iter().any(|l| l.starts_with("v6.example.org A ")), "{without:?}");
    let with = planned_records(TARGETS, &["--source=crd", "--nat64-networks=64:ff9b::/96"]);
    assert!(with.contains(&"v6.example.org A 192.0.2.5".to_owned()), "{with:?}");
    assert!(with.contains(&"v6.example.org AAAA 2001:db8::5, 64:ff9b::c000:205".to_owned()), "{with:?}");
}

#[test]
fn min_ttl_flag() {
    let recs = planned_records(TARGETS, &["--source=crd", "--min-ttl=2m"]);
    assert!(recs.contains(&"public.example.org A 192.0.2.2 ttl=120".to_owned()), "{recs:?}");
    assert!(recs.contains(&"fixed.example.org A 192.0.2.9 ttl=30".to_owned()), "a set TTL is kept: {recs:?}");
}

#[test]
fn enable_legacy_annotation_prefix_flag() {
    let svc = "apiVersion: v1
kind: Service
metadata:
  name: old
  namespace: apps
  annotations: {external-dns.alpha.kubernetes.io/hostname: old.example.org}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.7}]}}
";
    let read = ["old.example.org A"];
    // exodns's default reads the alpha prefix, as upstream up to v0.21 did.
    assert_eq!(planned_names(svc, &["--source=service"]), read);
    assert_eq!(planned_names(svc, &["--source=service", "--enable-legacy-annotation-prefix"]), read);
    let none: [&str; 0] = [];
    assert_eq!(planned_names(svc, &["--source=service", "--enable-legacy-annotation-prefix=false"]), none);
    assert_eq!(planned_names(svc, &["--source=service", "--no-enable-legacy-annotation-prefix"]), none);
}

#[test]
fn expose_internal_ipv6_flag() {
    let node = "apiVersion: v1
kind: Node
metadata: {name: n1.nodes.example.org}
status:
  addresses:
  - {type: ExternalIP, address: 192.0.2.1}
  - {type: InternalIP, address: 10.0.0.1}
  - {type: InternalIP, address: 'fd00::1'}
";
    assert_eq!(planned_names(node, &["--source=node"]), ["n1.nodes.example.org A"]);
    assert_eq!(
        planned_records(node, &["--source=node", "--expose-internal-ipv6"]),
        ["n1.nodes.example.org A 192.0.2.1", "n1.nodes.example.org AAAA fd00::1"]
    );
}

#[test]
fn compatibility_flag() {
    let objects = "apiVersion: v1
kind: Service
metadata:
  name: mate
  namespace: apps
  annotations: {zalando.org/dnsname: mate.example.org}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: molecule
  namespace: apps
  labels: {dns: route53}
  annotations: {domainName: 'm1.example.org, m2.example.org'}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{hostname: lb.example.net}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: kops-lb
  namespace: apps
  annotations: {dns.alpha.kubernetes.io/external: kops-lb.example.org}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: kops-np
  namespace: apps
  annotations: {dns.alpha.kubernetes.io/internal: kops-np.example.org}
spec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Node
metadata: {name: worker, labels: {node-role.kubernetes.io/node: ''}}
status: {addresses: [{type: ExternalIP, address: 192.0.2.50}, {type: InternalIP, address: 10.0.0.50}]}
---
apiVersion: v1
kind: Node
metadata: {name: control-plane}
status: {addresses: [{type: InternalIP, address: 10.0.0.99}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: kops-pod
  namespace: apps
  annotations: {dns.alpha.kubernetes.io/internal: pod.kops.example.org}
spec: {nodeName: worker}
status: {podIP: 10.244.0.7}
";
    let none: [&str; 0] = [];
    let args = |c: &'static str| ["--source=service", "--source=pod", c];
    assert_eq!(planned_names(objects, &["--source=service", "--source=pod"]), none, "no compatibility: none read");
    assert_eq!(planned_records(objects, &args("--compatibility=mate")), ["mate.example.org A 192.0.2.1"]);
    assert_eq!(
        planned_records(objects, &args("--compatibility=molecule")),
        ["m1.example.org CNAME lb.example.net", "m2.example.org CNAME lb.example.net"]
    );
    assert_eq!(
        planned_records(objects, &args("--compatibility=kops-dns-controller")),
        ["kops-lb.example.org A 192.0.2.3", "kops-np.example.org A 10.0.0.50", "pod.kops.example.org A 10.244.0.7"]
    );
    let out = exodns(&["plan", "--source=service", "--provider=inmemory", "--policy=sync", "--compatibility=kops"]);
    assert!(!out.status.success() && stderr(&out).contains("--compatibility"), "{}", stderr(&out));
}

#[test]
fn fqdn_target_template_flag() {
    let objects = "apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
  annotations: {ip: 192.0.2.30, ip6: '2001:db8::30'}
spec: {type: ClusterIP, clusterIP: 10.96.0.30}
---
apiVersion: v1
kind: Service
metadata:
  name: named
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: named.example.org, ip: 192.0.2.31}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.32}]}}
---
apiVersion: v1
kind: Service
metadata: {name: unfilled, namespace: apps}
spec: {type: ClusterIP, clusterIP: 10.96.0.33}
";
    let template = r#"--fqdn-target-template={{.Name}}.{{.Namespace}}.example.org:{{index .Annotations "ip"}},{{.Name}}.{{.Namespace}}.example.org:{{index .Annotations "ip6"}}"#;
    assert_eq!(
        planned_records(objects, &["--source=service", template]),
        [
            "named.example.org A 192.0.2.32",
            "web.apps.example.org A 192.0.2.30",
            "web.apps.example.org AAAA 2001:db8::30"
        ],
        "pairs for objects without a host of their own; an unfilled target is skipped"
    );
    let combined = planned_records(objects, &["--source=service", template, "--combine-fqdn-annotation"]);
    assert!(combined.contains(&"named.apps.example.org A 192.0.2.31".to_owned()), "{combined:?}");
    let out = exodns(&[
        "plan",
        "--source=service",
        "--provider=inmemory",
        "--policy=sync",
        "--fqdn-target-template={{.Spec}}",
    ]);
    assert!(!out.status.success() && stderr(&out).contains("--fqdn-target-template"), "{}", stderr(&out));
}

#[test]
fn prefer_alias_flag() {
    let plain = planned_records(TARGETS, &["--source=crd"]);
    assert!(plain.contains(&"alias.example.org CNAME lb.example.net".to_owned()), "{plain:?}");
    let alias = planned_records(TARGETS, &["--source=crd", "--prefer-alias"]);
    assert!(alias.contains(&"alias.example.org CNAME lb.example.net alias=true".to_owned()), "{alias:?}");
    assert!(alias.contains(&"public.example.org A 192.0.2.2".to_owned()), "only CNAMEs: {alias:?}");
}

#[test]
fn resolve_service_load_balancer_hostname_flag() {
    // `localhost` resolves from /etc/hosts, without a DNS server.
    let svc = "apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: lb.example.org}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{hostname: localhost}]}}
";
    assert_eq!(planned_records(svc, &["--source=service"]), ["lb.example.org CNAME localhost"]);
    let resolved = planned_records(svc, &["--source=service", "--resolve-service-load-balancer-hostname"]);
    assert!(resolved.contains(&"lb.example.org A 127.0.0.1".to_owned()), "{resolved:?}");
    assert!(resolved.iter().all(|r| !r.contains("CNAME")), "{resolved:?}");
}

#[test]
fn create_ptr_flag() {
    let svcs = "apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: 'web.example.org,www.example.org'}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.10}, {ip: '2001:db8::a'}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: api.example.org, external-dns.kubernetes.io/record-type: ptr}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.11}]}}
";
    let ptr = "--managed-record-types=A,AAAA,CNAME,PTR";
    let with = planned_records(svcs, &["--source=service", ptr, "--create-ptr"]);
    let ptrs: Vec<&String> = with.iter().filter(|l| l.contains(" PTR ")).collect();
    assert_eq!(
        ptrs,
        [
            "10.2.0.192.in-addr.arpa PTR web.example.org, www.example.org",
            "11.2.0.192.in-addr.arpa PTR api.example.org",
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR web.example.org, www.example.org",
        ]
    );
    // Without the flag, only the object whose annotation asks.
    let annotated = planned_records(svcs, &["--source=service", ptr]);
    let ptrs: Vec<&String> = annotated.iter().filter(|l| l.contains(" PTR ")).collect();
    assert_eq!(ptrs, ["11.2.0.192.in-addr.arpa PTR api.example.org"]);
    // PTR not managed: no reverse records, whatever the annotation says (as upstream).
    assert!(planned_records(svcs, &["--source=service"]).iter().all(|l| !l.contains(" PTR ")));
    let out = exodns(&["plan", "--source=service", "--provider=inmemory", "--policy=sync", "--create-ptr"]);
    assert!(!out.status.success() && stderr(&out).contains("--create-ptr"), "{}", stderr(&out));
}

#[test]
fn crd_source_apiversion_and_kind_flags() {
    let args = ["--source=crd", "--crd-source-apiversion=externaldns.k8s.io/v1alpha1", "--crd-source-kind=DNSEndpoint"];
    assert_eq!(planned_names(TARGETS, &args).len(), 5, "upstream's documented values");
    // Upstream v0.21 and later read DNSEndpoints whatever these say; so does exodns, and warns.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("objects.yaml"), TARGETS).unwrap();
    let path = format!("--manifest-path={}", dir.path().display());
    let out = exodns(&[
        "plan",
        "--source=manifest",
        "--source=crd",
        &path,
        "--provider=inmemory",
        "--policy=sync",
        "--crd-source-kind=MyEndpoint",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("+ create ")).count(), 5);
    assert!(stderr(&out).contains("--crd-source-kind=\"MyEndpoint\""), "{}", stderr(&out));
}
