//! Helpers of the webhook crate's tests: a provider that fails on demand, a server on a free
//! port, and a raw HTTP/1.1 client (to send what well-behaved clients never send).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use exodns_core::{Changes, DomainFilter, Endpoint};
use exodns_provider::inmemory::InMemoryProvider;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records};
use exodns_webhook::metrics::ServerMetrics;
use exodns_webhook::{ServerConfig, WebhookServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const OK: u8 = 0;
pub const TRANSIENT: u8 = 1;
pub const PERMANENT: u8 = 2;
/// Calls take one second, then succeed.
pub const SLOW: u8 = 3;

/// An in-memory provider whose calls fail while `mode` says so.
pub struct Flaky {
    pub inner: InMemoryProvider,
    pub mode: AtomicU8,
}

impl Flaky {
    pub fn new(zones: &[&str]) -> Arc<Self> {
        let zones: Vec<String> = zones.iter().map(|z| z.to_string()).collect();
        Arc::new(Flaky { inner: InMemoryProvider::new(&zones), mode: AtomicU8::new(OK) })
    }

    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    async fn check(&self) -> Result<(), ProviderError> {
        match self.mode.load(Ordering::SeqCst) {
            SLOW => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(())
            }
            TRANSIENT => Err(ProviderError::Transient {
                provider: "flaky".into(),
                message: "backend unreachable".into(),
                retry_after: Some(Duration::from_secs(7)),
            }),
            PERMANENT => Err(ProviderError::permanent("flaky", "bad credentials")),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Provider for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn domain_filter(&self) -> DomainFilter {
        self.inner.domain_filter()
    }
    async fn records(&self) -> Result<Records, ProviderError> {
        self.check().await?;
        self.inner.records().await
    }
    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        self.check().await?;
        self.inner.apply_changes(changes).await
    }
    async fn adjust_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        self.check().await?;
        self.inner.adjust_endpoints(endpoints).await
    }
}

/// A running server; dropping it stops the task.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub metrics: Arc<ServerMetrics>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends the shutdown signal and waits for the server to return.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), &mut self.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn test_config() -> ServerConfig {
    ServerConfig {
        address: "127.0.0.1:0".into(),
        metrics_address: Some("127.0.0.1:0".into()),
        max_body_size: 64 * 1024,
        read_header_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(5),
        warm_up_wait: Duration::from_secs(2),
    }
}

pub async fn start(provider: Arc<dyn Provider>, cfg: ServerConfig) -> Running {
    let server = WebhookServer::bind(provider, cfg).await.expect("bind");
    let addr = server.local_addr();
    let metrics_addr = server.metrics_addr();
    let metrics = server.metrics();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("server run");
    });
    Running { addr, metrics_addr, metrics, stop: Some(tx), task }
}

/// An answer read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn parse_raw(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    Raw { status, headers, body: body.to_owned() }
}

/// Sends `request` as is and reads until the server closes (requests should say
/// `Connection: close`), within 10 s.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await.expect("server answered in time").ok();
    parse_raw(&buf)
}

/// A request with a body, `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub const WEBHOOK: &str = "application/external.dns.webhook+json;version=1";

pub async fn get(addr: SocketAddr, path: &str) -> Raw {
    raw(addr, &request("GET", path, &[("Accept", WEBHOOK)], b"")).await
}

pub async fn post(addr: SocketAddr, path: &str, body: &str) -> Raw {
    raw(addr, &request("POST", path, &[("Content-Type", WEBHOOK)], body.as_bytes())).await
}
