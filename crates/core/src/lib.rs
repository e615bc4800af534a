//! The heart of exodns: what a DNS record is, which records we want, and what must change.
//!
//! Everything here is a value or a pure function. No async runtime, no Kubernetes client, no
//! HTTP: sources turn objects into [`Endpoint`]s, providers read and write them, and the
//! controller wires them through [`plan`] and [`registry`].

pub mod changes;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod failover;
pub mod filter;
pub mod labels;
pub mod name;
pub mod object;
pub mod observe;
pub mod plan;
pub mod record_type;
pub mod registry;
pub mod secret;
pub mod source;
pub mod spelling;
pub mod target;
pub mod zones;

pub use changes::Changes;
pub use endpoint::{Endpoint, Labels, ProviderSpecific, Ttl};
pub use error::{Invalid, InvalidKind, error_chain};
pub use filter::DomainFilter;
pub use name::DnsName;
pub use object::ObjectRef;
pub use record_type::RecordType;
pub use secret::Secret;
pub use target::Targets;
