//! A small client of Cloudflare's v4 API: the calls the provider needs, paging, retries of
//! transport errors, 5xx and 429 (honouring `Retry-After`), and Cloudflare's documented request
//! rate (1 200 requests per 5 minutes) kept on our side.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use exodns_core::error_chain;
use exodns_http::{ApiError, RateWindow, RequestEvent, RequestObserver, RetryPolicy, retry_after, try_once};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{CloudflareConfig, Credentials};
use crate::error::CloudflareError;
use crate::model::{Envelope, ResultInfo, error_text};

/// The REST client. Cheap to clone (shares the connection pool and the rate window).
#[derive(Clone)]
pub struct CfClient {
    http: reqwest::Client,
    base: Url,
    auth: Vec<(HeaderName, HeaderValue)>,
    retry: RetryPolicy,
    rate: Arc<Mutex<RateWindow>>,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for CfClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CfClient")
            .field("base", &self.base.as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

fn sensitive(v: &str, setting: &'static str) -> Result<HeaderValue, CloudflareError> {
    let mut h = HeaderValue::from_str(v).map_err(|_| CloudflareError::Config {
        setting,
        message: "holds characters an HTTP header cannot carry".into(),
    })?;
    h.set_sensitive(true);
    Ok(h)
}

impl CfClient {
    pub fn new(cfg: &CloudflareConfig) -> Result<Self, CloudflareError> {
        let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), cfg.base_url.scheme() == "https")
            .map_err(|e| CloudflareError::Client(e.to_string()))?;
        let http = exodns_http::client_builder(tls)
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10).min(cfg.timeout))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CloudflareError::Client(error_chain(&e)))?;
        let auth = match &cfg.credentials {
            Credentials::Token(t) => {
                vec![(AUTHORIZATION, sensitive(&format!("Bearer {}", t.expose()), "CF_API_TOKEN")?)]
            }
            Credentials::Key { key, email } => vec![
                (HeaderName::from_static("x-auth-key"), sensitive(key.expose(), "CF_API_KEY")?),
                (HeaderName::from_static("x-auth-email"), sensitive(email, "CF_API_EMAIL")?),
            ],
        };
        let rate = RateWindow::new(cfg.rate_limit.0, cfg.rate_limit.1);
        Ok(CfClient {
            http,
            base: cfg.base_url.clone(),
            auth,
            retry: cfg.retry,
            rate: Arc::new(Mutex::new(rate)),
            observer: None,
        })
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

    /// One call: the answer's body on a 2xx.
    pub async fn send(
        &self,
        call: &str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Bytes>,
    ) -> Result<Bytes, ApiError> {
        let url = self.url(segments, query);
        let request_bytes = body.as_ref().map_or(0, Bytes::len);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = self.rate.lock().unwrap_or_else(|p| p.into_inner()).admit(Instant::now());
            if !wait.is_zero() {
                tracing::debug!(
                    call,
                    wait_ms = wait.as_millis() as u64,
                    "holding a request to stay inside Cloudflare's request rate"
                );
                tokio::time::sleep(wait).await;
            }
            let started = Instant::now();
            let mut req = self.http.request(method.clone(), url.clone()).header(ACCEPT, "application/json");
            for (k, v) in &self.auth {
                req = req.header(k.clone(), v.clone());
            }
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let outcome = try_once(req).await;
            if let Some(obs) = &self.observer {
                let status = outcome.as_ref().ok().map(|a| a.status.as_u16());
                obs.on_response(&RequestEvent::new(call, attempt, status, started.elapsed(), request_bytes));
            }
            let err = match outcome {
                Ok(a) if a.is_success() => return Ok(a.body),
                Ok(a) => ApiError::Status {
                    call: call.to_owned(),
                    status: a.status.as_u16(),
                    code: String::new(),
                    message: error_text(&a.body),
                    retry_after: retry_after(&a.headers),
                },
                Err(message) => ApiError::Transport { call: call.to_owned(), message },
            };
            if !err.is_transient() || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let wait = self.retry.wait(attempt, err.retry_after());
            tracing::debug!(call, attempt, error = %err, wait_ms = wait.as_millis() as u64, "Cloudflare request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One call whose `result` is decoded.
    pub async fn call<T: DeserializeOwned>(
        &self,
        call: &str,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Bytes>,
    ) -> Result<(Option<T>, Option<ResultInfo>), ApiError> {
        let bytes = self.send(call, method, segments, query, body).await?;
        let env: Envelope<T> = serde_json::from_slice(&bytes).map_err(|e| ApiError::decode(call, e))?;
        if !env.success {
            let message =
                env.errors.iter().map(|m| format!("{}: {}", m.code, m.message)).collect::<Vec<_>>().join("; ");
            return Err(ApiError::Status {
                call: call.to_owned(),
                status: 200,
                code: String::new(),
                message,
                retry_after: None,
            });
        }
        Ok((env.result, env.result_info))
    }

    /// Every item of a paged list, `per_page` at a time.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        call: &str,
        segments: &[&str],
        per_page: u32,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let query = [("page", page.to_string()), ("per_page", per_page.to_string())];
            let (items, info) = self.call::<Vec<T>>(call, Method::GET, segments, &query, None).await?;
            let items = items.unwrap_or_default();
            let n = items.len();
            out.extend(items);
            let last = match info.and_then(|i| i.total_pages) {
                Some(total) => f64::from(page) >= total,
                None => n < per_page as usize,
            };
            if last || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }
}
