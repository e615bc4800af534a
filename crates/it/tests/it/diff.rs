//! Differential runs against upstream ExternalDNS v0.22.0 on one real apiserver: the records a
//! source wants, as upstream sends them (`--once`, webhook provider) to a recording webhook
//! provider with an empty zone, and as `exodns plan --output json` computes them against an empty
//! zone. exodns runs with the token of a ServiceAccount bound only to the shipped ClusterRole, so
//! every comparison also shows that the role is enough for the source (a Forbidden watch never
//! syncs, and `plan` fails naming it).
//!
//! Records are compared as sets of normalised webhook `Endpoint`s (name lowercased, targets and
//! provider-specific properties sorted), ownership TXT records included: their values carry the
//! `resource` label, so the object each record is attributed to is compared too.

use std::path::PathBuf;
use std::process::Command;

use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::{WebhookRecorder, exodns_bin, free_port, skip_or_fail};
use serde_json::{Value, json};

use crate::common::install_shipped_rbac;

/// Flags both tools take, with the same meaning, for every comparison.
// A wildcard replacement: without one, the ownership TXT of a wildcard record has no valid name
// (upstream writes the record without it, exodns refuses the record: see docs/sources.md).
const COMMON: &[&str] = &["--policy=sync", "--registry=txt", "--txt-owner-id=diff", "--txt-wildcard-replacement=star"];

/// The two binaries and the two identities.
pub struct Differ {
    exodns: PathBuf,
    upstream: PathBuf,
    admin: PathBuf,
    restricted: PathBuf,
    empty_zone: tempfile::NamedTempFile,
}

/// A record both tools were expected to disagree on, on purpose: the case is named, and the
/// record (normalised, see [`normalise`]) is on the side that has it.
#[derive(Debug, Clone, Copy)]
pub struct Difference {
    pub case: &'static str,
    pub upstream_only: &'static [&'static str],
    pub exodns_only: &'static [&'static str],
}

impl Differ {
    /// Both binaries, and the shipped RBAC installed in `kube`; `None` (after a notice, or a
    /// panic with `EXODNS_REQUIRE_PEERS=1`) when a binary is missing.
    pub fn new(kube: &KubeApiserver) -> Option<Differ> {
        let exodns = exodns_bin()?;
        let Some(upstream) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
            skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
            return None;
        };
        install_shipped_rbac(kube);
        let restricted = kube.service_account_kubeconfig("exodns", "exodns").expect("ServiceAccount kubeconfig");
        let empty_zone = tempfile::NamedTempFile::new().expect("temporary file");
        std::fs::write(empty_zone.path(), "[]").expect("write");
        Some(Differ { exodns, upstream, admin: kube.kubeconfig_path().to_owned(), restricted, empty_zone })
    }

    /// What upstream sends with `flags` (sources and their flags): `Err` with its log when it
    /// fails.
    pub fn upstream(&self, flags: &[&str]) -> Result<Vec<String>, String> {
        let recorder = WebhookRecorder::start().expect("webhook recorder");
        let out = Command::new(&self.upstream)
            .args(COMMON)
            .args(flags)
            .args(["--once", "--provider=webhook", "--log-level=debug"])
            .arg(format!("--webhook-provider-url={}", recorder.url()))
            .arg(format!("--kubeconfig={}", self.admin.display()))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .output()
            .expect("run upstream external-dns");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err(log);
        }
        let bodies = recorder.bodies("/records");
        assert!(bodies.len() <= 1, "upstream sent {} changes with --once:\n{log}", bodies.len());
        Ok(bodies.first().map(|b| creates(b, &log)).unwrap_or_default())
    }

    /// What `exodns plan` would create with `flags`, and its log.
    pub fn exodns(&self, flags: &[&str]) -> (Vec<String>, String) {
        let out = self.plan(flags, "30s");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "exodns plan {flags:?} failed:\n{log}");
        assert!(
            !log.contains("Forbidden") && !log.contains("forbidden"),
            "the shipped ClusterRole is not enough:\n{log}"
        );
        (creates(&String::from_utf8_lossy(&out.stdout), &log), log)
    }

    /// The log of `exodns plan` with `flags`, which must fail within seconds (a source that
    /// cannot sync, such as one whose CRD is missing).
    pub fn exodns_failure(&self, flags: &[&str]) -> String {
        let out = self.plan(flags, "3s");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "exodns plan {flags:?} should have failed:\n{log}");
        log
    }

    /// `exodns plan` with `flags` fails before its CRDs are installed, its log naming each of
    /// `needles` (the resource missing and what to install).
    pub fn exodns_names_missing(&self, flags: &[&str], needles: &[&str]) {
        let log = self.exodns_failure(flags);
        for needle in needles {
            assert!(log.contains(needle), "{flags:?} without its CRDs does not name {needle:?}:\n{log}");
        }
    }

    /// `exodns plan` as JSON against an empty zone, under the shipped ClusterRole, waiting at
    /// most `sync_timeout` for the sources.
    fn plan(&self, flags: &[&str], sync_timeout: &str) -> std::process::Output {
        Command::new(&self.exodns)
            .arg("plan")
            .args(["--output=json", "--provider=inmemory"])
            .arg(format!("--cache-sync-timeout={sync_timeout}"))
            .arg(format!("--current-endpoints={}", self.empty_zone.path().display()))
            .args(COMMON)
            .args(flags)
            .arg(format!("--kubeconfig={}", self.restricted.display()))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run exodns plan")
    }

    /// Runs both with `flags` and checks that they want the same records, but for `differences`.
    /// Returns how many records upstream wanted.
    pub fn compare(&self, flags: &[&str], differences: &[Difference]) -> usize {
        self.compare_sides(flags, &[], &[], differences)
    }

    /// [`compare`](Self::compare) where each side also gets flags of its own: the settings that
    /// mean the same in the two (`upstream_only` for upstream, `exodns_only` for exodns).
    pub fn compare_sides(
        &self,
        flags: &[&str],
        upstream_only: &[&str],
        exodns_only: &[&str],
        differences: &[Difference],
    ) -> usize {
        let up_flags: Vec<&str> = flags.iter().chain(upstream_only).copied().collect();
        let ex_flags: Vec<&str> = flags.iter().chain(exodns_only).copied().collect();
        let up = self.upstream(&up_flags).unwrap_or_else(|log| panic!("upstream failed with {up_flags:?}:\n{log}"));
        let (ex, log) = self.exodns(&ex_flags);
        let flags = (up_flags, ex_flags);
        let mut up_only: Vec<&String> = up.iter().filter(|r| !ex.contains(r)).collect();
        let mut ex_only: Vec<&String> = ex.iter().filter(|r| !up.contains(r)).collect();
        for d in differences {
            for (side, want, name) in
                [(&mut up_only, d.upstream_only, "upstream"), (&mut ex_only, d.exodns_only, "exodns")]
            {
                for w in want {
                    let before = side.len();
                    side.retain(|r| r.as_str() != *w);
                    assert!(
                        side.len() < before,
                        "{flags:?}: the known difference {:?} is gone: {name} no longer has {w}",
                        d.case
                    );
                }
            }
        }
        assert!(
            up_only.is_empty() && ex_only.is_empty(),
            "{flags:?}: upstream and exodns disagree\nupstream only: {up_only:#?}\nexodns only: {ex_only:#?}\nexodns log:\n{log}"
        );
        up.len()
    }
}

/// The `create` list of a webhook `Changes` body, normalised and sorted.
fn creates(body: &str, log: &str) -> Vec<String> {
    let changes: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not Changes JSON ({e}): {body}\n{log}"));
    for list in ["updateOld", "updateNew", "delete", "UpdateOld", "UpdateNew", "Delete"] {
        let n = changes.get(list).and_then(Value::as_array).map_or(0, Vec::len);
        assert_eq!(n, 0, "{list} against an empty zone: {body}");
    }
    let items = changes.get("create").or_else(|| changes.get("Create")).and_then(Value::as_array).cloned();
    let mut out: Vec<String> = items.unwrap_or_default().iter().map(normalise).collect();
    out.sort();
    out
}

/// One endpoint as a comparable line: `name TYPE [set=..] [ttl=..] targets {labels} [props]`.
pub fn normalise(ep: &Value) -> String {
    let s = |k: &str| ep.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut targets: Vec<String> = ep
        .get("targets")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).map(|t| t.trim_end_matches('.').to_owned()).collect())
        .unwrap_or_default();
    targets.sort();
    let mut props: Vec<String> = ep
        .get("providerSpecific")
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .map(|p| format!("{}={}", p["name"].as_str().unwrap_or(""), p["value"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    props.sort();
    let labels = ep.get("labels").cloned().unwrap_or(json!({}));
    let mut line = format!("{} {}", s("dnsName").trim_end_matches('.').to_lowercase(), s("recordType"));
    if !s("setIdentifier").is_empty() {
        line.push_str(&format!(" set={}", s("setIdentifier")));
    }
    if let Some(ttl) = ep.get("recordTTL").and_then(Value::as_i64).filter(|t| *t != 0) {
        line.push_str(&format!(" ttl={ttl}"));
    }
    line.push_str(&format!(" {}", targets.join(",")));
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        line.push_str(&format!(" {labels}"));
    }
    if !props.is_empty() {
        line.push_str(&format!(" [{}]", props.join(",")));
    }
    line
}

/// `apply_with_status` after creating `namespaces`.
pub fn apply_in_namespaces(kube: &KubeApiserver, namespaces: &[&str], yaml: &str) {
    let created: String =
        namespaces.iter().map(|n| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {n}}}\n---\n")).collect();
    apply_with_status(kube, &format!("{created}{yaml}"));
}

/// `kubectl apply` of `yaml`, then each document's `status` (which apply ignores) through the
/// status subresource, as the controllers the test cluster lacks would set it.
pub fn apply_with_status(kube: &KubeApiserver, yaml: &str) {
    crate::common::apply(kube, yaml);
    for doc in yaml.split("\n---").filter(|d| !d.trim().is_empty()) {
        let v: Value = serde_saphyr::from_str(doc).unwrap_or_else(|e| panic!("YAML ({e}):\n{doc}"));
        let Some(status) = v.get("status") else { continue };
        let patch = json!({"status": status}).to_string();
        kube.kubectl(&["patch", "-f", "-", "--subresource=status", "--type=merge", "-p", &patch], Some(doc))
            .unwrap_or_else(|e| panic!("status of {doc}: {e}"));
    }
}
