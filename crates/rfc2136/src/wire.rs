//! DNS messages over TCP or TLS (RFC 7766 framing: a 16-bit length before each message).
//!
//! Everything goes over a stream: UPDATE messages of up to 64 KB, zone transfers, and the
//! read-back queries, pipelined on the connection that took the update.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::TlsSettings;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How to reach the servers: plain TCP, or TLS 1.3 with ALPN `dot` (RFC 9103, as upstream).
#[derive(Clone)]
pub(crate) struct Transport {
    tls: Option<TlsConnector>,
    timeout: Duration,
}

impl Transport {
    pub fn new(tls: Option<&TlsSettings>, timeout: Duration) -> Result<Transport, String> {
        let tls = match tls {
            None => None,
            Some(settings) => {
                let config = exodns_http::dns_over_tls_config(settings).map_err(|e| match e {
                    exodns_http::TlsError::NoSystemRoots => {
                        "no system CA certificates found; give the DNS server's CA with --tls-ca".to_owned()
                    }
                    other => other.to_string(),
                })?;
                Some(TlsConnector::from(Arc::new(config)))
            }
        };
        Ok(Transport { tls, timeout })
    }

    /// Connects to `host:port` (a name is resolved; its addresses are tried in turn).
    pub async fn connect(&self, host: &str, port: u16) -> Result<Connection, String> {
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| format!("no connection within {:?}", self.timeout))?
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Stream> = match &self.tls {
            None => Box::new(tcp),
            Some(connector) => {
                let name = match host.parse::<std::net::IpAddr>() {
                    Ok(ip) => ServerName::IpAddress(ip.into()),
                    Err(_) => ServerName::try_from(host.to_owned()).map_err(|e| format!("TLS server name: {e}"))?,
                };
                let tls = tokio::time::timeout(self.timeout, connector.connect(name, tcp))
                    .await
                    .map_err(|_| format!("no TLS handshake within {:?}", self.timeout))?
                    .map_err(|e| format!("TLS: {e}"))?;
                Box::new(tls)
            }
        };
        Ok(Connection { io, timeout: self.timeout })
    }
}

/// One open stream to a server.
pub(crate) struct Connection {
    io: Box<dyn Stream>,
    timeout: Duration,
}

impl Connection {
    pub async fn send(&mut self, wire: &[u8]) -> Result<(), String> {
        write_frame(&mut self.io, wire, self.timeout).await?;
        self.io.flush().await.map_err(|e| format!("cannot send: {e}"))
    }

    /// The next message; waits at most the timeout.
    pub async fn recv(&mut self) -> Result<Vec<u8>, String> {
        read_frame(&mut self.io, self.timeout).await
    }

    /// Sends every message, and reads as many answers at the same time (the server may answer
    /// pipelined questions in any order).
    pub async fn pipeline(&mut self, wires: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
        let timeout = self.timeout;
        let (mut rd, wr) = tokio::io::split(&mut self.io);
        let write = async move {
            let mut wr = BufWriter::new(wr);
            for w in wires {
                write_frame(&mut wr, w, timeout).await?;
            }
            wr.flush().await.map_err(|e| format!("cannot send: {e}"))
        };
        let read = async move {
            let mut out = Vec::with_capacity(wires.len());
            for _ in 0..wires.len() {
                out.push(read_frame(&mut rd, timeout).await?);
            }
            Ok::<_, String>(out)
        };
        let ((), answers) = tokio::try_join!(write, read)?;
        Ok(answers)
    }
}

async fn write_frame(io: &mut (impl AsyncWrite + Unpin), wire: &[u8], timeout: Duration) -> Result<(), String> {
    let len =
        u16::try_from(wire.len()).map_err(|_| format!("a {} byte message does not fit DNS over TCP", wire.len()))?;
    let io = async {
        io.write_all(&len.to_be_bytes()).await?;
        io.write_all(wire).await
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| format!("cannot send within {timeout:?}"))?
        .map_err(|e| format!("cannot send: {e}"))
}

async fn read_frame(io: &mut (impl AsyncRead + Unpin), timeout: Duration) -> Result<Vec<u8>, String> {
    let io = async {
        let mut len = [0u8; 2];
        io.read_exact(&mut len).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        io.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(timeout, io).await {
        Err(_) => Err(format!("no answer within {timeout:?}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err("the server closed the connection".into()),
        Ok(Err(e)) => Err(format!("cannot read the answer: {e}")),
        Ok(Ok(buf)) => Ok(buf),
    }
}
