//! The controller: synchronise once (`--once`) or every `--interval`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use exodns_controller::{SyncReport, Syncer};
use exodns_sources::SourceKind;
use tracing::{info, warn};

use crate::cli::Config;
use crate::{desired, output, wiring};

/// First wait after a failed sync; it doubles up to `--interval`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

fn log_report(report: &SyncReport) {
    let c = &report.outgoing;
    info!(
        create = c.create.len(),
        update = c.update_new.len(),
        delete = c.delete.len(),
        rejected = report.rejected.len(),
        conflicts = report.conflicts.len(),
        held_back = report.held_back,
        applied = report.applied,
        "sync done"
    );
}

pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let kinds = desired::source_kinds(cfg)?;
    if let Some(k) = kinds.iter().find(|k| **k != SourceKind::Manifest) {
        if !kinds.contains(&SourceKind::Manifest) {
            bail!("--source={}: this build reads objects from manifest files only; add --source=manifest --manifest-path=PATH", k.as_str());
        }
    }
    let source_cfg = desired::source_config(cfg)?;
    let provider = wiring::provider(cfg)?;
    let print_zone = cfg.general.once && provider.name() == "inmemory";
    let syncer = Syncer::new(provider, wiring::registry(cfg)?, wiring::plan_options(cfg)?).dry_run(cfg.general.dry_run);

    let mut backoff = FIRST_BACKOFF;
    loop {
        let mut wanted_invalid = Vec::new();
        let result = match desired::from_manifests(cfg, &kinds, &source_cfg) {
            Ok(wanted) => {
                wanted_invalid = wanted.invalid;
                syncer.sync_protected(wanted.endpoints, &wanted.protected).await.map_err(anyhow::Error::from)
            }
            Err(e) => Err(e),
        };
        let wait = match result {
            Ok(report) => {
                log_report(&report);
                if !wanted_invalid.is_empty() {
                    warn!(invalid = wanted_invalid.len(), "some source input was invalid; see the messages above");
                }
                backoff = FIRST_BACKOFF;
                cfg.general.interval
            }
            Err(e) if cfg.general.once => return Err(e),
            Err(e) => {
                warn!(retry_in = ?backoff, "sync failed: {e:#}");
                let wait = backoff;
                backoff = (backoff * 2).min(cfg.general.interval.max(FIRST_BACKOFF));
                wait
            }
        };
        if cfg.general.once {
            if print_zone {
                let records = syncer.provider().records().await?;
                print!("{}", output::zone_listing(&records.endpoints));
            }
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => {
                info!("interrupted; exiting");
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}
