//! The webhook server: any exodns [`Provider`] behind the ExternalDNS webhook API.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | 200, the provider's domain filter (negotiation) |
//! | `GET /records` | 200, every record as an Endpoint array |
//! | `POST /records` | 204 once applied |
//! | `POST /adjustendpoints` | 200, the endpoints as the provider stores them |
//!
//! Errors are `text/plain` messages: 400 (body of the wrong shape, naming the field), 404, 405,
//! 406 (an `Accept` the webhook media type does not satisfy), 408 (headers or body too slow),
//! 413 (body over the limit), 415 (a `Content-Type` that is not the webhook media type or JSON),
//! 500/503 (the provider failed; nothing else is written). `/healthz`, `/readyz` and `/metrics`
//! are served on a separate listener (exodns-telemetry's [`OpsServer`]); the server is healthy
//! and ready while it runs.

mod conn;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use bytes::Bytes;
use exodns_core::Endpoint;
use exodns_provider::{Provider, ProviderError};
pub use exodns_telemetry::listen_address;
use exodns_telemetry::{Check, HealthChecks, OpsServer};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, watch};
use tracing::{debug, info, warn};

use crate::metrics::ServerMetrics;
use crate::wire::{self, MEDIA_TYPE, MediaType, WireEndpoint};

/// Response header carrying how many changes of a `POST /records` were not applied (refused by
/// the provider, or left out as invalid). Absent when every change was applied.
pub const REJECTED_HEADER: &str = "x-exodns-rejected";

/// Default listen address (the one upstream's `--webhook-server` hard-codes).
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8888";
/// Default body limit: 32 MiB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 32 * 1024 * 1024;

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Webhook API listen address (`host:port`, `:port` for every interface).
    pub address: String,
    /// `/healthz`, `/readyz` and `/metrics` listen address; `None`: not served.
    pub metrics_address: Option<String>,
    /// Largest request body in bytes; 0: no limit.
    pub max_body_size: u64,
    /// Time a client has to send a request's headers, from the connection or its first byte.
    pub read_header_timeout: Duration,
    /// Time a client has to send a request's body once its headers are in.
    pub read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// On shutdown, how long requests in progress may take to finish.
    pub shutdown_grace: Duration,
    /// How long the negotiation waits for the provider's first read of its zones.
    pub warm_up_wait: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            address: DEFAULT_ADDRESS.to_owned(),
            metrics_address: None,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            read_header_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            warm_up_wait: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("{flag} {address:?}: {message}")]
    Listen { flag: &'static str, address: String, message: String },
}

/// What handlers share.
pub struct AppState {
    provider: Arc<dyn Provider>,
    metrics: Arc<ServerMetrics>,
    max_body_size: u64,
    read_timeout: Duration,
    warm_up_wait: Duration,
    warmed: OnceCell<()>,
}

impl AppState {
    pub fn new(provider: Arc<dyn Provider>, cfg: &ServerConfig, metrics: Arc<ServerMetrics>) -> Arc<Self> {
        Arc::new(AppState {
            provider,
            metrics,
            max_body_size: cfg.max_body_size,
            read_timeout: cfg.read_timeout,
            warm_up_wait: cfg.warm_up_wait,
            warmed: OnceCell::new(),
        })
    }

    /// One read of the provider's records, so that its domain filter reflects its zones (the
    /// PowerDNS provider learns them by listing). Runs once; failures are logged.
    async fn warm_up(&self) {
        self.warmed
            .get_or_init(|| async {
                match self.provider.records().await {
                    Ok(r) => debug!(records = r.endpoints.len(), "provider read at start"),
                    Err(e) => {
                        warn!("first read of the provider failed (negotiation answers its configured filter): {e}")
                    }
                }
            })
            .await;
    }
}

/// A `text/plain` error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut body = message.into();
    body.push('\n');
    let mut resp = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    if matches!(status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        // The rest of the body is not read: the connection cannot carry another request.
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, MEDIA_TYPE)], body).into_response()
}

fn provider_error(state: &AppState, call: &'static str, e: &ProviderError) -> Response {
    state.metrics.provider_error(call, e.metric_label());
    warn!(call, "provider failed: {e}");
    let status = if e.is_transient() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
    let mut resp = error(status, format!("{call} failed: {e}"));
    if let ProviderError::Transient { retry_after: Some(d), .. } = e
        && let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// 406 unless the `Accept` header (when given) takes the webhook media type.
#[allow(clippy::result_large_err)]
fn check_accept(headers: &HeaderMap) -> Result<(), Response> {
    let values: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return Ok(());
    }
    let ranges: Vec<MediaType> = values.iter().flat_map(|v| v.split(',')).filter_map(MediaType::parse).collect();
    if ranges.is_empty() || ranges.iter().any(MediaType::accepts_webhook) {
        return Ok(());
    }
    Err(error(
        StatusCode::NOT_ACCEPTABLE,
        format!(
            "Accept {:?} does not take {MEDIA_TYPE}, the only media type this server answers in",
            values.join(", ")
        ),
    ))
}

/// 415 unless the body is the webhook media type (version 1) or JSON. No `Content-Type` is read
/// as JSON.
#[allow(clippy::result_large_err)]
fn check_content_type(headers: &HeaderMap) -> Result<(), Response> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let text = value.to_str().unwrap_or("");
    match MediaType::parse(text) {
        Some(m) if m.is_accepted_body() => Ok(()),
        _ => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {text:?} is not supported; send {MEDIA_TYPE} (or application/json)"),
        )),
    }
}

/// Reads the whole body under the size limit and the read timeout.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let limit = state.max_body_size;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes (--webhook-provider-max-body-size)"),
        )
    };
    if limit > 0 {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
    }
    let cap = if limit == 0 { usize::MAX } else { usize::try_from(limit).unwrap_or(usize::MAX) };
    match tokio::time::timeout(state.read_timeout, Limited::new(body, cap).collect()).await {
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {:?} (--webhook-provider-read-timeout)",
                state.read_timeout
            ),
        )),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(error(StatusCode::BAD_REQUEST, format!("could not read the request body: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

async fn negotiate(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let _ = tokio::time::timeout(state.warm_up_wait, state.warm_up()).await;
    let filter = state.provider.domain_filter().to_json();
    json_response(StatusCode::OK, serde_json::to_vec(&filter).unwrap_or_else(|_| b"{}".to_vec()))
}

async fn get_records(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let records = match state.provider.records().await {
        Ok(r) => r,
        Err(e) => return provider_error(&state, "records", &e),
    };
    if !records.unreadable_zones.is_empty() {
        // The protocol cannot say "unknown" for part of the answer; a partial list would read
        // as records that are gone.
        let zones: Vec<String> =
            records.unreadable_zones.iter().map(|z| format!("{} ({})", z.zone, z.reason)).collect();
        state.metrics.provider_error("records", "unreadable_zone");
        warn!(zones = %zones.join("; "), "zones could not be read; answering 503");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("records failed: zones could not be read: {}", zones.join("; ")),
        );
    }
    state.metrics.served(records.endpoints.len());
    json_response(StatusCode::OK, wire::encode_endpoints(&records.endpoints))
}

async fn post_records(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if let Err(r) = check_content_type(&headers) {
        return r;
    }
    let bytes = match read_body(&state, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let decoded = match wire::decode_changes(&bytes) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad Changes body: {e}")),
    };
    drop(bytes);
    for s in &decoded.skipped {
        warn!("change left out: {s}");
    }
    let changes = decoded.value;
    let report = if changes.is_empty() {
        exodns_provider::ApplyReport::default()
    } else {
        match state.provider.apply_changes(&changes).await {
            Ok(r) => r,
            Err(e) => return provider_error(&state, "apply_changes", &e),
        }
    };
    let not_applied = report.rejected.len() + decoded.skipped.len();
    state.metrics.applied(changes.len(), report.rejected.len());
    state.metrics.skipped(decoded.skipped.len());
    info!(
        create = changes.create.len(),
        update = changes.update_new.len(),
        delete = changes.delete.len(),
        rejected = report.rejected.len(),
        skipped = decoded.skipped.len(),
        "changes applied"
    );
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if not_applied > 0 {
        resp.headers_mut().insert(REJECTED_HEADER, HeaderValue::from(not_applied));
    }
    resp
}

async fn adjust_endpoints(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if let Err(r) = check_content_type(&headers) {
        return r;
    }
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let bytes = match read_body(&state, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let decoded = match wire::decode_endpoints(&bytes) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad Endpoint array: {e}")),
    };
    drop(bytes);
    let adjusted: Vec<Endpoint> = match state.provider.adjust_endpoints(decoded.value).await {
        Ok(a) => a,
        Err(e) => return provider_error(&state, "adjust_endpoints", &e),
    };
    // Endpoints exodns cannot read go back as they came: dropping one would make the caller's
    // planner delete its record.
    let mut out: Vec<WireEndpoint> = adjusted.iter().map(WireEndpoint::from).collect();
    for s in decoded.skipped {
        debug!("endpoint passed through unadjusted: {}", s);
        out.push(s.item);
    }
    json_response(StatusCode::OK, serde_json::to_vec(&out).unwrap_or_else(|_| b"[]".to_vec()))
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no such path: {method} {}; the webhook API has GET /, GET /records, POST /records, POST /adjustendpoints",
            uri.path()
        ),
    )
}

fn only(allow: &'static str, route: MethodRouter<Arc<AppState>>) -> MethodRouter<Arc<AppState>> {
    route.fallback(move |method: Method, uri: axum::http::Uri| async move {
        let mut resp =
            error(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed on {}; use {allow}", uri.path()));
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        resp
    })
}

fn route_label(req: &Request) -> &'static str {
    match req.extensions().get::<MatchedPath>().map(MatchedPath::as_str) {
        Some("/") => "/",
        Some("/records") => "/records",
        Some("/adjustendpoints") => "/adjustendpoints",
        _ => "other",
    }
}

async fn observe(State(metrics): State<Arc<ServerMetrics>>, req: Request, next: Next) -> Response {
    let route = route_label(&req);
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    metrics.in_flight(1);
    let resp = next.run(req).await;
    metrics.in_flight(-1);
    let elapsed = started.elapsed();
    metrics.request(route, &method, resp.status().as_u16(), elapsed);
    debug!(route, %method, status = resp.status().as_u16(), elapsed_ms = elapsed.as_millis() as u64, "webhook request");
    resp
}

/// The webhook API as a router (no timeouts: those live in the connection handling).
pub fn router(state: Arc<AppState>) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/", only("GET", get(negotiate)))
        .route("/records", only("GET, POST", get(get_records).post(post_records)))
        .route("/adjustendpoints", only("POST", post(adjust_endpoints)))
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(metrics, observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error while answering this request")
        }))
}

/// `/healthz` and `/readyz`: OK while the process serves (the provider's own troubles show in
/// the answers of the API and in `exodns_webhook_provider_errors_total`).
struct Serving;

impl HealthChecks for Serving {
    fn live(&self) -> Check {
        Check::ok("OK")
    }

    fn ready(&self) -> Check {
        Check::ok("OK")
    }
}

fn listen_error(flag: &'static str, address: &str, e: std::io::Error) -> ServerError {
    ServerError::Listen { flag, address: address.to_owned(), message: e.to_string() }
}

/// A bound webhook server, ready to [`run`](WebhookServer::run).
pub struct WebhookServer {
    listener: TcpListener,
    ops: Option<OpsServer>,
    state: Arc<AppState>,
    metrics: Arc<ServerMetrics>,
    cfg: ServerConfig,
}

impl WebhookServer {
    /// Binds the API (and metrics) listeners; nothing is served until [`run`](Self::run).
    pub async fn bind(provider: Arc<dyn Provider>, cfg: ServerConfig) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(listen_address(&cfg.address))
            .await
            .map_err(|e| listen_error("--webhook-server-address", &cfg.address, e))?;
        let metrics = Arc::new(ServerMetrics::default());
        let ops = match &cfg.metrics_address {
            Some(a) => Some(
                OpsServer::bind(a, metrics.clone(), Arc::new(Serving))
                    .await
                    .map_err(|e| listen_error("--metrics-address", a, e))?,
            ),
            None => None,
        };
        let state = AppState::new(provider, &cfg, metrics.clone());
        Ok(WebhookServer { listener, ops, state, metrics, cfg })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.ops.as_ref().and_then(|o| o.local_addr().ok())
    }

    pub fn metrics(&self) -> Arc<ServerMetrics> {
        self.metrics.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in progress finish
    /// (up to the grace period) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let WebhookServer { listener, ops, state, metrics, cfg } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let app = router(state.clone());
        let limits = conn::Limits { read_header_timeout: cfg.read_header_timeout, idle_timeout: cfg.idle_timeout };

        // Read the provider's zones early, so the first negotiation need not wait.
        let warm = state.clone();
        tokio::spawn(async move { warm.warm_up().await });

        let metrics_task = ops.map(|o| {
            let mut stop = stop_rx.clone();
            tokio::spawn(o.serve_until(async move {
                let _ = stop.wait_for(|s| *s).await;
            }))
        });

        info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "webhook server listening");
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        metrics.connection();
                        let _ = stream.set_nodelay(true);
                        connections.spawn(conn::serve(stream, peer, app.clone(), limits, stop_rx.clone(), metrics.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment rather than spin.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        info!(open = connections.len(), "shutting down: no new connections; finishing requests in progress");
        let _ = stop_tx.send(true);
        let drained =
            tokio::time::timeout(cfg.shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            warn!(open = connections.len(), grace = ?cfg.shutdown_grace, "requests still in progress after the grace period; closing them");
            connections.abort_all();
        }
        if let Some(t) = metrics_task {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        info!("webhook server stopped");
        Ok(())
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
                }
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM ({e}); only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
