//! A throwaway Kubernetes control plane (etcd + kube-apiserver, no kubelet, no controllers),
//! through `scripts/testbed/apiserver.sh`.
//!
//! ```no_run
//! # fn main() -> Result<(), exodns_testbed::TestbedError> {
//! use exodns_testbed::kube::KubeApiserver;
//! let Some(kube) = KubeApiserver::start_or_skip() else { return Ok(()) };
//! kube.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")?;
//! let kubeconfig = kube.kubeconfig_path(); // for kube-rs, kubectl or upstream ExternalDNS
//! # let _ = kubeconfig; Ok(()) }
//! ```
//!
//! Nothing runs the controllers: tests set what they would (`Service` load-balancer status via
//! [`KubeApiserver::patch_status`], EndpointSlices, Pod status) themselves.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{TestbedError, scripts_dir, skip_or_fail};

/// A path from the test bed's environment: the variable itself when set (and not empty), else
/// the line `export NAME=…` of `$EXODNS_CACHE/testbed.env` (written by `scripts/testbed/setup.sh`).
/// Names: `EXODNS_KUBE_APISERVER_BIN`, `EXODNS_ETCD_BIN`, `EXODNS_UPSTREAM_EXTERNAL_DNS_BIN`,
/// `EXODNS_DNSENDPOINT_CRD`, `EXODNS_GATEWAY_CRD_DIR`, …
pub fn testbed_var(name: &str) -> Option<String> {
    if let Some(v) = std::env::var_os(name).filter(|v| !v.is_empty()) {
        return Some(v.to_string_lossy().into_owned());
    }
    let cache = match std::env::var_os("EXODNS_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/exodns"),
    };
    let text = std::fs::read_to_string(cache.join("testbed.env")).ok()?;
    text.lines().find_map(|l| {
        let l = l.trim().strip_prefix("export ").unwrap_or(l.trim());
        let (k, v) = l.split_once('=')?;
        (k == name).then(|| v.trim().trim_matches('"').trim_matches('\'').to_owned())
    })
}

/// A peer binary named by a test-bed variable, when it exists.
pub fn peer_binary(var: &str) -> Option<PathBuf> {
    testbed_var(var).map(PathBuf::from).filter(|p| p.is_file())
}

/// A running etcd + kube-apiserver on free loopback ports, with a fresh PKI and a bearer token
/// of a `system:masters` user. Dropping it stops both (by PID, through the script) and removes
/// its directory.
pub struct KubeApiserver {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    api_url: String,
    token: String,
    etcd_pid: Option<u32>,
    apiserver_pid: Option<u32>,
}

impl std::fmt::Debug for KubeApiserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApiserver")
            .field("dir", &self.dir.path())
            .field("api_url", &self.api_url)
            .field("etcd_pid", &self.etcd_pid)
            .field("apiserver_pid", &self.apiserver_pid)
            .finish_non_exhaustive()
    }
}

impl KubeApiserver {
    /// Whether the etcd and kube-apiserver binaries are built (`scripts/testbed/setup.sh`), and
    /// openssl and kubectl are installed.
    pub fn available() -> bool {
        peer_binary("EXODNS_KUBE_APISERVER_BIN").is_some()
            && peer_binary("EXODNS_ETCD_BIN").is_some()
            && crate::have_program("openssl")
            && crate::have_program("kubectl")
    }

    /// Starts a fresh control plane (about 5 s). Missing binaries are built by the script first,
    /// which takes minutes.
    pub fn start() -> Result<KubeApiserver, TestbedError> {
        let dir = tempfile::Builder::new().prefix("exodns-kube-").tempdir()?;
        let mut kube = KubeApiserver {
            dir,
            kubeconfig: PathBuf::new(),
            api_url: String::new(),
            token: String::new(),
            etcd_pid: None,
            apiserver_pid: None,
        };
        let out = kube.script(&["start"])?;
        kube.read_env(&out)?;
        Ok(kube)
    }

    /// For tests: a control plane, or `None` (with a notice on stderr) when its binaries are
    /// not built — unless `EXODNS_REQUIRE_PEERS=1`, where that panics. One that is there but
    /// fails to start always panics.
    pub fn start_or_skip() -> Option<KubeApiserver> {
        if !KubeApiserver::available() {
            skip_or_fail("kube-apiserver/etcd are not built or openssl/kubectl missing (run scripts/testbed/setup.sh)");
            return None;
        }
        match KubeApiserver::start() {
            Ok(k) => Some(k),
            Err(e) => panic!("cannot start kube-apiserver: {e}"),
        }
    }

    fn script(&self, args: &[&str]) -> Result<String, TestbedError> {
        let name = format!("apiserver.sh {}", args.first().copied().unwrap_or_default());
        let mut cmd = Command::new("bash");
        cmd.arg(scripts_dir().join("apiserver.sh")).arg(args[0]).arg(self.dir.path()).args(&args[1..]);
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(TestbedError::Script {
                script: name,
                message: format!("{}\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn read_env(&mut self, out: &str) -> Result<(), TestbedError> {
        let vars: HashMap<&str, &str> =
            out.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        let get = |k: &str| {
            vars.get(k).map(|v| v.to_string()).ok_or_else(|| TestbedError::Script {
                script: "apiserver.sh start".into(),
                message: format!("no {k}= line in its output: {out}"),
            })
        };
        self.kubeconfig = PathBuf::from(get("KUBECONFIG")?);
        self.api_url = get("KUBE_API_URL")?;
        self.token = get("KUBE_TOKEN")?;
        self.etcd_pid = get("ETCD_PID")?.parse().ok();
        self.apiserver_pid = get("APISERVER_PID")?.parse().ok();
        Ok(())
    }

    /// The kubeconfig (context `test`: bearer token; `test-cert`: client certificate).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Bearer token of an admin (`system:masters`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA that signed the serving certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("pki/ca.crt")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn apiserver_pid(&self) -> Option<u32> {
        self.apiserver_pid
    }

    pub fn etcd_pid(&self) -> Option<u32> {
        self.etcd_pid
    }

    /// The kube-apiserver log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kube-apiserver.log")).unwrap_or_default()
    }

    /// Stops kube-apiserver, then etcd.
    pub fn stop(&mut self) -> Result<(), TestbedError> {
        if self.apiserver_pid.is_none() && self.etcd_pid.is_none() {
            return Ok(());
        }
        self.script(&["stop"])?;
        self.apiserver_pid = None;
        self.etcd_pid = None;
        Ok(())
    }

    /// Stops only kube-apiserver; etcd keeps the objects (for outage tests).
    pub fn stop_apiserver(&mut self) -> Result<(), TestbedError> {
        self.script(&["stop-apiserver"])?;
        self.apiserver_pid = None;
        Ok(())
    }

    /// Starts kube-apiserver again after [`stop_apiserver`](Self::stop_apiserver): same port,
    /// flags, token and objects.
    pub fn start_apiserver(&mut self) -> Result<(), TestbedError> {
        let out = self.script(&["start-apiserver"])?;
        self.read_env(&out)
    }

    /// Installs CRD sets and waits for them to be Established: `gateway`, `dnsendpoint`,
    /// `cilium`, `servicemonitor`.
    pub fn install_crds(&self, sets: &[&str]) -> Result<(), TestbedError> {
        let mut args = vec!["crds"];
        args.extend_from_slice(sets);
        self.script(&args).map(drop)
    }

    /// Runs `kubectl --kubeconfig … ARGS` (and `stdin`, when given); returns its stdout.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String, TestbedError> {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).arg("--request-timeout=60s").args(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        if let Some(input) = stdin {
            child.stdin.take().expect("piped stdin").write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(TestbedError::Script {
                script: format!("kubectl {}", args.join(" ")),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl apply -f -` of YAML (several documents allowed).
    pub fn apply_yaml(&self, yaml: &str) -> Result<(), TestbedError> {
        self.kubectl(&["apply", "-f", "-"], Some(yaml)).map(drop)
    }

    /// A kubeconfig (written into [`dir`](Self::dir)) that authenticates with a token of the
    /// ServiceAccount `namespace/account`, from the TokenRequest API (`kubectl create token`,
    /// valid for an hour).
    pub fn service_account_kubeconfig(&self, namespace: &str, account: &str) -> Result<PathBuf, TestbedError> {
        let token = self.kubectl(&["-n", namespace, "create", "token", account, "--duration=1h"], None)?;
        let path = self.dir.path().join(format!("kubeconfig-{namespace}-{account}"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\n\
                 users:\n- name: u\n  user: {{token: \"{}\"}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
                self.api_url,
                self.ca_path().display(),
                token.trim()
            ),
        )?;
        Ok(path)
    }

    /// Merge-patches the `status` subresource of an object, e.g. a Service's load balancer:
    /// `patch_status("default", "service", "web", r#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}"#)`.
    pub fn patch_status(&self, namespace: &str, kind: &str, name: &str, patch: &str) -> Result<(), TestbedError> {
        self.kubectl(&["-n", namespace, "patch", kind, name, "--subresource=status", "--type=merge", "-p", patch], None)
            .map(drop)
    }

    /// Merge-patches the `status` of many objects of one resource (`services`) in `namespace` as
    /// fast as the apiserver takes them: `parallel` requests in flight, each on its own
    /// connection. Returns how long that took, from the first request sent to the last answer.
    pub async fn patch_statuses(
        &self,
        namespace: &str,
        resource: &str,
        patches: Vec<(String, String)>,
        parallel: usize,
    ) -> Result<Duration, TestbedError> {
        let http = |e: String| TestbedError::Http(e);
        let settings = exodns_http::TlsSettings { ca_file: Some(self.ca_path()), ..Default::default() };
        let tls = exodns_http::client_config(&settings, true).map_err(|e| http(e.to_string()))?;
        let client = exodns_http::client_builder(tls)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| http(e.to_string()))?;
        let base = format!("{}/api/v1/namespaces/{namespace}/{resource}", self.api_url);
        let queue = Arc::new(Mutex::new(patches.into_iter()));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..parallel.max(1) {
            let (client, queue, base, token) = (client.clone(), queue.clone(), base.clone(), self.token.clone());
            tasks.spawn(async move {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((name, patch)) = next else { return Ok(()) };
                    let url = format!("{base}/{name}/status");
                    let resp = client
                        .patch(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/merge-patch+json")
                        .body(patch)
                        .send()
                        .await
                        .map_err(|e| TestbedError::Http(format!("PATCH {url}: {e}")))?;
                    if !resp.status().is_success() {
                        return Err(TestbedError::Http(format!("PATCH {url}: HTTP {}", resp.status())));
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| http(e.to_string()))??;
        }
        Ok(started.elapsed())
    }
}

impl Drop for KubeApiserver {
    fn drop(&mut self) {
        let pids: Vec<u32> = self.apiserver_pid.into_iter().chain(self.etcd_pid).collect();
        if pids.is_empty() {
            return;
        }
        if self.stop().is_err() {
            // The script could not stop them: kill exactly those PIDs.
            for pid in pids {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
    }
}
