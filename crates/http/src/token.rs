//! A bearer token kept until shortly before it expires, fetched by one caller at a time.
//!
//! A token is refreshed when less than [`TokenCache`]'s margin of its life is left: five minutes,
//! or half its lifetime for short-lived tokens (as the clouds' own SDKs do), so no request goes out
//! with a token about to expire.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use exodns_core::Secret;
use serde::Deserialize;

use crate::retry::{self, CallError, RetryPolicy};

/// Largest refresh margin: a token is renewed when less than this is left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// An access token and how long it lives.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: Secret,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

impl Token {
    /// A token issued now that lives `lifetime`.
    pub fn new(value: Secret, lifetime: Duration) -> Self {
        let now = Instant::now();
        Token { value, issued_at: now, expires_at: now + lifetime }
    }

    /// Whether it is still good for a request sent at `now` (outside the refresh margin).
    pub fn is_fresh(&self, now: Instant) -> bool {
        let lifetime = self.expires_at.saturating_duration_since(self.issued_at);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        now + margin < self.expires_at
    }
}

/// The current token of one credential.
#[derive(Debug, Default)]
pub struct TokenCache {
    slot: tokio::sync::Mutex<Option<Token>>,
}

impl TokenCache {
    pub fn new() -> Self {
        TokenCache::default()
    }

    /// The current token, or a new one from `fetch` when there is none or it is about to expire.
    /// Callers arriving while a fetch runs wait for it (one fetch, not one per request).
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(t.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Forgets the token (the API refused it): the next [`get`](TokenCache::get) fetches one.
    pub async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The issuer refused the credentials: retrying will not help until they are fixed.
    #[error("{issuer} refused the credentials (HTTP {status}): {message}")]
    Refused { issuer: String, status: u16, message: String },
    /// No answer, a 5xx / 429 after retries, or an answer that is not a token.
    #[error("{issuer}: {message}")]
    Unavailable { issuer: String, message: String },
    /// The credential cannot be used (a file that cannot be read, a key that cannot sign).
    #[error("{0}")]
    Setup(String),
}

impl TokenError {
    pub fn is_transient(&self) -> bool {
        matches!(self, TokenError::Unavailable { .. })
    }
}

/// A request with an `application/x-www-form-urlencoded` body (OAuth 2.0 grants).
pub fn form_post(req: reqwest::RequestBuilder, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    req.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body)
}

/// One call to a token issuer (an OAuth 2.0 token endpoint, a metadata server) named `issuer`,
/// retried on no answer / 429 / 5xx: the answer's body, or an error in the issuer's own words
/// (`error` and `error_description`, RFC 6749 §5.2; or `{"error":{"message"}}`), never the request.
pub async fn fetch(
    policy: &RetryPolicy,
    issuer: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Bytes, TokenError> {
    let answer = retry::call(policy, issuer, || async { Ok::<_, std::convert::Infallible>(build()) }).await.map_err(
        |e| match e {
            CallError::Transport(message) => TokenError::Unavailable { issuer: issuer.to_owned(), message },
            CallError::Build(never) => match never {},
        },
    )?;
    if answer.is_success() {
        return Ok(answer.body);
    }
    #[derive(Deserialize, Default)]
    struct Refusal {
        #[serde(default)]
        error: serde_json::Value,
        #[serde(default)]
        error_description: String,
    }
    let status = answer.status.as_u16();
    let e: Refusal = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = match &e.error {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    let message = match (code.is_empty(), e.error_description.is_empty()) {
        (false, false) => format!("{code}: {}", e.error_description),
        (false, true) => code,
        (true, false) => e.error_description,
        (true, true) => answer.status.canonical_reason().unwrap_or("error").to_owned(),
    };
    if retry::is_retryable(answer.status) {
        return Err(TokenError::Unavailable {
            issuer: issuer.to_owned(),
            message: format!("HTTP {status}: {message}"),
        });
    }
    Err(TokenError::Refused { issuer: issuer.to_owned(), status, message })
}

/// The token in an issuer's answer: `access_token` (OAuth 2.0, metadata servers) or
/// `accessToken` (Google's IAM credentials), living `expires_in` seconds (a number, or a string as
/// Azure's IMDS sends it), or until `expireTime` (RFC 3339, Google), or `default_lifetime`.
pub fn read_token(issuer: &str, body: &[u8], default_lifetime: Duration) -> Result<Token, TokenError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default, alias = "accessToken")]
        access_token: Option<Secret>,
        #[serde(default)]
        expires_in: Option<serde_json::Value>,
        #[serde(default, rename = "expireTime")]
        expire_time: Option<String>,
    }
    let bad = |m: &str| TokenError::Unavailable { issuer: issuer.to_owned(), message: m.to_owned() };
    let a: Answer = serde_json::from_slice(body).map_err(|_| bad("the answer is not a token"))?;
    let value =
        a.access_token.filter(|t| !t.expose().is_empty()).ok_or_else(|| bad("no access token in the answer"))?;
    let lifetime = match (a.expires_in, a.expire_time.as_deref()) {
        (Some(serde_json::Value::Number(n)), _) => Duration::from_secs(n.as_u64().unwrap_or(0)),
        (Some(serde_json::Value::String(s)), _) => {
            Duration::from_secs(s.trim().parse().map_err(|_| bad("unreadable expires_in"))?)
        }
        (_, Some(t)) => rfc3339_from_now(t).ok_or_else(|| bad("unreadable expireTime"))?,
        _ => default_lifetime,
    };
    if lifetime.is_zero() {
        return Err(bad("the token has already expired"));
    }
    Ok(Token::new(value, lifetime))
}

/// Time from now until an RFC 3339 UTC time (`2026-12-07T03:00:00Z`, fractions allowed).
fn rfc3339_from_now(t: &str) -> Option<Duration> {
    let t = t.trim().strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut h = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let at = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        // 2100-01-01T00:00:00Z = 4102444800
        let d = rfc3339_from_now("2100-01-01T00:00:00.5Z").unwrap();
        assert_eq!(d.as_secs(), 4_102_444_800 - now);
        assert_eq!(rfc3339_from_now("2000-01-01T00:00:00Z"), Some(Duration::ZERO));
        assert_eq!(rfc3339_from_now("yesterday"), None);
    }

    #[test]
    fn token_answers_of_each_issuer() {
        let hour = Duration::from_secs(3600);
        let t = read_token("oauth", br#"{"access_token":"a","expires_in":120,"token_type":"Bearer"}"#, hour).unwrap();
        assert_eq!((t.value.expose(), t.expires_at - t.issued_at), ("a", Duration::from_secs(120)));
        let imds = read_token("imds", br#"{"access_token":"b","expires_in":"86399"}"#, hour).unwrap();
        assert_eq!(imds.expires_at - imds.issued_at, Duration::from_secs(86399));
        let iam = read_token("iam", br#"{"accessToken":"c","expireTime":"2100-01-01T00:00:00Z"}"#, hour).unwrap();
        assert_eq!(iam.value.expose(), "c");
        assert!(iam.expires_at - iam.issued_at > hour);
        let bare = read_token("x", br#"{"access_token":"d"}"#, hour).unwrap();
        assert_eq!(bare.expires_at - bare.issued_at, hour);
        for bad in [&br#"{"expires_in":3}"#[..], br#"{"access_token":"e","expires_in":0}"#, b"<html>"] {
            let e = read_token("issuer", bad, hour).unwrap_err();
            assert!(e.is_transient() && e.to_string().starts_with("issuer: "), "{e}");
        }
    }

    #[test]
    fn refreshed_before_expiry() {
        let hour = Token::new(Secret::new("t"), Duration::from_secs(3600));
        let now = hour.issued_at;
        assert!(hour.is_fresh(now + Duration::from_secs(3000)));
        assert!(!hour.is_fresh(now + Duration::from_secs(3301)), "five minutes before expiry");
        let short = Token::new(Secret::new("t"), Duration::from_secs(10));
        assert!(short.is_fresh(short.issued_at + Duration::from_secs(4)));
        assert!(!short.is_fresh(short.issued_at + Duration::from_secs(5)), "half of a short life");
    }

    #[tokio::test]
    async fn one_fetch_until_it_ages() {
        let cache = TokenCache::new();
        let fetches = std::sync::atomic::AtomicU32::new(0);
        let fetch = || async {
            fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, ()>(Token::new(Secret::new("abc"), Duration::from_secs(3600)))
        };
        assert_eq!(cache.get(fetch).await.unwrap().expose(), "abc");
        assert_eq!(cache.get(fetch).await.unwrap().expose(), "abc");
        assert_eq!(fetches.load(std::sync::atomic::Ordering::Relaxed), 1);
        cache.clear().await;
        cache.get(fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::Relaxed), 2);
        cache.clear().await;
        assert_eq!(cache.get(|| async { Err::<Token, _>("down") }).await.unwrap_err(), "down");
        cache.get(fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::Relaxed), 3, "a failed fetch keeps nothing");
    }
}
