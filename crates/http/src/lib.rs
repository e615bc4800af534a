//! The HTTP client side that exodns's HTTP providers share (the PowerDNS provider, the webhook
//! provider), so that they make their connections the same way:
//!
//! - [`client_config`]: the rustls client configuration — ring provider, TLS 1.2 and 1.3 only,
//!   HTTP/1.1 by ALPN, the system roots or a CA file ([`TlsSettings`]), a client certificate,
//!   or (for tests) any server certificate;
//! - [`dns_over_tls_config`]: the same for DNS over TLS (the RFC2136 provider): TLS 1.3, ALPN
//!   `dot`;
//! - [`client_builder`]: a reqwest client builder on that configuration, with exodns's
//!   `User-Agent` and `TCP_NODELAY`; the caller adds its timeouts; [`cloud_client`], one for a
//!   cloud's public API;
//! - [`retry_after`]: a `Retry-After` header in seconds;
//! - [`retry::call`]: one call tried again on no answer, a 429 or a 5xx, honouring `Retry-After`;
//! - [`token`]: a bearer token kept until shortly before it expires, and the calls to the issuers
//!   that give them (the clouds' OAuth);
//! - [`bearer::BearerClient`]: calls of a JSON REST API with those tokens (Cloud DNS, ARM);
//! - [`RateWindow`] (a vendor's documented request rate) and a [`RequestObserver`] hook, for the
//!   cloud providers' REST clients that run their own retry loop ([`try_once`],
//!   [`RetryPolicy::wait`], [`ApiError`]: Cloudflare, Hetzner).
//!
//! How an answer or a failure is classified (which statuses are worth a retry) stays with each
//! provider: they follow their upstream counterparts, which differ.

pub mod bearer;
mod observe;
mod rate;
pub mod retry;
mod tls;
pub mod token;

use std::time::Duration;

pub use bearer::ApiError;
pub use observe::{RequestCounter, RequestEvent, RequestObserver};
pub use rate::RateWindow;
pub use retry::{RetryPolicy, try_once};
pub use tls::{TlsError, TlsSettings, client_config, dns_over_tls_config};

/// Sends `request` and reports it to `exodns_core::observe` (upstream's
/// `external_dns_http_request_duration_seconds`): every provider request goes through here.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    execute(&client, request?).await
}

/// [`send`] for a built request.
pub async fn execute(client: &reqwest::Client, request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
    let url = request.url().clone();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let result = client.execute(request).await;
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    exodns_core::observe::http_request(&exodns_core::observe::HttpRequest {
        scheme: url.scheme(),
        host: &host,
        path: url.path(),
        method: method.as_str(),
        status: result.as_ref().ok().map(|r| r.status().as_u16()),
        elapsed: started.elapsed(),
    });
    result
}

/// `User-Agent` of every request: `exodns/<version>`.
pub const USER_AGENT: &str = concat!("exodns/", env!("CARGO_PKG_VERSION"));

/// A reqwest client builder using `tls` (see [`client_config`]), with [`USER_AGENT`] and
/// `TCP_NODELAY`. Timeouts and pool settings are the caller's.
pub fn client_builder(tls: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(tls).tcp_nodelay(true).user_agent(USER_AGENT)
}

/// A client of a cloud's public API: the system roots (none where there are none, for an
/// `http://` endpoint on the loopback in tests), [`USER_AGENT`], `timeout` per request, ten
/// seconds to connect, idle connections closed after thirty.
pub fn cloud_client(timeout: Duration) -> Result<reqwest::Client, TlsError> {
    let tls =
        client_config(&TlsSettings::default(), true).or_else(|_| client_config(&TlsSettings::default(), false))?;
    client_builder(tls)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| TlsError::Config(exodns_core::error_chain(&e)))
}

/// The `Retry-After` header of an answer, when it is a number of seconds (the HTTP-date form is
/// not used by the servers exodns talks to).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn plain_http_needs_no_roots() {
        let cfg = client_config(&TlsSettings::default(), false).unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"http/1.1".to_vec()]);
        client_builder(cfg).build().unwrap();
    }

    #[test]
    fn unreadable_files_are_named() {
        let settings = TlsSettings { ca_file: Some("/nonexistent/ca.pem".into()), ..TlsSettings::default() };
        let e = client_config(&settings, true).unwrap_err();
        assert!(matches!(&e, TlsError::File { path, .. } if path.ends_with("ca.pem")), "{e}");
        let settings = TlsSettings { client_cert_file: Some("/c.pem".into()), ..TlsSettings::default() };
        assert!(matches!(client_config(&settings, false), Err(TlsError::CertWithoutKey)));
    }
}
