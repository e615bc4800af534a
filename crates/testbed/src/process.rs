//! The exodns binary under test, and the processes tests start (exodns, upstream ExternalDNS).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::skip_or_fail;

/// The exodns binary of this build: `EXODNS_BIN`, else `exodns` in the directory above the
/// running test binary (`target/<profile>/exodns`; `cargo build -p exodns` writes it). When it is
/// not there: `None`, after [`skip_or_fail`] (a notice, or a panic with `EXODNS_REQUIRE_PEERS=1`).
pub fn exodns_bin() -> Option<PathBuf> {
    let bin = match std::env::var_os("EXODNS_BIN") {
        Some(p) => PathBuf::from(p),
        // target/<profile>/deps/it-<hash> → target/<profile>/exodns
        None => std::env::current_exe().ok()?.parent()?.parent()?.join("exodns"),
    };
    if bin.is_file() {
        return Some(bin);
    }
    skip_or_fail(&format!(
        "the exodns binary is not built at {} (cargo build -p exodns, or set EXODNS_BIN)",
        bin.display()
    ));
    None
}

/// A loopback TCP port that was free a moment ago (chosen by the OS; nothing holds it for the
/// caller).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A child process with its stdout and stderr in a log file of its own temporary directory.
/// Dropped while running, it gets SIGKILL — or SIGTERM first, and SIGKILL only after the
/// [`grace`](Proc::grace) period, when one is set.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    grace: Duration,
    _dir: tempfile::TempDir,
}

impl Proc {
    /// Starts `cmd` (stdin closed, stdout and stderr into `<name>.log`); panics when it cannot.
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let dir = tempfile::Builder::new().prefix("exodns-it-proc-").tempdir().expect("temporary directory");
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({:?}): {e}", cmd.get_program()));
        Proc { name: name.into(), child, log, grace: Duration::ZERO, _dir: dir }
    }

    /// On drop, SIGTERM and up to `grace` for the process to end before SIGKILL.
    pub fn grace(mut self, grace: Duration) -> Proc {
        self.grace = grace;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it has not ended yet.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// Waits for the process to end by itself; panics with its log after `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        self.ended_within(limit)
            .unwrap_or_else(|| panic!("{} still running after {limit:?}; log:\n{}", self.name, self.log()))
    }

    /// Its exit status if it ends within `within` (polled every 50 ms).
    fn ended_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if started.elapsed() >= within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `sig` (`TERM`, `STOP`, …) to exactly this process.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill").arg(format!("-{sig}")).arg(self.child.id().to_string()).status();
    }

    /// SIGTERM; whether it ended within `within`.
    pub fn terminate(&mut self, within: Duration) -> bool {
        self.signal("TERM");
        self.ended_within(within).is_some()
    }

    /// SIGKILL, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.is_running() && (self.grace.is_zero() || !self.terminate(self.grace)) {
            self.kill();
        }
    }
}
