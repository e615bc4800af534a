//! The custom resources the sources read, with only the fields they use: Gateway API
//! (`gateway.networking.k8s.io`) Gateways and Routes ([`gateway`]), ExternalDNS's
//! `DNSEndpoint` (`externaldns.k8s.io/v1alpha1`, [`dnsendpoint`]), Istio's Gateways and
//! VirtualServices ([`istio`]), exodns's `FailoverRecord` (`exodns.io/v1alpha1`, [`failover`]),
//! Contour's HTTPProxies ([`contour`]), Traefik's router objects ([`traefik`]), Emissary-ingress's
//! Hosts ([`ambassador`]), F5 CIS's VirtualServers and TransportServers ([`f5`]),
//! OpenShift's Routes ([`openshift`]); any resource `--unstructured-resource` names
//! ([`unstructured`]).
//!
//! They decode from JSON and YAML, ignore fields they do not know, and implement
//! `k8s_openapi::Resource` + `Metadata` (what kube-rs needs to watch them) and
//! [`crate::resource::ObjectType`] (what exodns needs). A new group of custom resources is a new
//! module here.

pub mod ambassador;
pub mod contour;
pub mod dnsendpoint;
pub mod f5;
pub mod failover;
pub mod gateway;
pub mod istio;
pub mod listenerset;
pub mod openshift;
pub mod traefik;
pub mod unstructured;

pub use k8s_openapi::api::core::v1::LoadBalancerStatus;
use serde::{Deserialize, Serialize};

pub use ambassador::*;
pub use contour::*;
pub use dnsendpoint::*;
pub use f5::*;
pub use failover::*;
pub use gateway::*;
pub use istio::*;
pub use listenerset::*;
pub use openshift::*;
pub use traefik::*;
pub use unstructured::Unstructured;

/// Implements `k8s_openapi::Resource` and `Metadata` for a namespaced custom resource type with a
/// `metadata` field.
macro_rules! resource {
    ($ty:ident, $group:literal, $version:literal, $kind:expr, $plural:literal) => {
        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $ty {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use resource;

/// A status condition (`metav1.Condition`), lenient: only `type` and `status` are required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Whether `conditions` hold `type_` with status `True`.
pub fn condition_is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().find(|c| c.type_ == type_).is_some_and(|c| c.status == "True")
}

/// How a load balancer entry with both an IP and a host name counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancerTargets {
    /// Both (upstream's Contour, Kong, Skipper, Ambassador and Gloo sources).
    Both,
    /// The IP, else the host name (upstream's Istio sources and `ingress` annotation).
    IpElseHostname,
}

/// The targets a load balancer status gives, in order.
pub fn load_balancer_targets(lb: Option<&LoadBalancerStatus>, how: LoadBalancerTargets) -> Vec<&str> {
    let mut out = Vec::new();
    for i in lb.and_then(|l| l.ingress.as_ref()).into_iter().flatten() {
        let ip = i.ip.as_deref().filter(|s| !s.is_empty());
        let host = i.hostname.as_deref().filter(|s| !s.is_empty());
        match how {
            LoadBalancerTargets::Both => out.extend(ip.into_iter().chain(host)),
            LoadBalancerTargets::IpElseHostname => out.extend(ip.or(host)),
        }
    }
    out
}
