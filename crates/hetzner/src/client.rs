//! A small client of the Hetzner Cloud API's DNS part: paged lists, rrset writes, and waiting
//! for the asynchronous actions they start. Retries transport errors, 5xx, 429 and `locked`
//! (another action holds the zone), and keeps to the rate the `RateLimit-*` headers allow.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use exodns_core::{Secret, error_chain};
use exodns_http::{ApiError, RequestEvent, RequestObserver, RetryPolicy, retry_after, try_once};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::model::{Action, Meta, error_code, error_text};

/// Worth trying again later: what [`ApiError::is_transient`] says, or the zone `locked` by another
/// action.
pub fn is_transient(e: &ApiError) -> bool {
    e.is_transient() || e.code() == "locked"
}

/// What the last answer's `RateLimit-*` headers said.
#[derive(Debug, Default, Clone, Copy)]
struct Budget {
    limit: u64,
    remaining: u64,
}

/// The REST client. Cheap to clone.
#[derive(Clone)]
pub struct HzClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    budget: Arc<Mutex<Option<Budget>>>,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for HzClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HzClient").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl HzClient {
    pub fn new(base: Url, token: &Secret, timeout: Duration, retry: RetryPolicy) -> Result<Self, String> {
        let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), base.scheme() == "https")
            .map_err(|e| e.to_string())?;
        let http = exodns_http::client_builder(tls)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| error_chain(&e))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "the token holds characters an HTTP header cannot carry".to_owned())?;
        auth.set_sensitive(true);
        Ok(HzClient { http, base, auth, retry, budget: Arc::new(Mutex::new(None)), observer: None })
    }

    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// When the last answer left no request in the budget: the time one request takes to come
    /// back (the bucket refills evenly over an hour).
    fn pace(&self) -> Duration {
        match *self.budget.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(Budget { limit, remaining: 0 }) if limit > 0 => Duration::from_secs_f64(3600.0 / limit as f64),
            _ => Duration::ZERO,
        }
    }

    fn note_budget(&self, headers: &HeaderMap) {
        let num = |k: &str| headers.get(k)?.to_str().ok()?.trim().parse::<u64>().ok();
        if let (Some(limit), Some(remaining)) = (num("ratelimit-limit"), num("ratelimit-remaining")) {
            *self.budget.lock().unwrap_or_else(|p| p.into_inner()) = Some(Budget { limit, remaining });
        }
    }

    /// One call; the answer's JSON on a 2xx.
    pub async fn send(
        &self,
        call: &str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = self.url(segments, query);
        let body: Option<Bytes> = body.map(|b| serde_json::to_vec(b).expect("JSON").into());
        let request_bytes = body.as_ref().map_or(0, Bytes::len);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pace = self.pace();
            if !pace.is_zero() {
                tracing::debug!(call, wait_ms = pace.as_millis() as u64, "Hetzner's rate limit is used up; pacing");
                tokio::time::sleep(pace).await;
            }
            let started = Instant::now();
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, self.auth.clone())
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let outcome = try_once(req).await;
            if let Ok(a) = &outcome {
                self.note_budget(&a.headers);
            }
            if let Some(obs) = &self.observer {
                let status = outcome.as_ref().ok().map(|a| a.status.as_u16());
                obs.on_response(&RequestEvent::new(call, attempt, status, started.elapsed(), request_bytes));
            }
            let err = match outcome {
                Ok(a) if a.is_success() => {
                    return serde_json::from_slice(&a.body).map_err(|e| ApiError::decode(call, e));
                }
                Ok(a) => ApiError::Status {
                    call: call.to_owned(),
                    status: a.status.as_u16(),
                    code: error_code(&a.body).unwrap_or_default(),
                    message: error_text(&a.body),
                    retry_after: retry_after(&a.headers),
                },
                Err(message) => ApiError::Transport { call: call.to_owned(), message },
            };
            if !is_transient(&err) || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = self.retry.wait(attempt, err.retry_after());
            tracing::debug!(call, attempt, error = %err, wait_ms = wait.as_millis() as u64, "Hetzner request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Every item under `key` of a paged list.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        call: &str,
        segments: &[&str],
        key: &str,
        per_page: u32,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u64;
        loop {
            let query = [("page", page.to_string()), ("per_page", per_page.to_string())];
            let v = self.send(call, Method::GET, segments, &query, None).await?;
            let decode = |e: serde_json::Error| ApiError::decode(call, e);
            let items: Vec<T> =
                serde_json::from_value(v.get(key).cloned().unwrap_or(Value::Array(vec![]))).map_err(decode)?;
            let meta: Meta = serde_json::from_value(v.get("meta").cloned().unwrap_or(Value::Null)).unwrap_or_default();
            let n = items.len();
            out.extend(items);
            match meta.pagination.next_page {
                Some(next) if next > page && n > 0 => page = next,
                _ => return Ok(out),
            }
        }
    }

    /// Waits for actions to finish, polling them together (`GET /actions?id=…`) with a growing
    /// pause, at most `limit`. Returns each action's outcome: `Ok` for success, `Err(message)` for
    /// an action that ended in error or did not finish in time.
    pub async fn wait_actions(&self, ids: &[u64], limit: Duration) -> Result<Vec<(u64, Result<(), String>)>, ApiError> {
        let started = Instant::now();
        let mut pending: Vec<u64> = ids.to_vec();
        let mut done: Vec<(u64, Result<(), String>)> = Vec::with_capacity(ids.len());
        let mut pause = Duration::from_millis(100);
        while !pending.is_empty() {
            let mut still = Vec::new();
            // 25 ids per request keep the query short.
            for chunk in pending.chunks(25) {
                let query: Vec<(&str, String)> = chunk.iter().map(|id| ("id", id.to_string())).collect();
                let v = self.send("read actions", Method::GET, &["actions"], &query, None).await?;
                let actions: Vec<Action> = serde_json::from_value(v.get("actions").cloned().unwrap_or(Value::Null))
                    .map_err(|e| ApiError::decode("read actions", e))?;
                for id in chunk {
                    match actions.iter().find(|a| a.id == *id) {
                        Some(a) if a.status == "success" => done.push((*id, Ok(()))),
                        Some(a) if a.status == "error" => {
                            let e = a.error.clone().map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default();
                            done.push((*id, Err(format!("action {} ({}) failed: {e}", a.id, a.command))));
                        }
                        _ => still.push(*id),
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if started.elapsed() + pause > limit {
                for id in pending.drain(..) {
                    done.push((id, Err(format!("action {id} still running after {limit:?}"))));
                }
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
        Ok(done)
    }
}
