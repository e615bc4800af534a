//! The controller: synchronise once (`--once`) or keep DNS in step.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use exodns_controller::{Controller, MeteredProvider, Settings, Syncer};
use exodns_kube::KubeSettings;
use exodns_kube::leader::{LeaderElector, LeaderSettings};
use exodns_provider::Provider;
use exodns_telemetry::{Metrics, OpsServer};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::cli::Config;
use crate::health::ControllerHealth;
use crate::sources::object_source;
use crate::{output, shutdown, wiring};

/// How long a `--once` run waits for its status writes and Events before it ends.
const ONCE_FLUSH: Duration = Duration::from_secs(10);
/// How long a stopping leader may take to hand its lease back.
const RELEASE_GRACE: Duration = Duration::from_secs(5);

pub fn settings(cfg: &Config) -> anyhow::Result<Settings> {
    Ok(Settings {
        min_event_sync_interval: cfg.general.min_event_sync_interval,
        interval: cfg.general.interval,
        cache_sync_timeout: cfg.general.cache_sync_timeout,
        once: cfg.general.once,
        record_cache_time: record_cache_time(cfg),
        record_events: wiring::record_events(cfg)?,
    })
}

/// How long the provider's records may be reused: `--provider-cache-time`, and with the TXT
/// registry `--txt-cache-interval` (upstream's registry cache, which takes in its writes as
/// exodns's record cache does); the longer of the two.
fn record_cache_time(cfg: &Config) -> Duration {
    // Upstream's DynamoDB registry caches the records with the same flag.
    let cached = matches!(cfg.registry.registry.as_str(), "txt" | "dynamodb");
    let txt = if cached { cfg.registry.txt_cache_interval } else { Duration::ZERO };
    cfg.general.provider_cache_time.max(txt)
}

pub fn kube_settings(cfg: &Config) -> KubeSettings {
    let k = &cfg.kube;
    KubeSettings {
        kubeconfig: k.kubeconfig.clone(),
        server: k.server.clone(),
        qps: k.kube_api_qps,
        burst: k.kube_api_burst,
        request_timeout: k.request_timeout.unwrap_or(k.kube_api_request_timeout),
    }
}

/// Who this replica is in the Lease: the Pod name (or host name) and a random suffix, so that
/// a restarted Pod with the same name is a new candidate.
fn identity() -> String {
    let host = std::env::var("POD_NAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_else(|_| "exodns".into());
    format!("{host}-{:08x}", rand::random::<u32>())
}

fn leader_settings(cfg: &Config) -> LeaderSettings {
    let l = &cfg.leader;
    let namespace = l
        .leader_election_namespace
        .clone()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(wiring::own_namespace);
    LeaderSettings {
        lease_duration: l.leader_election_lease_duration,
        renew_deadline: l.leader_election_renew_deadline,
        retry_period: l.leader_election_retry_period,
        ..LeaderSettings::new(&l.leader_election_lease_name, &namespace, &identity())
    }
}

pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let sel = cfg.sources.selection()?;
    let source_cfg = wiring::source_config(cfg)?;
    let loop_settings = settings(cfg)?;
    let metrics = Arc::new(Metrics::new(&cfg.registry.txt_owner_id));
    let observed = metrics.clone();
    exodns_core::observe::set_http_observer(move |r| observed.http_request(r));
    let provider = wiring::provider(cfg).await?;
    let info = cfg.general.provider.map(|p| p.info()).context("--provider is required")?;
    let metered: Arc<dyn Provider> = Arc::new(MeteredProvider::new(provider.clone(), info, metrics.clone()));
    let (registry, table) = wiring::registry(cfg).await?;
    let mut syncer = Syncer::new(metered, registry.clone(), wiring::plan_options(cfg)?)
        .dry_run(cfg.general.dry_run)
        .with_deletion_budget(wiring::deletion_budget(cfg));
    if let Some(t) = table {
        syncer = syncer.with_table_store(t);
    }
    if let Some(pools) = wiring::pools(cfg, &sel, &source_cfg)? {
        syncer = syncer.with_pools(pools);
    }

    let (events_tx, events) = mpsc::channel(4096);
    let source = object_source(cfg, &sel, source_cfg, events_tx.clone()).await?;

    // Leader election: only the leader writes; the others keep their caches warm.
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut leadership = None;
    if cfg.leader.leader_election && !cfg.general.once {
        // A client of its own, outside --kube-api-qps: lease renewals must never queue behind
        // lists, status writes or Events.
        let unthrottled = KubeSettings { qps: -1.0, ..kube_settings(cfg) };
        let client = exodns_kube::connect(&unthrottled).await?;
        let elector = LeaderElector::new(&client, leader_settings(cfg))?;
        let l = elector.spawn(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        });
        let fence = l.fence.clone();
        syncer = syncer.with_gate(Arc::new(move || fence.is_open()));
        leadership = Some(l);
    }
    let writes = source.clone();
    let mut controller = Controller::new(source, syncer, registry, loop_settings).with_metrics(metrics.clone());
    if let Some(l) = &leadership {
        controller = controller.with_leader(l.is_leader.clone());
    }

    let running = Arc::new(AtomicBool::new(true));
    if !cfg.general.once {
        let health =
            ControllerHealth { status: controller.status(), interval: cfg.general.interval, running: running.clone() };
        let address = cfg.general.controller_metrics_address();
        let ops = OpsServer::bind(address, metrics, Arc::new(health))
            .await
            .with_context(|| format!("--metrics-address {address}"))?;
        info!(address = %ops.local_addr()?, "serving /healthz, /readyz and /metrics");
        tokio::spawn(ops.serve());
    }
    // The sender stays alive as long as the loop, so that the loop keeps running with sources
    // that send no events (manifests).
    let _events_tx = events_tx;
    let outcome = tokio::select! {
        result = controller.run(events) => result,
        signal = shutdown::signal() => {
            info!("{signal}; exiting");
            Ok(())
        }
    };
    running.store(false, Ordering::Relaxed);
    if let Some(l) = leadership {
        let _ = stop_tx.send(true);
        if tokio::time::timeout(RELEASE_GRACE, l.task).await.is_err() {
            warn!("the leader lease was not released in time; others take over when it expires");
        }
    }
    outcome?;
    if cfg.general.once {
        // DNSEndpoint statuses and Events of the one sync go out before the process ends.
        writes.flush(ONCE_FLUSH).await;
    }
    if cfg.general.once && info.ephemeral {
        // The in-memory zone ends with the process: show it.
        let records = provider.records().await?;
        print!("{}", output::zone_listing(&records.endpoints));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn cache_time(args: &[&str]) -> Duration {
        let cli = Cli::try_parse_from(std::iter::once("exodns").chain(args.iter().copied())).unwrap();
        settings(&cli.config).unwrap().record_cache_time
    }

    #[test]
    fn record_cache_time_from_provider_cache_time_and_txt_cache_interval() {
        assert_eq!(cache_time(&[]), Duration::ZERO);
        assert_eq!(cache_time(&["--provider-cache-time=2m"]), Duration::from_secs(120));
        assert_eq!(cache_time(&["--txt-cache-interval=5m"]), Duration::from_secs(300));
        assert_eq!(cache_time(&["--txt-cache-interval=5m", "--provider-cache-time=10m"]), Duration::from_secs(600));
        assert_eq!(
            cache_time(&["--txt-cache-interval=5m", "--registry=noop"]),
            Duration::ZERO,
            "a TXT registry's cache"
        );
    }
}
