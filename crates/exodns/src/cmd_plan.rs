//! `exodns plan`: what exodns would change, as a diff or as webhook `Changes` JSON.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use exodns_controller::{Syncer, until_synced};
use exodns_core::endpoint::RawEndpoint;
use exodns_core::registry::Owned;
use exodns_core::source::desired_now;
use exodns_core::{Endpoint, Invalid};
use exodns_provider::Provider;
use exodns_provider::inmemory::InMemoryProvider;
use tokio::sync::mpsc;

use crate::cli::{Config, PlanArgs, PlanOutput};
use crate::sources::object_source;
use crate::{output, wiring};

/// Reads `--current-endpoints`: a JSON array of webhook `Endpoint`s. Bad items are reported and
/// skipped, as a provider listing would skip them.
fn read_current(path: &std::path::Path) -> anyhow::Result<(Vec<Endpoint>, Vec<Invalid>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--current-endpoints {}", path.display()))?;
    let raw: Vec<RawEndpoint> = serde_json::from_str(&text)
        .with_context(|| format!("--current-endpoints {}: not a JSON array of endpoints", path.display()))?;
    let mut endpoints = Vec::with_capacity(raw.len());
    let mut invalid = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        match Endpoint::try_from(r) {
            Ok(ep) => endpoints.push(ep),
            Err(e) => invalid.push(e.at(format!("[{i}].{}", "endpoint"))),
        }
    }
    Ok((endpoints, invalid))
}

pub async fn run(cfg: &Config, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let sel = cfg.sources.selection()?;
    let source_cfg = wiring::source_config(cfg)?;
    let pools = wiring::pools(cfg, &sel, &source_cfg)?;
    let (tx, mut events) = mpsc::channel(4096);
    let source = object_source(cfg, &sel, source_cfg, tx).await?;
    until_synced(source.as_ref(), &mut events, cfg.general.cache_sync_timeout).await?;
    let (desired, protected, invalid) = desired_now(source.as_ref());
    if !sel.manifest {
        // The manifest reader has logged refused input already.
        for inv in &invalid {
            tracing::warn!("{inv}");
        }
    }
    let (registry, table) = wiring::registry(cfg).await?;
    let options = wiring::plan_options(cfg)?;

    let report = match &args.current_endpoints {
        // Current records as the registry returns them: plan against them directly.
        Some(path) => {
            let (current, invalid) = read_current(path)?;
            for inv in &invalid {
                tracing::warn!("{inv}");
            }
            let provider: Arc<dyn Provider> = Arc::new(InMemoryProvider::new(&[]));
            let syncer = with_pools(Syncer::new(provider, registry, options).dry_run(true), pools);
            syncer.plan_and_apply(desired, Owned::new(current), Vec::new(), &protected).await?
        }
        None => {
            let mut syncer =
                with_pools(Syncer::new(wiring::provider(cfg).await?, registry, options).dry_run(true), pools);
            if let Some(t) = table {
                syncer = syncer.with_table_store(t);
            }
            syncer.sync_protected(desired, &protected).await?
        }
    };
    match args.output {
        // JSON is exactly what a provider would receive; the diff shows the records and counts
        // their ownership TXT changes.
        PlanOutput::Json => println!("{}", serde_json::to_string_pretty(&report.outgoing)?),
        PlanOutput::Diff => {
            print!("{}", output::plan_diff(&report.planned, args.color));
            let txt = report.outgoing.len().saturating_sub(report.planned.len());
            if txt > 0 {
                println!("(and {txt} ownership TXT record changes beside them; --output json lists them)");
            }
            for c in &report.conflicts {
                let owner = if c.foreign_owner.is_empty() {
                    "no ExternalDNS".to_owned()
                } else {
                    format!("owner {:?}", c.foreign_owner)
                };
                println!(
                    "! not touching {} {}: held by {owner}{}",
                    c.dns_name,
                    c.record_type,
                    c.resource.as_deref().map(|r| format!(" (wanted by {r})")).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn with_pools(syncer: Syncer, pools: Option<exodns_controller::Pools>) -> Syncer {
    match pools {
        Some(p) => syncer.with_pools(p),
        None => syncer,
    }
}
