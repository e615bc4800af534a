//! The controller: synchronise once (`--once`) or keep DNS in step.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use exodns_controller::{Controller, ObjectSource, Settings, Syncer};
use exodns_sources::SourceKind;
use tokio::sync::mpsc;
use tracing::info;

use crate::cli::Config;
use crate::sources::{ManifestSource, source_config, source_kinds};
use crate::{output, shutdown, wiring};

pub fn settings(cfg: &Config) -> Settings {
    Settings {
        debounce: cfg.general.min_event_sync_interval,
        interval: cfg.general.interval,
        cache_sync_timeout: cfg.general.cache_sync_timeout,
        once: cfg.general.once,
    }
}

pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let kinds = source_kinds(cfg)?;
    if !kinds.contains(&SourceKind::Manifest) {
        bail!("--source={}: this build reads objects from manifest files only; add --source=manifest --manifest-path=PATH", kinds[0]);
    }
    let source: Arc<dyn ObjectSource> = Arc::new(ManifestSource::new(cfg, &kinds, source_config(cfg)?)?);
    let provider = wiring::provider(cfg)?;
    let registry = wiring::registry(cfg)?;
    let syncer = Syncer::new(provider.clone(), registry.clone(), wiring::plan_options(cfg)?).dry_run(cfg.general.dry_run);
    let controller = Controller::new(source, syncer, registry, settings(cfg));
    // Manifests send no events; the sender lives as long as the loop so that it keeps running.
    let (_events_tx, events) = mpsc::channel(16);
    tokio::select! {
        result = controller.run(events) => result?,
        signal = shutdown::signal() => {
            info!("{signal}; exiting");
            return Ok(ExitCode::SUCCESS);
        }
    }
    if cfg.general.once && provider.name() == "inmemory" {
        // The in-memory zone ends with the process: show it.
        let records = provider.records().await?;
        print!("{}", output::zone_listing(&records.endpoints));
    }
    Ok(ExitCode::SUCCESS)
}
