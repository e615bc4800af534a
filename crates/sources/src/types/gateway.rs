//! Gateway API (`gateway.networking.k8s.io`): Gateways and the route kinds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

use super::{Condition, resource};
use crate::resource::{ObjectType, Served, Strip, Watched};

/// The API group of the Gateway API.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

const GATEWAY_HINT: &str = "install the Gateway API CRDs (standard channel v1.6 or later serves every route kind as v1; \
     older releases serve TCPRoute, UDPRoute and TLSRoute only in the experimental channel), or drop this --source";

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

impl ObjectType for Gateway {
    type Stored = Self;
    const RESOURCE: Watched = Watched::Gateways;
    const VERSIONS: &'static [&'static str] = &["v1", "v1beta1"];
    const SERVED: Served = Served::IfInstalled { hint: GATEWAY_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        self.spec.gateway_class_name = String::new();
        if let Some(st) = &mut self.status {
            st.conditions = Vec::new();
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub gateway_class_name: String,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Which namespaces' ListenerSets may attach (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_listeners: Option<AllowedListeners>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedListeners {
    /// `from`: `None` (default), `Same`, `All` or `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<RouteNamespaces>,
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
    pub const fn kind(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTPRoute",
            RouteKind::Grpc => "GRPCRoute",
            RouteKind::Tls => "TLSRoute",
            RouteKind::Tcp => "TCPRoute",
            RouteKind::Udp => "UDPRoute",
        }
    }

    /// The `apiVersion` exodns reads the kind with (as upstream v0.22 does).
    pub const fn api_version(self) -> &'static str {
        match self {
            RouteKind::Tcp | RouteKind::Udp => "gateway.networking.k8s.io/v1alpha2",
            RouteKind::Http | RouteKind::Grpc | RouteKind::Tls => "gateway.networking.k8s.io/v1",
        }
    }

    /// The kind in the `resource` label (`httproute/ns/name`).
    pub const fn label(self) -> &'static str {
        match self {
            RouteKind::Http => "httproute",
            RouteKind::Grpc => "grpcroute",
            RouteKind::Tls => "tlsroute",
            RouteKind::Tcp => "tcproute",
            RouteKind::Udp => "udproute",
        }
    }

    /// Its `--source` name (`gateway-httproute`).
    pub const fn source_name(self) -> &'static str {
        match self {
            RouteKind::Http => "gateway-httproute",
            RouteKind::Grpc => "gateway-grpcroute",
            RouteKind::Tls => "gateway-tlsroute",
            RouteKind::Tcp => "gateway-tcproute",
            RouteKind::Udp => "gateway-udproute",
        }
    }

    /// The listener protocol the route speaks (GRPC counts as HTTPS, as upstream has it).
    pub const fn protocol(self) -> &'static str {
        match self {
            RouteKind::Http => "HTTP",
            RouteKind::Grpc => "HTTPS",
            RouteKind::Tls => "TLS",
            RouteKind::Tcp => "TCP",
            RouteKind::Udp => "UDP",
        }
    }
}

/// Route status cut down to what the gateway source reads: the `Accepted` condition of each
/// parent.
fn strip_route_status(status: &mut Option<RouteStatus>) {
    for p in status.iter_mut().flat_map(|s| s.parents.iter_mut()) {
        p.conditions.retain(|c| c.type_ == "Accepted");
        for c in &mut p.conditions {
            c.reason = None;
            c.message = None;
            c.observed_generation = None;
            c.last_transition_time = None;
        }
    }
}

/// What every route kind offers to the gateway source.
pub trait GatewayRoute: ObjectType {
    const ROUTE_KIND: RouteKind;
    fn meta(&self) -> &ObjectMeta;
    fn route_spec(&self) -> &RouteSpec;
    fn route_status(&self) -> Option<&RouteStatus>;
}

macro_rules! route {
    ($(#[$doc:meta])* $ty:ident, $kind:expr, $resource:ident, $version:literal, $plural:literal, $versions:expr) => {
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

        impl ObjectType for $ty {
            type Stored = Self;
            const RESOURCE: Watched = Watched::$resource;
            const VERSIONS: &'static [&'static str] = $versions;
            const SERVED: Served = Served::IfInstalled { hint: GATEWAY_HINT };

            fn strip(&mut self, s: &Strip) {
                self.metadata = s.meta(std::mem::take(&mut self.metadata));
                strip_route_status(&mut self.status);
            }
        }

        impl GatewayRoute for $ty {
            const ROUTE_KIND: RouteKind = $kind;
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
    HTTPRoute, RouteKind::Http, HttpRoutes, "v1", "httproutes", &["v1", "v1beta1"]
);
route!(
    /// `GRPCRoute` (v1).
    GRPCRoute, RouteKind::Grpc, GrpcRoutes, "v1", "grpcroutes", &["v1"]
);
route!(
    /// `TLSRoute` (v1; older clusters serve v1alpha2, which has the same fields).
    TLSRoute, RouteKind::Tls, TlsRoutes, "v1", "tlsroutes", &["v1", "v1alpha3", "v1alpha2"]
);
route!(
    /// `TCPRoute` (v1alpha2, as upstream v0.22 watches it).
    TCPRoute, RouteKind::Tcp, TcpRoutes, "v1alpha2", "tcproutes", &["v1", "v1alpha2"]
);
route!(
    /// `UDPRoute` (v1alpha2, as upstream v0.22 watches it).
    UDPRoute, RouteKind::Udp, UdpRoutes, "v1alpha2", "udproutes", &["v1", "v1alpha2"]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::condition_is_true;

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
}
