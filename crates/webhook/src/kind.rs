//! `--provider=webhook`: the flags of the webhook protocol (upstream's names) and the client
//! provider the binary lists. The same timeouts and body limit serve `exodns webhook`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};

use crate::{ClientConfig, WebhookProvider};

/// A webhook provider of ExternalDNS, driven over the webhook protocol.
pub struct Webhook;

/// Bytes: `33554432`, `32Mi`, `32MiB`, `10M`, `512Ki`, `1G`.
pub fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 33554432, 32Mi, 10M)"))?;
    let mult: u64 = match unit.trim().trim_end_matches(['B', 'b']) {
        "" => 1,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use K, M, G, Ki, Mi, Gi)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhook")]
pub struct WebhookFlags {
    /// URL of the webhook provider driven by --provider=webhook.
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_URL", global = true, default_value = crate::DEFAULT_URL)]
    pub webhook_provider_url: String,
    /// --provider=webhook: read timeout; with the write timeout it bounds each request. `exodns
    /// webhook`: time a client has to send a request body.
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_READ_TIMEOUT", global = true, default_value = "5s", value_parser = parse_go_duration)]
    pub webhook_provider_read_timeout: Duration,
    /// --provider=webhook: write timeout (also the connect timeout).
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_WRITE_TIMEOUT", global = true, default_value = "10s", value_parser = parse_go_duration)]
    pub webhook_provider_write_timeout: Duration,
    /// Largest webhook body (0: no limit): requests to `exodns webhook` (413 above it) and
    /// answers read by --provider=webhook. Takes K, M, G, Ki, Mi, Gi.
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_MAX_BODY_SIZE", global = true, default_value = "32Mi", value_parser = byte_size)]
    pub webhook_provider_max_body_size: u64,
    /// `exodns webhook`: time a client has to send a request's headers (then 408).
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_READ_HEADER_TIMEOUT", global = true, default_value = "5s", value_parser = parse_go_duration)]
    pub webhook_provider_read_header_timeout: Duration,
    /// `exodns webhook`: keep-alive connections idle this long are closed.
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_PROVIDER_IDLE_TIMEOUT", global = true, default_value = "30s", value_parser = parse_go_duration)]
    pub webhook_provider_idle_timeout: Duration,
    /// `exodns webhook`: listen address of the webhook API (`:8888` for every interface).
    /// /healthz and /metrics are on --metrics-address.
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_SERVER_ADDRESS", global = true, default_value = crate::server::DEFAULT_ADDRESS)]
    pub webhook_server_address: String,
    /// Serve --provider as a webhook instead of running the controller (upstream's flag; the
    /// same as `exodns webhook`).
    #[arg(long, env = "EXTERNAL_DNS_WEBHOOK_SERVER", global = true)]
    pub webhook_server: bool,
}

impl ProviderKind for Webhook {
    const INFO: ProviderInfo = ProviderInfo {
        servable: false,
        webhook_client: true,
        ..ProviderInfo::new("webhook", "any ExternalDNS webhook provider, at --webhook-provider-url")
    };
    type Args = WebhookFlags;

    /// The server is negotiated with before the provider is handed out (its domain filter goes
    /// into the plan); one that is not up yet is waited for a while, then left to the syncs,
    /// which try again. A server that answers wrongly is a startup error.
    async fn build(w: &WebhookFlags, _ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        let mut c = ClientConfig::parse(&w.webhook_provider_url).map_err(BuildError::other)?;
        c.read_timeout = w.webhook_provider_read_timeout;
        c.write_timeout = w.webhook_provider_write_timeout;
        c.max_body_size = w.webhook_provider_max_body_size;
        let provider = WebhookProvider::connect(c).await.map_err(BuildError::other)?;
        Ok(Arc::new(provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(byte_size("32Mi"), Ok(32 << 20));
        assert_eq!(byte_size("32MiB"), Ok(32 << 20));
        assert_eq!(byte_size("10M"), Ok(10_000_000));
        assert_eq!(byte_size("1024"), Ok(1024));
        assert_eq!(byte_size("0"), Ok(0));
        assert!(byte_size("lots").is_err() && byte_size("5Q").is_err());
    }
}
