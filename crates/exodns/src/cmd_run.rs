//! The controller: synchronise once (`--once`) or keep DNS in step.

use std::process::ExitCode;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use exodns_controller::{Controller, MeteredProvider, ObjectSource, Settings, Syncer};
use exodns_provider::Provider;
use exodns_telemetry::{Metrics, OpsServer};
use exodns_sources::SourceKind;
use tokio::sync::mpsc;
use tracing::info;

use crate::cli::Config;
use crate::sources::{ManifestSource, source_config, source_kinds};
use crate::health::ControllerHealth;
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
    let metrics = Arc::new(Metrics::new(&cfg.registry.txt_owner_id));
    let provider = wiring::provider(cfg)?;
    let metered: Arc<dyn Provider> = Arc::new(MeteredProvider::new(provider.clone(), metrics.clone()));
    let registry = wiring::registry(cfg)?;
    let syncer = Syncer::new(metered, registry.clone(), wiring::plan_options(cfg)?).dry_run(cfg.general.dry_run);
    let controller = Controller::new(source, syncer, registry, settings(cfg)).with_metrics(metrics.clone());
    let running = Arc::new(AtomicBool::new(true));
    if !cfg.general.once {
        let health = ControllerHealth { status: controller.status(), interval: cfg.general.interval, running: running.clone() };
        let ops = OpsServer::bind(&cfg.general.metrics_address, metrics, Arc::new(health))
            .await
            .with_context(|| format!("--metrics-address {}", cfg.general.metrics_address))?;
        info!(address = %ops.local_addr()?, "serving /healthz, /readyz and /metrics");
        tokio::spawn(ops.serve());
    }
    // Manifests send no events; the sender lives as long as the loop so that it keeps running.
    let (_events_tx, events) = mpsc::channel(16);
    let outcome = tokio::select! {
        result = controller.run(events) => result,
        signal = shutdown::signal() => {
            info!("{signal}; exiting");
            return Ok(ExitCode::SUCCESS);
        }
    };
    running.store(false, Ordering::Relaxed);
    outcome?;
    if cfg.general.once && provider.name() == "inmemory" {
        // The in-memory zone ends with the process: show it.
        let records = provider.records().await?;
        print!("{}", output::zone_listing(&records.endpoints));
    }
    Ok(ExitCode::SUCCESS)
}
