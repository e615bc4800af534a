//! Settings of the Cloudflare provider; [`crate::kind`] maps upstream's flags and environment
//! variables onto them.

use std::path::Path;
use std::time::Duration;

use exodns_core::{DomainFilter, Secret};
use exodns_http::RetryPolicy;
use url::Url;

use crate::error::CloudflareError;

/// Cloudflare's API, as its SDKs default to it.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// Most operations in one batch request: Cloudflare's limit on the Free plan (paid plans allow
/// more; `--batch-change-size` raises it). Upstream's default too.
pub const DEFAULT_BATCH_SIZE: usize = 200;
/// Cloudflare's documented global rate: 1 200 requests per 5 minutes per user.
pub const RATE_LIMIT: (usize, Duration) = (1200, Duration::from_secs(300));
/// Zones per page when listing zones (Cloudflare's maximum).
pub const ZONES_PER_PAGE: u32 = 50;
/// Longest record comment on the Free plan, and on paid plans.
pub const MAX_COMMENT: (usize, usize) = (100, 500);

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An API token (`CF_API_TOKEN`), sent as `Authorization: Bearer`.
    Token(Secret),
    /// The global API key and the account's e-mail (`CF_API_KEY`, `CF_API_EMAIL`).
    Key { key: Secret, email: String },
}

impl Credentials {
    /// The credentials in `env` (a lookup of environment variables), as upstream reads them:
    /// `CF_API_TOKEN` — its value, or with `file:<path>` the file's content — else `CF_API_KEY`
    /// with `CF_API_EMAIL`. A token file given by flag (`token_file`) takes the token's place.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        token_file: Option<&Path>,
    ) -> Result<Credentials, CloudflareError> {
        let env = |k: &str| env(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| CloudflareError::File { path: path.to_owned(), message: e.to_string() })
        };
        let token = match (token_file, env("CF_API_TOKEN")) {
            (Some(_), Some(_)) => {
                return Err(CloudflareError::Config {
                    setting: "--cloudflare-api-token-file",
                    message: "CF_API_TOKEN and --cloudflare-api-token-file exclude each other".into(),
                });
            }
            (Some(path), None) => Some(read(path)?),
            (None, Some(v)) => match v.strip_prefix("file:") {
                Some(path) => Some(read(Path::new(path))?),
                None => Some(v),
            },
            (None, None) => None,
        };
        if let Some(t) = token {
            if t.is_empty() {
                return Err(CloudflareError::Config { setting: "CF_API_TOKEN", message: "the token is empty".into() });
            }
            return Ok(Credentials::Token(Secret::new(t)));
        }
        match (env("CF_API_KEY"), env("CF_API_EMAIL")) {
            (Some(key), Some(email)) => Ok(Credentials::Key { key: Secret::new(key), email }),
            _ => Err(CloudflareError::Config {
                setting: "CF_API_TOKEN",
                message: "--provider=cloudflare needs credentials: CF_API_TOKEN (or --cloudflare-api-token-file), \
                          or both CF_API_KEY and CF_API_EMAIL"
                    .into(),
            }),
        }
    }
}

/// `--cloudflare-custom-hostnames` and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomHostnames {
    pub min_tls_version: String,
    /// `none`: let Cloudflare choose.
    pub certificate_authority: String,
}

/// Everything the provider needs.
#[derive(Debug, Clone)]
pub struct CloudflareConfig {
    /// `CLOUDFLARE_BASE_URL`, with the `/client/v4` path.
    pub base_url: Url,
    pub credentials: Credentials,
    /// `--cloudflare-proxied`: records are proxied unless their endpoint says otherwise.
    pub proxied_by_default: bool,
    /// `--cloudflare-dns-records-per-page`.
    pub records_per_page: u32,
    pub zones_per_page: u32,
    /// `--cloudflare-record-comment`: the comment of records whose endpoint has none.
    pub record_comment: String,
    /// `--cloudflare-regional-services` or a `--cloudflare-region-key`: regional hostnames are
    /// managed, with this default region key.
    pub regional: Option<String>,
    pub custom_hostnames: Option<CustomHostnames>,
    /// Most operations per batch request (`--batch-change-size`, at least 200 as upstream).
    pub batch_size: usize,
    /// Pause between two batch requests of one zone (`--batch-change-interval`).
    pub batch_interval: Duration,
    pub domain_filter: DomainFilter,
    /// `--zone-id-filter`: only these zones (read one by one).
    pub zone_id_filter: Vec<String>,
    pub dry_run: bool,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// At most this many requests in this window.
    pub rate_limit: (usize, Duration),
}

impl CloudflareConfig {
    pub fn new(credentials: Credentials) -> Self {
        CloudflareConfig {
            base_url: Url::parse(DEFAULT_BASE_URL).expect("default URL"),
            credentials,
            proxied_by_default: false,
            records_per_page: 100,
            zones_per_page: ZONES_PER_PAGE,
            record_comment: String::new(),
            regional: None,
            custom_hostnames: None,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_interval: Duration::ZERO,
            domain_filter: DomainFilter::default(),
            zone_id_filter: Vec::new(),
            dry_run: false,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: RATE_LIMIT,
        }
    }

    /// `CLOUDFLARE_BASE_URL` as the SDKs take it: `http(s)://host[:port]/client/v4`.
    pub fn parse_base_url(raw: &str) -> Result<Url, CloudflareError> {
        let bad = |m: String| CloudflareError::Config { setting: "CLOUDFLARE_BASE_URL", message: m };
        let url = Url::parse(raw.trim()).map_err(|e| bad(format!("{raw:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(bad(format!("{raw:?}: use http(s)://host/client/v4")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("the URL must not carry a query or a fragment".into()));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn credentials_as_upstream_reads_them() {
        let dir = tempfile_dir();
        let file = dir.join("token");
        std::fs::write(&file, "from-file-token\n").unwrap();
        let token = |c: Credentials| match c {
            Credentials::Token(t) => t.expose().to_owned(),
            Credentials::Key { .. } => panic!("a token was expected"),
        };
        assert_eq!(token(Credentials::from_env(env(&[("CF_API_TOKEN", " tok ")]), None).unwrap()), "tok");
        let file_form = format!("file:{}", file.display());
        assert_eq!(
            token(Credentials::from_env(env(&[("CF_API_TOKEN", &file_form)]), None).unwrap()),
            "from-file-token"
        );
        assert_eq!(token(Credentials::from_env(env(&[]), Some(&file)).unwrap()), "from-file-token");
        let both = Credentials::from_env(env(&[("CF_API_TOKEN", "x")]), Some(&file)).unwrap_err().to_string();
        assert!(both.contains("exclude each other"), "{both}");
        match Credentials::from_env(env(&[("CF_API_KEY", "k"), ("CF_API_EMAIL", "a@example.org")]), None).unwrap() {
            Credentials::Key { key, email } => assert_eq!((key.expose(), email.as_str()), ("k", "a@example.org")),
            Credentials::Token(_) => panic!("key expected"),
        }
        let none = Credentials::from_env(env(&[("CF_API_KEY", "k")]), None).unwrap_err().to_string();
        assert!(none.contains("CF_API_TOKEN") && none.contains("CF_API_EMAIL"), "{none}");
        let missing = format!("file:{}", dir.join("nope").display());
        let err = Credentials::from_env(env(&[("CF_API_TOKEN", &missing)]), None).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("exodns-cf-cred-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn base_url_keeps_its_path() {
        let u = CloudflareConfig::parse_base_url("http://127.0.0.1:8080/client/v4").unwrap();
        assert_eq!(u.path(), "/client/v4");
        assert!(CloudflareConfig::parse_base_url("ftp://x/client/v4").is_err());
        assert!(
            CloudflareConfig::parse_base_url("not a url").unwrap_err().to_string().starts_with("CLOUDFLARE_BASE_URL")
        );
    }
}
