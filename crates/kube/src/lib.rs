//! exodns's Kubernetes side — the only crate that talks to the apiserver.
//!
//! - [`client`]: where the configuration comes from (`--kubeconfig`, `--server`, in-cluster)
//!   and a client held to `--kube-api-qps`/`--kube-api-burst`/`--kube-api-request-timeout`
//!   ([`KubeSettings`], [`connect`]).
//! - [`resources`]: discovery of the version the cluster serves of a resource the sources read
//!   ([`Watched`]; Gateway API routes: v1 first, older versions only when that is all the cluster
//!   has).
//! - [`KubeSource`]: the watches of the enabled sources (what each reads, how the flags filter
//!   it, which objects a change affects: the source kinds' descriptions in `exodns_sources`),
//!   their caches as the sources' `ClusterView`, and the controller's `ObjectSource` with change
//!   events. Every watched object is cut down to the fields the sources read before it is kept.
//! - [`dnsrecord`]: the DNSRecord store of `--registry=crd` (upstream v0.23's CRD registry).
//! - [`leader`]: leader election on a Lease, with a fence that stops writes in time.
//! - [`rbac`]: the ClusterRole rules each source needs, from its description
//!   (`deploy/rbac/clusterrole.yaml` and the Helm chart are checked against them).

pub mod client;
mod decode;
pub mod dnsrecord;
pub mod error;
mod events;
pub mod leader;
mod list_split;
pub mod rbac;
pub mod resources;
mod source;

pub use client::{KubeClient, KubeSettings, WatchStart, client_from_config, connect, load_config};
pub use error::KubeError;
pub use exodns_sources::Watched;
pub use resources::discover;
pub use source::{KubeSource, WatchStatus};
