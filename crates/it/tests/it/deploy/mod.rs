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
/// Every source exodns reads from Kubernetes (`manifest` reads files and needs no RBAC), as the
/// kinds' descriptions list them (each name once): a new kind is in every deployment test without
/// an edit here.
fn all_sources() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in exodns_kube::rbac::cluster_sources() {
        if !out.contains(&k.as_str()) {
            out.push(k.as_str());
        }
    }
    out
}

mod cluster;
mod grafana;
mod image;
mod rbac;
mod registry;
mod render;
mod upstream;

// ---- peers --------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn chart_dir() -> PathBuf {
    repo_root().join("deploy/helm/exodns")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
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
        Ok(o) if o.status.success() && !o.stdout.is_empty() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join("go/pkg/mod"),
    }
}

/// Upstream ExternalDNS v0.22.0 in the Go module cache (`scripts/testbed/crds.sh` downloads it).
fn upstream_module() -> Option<PathBuf> {
    let dir = match testbed_var("EXODNS_DNSENDPOINT_CRD") {
        // …/external-dns@v0.22.0/config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml
        Some(crd) => PathBuf::from(crd).ancestors().nth(4).map(Path::to_path_buf)?,
        None => gomodcache().join("sigs.k8s.io/external-dns@v0.22.0"),
    };
    dir.join("charts/external-dns/Chart.yaml").is_file().then_some(dir)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
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
        Some(Helm { bin: helm()?, home: tempfile::tempdir().expect("tempdir") })
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
        let o = run(self.cmd().arg("lint").arg("--strict").arg(chart).arg("-f").arg(values).args(["-n", NAMESPACE]));
        let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
        if o.status.success() { Ok(out) } else { Err(out) }
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
        if o.status.success() { Ok(text(&o.stdout)) } else { Err(text(&o.stderr)) }
    }
}

/// The documents of a rendering (comments and empty documents dropped).
fn docs(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("rendering is not YAML: {e}\n{yaml}"));
    docs.into_iter().filter(|d| d.is_object()).collect()
}

fn kinds(docs: &[Value]) -> BTreeSet<String> {
    docs.iter().map(|d| d["kind"].as_str().unwrap_or_default().to_owned()).collect()
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
        .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
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
        let names: Vec<String> =
            rule["resourceNames"].as_array().map(|a| a.iter().map(s).collect()).unwrap_or_default();
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
    find(docs, kind).iter().flat_map(|d| triples(&d["rules"])).collect()
}

fn selector_labels() -> Value {
    json!({"app.kubernetes.io/name": "exodns", "app.kubernetes.io/instance": RELEASE})
}
