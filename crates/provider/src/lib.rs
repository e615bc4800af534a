//! The one door between the planner and a DNS service.
//!
//! Every backend (PowerDNS, a webhook, the in-memory store, the clouds) implements [`Provider`].
//! Batching, ordering and retries that a backend needs live inside its adapter; what comes out is
//! the same for all: the records, and what a change set did.

mod error;
pub mod grouping;
pub mod inmemory;
mod kind;
pub mod store;
pub mod zones;

use async_trait::async_trait;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DomainFilter, Endpoint};

pub use error::ProviderError;
pub use kind::{BuildError, ProviderContext, ProviderInfo, ProviderKind, TlsFiles, secret_from};
pub use store::{Loaded, OwnershipStore, Refused};

/// The records of a provider, and the zones it could not read this time.
///
/// Names under an unreadable zone must be left alone by the caller: an absent record there means
/// "unknown", not "gone".
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub endpoints: Vec<Endpoint>,
    pub unreadable_zones: Vec<ZoneFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFailure {
    /// Zone name without the trailing dot.
    pub zone: String,
    pub reason: String,
}

/// What an apply did not do. Everything in the change set that is not listed here was applied.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub rejected: Vec<Rejected>,
    /// Applied, but not served: record sets the DNS server answers SERVFAIL for right after
    /// the write (PowerDNS takes LUA records it cannot run; see `--pdns-dns-server`).
    pub not_served: Vec<NotServed>,
}

/// A record set the provider wrote that its DNS server cannot answer.
#[derive(Debug, Clone)]
pub struct NotServed {
    pub endpoint: Endpoint,
    /// The question asked and what came back (`app.example.org A: SERVFAIL`).
    pub detail: String,
}

impl ApplyReport {
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// A change the provider refused, with its reason (a 422 message, "no zone for this name", …).
#[derive(Debug, Clone)]
pub struct Rejected {
    pub endpoint: Endpoint,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// No zone of this provider holds the name.
    NoZone,
    /// The DNS service refused this record set (its message).
    Refused(String),
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::NoZone => f.write_str("no zone of the provider holds this name"),
            RejectReason::Refused(msg) => f.write_str(msg),
        }
    }
}

/// A DNS backend.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short name for logs and metrics: `pdns`, `inmemory`, `webhook`.
    fn name(&self) -> &str;

    /// The domains this provider serves; the planner ignores names outside them.
    fn domain_filter(&self) -> DomainFilter {
        DomainFilter::default()
    }

    /// The zones this provider writes to, as last read; `None` when it cannot tell (a webhook).
    /// The registry keeps each ownership TXT in the zone of the record it owns.
    fn zones(&self) -> Option<ZoneIndex> {
        None
    }

    /// Every record set the provider holds (ownership TXT records included).
    async fn records(&self) -> Result<Records, ProviderError>;

    /// Applies a change set. Record sets the service refuses are reported, the rest applied;
    /// an `Err` means nothing is known to have been applied.
    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError>;

    /// Whether the provider keeps records with a set identifier apart (routing policies:
    /// weighted, latency, failover…). PowerDNS does not: a set-identified record there is
    /// reported and not published, instead of being merged with its siblings.
    fn routing_policies(&self) -> bool {
        true
    }

    /// Brings desired endpoints into the form this provider stores, so that planning compares
    /// like with like (upstream's `AdjustEndpoints`).
    async fn adjust_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        Ok(endpoints)
    }
}
