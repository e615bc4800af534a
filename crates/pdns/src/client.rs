//! A small client of the PowerDNS REST API: list zones, read a zone, PATCH rrsets. Retries
//! connection errors, timeouts, 5xx and 429 with doubling backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use exodns_core::error_chain;
use exodns_http::retry_after;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::config::{PdnsConfig, RetryPolicy};
use crate::error::PdnsError;
use crate::model::{Zone, ZoneInfo};

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Which API call a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `GET /servers/{id}/zones`
    ListZones,
    /// `GET /servers/{id}/zones/{zone}`
    GetZone,
    /// `PATCH /servers/{id}/zones/{zone}`
    PatchZone,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::ListZones => "list_zones",
            RequestKind::GetZone => "get_zone",
            RequestKind::PatchZone => "patch_zone",
        }
    }
}

/// One request on the wire (each retry is one more), as seen by a [`RequestObserver`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestEvent<'a> {
    pub kind: RequestKind,
    /// Zone id, for zone calls.
    pub zone: Option<&'a str>,
    /// 1 for the first try.
    pub attempt: u32,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Transport error (refused, reset, timeout), when no answer came.
    pub error: Option<&'a str>,
    pub elapsed: Duration,
    pub request_bytes: usize,
    pub response_bytes: usize,
}

/// A hook called around every request: for metrics, and for tests that count requests or act at
/// a given point of a sync. Calls happen on the request's task; keep them short.
pub trait RequestObserver: Send + Sync {
    /// Before a request is sent.
    fn on_request(&self, _kind: RequestKind, _zone: Option<&str>, _attempt: u32) {}
    /// After it finished, well or not.
    fn on_response(&self, event: &RequestEvent<'_>);
}

/// A [`RequestObserver`] counting requests by kind.
#[derive(Debug, Default)]
pub struct RequestCounter {
    list_zones: AtomicU64,
    get_zone: AtomicU64,
    patch_zone: AtomicU64,
    failed: AtomicU64,
    bytes_sent: AtomicU64,
}

/// What a [`RequestCounter`] has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub list_zones: u64,
    pub get_zone: u64,
    pub patch_zone: u64,
    /// Requests without a 2xx answer.
    pub failed: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.list_zones + self.get_zone + self.patch_zone
    }
}

impl RequestCounter {
    pub fn new() -> Arc<Self> {
        Arc::new(RequestCounter::default())
    }

    pub fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            list_zones: self.list_zones.load(Ordering::Relaxed),
            get_zone: self.get_zone.load(Ordering::Relaxed),
            patch_zone: self.patch_zone.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
        }
    }

    /// Counts since the last call (or since creation), and restarts from zero.
    pub fn take(&self) -> RequestCounts {
        RequestCounts {
            list_zones: self.list_zones.swap(0, Ordering::Relaxed),
            get_zone: self.get_zone.swap(0, Ordering::Relaxed),
            patch_zone: self.patch_zone.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
            bytes_sent: self.bytes_sent.swap(0, Ordering::Relaxed),
        }
    }
}

impl RequestObserver for RequestCounter {
    fn on_response(&self, e: &RequestEvent<'_>) {
        let counter = match e.kind {
            RequestKind::ListZones => &self.list_zones,
            RequestKind::GetZone => &self.get_zone,
            RequestKind::PatchZone => &self.patch_zone,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(e.request_bytes as u64, Ordering::Relaxed);
        if !e.status.is_some_and(|s| (200..300).contains(&s)) {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A failed API call (after retries). Never holds the API key.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// PowerDNS answered with an error status; `message` is its error text.
    #[error("{call}: HTTP {status}: {message}")]
    Status { call: String, status: u16, message: String, retry_after: Option<Duration> },
    /// No answer: connection refused or reset, timeout.
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
    /// An answer that is not the JSON expected.
    #[error("{call}: unreadable answer: {message}")]
    Decode { call: String, message: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// PowerDNS's message for a status error.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Status { message, .. }
            | ApiError::Transport { message, .. }
            | ApiError::Decode { message, .. } => message,
        }
    }

    /// Worth trying again later: no answer, a 5xx or a 429.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => is_retryable(*status),
            ApiError::Transport { .. } => true,
            ApiError::Decode { .. } => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn is_retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The REST client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct PdnsClient {
    http: reqwest::Client,
    /// `…/api/v1/servers/{server_id}/zones`
    zones_url: Url,
    key: HeaderValue,
    retry: RetryPolicy,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for PdnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdnsClient")
            .field("zones_url", &self.zones_url.as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl PdnsClient {
    pub fn new(cfg: &PdnsConfig) -> Result<Self, PdnsError> {
        cfg.validate()?;
        let tls = exodns_http::client_config(&cfg.tls, cfg.server.scheme() == "https")?;
        let http = exodns_http::client_builder(tls)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout.min(cfg.timeout))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| PdnsError::Client(error_chain(&e)))?;
        let mut zones_url = cfg.server.clone();
        zones_url
            .path_segments_mut()
            .map_err(|()| PdnsError::Config { setting: "--pdns-server", message: "the URL cannot hold a path".into() })?
            .pop_if_empty()
            .extend(["api", "v1", "servers", cfg.server_id.trim(), "zones"]);
        let mut key = HeaderValue::from_str(cfg.api_key.expose()).map_err(|_| PdnsError::Config {
            setting: "--pdns-api-key",
            message: "the API key holds characters an HTTP header cannot carry".into(),
        })?;
        key.set_sensitive(true);
        Ok(PdnsClient { http, zones_url, key, retry: cfg.retry, observer: None })
    }

    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The zones URL (no secret in it).
    pub fn zones_url(&self) -> &Url {
        &self.zones_url
    }

    fn zone_url(&self, zone_id: &str) -> Url {
        let mut url = self.zones_url.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.push(zone_id);
        }
        url
    }

    /// `GET /servers/{id}/zones`.
    pub async fn list_zones(&self) -> Result<Vec<ZoneInfo>, ApiError> {
        let body = self.send(RequestKind::ListZones, None, Method::GET, self.zones_url.clone(), None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Decode { call: "list zones".into(), message: e.to_string() })
    }

    /// `GET /servers/{id}/zones/{zone}` with every rrset.
    pub async fn get_zone(&self, zone_id: &str) -> Result<Zone, ApiError> {
        let body = self.send(RequestKind::GetZone, Some(zone_id), Method::GET, self.zone_url(zone_id), None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Decode { call: format!("read zone {zone_id}"), message: e.to_string() })
    }

    /// `PATCH /servers/{id}/zones/{zone}` with a body already serialised (`{"rrsets":[…]}`).
    pub async fn patch_zone(&self, zone_id: &str, body: Bytes) -> Result<(), ApiError> {
        self.send(RequestKind::PatchZone, Some(zone_id), Method::PATCH, self.zone_url(zone_id), Some(body))
            .await
            .map(drop)
    }

    async fn send(
        &self,
        kind: RequestKind,
        zone: Option<&str>,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<Bytes, ApiError> {
        let call = || match (kind, zone) {
            (RequestKind::ListZones, _) => "list zones".to_owned(),
            (RequestKind::GetZone, z) => format!("read zone {}", z.unwrap_or_default()),
            (RequestKind::PatchZone, z) => format!("PATCH zone {}", z.unwrap_or_default()),
        };
        let request_bytes = body.as_ref().map_or(0, Bytes::len);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(obs) = &self.observer {
                obs.on_request(kind, zone, attempt);
            }
            let started = Instant::now();
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(X_API_KEY, self.key.clone())
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let outcome = match exodns_http::send(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    match resp.bytes().await {
                        Ok(bytes) => Ok((status, retry_after, bytes)),
                        Err(e) => Err(error_chain(&e)),
                    }
                }
                Err(e) => Err(error_chain(&e)),
            };
            if let Some(obs) = &self.observer {
                let (status, error, response_bytes) = match &outcome {
                    Ok((s, _, b)) => (Some(s.as_u16()), None, b.len()),
                    Err(e) => (None, Some(e.as_str()), 0),
                };
                obs.on_response(&RequestEvent {
                    kind,
                    zone,
                    attempt,
                    status,
                    error,
                    elapsed: started.elapsed(),
                    request_bytes,
                    response_bytes,
                });
            }
            let err = match outcome {
                Ok((status, _, bytes)) if status.is_success() => return Ok(bytes),
                Ok((status, retry_after, bytes)) => ApiError::Status {
                    call: call(),
                    status: status.as_u16(),
                    message: status_message(status, &bytes),
                    retry_after,
                },
                Err(message) => ApiError::Transport { call: call(), message },
            };
            if !err.is_transient() || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = err.retry_after().unwrap_or_else(|| self.retry.backoff(attempt)).min(self.retry.max_backoff);
            tracing::debug!(call = %call(), attempt, error = %err, wait_ms = wait.as_millis() as u64, "PowerDNS request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

fn status_message(status: StatusCode, body: &[u8]) -> String {
    let text = crate::model::error_message(body);
    if text.is_empty() { status.canonical_reason().unwrap_or("no message").to_owned() } else { text }
}
