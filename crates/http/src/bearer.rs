//! Calls of a cloud's JSON REST API with a bearer token (Cloud DNS, ARM): every request carries
//! a current token; a 401 clears it and the request goes once more with a new one; no answer,
//! 429 and 5xx are retried ([`crate::retry`]); an error status becomes an [`ApiError`] in the
//! API's own words (`{"error":{"code","message","errors":[{"reason"}]}}`, the shape both use).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use exodns_core::Secret;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

use crate::retry::{self, Answer, CallError, RetryPolicy};
use crate::token::{Token, TokenCache, TokenError};

/// Where the tokens come from: a credential that can ask its issuer for a new token, and the
/// cache that keeps the current one.
pub trait TokenSource: Send + Sync {
    fn cache(&self) -> &TokenCache;

    /// A new token from the issuer.
    fn issue(&self) -> impl Future<Output = Result<Token, TokenError>> + Send;

    /// A current token.
    fn token(&self) -> impl Future<Output = Result<Secret, TokenError>> + Send {
        async move { self.cache().get(|| self.issue()).await }
    }

    /// Forgets the current token (the API refused it).
    fn clear(&self) -> impl Future<Output = ()> + Send {
        async move { self.cache().clear().await }
    }
}

/// A failed API call (after retries). Never holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The API answered with an error status; `code` is its reason (`conditionNotMet`,
    /// `PreconditionFailed`), when it names one.
    #[error("{call}: HTTP {status}{}: {message}", if code.is_empty() { String::new() } else { format!(" ({code})") })]
    Status { call: String, status: u16, code: String, message: String, retry_after: Option<Duration> },
    /// No answer: connection refused or reset, timeout.
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
    /// No token.
    #[error("{call}: {source}")]
    Auth { call: String, source: TokenError },
    /// An answer that is not the JSON expected.
    #[error("{call}: unreadable answer: {message}")]
    Decode { call: String, message: String },
}

impl ApiError {
    /// An unreadable answer to `call`.
    pub fn decode(call: &str, e: impl std::fmt::Display) -> Self {
        ApiError::Decode { call: call.to_owned(), message: e.to_string() }
    }

    /// The API's error code or reason (empty when it named none).
    pub fn code(&self) -> &str {
        match self {
            ApiError::Status { code, .. } => code,
            _ => "",
        }
    }

    /// What went wrong, without the call's name.
    pub fn message(&self) -> String {
        match self {
            ApiError::Status { message, .. }
            | ApiError::Transport { message, .. }
            | ApiError::Decode { message, .. } => message.clone(),
            ApiError::Auth { source, .. } => source.to_string(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth trying again later: no answer, a 5xx or a 429, a token source that is down.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => retry::is_retryable(StatusCode::from_u16(*status).unwrap_or_default()),
            ApiError::Transport { .. } => true,
            ApiError::Auth { source, .. } => source.is_transient(),
            ApiError::Decode { .. } => false,
        }
    }

    /// Refused credentials: the API's 401/403, or the token issuer's refusal.
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

/// `body` as JSON of type `T`, or [`ApiError::Decode`] naming `call`.
pub fn decode<T: serde::de::DeserializeOwned>(call: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode { call: call.to_owned(), message: e.to_string() })
}

/// `value` as a JSON request body.
pub fn encode<T: serde::Serialize>(call: &str, value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::Decode { call: call.to_owned(), message: e.to_string() })
}

/// One request: what it is called in errors and logs, and what goes out.
pub struct Request<'a> {
    pub call: &'a str,
    pub method: Method,
    pub url: Url,
    /// A JSON body.
    pub body: Option<Bytes>,
    /// Headers besides `Authorization`, `Accept` and `Content-Type` (preconditions).
    pub headers: Vec<(HeaderName, String)>,
}

impl<'a> Request<'a> {
    pub fn new(call: &'a str, method: Method, url: Url) -> Self {
        Request { call, method, url, body: None, headers: Vec::new() }
    }
}

/// The client of one API with one token source. Cheap to clone.
pub struct BearerClient<T> {
    http: reqwest::Client,
    retry: RetryPolicy,
    auth: std::sync::Arc<T>,
}

impl<T> Clone for BearerClient<T> {
    fn clone(&self) -> Self {
        BearerClient { http: self.http.clone(), retry: self.retry, auth: self.auth.clone() }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for BearerClient<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerClient").field("auth", &self.auth).finish_non_exhaustive()
    }
}

impl<T: TokenSource> BearerClient<T> {
    pub fn new(http: reqwest::Client, auth: std::sync::Arc<T>, retry: RetryPolicy) -> Self {
        BearerClient { http, retry, auth }
    }

    pub fn auth(&self) -> &T {
        &self.auth
    }

    /// Sends `req`: the successful answer, or the error status in the API's words.
    pub async fn send(&self, req: Request<'_>) -> Result<Answer, ApiError> {
        let call = req.call;
        let mut renewed = false;
        loop {
            let answer = retry::call(&self.retry, call, || async {
                let token = self.auth.token().await?;
                let mut b = self
                    .http
                    .request(req.method.clone(), req.url.clone())
                    .bearer_auth(token.expose())
                    .header(ACCEPT, "application/json");
                for (name, value) in &req.headers {
                    b = b.header(name, value);
                }
                if let Some(body) = &req.body {
                    b = b.header(CONTENT_TYPE, "application/json").body(body.clone());
                }
                Ok::<_, TokenError>(b)
            })
            .await
            .map_err(|e| match e {
                CallError::Build(source) => ApiError::Auth { call: call.to_owned(), source },
                CallError::Transport(message) => ApiError::Transport { call: call.to_owned(), message },
            })?;
            if answer.is_success() {
                return Ok(answer);
            }
            if answer.status == StatusCode::UNAUTHORIZED && !renewed {
                // The token may have been revoked: one more try with a new one.
                renewed = true;
                self.auth.clear().await;
                continue;
            }
            let (code, message) = error_words(&answer.body);
            return Err(ApiError::Status {
                call: call.to_owned(),
                status: answer.status.as_u16(),
                code,
                message,
                retry_after: answer.retry_after(),
            });
        }
    }
}

/// The reason and message of an error body: Google's `{"error":{"code":412,"message",
/// "errors":[{"reason":"conditionNotMet"}]}}` or ARM's `{"error":{"code":"PreconditionFailed",
/// "message"}}`; the body cut short when it is neither.
pub fn error_words(body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(default)]
        code: serde_json::Value,
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<Reason>,
    }
    #[derive(Deserialize)]
    struct Reason {
        #[serde(default)]
        reason: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if !b.error.message.is_empty() => {
            let reason = b.error.errors.into_iter().map(|e| e.reason).find(|r| !r.is_empty());
            let code = reason.or_else(|| b.error.code.as_str().map(str::to_owned)).unwrap_or_default();
            (code, b.error.message)
        }
        _ => (String::new(), String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_words_of_google_and_arm() {
        let google =
            br#"{"error":{"code":412,"message":"Precondition not met","errors":[{"reason":"conditionNotMet"}]}}"#;
        assert_eq!(error_words(google), ("conditionNotMet".into(), "Precondition not met".into()));
        let arm = br#"{"error":{"code":"PreconditionFailed","message":"The etag does not match."}}"#;
        assert_eq!(error_words(arm), ("PreconditionFailed".into(), "The etag does not match.".into()));
        assert_eq!(error_words(b" <html>bad gateway</html>\n"), (String::new(), "<html>bad gateway</html>".into()));
    }

    #[test]
    fn transient_and_auth() {
        let status = |status| ApiError::Status {
            call: "c".into(),
            status,
            code: String::new(),
            message: String::new(),
            retry_after: None,
        };
        assert!(status(429).is_transient() && status(503).is_transient() && !status(412).is_transient());
        assert!(status(403).is_auth() && !status(404).is_auth());
        let refused = TokenError::Refused { issuer: "t".into(), status: 400, message: "invalid_grant".into() };
        let e = ApiError::Auth { call: "c".into(), source: refused };
        assert!(e.is_auth() && !e.is_transient());
        assert_eq!(e.to_string(), "c: t refused the credentials (HTTP 400): invalid_grant");
    }
}
