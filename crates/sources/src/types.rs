//! The custom resources the sources read, with only the fields they use: Gateway API
//! (`gateway.networking.k8s.io`) Gateways and Routes, and ExternalDNS's `DNSEndpoint`
//! (`externaldns.k8s.io/v1alpha1`).
//!
//! They decode from JSON and YAML, ignore fields they do not know, and implement
//! `k8s_openapi::Resource` + `Metadata`, which is what kube-rs needs to watch them.

use std::collections::BTreeMap;

use exodns_core::ProviderSpecific;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

/// The API group of the Gateway API.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// The API group of `DNSEndpoint`.
pub const EXTERNALDNS_GROUP: &str = "externaldns.k8s.io";

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
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

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

// ---------------------------------------------------------------------------------------------
// Gateway

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: GatewaySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GatewayStatus>,
}
resource!(Gateway, "gateway.networking.k8s.io", "v1", "Gateway", "gateways");

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub gateway_class_name: String,
    #[serde(default)]
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default)]
    pub port: i32,
    #[serde(default)]
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_routes: Option<AllowedRoutes>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<RouteNamespaces>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<RouteGroupKind>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// `Same` (default), `All` or `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteGroupKind {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    #[serde(default)]
    pub addresses: Vec<GatewayStatusAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatusAddress {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// Routes

/// `spec` of every route kind, as far as the sources read it (TCP and UDP routes have no
/// hostnames).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    #[serde(default)]
    pub parent_refs: Vec<ParentReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    #[serde(default)]
    pub parents: Vec<RouteParentStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    pub parent_ref: ParentReference,
    #[serde(default)]
    pub controller_name: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// The route kinds exodns reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    Http,
    Grpc,
    Tls,
    Tcp,
    Udp,
}

impl RouteKind {
    /// The `kind` of the object (`HTTPRoute`).
    pub fn kind(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Grpc => "GRPCRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Tcp => "TCPRoute",
            RouteKind::Udp => "UDPRoute",
        }
    }

    /// The `apiVersion` exodns reads the kind with (as upstream v0.22 does).
    pub fn api_version(self) -> &'static str {
        match self {
            RouteKind::Tcp | RouteKind::Udp => "gateway.networking.k8s.io/v1alpha2",
            _ => "gateway.networking.k8s.io/v1",
        }
    }

    /// The kind in the `resource` label (`httproute/ns/name`).
    pub fn label(self) -> &'static str {
        match self {
            RouteKind::Http => "httproute",
            RouteKind::Grpc => "grpcroute",
            RouteKind::Tls => "tlsroute",
            RouteKind::Tcp => "tcproute",
            RouteKind::Udp => "udproute",
        }
    }

    /// The listener protocol the route speaks (GRPC counts as HTTPS, as upstream has it).
    pub fn protocol(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTP",
            RouteKind::Grpc => "HTTPS",
            RouteKind::Tls => "TLS",
            RouteKind::Tcp => "TCP",
            RouteKind::Udp => "UDP",
        }
    }
}

/// What every route kind offers to the gateway source.
pub trait GatewayRoute {
    fn route_kind(&self) -> RouteKind;
    fn meta(&self) -> &ObjectMeta;
    fn route_spec(&self) -> &RouteSpec;
    fn route_status(&self) -> Option<&RouteStatus>;
}

macro_rules! route {
    ($(#[$doc:meta])* $ty:ident, $kind:expr, $version:literal, $plural:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $ty {
            #[serde(default)]
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: RouteSpec,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<RouteStatus>,
        }
        resource!($ty, "gateway.networking.k8s.io", $version, stringify!($ty), $plural);

        impl GatewayRoute for $ty {
            fn route_kind(&self) -> RouteKind {
                $kind
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn route_spec(&self) -> &RouteSpec {
                &self.spec
            }
            fn route_status(&self) -> Option<&RouteStatus> {
                self.status.as_ref()
            }
        }
    };
}

route!(
    /// `HTTPRoute` (v1).
    HTTPRoute, RouteKind::Http, "v1", "httproutes"
);
route!(
    /// `GRPCRoute` (v1).
    GRPCRoute, RouteKind::Grpc, "v1", "grpcroutes"
);
route!(
    /// `TLSRoute` (v1; older clusters serve v1alpha2, which has the same fields).
    TLSRoute, RouteKind::Tls, "v1", "tlsroutes"
);
route!(
    /// `TCPRoute` (v1alpha2, as upstream v0.22 watches it).
    TCPRoute, RouteKind::Tcp, "v1alpha2", "tcproutes"
);
route!(
    /// `UDPRoute` (v1alpha2, as upstream v0.22 watches it).
    UDPRoute, RouteKind::Udp, "v1alpha2", "udproutes"
);

// ---------------------------------------------------------------------------------------------
// DNSEndpoint

/// ExternalDNS's `DNSEndpoint` custom resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpoint {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DNSEndpointSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DNSEndpointStatus>,
}
resource!(DNSEndpoint, "externaldns.k8s.io", "v1alpha1", "DNSEndpoint", "dnsendpoints");

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointSpec {
    #[serde(default)]
    pub endpoints: Vec<DNSEndpointEntry>,
}

/// One record of a `DNSEndpoint`, as written: nothing is checked until the source reads it, so
/// one bad entry never hides the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointEntry {
    #[serde(default)]
    pub dns_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default)]
    pub record_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set_identifier: String,
    #[serde(rename = "recordTTL", default, skip_serializing_if = "Option::is_none")]
    pub record_ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_specific: Vec<ProviderSpecific>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DNSEndpointStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_yaml_and_json() {
        let yaml = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: https}]
  hostnames: [web.example.org]
  rules: [{backendRefs: [{name: web, port: 80}]}]
status:
  parents:
  - parentRef: {name: gw, namespace: infra}
    controllerName: example.net/gateway
    conditions: [{type: Accepted, status: "True"}]
"#;
        let r: HTTPRoute = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(r.spec.parent_refs[0].section_name.as_deref(), Some("https"));
        assert!(condition_is_true(&r.status.as_ref().unwrap().parents[0].conditions, "Accepted"));
        let json = serde_json::to_string(&r).unwrap();
        let back: HTTPRoute = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(<TCPRoute as k8s_openapi::Resource>::API_VERSION, "gateway.networking.k8s.io/v1alpha2");
    }

    #[test]
    fn dns_endpoint_entry_fields() {
        let e: DNSEndpoint = serde_json::from_str(
            r#"{"metadata":{"name":"x"},"spec":{"endpoints":[{"dnsName":"a.example.org","targets":["1.2.3.4"],"recordType":"A","recordTTL":60,"providerSpecific":[{"name":"p","value":"v"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(e.spec.endpoints[0].record_ttl, Some(60));
        assert_eq!(e.spec.endpoints[0].provider_specific[0].name, "p");
    }
}
