//! A hook called after every request of a provider's REST client: for metrics, and for tests and
//! benchmarks that count requests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One request on the wire (each retry is one more).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestEvent<'a> {
    /// The API call, in the client's words (`list_zones`, `batch`, …).
    pub call: &'a str,
    /// 1 for the first try.
    pub attempt: u32,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    pub elapsed: Duration,
    pub request_bytes: usize,
}

impl<'a> RequestEvent<'a> {
    pub fn new(call: &'a str, attempt: u32, status: Option<u16>, elapsed: Duration, request_bytes: usize) -> Self {
        RequestEvent { call, attempt, status, elapsed, request_bytes }
    }
}

/// Called after every request, on the request's task; keep it short.
pub trait RequestObserver: Send + Sync {
    fn on_response(&self, event: &RequestEvent<'_>);
}

/// A [`RequestObserver`] counting requests by call, and those without a 2xx answer.
#[derive(Debug, Default)]
pub struct RequestCounter {
    counts: Mutex<(BTreeMap<String, u64>, u64)>,
}

impl RequestCounter {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(RequestCounter::default())
    }

    /// Requests per call so far.
    pub fn by_call(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).0.clone()
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.by_call().values().sum()
    }

    /// Requests without a 2xx answer so far.
    pub fn failed(&self) -> u64 {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// Starts counting from zero again.
    pub fn reset(&self) {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
    }
}

impl RequestObserver for RequestCounter {
    fn on_response(&self, e: &RequestEvent<'_>) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.0.entry(e.call.to_owned()).or_default() += 1;
        if !e.status.is_some_and(|s| (200..300).contains(&s)) {
            c.1 += 1;
        }
    }
}
