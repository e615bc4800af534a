//! A throwaway PowerDNS Authoritative server, through `scripts/testbed/pdns.sh`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::{TestbedError, dns, have_program, path_with_sbin, scripts_dir, skip_or_fail, stop_by_script};

/// Settings for [`Pdns::start_with`].
#[derive(Debug, Clone, Default)]
pub struct PdnsOptions {
    /// `webserver-max-bodysize` in MB (PowerDNS's default, 2, when `None`).
    pub max_body_mb: Option<u32>,
    /// API key (random when `None`).
    pub api_key: Option<String>,
    /// LUA health-check interval in seconds (1 when `None`).
    pub lua_health_check_interval: Option<u32>,
    /// Log every API request, for [`Pdns::api_requests`].
    pub log_requests: bool,
}

/// A running `pdns_server` with a fresh sqlite database, on free loopback ports. Dropping it stops
/// the server (by its PID, through the script) and removes its directory.
pub struct Pdns {
    dir: tempfile::TempDir,
    opts: PdnsOptions,
    pid: Option<u32>,
    api_url: String,
    api_key: String,
    dns_addr: IpAddr,
    dns_port: u16,
    http: reqwest::Client,
}

impl std::fmt::Debug for Pdns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pdns")
            .field("dir", &self.dir.path())
            .field("pid", &self.pid)
            .field("api_url", &self.api_url)
            .field("dns", &format_args!("{}:{}", self.dns_addr, self.dns_port))
            .finish_non_exhaustive()
    }
}

impl Pdns {
    /// Whether `pdns_server` is installed.
    pub fn available() -> bool {
        have_program("pdns_server")
    }

    /// Starts a server with the defaults (2 MB body limit, random key).
    pub fn start() -> Result<Pdns, TestbedError> {
        Pdns::start_with(PdnsOptions::default())
    }

    pub fn start_with(opts: PdnsOptions) -> Result<Pdns, TestbedError> {
        if !Pdns::available() {
            return Err(TestbedError::Missing("pdns_server"));
        }
        let dir = tempfile::Builder::new().prefix("exodns-pdns-").tempdir()?;
        let http = http_client()?;
        let mut pdns = Pdns {
            dir,
            opts,
            pid: None,
            api_url: String::new(),
            api_key: String::new(),
            dns_addr: IpAddr::from([127, 0, 0, 1]),
            dns_port: 0,
            http,
        };
        pdns.run_start(false)?;
        Ok(pdns)
    }

    /// For tests: a server, or `None` (with a notice on stderr) when `pdns_server` is not
    /// installed — unless `EXODNS_REQUIRE_PEERS=1`, where that panics. A server that is installed
    /// but fails to start always panics.
    pub fn start_or_skip(opts: PdnsOptions) -> Option<Pdns> {
        if !Pdns::available() {
            skip_or_fail("pdns_server is not installed (run scripts/testbed/apt-deps.sh)");
            return None;
        }
        match Pdns::start_with(opts) {
            Ok(p) => Some(p),
            Err(e) => panic!("cannot start pdns_server: {e}"),
        }
    }

    fn script(&self) -> PathBuf {
        scripts_dir().join("pdns.sh")
    }

    fn run_start(&mut self, keep_db: bool) -> Result<(), TestbedError> {
        let mut cmd = Command::new("bash");
        cmd.arg(self.script()).arg("start").arg(self.dir.path());
        if keep_db {
            cmd.arg("--keep-db");
        }
        cmd.env("PATH", path_with_sbin());
        if let Some(mb) = self.opts.max_body_mb {
            cmd.env("PDNS_MAX_BODY_MB", mb.to_string());
        }
        if let Some(key) = &self.opts.api_key {
            cmd.env("PDNS_API_KEY", key);
        } else {
            cmd.env_remove("PDNS_API_KEY");
        }
        if let Some(s) = self.opts.lua_health_check_interval {
            cmd.env("PDNS_LUA_HC_INTERVAL", s.to_string());
        }
        cmd.env("PDNS_LOG_REQUESTS", if self.opts.log_requests { "1" } else { "0" });
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(TestbedError::Script {
                script: "pdns.sh start".into(),
                message: format!(
                    "{}\n{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim(),
                    tail(&self.dir.path().join("pdns.log"), 30)
                ),
            });
        }
        let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
            .collect();
        let get = |k: &str| {
            vars.get(k).cloned().ok_or_else(|| TestbedError::Script {
                script: "pdns.sh start".into(),
                message: format!("no {k}= line in its output: {}", String::from_utf8_lossy(&out.stdout)),
            })
        };
        let bad =
            |k: &str, v: &str| TestbedError::Script { script: "pdns.sh start".into(), message: format!("bad {k}={v}") };
        let pid = get("PDNS_PID")?;
        self.pid = Some(pid.parse().map_err(|_| bad("PDNS_PID", &pid))?);
        self.api_url = get("PDNS_API_URL")?.trim_end_matches('/').to_owned();
        self.api_key = get("PDNS_API_KEY")?;
        let port = get("PDNS_DNS_PORT")?;
        self.dns_port = port.parse().map_err(|_| bad("PDNS_DNS_PORT", &port))?;
        let addr = get("PDNS_DNS_ADDR")?;
        self.dns_addr = addr.parse().map_err(|_| bad("PDNS_DNS_ADDR", &addr))?;
        Ok(())
    }

    /// Stops the server (SIGTERM, then SIGKILL after a while); the database stays.
    pub fn stop(&mut self) -> Result<(), TestbedError> {
        if self.pid.is_none() {
            return Ok(());
        }
        stop_by_script("pdns.sh", self.dir.path())?;
        self.pid = None;
        Ok(())
    }

    /// Starts the server again on the same database, ports and key (after [`Pdns::stop`]).
    pub fn restart_keep_db(&mut self) -> Result<(), TestbedError> {
        self.stop()?;
        self.run_start(true)
    }

    pub fn is_running(&self) -> bool {
        self.pid.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// `http://127.0.0.1:PORT` (the API is under `/api/v1`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn dns_addr(&self) -> IpAddr {
        self.dns_addr
    }

    pub fn dns_port(&self) -> u16 {
        self.dns_port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default()
    }

    /// API requests the server has answered so far with `method` on a zone (`PATCH`: the writes),
    /// counted from its own log; needs [`PdnsOptions::log_requests`].
    pub fn api_requests(&self, method: &str) -> usize {
        assert!(self.opts.log_requests, "api_requests needs PdnsOptions::log_requests");
        let pattern = format!("\"{method} /api/v1/servers/localhost/zones/");
        self.log().lines().filter(|l| l.contains("[webserver]") && l.contains(&pattern)).count()
    }

    /// A raw API call on `/api/v1/servers/localhost{path}`; returns the status and the body.
    pub async fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, String), TestbedError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| TestbedError::Http(e.to_string()))?;
        let url = format!("{}/api/v1/servers/localhost{path}", self.api_url);
        let mut req = self.http.request(method, &url).header("X-API-Key", &self.api_key);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| TestbedError::Http(format!("{url}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| TestbedError::Http(e.to_string()))?;
        Ok((status, text))
    }

    async fn api_ok(&self, method: &str, path: &str, body: Option<&Value>) -> Result<String, TestbedError> {
        let (status, text) = self.api(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(TestbedError::Http(format!("{method} {path}: HTTP {status}: {text}")))
        }
    }

    /// Creates a Native zone (`example.org` or `example.org.`) with `ns1.<zone>` as its NS.
    pub async fn create_zone(&self, name: &str) -> Result<(), TestbedError> {
        let fqdn = fqdn(name);
        let body = json!({ "name": fqdn, "kind": "Native", "nameservers": [format!("ns1.{fqdn}")] });
        self.api_ok("POST", "/zones", Some(&body)).await.map(drop)
    }

    pub async fn delete_zone(&self, name: &str) -> Result<(), TestbedError> {
        self.api_ok("DELETE", &format!("/zones/{}", fqdn(name)), None).await.map(drop)
    }

    /// `PATCH` of a zone with `{"rrsets": rrsets}` — for records made "by hand".
    pub async fn patch_rrsets(&self, zone: &str, rrsets: Value) -> Result<(), TestbedError> {
        self.api_ok("PATCH", &format!("/zones/{}", fqdn(zone)), Some(&json!({ "rrsets": rrsets }))).await.map(drop)
    }

    /// Sets one rrset by hand (REPLACE); contents as PowerDNS wants them.
    pub async fn put_rrset(
        &self,
        zone: &str,
        name: &str,
        rtype: &str,
        ttl: u32,
        contents: &[&str],
    ) -> Result<(), TestbedError> {
        let records: Vec<Value> = contents.iter().map(|c| json!({ "content": c, "disabled": false })).collect();
        self.patch_rrsets(
            zone,
            json!([{ "name": fqdn(name), "type": rtype, "ttl": ttl, "changetype": "REPLACE", "records": records }]),
        )
        .await
    }

    /// The zone with its rrsets, as the API returns it.
    pub async fn get_zone(&self, zone: &str) -> Result<Value, TestbedError> {
        let text = self.api_ok("GET", &format!("/zones/{}", fqdn(zone)), None).await?;
        serde_json::from_str(&text).map_err(|e| TestbedError::Http(format!("zone JSON: {e}")))
    }

    /// `(name, type) → sorted contents` of every rrset of the zone, names absolute, from the API.
    pub async fn rrsets(
        &self,
        zone: &str,
    ) -> Result<std::collections::BTreeMap<(String, String), Vec<String>>, TestbedError> {
        let z = self.get_zone(zone).await?;
        let mut out = std::collections::BTreeMap::new();
        for rr in z["rrsets"].as_array().cloned().unwrap_or_default() {
            let mut contents: Vec<String> = rr["records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["content"].as_str().map(str::to_owned))
                .collect();
            contents.sort();
            out.insert(
                (
                    rr["name"].as_str().unwrap_or_default().to_owned(),
                    rr["type"].as_str().unwrap_or_default().to_owned(),
                ),
                contents,
            );
        }
        Ok(out)
    }

    /// One DNS question to this server; answers of type `rtype` in presentation form (see
    /// [`crate::dns_query`]). A SERVFAIL is an error ([`crate::dns_answers`]).
    pub async fn dig(&self, name: &str, rtype: &str) -> Result<Vec<String>, TestbedError> {
        dns::dns_answers(self.dns_addr, self.dns_port, name, rtype).await
    }

    /// [`dig`](Self::dig), with no answer (empty) on a DNS error such as a timeout; panics on a
    /// SERVFAIL (a published record PowerDNS cannot serve is always a test failure).
    pub async fn answers(&self, name: &str, rtype: &str) -> Vec<String> {
        match self.dig(name, rtype).await {
            Ok(a) => a,
            Err(TestbedError::Dns(m)) if m.starts_with("SERVFAIL") => panic!("{m}"),
            Err(_) => Vec::new(),
        }
    }

    /// Asks `name rtype` every 20 ms until the answers are exactly `want` (in any order); returns
    /// how long that took. Panics on a SERVFAIL, and after `limit` with the last answers and
    /// `log()` (the log of whatever should have written the records).
    pub async fn wait_for_answers(
        &self,
        name: &str,
        rtype: &str,
        want: &[&str],
        limit: std::time::Duration,
        log: impl Fn() -> String,
    ) -> std::time::Duration {
        let started = std::time::Instant::now();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        loop {
            let got = self.answers(name, rtype).await;
            if got == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{name} {rtype}: {got:?}, not {want:?} within {limit:?}; log:\n{}",
                log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Asks `name rtype` every 20 ms for `during` and panics (naming the answer, with `log()`)
    /// as soon as one fails `ok` or is a SERVFAIL; returns how many answers were checked. For
    /// "X never answers" and "no NXDOMAIN/NODATA while …" (`ok = |a| !a.is_empty()`).
    pub async fn hold_answers(
        &self,
        name: &str,
        rtype: &str,
        during: std::time::Duration,
        ok: impl Fn(&[String]) -> bool,
        log: impl Fn() -> String,
    ) -> usize {
        let started = std::time::Instant::now();
        let mut checked = 0;
        while started.elapsed() < during {
            let got = self.answers(name, rtype).await;
            assert!(ok(&got), "{name} {rtype}: {got:?} after {:?}; log:\n{}", started.elapsed(), log());
            checked += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        checked
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let Some(pid) = self.pid else { return };
        if self.stop().is_err() {
            // The script could not stop it: kill exactly that PID.
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
    }
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') { name.to_owned() } else { format!("{name}.") }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A reqwest client for plain http on the loopback (reqwest still wants a TLS configuration with
/// a provider), 60 s timeout.
pub fn http_client() -> Result<reqwest::Client, TestbedError> {
    let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), false)
        .map_err(|e| TestbedError::Http(e.to_string()))?;
    exodns_http::client_builder(tls)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| TestbedError::Http(e.to_string()))
}
