//! `--provider=google`: upstream's flags, exodns's few more, and the constructor the binary lists.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exodns_core::duration::parse_go_duration;
use exodns_http::retry::RetryPolicy;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};
use url::Url;

use crate::auth::{Auth, Credentials};
use crate::client::DnsClient;
use crate::provider::{GoogleConfig, GoogleProvider, Visibility};

/// Cloud DNS's API root.
pub const DEFAULT_ENDPOINT: &str = "https://dns.googleapis.com";
/// Where Google's libraries look for a credentials file.
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// Google Cloud DNS.
pub struct Google;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Google Cloud DNS provider")]
pub struct GoogleArgs {
    /// Google project of the zones; by default the credentials' project, else the metadata
    /// server's (on GCP).
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_PROJECT", global = true)]
    pub google_project: Option<String>,
    /// Most additions + deletions sent in one Cloud DNS change (0: one change per zone).
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_BATCH_CHANGE_SIZE", global = true, default_value_t = 1000)]
    pub google_batch_change_size: usize,
    /// Pause between two changes.
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_BATCH_CHANGE_INTERVAL", global = true, default_value = "1s", value_parser = parse_go_duration)]
    pub google_batch_change_interval: Duration,
    /// Only zones of this visibility (public, private; empty: both).
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_ZONE_VISIBILITY", global = true, default_value = "", value_parser = ["", "public", "private"], hide_possible_values = true)]
    pub google_zone_visibility: String,
    /// (exodns) Credentials file: a service-account key or a workload identity federation
    /// configuration. Default: $GOOGLE_APPLICATION_CREDENTIALS, else the metadata server.
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_CREDENTIALS_FILE", global = true)]
    pub google_credentials_file: Option<PathBuf>,
    /// (exodns) Cloud DNS API root URL.
    #[arg(long, env = "EXTERNAL_DNS_GOOGLE_API_ENDPOINT", global = true, default_value = DEFAULT_ENDPOINT)]
    pub google_api_endpoint: String,
}

impl ProviderKind for Google {
    const INFO: ProviderInfo = ProviderInfo::new("google", "Google Cloud DNS (public and private zones)");
    type Args = GoogleArgs;

    async fn build(args: &GoogleArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(args, ctx)?))
    }
}

/// The provider of these flags, with nothing sent yet.
pub fn provider(args: &GoogleArgs, ctx: &ProviderContext) -> Result<GoogleProvider, BuildError> {
    let endpoint = Url::parse(args.google_api_endpoint.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            BuildError::flag("google-api-endpoint", format!("{:?} is not an http(s) URL", args.google_api_endpoint))
        })?;
    let file = args
        .google_credentials_file
        .clone()
        .or_else(|| std::env::var_os(CREDENTIALS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
    let creds = match &file {
        Some(path) => {
            Credentials::from_file(path).map_err(|e| BuildError::flag("google-credentials-file", e.to_string()))?
        }
        None => Credentials::metadata(),
    };
    tracing::info!(credentials = %creds.describe(), "Google credentials");
    let http = exodns_http::cloud_client(Duration::from_secs(30))
        .map_err(|e| BuildError::other(crate::GoogleError::Client(e)))?;
    let retry = RetryPolicy::default();
    let auth = Arc::new(Auth::new(creds, http.clone(), retry));
    let client = DnsClient::new(http, &endpoint, auth, retry);
    let visibility = match args.google_zone_visibility.as_str() {
        "public" => Visibility::Public,
        "private" => Visibility::Private,
        _ => Visibility::Any,
    };
    let cfg = GoogleConfig {
        project: args.google_project.clone().filter(|p| !p.trim().is_empty()),
        domain_filter: ctx.domain_filter.clone(),
        zone_id_filter: ctx.zone_id_filter.clone(),
        visibility,
        batch_change_size: args.google_batch_change_size,
        batch_change_interval: args.google_batch_change_interval,
        ..GoogleConfig::default()
    };
    Ok(GoogleProvider::new(client, cfg))
}
