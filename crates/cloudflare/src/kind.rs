//! `--provider=cloudflare`: upstream's flags and environment variables, and the constructor the
//! binary lists.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};

use crate::config::{CloudflareConfig, Credentials, CustomHostnames, DEFAULT_BATCH_SIZE};
use crate::provider::CloudflareProvider;

/// Cloudflare DNS over its v4 API.
pub struct Cloudflare;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Cloudflare provider (credentials: CF_API_TOKEN, or CF_API_KEY and CF_API_EMAIL)")]
pub struct CloudflareArgs {
    /// Proxy records through Cloudflare unless their `cloudflare-proxied` annotation says
    /// otherwise (A, AAAA and CNAME only).
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_PROXIED", global = true)]
    pub cloudflare_proxied: bool,
    /// DNS records listed per page.
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_DNS_RECORDS_PER_PAGE", global = true, default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(5..=5_000_000))]
    pub cloudflare_dns_records_per_page: u32,
    /// Zones listed per page (exodns's own flag; Cloudflare's maximum is the default).
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_ZONES_PER_PAGE", global = true, default_value_t = crate::config::ZONES_PER_PAGE,
          value_parser = clap::value_parser!(u32).range(5..=50))]
    pub cloudflare_zones_per_page: u32,
    /// Manage regional hostnames (Cloudflare Data Localization Suite).
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_REGIONAL_SERVICES", global = true)]
    pub cloudflare_regional_services: bool,
    /// Default region key of regional hostnames; any value turns regional services on.
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_REGION_KEY", global = true, default_value = "")]
    pub cloudflare_region_key: String,
    /// Comment of the DNS records whose endpoint sets none (at most 100 characters on the Free
    /// plan, 500 on paid plans).
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_RECORD_COMMENT", global = true, default_value = "")]
    pub cloudflare_record_comment: String,
    /// Manage custom hostnames (needs "Cloudflare for SaaS").
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_CUSTOM_HOSTNAMES", global = true)]
    pub cloudflare_custom_hostnames: bool,
    /// Minimum TLS version of new custom hostnames.
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_CUSTOM_HOSTNAMES_MIN_TLS_VERSION", global = true, default_value = "1.0",
          value_parser = ["1.0", "1.1", "1.2", "1.3"])]
    pub cloudflare_custom_hostnames_min_tls_version: String,
    /// Certificate authority of new custom hostnames (`none`: Cloudflare's choice).
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_CUSTOM_HOSTNAMES_CERTIFICATE_AUTHORITY", global = true,
          default_value = "none", value_parser = ["google", "ssl_com", "lets_encrypt", "none"])]
    pub cloudflare_custom_hostnames_certificate_authority: String,
    /// Read the API token from this file (a mounted Secret) instead of CF_API_TOKEN.
    #[arg(long, env = "EXTERNAL_DNS_CLOUDFLARE_API_TOKEN_FILE", global = true)]
    pub cloudflare_api_token_file: Option<PathBuf>,
    /// Most record operations in one batch request (at least 200, Cloudflare's Free-plan
    /// limit; paid plans allow more).
    #[arg(long, env = "EXTERNAL_DNS_BATCH_CHANGE_SIZE", global = true, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch_change_size: usize,
    /// Pause between two batch requests of a zone (exodns keeps Cloudflare's request rate
    /// anyway, so the default is no pause).
    #[arg(long, env = "EXTERNAL_DNS_BATCH_CHANGE_INTERVAL", global = true, default_value = "0s",
          value_parser = parse_go_duration)]
    pub batch_change_interval: Duration,
}

impl ProviderKind for Cloudflare {
    const INFO: ProviderInfo = ProviderInfo::new("cloudflare", "Cloudflare DNS, over its v4 API (batch endpoint)");
    type Args = CloudflareArgs;

    async fn build(args: &CloudflareArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(args, ctx, |k| std::env::var(k).ok())?))
    }
}

/// The provider of these flags and of the environment `env` (`CF_API_TOKEN`, `CF_API_KEY`,
/// `CF_API_EMAIL`, `CLOUDFLARE_BASE_URL`), with nothing sent yet.
pub fn provider(
    args: &CloudflareArgs,
    ctx: &ProviderContext,
    env: impl Fn(&str) -> Option<String>,
) -> Result<CloudflareProvider, BuildError> {
    let credentials =
        Credentials::from_env(&env, args.cloudflare_api_token_file.as_deref()).map_err(BuildError::other)?;
    let mut cfg = CloudflareConfig::new(credentials);
    if let Some(url) = env("CLOUDFLARE_BASE_URL").filter(|u| !u.trim().is_empty()) {
        cfg.base_url = CloudflareConfig::parse_base_url(&url).map_err(BuildError::other)?;
    }
    cfg.proxied_by_default = args.cloudflare_proxied;
    cfg.records_per_page = args.cloudflare_dns_records_per_page;
    cfg.zones_per_page = args.cloudflare_zones_per_page;
    cfg.record_comment = args.cloudflare_record_comment.clone();
    if args.cloudflare_regional_services || !args.cloudflare_region_key.is_empty() {
        cfg.regional = Some(args.cloudflare_region_key.clone());
    }
    if args.cloudflare_custom_hostnames {
        cfg.custom_hostnames = Some(CustomHostnames {
            min_tls_version: args.cloudflare_custom_hostnames_min_tls_version.clone(),
            certificate_authority: args.cloudflare_custom_hostnames_certificate_authority.clone(),
        });
    }
    cfg.batch_size = args.batch_change_size.max(DEFAULT_BATCH_SIZE);
    cfg.batch_interval = args.batch_change_interval;
    cfg.domain_filter = ctx.domain_filter.clone();
    cfg.zone_id_filter = ctx.zone_id_filter.clone();
    cfg.dry_run = ctx.dry_run;
    CloudflareProvider::new(cfg).map_err(BuildError::other)
}
