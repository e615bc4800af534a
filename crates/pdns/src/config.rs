//! Settings of the PowerDNS provider. A plain struct: the binary maps upstream's flags
//! (`--pdns-server`, `--pdns-api-key`, `--pdns-server-id`, `--pdns-skip-tls-verify`, `--tls-ca`,
//! `--tls-client-cert`, `--tls-client-cert-key`) onto it.

use std::time::Duration;

use exodns_core::DomainFilter;
pub use exodns_core::Secret;
/// TLS towards the PowerDNS API (upstream's `--tls-*` flags and `--pdns-skip-tls-verify`).
pub use exodns_http::TlsSettings;
use url::Url;

use crate::error::PdnsError;

/// PowerDNS's own default for `webserver-max-bodysize` (2 MB). Bigger PATCH bodies get HTTP 400.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2_000_000;
/// TTL written when an endpoint has none (upstream's `defaultTTL`).
pub const DEFAULT_TTL: u32 = 300;
/// Upstream's `--pdns-server` default.
pub const DEFAULT_SERVER: &str = "http://localhost:8081";
/// Upstream's `--pdns-server-id` default.
pub const DEFAULT_SERVER_ID: &str = "localhost";

/// Retries of one request on a connection error, a timeout, a 5xx or a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; it doubles for each next one.
    pub initial_backoff: Duration,
    /// Longest wait between two tries (also caps a server's `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 tries, waiting 250 ms, 500 ms, 1 s between them (upstream: 3 tries at 250/500/1000 ms).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// One try, no retry.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The wait after failed try number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Everything the provider needs.
#[derive(Debug, Clone)]
pub struct PdnsConfig {
    /// Base URL of the PowerDNS webserver (`--pdns-server`). A path prefix is kept:
    /// `https://proxy/pdns` → `https://proxy/pdns/api/v1/servers/…`.
    pub server: Url,
    /// `--pdns-api-key`, sent as `X-API-Key`.
    pub api_key: Secret,
    /// `--pdns-server-id`.
    pub server_id: String,
    /// Zones whose name passes this filter are read and written; the others are left alone.
    pub domain_filter: DomainFilter,
    pub tls: TlsSettings,
    /// Largest PATCH body sent; bigger change sets are split into ordered chunks. Set it to the
    /// server's `webserver-max-bodysize` (in bytes).
    pub max_body_bytes: usize,
    /// Whole-request timeout (connect, send, wait, read).
    pub timeout: Duration,
    /// Connection establishment timeout.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Zones read at the same time by `records()`.
    pub max_parallel_reads: usize,
    /// TTL written for endpoints without one.
    pub default_ttl: u32,
    /// `--pdns-dns-server` (`host:port` of the server's DNS listener): every LUA record set
    /// written is asked once, and a SERVFAIL reported ([`exodns_provider::NotServed`]).
    pub dns_server: Option<String>,
    /// How long one such question waits for its answer (twice).
    pub dns_timeout: Duration,
}

impl PdnsConfig {
    /// Settings with the defaults: server id `localhost`, no domain filter, no TLS options, 2 MB
    /// bodies, 30 s timeout, 4 tries.
    pub fn new(server: Url, api_key: Secret) -> Self {
        PdnsConfig {
            server,
            api_key,
            server_id: DEFAULT_SERVER_ID.to_owned(),
            domain_filter: DomainFilter::default(),
            tls: TlsSettings::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_parallel_reads: 4,
            default_ttl: DEFAULT_TTL,
            dns_server: None,
            dns_timeout: Duration::from_secs(2),
        }
    }

    /// Parses the server URL first; the error names `--pdns-server`.
    pub fn parse(server: &str, api_key: Secret) -> Result<Self, PdnsError> {
        let url = Url::parse(server.trim()).map_err(|e| PdnsError::Config {
            setting: "--pdns-server",
            message: format!("{server:?} is not a URL: {e}"),
        })?;
        Ok(PdnsConfig::new(url, api_key))
    }

    pub(crate) fn validate(&self) -> Result<(), PdnsError> {
        let cfg = |setting: &'static str, message: String| Err(PdnsError::Config { setting, message });
        match self.server.scheme() {
            "http" | "https" => {}
            other => {
                return cfg("--pdns-server", format!("scheme {other:?} is not supported; use http:// or https://"));
            }
        }
        if self.server.host_str().is_none_or(str::is_empty) {
            return cfg("--pdns-server", "the URL has no host".into());
        }
        if self.server.query().is_some() || self.server.fragment().is_some() {
            return cfg("--pdns-server", "the URL must not carry a query or a fragment".into());
        }
        if self.api_key.is_empty() {
            return cfg("--pdns-api-key", "the API key is empty".into());
        }
        if self.api_key.expose().bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
            return cfg("--pdns-api-key", "the API key holds characters an HTTP header cannot carry".into());
        }
        if self.server_id.trim().is_empty() {
            return cfg("--pdns-server-id", "the server id is empty".into());
        }
        if self.tls.client_cert_file.is_some() != self.tls.client_key_file.is_some() {
            return cfg("--tls-client-cert", "--tls-client-cert and --tls-client-cert-key go together".into());
        }
        if self.max_body_bytes < 1024 {
            return cfg("max_body_bytes", format!("{} bytes is too small for any PATCH", self.max_body_bytes));
        }
        if self.retry.max_attempts == 0 {
            return cfg("retry", "max_attempts must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return cfg("timeout", "the request timeout must be above zero".into());
        }
        if self.default_ttl == 0 || i64::from(self.default_ttl) > exodns_core::endpoint::MAX_TTL {
            return cfg("default_ttl", format!("{} is not a valid TTL", self.default_ttl));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let cfg = PdnsConfig::parse("http://127.0.0.1:8081", Secret::new("hunter2-very-secret")).unwrap();
        let dbg = format!("{cfg:?} {:?}", cfg.api_key);
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::from_millis(250));
        assert_eq!(r.backoff(2), Duration::from_millis(500));
        assert_eq!(r.backoff(3), Duration::from_secs(1));
        assert_eq!(r.backoff(40), Duration::from_secs(4));
    }

    #[test]
    fn validation_names_the_setting() {
        let mut cfg = PdnsConfig::parse("ftp://x", Secret::new("k")).unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("--pdns-server"));
        cfg.server = Url::parse("http://x").unwrap();
        cfg.tls.client_cert_file = Some("/c.pem".into());
        assert!(cfg.validate().unwrap_err().to_string().contains("--tls-client-cert-key"));
        cfg.tls.client_cert_file = None;
        cfg.api_key = Secret::new("");
        assert!(cfg.validate().unwrap_err().to_string().contains("--pdns-api-key"));
        assert!(PdnsConfig::parse("not a url", Secret::new("k")).is_err());
    }
}
