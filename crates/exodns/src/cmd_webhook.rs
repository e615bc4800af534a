//! `exodns webhook` (or `--webhook-server`): serve --provider over the ExternalDNS webhook
//! protocol.

use anyhow::bail;
use exodns_webhook::{ServerConfig, WebhookServer};
use std::process::ExitCode;
use tracing::info;

use crate::cli::Config;
use crate::providers::ProviderName;
use crate::{shutdown, wiring};

pub async fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    check_servable(cfg.general.provider)?;
    let provider = wiring::provider(cfg).await?;
    let w = &cfg.providers.webhook;
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

/// `exodns webhook` serves any provider but the webhook client.
pub fn check_servable(provider: Option<ProviderName>) -> anyhow::Result<()> {
    if let Some(name) = provider.filter(|p| !p.info().servable) {
        bail!(
            "--provider={name} cannot be served as a webhook; choose the provider to serve ({})",
            ProviderName::list(|i| i.servable)
        );
    }
    Ok(())
}
