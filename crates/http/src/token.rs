//! A bearer token kept until shortly before it expires, fetched by one caller at a time.
//!
//! A token is refreshed when less than [`TokenCache`]'s margin of its life is left: five minutes,
//! or half its lifetime for short-lived tokens (as the clouds' own SDKs do), so no request goes out
//! with a token about to expire.

use std::future::Future;
use std::time::{Duration, Instant};

use exodns_core::Secret;

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

#[cfg(test)]
mod tests {
    use super::*;

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
