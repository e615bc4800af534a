//! Prism (`@stainless-api/prism-cli`, installed by `scripts/testbed/prism.sh`) in proxy mode in
//! front of a fake: it checks every request (and the fake's answer) against the vendor's OpenAPI
//! spec, forwards the good ones, and answers 422 (a bad request) or 500 (a bad answer) with an
//! `sl-violations` header otherwise — so a request the real API would refuse fails the test.
//!
//! ```no_run
//! # fn main() -> Result<(), exodns_testbed::TestbedError> {
//! use exodns_testbed::prism::{Prism, load_spec, trim_spec};
//! let spec = load_spec(std::path::Path::new("cloudflare.json"))?;
//! let trimmed = trim_spec(&spec, &["/zones", "/zones/{zone_id}/dns_records"], "/client/v4");
//! let Some(prism) = Prism::start_or_skip(&trimmed, "http://127.0.0.1:8080") else { return Ok(()) };
//! // … point the client at prism.url() and run the test …
//! prism.assert_no_violations();
//! # Ok(()) }
//! ```
//!
//! Prism starts in ~10 s: share one per spec across a test module (a `static` [`Prism`]; its
//! process ends with the test binary, see [`Prism::start`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::kube::peer_binary;
use crate::{TestbedError, skip_or_fail};

/// How long Prism may take to listen (it compiles the spec first; a cold CI machine is slow).
const START_LIMIT: Duration = Duration::from_secs(180);

/// The marker of each request Prism refused or whose answer broke the spec.
const VIOLATION_MARK: &str = "Request terminated with error";

/// How Prism logs a forward whose connection the upstream (the fake) closed without an answer.
const DROPPED_MARK: &str = "socket hang up";

/// Whether a line of Prism's log is a refused request or a broken answer.
fn is_violation(line: &str) -> bool {
    line.contains(VIOLATION_MARK) && !line.contains(DROPPED_MARK)
}

/// When set, every Prism writes its log into this directory (not its temporary one), where
/// `scripts/prism-violations` counts the requests and violations of the whole suite.
pub const LOG_DIR_ENV: &str = "EXODNS_PRISM_LOG_DIR";

/// A vendor spec from a file (JSON).
pub fn load_spec(path: &Path) -> Result<Value, TestbedError> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text)
        .map_err(|e| TestbedError::Script { script: format!("read spec {}", path.display()), message: e.to_string() })
}

/// The part of `spec` a test needs: the `paths` listed (all their methods), the components they
/// reference (followed transitively), the security schemes, and nothing else. Each kept path is
/// mounted under `mount` (the path of the vendor's server URL, `/client/v4` for Cloudflare,
/// `/v1` for Hetzner), as Prism does not strip a server's base path, and the clients under test
/// are given a base URL with that path, as in production. Panics when a listed path is missing
/// (a test names the paths it uses).
pub fn trim_spec(spec: &Value, paths: &[&str], mount: &str) -> Value {
    let all = spec.get("paths").and_then(Value::as_object).expect("spec has paths");
    let mut kept_paths = Map::new();
    for p in paths {
        let item = all.get(*p).unwrap_or_else(|| panic!("the spec has no path {p}"));
        kept_paths.insert(format!("{}{p}", mount.trim_end_matches('/')), item.clone());
    }
    let mut components: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut pending: Vec<Value> = kept_paths.values().cloned().collect();
    let source = spec.get("components").cloned().unwrap_or(Value::Null);
    while let Some(v) = pending.pop() {
        for r in refs_in(&v) {
            let Some(rest) = r.strip_prefix("#/components/") else { continue };
            let Some((kind, name)) = rest.split_once('/') else { continue };
            let key = (kind.to_owned(), name.to_owned());
            if components.contains_key(&key) {
                continue;
            }
            let target = source
                .get(kind)
                .and_then(|k| k.get(unescape_pointer(name)))
                .unwrap_or_else(|| panic!("the spec has no {r}"))
                .clone();
            pending.push(target.clone());
            components.insert(key, target);
        }
    }
    let mut out_components = Map::new();
    for ((kind, name), v) in components {
        out_components
            .entry(kind)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("object")
            .insert(unescape_pointer(&name), v);
    }
    if let Some(schemes) = source.get("securitySchemes") {
        out_components.insert("securitySchemes".into(), schemes.clone());
    }
    let mut out = Map::new();
    for (k, v) in spec.as_object().expect("spec is an object") {
        match k.as_str() {
            "paths" | "components" | "servers" | "tags" | "x-tagGroups" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("paths".into(), Value::Object(kept_paths));
    out.insert("components".into(), Value::Object(out_components));
    Value::Object(out)
}

fn refs_in(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// JSON-pointer unescaping of one segment (`~1` → `/`, `~0` → `~`).
fn unescape_pointer(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// A running `prism proxy --errors SPEC UPSTREAM` on a free loopback port.
///
/// Prism runs under a small shell guard that reads its stdin, a pipe from this process: the
/// guard kills Prism by PID when the pipe closes — on drop, or when the test binary ends, so a
/// `static` Prism shared by a test module does not outlive the tests.
pub struct Prism {
    guard: Mutex<Option<(Child, ChildStdin)>>,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Prism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prism").field("url", &self.url).field("log", &self.log).finish_non_exhaustive()
    }
}

impl Prism {
    /// The Prism binary of the test bed (`EXODNS_PRISM_BIN`), when installed.
    pub fn binary() -> Option<PathBuf> {
        peer_binary("EXODNS_PRISM_BIN")
    }

    /// Whether Prism is installed and `node` can run it.
    pub fn available() -> bool {
        Prism::binary().is_some() && crate::have_program("node")
    }

    /// Writes `spec` into a temporary file and starts Prism on it in front of `upstream`
    /// (`http://127.0.0.1:PORT`); returns once Prism listens.
    pub fn start(spec: &Value, upstream: &str) -> Result<Prism, TestbedError> {
        Prism::start_with(spec, upstream, true)
    }

    /// [`Prism::start`], but its log stays out of [`LOG_DIR_ENV`]: for a test of Prism itself
    /// that sends refused requests on purpose, which the suite-wide count must not see.
    pub fn start_unshared(spec: &Value, upstream: &str) -> Result<Prism, TestbedError> {
        Prism::start_with(spec, upstream, false)
    }

    fn start_with(spec: &Value, upstream: &str, shared_log: bool) -> Result<Prism, TestbedError> {
        let bin = Prism::binary().ok_or(TestbedError::Missing("prism (scripts/testbed/prism.sh)"))?;
        let spec = serde_json::to_vec(spec).expect("spec serialises");
        let mut last = String::new();
        // A port taken between its choice and Prism's bind: try again with another.
        for _ in 0..3 {
            let prism = Prism::spawn(&bin, &spec, upstream, shared_log)?;
            match prism.wait_listening() {
                Ok(()) => return Ok(prism),
                Err(text) if text.contains("EADDRINUSE") => last = text,
                Err(text) => return Err(TestbedError::Script { script: "prism proxy".into(), message: text }),
            }
        }
        Err(TestbedError::Script { script: "prism proxy".into(), message: last })
    }

    fn spawn(bin: &Path, spec: &[u8], upstream: &str, shared_log: bool) -> Result<Prism, TestbedError> {
        let dir = tempfile::Builder::new().prefix("exodns-prism-").tempdir()?;
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, spec)?;
        let port = crate::free_port();
        let log = match std::env::var_os(LOG_DIR_ENV).filter(|d| shared_log && !d.is_empty()) {
            // Kept past the test for the suite-wide count in scripts/test.
            Some(shared) => Path::new(&shared).join(format!("prism-{}-{port}.log", std::process::id())),
            None => dir.path().join("prism.log"),
        };
        let out = std::fs::File::create(&log)?;
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#""$@" & pid=$!; read -r _; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0"#)
            .arg("prism-guard")
            .arg(bin)
            .args(["proxy", "--errors", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(&spec_path)
            .arg(upstream)
            .stdin(Stdio::piped())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        Ok(Prism { guard: Mutex::new(Some((child, stdin))), url: format!("http://127.0.0.1:{port}"), log, _dir: dir })
    }

    /// For tests: a Prism, or `None` (with a notice) when it is not installed — unless
    /// `EXODNS_REQUIRE_PEERS=1`, where that panics. One that is installed but fails to start
    /// always panics.
    pub fn start_or_skip(spec: &Value, upstream: &str) -> Option<Prism> {
        if !Prism::available() {
            skip_or_fail("prism is not installed (run scripts/testbed/setup.sh, or scripts/testbed/prism.sh)");
            return None;
        }
        Some(Prism::start(spec, upstream).unwrap_or_else(|e| panic!("cannot start prism: {e}")))
    }

    fn wait_listening(&self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let text = self.log();
            if text.contains("Prism is listening") {
                return Ok(());
            }
            if text.contains("fatal") || text.contains("EADDRINUSE") || !self.is_running() {
                return Err(format!("prism did not start; log:\n{text}"));
            }
            if started.elapsed() > START_LIMIT {
                return Err(format!("prism not listening after {START_LIMIT:?}; log:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn is_running(&self) -> bool {
        let mut guard = self.guard.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_mut().is_some_and(|(child, _)| child.try_wait().ok().flatten().is_none())
    }

    /// `http://127.0.0.1:PORT`, to which the spec's (mounted) paths are appended.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Prism's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The requests Prism refused, or whose answer broke the spec, so far: one line each
    /// (method, path and Prism's reason). A connection the fake dropped on purpose (a fault a
    /// test injected) is not one, though Prism logs it alike, as a failed forward.
    pub fn violations(&self) -> Vec<String> {
        self.settle();
        self.log().lines().filter(|l| is_violation(l)).map(str::to_owned).collect()
    }

    /// Panics when any request so far failed Prism's validation, listing them. A test module
    /// sharing one Prism calls it at the end of each test: a bad request of any test then fails
    /// at least one test, and the suite as a whole asserts 0.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "{} request(s) failed Prism's validation:\n{}\n(log: {})",
            v.len(),
            v.join("\n"),
            self.log.display()
        );
    }

    /// Waits until Prism's log has not grown for 200 ms (at most 3 s): Prism writes its verdict
    /// on a request after answering it.
    fn settle(&self) {
        let started = Instant::now();
        let size = || std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let mut last = (size(), Instant::now());
        while started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(25));
            let now = size();
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= Duration::from_millis(200) {
                return;
            }
        }
    }

    /// Ends Prism (the guard kills it by PID) and waits for the guard.
    fn stop(&self) {
        let taken = self.guard.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((mut child, stdin)) = taken {
            let _ = writeln!(&stdin);
            drop(stdin);
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trim_keeps_paths_and_what_they_reference() {
        let spec = json!({
            "openapi": "3.0.3",
            "servers": [{"url": "https://api.example.com/v4"}],
            "paths": {
                "/a": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
                "/b": {"get": {"parameters": [{"$ref": "#/components/parameters/P"}]}}
            },
            "components": {
                "schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {"type": "string"}, "Unused": {}},
                "parameters": {"P": {"name": "p", "in": "query"}},
                "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"token": []}]
        });
        let t = trim_spec(&spec, &["/a"], "/v4");
        assert_eq!(t["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/v4/a"]);
        let schemas = t["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["A", "B"], "followed transitively, unused dropped");
        assert!(t["components"].get("parameters").is_none());
        assert!(t["components"]["securitySchemes"]["token"].is_object());
        assert_eq!(t["security"], spec["security"]);
        assert!(t.get("servers").is_none());
    }
}
