//! One HTTP call, tried again on what is worth another try: no answer (refused, reset, timeout),
//! a 429 or a 5xx. A `Retry-After` in seconds is honoured (up to [`MAX_RETRY_AFTER`]); otherwise
//! the wait doubles from [`RetryPolicy::initial_backoff`]. Clients with a retry loop of their own
//! (they pace requests or count them) take the wait from [`RetryPolicy::wait`], with jitter.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::retry_after;

/// Longest `Retry-After` obeyed; a longer one is cut to this (the sync retries later anyway).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently one call is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; it doubles for each next one.
    pub initial_backoff: Duration,
    /// Longest wait between two tries when the server names none.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 tries, waiting 250 ms, 500 ms, 1 s between them.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// `retries` retries after the first try (a negative count: none), as upstream's
    /// `--azure-maxretries-count`.
    pub fn with_retries(retries: i64) -> Self {
        let max_attempts = u32::try_from(retries.max(0)).unwrap_or(u32::MAX - 1).saturating_add(1);
        RetryPolicy { max_attempts, ..RetryPolicy::default() }
    }

    /// The wait after failed try number `attempt` (1-based) in a client's own loop: the server's
    /// `Retry-After` when it sent one (up to [`MAX_RETRY_AFTER`]), else [`Self::backoff`] with
    /// jitter — a random wait between half of it and all of it, so that clients that failed
    /// together do not come back together.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(MAX_RETRY_AFTER);
        }
        let full = self.backoff(attempt);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rand::rng().random::<f64>())
    }

    /// The wait after failed try number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Statuses worth another try: rate limited, or a server-side failure.
pub fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Tries it took (1 for the first).
    pub attempts: u32,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The server's `Retry-After`, in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The request could not be built (a token could not be had, say): not retried here.
    #[error(transparent)]
    Build(E),
    /// No answer after every try: connection refused or reset, timeout.
    #[error("{0}")]
    Transport(String),
}

/// Sends the request `build` makes until an answer comes that is not worth another try, or the
/// tries run out; the last answer is returned whatever its status (the caller reads it). `build`
/// runs before each try, so that each one carries a current token. `what` names the call in logs.
pub async fn call<F, Fut, E>(policy: &RetryPolicy, what: &str, mut build: F) -> Result<Answer, CallError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<reqwest::RequestBuilder, E>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let request = build().await.map_err(CallError::Build)?;
        let outcome = try_once(request).await.map(|a| Answer { attempts: attempt, ..a });
        let last = attempt >= policy.max_attempts.max(1);
        let wait = match &outcome {
            Ok(answer) if !is_retryable(answer.status) => return outcome.map_err(CallError::Transport),
            Ok(answer) => answer.retry_after().map(|d| d.min(MAX_RETRY_AFTER)),
            Err(_) => None,
        };
        if last {
            return outcome.map_err(CallError::Transport);
        }
        let wait = wait.unwrap_or_else(|| policy.backoff(attempt));
        match &outcome {
            Ok(answer) => {
                tracing::debug!(
                    call = what,
                    attempt,
                    status = answer.status.as_u16(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                )
            }
            Err(e) => tracing::debug!(call = what, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying"),
        }
        tokio::time::sleep(wait).await;
    }
}

/// One try of a request, its answer read whole (`attempts` 1), or why none came: for clients with
/// a retry loop of their own.
pub async fn try_once(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let resp = crate::send(request).await.map_err(|e| chain(&e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| chain(&e))?;
    Ok(Answer { status, headers, body, attempts: 1 })
}

/// An error and its sources, on one line (reqwest hides the cause in the chain).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::from_millis(250));
        assert_eq!(r.backoff(3), Duration::from_secs(1));
        assert_eq!(r.backoff(40), Duration::from_secs(4));
        assert_eq!(RetryPolicy::with_retries(3).max_attempts, 4);
        assert_eq!(RetryPolicy::with_retries(-1).max_attempts, 1);
    }

    #[test]
    fn wait_has_jitter_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for attempt in 1..=4 {
            let full = p.backoff(attempt);
            let w = p.wait(attempt, None);
            assert!(w >= full / 2 && w <= full, "attempt {attempt}: {w:?} within [{:?}, {full:?}]", full / 2);
        }
        assert_eq!(p.wait(1, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(p.wait(1, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER, "a huge Retry-After is capped");
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 412] {
            assert!(!is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
