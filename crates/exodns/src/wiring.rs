//! Flags → parts: plan options, registry, provider.

use std::sync::Arc;

use anyhow::{Context, bail};
use exodns_core::plan::{PlanOptions, Policy};
use exodns_core::registry::{AesKey, NoopRegistry, Registry, TxtConfig, TxtRegistry};
use exodns_core::{DomainFilter, RecordType, Secret};
use exodns_pdns::{PdnsConfig, PdnsProvider, TlsSettings};
use exodns_provider::Provider;
use exodns_provider::inmemory::InMemoryProvider;

use crate::cli::Config;

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
    let secret = secret_from("txt-encrypt-aes-key", &r.txt_encrypt_aes_key, &r.txt_encrypt_aes_key_file)?;
    let key =
        secret.filter(|s| !s.is_empty()).map(|s| AesKey::try_from(&s)).transpose().context("--txt-encrypt-aes-key")?;
    if r.txt_encrypt_enabled && key.is_none() {
        bail!("--txt-encrypt-enabled needs --txt-encrypt-aes-key (32 bytes, raw or base64)");
    }
    Ok(key)
}

pub fn registry(cfg: &Config) -> anyhow::Result<Arc<dyn Registry>> {
    let r = &cfg.registry;
    match r.registry.as_str() {
        "noop" => Ok(Arc::new(NoopRegistry)),
        "txt" => {
            let txt = TxtConfig {
                owner_id: r.txt_owner_id.clone(),
                prefix: r.txt_prefix.clone(),
                suffix: r.txt_suffix.clone(),
                wildcard_replacement: r.txt_wildcard_replacement.clone(),
                encrypt: r.txt_encrypt_enabled,
                encryption_key: aes_key(cfg)?,
                old_owner_id: r.migrate_from_txt_owner.clone(),
                managed_types: record_types("managed-record-types", &cfg.filters.managed_record_types)?,
                excluded_types: record_types("exclude-record-types", &cfg.filters.exclude_record_types)?,
            };
            Ok(Arc::new(TxtRegistry::new(txt).context("TXT registry")?))
        }
        other => bail!("--registry {other:?}: exodns has txt and noop"),
    }
}

/// A secret from its flag or from the file its `-file` flag names (a mounted Secret).
fn secret_from(
    flag: &str,
    value: &Option<Secret>,
    file: &Option<std::path::PathBuf>,
) -> anyhow::Result<Option<Secret>> {
    match (value, file) {
        (Some(_), Some(_)) => bail!("--{flag} and --{flag}-file exclude each other"),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, Some(path)) => {
            Secret::from_file(path).map(Some).with_context(|| format!("--{flag}-file {}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

pub fn pdns_provider(cfg: &Config) -> anyhow::Result<PdnsProvider> {
    let p = &cfg.pdns;
    let Some(key) = secret_from("pdns-api-key", &p.pdns_api_key, &p.pdns_api_key_file)?.filter(|k| !k.is_empty())
    else {
        bail!("--provider=pdns needs --pdns-api-key (or EXTERNAL_DNS_PDNS_API_KEY, or --pdns-api-key-file)");
    };
    let mut pc = PdnsConfig::parse(&p.pdns_server, key)?;
    pc.server_id = p.pdns_server_id.clone();
    pc.domain_filter = domain_filter(cfg)?;
    pc.tls = TlsSettings {
        ca_file: p.tls_ca.clone(),
        client_cert_file: p.tls_client_cert.clone(),
        client_key_file: p.tls_client_cert_key.clone(),
        skip_verify: p.pdns_skip_tls_verify,
    };
    pc.max_body_bytes = p.pdns_max_body_size;
    pc.timeout = p.pdns_timeout;
    Ok(PdnsProvider::new(pc)?)
}

pub async fn provider(cfg: &Config) -> anyhow::Result<Arc<dyn Provider>> {
    let Some(name) = cfg.general.provider.as_deref() else {
        bail!("--provider is required (inmemory, pdns, webhook)");
    };
    match name {
        "inmemory" => Ok(Arc::new(InMemoryProvider::new(&cfg.inmemory.inmemory_zone))),
        "pdns" => Ok(Arc::new(pdns_provider(cfg)?)),
        "webhook" => crate::cmd_webhook::client(cfg).await,
        other => bail!("--provider {other:?}: exodns has inmemory, pdns, webhook"),
    }
}
