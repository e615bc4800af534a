//! Sources of exodns: pure functions from Kubernetes objects to [`exodns_core::Endpoint`]s.
//!
//! Each source kind is described once ([`kind::Source`], listed in [`SourceKind`]) next to its
//! pure function ([`service::endpoints`], [`ingress::endpoints`], [`gateway::endpoints`],
//! [`crd::endpoints`], [`node::endpoints`], [`pod::endpoints`]); each resource they read is
//! described once by its Rust type ([`resource::ObjectType`], listed in [`Watched`]). What a
//! source looks up besides its object comes from a [`ClusterView`]. The manifest reader
//! ([`manifest`]) and the cluster watches (the kube crate) feed the same functions, so `exodns
//! plan` and the controller cannot disagree.
//!
//! Nothing here does I/O except reading manifest files and the connector source's one TCP read
//! per sync ([`connector`], blocking: callers run it off their event loop), and nothing panics on
//! bad input: every
//! malformed value becomes an [`exodns_core::Invalid`] naming the object and the field, and the rest of the
//! object and of the sync goes on.
// `exodns_core::Invalid` is the diagnostic every source returns; it is built on the cold path
// only, so its size in a `Result` does not matter.
#![allow(clippy::result_large_err)]

pub mod ambassador;
pub mod annotations;
pub mod cluster;
mod common;
pub mod compat;
pub mod config;
pub mod connector;
pub mod contour;
pub mod crd;
pub mod direct;
pub mod error;
pub mod f5;
pub mod failover;
pub mod fake;
pub mod flags;
pub mod gateway;
pub mod ingress;
pub mod istio;
pub mod kind;
pub mod manifest;
pub mod node;
pub mod openshift;
pub mod pod;
pub mod post;
pub mod ptr;
pub mod resource;
pub mod selector;
pub mod service;
pub mod store;
pub mod template;
#[cfg(test)]
mod testutil;
pub mod traefik;
pub mod types;
pub mod unstructured;

pub use cluster::{ClusterView, ClusterViewExt, Object, Objects};
pub use config::SourceConfig;
pub use error::Error;
pub use exodns_core::source::SourceOutput;
pub use flags::{Selection, SourceFlags};
pub use kind::{DirectKind, Source, SourceKind, SourceName};
pub use resource::{ObjectType, Watched};
pub use selector::Selector;
pub use template::FqdnTemplate;
