//! Hetzner DNS provider of exodns, over the Hetzner Cloud API (`/zones`, `/zones/{id}/rrsets`,
//! rrset actions, `/actions`).
//!
//! - [`HetznerProvider`] implements [`exodns_provider::Provider`]: zones and rrsets read with
//!   pagination; writes with rrset create/delete and the `set_records` / `change_ttl` actions,
//!   each action followed to completion with a bounded wait; an action that fails is reported on
//!   its endpoint.
//! - [`client::HzClient`]: retries (429 with `Retry-After`, 5xx, `locked`, transport errors) and
//!   pacing by the `RateLimit-*` headers.
//!
//! The token lives in a [`exodns_core::Secret`] and a sensitive header: no log, `Debug` output or
//! error carries it.
#![forbid(unsafe_code)]

pub mod client;
pub mod kind;
mod model;
mod provider;

pub use kind::{Hetzner, HetznerArgs};
pub use provider::{DEFAULT_ENDPOINT, HetznerConfig, HetznerProvider, MAX_RECORDS};
