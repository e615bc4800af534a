//! Cloudflare DNS provider of exodns, over Cloudflare's v4 API.
//!
//! - [`CloudflareProvider`] implements [`exodns_provider::Provider`]: it lists the zones (paged,
//!   filtered by the domain and zone-id filters) and their records (paged), and writes each
//!   zone's changes through the DNS records **batch** endpoint — one transaction per request,
//!   cut under the batch limit, a record and its ownership TXT in the same request. A refused
//!   batch is split until the refused record stands alone: it is reported, the rest applied.
//! - [`CfClient`] is the REST client under it: retries (429 with `Retry-After`, 5xx, transport
//!   errors, with backoff and jitter) and Cloudflare's documented request rate.
//! - [`kind`] maps upstream's flags and environment variables (`CF_API_TOKEN`, `CF_API_KEY`,
//!   `CF_API_EMAIL`, `CLOUDFLARE_BASE_URL`) onto [`CloudflareConfig`].
//!
//! Credentials live in [`exodns_core::Secret`]s and sensitive headers: no log, `Debug` output or
//! error carries them.
#![forbid(unsafe_code)]

mod batch;
mod client;
mod config;
mod convert;
mod error;
pub mod kind;
mod model;
mod provider;

#[cfg(test)]
mod fixture_tests;

pub use client::CfClient;
pub use config::{CloudflareConfig, Credentials, CustomHostnames, DEFAULT_BASE_URL, DEFAULT_BATCH_SIZE, RATE_LIMIT};
pub use convert::{CUSTOM_HOSTNAME, PROXIED, RECORD_COMMENT, REGION_KEY, TAGS, canonical_property};
pub use error::CloudflareError;
pub use exodns_http::ApiError;
pub use kind::{Cloudflare, CloudflareArgs};
pub use provider::{CloudflareProvider, ManagedZone};
