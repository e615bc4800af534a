//! Sources of exodns: pure functions from Kubernetes objects to [`Endpoint`]s.
//!
//! One function per source turns one object into endpoints ([`service::endpoints`],
//! [`ingress::endpoints`], [`gateway::endpoints`], [`crd::endpoints`], [`node::endpoints`],
//! [`pod::endpoints`]); what a source looks up besides that object comes from a
//! [`ClusterView`]. The manifest reader ([`manifest`]) and the cluster watches (the kube crate)
//! feed the same functions, so `exodns plan` and the controller cannot disagree.
//!
//! Nothing here does I/O except reading manifest files, and nothing panics on bad input: every
//! malformed value becomes an [`Invalid`] naming the object and the field, and the rest of the
//! object and of the sync goes on.
#![forbid(unsafe_code)]
// `exodns_core::Invalid` is the diagnostic every source returns; it is built on the cold path
// only, so its size in a `Result` does not matter.
#![allow(clippy::result_large_err)]

pub mod annotations;
pub mod cluster;
mod common;
pub mod config;
pub mod crd;
pub mod error;
pub mod gateway;
pub mod ingress;
pub mod manifest;
pub mod node;
pub mod pod;
pub mod selector;
pub mod service;
pub mod template;
#[cfg(test)]
mod testutil;
pub mod types;

use std::fmt;
use std::str::FromStr;

pub use cluster::{ClusterView, Object, Objects};
pub use config::{SourceConfig, SourceFlags};
pub use error::Error;
pub use exodns_core::source::SourceOutput;
pub use selector::Selector;
pub use template::FqdnTemplate;

/// The sources exodns knows, with upstream's `--source` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Service,
    Ingress,
    GatewayHttpRoute,
    GatewayGrpcRoute,
    GatewayTlsRoute,
    GatewayTcpRoute,
    GatewayUdpRoute,
    Crd,
    Node,
    Pod,
    /// Objects from manifest files (`--manifest`), handled by the binary: it reads the files with
    /// [`manifest::load`] and runs the other sources over them.
    Manifest,
}

impl SourceKind {
    pub const ALL: &'static [SourceKind] = &[
        SourceKind::Service,
        SourceKind::Ingress,
        SourceKind::GatewayHttpRoute,
        SourceKind::GatewayGrpcRoute,
        SourceKind::GatewayTlsRoute,
        SourceKind::GatewayTcpRoute,
        SourceKind::GatewayUdpRoute,
        SourceKind::Crd,
        SourceKind::Node,
        SourceKind::Pod,
        SourceKind::Manifest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Service => "service",
            SourceKind::Ingress => "ingress",
            SourceKind::GatewayHttpRoute => "gateway-httproute",
            SourceKind::GatewayGrpcRoute => "gateway-grpcroute",
            SourceKind::GatewayTlsRoute => "gateway-tlsroute",
            SourceKind::GatewayTcpRoute => "gateway-tcproute",
            SourceKind::GatewayUdpRoute => "gateway-udproute",
            SourceKind::Crd => "crd",
            SourceKind::Node => "node",
            SourceKind::Pod => "pod",
            SourceKind::Manifest => "manifest",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        SourceKind::ALL.iter().copied().find(|k| k.as_str().eq_ignore_ascii_case(t)).ok_or_else(|| {
            Error::UnknownSource {
                name: s.to_owned(),
                known: SourceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kind_names() {
        for k in SourceKind::ALL {
            assert_eq!(k.as_str().parse::<SourceKind>().unwrap(), *k);
        }
        let err = "istio-gateway".parse::<SourceKind>().unwrap_err().to_string();
        assert!(
            err.contains("istio-gateway") && err.contains("gateway-httproute") && err.contains("manifest"),
            "{err}"
        );
    }
}
