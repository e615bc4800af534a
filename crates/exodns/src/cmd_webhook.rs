//! `exodns webhook` (or `--webhook-server`): serve --provider over the ExternalDNS webhook
//! protocol; and the `webhook` provider of the controller (`--provider=webhook`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use exodns_provider::Provider;
use exodns_webhook::{ClientConfig, ServerConfig, WebhookProvider, WebhookServer};
use tracing::{info, warn};

use crate::cli::Config;
use crate::{shutdown, wiring};

pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    if cfg.general.provider.as_deref() == Some("webhook") {
        bail!("--provider=webhook cannot be served as a webhook; choose the provider to serve (inmemory, pdns, …)");
    }
    let provider = wiring::provider(cfg).await?;
    let w = &cfg.webhook;
    let server_cfg = ServerConfig {
        address: w.webhook_server_address.clone(),
        metrics_address: Some(cfg.general.webhook_metrics_address().to_owned()),
        max_body_size: w.webhook_provider_max_body_size,
        read_header_timeout: w.webhook_provider_read_header_timeout,
        read_timeout: w.webhook_provider_read_timeout,
        idle_timeout: w.webhook_provider_idle_timeout,
        ..ServerConfig::default()
    };
    let name = provider.name().to_owned();
    let server = WebhookServer::bind(provider, server_cfg).await?;
    info!(
        provider = %name,
        address = %server.local_addr(),
        metrics = %server.metrics_addr().map(|a| a.to_string()).unwrap_or_default(),
        "serving the provider over the webhook protocol"
    );
    server
        .run(async {
            let signal = shutdown::signal().await;
            info!("{signal}; shutting down");
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// The `webhook` provider. The server is negotiated with before the provider is handed out (its
/// domain filter goes into the plan options); one that is not up yet is waited for a while, then
/// left to the syncs, which try again. A server that answers wrongly is a startup error.
pub async fn client(cfg: &Config) -> anyhow::Result<Arc<dyn Provider>> {
    let w = &cfg.webhook;
    let mut c = ClientConfig::parse(&w.webhook_provider_url)?;
    c.read_timeout = w.webhook_provider_read_timeout;
    c.write_timeout = w.webhook_provider_write_timeout;
    c.max_body_size = w.webhook_provider_max_body_size;
    let wait = c.startup_wait;
    let provider = WebhookProvider::new(c).context("--provider=webhook")?;
    match provider.negotiate_with_retry(wait).await {
        Ok(_) => {}
        Err(e) if e.is_transient() => warn!("webhook provider not reachable yet ({e}); every sync tries again"),
        Err(e) => return Err(e).context("--provider=webhook"),
    }
    Ok(Arc::new(provider))
}
