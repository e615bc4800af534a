//! `--source=connector`: endpoints from a TCP server (`--connector-source-server`), as upstream's
//! connector source reads them: at every sync one connection, one Go `encoding/gob` value of
//! `[]*endpoint.Endpoint` ([`gob`]), then the connection is closed.
//!
//! Each endpoint is checked as a DNSEndpoint entry is (name, type, every target for its type,
//! TTL, set identifier); a bad one is reported with its index (`endpoints[3].targets`) on the
//! object `connector/<server>` and the others are published. Labels and provider-specific
//! properties are kept as sent (upstream adds no `resource` label). Endpoints without targets take
//! `--default-targets`. A server that cannot be reached, or a stream that is not such a value, is a
//! read error naming the server: the sync then deletes nothing, and the next one reads again.

pub mod gob;

use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use exodns_core::ObjectRef;
use exodns_core::source::SourceOutput;

use crate::common::with_default_targets;
use crate::config::SourceConfig;
use crate::crd::entry_endpoint;
use crate::direct::{Direct, ReadError, Reader};
use crate::error::Error;
use crate::types::DNSEndpointEntry;

/// Upstream's dial timeout.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a whole read may take once connected (upstream has none: a server that stops
/// sending would hold its sync forever).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The `connector` source.
pub struct ConnectorSource {
    server: String,
    cfg: SourceConfig,
}

impl Direct for ConnectorSource {
    const NAME: &'static str = "connector";
    const READS: &'static str = "the TCP server of --connector-source-server, at every sync";

    fn reader(cfg: &SourceConfig) -> Result<Box<dyn Reader>, Error> {
        let server = cfg.connector_source_server.clone();
        let port = server.rsplit_once(':').map(|(_, p)| p);
        if port.is_none_or(|p| p.parse::<u16>().is_err()) {
            return Err(Error::config(
                "--connector-source-server",
                format!("{server:?} is not host:port (e.g. localhost:8080)"),
            ));
        }
        Ok(Box::new(ConnectorSource { server, cfg: cfg.clone() }))
    }
}

impl ConnectorSource {
    fn error(&self, reason: impl Into<String>) -> ReadError {
        ReadError { what: format!("connector source server {}", self.server), reason: reason.into() }
    }

    fn connect(&self) -> Result<TcpStream, ReadError> {
        let addrs: Vec<SocketAddr> = self
            .server
            .to_socket_addrs()
            .map_err(|e| self.error(format!("cannot resolve its address: {e}")))?
            .collect();
        let mut last = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, DIAL_TIMEOUT) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
            }
        }
        Err(self.error(last.unwrap_or_else(|| "its name has no address".into())))
    }
}

/// The endpoints of a decoded stream, checked; refused ones are reported on `obj`.
pub fn endpoints(entries: &[DNSEndpointEntry], obj: &ObjectRef, cfg: &SourceConfig) -> SourceOutput {
    let mut out = SourceOutput::default();
    for (i, entry) in entries.iter().enumerate() {
        match entry_endpoint(entry, &format!("endpoints[{i}]"), cfg) {
            Ok(ep) => out.endpoints.push(ep),
            Err(e) => out.invalid.push(e.on(obj)),
        }
    }
    out.endpoints = with_default_targets(std::mem::take(&mut out.endpoints), cfg, obj, &mut out.invalid);
    out
}

impl Reader for ConnectorSource {
    fn object(&self) -> ObjectRef {
        ObjectRef::cluster(Self::NAME, &self.server)
    }

    fn read(&mut self) -> Result<SourceOutput, ReadError> {
        let stream = self.connect()?;
        let mut reader = Deadline { stream, until: Instant::now() + READ_TIMEOUT };
        let entries = gob::decode_endpoints(&mut reader)
            .map_err(|e| self.error(format!("not a gob stream of []*endpoint.Endpoint: {e}")))?;
        tracing::debug!(server = %self.server, endpoints = entries.len(), "connector source read");
        Ok(endpoints(&entries, &self.object(), &self.cfg))
    }
}

/// A stream whose reads end at one instant, however the bytes trickle in.
struct Deadline {
    stream: TcpStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}
