//! A small client of the ARM DNS REST API (zones, record sets; public or private flavour).
//! Every request carries a current bearer token (a 401 renews it once) and upstream's
//! `api-version`; no answer, 429 (honouring `Retry-After`) and 5xx are retried
//! (`--azure-maxretries-count`). Writes carry `If-Match` / `If-None-Match` so that a record set
//! changed since it was read is never overwritten.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use exodns_http::retry::{self, CallError, RetryPolicy};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::auth::{Auth, AuthError};
use crate::convert::Flavor;

/// A zone as listed.
#[derive(Debug, Clone, Deserialize)]
pub struct ZoneInfo {
    #[serde(default)]
    pub id: String,
    pub name: String,
}

/// A record set as read.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSet {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub rtype: String,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub properties: Value,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

/// The precondition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Create only: `If-None-Match: *`.
    Absent,
    /// Only while the record set is still this version: `If-Match: <etag>`.
    Version(String),
}

/// A failed API call (after retries). Never holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{call}: HTTP {status}{}: {message}", if code.is_empty() { String::new() } else { format!(" ({code})") })]
    Status { call: String, status: u16, code: String, message: String, retry_after: Option<Duration> },
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
    #[error("{call}: {source}")]
    Auth { call: String, source: AuthError },
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

    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => {
                retry::is_retryable(reqwest::StatusCode::from_u16(*status).unwrap_or_default())
            }
            ApiError::Transport { .. } => true,
            ApiError::Auth { source, .. } => source.is_transient(),
            ApiError::Decode { .. } => false,
        }
    }

    /// Refused credentials: ARM's 401/403, or the token endpoint's refusal.
    pub fn is_auth(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => matches!(status, 401 | 403),
            ApiError::Auth { source, .. } => !source.is_transient(),
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Deserialize, Default)]
struct ArmError {
    #[serde(default)]
    error: ArmErrorBody,
}

#[derive(Deserialize, Default)]
struct ArmErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The ARM client of one subscription and resource group.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    /// `{arm}/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/{dnsZones|privateDnsZones}`
    zones: Url,
    flavor: Flavor,
    auth: Arc<Auth>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("zones", &self.zones.as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ArmClient {
    pub fn new(
        http: reqwest::Client,
        arm: &Url,
        subscription: &str,
        resource_group: &str,
        flavor: Flavor,
        auth: Arc<Auth>,
        retry: RetryPolicy,
    ) -> Self {
        let mut zones = arm.clone();
        if let Ok(mut segs) = zones.path_segments_mut() {
            segs.pop_if_empty().extend([
                "subscriptions",
                subscription,
                "resourceGroups",
                resource_group,
                "providers",
                "Microsoft.Network",
                flavor.zones_segment(),
            ]);
        }
        ArmClient { http, zones, flavor, auth, retry }
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.zones.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(segments);
        }
        url.query_pairs_mut().append_pair("api-version", self.flavor.api_version());
        url
    }

    /// The URL of a record set: its relative name goes in unescaped, as Azure's SDKs send it
    /// (`*.app`, `@`).
    fn record_url(&self, zone: &str, rtype: &str, name: &str) -> Url {
        let mut url = self.url(&[zone, rtype]);
        let path = format!("{}/{name}", url.path());
        url.set_path(&path);
        url
    }

    /// Every zone of the resource group (following `nextLink`).
    pub async fn list_zones(&self) -> Result<Vec<ZoneInfo>, ApiError> {
        self.list("list zones", self.url(&[])).await
    }

    /// Every record set of `zone` (following `nextLink`).
    pub async fn list_record_sets(&self, zone: &str) -> Result<Vec<RecordSet>, ApiError> {
        let url = self.url(&[zone, self.flavor.all_segment()]);
        self.list(&format!("list record sets of zone {zone}"), url).await
    }

    async fn list<T: serde::de::DeserializeOwned>(&self, call: &str, first: Url) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let (body, _) = self.send(call, Method::GET, url, None, None).await?;
            let page: Page<T> = serde_json::from_slice(&body)
                .map_err(|e| ApiError::Decode { call: call.to_owned(), message: e.to_string() })?;
            out.extend(page.value);
            if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                next = Some(self.same_origin(call, &link)?);
            }
        }
        Ok(out)
    }

    /// A `nextLink` on the configured ARM endpoint: its path and query kept, its origin ours,
    /// so that the token goes nowhere else.
    fn same_origin(&self, call: &str, link: &str) -> Result<Url, ApiError> {
        let parsed = Url::parse(link)
            .map_err(|e| ApiError::Decode { call: call.to_owned(), message: format!("nextLink: {e}") })?;
        let mut url = self.zones.clone();
        url.set_path(parsed.path());
        url.set_query(parsed.query());
        Ok(url)
    }

    /// The record set, or `None` when there is none.
    pub async fn get(&self, zone: &str, rtype: &str, name: &str) -> Result<Option<RecordSet>, ApiError> {
        let call = format!("read {rtype} {name} in zone {zone}");
        match self.send(&call, Method::GET, self.record_url(zone, rtype, name), None, None).await {
            Ok((body, _)) => {
                serde_json::from_slice(&body).map(Some).map_err(|e| ApiError::Decode { call, message: e.to_string() })
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PUT` of a record set under `guard`; its new etag.
    pub async fn put(
        &self,
        zone: &str,
        rtype: &str,
        name: &str,
        properties: &Value,
        guard: &Guard,
    ) -> Result<Option<String>, ApiError> {
        let call = format!("write {rtype} {name} in zone {zone}");
        let body = serde_json::to_vec(&serde_json::json!({"properties": properties}))
            .map_err(|e| ApiError::Decode { call: call.clone(), message: e.to_string() })?;
        let (body, etag) = self
            .send(&call, Method::PUT, self.record_url(zone, rtype, name), Some(Bytes::from(body)), Some(guard))
            .await?;
        let read: Option<RecordSet> = serde_json::from_slice(&body).ok();
        Ok(read.and_then(|r| r.etag).or(etag))
    }

    /// `DELETE` of a record set while it is still version `etag`.
    pub async fn delete(&self, zone: &str, rtype: &str, name: &str, etag: &str) -> Result<(), ApiError> {
        let call = format!("delete {rtype} {name} in zone {zone}");
        let guard = Guard::Version(etag.to_owned());
        self.send(&call, Method::DELETE, self.record_url(zone, rtype, name), None, Some(&guard)).await.map(drop)
    }

    async fn send(
        &self,
        call: &str,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        guard: Option<&Guard>,
    ) -> Result<(Bytes, Option<String>), ApiError> {
        let mut renewed = false;
        loop {
            let answer = retry::call(&self.retry, call, || async {
                let token = self.auth.token().await?;
                let mut req = self
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "application/json");
                match guard {
                    Some(Guard::Absent) => req = req.header(IF_NONE_MATCH, "*"),
                    Some(Guard::Version(etag)) => req = req.header(IF_MATCH, etag.as_str()),
                    None => {}
                }
                if let Some(b) = &body {
                    req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
                }
                Ok::<_, AuthError>(req)
            })
            .await
            .map_err(|e| match e {
                CallError::Build(source) => ApiError::Auth { call: call.to_owned(), source },
                CallError::Transport(message) => ApiError::Transport { call: call.to_owned(), message },
            })?;
            if answer.is_success() {
                let etag = answer.headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
                return Ok((answer.body, etag));
            }
            if answer.status.as_u16() == 401 && !renewed {
                renewed = true;
                self.auth.clear().await;
                continue;
            }
            let e: ArmError = serde_json::from_slice(&answer.body).unwrap_or_default();
            let message = if e.error.message.is_empty() {
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]).trim().to_owned()
            } else {
                e.error.message
            };
            return Err(ApiError::Status {
                call: call.to_owned(),
                status: answer.status.as_u16(),
                code: e.error.code,
                message,
                retry_after: answer.retry_after(),
            });
        }
    }
}
