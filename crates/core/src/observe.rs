//! One hook for every HTTP request exodns makes (to the apiserver and to DNS provider APIs), so
//! that the metrics, which the clients do not know, can time them: upstream's
//! `external_dns_http_request_duration_seconds`. Installed once by the binary; without it a
//! request costs one atomic load.

use std::sync::OnceLock;
use std::time::Duration;

/// One HTTP request, labelled as upstream labels it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    /// The whole path; the observer keeps what it needs (upstream: the last segment).
    pub path: &'a str,
    pub method: &'a str,
    /// None when no answer came.
    pub status: Option<u16>,
    pub elapsed: Duration,
}

type Observer = Box<dyn Fn(&HttpRequest<'_>) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Installs the observer; a second call is ignored (there is one metrics registry per process).
pub fn set_http_observer(f: impl Fn(&HttpRequest<'_>) + Send + Sync + 'static) {
    let _ = OBSERVER.set(Box::new(f));
}

/// Reports a request to the observer, if one is installed.
pub fn http_request(r: &HttpRequest<'_>) {
    if let Some(f) = OBSERVER.get() {
        f(r);
    }
}
