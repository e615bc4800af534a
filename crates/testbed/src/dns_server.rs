//! A throwaway authoritative DNS server that takes RFC2136 UPDATE and AXFR signed with TSIG:
//! BIND 9.18 (`scripts/testbed/bind.sh`) or Knot 3.2 (`scripts/testbed/knot.sh`), in a temporary
//! directory on free loopback ports, with one TSIG key per algorithm. Stopped (by PID, through
//! its script) on drop.
//!
//! Records "made by hand" go in with `nsupdate`, and zones are read back with `dig AXFR`: tools
//! of the server's own distribution, not the code under test.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{TestbedError, dns, have_program, path_with_sbin, scripts_dir, skip_or_fail, stop_by_script};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Bind,
    Knot,
}

impl Flavor {
    fn program(self) -> &'static str {
        match self {
            Flavor::Bind => "named",
            Flavor::Knot => "knotd",
        }
    }

    fn script(self) -> &'static str {
        match self {
            Flavor::Bind => "bind.sh",
            Flavor::Knot => "knot.sh",
        }
    }

    fn zones_env(self) -> &'static str {
        match self {
            Flavor::Bind => "BIND_ZONES",
            Flavor::Knot => "KNOT_ZONES",
        }
    }

    fn log_file(self) -> &'static str {
        match self {
            Flavor::Bind => "named.log",
            Flavor::Knot => "knot.log",
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flavor::Bind => "BIND",
            Flavor::Knot => "Knot",
        })
    }
}

/// Settings for [`DnsServer::start`].
#[derive(Debug, Clone)]
pub struct DnsServerOptions {
    /// Zones served, each with SOA, `NS ns1.<zone>` and `ns1.<zone> A 127.0.0.1`.
    pub zones: Vec<String>,
    /// A DNS-over-TLS listener too (BIND only), with a certificate for 127.0.0.1 signed by
    /// [`DnsServer::tls_ca`].
    pub tls: bool,
}

impl Default for DnsServerOptions {
    fn default() -> Self {
        DnsServerOptions { zones: vec!["example.test".into()], tls: false }
    }
}

/// A TSIG key the server knows: UPDATE and AXFR are allowed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// `hmac-sha256`, …
    pub algorithm: String,
    pub name: String,
    /// Base64.
    pub secret: String,
}

impl TsigKey {
    /// `algorithm:name:secret`, the form of `dig -y` and `nsupdate -y`.
    pub fn dig_arg(&self) -> String {
        format!("{}:{}:{}", self.algorithm, self.name, self.secret)
    }
}

/// One record of an AXFR, as `dig` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ZoneRecord {
    /// Absolute, as the server spells it.
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    /// Presentation form (TXT quoted).
    pub data: String,
}

/// A running server; see the module documentation.
pub struct DnsServer {
    flavor: Flavor,
    dir: tempfile::TempDir,
    pid: Option<u32>,
    addr: IpAddr,
    port: u16,
    tls_port: Option<u16>,
    tls_ca: Option<PathBuf>,
    keys: Vec<TsigKey>,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("flavor", &self.flavor)
            .field("dir", &self.dir.path())
            .field("pid", &self.pid)
            .field("dns", &format_args!("{}:{}", self.addr, self.port))
            .field("tls_port", &self.tls_port)
            .finish_non_exhaustive()
    }
}

impl DnsServer {
    /// Whether the server program is installed.
    pub fn available(flavor: Flavor) -> bool {
        have_program(flavor.program())
    }

    pub fn start(flavor: Flavor, opts: DnsServerOptions) -> Result<DnsServer, TestbedError> {
        if !DnsServer::available(flavor) {
            return Err(TestbedError::Missing(flavor.program()));
        }
        if opts.tls && flavor != Flavor::Bind {
            return Err(TestbedError::Script {
                script: flavor.script().into(),
                message: format!("{flavor} 3.2 has no DNS-over-TLS listener"),
            });
        }
        // A short path: Knot's control socket must fit in sun_path.
        let dir = tempfile::Builder::new().prefix(&format!("exodns-{}-", flavor.program())).tempdir_in("/tmp")?;
        let mut cmd = Command::new("bash");
        cmd.arg(scripts_dir().join(flavor.script())).arg("start").arg(dir.path());
        cmd.env("PATH", path_with_sbin()).env(flavor.zones_env(), opts.zones.join(" "));
        if opts.tls {
            cmd.env("BIND_TLS", "1");
        }
        let out = cmd.output()?;
        let script = format!("{} start", flavor.script());
        if !out.status.success() {
            return Err(TestbedError::Script {
                script,
                message: format!(
                    "{}\n{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim(),
                    tail(&dir.path().join(flavor.log_file()), 30)
                ),
            });
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut vars: HashMap<&str, &str> = HashMap::new();
        let mut keys = Vec::new();
        for (k, v) in stdout.lines().filter_map(|l| l.split_once('=')) {
            if k == "TSIG_KEY" {
                let mut parts = v.splitn(3, ':');
                if let (Some(algorithm), Some(name), Some(secret)) = (parts.next(), parts.next(), parts.next()) {
                    keys.push(TsigKey { algorithm: algorithm.into(), name: name.into(), secret: secret.into() });
                }
            } else {
                vars.insert(k, v.trim());
            }
        }
        let bad = |k: &str| TestbedError::Script {
            script: script.clone(),
            message: format!("no valid {k}= line in its output: {stdout}"),
        };
        let parse = |k: &str| vars.get(k).and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| bad(k));
        let pid = parse("DNS_PID")?;
        let port = u16::try_from(parse("DNS_PORT")?).map_err(|_| bad("DNS_PORT"))?;
        let addr = vars.get("DNS_ADDR").and_then(|a| a.parse().ok()).ok_or_else(|| bad("DNS_ADDR"))?;
        let tls_port = match vars.get("TLS_PORT") {
            Some(_) => Some(u16::try_from(parse("TLS_PORT")?).map_err(|_| bad("TLS_PORT"))?),
            None => None,
        };
        let tls_ca = vars.get("TLS_CA").map(PathBuf::from);
        if keys.is_empty() {
            return Err(bad("TSIG_KEY"));
        }
        Ok(DnsServer { flavor, dir, pid: Some(pid), addr, port, tls_port, tls_ca, keys })
    }

    /// For tests: a server, or `None` (with a notice on stderr) when the program is not installed
    /// — unless `EXODNS_REQUIRE_PEERS=1`, where that panics. A server that is installed but fails
    /// to start always panics.
    pub fn start_or_skip(flavor: Flavor, opts: DnsServerOptions) -> Option<DnsServer> {
        if !DnsServer::available(flavor) {
            skip_or_fail(&format!("{} is not installed (run scripts/testbed/apt-deps.sh)", flavor.program()));
            return None;
        }
        match DnsServer::start(flavor, opts) {
            Ok(s) => Some(s),
            Err(e) => panic!("cannot start {flavor}: {e}"),
        }
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// DNS port (UDP and TCP).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// DNS-over-TLS port, when started with `tls`.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// PEM of the CA that signed the TLS listener's certificate.
    pub fn tls_ca(&self) -> Option<&Path> {
        self.tls_ca.as_deref()
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every key, one per algorithm.
    pub fn keys(&self) -> &[TsigKey] {
        &self.keys
    }

    /// The key of `algorithm` (`hmac-sha256`, …); panics when there is none.
    pub fn key(&self, algorithm: &str) -> &TsigKey {
        self.keys
            .iter()
            .find(|k| k.algorithm == algorithm)
            .unwrap_or_else(|| panic!("{} has no {algorithm} key", self.flavor))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(self.flavor.log_file())).unwrap_or_default()
    }

    /// One `nsupdate` session for `zone` with the hmac-sha256 key: `updates` are its commands
    /// (`update add www.example.test. 60 A 192.0.2.1`, `prereq nxrrset …`), sent as one UPDATE.
    pub fn nsupdate(&self, zone: &str, updates: &[&str]) -> Result<(), TestbedError> {
        use std::io::Write;
        let mut script = format!("server {} {}\nzone {zone}\n", self.addr, self.port);
        for u in updates {
            script.push_str(u);
            script.push('\n');
        }
        script.push_str("send\n");
        let mut child = Command::new("nsupdate")
            .arg("-y")
            .arg(self.key("hmac-sha256").dig_arg())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().expect("stdin").write_all(script.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(TestbedError::Dns(format!(
                "nsupdate {updates:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// The whole zone by AXFR (hmac-sha256 key), sorted, the closing SOA left out.
    pub fn axfr(&self, zone: &str) -> Result<Vec<ZoneRecord>, TestbedError> {
        let out = Command::new("dig")
            .arg(format!("@{}", self.addr))
            .args(["-p", &self.port.to_string(), "+noall", "+answer", "+nocmd", "+onesoa", "-y"])
            .arg(self.key("hmac-sha256").dig_arg())
            .args([zone, "AXFR"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || text.contains("Transfer failed") || text.trim().is_empty() {
            return Err(TestbedError::Dns(format!("AXFR of {zone}: {}{}", text, String::from_utf8_lossy(&out.stderr))));
        }
        let mut records = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()) {
            let mut it = line.split_whitespace();
            let (Some(name), Some(ttl), Some(_class), Some(rtype)) = (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(TestbedError::Dns(format!("AXFR of {zone}: cannot read {line:?}")));
            };
            let data = it.collect::<Vec<_>>().join(" ");
            let ttl = ttl.parse().map_err(|_| TestbedError::Dns(format!("AXFR of {zone}: TTL in {line:?}")))?;
            records.push(ZoneRecord { name: name.to_ascii_lowercase(), rtype: rtype.into(), ttl, data });
        }
        records.sort();
        Ok(records)
    }

    /// The zone's SOA serial (by a plain query).
    pub async fn serial(&self, zone: &str) -> Result<u32, TestbedError> {
        let soa = self.dig(zone, "SOA").await?;
        soa.first()
            .and_then(|s| s.split_whitespace().nth(2))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TestbedError::Dns(format!("{zone} SOA: {soa:?}")))
    }

    /// One DNS question to this server; answers of type `rtype` in presentation form (see
    /// [`crate::dns_query`]).
    pub async fn dig(&self, name: &str, rtype: &str) -> Result<Vec<String>, TestbedError> {
        dns::dns_query(self.addr, self.port, name, rtype).await
    }

    /// Stops the server (SIGTERM, then SIGKILL after a while).
    pub fn stop(&mut self) -> Result<(), TestbedError> {
        if self.pid.is_none() {
            return Ok(());
        }
        stop_by_script(self.flavor.script(), self.dir.path())?;
        self.pid = None;
        Ok(())
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let Some(pid) = self.pid else { return };
        if self.stop().is_err() {
            // The script could not stop it: kill exactly that PID.
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both servers: a hand-made record goes in with the key and reads back by AXFR and by a
    /// query; without a key, UPDATE is refused.
    #[tokio::test]
    async fn servers_take_signed_updates_only() {
        for flavor in [Flavor::Bind, Flavor::Knot] {
            let Some(server) = DnsServer::start_or_skip(flavor, DnsServerOptions::default()) else { continue };
            assert_eq!(server.keys().len(), 6, "{flavor}: one key per algorithm");
            server.nsupdate("example.test", &["update add www.example.test. 60 A 192.0.2.1"]).unwrap();
            assert_eq!(server.dig("www.example.test", "A").await.unwrap(), ["192.0.2.1"]);
            let zone = server.axfr("example.test").unwrap();
            assert!(zone.iter().any(|r| r.name == "www.example.test." && r.rtype == "A" && r.ttl == 60), "{zone:?}");
            assert_eq!(server.serial("example.test").await.unwrap(), 2, "{flavor}: one write, one serial step");
            let unsigned = Command::new("nsupdate")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    let cmds = format!(
                        "server {} {}\nzone example.test\nupdate add evil.example.test. 60 A 192.0.2.66\nsend\n",
                        server.addr(),
                        server.port()
                    );
                    c.stdin.take().unwrap().write_all(cmds.as_bytes())?;
                    c.wait()
                })
                .unwrap();
            assert!(!unsigned.success(), "{flavor} took an unsigned UPDATE");
            assert!(server.dig("evil.example.test", "A").await.unwrap().is_empty());
        }
    }
}
