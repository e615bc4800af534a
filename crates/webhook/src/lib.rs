//! The ExternalDNS webhook protocol, both ways.
//!
//! - [`server::WebhookServer`] serves any exodns [`Provider`](exodns_provider::Provider) to
//!   ExternalDNS (`exodns webhook --provider=NAME`): `GET /` (negotiation), `GET /records`,
//!   `POST /records`, `POST /adjustendpoints`, with body limits, timeouts and clear errors;
//!   `/healthz`, `/readyz` and `/metrics` on a separate listener (exodns-telemetry's
//!   `OpsServer`, with the families of [`metrics::ServerMetrics`]).
//! - [`client::WebhookProvider`] is an exodns provider that drives any webhook provider
//!   (`--provider=webhook --webhook-provider-url=…`).
//! - [`wire`] holds the JSON shapes and the decoders both sides use (and the fuzz targets test).
//!
//! The protocol as exodns serves it: `docs/webhook.md`, `docs/webhook-openapi.yaml`.

pub mod client;
mod kind;
pub mod metrics;
pub mod props;
pub mod server;
pub mod wire;

pub use client::{ClientConfig, ClientStats, DEFAULT_URL, WebhookError, WebhookProvider};
pub use kind::{Webhook, WebhookFlags, byte_size};
pub use server::{ServerConfig, ServerError, WebhookServer, shutdown_signal};
pub use wire::MEDIA_TYPE;
