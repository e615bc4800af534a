//! `--provider=aws`: upstream's `--aws-*` flags and the constructor the binary lists.

use std::sync::Arc;
use std::time::Duration;

use exodns_core::Secret;
use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};

use crate::batch::Limits;
use crate::client::{Endpoint, RetryPolicy, Route53Client};
use crate::creds::{Chain, ChainSettings, CredentialsCache, Endpoints};
use crate::dynamodb::DynamoDbStore;
use crate::provider::{AwsConfig, AwsProvider, ZoneType};

/// AWS Route 53.
pub struct Aws;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "AWS Route 53 provider")]
pub struct AwsArgs {
    /// Only zones of this type: public or private (any when empty).
    #[arg(long, env = "EXTERNAL_DNS_AWS_ZONE_TYPE", global = true, default_value = "", value_parser = ["", "public", "private"])]
    pub aws_zone_type: String,
    /// Only zones with these tags (`key` or `key=value`; repeat the flag for several).
    #[arg(long, env = "EXTERNAL_DNS_AWS_ZONE_TAGS", global = true, value_delimiter = '\n')]
    pub aws_zone_tags: Vec<String>,
    /// Profile of the shared credentials/config files (repeat for several accounts; default:
    /// AWS_PROFILE, else `default`).
    #[arg(long, env = "EXTERNAL_DNS_AWS_PROFILE", global = true, value_delimiter = '\n')]
    pub aws_profile: Vec<String>,
    /// IAM role to assume (full ARN), on top of the credentials found.
    #[arg(long, env = "EXTERNAL_DNS_AWS_ASSUME_ROLE", global = true, default_value = "")]
    pub aws_assume_role: String,
    /// External id when assuming the role.
    #[arg(long, env = "EXTERNAL_DNS_AWS_ASSUME_ROLE_EXTERNAL_ID", global = true, hide_env_values = true)]
    pub aws_assume_role_external_id: Option<Secret>,
    /// Most changes in one change batch.
    #[arg(long, env = "EXTERNAL_DNS_AWS_BATCH_CHANGE_SIZE", global = true, default_value_t = 1000)]
    pub aws_batch_change_size: usize,
    /// Most characters of record values in one change batch (an UPSERT counts twice).
    #[arg(long, env = "EXTERNAL_DNS_AWS_BATCH_CHANGE_SIZE_BYTES", global = true, default_value_t = 32_000)]
    pub aws_batch_change_size_bytes: usize,
    /// Most record values in one change batch (an UPSERT counts twice).
    #[arg(long, env = "EXTERNAL_DNS_AWS_BATCH_CHANGE_SIZE_VALUES", global = true, default_value_t = 1000)]
    pub aws_batch_change_size_values: usize,
    /// Least time between the starts of two change batches.
    #[arg(long, env = "EXTERNAL_DNS_AWS_BATCH_CHANGE_INTERVAL", global = true, default_value = "1s", value_parser = parse_go_duration)]
    pub aws_batch_change_interval: Duration,
    /// Alias records evaluate the health of their target (default; `=false` or
    /// `--no-aws-evaluate-target-health` to disable).
    #[arg(long, env = "EXTERNAL_DNS_AWS_EVALUATE_TARGET_HEALTH", global = true, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub aws_evaluate_target_health: bool,
    /// Alias records do not evaluate the health of their target.
    #[arg(long, env = "EXTERNAL_DNS_NO_AWS_EVALUATE_TARGET_HEALTH", global = true)]
    pub no_aws_evaluate_target_health: bool,
    /// Tries of one AWS API call before giving up (until the next sync).
    #[arg(long, env = "EXTERNAL_DNS_AWS_API_RETRIES", global = true, default_value_t = 3)]
    pub aws_api_retries: u32,
    /// Write CNAME records to AWS endpoints instead of alias records.
    #[arg(long, env = "EXTERNAL_DNS_AWS_PREFER_CNAME", global = true)]
    pub aws_prefer_cname: bool,
    /// How long the list of hosted zones is reused (0s: listed at every sync).
    #[arg(long, env = "EXTERNAL_DNS_AWS_ZONES_CACHE_DURATION", global = true, default_value = "0s", value_parser = parse_go_duration)]
    pub aws_zones_cache_duration: Duration,
    /// Also manage zones above a domain of --domain-filter (`example.org` for `a.example.org`).
    #[arg(long, env = "EXTERNAL_DNS_AWS_ZONE_MATCH_PARENT", global = true)]
    pub aws_zone_match_parent: bool,
}

impl ProviderKind for Aws {
    const INFO: ProviderInfo =
        ProviderInfo::new("aws", "AWS Route 53, over its REST API (SigV4, the AWS credential chain)");
    type Args = AwsArgs;

    async fn build(args: &AwsArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        let env = |k: &str| std::env::var(k).ok();
        Ok(Arc::new(provider(args, ctx, &env)?))
    }
}

/// The provider of these flags, with `env` as the environment; nothing is sent yet.
pub fn provider(
    args: &AwsArgs,
    ctx: &ProviderContext,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AwsProvider, BuildError> {
    let limits = Limits {
        max_changes: args.aws_batch_change_size,
        max_bytes: args.aws_batch_change_size_bytes,
        max_values: args.aws_batch_change_size_values,
    };
    for (flag, v) in [
        ("aws-batch-change-size", limits.max_changes),
        ("aws-batch-change-size-bytes", limits.max_bytes),
        ("aws-batch-change-size-values", limits.max_values),
    ] {
        if v == 0 {
            return Err(BuildError::flag(flag, "must be at least 1"));
        }
    }
    let zone_type = match args.aws_zone_type.as_str() {
        "public" => ZoneType::Public,
        "private" => ZoneType::Private,
        _ => ZoneType::Any,
    };
    let zone_tags = args
        .aws_zone_tags
        .iter()
        .filter_map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect();
    let cfg = AwsConfig {
        domain_filter: ctx.domain_filter.clone(),
        zone_id_filter: ctx.zone_id_filter.clone(),
        zone_type,
        zone_tags,
        zone_match_parent: args.aws_zone_match_parent,
        limits,
        batch_interval: args.aws_batch_change_interval,
        evaluate_target_health: args.aws_evaluate_target_health && !args.no_aws_evaluate_target_health,
        prefer_cname: args.aws_prefer_cname,
        zones_cache: args.aws_zones_cache_duration,
        max_parallel_reads: 4,
    };
    let retry = RetryPolicy { max_attempts: args.aws_api_retries.max(1), ..RetryPolicy::default() };
    let http = http_client()?;
    let profiles: Vec<Option<String>> = {
        let named: Vec<String> = args.aws_profile.iter().filter(|p| !p.trim().is_empty()).cloned().collect();
        if named.is_empty() { vec![None] } else { named.into_iter().map(Some).collect() }
    };
    let mut clients = Vec::with_capacity(profiles.len());
    for profile in profiles {
        let flag = if profile.is_some() { "aws-profile" } else { "provider" };
        let chain = Chain::resolve(&ChainSettings {
            profile: profile.clone(),
            assume_role: Some(args.aws_assume_role.clone()),
            assume_role_external_id: args.aws_assume_role_external_id.clone(),
            env,
        })
        .map_err(|e| BuildError::flag(flag, e.to_string()))?;
        let endpoint = Endpoint::resolve(env, chain.region.as_deref()).map_err(|m| BuildError::flag("provider", m))?;
        tracing::info!(
            profile = profile.as_deref().unwrap_or("(chain)"),
            credentials = %chain.source.describe(),
            endpoint = %endpoint.url,
            "Route 53 client"
        );
        let creds = CredentialsCache::new(chain, Endpoints::from_env(env), http.clone());
        clients.push(Route53Client::new(http.clone(), endpoint, creds, retry));
    }
    Ok(AwsProvider::new(clients, cfg))
}

fn http_client() -> Result<reqwest::Client, BuildError> {
    let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), true)
        .or_else(|_| exodns_http::client_config(&exodns_http::TlsSettings::default(), false))
        .map_err(BuildError::other)?;
    exodns_http::client_builder(tls)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(BuildError::other)
}

/// The table of `--registry=dynamodb` (`--dynamodb-table`, `--dynamodb-region`), with the
/// credentials of the AWS flags (the first `--aws-profile`, `--aws-assume-role`), as upstream
/// builds its DynamoDB client from the AWS provider's configuration.
pub fn dynamodb_store(
    args: &AwsArgs,
    region: &str,
    table: &str,
    owner: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DynamoDbStore, BuildError> {
    if table.trim().is_empty() {
        return Err(BuildError::flag("dynamodb-table", "the table name cannot be empty"));
    }
    let chain = Chain::resolve(&ChainSettings {
        profile: args.aws_profile.iter().find(|p| !p.trim().is_empty()).cloned(),
        assume_role: Some(args.aws_assume_role.clone()),
        assume_role_external_id: args.aws_assume_role_external_id.clone(),
        env,
    })
    .map_err(|e| BuildError::flag("registry", e.to_string()))?;
    let region = match region.trim() {
        "" => chain.region.clone().ok_or_else(|| {
            BuildError::flag("dynamodb-region", "no region: set it, or AWS_REGION, or the profile's region")
        })?,
        r => r.to_owned(),
    };
    let url = crate::dynamodb::endpoint(env, &region).map_err(|m| BuildError::flag("dynamodb-region", m))?;
    tracing::info!(table, region = %region, endpoint = %url, credentials = %chain.source.describe(), "DynamoDB registry");
    let http = http_client()?;
    let creds = CredentialsCache::new(chain, Endpoints::from_env(env), http.clone());
    Ok(DynamoDbStore::new(http, url, &region, creds, table.trim(), owner))
}
