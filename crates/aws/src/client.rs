//! A small Route 53 REST/XML client: hosted zones (with tags), record sets, change batches. Every
//! request is signed with SigV4; throttling (`Throttling`, `PriorRequestNotComplete`, 429) and
//! 5xx answers are retried with exponential backoff and jitter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use exodns_core::error_chain;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::creds::{CredentialsCache, CredentialsError};
use crate::model::{
    AwsErrorBody, HostedZone, ListHostedZonesResponse, ListResourceRecordSetsResponse, ListTagsForResourcesResponse,
    ResourceRecordSet, list_tags_xml,
};

/// `ListResourceRecordSets` page size (the API's maximum, as upstream asks).
pub const RECORDS_PAGE_SIZE: u32 = 300;
/// `ListTagsForResources` takes at most 10 ids.
const TAGS_BATCH: usize = 10;

/// Which API call a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    ListHostedZones,
    ListTags,
    ListRecords,
    ChangeRecords,
}

impl Call {
    pub fn as_str(self) -> &'static str {
        match self {
            Call::ListHostedZones => "ListHostedZones",
            Call::ListTags => "ListTagsForResources",
            Call::ListRecords => "ListResourceRecordSets",
            Call::ChangeRecords => "ChangeResourceRecordSets",
        }
    }
}

/// Requests by call (each retry counts), for tests and benchmarks.
#[derive(Debug, Default)]
pub struct RequestCounter {
    counts: [AtomicU64; 4],
    failed: AtomicU64,
}

impl RequestCounter {
    pub fn new() -> Arc<Self> {
        Arc::new(RequestCounter::default())
    }

    fn record(&self, call: Call, ok: bool) {
        self.counts[call as usize].fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count(&self, call: Call) -> u64 {
        self.counts[call as usize].load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// A failed call (after retries). Never holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Route 53 answered with an error.
    #[error("{call}: HTTP {status} {code}: {message}")]
    Status { call: &'static str, status: u16, code: String, message: String },
    /// No answer: connection refused or reset, timeout.
    #[error("{call}: {message}")]
    Transport { call: &'static str, message: String },
    /// An answer that is not the XML expected.
    #[error("{call}: unreadable answer: {message}")]
    Decode { call: &'static str, message: String },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl ApiError {
    /// Worth trying again later.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, code, .. } => is_retryable(*status, code),
            ApiError::Transport { .. } => true,
            ApiError::Decode { .. } => false,
            ApiError::Credentials(e) => e.transient,
        }
    }

    /// A change batch Route 53 refused for what is in it (not for who sent it).
    pub fn is_refused_batch(&self) -> bool {
        matches!(self, ApiError::Status { status: 400, code, .. }
            if matches!(code.as_str(), "InvalidChangeBatch" | "InvalidInput" | "NoSuchHealthCheck" | "InvalidArgument"))
    }

    pub fn is_auth(&self) -> bool {
        matches!(self, ApiError::Status { status: 401 | 403, .. })
            || matches!(self, ApiError::Status { code, .. } if code.contains("SignatureDoesNotMatch") || code == "InvalidClientTokenId" || code == "AccessDenied" || code == "ExpiredToken")
            || matches!(self, ApiError::Credentials(e) if !e.transient)
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Status { code, message, .. } => format!("{code}: {message}"),
            ApiError::Transport { message, .. } | ApiError::Decode { message, .. } => message.clone(),
            ApiError::Credentials(e) => e.to_string(),
        }
    }
}

fn is_retryable(status: u16, code: &str) -> bool {
    status == 429
        || status >= 500
        || matches!(
            code,
            "Throttling"
                | "ThrottlingException"
                | "PriorRequestNotComplete"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
        )
}

/// Retries of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (upstream's `--aws-api-retries` is the SDK's maximum attempts).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random wait up to `initial * 2^(attempt-1)`, capped (the SDKs' scheme).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        let cap = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        cap.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Where Route 53 is and how requests are signed for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Url,
    pub signing_region: String,
}

impl Endpoint {
    /// `AWS_ENDPOINT_URL_ROUTE_53`, else `AWS_ENDPOINT_URL`, else the global endpoint of the
    /// partition of `region` (Route 53 is signed for `us-east-1` in the `aws` partition).
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>, region: Option<&str>) -> Result<Endpoint, String> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let (default_url, signing_region) = match region {
            Some(r) if r.starts_with("cn-") => ("https://route53.amazonaws.com.cn", "cn-northwest-1"),
            Some(r) if r.starts_with("us-gov-") => ("https://route53.us-gov.amazonaws.com", "us-gov-west-1"),
            _ => ("https://route53.amazonaws.com", "us-east-1"),
        };
        let ignore = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let (var, raw) = match (ignore, get("AWS_ENDPOINT_URL_ROUTE_53"), get("AWS_ENDPOINT_URL")) {
            (false, Some(u), _) => ("AWS_ENDPOINT_URL_ROUTE_53", u),
            (false, None, Some(u)) => ("AWS_ENDPOINT_URL", u),
            _ => ("", default_url.to_owned()),
        };
        let url = Url::parse(raw.trim()).map_err(|e| format!("{var}: {raw:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{var}: {raw:?} must be an http(s) URL with a host"));
        }
        Ok(Endpoint { url, signing_region: signing_region.to_owned() })
    }
}

/// The Route 53 client. Cheap to clone.
#[derive(Clone)]
pub struct Route53Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    creds: CredentialsCache,
    retry: RetryPolicy,
    counter: Option<Arc<RequestCounter>>,
}

impl std::fmt::Debug for Route53Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route53Client")
            .field("endpoint", &self.endpoint.url.as_str())
            .field("credentials", &self.creds)
            .finish_non_exhaustive()
    }
}

impl Route53Client {
    pub fn new(http: reqwest::Client, endpoint: Endpoint, creds: CredentialsCache, retry: RetryPolicy) -> Self {
        Route53Client { http, endpoint, creds, retry, counter: None }
    }

    pub fn with_counter(mut self, counter: Arc<RequestCounter>) -> Self {
        self.counter = Some(counter);
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn credentials(&self) -> &CredentialsCache {
        &self.creds
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.endpoint.url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Every hosted zone (all pages).
    pub async fn list_hosted_zones(&self) -> Result<Vec<HostedZone>, ApiError> {
        let mut zones = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut q = vec![("maxitems", "100")];
            if let Some(m) = &marker {
                q.push(("marker", m.as_str()));
            }
            let url = self.url("/2013-04-01/hostedzone", &q);
            let body = self.send(Call::ListHostedZones, Method::GET, url, None).await?;
            let page: ListHostedZonesResponse = decode(Call::ListHostedZones, &body)?;
            zones.extend(page.hosted_zones.items);
            match page.next_marker.filter(|m| page.is_truncated && !m.is_empty()) {
                Some(m) => marker = Some(m),
                None => return Ok(zones),
            }
        }
    }

    /// The tags of hosted zones (ids without the `/hostedzone/` prefix), 10 per request.
    pub async fn zone_tags(&self, ids: &[&str]) -> Result<BTreeMap<String, BTreeMap<String, String>>, ApiError> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(TAGS_BATCH) {
            let url = self.url("/2013-04-01/tags/hostedzone", &[]);
            let body = self.send(Call::ListTags, Method::POST, url, Some(Bytes::from(list_tags_xml(chunk)))).await?;
            let parsed: ListTagsForResourcesResponse = decode(Call::ListTags, &body)?;
            for set in parsed.resource_tag_sets.items {
                out.insert(set.resource_id, set.tags.items.into_iter().map(|t| (t.key, t.value)).collect());
            }
        }
        Ok(out)
    }

    /// Every record set of a zone (all pages).
    pub async fn list_record_sets(&self, zone_id: &str) -> Result<Vec<ResourceRecordSet>, ApiError> {
        let zone = crate::model::clean_zone_id(zone_id);
        let mut out = Vec::new();
        let mut next: Option<(String, String, Option<String>)> = None;
        let page_size = RECORDS_PAGE_SIZE.to_string();
        loop {
            let mut q = vec![("maxitems", page_size.as_str())];
            if let Some((name, rtype, id)) = &next {
                q.push(("name", name.as_str()));
                q.push(("type", rtype.as_str()));
                if let Some(id) = id {
                    q.push(("identifier", id.as_str()));
                }
            }
            let url = self.url(&format!("/2013-04-01/hostedzone/{zone}/rrset"), &q);
            let body = self.send(Call::ListRecords, Method::GET, url, None).await?;
            let page: ListResourceRecordSetsResponse = decode(Call::ListRecords, &body)?;
            out.extend(page.resource_record_sets.items);
            if !page.is_truncated {
                return Ok(out);
            }
            match (page.next_record_name, page.next_record_type) {
                (Some(n), Some(t)) => {
                    let following = (n, t, page.next_record_identifier.filter(|i| !i.is_empty()));
                    if next.as_ref() == Some(&following) {
                        return Err(ApiError::Decode {
                            call: Call::ListRecords.as_str(),
                            message: "pagination does not advance".into(),
                        });
                    }
                    next = Some(following);
                }
                _ => return Ok(out),
            }
        }
    }

    /// Sends one change batch (the XML body of `ChangeResourceRecordSets`).
    pub async fn change_record_sets(&self, zone_id: &str, body: String) -> Result<(), ApiError> {
        let zone = crate::model::clean_zone_id(zone_id);
        let url = self.url(&format!("/2013-04-01/hostedzone/{zone}/rrset/"), &[]);
        self.send(Call::ChangeRecords, Method::POST, url, Some(Bytes::from(body))).await.map(drop)
    }

    async fn send(&self, call: Call, method: Method, url: Url, body: Option<Bytes>) -> Result<Bytes, ApiError> {
        let name = call.as_str();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let creds = self.creds.get().await?;
            let mut rb = self.http.request(method.clone(), url.clone());
            if let Some(b) = &body {
                rb = rb.header(CONTENT_TYPE, "text/xml").body(b.clone());
            }
            let mut req = rb.build().map_err(|e| ApiError::Transport { call: name, message: error_chain(&e) })?;
            crate::sign::sign_request(&mut req, &creds, "route53", &self.endpoint.signing_region, SystemTime::now())
                .map_err(|message| ApiError::Transport { call: name, message })?;
            let outcome = match exodns_http::execute(&self.http, req).await {
                Ok(resp) => {
                    let status = resp.status();
                    match resp.bytes().await {
                        Ok(b) => Ok((status, b)),
                        Err(e) => Err(error_chain(&e)),
                    }
                }
                Err(e) => Err(error_chain(&e)),
            };
            if let Some(c) = &self.counter {
                c.record(call, matches!(&outcome, Ok((s, _)) if s.is_success()));
            }
            let err = match outcome {
                Ok((status, bytes)) if status.is_success() => return Ok(bytes),
                Ok((status, bytes)) => {
                    let parsed = AwsErrorBody::parse(&bytes).unwrap_or_default();
                    let message = if parsed.message.is_empty() {
                        status.canonical_reason().unwrap_or("no message").to_owned()
                    } else {
                        parsed.message
                    };
                    ApiError::Status { call: name, status: status.as_u16(), code: parsed.code, message }
                }
                Err(message) => ApiError::Transport { call: name, message },
            };
            if !err.is_transient() || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = self.retry.backoff(attempt);
            tracing::debug!(call = name, attempt, error = %err, wait_ms = wait.as_millis() as u64, "Route 53 request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(call: Call, body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::Decode { call: call.as_str(), message: "the answer is not UTF-8".into() })?;
    quick_xml::de::from_str(text).map_err(|e| ApiError::Decode { call: call.as_str(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_env_then_partition() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let e = Endpoint::resolve(
            &env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1"), ("AWS_ENDPOINT_URL_ROUTE_53", "http://127.0.0.1:2")]),
            None,
        )
        .unwrap();
        assert_eq!(e.url.as_str(), "http://127.0.0.1:2/");
        let e = Endpoint::resolve(&env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]), None).unwrap();
        assert_eq!(e.url.as_str(), "http://127.0.0.1:1/");
        let e = Endpoint::resolve(&env(&[]), Some("cn-north-1")).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://route53.amazonaws.com.cn/", "cn-northwest-1")
        );
        let e = Endpoint::resolve(&env(&[]), Some("eu-west-1")).unwrap();
        assert_eq!((e.url.as_str(), e.signing_region.as_str()), ("https://route53.amazonaws.com/", "us-east-1"));
        let err = Endpoint::resolve(&env(&[("AWS_ENDPOINT_URL_ROUTE_53", "nope")]), None).unwrap_err();
        assert!(err.starts_with("AWS_ENDPOINT_URL_ROUTE_53"), "{err}");
    }

    #[test]
    fn what_is_retried() {
        let st = |status, code: &str| ApiError::Status { call: "x", status, code: code.into(), message: String::new() };
        assert!(st(400, "Throttling").is_transient());
        assert!(st(400, "PriorRequestNotComplete").is_transient());
        assert!(st(429, "").is_transient());
        assert!(st(503, "ServiceUnavailable").is_transient());
        assert!(!st(400, "InvalidChangeBatch").is_transient());
        assert!(st(400, "InvalidChangeBatch").is_refused_batch());
        assert!(st(403, "SignatureDoesNotMatch").is_auth());
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(200) && p.backoff(1) >= Duration::from_millis(100));
        assert!(p.backoff(30) <= Duration::from_secs(20));
    }
}
