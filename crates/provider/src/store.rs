//! Where a table registry keeps its entries (`--registry=crd`: DNSRecord objects in the cluster;
//! `--registry=dynamodb`: a DynamoDB table). The registry itself
//! ([`exodns_core::registry::TableRegistry`]) does no I/O; the controller reads the store before
//! planning and writes it around the provider's apply.

use async_trait::async_trait;
use exodns_core::endpoint::EndpointKey;
use exodns_core::registry::{OwnershipTable, TableWrite};

use crate::ProviderError;

/// What a store read: the entries of our owner, and the ones it had to leave out.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub table: OwnershipTable,
    /// One message per entry that could not be read, naming it and the field: such an entry
    /// owns nothing (its record is foreign, and left alone).
    pub invalid: Vec<String>,
}

/// A claim the store refused: another owner holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub key: EndpointKey,
    /// The owner that holds it ("" when the store does not say).
    pub owner: String,
}

/// The outcome of the provider's apply for the claims and updates written before it.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Releases to write: records the provider deleted, entries whose record is gone.
    pub releases: Vec<EndpointKey>,
    /// Claims and updates the provider applied.
    pub applied: Vec<EndpointKey>,
    /// Claims and updates the provider refused or could not apply, with why.
    pub failed: Vec<(EndpointKey, String)>,
}

impl Outcome {
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty() && self.applied.is_empty() && self.failed.is_empty()
    }
}

/// A store of ownership entries. Errors are [`ProviderError`]s named after the store
/// (`dynamodb`, `crd`): transient ones are retried at the next sync.
#[async_trait]
pub trait OwnershipStore: Send + Sync {
    /// Where the entries are, for logs: `DynamoDB table external-dns`.
    fn describe(&self) -> String;

    /// Every entry of our owner.
    async fn load(&self) -> Result<Loaded, ProviderError>;

    /// Writes the claims and updates among `writes` before the provider applies them; returns
    /// the claims refused because another owner holds their key. On `Err` nothing is applied.
    async fn prepare(&self, writes: &[TableWrite]) -> Result<Vec<Refused>, ProviderError>;

    /// After the provider's apply: the releases, and (where the store records it) whether
    /// each claim and update reached the provider.
    async fn finish(&self, outcome: &Outcome) -> Result<(), ProviderError>;
}
