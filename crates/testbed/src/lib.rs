//! The Rust side of the exodns test bed: start real peers through `scripts/testbed/*.sh`, talk to
//! them, and ask DNS questions.
//!
//! - [`Pdns`]: a throwaway PowerDNS Authoritative (`scripts/testbed/pdns.sh`) in a temporary
//!   directory, with its REST API and DNS port; stopped (by PID, through the script) on drop.
//! - [`DnsServer`]: a throwaway BIND or Knot (`scripts/testbed/bind.sh`, `knot.sh`) that takes
//!   RFC2136 UPDATE and AXFR signed with TSIG; records by hand with `nsupdate`, zones read with
//!   `dig AXFR`.
//! - [`dns_query`]: one DNS question over UDP (TCP when the answer is truncated); [`dns_answers`]
//!   fails on SERVFAIL, as [`Pdns::dig`], [`Pdns::answers`] and [`Pdns::wait_for_answers`] do.
//! - [`Backends`]: HTTP and TCP listeners on [`BACKEND_ADDRS`] (127.0.0.2–.4, one port), stopped
//!   and started again by tests, for health-checked LUA records.
//! - [`Moto`]: a throwaway moto server (Route 53, STS, DynamoDB, …), and [`Route53Rules`], AWS's
//!   change-batch rules that moto lacks, as a proxy in front of it.
//! - [`kube::KubeApiserver`]: a throwaway etcd + kube-apiserver (`scripts/testbed/apiserver.sh`).
//! - [`exodns_bin`], [`Proc`], [`free_port`]: the exodns binary of this build and the processes
//!   tests start.
//! - [`prism::Prism`]: Prism in proxy mode in front of a fake, checking each request against the
//!   vendor's OpenAPI spec; [`prism::trim_spec`] cuts a spec down to the paths a test uses.
//! - [`fake`]: stateful fakes of cloud DNS APIs (Cloudflare, Hetzner) with a request log and fault
//!   injection.
//! - [`wait_until`] and its kin: polling with a time limit.
//! - [`WebhookRecorder`]: a webhook provider with an empty zone that records the `Changes` a
//!   webhook client (upstream ExternalDNS, exodns) sends it.
//! - [`require_peers`]: with `EXODNS_REQUIRE_PEERS=1`, a missing peer is a test failure; without
//!   it, tests skip with a printed notice ([`skip_or_fail`], [`Pdns::start_or_skip`]).

mod backend;
pub mod connector;
mod dns;
mod dns_server;
pub mod fake;
pub mod kube;
mod moto;
mod partiql;
mod pdns;
pub mod prism;
mod process;
mod route53_rules;
mod wait;
mod webhook;

pub use backend::{BACKEND_ADDRS, Backend, BackendKind, Backends};
pub use dns::{DnsAnswer, dns_answers, dns_query, dns_query_full};
pub use dns_server::{DnsServer, DnsServerOptions, Flavor, TsigKey, ZoneRecord};
pub use moto::{Moto, TEST_ACCESS_KEY, TEST_SECRET_KEY};
pub use pdns::{Pdns, PdnsOptions, http_client};
pub use process::{Proc, exodns_bin, free_port};
pub use route53_rules::{BatchSize, Route53Rules};
pub use wait::{wait_until, wait_until_async, wait_until_checked, wait_until_log};
pub use webhook::{WEBHOOK_MEDIA_TYPE, WebhookRecorder};

use std::path::PathBuf;
use std::process::Command;

/// What went wrong in the test bed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestbedError {
    /// A peer program is not installed (see `scripts/testbed/apt-deps.sh`).
    #[error("{0} is not installed (run scripts/testbed/apt-deps.sh)")]
    Missing(&'static str),
    /// A test-bed script failed.
    #[error("{script} failed: {message}")]
    Script { script: String, message: String },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("DNS: {0}")]
    Dns(String),
}

/// `EXODNS_REQUIRE_PEERS=1`: tests must fail, not skip, when a peer is missing.
pub fn require_peers() -> bool {
    std::env::var("EXODNS_REQUIRE_PEERS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// A peer (`what`) is missing: with `EXODNS_REQUIRE_PEERS=1` this panics; otherwise it prints a
/// notice on stderr and the caller skips its test.
pub fn skip_or_fail(what: &str) {
    if require_peers() {
        panic!("{what}, and EXODNS_REQUIRE_PEERS=1");
    }
    eprintln!("NOTICE: skipping: {what}; set EXODNS_REQUIRE_PEERS=1 to make this a failure");
}

/// `scripts/testbed` of this checkout, or `EXODNS_TESTBED_SCRIPTS`.
pub fn scripts_dir() -> PathBuf {
    match std::env::var_os("EXODNS_TESTBED_SCRIPTS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/testbed"),
    }
}

/// Whether `program` is on `PATH` (or in `/usr/sbin`, where Debian puts daemons).
pub fn have_program(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .any(|dir| dir.join(program).is_file())
}

/// `bash scripts/testbed/<script> stop <dir>`: stops the server a script started in `dir`.
pub(crate) fn stop_by_script(script: &str, dir: &std::path::Path) -> Result<(), TestbedError> {
    let out = Command::new("bash")
        .arg(scripts_dir().join(script))
        .arg("stop")
        .arg(dir)
        .env("PATH", path_with_sbin())
        .output()?;
    if !out.status.success() {
        return Err(TestbedError::Script {
            script: format!("{script} stop"),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

/// A PATH with `/usr/sbin` and `/sbin` in it, for the scripts (which look `pdns_server` up).
pub(crate) fn path_with_sbin() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    for extra in ["/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|d| d == std::path::Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    std::env::join_paths(dirs).unwrap_or_default()
}
