//! RFC2136 provider of exodns: DNS dynamic UPDATE (RFC 2136) signed with TSIG (RFC 8945), zones
//! read by AXFR, over TCP or DNS over TLS. Works with BIND, Knot and any server that takes
//! signed updates.
//!
//! - [`Rfc2136Provider`] implements [`exodns_provider::Provider`]. It reads each
//!   `--rfc2136-zone` by AXFR and writes each zone's changes in UPDATE messages of whole groups
//!   (a record with its ownership TXT), each guarded by prerequisites built from what was read,
//!   and reads every written record set back: a server that answers NOERROR and drops an
//!   update is caught and the record reported.
//! - [`Rfc2136Config`] holds the settings; [`Rfc2136`] maps upstream's flags onto it.
//!
//! The TSIG secret lives in a [`tsig::TsigKey`] whose `Debug` hides it; no error carries it.
#![forbid(unsafe_code)]

mod client;
mod config;
mod convert;
mod error;
mod kind;
mod provider;
pub mod tsig;
mod update;
mod wire;
mod zone;

#[cfg(test)]
mod server_tests;

pub use config::{DEFAULT_BATCH_CHANGE_SIZE, DEFAULT_TTL, MAX_MESSAGE, Rfc2136Config, Strategy, TlsSettings};
pub use error::Rfc2136Error;
pub use kind::{Rfc2136, Rfc2136Args, config, provider};
pub use provider::{MessageCounts, Rfc2136Provider};
