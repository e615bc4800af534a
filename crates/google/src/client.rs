//! A small client of the Cloud DNS v1 REST API: managed zones and resource record sets (paged),
//! changes (create, get). Every request carries a current bearer token; a 401 clears it and the
//! request is sent once more with a new one. No answer, 429 and 5xx are retried
//! ([`exodns_http::retry`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use exodns_http::retry::{self, CallError, RetryPolicy};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use url::Url;

use crate::auth::{Auth, AuthError};
use crate::model::{Change, ManagedZone, ManagedZonesPage, RRSet, RRSetsPage, error_message};

/// A failed API call (after retries). Never holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Cloud DNS answered with an error status.
    #[error("{call}: HTTP {status}{}: {message}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    Status { call: String, status: u16, reason: String, message: String, retry_after: Option<Duration> },
    /// No answer: connection refused or reset, timeout.
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
    /// No token.
    #[error("{call}: {source}")]
    Auth { call: String, source: AuthError },
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

    /// Worth trying again later: no answer, a 5xx or a 429, a token source that is down.
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

    /// Refused credentials: the API's 401/403, or the token endpoint's refusal.
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

/// The REST client. Cheap to clone (shares the connection pool and the token).
#[derive(Clone)]
pub struct DnsClient {
    http: reqwest::Client,
    /// `{endpoint}/dns/v1/projects`
    base: Url,
    auth: Arc<Auth>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for DnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsClient").field("base", &self.base.as_str()).field("auth", &self.auth).finish_non_exhaustive()
    }
}

impl DnsClient {
    /// `endpoint` is the API's root (`https://dns.googleapis.com`); a path prefix is kept.
    pub fn new(http: reqwest::Client, endpoint: &Url, auth: Arc<Auth>, retry: RetryPolicy) -> Self {
        let mut base = endpoint.clone();
        if let Ok(mut segs) = base.path_segments_mut() {
            segs.pop_if_empty().extend(["dns", "v1", "projects"]);
        }
        DnsClient { http, base, auth, retry }
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(segments);
        }
        url
    }

    /// `GET projects/{p}/managedZones`, every page.
    pub async fn list_zones(&self, project: &str) -> Result<Vec<ManagedZone>, ApiError> {
        let url = self.url(&[project, "managedZones"]);
        let mut zones = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: ManagedZonesPage = self.get_page("list managed zones", &url, token.as_deref()).await?;
            zones.extend(page.managed_zones);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(zones),
            }
        }
    }

    /// `GET projects/{p}/managedZones/{z}/rrsets`, every page.
    pub async fn list_rrsets(&self, project: &str, zone: &str) -> Result<Vec<RRSet>, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "rrsets"]);
        let call = format!("list record sets of zone {zone}");
        let mut rrsets = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: RRSetsPage = self.get_page(&call, &url, token.as_deref()).await?;
            rrsets.extend(page.rrsets);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(rrsets),
            }
        }
    }

    /// `POST projects/{p}/managedZones/{z}/changes`: the change as Cloud DNS accepted it
    /// (`pending` or `done`).
    pub async fn create_change(&self, project: &str, zone: &str, change: &Change) -> Result<Change, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "changes"]);
        let call = format!("create change in zone {zone}");
        let body =
            serde_json::to_vec(change).map_err(|e| ApiError::Decode { call: call.clone(), message: e.to_string() })?;
        let answer = self.send(&call, Method::POST, url, Some(Bytes::from(body))).await?;
        decode(&call, &answer)
    }

    /// `GET projects/{p}/managedZones/{z}/changes/{id}`.
    pub async fn get_change(&self, project: &str, zone: &str, id: &str) -> Result<Change, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "changes", id]);
        let call = format!("read change {id} of zone {zone}");
        let answer = self.send(&call, Method::GET, url, None).await?;
        decode(&call, &answer)
    }

    async fn get_page<T: serde::de::DeserializeOwned>(
        &self,
        call: &str,
        url: &Url,
        page: Option<&str>,
    ) -> Result<T, ApiError> {
        let mut url = url.clone();
        if let Some(p) = page {
            url.query_pairs_mut().append_pair("pageToken", p);
        }
        let answer = self.send(call, Method::GET, url, None).await?;
        decode(call, &answer)
    }

    async fn send(&self, call: &str, method: Method, url: Url, body: Option<Bytes>) -> Result<Bytes, ApiError> {
        let mut renewed = false;
        loop {
            let answer = retry::call(&self.retry, call, || async {
                let token = self.auth.token().await?;
                let mut req = self
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "application/json");
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
                return Ok(answer.body);
            }
            if answer.status.as_u16() == 401 && !renewed {
                // The token may have been revoked: one more try with a new one.
                renewed = true;
                self.auth.clear().await;
                continue;
            }
            let (message, reason) = error_message(&answer.body);
            return Err(ApiError::Status {
                call: call.to_owned(),
                status: answer.status.as_u16(),
                reason,
                message,
                retry_after: answer.retry_after(),
            });
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(call: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode { call: call.to_owned(), message: e.to_string() })
}
