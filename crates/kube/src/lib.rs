//! exodns's Kubernetes side — the only crate that talks to the apiserver.
//!
//! - [`client`]: where the configuration comes from (`--kubeconfig`, `--server`, in-cluster)
//!   and a client held to `--kube-api-qps`/`--kube-api-burst`/`--kube-api-request-timeout`
//!   ([`KubeSettings`], [`connect`]).
//! - [`resources`]: what exodns watches ([`Watched`]), which sources need what, and discovery
//!   of the version the cluster serves (Gateway API routes: v1 first, older versions only when
//!   that is all the cluster has).
//! - [`strip`]: every watched object is cut down to the fields the sources read.
//! - [`KubeSource`]: the watches of the enabled sources, their caches as the sources'
//!   `ClusterView`, and the controller's `ObjectSource` with change events.
//! - [`leader`]: leader election on a Lease, with a fence that stops writes in time.
//! - [`rbac`]: the ClusterRole rules each source needs (`deploy/rbac/clusterrole.yaml`).
#![forbid(unsafe_code)]

mod cache;
pub mod client;
mod decode;
pub mod error;
mod events;
pub mod leader;
pub mod rbac;
pub mod resources;
mod source;
pub mod strip;

pub use client::{KubeClient, KubeSettings, WatchStart, client_from_config, connect, load_config};
pub use error::KubeError;
pub use resources::{Watched, discover};
pub use source::{KubeSource, WatchStatus, object_kind};
