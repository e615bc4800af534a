//! Deployment artefacts: the Helm chart `deploy/helm/exodns`, its DNSEndpoint CRD, its RBAC next
//! to `deploy/rbac/clusterrole.yaml`, and the OCI image archive of `scripts/image/build-oci.sh`.
//!
//! Peers: helm (`EXODNS_HELM_BIN`, v3.22.0 from `go install`), kubectl, a real kube-apiserver
//! (`scripts/testbed/apiserver.sh`) with the CiliumNetworkPolicy, ServiceMonitor and DNSEndpoint
//! CRDs, upstream's chart and CRD in the Go module cache (`sigs.k8s.io/external-dns@v0.22.0`),
//! the exodns binary of this build (`target/<profile>/exodns`, or `EXODNS_BIN`). The variables come
//! from the environment, else from `$EXODNS_CACHE/testbed.env` (written by
//! `scripts/testbed/setup.sh`). A missing peer skips the test with a notice, or fails it with
//! `EXODNS_REQUIRE_PEERS=1`.
//!
//! The OCI test builds the image with `scripts/image/build-oci.sh` (a release musl build in its own
//! target dir, `target/oci-image`, minutes the first time) unless `EXODNS_OCI_ARCHIVE` names an
//! archive built already.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use exodns_sources::SourceKind;
use exodns_testbed::kube::{KubeApiserver, peer_binary, testbed_var};
use exodns_testbed::{exodns_bin, skip_or_fail};
use serde_json::{Value, json};

use crate::common::kubectl;

const RELEASE: &str = "dns";
const NAMESPACE: &str = "exodns-system";
/// Every source exodns reads from Kubernetes (`manifest` reads files and needs no RBAC).
const ALL_SOURCES: &[&str] = &[
    "service",
    "ingress",
    "gateway-httproute",
    "gateway-grpcroute",
    "gateway-tlsroute",
    "gateway-tcproute",
    "gateway-udproute",
    "crd",
    "node",
    "pod",
];

// ---- peers --------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn chart_dir() -> PathBuf {
    repo_root().join("deploy/helm/exodns")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn helm() -> Option<PathBuf> {
    if let Some(p) = peer_binary("EXODNS_HELM_BIN") {
        return Some(p);
    }
    exodns_testbed::have_program("helm").then(|| PathBuf::from("helm"))
}

fn gomodcache() -> PathBuf {
    if let Some(dir) = std::env::var_os("GOMODCACHE") {
        return PathBuf::from(dir);
    }
    let out = Command::new("go").args(["env", "GOMODCACHE"]).output();
    match out {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
        }
        _ => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join("go/pkg/mod"),
    }
}

/// Upstream ExternalDNS v0.22.0 in the Go module cache (`scripts/testbed/crds.sh` downloads it).
fn upstream_module() -> Option<PathBuf> {
    let dir = match testbed_var("EXODNS_DNSENDPOINT_CRD") {
        // …/external-dns@v0.22.0/config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml
        Some(crd) => PathBuf::from(crd)
            .ancestors()
            .nth(4)
            .map(Path::to_path_buf)?,
        None => gomodcache().join("sigs.k8s.io/external-dns@v0.22.0"),
    };
    dir.join("charts/external-dns/Chart.yaml")
        .is_file()
        .then_some(dir)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---- helm ---------------------------------------------------------------------------------------

struct Helm {
    bin: PathBuf,
    /// Isolated helm home: no user repositories or plugins, nothing written outside.
    home: tempfile::TempDir,
}

impl Helm {
    fn get() -> Option<Helm> {
        Some(Helm {
            bin: helm()?,
            home: tempfile::tempdir().expect("tempdir"),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        let h = self.home.path();
        c.env("HELM_CACHE_HOME", h.join("cache"))
            .env("HELM_CONFIG_HOME", h.join("config"))
            .env("HELM_DATA_HOME", h.join("data"));
        c
    }

    fn values_file(&self, name: &str, yaml: &str) -> PathBuf {
        let p = self.home.path().join(format!("{name}.values.yaml"));
        std::fs::write(&p, yaml).expect("write values");
        p
    }

    /// `helm lint --strict` of `chart` with the values file.
    fn lint(&self, chart: &Path, values: &Path) -> Result<String, String> {
        let o = run(self
            .cmd()
            .arg("lint")
            .arg("--strict")
            .arg(chart)
            .arg("-f")
            .arg(values)
            .args(["-n", NAMESPACE]));
        let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
        if o.status.success() {
            Ok(out)
        } else {
            Err(out)
        }
    }

    /// `helm template` of `chart` with the values file (and extra flags); the rendered YAML.
    fn template(&self, chart: &Path, values: &Path, extra: &[&str]) -> Result<String, String> {
        let o = run(self
            .cmd()
            .args(["template", RELEASE])
            .arg(chart)
            .args(["-n", NAMESPACE])
            .arg("-f")
            .arg(values)
            .args(extra));
        if o.status.success() {
            Ok(text(&o.stdout))
        } else {
            Err(text(&o.stderr))
        }
    }
}

/// The documents of a rendering (comments and empty documents dropped).
fn docs(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml)
        .unwrap_or_else(|e| panic!("rendering is not YAML: {e}\n{yaml}"));
    docs.into_iter().filter(|d| d.is_object()).collect()
}

fn kinds(docs: &[Value]) -> BTreeSet<String> {
    docs.iter()
        .map(|d| d["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found = find(docs, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

fn container<'a>(deploy: &'a Value, name: &str) -> &'a Value {
    deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name} in {deploy:#}"))
}

fn args(c: &Value) -> Vec<String> {
    c["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `--flag=value` / `--flag` → `flag`.
fn flag_name(arg: &str) -> &str {
    let a = arg.trim_start_matches('-');
    a.split_once('=').map_or(a, |(k, _)| k)
}

/// (apiGroup, resource, verb) triples of RBAC rules (resourceNames kept apart: `resource#name`).
fn triples(rules: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    for rule in rules.as_array().into_iter().flatten() {
        let names: Vec<String> = rule["resourceNames"]
            .as_array()
            .map(|a| a.iter().map(s).collect())
            .unwrap_or_default();
        for g in rule["apiGroups"].as_array().into_iter().flatten() {
            for r in rule["resources"].as_array().into_iter().flatten() {
                for v in rule["verbs"].as_array().into_iter().flatten() {
                    if names.is_empty() {
                        out.insert((s(g), s(r), s(v)));
                    }
                    for n in &names {
                        out.insert((s(g), format!("{}#{n}", s(r)), s(v)));
                    }
                }
            }
        }
    }
    out
}

fn rules_of(docs: &[Value], kind: &str) -> BTreeSet<(String, String, String)> {
    find(docs, kind)
        .iter()
        .flat_map(|d| triples(&d["rules"]))
        .collect()
}

fn selector_labels() -> Value {
    json!({"app.kubernetes.io/name": "exodns", "app.kubernetes.io/instance": RELEASE})
}

// ---- the scenarios every test renders -----------------------------------------------------------

/// One values file of the chart and what its rendering must hold.
struct Scenario {
    name: &'static str,
    values: String,
    check: fn(&[Value]),
}

fn scenarios() -> Vec<Scenario> {
    let sources = |list: &[&str]| format!("sources: [{}]\n", list.join(", "));
    vec![
        Scenario { name: "default", values: String::new(), check: check_default },
        Scenario {
            name: "cilium-network-policy-off",
            values: "ciliumNetworkPolicy:\n  enabled: false\n".into(),
            check: |d| {
                assert!(kinds(d).contains("NetworkPolicy"));
                assert!(!kinds(d).contains("CiliumNetworkPolicy"), "ciliumNetworkPolicy.enabled=false still renders it");
            },
        },
        Scenario {
            name: "network-policy-off",
            values: "networkPolicy:\n  enabled: false\n".into(),
            check: |d| {
                // The companion policy only makes sense next to the NetworkPolicy.
                assert!(!kinds(d).contains("NetworkPolicy") && !kinds(d).contains("CiliumNetworkPolicy"), "{:?}", kinds(d));
            },
        },
        Scenario {
            name: "network-policy-peers",
            values: "pdns:\n  server: https://192.0.2.10:8443\nnetworkPolicy:\n  apiServer:\n    cidrs: [10.0.0.0/24]\n    ports: [6443]\n  metrics:\n    from:\n      - namespaceSelector:\n          matchLabels:\n            kubernetes.io/metadata.name: monitoring\nciliumNetworkPolicy:\n  apiServerPorts: [6443]\n".into(),
            check: check_network_policy_peers,
        },
        Scenario {
            name: "service-monitor",
            values: "serviceMonitor:\n  enabled: true\n  interval: 30s\n  additionalLabels:\n    release: prometheus\n".into(),
            check: check_service_monitor,
        },
        Scenario {
            name: "two-replicas-leader-election",
            values: "replicaCount: 2\nleaderElection:\n  leaseDuration: 15s\n  renewDeadline: 10s\n  retryPeriod: 2s\n".into(),
            check: check_leader_election,
        },
        Scenario {
            name: "pdns-existing-secret-files",
            values: "provider:\n  name: pdns\npdns:\n  server: http://pdns-api.dns.svc:8081\n  existingSecret: pdns-api\n  secretKey: key\ntxtEncrypt:\n  enabled: true\n  existingSecret: txt-aes\n".into(),
            check: check_pdns_files,
        },
        Scenario {
            name: "pdns-existing-secret-env",
            values: "provider: pdns\npdns:\n  existingSecret: pdns-api\n  mode: env\ntxtEncrypt:\n  enabled: true\n  existingSecret: txt-aes\n  mode: env\n".into(),
            check: check_pdns_env,
        },
        Scenario { name: "sources-crd", values: sources(&["crd"]), check: check_sources_crd },
        Scenario { name: "sources-gateway", values: sources(&["gateway-httproute", "gateway-grpcroute"]), check: check_sources_gateway },
        Scenario { name: "sources-all", values: sources(ALL_SOURCES), check: check_sources_all },
        Scenario {
            name: "namespaced",
            values: format!("namespaced: true\n{}", sources(&["service", "gateway-httproute"])),
            check: check_namespaced,
        },
        Scenario {
            name: "webhook-provider",
            values: "provider:\n  name: webhook\n  webhook:\n    image:\n      repository: example.org/dns-webhook\n      tag: v1.0.0\n".into(),
            check: |d| {
                let deploy = one(d, "Deployment");
                assert_eq!(container(deploy, "webhook")["image"], "example.org/dns-webhook:v1.0.0");
                assert!(args(container(deploy, "exodns")).contains(&"--provider=webhook".to_owned()));
            },
        },
        Scenario {
            name: "upstream-values-file",
            values: std::fs::read_to_string(fixture("upstream-values-pdns.yaml")).expect("fixture"),
            check: |d| {
                assert!(kinds(d).contains("ServiceMonitor"));
            },
        },
    ]
}

fn check_default(d: &[Value]) {
    let k = kinds(d);
    for want in [
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "NetworkPolicy",
        "CiliumNetworkPolicy",
    ] {
        assert!(k.contains(want), "default rendering lacks a {want}: {k:?}");
    }
    for not in [
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "ServiceMonitor",
        "Secret",
    ] {
        assert!(!k.contains(not), "default rendering has a {not}");
    }
    let deploy = one(d, "Deployment");
    let spec = &deploy["spec"];
    assert_eq!(spec["replicas"], 1);
    // One replica without leader election: never two writers, even during a rollout.
    assert_eq!(spec["strategy"]["type"], "Recreate");
    assert_eq!(spec["selector"]["matchLabels"], selector_labels());
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = container(deploy, "exodns");
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    // Probes: startup tolerates ≥ 10 min before liveness may restart; liveness /healthz, readiness /readyz.
    let startup = &c["startupProbe"];
    assert_eq!(startup["httpGet"]["path"], "/healthz");
    let budget =
        startup["periodSeconds"].as_u64().unwrap() * startup["failureThreshold"].as_u64().unwrap();
    assert!(budget >= 600, "startupProbe allows only {budget} s");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        c["ports"][0],
        json!({"name": "http", "containerPort": 7979, "protocol": "TCP"})
    );
    // The leader-election identity and the default Lease namespace come from the downward API.
    let env = c["env"].as_array().expect("env");
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        assert!(
            env.iter()
                .any(|e| e["name"] == name && e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{name} missing: {env:#?}"
        );
    }
    let a = args(c);
    for want in [
        "--policy=upsert-only",
        "--provider=pdns",
        "--source=service",
        "--source=ingress",
        "--registry=txt",
    ] {
        assert!(a.contains(&want.to_owned()), "{want} missing from {a:?}");
    }
    assert!(
        !a.iter().any(|x| x.starts_with("--leader-election")),
        "leader election on by default with one replica: {a:?}"
    );
    // The ServiceAccount is the one the pod runs as and the ClusterRoleBinding binds.
    let sa = one(d, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    let crb = one(d, "ClusterRoleBinding");
    assert_eq!(
        crb["subjects"][0],
        json!({"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE})
    );
    assert_eq!(
        crb["roleRef"]["name"],
        one(d, "ClusterRole")["metadata"]["name"]
    );
    // NetworkPolicy: the exodns pods, ingress only to the metrics port, egress DNS + apiserver + provider.
    let np = one(d, "NetworkPolicy");
    assert_eq!(np["spec"]["podSelector"]["matchLabels"], selector_labels());
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        np["spec"]["ingress"][0]["ports"],
        json!([{"port": "http", "protocol": "TCP"}])
    );
    let egress = np["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "egress: {egress:#?}");
    assert!(
        egress[0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == 53 && p["protocol"] == "UDP")
    );
    assert_eq!(egress[1]["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
    // CiliumNetworkPolicy: the kube-apiserver entity, the same pods, no default-deny of its own.
    let cnp = one(d, "CiliumNetworkPolicy");
    assert_eq!(
        cnp["spec"]["endpointSelector"]["matchLabels"],
        selector_labels()
    );
    assert_eq!(
        cnp["spec"]["egress"][0]["toEntities"],
        json!(["kube-apiserver"])
    );
    assert_eq!(
        cnp["spec"]["enableDefaultDeny"],
        json!({"egress": false, "ingress": false})
    );
    let svc = one(d, "Service");
    assert_eq!(svc["spec"]["selector"], selector_labels());
    assert_eq!(svc["spec"]["ports"][0]["port"], 7979);
}

fn check_network_policy_peers(d: &[Value]) {
    let np = one(d, "NetworkPolicy");
    let egress = &np["spec"]["egress"];
    assert_eq!(
        egress[1],
        json!({"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 6443, "protocol": "TCP"}]})
    );
    // The provider rule comes from the PowerDNS URL: its address and port.
    assert_eq!(
        egress[2],
        json!({"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "ports": [{"port": 8443, "protocol": "TCP"}]})
    );
    assert_eq!(
        np["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let cnp = one(d, "CiliumNetworkPolicy");
    assert_eq!(
        cnp["spec"]["egress"][0]["toPorts"][0]["ports"][0],
        json!({"port": "6443", "protocol": "TCP"})
    );
}

fn check_service_monitor(d: &[Value]) {
    let sm = one(d, "ServiceMonitor");
    let svc = one(d, "Service");
    assert_eq!(sm["spec"]["selector"]["matchLabels"], selector_labels());
    assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        sm["spec"]["endpoints"][0]["port"],
        svc["spec"]["ports"][0]["name"]
    );
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(sm["spec"]["endpoints"][0]["interval"], "30s");
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"],
        json!([NAMESPACE])
    );
}

fn check_leader_election(d: &[Value]) {
    let deploy = one(d, "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    let a = args(container(deploy, "exodns"));
    let lease = format!("{RELEASE}-exodns");
    for want in [
        "--leader-election".to_owned(),
        format!("--leader-election-lease-name={lease}"),
        format!("--leader-election-namespace={NAMESPACE}"),
        "--leader-election-lease-duration=15s".to_owned(),
        "--leader-election-renew-deadline=10s".to_owned(),
        "--leader-election-retry-period=2s".to_owned(),
    ] {
        assert!(a.contains(&want), "{want} missing from {a:?}");
    }
    // The Lease Role: in the release namespace, only that Lease (plus create), bound to the SA.
    let role = one(d, "Role");
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    let rules = rules_of(d, "Role");
    let lr = |r: &str, v: &str| ("coordination.k8s.io".to_owned(), r.to_owned(), v.to_owned());
    assert!(rules.contains(&lr("leases", "create")));
    for v in ["get", "update"] {
        assert!(
            rules.contains(&lr(&format!("leases#{lease}"), v)),
            "lease {v} missing: {rules:?}"
        );
    }
    assert!(
        !rules.contains(&lr("leases", "update")),
        "update of every Lease granted: {rules:?}"
    );
    let rb = one(d, "RoleBinding");
    assert_eq!(rb["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(
        rb["subjects"][0]["name"],
        one(d, "ServiceAccount")["metadata"]["name"]
    );
    let pdb = one(d, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], selector_labels());
}

fn volume_secret<'a>(deploy: &'a Value, secret: &str) -> &'a Value {
    deploy["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["secret"]["secretName"] == secret))
        .unwrap_or_else(|| panic!("no volume of Secret {secret}"))
}

fn check_pdns_files(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    assert!(
        a.contains(&"--pdns-server=http://pdns-api.dns.svc:8081".to_owned()),
        "{a:?}"
    );
    assert!(a.contains(&"--txt-encrypt-enabled".to_owned()), "{a:?}");
    // Each key file flag points into the mount of its Secret.
    for (flag, secret, key) in [
        ("--pdns-api-key-file=", "pdns-api", "key"),
        ("--txt-encrypt-aes-key-file=", "txt-aes", "aes-key"),
    ] {
        let path = a
            .iter()
            .find_map(|x| x.strip_prefix(flag))
            .unwrap_or_else(|| panic!("{flag} missing: {a:?}"));
        let vol = volume_secret(deploy, secret);
        assert_eq!(vol["secret"]["items"][0]["key"], key);
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == vol["name"])
            .expect("mount");
        assert_eq!(mount["readOnly"], true);
        let file = format!(
            "{}/{}",
            mount["mountPath"].as_str().unwrap(),
            vol["secret"]["items"][0]["path"].as_str().unwrap()
        );
        assert_eq!(path, file);
    }
    let env = c["env"].as_array().cloned().unwrap_or_default();
    assert!(
        env.iter().all(|e| e["valueFrom"]["secretKeyRef"].is_null()),
        "no secret should go through env here: {env:#?}"
    );
}

fn check_pdns_env(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    assert!(
        a.contains(&"--provider=pdns".to_owned()),
        "string form of provider: {a:?}"
    );
    assert!(!a.iter().any(|x| x.contains("key-file")), "{a:?}");
    let env = c["env"].as_array().expect("env");
    for (name, secret, key) in [
        ("EXTERNAL_DNS_PDNS_API_KEY", "pdns-api", "api-key"),
        ("EXTERNAL_DNS_TXT_ENCRYPT_AES_KEY", "txt-aes", "aes-key"),
    ] {
        let e = env
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            e["valueFrom"]["secretKeyRef"],
            json!({"name": secret, "key": key})
        );
    }
    assert!(deploy["spec"]["template"]["spec"]["volumes"].is_null());
}

fn cluster_rules(d: &[Value]) -> BTreeSet<(String, String, String)> {
    rules_of(d, "ClusterRole")
}

fn t(g: &str, r: &str, v: &str) -> (String, String, String) {
    (g.to_owned(), r.to_owned(), v.to_owned())
}

fn check_sources_crd(d: &[Value]) {
    let rules = cluster_rules(d);
    assert!(rules.contains(&t("externaldns.k8s.io", "dnsendpoints", "watch")));
    assert!(rules.contains(&t("externaldns.k8s.io", "dnsendpoints/status", "update")));
    assert!(
        !rules
            .iter()
            .any(|(_, r, _)| r == "services" || r == "pods" || r == "nodes"),
        "crd-only source grants more: {rules:?}"
    );
    assert!(args(container(one(d, "Deployment"), "exodns")).contains(&"--source=crd".to_owned()));
}

fn check_sources_gateway(d: &[Value]) {
    let rules = cluster_rules(d);
    for r in ["gateways", "httproutes", "grpcroutes"] {
        assert!(
            rules.contains(&t("gateway.networking.k8s.io", r, "list")),
            "{r}: {rules:?}"
        );
    }
    assert!(
        !rules
            .iter()
            .any(|(_, r, _)| r == "tcproutes" || r == "services"),
        "{rules:?}"
    );
}

fn check_sources_all(d: &[Value]) {
    // No write access to anything but Events and DNSEndpoint status.
    for (g, r, v) in cluster_rules(d) {
        let write = !matches!(v.as_str(), "get" | "list" | "watch");
        assert!(
            !write || r == "events" || r == "dnsendpoints/status",
            "write verb {v} on {g}/{r}"
        );
    }
}

fn check_namespaced(d: &[Value]) {
    let a = args(container(one(d, "Deployment"), "exodns"));
    assert!(a.contains(&format!("--namespace={NAMESPACE}")), "{a:?}");
    let role = rules_of(d, "Role");
    assert!(role.contains(&t("", "services", "watch")));
    assert!(
        !role
            .iter()
            .any(|(_, r, _)| r == "nodes" || r == "namespaces"),
        "cluster-scoped resources in a Role: {role:?}"
    );
    // Cluster-scoped resources the sources need stay in a (small) ClusterRole.
    let cluster = cluster_rules(d);
    assert!(
        cluster
            .iter()
            .all(|(_, r, _)| r == "nodes" || r == "namespaces"),
        "{cluster:?}"
    );
}

// ---- tests --------------------------------------------------------------------------------------

/// `helm lint --strict` and `helm template` of every scenario; each rendering holds what its
/// scenario promises.
#[test]
fn chart_lints_and_renders_every_scenario() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let chart = chart_dir();
    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        if let Err(e) = helm.lint(&chart, &values) {
            failures.push(format!("{}: helm lint: {e}", s.name));
            continue;
        }
        match helm.template(&chart, &values, &[]) {
            Ok(yaml) => {
                let d = docs(&yaml);
                if let Err(p) = std::panic::catch_unwind(|| (s.check)(&d)) {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    failures.push(format!("{}: {}", s.name, msg.unwrap_or_default()));
                }
            }
            Err(e) => failures.push(format!("{}: helm template: {e}", s.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every scenario's exodns container args are accepted by the real exodns binary (clap reaches
/// the trailing `--help` only when every arg before it parsed): the chart renders no flag exodns
/// does not know, and no value it refuses.
#[test]
fn every_rendering_parses_with_the_exodns_binary() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(exodns) = exodns_bin() else {
        return;
    };
    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        let d = docs(&helm.template(&chart_dir(), &values, &[]).unwrap());
        let a = args(container(one(&d, "Deployment"), "exodns"));
        let o = run(Command::new(&exodns).args(&a).arg("--help").env_clear());
        if !o.status.success() {
            failures.push(format!("{}: {a:?}\n{}", s.name, text(&o.stderr)));
        }
    }
    assert!(
        failures.is_empty(),
        "exodns rejects rendered args:\n{}",
        failures.join("\n")
    );
}

/// Values the chart refuses, with a message naming the fix.
#[test]
fn chart_refuses_unsafe_values() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    for (name, values, message) in [
        (
            "replicas-without-election",
            "replicaCount: 2\nleaderElection:\n  enabled: false\n",
            "needs leader election",
        ),
        (
            "prefix-and-suffix",
            "txtPrefix: a-\ntxtSuffix: -b\n",
            "mutually exclusive",
        ),
        ("no-policy", "policy: null\n", "policy is required"),
    ] {
        let f = helm.values_file(name, values);
        let err = helm.template(&chart_dir(), &f, &[]).expect_err(name);
        assert!(err.contains(message), "{name}: {err}");
    }
}

/// `ciliumNetworkPolicy.enabled: auto` renders the companion policy only where the cluster serves
/// cilium.io/v2 (helm's capabilities).
#[test]
fn cilium_network_policy_auto_follows_the_cluster() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let f = helm.values_file("auto", "ciliumNetworkPolicy:\n  enabled: auto\n");
    let without = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());
    assert!(!kinds(&without).contains("CiliumNetworkPolicy"));
    let with = docs(
        &helm
            .template(
                &chart_dir(),
                &f,
                &["--api-versions", "cilium.io/v2/CiliumNetworkPolicy"],
            )
            .unwrap(),
    );
    assert!(kinds(&with).contains("CiliumNetworkPolicy"));
}

/// The chart's ClusterRole for every source holds exactly the rules of the shipped
/// `deploy/rbac/clusterrole.yaml` (and its Lease Role those of a Role there, if any): the two
/// cannot drift apart.
#[test]
fn chart_rbac_equals_deploy_rbac() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let shipped = repo_root().join("deploy/rbac/clusterrole.yaml");
    let shipped_text = std::fs::read_to_string(&shipped).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the chart must render the same rules as this file",
            shipped.display()
        )
    });
    let shipped_docs = docs(&shipped_text);
    let f = helm.values_file(
        "rbac-all",
        &format!("sources: [{}]\nreplicaCount: 2\n", ALL_SOURCES.join(", ")),
    );
    let rendered = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());

    let ours = rules_of(&rendered, "ClusterRole");
    let theirs = rules_of(&shipped_docs, "ClusterRole");
    assert!(
        !theirs.is_empty(),
        "{} has no ClusterRole rules",
        shipped.display()
    );
    let only_chart: Vec<_> = ours.difference(&theirs).collect();
    let only_shipped: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_chart.is_empty() && only_shipped.is_empty(),
        "chart ClusterRole (all sources) and {} differ\n  only in the chart: {only_chart:?}\n  only in deploy/rbac: {only_shipped:?}\n\
         (edit exodns.sourceRules in deploy/helm/exodns/templates/_helpers.tpl)",
        shipped.display()
    );
    // A Role there (the Lease) must grant what the chart's Lease Role grants, names aside.
    let unnamed = |s: BTreeSet<(String, String, String)>| -> BTreeSet<_> {
        s.into_iter()
            .map(|(g, r, v)| (g, r.split('#').next().unwrap().to_owned(), v))
            .collect()
    };
    let their_roles = unnamed(rules_of(&shipped_docs, "Role"));
    if !their_roles.is_empty() {
        let our_roles = unnamed(rules_of(&rendered, "Role"));
        assert_eq!(
            our_roles,
            their_roles,
            "Lease Role of the chart and of {} differ",
            shipped.display()
        );
    }
}

/// (apiGroup, resource, verb) triples of `exodns_kube::rbac::cluster_role` for `sources`.
fn kube_rules(sources: &[SourceKind]) -> BTreeSet<(String, String, String)> {
    let role = exodns_kube::rbac::cluster_role("exodns", sources);
    triples(&serde_json::to_value(role.rules.unwrap_or_default()).unwrap())
}

fn source_kind(name: &str) -> SourceKind {
    *SourceKind::ALL
        .iter()
        .find(|k| k.as_str() == name)
        .unwrap_or_else(|| panic!("unknown source {name}"))
}

/// For each source alone, the chart's ClusterRole holds exactly the rules exodns's own code says
/// that source needs (`exodns_kube::rbac::cluster_role`), and so does a namespaced install's Role
/// plus its small ClusterRole; `ALL_SOURCES` is every cluster source exodns has.
#[test]
fn chart_rbac_per_source_equals_exodns_kube() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let cluster: Vec<&str> = exodns_kube::rbac::cluster_sources()
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        ALL_SOURCES,
        cluster.as_slice(),
        "a source was added: add its rules to exodns.sourceRules"
    );
    let mut failures = Vec::new();
    let mut sets: Vec<Vec<&str>> = ALL_SOURCES.iter().map(|s| vec![*s]).collect();
    sets.push(vec!["service", "ingress"]);
    sets.push(ALL_SOURCES.to_vec());
    for set in sets {
        let kinds: Vec<SourceKind> = set.iter().map(|s| source_kind(s)).collect();
        let want = kube_rules(&kinds);
        for namespaced in [false, true] {
            let f = helm.values_file(
                &format!("rbac-{}-{namespaced}", set.join("-")),
                &format!("sources: [{}]\nnamespaced: {namespaced}\n", set.join(", ")),
            );
            let d = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());
            let mut got = rules_of(&d, "ClusterRole");
            got.extend(rules_of(&d, "Role"));
            if got != want {
                failures.push(format!(
                    "sources {set:?} (namespaced: {namespaced})\n  only in the chart: {:?}\n  only in exodns_kube: {:?}",
                    got.difference(&want).collect::<Vec<_>>(),
                    want.difference(&got).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "chart RBAC differs from exodns_kube::rbac:\n{}",
        failures.join("\n")
    );
}

/// Our DNSEndpoint CRD (written for exodns) has the same schema as upstream's, descriptions aside:
/// every DNSEndpoint written for ExternalDNS is valid under it, and the other way round.
#[test]
fn dnsendpoint_crd_schema_equals_upstreams() {
    let Some(module) = upstream_module() else {
        return skip_or_fail("sigs.k8s.io/external-dns@v0.22.0 in the Go module cache");
    };
    let read = |p: PathBuf| -> Value {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let ours = read(chart_dir().join("crds/dnsendpoints.externaldns.k8s.io.yaml"));
    let theirs = read(module.join("config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml"));
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "description")
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    assert_eq!(ours["metadata"]["name"], theirs["metadata"]["name"]);
    assert_eq!(
        ours["metadata"]["annotations"]["api-approved.kubernetes.io"],
        theirs["metadata"]["annotations"]["api-approved.kubernetes.io"]
    );
    assert_eq!(strip(&ours["spec"]), strip(&theirs["spec"]));
}

/// Every scenario's rendering (CRDs included) is accepted by a real kube-apiserver 1.33 with
/// `kubectl apply --server-side --dry-run=server`: the Cilium and ServiceMonitor CRDs installed
/// from the Go module cache, our DNSEndpoint CRD installed from the chart.
#[test]
fn chart_renderings_pass_server_side_dry_run() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(api) = KubeApiserver::start_or_skip() else {
        return;
    };
    // Gateway API too: the chart's ServiceAccount then runs exodns with every source.
    api.install_crds(&["cilium", "servicemonitor", "gateway"]).expect("CRDs");
    let crd = chart_dir().join("crds/dnsendpoints.externaldns.k8s.io.yaml");
    kubectl(&api, &[
        "apply",
        "--server-side",
        "--field-manager=exodns-test",
        "-f",
        crd.to_str().unwrap(),
    ]);
    kubectl(&api, &[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/dnsendpoints.externaldns.k8s.io",
    ]);
    kubectl(&api, &["create", "namespace", NAMESPACE]);

    // A DNSEndpoint with every field validates against our CRD.
    let sample = api.dir().join("dnsendpoint.yaml");
    std::fs::write(
        &sample,
        format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata:\n  name: sample\n  namespace: {NAMESPACE}\nspec:\n  endpoints:\n    - dnsName: www.example.org\n      recordType: A\n      targets: [192.0.2.1, 192.0.2.2]\n      recordTTL: 300\n      setIdentifier: eu\n      labels: {{team: web}}\n      providerSpecific:\n        - {{name: alias, value: \"true\"}}\n"
        ),
    )
    .unwrap();
    kubectl(&api, &[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        sample.to_str().unwrap(),
    ]);

    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        let yaml = match helm.template(&chart_dir(), &values, &["--include-crds"]) {
            Ok(y) => y,
            Err(e) => {
                failures.push(format!("{}: helm template: {e}", s.name));
                continue;
            }
        };
        let file = api.dir().join(format!("{}.yaml", s.name));
        std::fs::write(&file, &yaml).unwrap();
        let o = api.kubectl(
            &[
                "apply",
                "--server-side",
                "--dry-run=server",
                "--field-manager=exodns-test",
                "-o",
                "name",
                "-f",
                file.to_str().unwrap(),
            ],
            None,
        );
        let applied = match o {
            Ok(applied) => applied,
            Err(e) => {
                failures.push(format!("{}: {e}", s.name));
                continue;
            }
        };
        // Every rendered object went through the server.
        let rendered = docs(&yaml).len();
        let accepted = applied.lines().filter(|l| !l.trim().is_empty()).count();
        if accepted != rendered {
            failures.push(format!(
                "{}: {rendered} objects rendered, {accepted} applied:\n{applied}",
                s.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) rejected:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    service_account_token_has_the_chart_rbac(&api, &helm);
}

/// Installed for real (every source, two replicas), the chart's ServiceAccount gets a token
/// (TokenRequest) that may do what exodns_kube says the sources need and use its Lease, and no
/// more: the way the RBAC-sufficiency test runs exodns with the chart's identity.
fn service_account_token_has_the_chart_rbac(api: &KubeApiserver, helm: &Helm) {
    let values = helm.values_file(
        "token",
        &format!("sources: [{}]\nreplicaCount: 2\n", ALL_SOURCES.join(", ")),
    );
    let yaml = helm.template(&chart_dir(), &values, &[]).unwrap();
    let file = api.dir().join("installed.yaml");
    std::fs::write(&file, &yaml).unwrap();
    kubectl(api, &[
        "apply",
        "--server-side",
        "--field-manager=exodns-test",
        "-f",
        file.to_str().unwrap(),
    ]);
    let sa = format!("{RELEASE}-exodns");
    let token = kubectl(api, &["-n", NAMESPACE, "create", "token", &sa, "--duration=10m"]);
    let token = token.trim();
    assert!(!token.is_empty(), "no token minted");
    // Each question a SelfSubjectAccessReview made with the token (exact: group, resource,
    // subresource and name, no discovery needed for resources whose CRD is not installed).
    let ask = |questions: &[(String, String, String, String, Option<&str>)]| -> Vec<bool> {
        let items: Vec<Value> = questions
            .iter()
            .map(|(verb, group, resource, name, ns)| {
                let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
                json!({
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": {
                        "verb": verb, "group": group, "resource": resource, "subresource": sub,
                        "name": name, "namespace": ns.unwrap_or(""),
                    }},
                })
            })
            .collect();
        let file = api.dir().join("ssar.json");
        std::fs::write(
            &file,
            json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
        )
        .unwrap();
        let out = kubectl(api, &[
            "--token",
            token,
            "create",
            "-o",
            "json",
            "-f",
            file.to_str().unwrap(),
        ]);
        // One JSON object per review, one after the other (or a List, depending on kubectl).
        let objects: Vec<Value> = serde_json::Deserializer::from_str(&out)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .expect("SelfSubjectAccessReview answers");
        let reviews: Vec<&Value> = objects
            .iter()
            .flat_map(|o| match o["items"].as_array() {
                Some(items) => items.iter().collect::<Vec<_>>(),
                None => vec![o],
            })
            .collect();
        let answers: Vec<bool> = reviews
            .iter()
            .map(|r| r["status"]["allowed"] == true)
            .collect();
        assert_eq!(answers.len(), questions.len());
        answers
    };
    let q = |verb: &str, group: &str, resource: &str, name: &str, ns: Option<&'static str>| {
        (
            verb.to_owned(),
            group.to_owned(),
            resource.to_owned(),
            name.to_owned(),
            ns,
        )
    };
    let all: Vec<SourceKind> = ALL_SOURCES.iter().map(|s| source_kind(s)).collect();
    let mut allowed: Vec<_> = kube_rules(&all)
        .into_iter()
        .map(|(g, r, v)| q(&v, &g, &r, "", None))
        .collect();
    allowed.push(q(
        "create",
        "coordination.k8s.io",
        "leases",
        "",
        Some(NAMESPACE),
    ));
    allowed.push(q(
        "get",
        "coordination.k8s.io",
        "leases",
        &sa,
        Some(NAMESPACE),
    ));
    allowed.push(q(
        "update",
        "coordination.k8s.io",
        "leases",
        &sa,
        Some(NAMESPACE),
    ));
    let answers = ask(&allowed);
    let refused: Vec<_> = allowed
        .iter()
        .zip(&answers)
        .filter(|(_, a)| !**a)
        .map(|(q, _)| q)
        .collect();
    assert!(
        refused.is_empty(),
        "the chart's ServiceAccount may not: {refused:?}"
    );
    let forbidden = [
        q("get", "", "secrets", "", None),
        q("list", "", "configmaps", "", None),
        q("create", "", "services", "", Some("default")),
        q("delete", "networking.k8s.io", "ingresses", "", None),
        q("update", "externaldns.k8s.io", "dnsendpoints", "", None),
        q(
            "update",
            "coordination.k8s.io",
            "leases",
            "someone-else",
            Some(NAMESPACE),
        ),
        q(
            "get",
            "coordination.k8s.io",
            "leases",
            &sa,
            Some("kube-system"),
        ),
    ];
    let answers = ask(&forbidden);
    let granted: Vec<_> = forbidden
        .iter()
        .zip(&answers)
        .filter(|(_, a)| **a)
        .map(|(q, _)| q)
        .collect();
    assert!(
        granted.is_empty(),
        "the chart's ServiceAccount may also: {granted:?}"
    );
    run_exodns_with_the_chart_token(api, &sa);
}

/// Flags in a `--help` text: `--flag`, `--[no-]flag`.
fn help_flags(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in help.match_indices("--") {
        let rest = &help[i + 2..];
        let rest = rest.strip_prefix("[no-]").unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.len() > 1 && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(name);
        }
    }
    out
}

/// Flags upstream ExternalDNS v0.22.0 understands: its binary's `--help` when built, else its
/// `docs/flags.md`.
fn upstream_flags(module: &Path) -> BTreeSet<String> {
    if let Some(bin) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") {
        let o = run(Command::new(bin).arg("--help"));
        let flags = help_flags(&format!("{}{}", text(&o.stdout), text(&o.stderr)));
        if flags.len() > 50 {
            return flags;
        }
    }
    help_flags(
        &std::fs::read_to_string(module.join("docs/flags.md")).expect("upstream docs/flags.md"),
    )
}

/// The upstream chart and ours, rendered from the same typical upstream values file: the container
/// arguments whose flags both ExternalDNS and exodns understand are the same; env, resources,
/// scheduling and the user's probe settings carry over; the real exodns binary parses our args.
#[test]
fn upstream_values_render_the_same_args() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(module) = upstream_module() else {
        return skip_or_fail("sigs.k8s.io/external-dns@v0.22.0 in the Go module cache");
    };
    let Some(exodns) = exodns_bin() else {
        return;
    };
    let values = fixture("upstream-values-pdns.yaml");
    let up = docs(
        &helm
            .template(&module.join("charts/external-dns"), &values, &[])
            .expect("upstream chart renders the fixture"),
    );
    let ours = docs(
        &helm
            .template(&chart_dir(), &values, &[])
            .expect("our chart renders the fixture"),
    );
    let up_deploy = one(&up, "Deployment");
    let our_deploy = one(&ours, "Deployment");
    let up_c = container(up_deploy, "external-dns");
    let our_c = container(our_deploy, "exodns");

    let exo_help = run(Command::new(&exodns).arg("--help"));
    assert!(
        exo_help.status.success(),
        "{} --help failed",
        exodns.display()
    );
    let exo_flags = help_flags(&text(&exo_help.stdout));
    let up_flags = upstream_flags(&module);
    let both: BTreeSet<&String> = exo_flags.intersection(&up_flags).collect();
    assert!(both.len() > 30, "too few common flags: {both:?}");

    let common = |a: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = a
            .into_iter()
            .filter(|x| both.contains(&flag_name(x).to_owned()))
            .collect();
        v.sort();
        v
    };
    let up_args = args(up_c);
    let our_args = args(our_c);
    assert_eq!(
        common(up_args.clone()),
        common(our_args.clone()),
        "\nupstream: {up_args:#?}\nours: {our_args:#?}"
    );
    // What upstream renders and exodns does not understand (and so leaves out or spells otherwise).
    let dropped: Vec<&String> = up_args
        .iter()
        .filter(|a| !exo_flags.contains(flag_name(a)))
        .collect();
    assert!(
        dropped.iter().all(|a| a.starts_with("--no-")),
        "upstream args exodns does not understand: {dropped:?}"
    );
    // Ours: nothing exodns does not understand.
    let unknown: Vec<&String> = our_args
        .iter()
        .filter(|a| !exo_flags.contains(flag_name(a)))
        .collect();
    assert!(
        unknown.is_empty(),
        "our chart renders flags exodns does not know: {unknown:?}"
    );
    // The real binary parses them (clap stops at --help only after the args before it parsed).
    let o = run(Command::new(&exodns).args(&our_args).arg("--help"));
    assert!(
        o.status.success(),
        "exodns rejects the rendered args {our_args:?}:\n{}",
        text(&o.stderr)
    );

    // The rest of the container and pod carries over.
    // The user's env carries over as given (ours adds POD_NAME and POD_NAMESPACE).
    let our_env = our_c["env"].as_array().cloned().unwrap_or_default();
    for e in up_c["env"].as_array().into_iter().flatten() {
        assert!(
            our_env.contains(e),
            "env {e} of the values file missing: {our_env:#?}"
        );
    }
    assert_eq!(our_c["resources"], up_c["resources"]);
    for k in [
        "initialDelaySeconds",
        "periodSeconds",
        "failureThreshold",
        "timeoutSeconds",
    ] {
        assert_eq!(
            our_c["livenessProbe"][k], up_c["livenessProbe"][k],
            "livenessProbe.{k}"
        );
    }
    assert_eq!(
        our_c["livenessProbe"]["httpGet"],
        up_c["livenessProbe"]["httpGet"]
    );
    // Readiness is /readyz (upstream's /healthz always says OK); a startup probe covers slow syncs.
    assert_eq!(our_c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(our_c["startupProbe"].is_object());
    let (up_pod, our_pod) = (
        &up_deploy["spec"]["template"],
        &our_deploy["spec"]["template"],
    );
    for k in ["nodeSelector", "tolerations", "priorityClassName"] {
        assert_eq!(our_pod["spec"][k], up_pod["spec"][k], "pod spec {k}");
    }
    for (k, v) in up_pod["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        assert_eq!(
            &our_pod["metadata"]["annotations"][k], v,
            "pod annotation {k}"
        );
    }
    for (k, v) in up_pod["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if !k.starts_with("app.kubernetes.io/") {
            assert_eq!(&our_pod["metadata"]["labels"][k], v, "pod label {k}");
        }
    }
    assert_eq!(
        our_deploy["spec"]["strategy"],
        up_deploy["spec"]["strategy"]
    );
    assert_eq!(
        one(&ours, "ServiceAccount")["metadata"]["annotations"],
        one(&up, "ServiceAccount")["metadata"]["annotations"]
    );
    let (up_sm, our_sm) = (one(&up, "ServiceMonitor"), one(&ours, "ServiceMonitor"));
    assert_eq!(
        our_sm["spec"]["endpoints"][0]["interval"],
        up_sm["spec"]["endpoints"][0]["interval"]
    );
    assert_eq!(
        our_sm["metadata"]["labels"]["release"],
        up_sm["metadata"]["labels"]["release"]
    );
    // Our NetworkPolicy lets exodns reach the PowerDNS URL given in extraArgs.
    let np = one(&ours, "NetworkPolicy");
    assert_eq!(
        np["spec"]["egress"][2]["ports"],
        json!([{"port": 8081, "protocol": "TCP"}])
    );
}

// ---- the OCI image ------------------------------------------------------------------------------

fn sha256_hex(path: &Path) -> String {
    let o = run(Command::new("sha256sum").arg(path));
    assert!(o.status.success(), "sha256sum {}", path.display());
    text(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn untar(archive: &Path, into: &Path, gz: bool) {
    std::fs::create_dir_all(into).unwrap();
    let o = run(Command::new("tar")
        .arg(if gz { "-xzf" } else { "-xf" })
        .arg(archive)
        .arg("-C")
        .arg(into));
    assert!(
        o.status.success(),
        "tar {}: {}",
        archive.display(),
        text(&o.stderr)
    );
}

/// The archive of `scripts/image/build-oci.sh`: a valid OCI image layout (digests and sizes match)
/// whose image runs as a non-root user with the exodns entrypoint; the binary from its layer runs
/// `--version` (it is static: scratch has no libc).
#[test]
fn oci_archive_holds_a_non_root_image_running_exodns() {
    let work = tempfile::tempdir().unwrap();
    let archive = match std::env::var_os("EXODNS_OCI_ARCHIVE") {
        Some(p) => PathBuf::from(p),
        None => {
            if !exodns_testbed::have_program("cargo") || !exodns_testbed::have_program("python3") {
                return skip_or_fail("cargo and python3 for scripts/image/build-oci.sh");
            }
            let out = work.path().join("exodns-oci.tar");
            // Its own target dir (the outer cargo holds the lock of this build's): `oci-image`
            // inside this build's target dir, or EXODNS_OCI_TARGET_DIR.
            let target = std::env::var_os("EXODNS_OCI_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    let exe = std::env::current_exe().unwrap(); // <target>/<profile>/deps/it-<hash>
                    exe.ancestors()
                        .nth(3)
                        .map_or_else(|| repo_root().join("target"), Path::to_path_buf)
                        .join("oci-image")
                });
            let o = run(Command::new("bash")
                .arg(repo_root().join("scripts/image/build-oci.sh"))
                .arg(&out)
                .env("CARGO_TARGET_DIR", &target)
                .env_remove("RUSTFLAGS"));
            assert!(
                o.status.success(),
                "build-oci.sh failed:\n{}",
                text(&o.stderr)
            );
            out
        }
    };
    let layout = work.path().join("layout");
    untar(&archive, &layout, false);
    let read_json = |p: PathBuf| -> Value {
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap()
    };
    assert_eq!(
        read_json(layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    let index = read_json(layout.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    let blob = |d: &Value| -> PathBuf {
        let digest = d["digest"].as_str().unwrap();
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not sha256: {digest}"));
        let p = layout.join("blobs/sha256").join(hex);
        assert_eq!(sha256_hex(&p), hex, "digest of {}", p.display());
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            d["size"].as_u64().unwrap(),
            "size of {}",
            p.display()
        );
        p
    };
    let desc = &index["manifests"][0];
    assert_eq!(
        desc["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        desc["platform"],
        json!({"architecture": "amd64", "os": "linux"})
    );
    let manifest = read_json(blob(desc));
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let config = read_json(blob(&manifest["config"]));
    let user = config["config"]["User"].as_str().expect("config.User");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric user");
    assert_ne!(uid, 0, "image runs as root");
    assert_eq!(uid, 65532);
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/usr/local/bin/exodns"])
    );
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.title"],
        "exodns"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(
        layers.len(),
        config["rootfs"]["diff_ids"].as_array().unwrap().len()
    );

    // The docker-archive manifest points at the same blobs.
    let docker = read_json(layout.join("manifest.json"));
    assert_eq!(
        docker[0]["Config"],
        format!(
            "blobs/sha256/{}",
            manifest["config"]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
        )
    );

    let rootfs = work.path().join("rootfs");
    for (layer, diff_id) in layers
        .iter()
        .zip(config["rootfs"]["diff_ids"].as_array().unwrap())
    {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let p = blob(layer);
        // diff_id: the digest of the uncompressed layer.
        let plain = work.path().join("layer.tar");
        let o = run(Command::new("sh").arg("-c").arg(format!(
            "gzip -dc '{}' > '{}'",
            p.display(),
            plain.display()
        )));
        assert!(o.status.success());
        assert_eq!(
            format!("sha256:{}", sha256_hex(&plain)),
            diff_id.as_str().unwrap(),
            "diff_id"
        );
        untar(&p, &rootfs, true);
    }
    let passwd =
        std::fs::read_to_string(rootfs.join("etc/passwd")).expect("/etc/passwd in the image");
    assert!(
        passwd
            .lines()
            .any(|l| l.split(':').nth(2) == Some(&uid.to_string())),
        "uid {uid} not in /etc/passwd:\n{passwd}"
    );
    let bin = rootfs.join("usr/local/bin/exodns");
    let o = run(Command::new(&bin).arg("--version"));
    assert!(
        o.status.success(),
        "{} --version: {}",
        bin.display(),
        text(&o.stderr)
    );
    let version = text(&o.stdout);
    assert!(version.starts_with("exodns "), "{version}");
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        version.trim().trim_start_matches("exodns ")
    );
    // Static: no ELF interpreter (scratch has no dynamic loader).
    let elf = std::fs::read(&bin).unwrap();
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (
        u16::from_le_bytes([elf[54], elf[55]]) as usize,
        u16::from_le_bytes([elf[56], elf[57]]) as usize,
    );
    let interp = (0..phnum)
        .any(|i| u32::from_le_bytes(elf[phoff + i * phentsize..][..4].try_into().unwrap()) == 3);
    assert!(!interp, "the image's binary is dynamically linked");
}

// ---- the Grafana dashboard ----------------------------------------------------------------------

/// `deploy/grafana/exodns.json` is a dashboard (unique panel ids, every panel placed and bound to
/// the data-source variable) with a query over each metric operators need.
#[test]
fn grafana_dashboard_queries_every_metric() {
    let path = repo_root().join("deploy/grafana/exodns.json");
    let dash: Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("dashboard JSON");
    assert_eq!(dash["uid"], "exodns");
    let panels = dash["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "duplicate panel id {}",
            p["id"]
        );
        assert!(
            p["gridPos"]["w"].as_u64().is_some(),
            "panel {} unplaced",
            p["title"]
        );
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "panel {}",
            p["title"]
        );
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap_or_default().to_owned());
        }
    }
    for metric in [
        "exodns_sync_duration_seconds_bucket",
        "exodns_event_to_applied_seconds_bucket",
        "exodns_provider_requests_total",
        "exodns_planned_changes_total",
        "exodns_owner_conflicts_total",
        "exodns_invalid_endpoints_total",
        "exodns_leader",
        "exodns_source_synced",
        "external_dns_controller_last_sync_timestamp_seconds",
        "external_dns_controller_consecutive_soft_errors",
        "external_dns_registry_endpoints_total",
        "external_dns_source_endpoints_total",
        "external_dns_source_invalid_endpoints",
        "external_dns_registry_skipped_records_owner_mismatch_per_sync",
        "external_dns_build_info",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "no panel queries {metric}"
        );
    }
    // p50 and p99 of the event latency.
    for q in ["0.5", "0.99"] {
        assert!(
            exprs
                .iter()
                .any(|e| e.contains(&format!("histogram_quantile({q}, "))
                    && e.contains("exodns_event_to_applied"))
        );
    }
}

/// exodns itself, with the chart's ServiceAccount token, every source and leader election on the
/// chart's Lease: it must sync everything (ready) without a single Forbidden.
fn run_exodns_with_the_chart_token(api: &KubeApiserver, sa: &str) {
    let Some(exodns) = exodns_bin() else { return };
    let kubeconfig = api.service_account_kubeconfig(NAMESPACE, sa).expect("token kubeconfig");
    let port = exodns_testbed::free_port();
    let mut cmd = Command::new(&exodns);
    cmd.args(ALL_SOURCES.iter().map(|s| format!("--source={s}")))
        .args(["--provider=inmemory", "--policy=sync", "--leader-election"])
        .arg(format!("--leader-election-namespace={NAMESPACE}"))
        .arg(format!("--leader-election-lease-name={sa}"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--metrics-address=127.0.0.1:{port}"))
        .env("RUST_LOG", "info");
    let proc = exodns_testbed::Proc::spawn("exodns-chart-token", &mut cmd);
    let ready = || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .and_then(|mut s| {
                use std::io::{Read, Write};
                s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").ok()?;
                let mut out = String::new();
                s.read_to_string(&mut out).ok()?;
                Some(out.starts_with("HTTP/1.1 200"))
            })
            .unwrap_or(false)
    };
    exodns_testbed::wait_until_log("exodns ready with the chart's token", std::time::Duration::from_secs(60), ready, || proc.log());
    let log = proc.log();
    assert!(!log.to_ascii_lowercase().contains("forbidden"), "forbidden with the chart's RBAC:\n{log}");
}
