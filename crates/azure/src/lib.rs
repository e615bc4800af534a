//! Azure DNS and Azure Private DNS providers of exodns, over the ARM REST API (api-versions
//! 2018-05-01 and 2024-06-01, as upstream's SDK sends them).
//!
//! - [`AzureProvider`] implements [`exodns_provider::Provider`] for both: zones and record sets
//!   (following `nextLink`), one record set per `PUT`/`DELETE` under `If-Match` /
//!   `If-None-Match`, so a record changed behind exodns's back is never overwritten; `azure-tags`
//!   as record-set metadata.
//! - [`auth`]: client secret, workload identity (federated token → client assertion), managed
//!   identity (instance metadata endpoint); tokens refreshed before they expire.
//! - [`config`]: upstream's `azure.json` and the clouds' endpoints.

pub mod auth;
mod client;
pub mod config;
mod convert;
mod error;
mod kind;
mod provider;

pub use client::{ApiError, ArmClient, Guard};
pub use convert::{DEFAULT_TTL, Flavor, METADATA_KEYS, METADATA_PREFIX, TAGS_PROPERTY};
pub use error::AzureError;
pub use kind::{Azure, AzureArgs, AzureDns, AzurePrivateDns, DEFAULT_CONFIG_FILE, provider};
pub use provider::{AzureProvider, AzureSettings};
