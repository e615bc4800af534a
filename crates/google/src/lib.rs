//! Google Cloud DNS provider of exodns, over the Cloud DNS v1 REST API.
//!
//! - [`GoogleProvider`] implements [`exodns_provider::Provider`]: managed zones and record sets
//!   (paged), `changes.create` in batches of `--google-batch-change-size`, each waited for until
//!   `done`; conflicts (409/412) end the apply softly so that the zone is re-read and re-planned.
//! - [`auth`]: service-account keys (RS256 JWT bearer grant, signed with ring), workload identity
//!   federation (STS token exchange, optional impersonation) and the metadata server
//!   (`GCE_METADATA_HOST`); tokens refreshed before they expire.
//! - [`DnsClient`]: the small REST client under it.

pub mod auth;
mod client;
mod convert;
mod error;
mod kind;
mod model;
mod provider;

pub use client::{ApiError, DnsClient};
pub use convert::DEFAULT_TTL;
pub use error::GoogleError;
pub use kind::{CREDENTIALS_ENV, DEFAULT_ENDPOINT, Google, GoogleArgs, provider};
pub use model::{Change, ManagedZone, RRSet};
pub use provider::{GoogleConfig, GoogleProvider, Visibility};
