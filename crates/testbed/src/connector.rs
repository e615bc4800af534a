//! The connector source's test peer: our own Go program (`crates/testbed/peers/connector-server`,
//! built by `scripts/testbed/build-peers.sh connector-server` with upstream's `endpoint` package)
//! that sends, to each TCP connection, the endpoints of a JSON file as one `encoding/gob` value of
//! `[]*endpoint.Endpoint`, as upstream's connector source reads them.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{Proc, scripts_dir, skip_or_fail, wait_until_log};

/// A running connector server; the endpoints it sends are read from its file at every
/// connection, so [`ConnectorServer::set`] changes what the next sync sees. Dropping it stops the
/// process.
pub struct ConnectorServer {
    proc: Proc,
    file: tempfile::NamedTempFile,
    addr: String,
}

/// The peer's binary: built (or found built) by the test-bed script.
fn binary() -> Result<PathBuf, String> {
    let out = Command::new("bash")
        .arg(scripts_dir().join("build-peers.sh"))
        .arg("connector-server")
        .output()
        .map_err(|e| format!("build-peers.sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    if !out.status.success() || !path.is_file() {
        return Err(format!("build-peers.sh connector-server failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(path)
}

impl ConnectorServer {
    /// Starts the peer sending `endpoints` (upstream's endpoint JSON: an array of `dnsName`,
    /// `targets`, `recordType`, …); `None` after a notice when Go or the module cannot build it.
    pub fn start_or_skip(endpoints: &str) -> Option<ConnectorServer> {
        Self::start("127.0.0.1:0", endpoints)
    }

    /// [`ConnectorServer::start_or_skip`] on a port chosen beforehand.
    pub fn start_on_or_skip(port: u16, endpoints: &str) -> Option<ConnectorServer> {
        Self::start(&format!("127.0.0.1:{port}"), endpoints)
    }

    fn start(listen: &str, endpoints: &str) -> Option<ConnectorServer> {
        let bin = match binary() {
            Ok(b) => b,
            Err(e) => {
                skip_or_fail(&format!("the connector-server test peer: {e}"));
                return None;
            }
        };
        let file = tempfile::NamedTempFile::new().expect("temporary file");
        std::fs::write(file.path(), endpoints).expect("write");
        let proc =
            Proc::spawn("connector-server", Command::new(bin).args(["-listen", listen, "-endpoints"]).arg(file.path()));
        let listening = || proc.log().lines().find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
        wait_until_log("connector-server listening", Duration::from_secs(20), || listening().is_some(), || proc.log());
        let addr = listening().expect("its address");
        Some(ConnectorServer { proc, file, addr })
    }

    /// `host:port`, for `--connector-source-server`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// What the next connections get.
    pub fn set(&self, endpoints: &str) {
        std::fs::write(self.file.path(), endpoints).expect("write");
    }

    /// The peer's output (a file it could not read or decode is logged there).
    pub fn log(&self) -> String {
        self.proc.log()
    }
}
