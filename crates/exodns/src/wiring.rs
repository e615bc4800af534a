//! Flags → parts: plan options, registry, provider.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use exodns_controller::budget::{BudgetConfig, DeletionBudget, SETTLE};
use exodns_controller::{Pools, TableStore};
use exodns_core::failover::pool::PoolSettings;
use exodns_core::plan::{PlanOptions, Policy};
use exodns_core::registry::{AesKey, NoopRegistry, Registry, TableRegistry, TxtConfig, TxtRegistry};
use exodns_core::source::RecordEvent;
use exodns_core::{DomainFilter, RecordType};
use exodns_kube::dnsrecord::DnsRecordStore;
use exodns_provider::{Provider, ProviderContext, secret_from};
use exodns_sources::SourceConfig;
use exodns_sources::flags::Selection;
use exodns_sources::kind::SourceKind;

use crate::cli::Config;
use crate::providers::{self, ProviderName};

fn record_types(flag: &str, values: &[String]) -> anyhow::Result<Vec<RecordType>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<RecordType>().with_context(|| format!("--{flag}")))
        .collect()
}

pub fn domain_filter(cfg: &Config) -> anyhow::Result<DomainFilter> {
    let f = &cfg.filters;
    Ok(DomainFilter::from_flags(
        &f.domain_filter,
        &f.exclude_domains,
        &f.regex_domain_filter,
        &f.regex_domain_exclusion,
    )?)
}

/// `--events-emit`: upstream's record Event reasons (commas also separate them). An unknown one
/// stops exodns at start (upstream ignores it silently, so a misspelt reason would post nothing).
pub fn record_events(cfg: &Config) -> anyhow::Result<Vec<RecordEvent>> {
    let mut out = Vec::new();
    for v in cfg.general.events_emit.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()) {
        let Some(e) = RecordEvent::parse(v) else {
            let known: Vec<&str> = RecordEvent::ALL.iter().map(|e| e.reason()).collect();
            bail!("--events-emit: {v:?} is not an Event exodns posts; use {}", known.join(", "));
        };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// The checked source flags, with the wrappers that depend on other flags (PTR records need
/// PTR managed); flags accepted but not acted on as asked are warned about here.
pub fn source_config(cfg: &Config) -> anyhow::Result<SourceConfig> {
    for why in cfg.sources.ignored() {
        tracing::warn!("{why}");
    }
    let managed = record_types("managed-record-types", &cfg.filters.managed_record_types)?;
    // As upstream: managed, whatever --exclude-record-types says.
    let ptr = managed.contains(&RecordType::PTR);
    Ok(SourceConfig::new(&cfg.sources)?
        .with_managed_ptr(cfg.sources.create_ptr, ptr)?
        .default_failover_region(&cfg.registry.txt_owner_id))
}

/// `--deletion-budget` and `--deletion-grace` (3 intervals unless given), counted per --interval.
pub fn deletion_budget(cfg: &Config) -> DeletionBudget {
    let g = &cfg.general;
    DeletionBudget::new(BudgetConfig {
        limit: g.deletion_budget,
        grace: g.deletion_grace.unwrap_or(g.interval * 3),
        window: g.interval,
        // A single run cannot wait for more deletions to come.
        settle: if g.once { Duration::ZERO } else { SETTLE },
    })
}

pub fn policy(cfg: &Config) -> anyhow::Result<Policy> {
    let Some(p) = &cfg.general.policy else {
        bail!("--policy is required (sync, upsert-only or create-only), as in upstream ExternalDNS v0.22");
    };
    p.parse::<Policy>().context("--policy")
}

pub fn plan_options(cfg: &Config) -> anyhow::Result<PlanOptions> {
    let noop = cfg.registry.registry == "noop";
    Ok(PlanOptions {
        policy: policy(cfg)?,
        owner_id: if noop { String::new() } else { cfg.registry.txt_owner_id.clone() },
        // The TXT registry takes over the old owner's records and marks each for one update
        // that rewrites its TXT; the planner's own owner comparison would re-plan an update on
        // every sync, so it stays off.
        old_owner_id: String::new(),
        managed_types: record_types("managed-record-types", &cfg.filters.managed_record_types)?,
        excluded_types: record_types("exclude-record-types", &cfg.filters.exclude_record_types)?,
        domain_filter: domain_filter(cfg)?,
        provider_filter: DomainFilter::default(),
    })
}

fn aes_key(cfg: &Config) -> anyhow::Result<Option<AesKey>> {
    let r = &cfg.registry;
    let secret =
        secret_from("txt-encrypt-aes-key", r.txt_encrypt_aes_key.as_ref(), r.txt_encrypt_aes_key_file.as_ref())?;
    let key =
        secret.filter(|s| !s.is_empty()).map(|s| AesKey::try_from(&s)).transpose().context("--txt-encrypt-aes-key")?;
    if r.txt_encrypt_enabled && key.is_none() {
        bail!("--txt-encrypt-enabled needs --txt-encrypt-aes-key (32 bytes, raw or base64)");
    }
    Ok(key)
}

/// The `--registry` values exodns has.
pub const REGISTRIES: &[&str] = &["txt", "noop", "crd", "dynamodb"];

/// The registry of `--registry`, and the store of its ownership entries when it keeps them
/// outside the zone (crd).
pub async fn registry(cfg: &Config) -> anyhow::Result<(Arc<dyn Registry>, Option<TableStore>)> {
    let r = &cfg.registry;
    match r.registry.as_str() {
        "noop" => Ok((Arc::new(NoopRegistry), None)),
        "txt" => Ok((Arc::new(TxtRegistry::new(txt_config(cfg)?).context("TXT registry")?), None)),
        "crd" => {
            let registry = Arc::new(TableRegistry::new(&r.txt_owner_id).context("--registry=crd")?);
            let namespace = match r.crd_registry_namespace.trim() {
                "" => own_namespace(),
                ns => ns.to_owned(),
            };
            let client = exodns_kube::connect(&crate::cmd_run::kube_settings(cfg)).await.context("--registry=crd")?;
            let store = Arc::new(DnsRecordStore::new(&client, &namespace, &r.txt_owner_id));
            tracing::info!(namespace = %namespace, "registry: DNSRecord objects");
            Ok((registry.clone(), Some(TableStore { registry, store })))
        }
        "dynamodb" => {
            let registry = Arc::new(TableRegistry::new(&r.txt_owner_id).context("--registry=dynamodb")?);
            let env = |k: &str| std::env::var(k).ok();
            let store = exodns_aws::dynamodb_store(
                &cfg.providers.aws,
                &r.dynamodb_region,
                &r.dynamodb_table,
                &r.txt_owner_id,
                &env,
            )
            .context("--registry=dynamodb")?;
            Ok((registry.clone(), Some(TableStore { registry, store: Arc::new(store) })))
        }
        other => bail!("--registry {other:?}: exodns has {}", REGISTRIES.join(", ")),
    }
}

/// The namespace exodns runs in (`POD_NAMESPACE`, the service account's), else `default`.
pub fn own_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into())
}

fn txt_config(cfg: &Config) -> anyhow::Result<TxtConfig> {
    let r = &cfg.registry;
    Ok(TxtConfig {
        owner_id: r.txt_owner_id.clone(),
        prefix: r.txt_prefix.clone(),
        suffix: r.txt_suffix.clone(),
        wildcard_replacement: r.txt_wildcard_replacement.clone(),
        encrypt: r.txt_encrypt_enabled,
        encryption_key: aes_key(cfg)?,
        old_owner_id: r.migrate_from_txt_owner.clone(),
        managed_types: record_types("managed-record-types", &cfg.filters.managed_record_types)?,
        excluded_types: record_types("exclude-record-types", &cfg.filters.exclude_record_types)?,
    })
}

/// Failover pools, when the failover source is enabled with the TXT registry: the pool pass's
/// registry owns pool records as `--failover-pool-owner`, with the same TXT names and
/// encryption as ours.
pub fn pools(cfg: &Config, sel: &Selection, source_cfg: &SourceConfig) -> anyhow::Result<Option<Pools>> {
    let failover = sel.kinds.contains(&SourceKind::Failover) || (sel.manifest && sel.kinds.is_empty());
    if !failover || cfg.registry.registry != "txt" {
        return Ok(None);
    }
    let pool_owner = cfg.registry.failover_pool_owner.trim().to_owned();
    if pool_owner.is_empty() || pool_owner == cfg.registry.txt_owner_id {
        bail!(
            "--failover-pool-owner must be set and differ from --txt-owner-id (pool records are shared by every region)"
        );
    }
    let txt = TxtConfig {
        owner_id: pool_owner.clone(),
        old_owner_id: String::new(),
        managed_types: vec![RecordType::A, RecordType::AAAA, RecordType::LUA],
        excluded_types: Vec::new(),
        ..txt_config(cfg)?
    };
    let registry: Arc<dyn Registry> = Arc::new(TxtRegistry::new(txt).context("TXT registry of the pool owner")?);
    let settings = PoolSettings {
        owner_id: cfg.registry.txt_owner_id.clone(),
        pool_owner,
        region: source_cfg.failover_region.clone(),
    };
    Ok(Some(Pools { registry, settings }))
}

/// The provider of `--provider`, with the general flags every provider gets.
pub async fn provider(cfg: &Config) -> anyhow::Result<Arc<dyn Provider>> {
    let Some(name) = cfg.general.provider else {
        bail!("--provider is required ({})", ProviderName::list(|_| true));
    };
    let zone_ids = cfg.filters.zone_id_filter.iter().map(|z| z.trim()).filter(|z| !z.is_empty()).map(str::to_owned);
    let ctx = ProviderContext::new(domain_filter(cfg)?)
        .with_zone_id_filter(zone_ids.collect())
        .with_dry_run(cfg.general.dry_run)
        .with_tls(cfg.provider_tls.clone());
    providers::build(name, &cfg.providers, &ctx).await.with_context(|| format!("--provider={name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn chart_schema_lists_the_same_registries() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/helm/exodns/values.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut listed: Vec<&str> = schema["properties"]["registry"]["enum"]
            .as_array()
            .expect("properties.registry.enum in the chart's values schema")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut ours = super::REGISTRIES.to_vec();
        listed.sort_unstable();
        ours.sort_unstable();
        assert_eq!(listed, ours, "values.schema.json's registries follow wiring::REGISTRIES");
    }
}
