//! `/healthz`, `/readyz` and `/metrics` on `--metrics-address`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::MetricsText;

/// The outcome of a health check: OK or not, and a line per condition for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn ok(detail: impl Into<String>) -> Self {
        Check { ok: true, detail: detail.into() }
    }

    pub fn failing(detail: impl Into<String>) -> Self {
        Check { ok: false, detail: detail.into() }
    }
}

/// What `/healthz` and `/readyz` ask.
pub trait HealthChecks: Send + Sync {
    /// The process and its loops are alive (stays OK during a slow first cache sync).
    fn live(&self) -> Check;
    /// Ready to do its job: caches synced, last sync recent, provider reachable.
    fn ready(&self) -> Check;
}

struct Shared {
    metrics: Arc<dyn MetricsText>,
    health: Arc<dyn HealthChecks>,
}

fn answer(check: Check) -> Response {
    let status = if check.ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", check.detail)).into_response()
}

async fn healthz(State(s): State<Arc<Shared>>) -> Response {
    answer(s.health.live())
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    answer(s.health.ready())
}

async fn metrics_text(State(s): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.encode())
        .into_response()
}

/// The bound operations endpoint.
pub struct OpsServer {
    listener: TcpListener,
    router: Router,
}

/// A listen address as upstream writes them (Go's `:7979`, "every interface, port 7979") as a
/// socket address (`0.0.0.0:7979`); others unchanged.
pub fn listen_address(address: &str) -> String {
    match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_owned(),
    }
}

impl OpsServer {
    /// Binds `address` (`host:port` or `:port`); nothing is served until [`serve`](Self::serve).
    pub async fn bind(
        address: &str,
        metrics: Arc<dyn MetricsText>,
        health: Arc<dyn HealthChecks>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen_address(address)).await?;
        let shared = Arc::new(Shared { metrics, health });
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            .with_state(shared);
        Ok(OpsServer { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped.
    pub async fn serve(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).await
    }

    /// Serves until `shutdown` completes, then lets requests in progress finish.
    pub async fn serve_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metrics;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Fixed(bool);
    impl HealthChecks for Fixed {
        fn live(&self) -> Check {
            Check::ok("loop alive")
        }
        fn ready(&self) -> Check {
            if self.0 { Check::ok("ready") } else { Check::failing("sources not synced: service") }
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn health_and_metrics() {
        let server = OpsServer::bind("127.0.0.1:0", Arc::new(Metrics::new("o")), Arc::new(Fixed(false))).await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.serve());
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        let ready = get(addr, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503") && ready.contains("sources not synced: service"), "{ready}");
        assert!(get(addr, "/metrics").await.contains("external_dns_build_info"));
    }
}
