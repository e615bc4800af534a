//! `--provider=azure` (and its other name `azure-dns`) and `--provider=azure-private-dns`:
//! upstream's flags, shared by the three, and their constructors.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exodns_core::DomainFilter;
use exodns_core::duration::parse_go_duration;
use exodns_http::retry::RetryPolicy;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};

use crate::auth::{Auth, Credential};
use crate::client::ArmClient;
use crate::config::{AUTHORITY_HOST_ENV, AzureConfig, check_url};
use crate::convert::Flavor;
use crate::provider::{AzureProvider, AzureSettings};

/// Upstream's `--azure-config-file` default (the kubelet's cloud config on AKS nodes).
pub const DEFAULT_CONFIG_FILE: &str = "/etc/kubernetes/azure.json";

/// Azure DNS (public zones).
pub struct Azure;
/// Azure DNS under upstream's other name for it.
pub struct AzureDns;
/// Azure Private DNS.
pub struct AzurePrivateDns;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Azure DNS and Azure Private DNS providers")]
pub struct AzureArgs {
    /// Azure config file (azure.json: tenantId, subscriptionId, resourceGroup, aadClientId,
    /// aadClientSecret, useManagedIdentityExtension, userAssignedIdentityID,
    /// useWorkloadIdentityExtension, cloud).
    #[arg(long, env = "EXTERNAL_DNS_AZURE_CONFIG_FILE", global = true, default_value = DEFAULT_CONFIG_FILE)]
    pub azure_config_file: PathBuf,
    /// Resource group of the zones (overrides the config file).
    #[arg(long, env = "EXTERNAL_DNS_AZURE_RESOURCE_GROUP", global = true)]
    pub azure_resource_group: Option<String>,
    /// Subscription of the zones (overrides the config file).
    #[arg(long, env = "EXTERNAL_DNS_AZURE_SUBSCRIPTION_ID", global = true)]
    pub azure_subscription_id: Option<String>,
    /// Client id of the user-assigned managed identity (overrides the config file).
    #[arg(long, env = "EXTERNAL_DNS_AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID", global = true)]
    pub azure_user_assigned_identity_client_id: Option<String>,
    /// How long the zone list is kept (0s: listed at every sync).
    #[arg(long, env = "EXTERNAL_DNS_AZURE_ZONES_CACHE_DURATION", global = true, default_value = "0s", value_parser = parse_go_duration)]
    pub azure_zones_cache_duration: Duration,
    /// Retries of an API call on no answer, 429 and 5xx (below 0: none).
    #[arg(
        long,
        env = "EXTERNAL_DNS_AZURE_MAXRETRIES_COUNT",
        global = true,
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    pub azure_maxretries_count: i64,
    /// Zones by name, besides --domain-filter (only the Azure providers read it, as upstream).
    #[arg(long, env = "EXTERNAL_DNS_ZONE_NAME_FILTER", global = true, value_delimiter = ',')]
    pub zone_name_filter: Vec<String>,
}

impl ProviderKind for Azure {
    const INFO: ProviderInfo = ProviderInfo::new("azure", "Azure DNS (public zones)");
    type Args = AzureArgs;

    async fn build(args: &AzureArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(Self::INFO.name, Flavor::Public, args, ctx, |k| std::env::var(k).ok())?))
    }
}

impl ProviderKind for AzureDns {
    const INFO: ProviderInfo = ProviderInfo::new("azure-dns", "Azure DNS (public zones): the same as azure");
    type Args = AzureArgs;

    async fn build(args: &AzureArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(Self::INFO.name, Flavor::Public, args, ctx, |k| std::env::var(k).ok())?))
    }
}

impl ProviderKind for AzurePrivateDns {
    const INFO: ProviderInfo = ProviderInfo::new("azure-private-dns", "Azure Private DNS");
    type Args = AzureArgs;

    async fn build(args: &AzureArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(Self::INFO.name, Flavor::Private, args, ctx, |k| std::env::var(k).ok())?))
    }
}

/// The provider of these flags (and environment, read through `env`), with nothing sent yet.
pub fn provider(
    name: &'static str,
    flavor: Flavor,
    args: &AzureArgs,
    ctx: &ProviderContext,
    env: impl Fn(&str) -> Option<String>,
) -> Result<AzureProvider, BuildError> {
    let flag = |e: crate::AzureError| match e {
        crate::AzureError::Config { setting, message } => BuildError::flag(setting, message),
        other => BuildError::other(other),
    };
    let mut cfg = AzureConfig::from_file(&args.azure_config_file).map_err(flag)?;
    let set = |target: &mut String, v: &Option<String>| {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            *target = v.to_owned();
        }
    };
    set(&mut cfg.subscription_id, &args.azure_subscription_id);
    set(&mut cfg.resource_group, &args.azure_resource_group);
    set(&mut cfg.user_assigned_identity_id, &args.azure_user_assigned_identity_client_id);
    if cfg.subscription_id.is_empty() {
        return Err(BuildError::flag(
            "azure-subscription-id",
            "no subscription: set subscriptionId in the config file or --azure-subscription-id",
        ));
    }
    if cfg.resource_group.is_empty() {
        return Err(BuildError::flag(
            "azure-resource-group",
            "no resource group: set resourceGroup in the config file or --azure-resource-group",
        ));
    }
    let cloud = cfg.cloud(env(AUTHORITY_HOST_ENV).as_deref()).map_err(flag)?;
    let arm = check_url("resource manager endpoint", &cloud.resource_manager).map_err(flag)?;
    let credential = Credential::from_config(&cfg, &env).map_err(flag)?;
    tracing::info!(provider = name, credential = %credential.describe(), subscription = %cfg.subscription_id, resource_group = %cfg.resource_group, "Azure credentials");
    let http = exodns_http::cloud_client(Duration::from_secs(30))
        .map_err(|e| BuildError::other(crate::AzureError::Client(e)))?;
    let retry = RetryPolicy::with_retries(args.azure_maxretries_count);
    let auth = Arc::new(Auth::new(credential, cloud, http.clone(), retry));
    let client = ArmClient::new(http, &arm, &cfg.subscription_id, &cfg.resource_group, flavor, auth, retry);
    let zone_names: Vec<String> =
        args.zone_name_filter.iter().map(|z| z.trim().to_owned()).filter(|z| !z.is_empty()).collect();
    let settings = AzureSettings {
        domain_filter: ctx.domain_filter.clone(),
        zone_name_filter: DomainFilter::new(&zone_names, &[]),
        zone_id_filter: ctx.zone_id_filter.clone(),
        zones_cache_duration: args.azure_zones_cache_duration,
    };
    Ok(AzureProvider::new(name, client, settings))
}
