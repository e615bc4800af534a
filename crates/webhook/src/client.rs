//! [`WebhookProvider`]: an exodns [`Provider`] that drives any ExternalDNS webhook provider
//! (`--provider=webhook --webhook-provider-url=…`).
//!
//! Differences from upstream's client, on purpose:
//! - a sidecar that is not up yet is waited for (negotiation retries with backoff, then again
//!   at every sync) instead of ending the process;
//! - connection errors, timeouts, 429 and 5xx are [`ProviderError::Transient`]: the sync is
//!   retried, nothing exits;
//! - answers are read up to `--webhook-provider-max-body-size`;
//! - a record the server lists that exodns cannot read is skipped with a warning, not a failed
//!   sync.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use exodns_core::{Changes, DomainFilter, Endpoint, error_chain};
use exodns_http::{TlsError, TlsSettings};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use tracing::{debug, info, warn};
use url::Url;

use crate::props::{PROVIDER, retain_provider_properties};
use crate::server::REJECTED_HEADER;
use crate::wire::{self, MEDIA_TYPE, MediaType, WireChanges};

/// Upstream's `--webhook-provider-url` default.
pub const DEFAULT_URL: &str = "http://localhost:8888";

/// Settings of the client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The webhook server (`--webhook-provider-url`); a path prefix is kept.
    pub url: Url,
    /// `--webhook-provider-read-timeout` (5s). With the write timeout it bounds each request,
    /// as upstream does (read + write = the whole exchange).
    pub read_timeout: Duration,
    /// `--webhook-provider-write-timeout` (10s); also the connect timeout.
    pub write_timeout: Duration,
    /// Largest answer read, in bytes (`--webhook-provider-max-body-size`); 0: no limit.
    pub max_body_size: u64,
    /// How long [`WebhookProvider::connect`] keeps trying to negotiate before going on without
    /// (the next syncs try again).
    pub startup_wait: Duration,
    /// First wait between negotiation tries; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl ClientConfig {
    pub fn new(url: Url) -> Self {
        ClientConfig {
            url,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_body_size: crate::server::DEFAULT_MAX_BODY_SIZE,
            startup_wait: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Parses the URL; the error names `--webhook-provider-url`.
    pub fn parse(url: &str) -> Result<Self, WebhookError> {
        let parsed = Url::parse(url.trim()).map_err(|e| WebhookError::Config {
            flag: "--webhook-provider-url",
            message: format!("{url:?} is not a URL: {e}"),
        })?;
        Ok(ClientConfig::new(parsed))
    }

    fn validate(&self) -> Result<(), WebhookError> {
        let bad = |flag: &'static str, message: String| Err(WebhookError::Config { flag, message });
        match self.url.scheme() {
            "http" | "https" => {}
            s => {
                return bad(
                    "--webhook-provider-url",
                    format!("scheme {s:?} is not supported; use http:// or https://"),
                );
            }
        }
        if self.url.host_str().is_none_or(str::is_empty) {
            return bad("--webhook-provider-url", "the URL has no host".into());
        }
        if self.url.cannot_be_a_base() {
            return bad("--webhook-provider-url", "the URL cannot hold a path".into());
        }
        if self.read_timeout.is_zero() {
            return bad("--webhook-provider-read-timeout", "must be above zero".into());
        }
        if self.write_timeout.is_zero() {
            return bad("--webhook-provider-write-timeout", "must be above zero".into());
        }
        Ok(())
    }
}

/// A setting the client cannot work with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error("{flag}: {message}")]
    Config { flag: &'static str, message: String },
    #[error("TLS: {0}")]
    Tls(String),
}

/// Requests the client has made, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Negotiation tries (`GET /`).
    pub negotiations: u64,
    /// `GET /records`.
    pub records: u64,
    /// `POST /records`.
    pub apply: u64,
    /// `POST /adjustendpoints`.
    pub adjust: u64,
    /// Requests that failed (any call).
    pub errors: u64,
    /// Listed records skipped because exodns could not read them.
    pub skipped_records: u64,
}

#[derive(Debug, Default)]
struct Counters {
    negotiations: AtomicU64,
    records: AtomicU64,
    apply: AtomicU64,
    adjust: AtomicU64,
    errors: AtomicU64,
    skipped_records: AtomicU64,
}

/// The webhook provider.
#[derive(Debug)]
pub struct WebhookProvider {
    http: reqwest::Client,
    cfg: ClientConfig,
    records_url: Url,
    adjust_url: Url,
    filter: RwLock<Option<DomainFilter>>,
    negotiating: tokio::sync::Mutex<()>,
    /// The server has no `/adjustendpoints` (404 once): endpoints go unadjusted.
    no_adjust: std::sync::atomic::AtomicBool,
    counters: Counters,
}

/// The system roots for an `https://` URL (upstream's client has no TLS flags either).
fn tls_config(https: bool) -> Result<rustls::ClientConfig, WebhookError> {
    exodns_http::client_config(&TlsSettings::default(), https).map_err(|e| match e {
        TlsError::NoSystemRoots => {
            WebhookError::Tls("no system CA certificates found for an https:// webhook URL".into())
        }
        other => WebhookError::Tls(other.to_string()),
    })
}

fn join(base: &Url, segment: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty().push(segment);
    }
    url
}

/// A failed exchange, before it becomes a [`ProviderError`].
enum Failure {
    /// No answer, a timeout, 429 or 5xx.
    Transient(String, Option<Duration>),
    Permanent(String),
}

impl Failure {
    fn into_error(self) -> ProviderError {
        match self {
            Failure::Transient(message, retry_after) => {
                ProviderError::Transient { provider: PROVIDER.into(), message, retry_after }
            }
            Failure::Permanent(message) => ProviderError::permanent(PROVIDER, message),
        }
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

impl WebhookProvider {
    /// Checks the settings and builds the HTTP client; no request is sent.
    pub fn new(cfg: ClientConfig) -> Result<Self, WebhookError> {
        cfg.validate()?;
        let http = exodns_http::client_builder(tls_config(cfg.url.scheme() == "https")?)
            .timeout(cfg.read_timeout + cfg.write_timeout)
            .connect_timeout(cfg.write_timeout)
            .pool_idle_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| WebhookError::Tls(error_chain(&e)))?;
        let records_url = join(&cfg.url, "records");
        let adjust_url = join(&cfg.url, "adjustendpoints");
        Ok(WebhookProvider {
            http,
            cfg,
            records_url,
            adjust_url,
            filter: RwLock::new(None),
            negotiating: tokio::sync::Mutex::new(()),
            no_adjust: Default::default(),
            counters: Counters::default(),
        })
    }

    /// [`new`](Self::new), then negotiation, retried with backoff for up to
    /// [`ClientConfig::startup_wait`]. A server still not there after that is not an error: the
    /// provider is returned unnegotiated and every call tries again first. A server that answers
    /// wrongly (4xx, another media type) is an error.
    pub async fn connect(cfg: ClientConfig) -> Result<Self, ProviderError> {
        let within = cfg.startup_wait;
        let p = WebhookProvider::new(cfg).map_err(|e| ProviderError::permanent(PROVIDER, e.to_string()))?;
        match p.negotiate_with_retry(within).await {
            Ok(_) => Ok(p),
            Err(e) if e.is_transient() => {
                warn!(url = %p.cfg.url, "webhook server not reachable yet ({e}); going on, every sync tries again");
                Ok(p)
            }
            Err(e) => Err(e),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    pub fn is_negotiated(&self) -> bool {
        self.filter.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub fn stats(&self) -> ClientStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            negotiations: l(&c.negotiations),
            records: l(&c.records),
            apply: l(&c.apply),
            adjust: l(&c.adjust),
            errors: l(&c.errors),
            skipped_records: l(&c.skipped_records),
        }
    }

    /// One exchange; the body of a success, read up to the cap.
    async fn exchange(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Bytes), Failure> {
        let mut req = self.http.request(method, url.clone()).header(ACCEPT, MEDIA_TYPE);
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, MEDIA_TYPE).body(b);
        }
        let mut resp = exodns_http::send(req)
            .await
            .map_err(|e| Failure::Transient(format!("{what}: {}", error_chain(&e)), None))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let cap = self.cfg.max_body_size;
        let too_big = || {
            Failure::Permanent(format!(
                "{what}: the answer is larger than {cap} bytes (--webhook-provider-max-body-size)"
            ))
        };
        let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if cap > 0 && declared.is_some_and(|n| n > cap) {
            return Err(too_big());
        }
        let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(cap.max(1 << 20)) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if cap > 0 && (buf.len() + chunk.len()) as u64 > cap {
                        return Err(too_big());
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Transient(format!("{what}: reading the answer: {}", error_chain(&e)), None));
                }
            }
        }
        Ok((status, headers, Bytes::from(buf)))
    }

    /// The failure for a non-success status.
    fn status_failure(what: &str, status: StatusCode, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Failure {
        let text = snippet(body);
        let message =
            if text.is_empty() { format!("{what}: HTTP {status}") } else { format!("{what}: HTTP {status}: {text}") };
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Failure::Transient(message, exodns_http::retry_after(headers))
        } else if status == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::Permanent(format!("{message} (the change set is over the server's body limit)"))
        } else {
            Failure::Permanent(message)
        }
    }

    fn count(&self, c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn failed(&self, f: Failure) -> ProviderError {
        self.count(&self.counters.errors);
        f.into_error()
    }

    /// One negotiation: `GET <url>`, the media type checked, the domain filter stored.
    pub async fn negotiate(&self) -> Result<DomainFilter, ProviderError> {
        self.count(&self.counters.negotiations);
        let what = "negotiation (GET /)";
        let (status, headers, body) =
            self.exchange(Method::GET, &self.cfg.url, None, what).await.map_err(|f| self.failed(f))?;
        if !status.is_success() {
            return Err(self.failed(Self::status_failure(what, status, &headers, &body)));
        }
        let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !MediaType::parse(ct).is_some_and(|m| m.is_webhook_v1()) {
            return Err(self.failed(Failure::Permanent(format!(
                "{what}: the server answered Content-Type {ct:?}, not {MEDIA_TYPE}: is {} a webhook provider?",
                self.cfg.url
            ))));
        }
        let filter = wire::decode_domain_filter(&body)
            .map_err(|e| self.failed(Failure::Permanent(format!("{what}: bad domain filter: {e}"))))?;
        info!(url = %self.cfg.url, filter = %serde_json::to_string(&filter.to_json()).unwrap_or_default(), "webhook provider negotiated");
        *self.filter.write().unwrap_or_else(|p| p.into_inner()) = Some(filter.clone());
        Ok(filter)
    }

    /// Negotiates, retrying connection errors, timeouts and 5xx with doubling backoff for up to
    /// `within`. Other failures end at once.
    pub async fn negotiate_with_retry(&self, within: Duration) -> Result<DomainFilter, ProviderError> {
        let started = Instant::now();
        let mut wait = self.cfg.initial_backoff;
        let mut tries = 0u32;
        loop {
            tries += 1;
            match self.negotiate().await {
                Ok(f) => return Ok(f),
                Err(e) if e.is_transient() && started.elapsed() + wait < within => {
                    if tries == 1 {
                        info!(url = %self.cfg.url, "webhook server not answering yet ({e}); retrying");
                    } else {
                        debug!(tries, "negotiation failed: {e}; retrying in {wait:?}");
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.cfg.max_backoff);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn ensure_negotiated(&self) -> Result<(), ProviderError> {
        if self.is_negotiated() {
            return Ok(());
        }
        let _guard = self.negotiating.lock().await;
        if self.is_negotiated() {
            return Ok(());
        }
        self.negotiate().await.map(drop)
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    /// The filter the server sent at negotiation; before it, every name.
    fn domain_filter(&self) -> DomainFilter {
        self.filter.read().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        self.ensure_negotiated().await?;
        self.count(&self.counters.records);
        let what = "GET /records";
        let (status, headers, body) =
            self.exchange(Method::GET, &self.records_url, None, what).await.map_err(|f| self.failed(f))?;
        if status != StatusCode::OK {
            return Err(self.failed(Self::status_failure(what, status, &headers, &body)));
        }
        let decoded = wire::decode_endpoints_lenient(&body).map_err(|e| {
            self.failed(Failure::Permanent(format!("{what}: the answer is not an Endpoint array: {e}")))
        })?;
        if !decoded.skipped.is_empty() {
            self.counters.skipped_records.fetch_add(decoded.skipped.len() as u64, Ordering::Relaxed);
            for s in &decoded.skipped {
                warn!("webhook record skipped: {s}");
            }
        }
        debug!(records = decoded.value.len(), skipped = decoded.skipped.len(), "webhook records read");
        Ok(Records { endpoints: decoded.value, unreadable_zones: Vec::new() })
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        if changes.is_empty() {
            return Ok(ApplyReport::default());
        }
        self.ensure_negotiated().await?;
        self.count(&self.counters.apply);
        let what = "POST /records";
        let body = serde_json::to_vec(&WireChanges::from(changes))
            .map_err(|e| ProviderError::permanent(PROVIDER, format!("{what}: {e}")))?;
        let (status, headers, answer) =
            self.exchange(Method::POST, &self.records_url, Some(body), what).await.map_err(|f| self.failed(f))?;
        if !status.is_success() {
            return Err(self.failed(Self::status_failure(what, status, &headers, &answer)));
        }
        if status != StatusCode::NO_CONTENT {
            debug!(%status, "POST /records answered a success other than 204");
        }
        let refused =
            headers.get(REJECTED_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if refused > 0 {
            warn!(
                refused,
                "the webhook server did not apply some changes (see its log); they are planned again next sync"
            );
        }
        Ok(ApplyReport::default())
    }

    /// Drops properties of other providers (upstream keeps `webhook/…` and unprefixed ones),
    /// then asks the server. A server without `/adjustendpoints` (404) is remembered and the
    /// endpoints go unadjusted; an answer with items exodns cannot read leaves the endpoints
    /// unadjusted for this sync (dropping one would delete its record).
    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        for ep in &mut endpoints {
            retain_provider_properties(ep, PROVIDER);
        }
        if endpoints.is_empty() || self.no_adjust.load(Ordering::Relaxed) {
            return Ok(endpoints);
        }
        self.ensure_negotiated().await?;
        self.count(&self.counters.adjust);
        let what = "POST /adjustendpoints";
        let wire: Vec<wire::WireEndpoint> = endpoints.iter().map(wire::WireEndpoint::from).collect();
        let body = serde_json::to_vec(&wire).map_err(|e| ProviderError::permanent(PROVIDER, format!("{what}: {e}")))?;
        let (status, headers, answer) =
            self.exchange(Method::POST, &self.adjust_url, Some(body), what).await.map_err(|f| self.failed(f))?;
        if status == StatusCode::NOT_FOUND {
            warn!("the webhook server has no /adjustendpoints; endpoints go unadjusted");
            self.no_adjust.store(true, Ordering::Relaxed);
            return Ok(endpoints);
        }
        if status != StatusCode::OK {
            return Err(self.failed(Self::status_failure(what, status, &headers, &answer)));
        }
        match wire::decode_endpoints_lenient(&answer) {
            Ok(d) if d.skipped.is_empty() => Ok(d.value),
            Ok(d) => {
                for s in &d.skipped {
                    warn!("adjusted endpoint unreadable: {s}");
                }
                warn!(unreadable = d.skipped.len(), "planning with the endpoints unadjusted this sync");
                Ok(endpoints)
            }
            Err(e) => Err(self.failed(Failure::Permanent(format!("{what}: the answer is not an Endpoint array: {e}")))),
        }
    }
}
