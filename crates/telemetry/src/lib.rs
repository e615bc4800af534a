//! What exodns tells its operators: Prometheus metrics (upstream ExternalDNS's `external_dns_*`
//! names where they apply, `exodns_*` for what upstream lacks) and the `/healthz`, `/readyz`,
//! `/metrics` endpoints.

mod metrics;
mod process;
mod server;

pub use metrics::{Metrics, MetricsText, SyncKind, SyncSummary, encode_registry, register_build_info};
pub use server::{Check, HealthChecks, OpsServer, listen_address};
