//! PowerDNS Authoritative provider of exodns, over the PowerDNS REST API (`/api/v1`).
//!
//! - [`PdnsProvider`] implements [`exodns_provider::Provider`]: it reads every zone inside the
//!   domain filter (one GET per zone, a few at a time) and writes each zone's changes in one
//!   atomic PATCH, or in ordered chunks under the server's body limit.
//! - [`PdnsClient`] is the small REST client under it (reqwest + rustls with the ring provider,
//!   set up by `exodns-http`).
//! - [`PdnsConfig`] holds the settings; the binary maps upstream's flag names onto it.
//! - With `dns_server` (`--pdns-dns-server`), each LUA record set written is asked once over
//!   DNS, and a SERVFAIL is reported in [`exodns_provider::ApplyReport::not_served`].
//!
//! The API key lives in a [`Secret`]: it is sent as a sensitive header and appears in no log,
//! no `Debug` output and no error.

mod batch;
mod client;
mod config;
mod convert;
mod error;
mod kind;
mod model;
mod provider;
mod servfail;

#[cfg(test)]
mod fake_tests;
#[cfg(test)]
mod tls_tests;

pub use client::{ApiError, PdnsClient, RequestCounter, RequestCounts, RequestEvent, RequestKind, RequestObserver};
pub use config::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_SERVER, DEFAULT_SERVER_ID, DEFAULT_TTL, PdnsConfig, RetryPolicy, Secret,
    TlsSettings,
};
pub use convert::ALIAS_PROPERTY;
pub use error::PdnsError;
pub use kind::{Pdns, PdnsArgs, provider};
pub use model::{RRSet, Record, Zone, ZoneInfo};
pub use provider::{ManagedZone, PdnsProvider};
