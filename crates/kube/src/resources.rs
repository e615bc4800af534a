//! The Kubernetes resources exodns watches, which sources need which, and discovery of the
//! version the cluster serves.

use std::borrow::Cow;
use std::fmt;

use exodns_sources::SourceKind;
use exodns_sources::types::RouteKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::core::{ApiResource, DynamicResourceScope};
use serde::Serialize;

use crate::error::KubeError;

/// A resource exodns can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Watched {
    Services,
    EndpointSlices,
    Pods,
    Nodes,
    Namespaces,
    Ingresses,
    Gateways,
    HttpRoutes,
    GrpcRoutes,
    TlsRoutes,
    TcpRoutes,
    UdpRoutes,
    DnsEndpoints,
}

const GATEWAY_HINT: &str = "install the Gateway API CRDs (standard channel v1.6 or later serves every route kind as v1; \
     older releases serve TCPRoute, UDPRoute and TLSRoute only in the experimental channel), or drop this --source";
const DNSENDPOINT_HINT: &str = "install ExternalDNS's DNSEndpoint CRD \
     (config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml), or drop --source=crd";

impl Watched {
    pub const ALL: &'static [Watched] = &[
        Watched::Services,
        Watched::EndpointSlices,
        Watched::Pods,
        Watched::Nodes,
        Watched::Namespaces,
        Watched::Ingresses,
        Watched::Gateways,
        Watched::HttpRoutes,
        Watched::GrpcRoutes,
        Watched::TlsRoutes,
        Watched::TcpRoutes,
        Watched::UdpRoutes,
        Watched::DnsEndpoints,
    ];

    pub fn group(self) -> &'static str {
        match self {
            Watched::Services | Watched::Pods | Watched::Nodes | Watched::Namespaces => "",
            Watched::EndpointSlices => "discovery.k8s.io",
            Watched::Ingresses => "networking.k8s.io",
            Watched::Gateways
            | Watched::HttpRoutes
            | Watched::GrpcRoutes
            | Watched::TlsRoutes
            | Watched::TcpRoutes
            | Watched::UdpRoutes => exodns_sources::types::GATEWAY_GROUP,
            Watched::DnsEndpoints => exodns_sources::types::EXTERNALDNS_GROUP,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Watched::Services => "services",
            Watched::EndpointSlices => "endpointslices",
            Watched::Pods => "pods",
            Watched::Nodes => "nodes",
            Watched::Namespaces => "namespaces",
            Watched::Ingresses => "ingresses",
            Watched::Gateways => "gateways",
            Watched::HttpRoutes => "httproutes",
            Watched::GrpcRoutes => "grpcroutes",
            Watched::TlsRoutes => "tlsroutes",
            Watched::TcpRoutes => "tcproutes",
            Watched::UdpRoutes => "udproutes",
            Watched::DnsEndpoints => "dnsendpoints",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Watched::Services => "Service",
            Watched::EndpointSlices => "EndpointSlice",
            Watched::Pods => "Pod",
            Watched::Nodes => "Node",
            Watched::Namespaces => "Namespace",
            Watched::Ingresses => "Ingress",
            Watched::Gateways => "Gateway",
            Watched::HttpRoutes => "HTTPRoute",
            Watched::GrpcRoutes => "GRPCRoute",
            Watched::TlsRoutes => "TLSRoute",
            Watched::TcpRoutes => "TCPRoute",
            Watched::UdpRoutes => "UDPRoute",
            Watched::DnsEndpoints => "DNSEndpoint",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(self, Watched::Nodes | Watched::Namespaces)
    }

    /// The versions exodns can read, most preferred first. Built-in kinds have one; for custom
    /// resources the first one the cluster serves is used.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Watched::Services | Watched::Pods | Watched::Nodes | Watched::Namespaces => &["v1"],
            Watched::EndpointSlices | Watched::Ingresses => &["v1"],
            Watched::Gateways | Watched::HttpRoutes => &["v1", "v1beta1"],
            Watched::GrpcRoutes => &["v1"],
            Watched::TlsRoutes => &["v1", "v1alpha3", "v1alpha2"],
            Watched::TcpRoutes | Watched::UdpRoutes => &["v1", "v1alpha2"],
            Watched::DnsEndpoints => &["v1alpha1"],
        }
    }

    /// Custom resources, whose version is discovered (built-in kinds are served by every
    /// Kubernetes version exodns supports).
    pub fn is_custom(self) -> bool {
        matches!(self.group(), exodns_sources::types::GATEWAY_GROUP | exodns_sources::types::EXTERNALDNS_GROUP)
    }

    /// `services`, `tcproutes.gateway.networking.k8s.io`: the name RBAC and kubectl use.
    pub fn resource_name(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            g => format!("{}.{g}", self.plural()),
        }
    }

    /// What to do when the cluster does not serve this resource.
    pub fn hint(self) -> &'static str {
        match self {
            Watched::DnsEndpoints => DNSENDPOINT_HINT,
            w if w.is_custom() => GATEWAY_HINT,
            _ => "this Kubernetes version is too old for exodns (1.21 or later is needed)",
        }
    }

    /// The API resource at one version.
    pub fn api_resource(self, version: &str) -> ApiResource {
        let group = self.group();
        ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") },
            kind: self.kind().to_owned(),
            plural: self.plural().to_owned(),
        }
    }

    /// The route resource of a route kind.
    pub fn route(kind: RouteKind) -> Watched {
        match kind {
            RouteKind::Http => Watched::HttpRoutes,
            RouteKind::Grpc => Watched::GrpcRoutes,
            RouteKind::Tls => Watched::TlsRoutes,
            RouteKind::Tcp => Watched::TcpRoutes,
            RouteKind::Udp => Watched::UdpRoutes,
        }
    }

    /// What a source always watches (its own objects and fixed dependencies).
    pub fn primary(source: SourceKind) -> &'static [Watched] {
        match source {
            SourceKind::Service => &[Watched::Services],
            SourceKind::Ingress => &[Watched::Ingresses],
            SourceKind::GatewayHttpRoute => &[Watched::HttpRoutes, Watched::Gateways],
            SourceKind::GatewayGrpcRoute => &[Watched::GrpcRoutes, Watched::Gateways],
            SourceKind::GatewayTlsRoute => &[Watched::TlsRoutes, Watched::Gateways],
            SourceKind::GatewayTcpRoute => &[Watched::TcpRoutes, Watched::Gateways],
            SourceKind::GatewayUdpRoute => &[Watched::UdpRoutes, Watched::Gateways],
            SourceKind::Crd => &[Watched::DnsEndpoints],
            SourceKind::Node => &[Watched::Nodes],
            SourceKind::Pod => &[Watched::Pods],
            SourceKind::Manifest => &[],
        }
    }

    /// What a source may come to need, started when an object asks for it (EndpointSlices, Pods
    /// and Nodes for headless and NodePort Services; Nodes for Pods named after their node;
    /// Namespaces for Gateways that select route namespaces by label).
    pub fn on_demand(source: SourceKind) -> &'static [Watched] {
        match source {
            SourceKind::Service => &[Watched::EndpointSlices, Watched::Pods, Watched::Nodes],
            SourceKind::GatewayHttpRoute
            | SourceKind::GatewayGrpcRoute
            | SourceKind::GatewayTlsRoute
            | SourceKind::GatewayTcpRoute
            | SourceKind::GatewayUdpRoute => &[Watched::Namespaces],
            SourceKind::Pod => &[Watched::Nodes],
            _ => &[],
        }
    }

    /// The source kinds that read objects of a route resource.
    pub fn route_kind(self) -> Option<RouteKind> {
        Some(match self {
            Watched::HttpRoutes => RouteKind::Http,
            Watched::GrpcRoutes => RouteKind::Grpc,
            Watched::TlsRoutes => RouteKind::Tls,
            Watched::TcpRoutes => RouteKind::Tcp,
            Watched::UdpRoutes => RouteKind::Udp,
            _ => return None,
        })
    }
}

impl fmt::Display for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource_name())
    }
}

/// Finds the version of `w` the cluster serves: the first of [`Watched::versions`] whose
/// discovery document lists the resource. Built-in kinds are not asked about.
pub async fn discover(client: &Client, w: Watched) -> Result<ApiResource, KubeError> {
    if !w.is_custom() {
        return Ok(w.api_resource(w.versions()[0]));
    }
    for v in w.versions() {
        let gv = format!("{}/{v}", w.group());
        match client.list_api_group_resources(&gv).await {
            Ok(list) => {
                if list.resources.iter().any(|r| r.name == w.plural()) {
                    tracing::debug!(resource = %w, version = v, "discovered");
                    return Ok(w.api_resource(v));
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(KubeError::from_kube(&e)),
        }
    }
    Err(KubeError::NotServed { resource: w.resource_name(), versions: w.versions().join(", "), hint: w.hint() })
}

/// A typed object whose API version is chosen at run time (what discovery found): kube-rs's
/// `Api` over any of the object types the sources read.
/// Decoded without managedFields and kubectl's last-applied annotation (`crate::decode`).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Obj<K>(pub K);

impl<K> kube::Resource for Obj<K>
where
    K: k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn meta(&self) -> &ObjectMeta {
        self.0.metadata()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.metadata_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(Watched::TcpRoutes.resource_name(), "tcproutes.gateway.networking.k8s.io");
        assert_eq!(Watched::Services.resource_name(), "services");
        assert_eq!(Watched::TcpRoutes.versions()[0], "v1");
        let ar = Watched::EndpointSlices.api_resource("v1");
        assert_eq!(ar.api_version, "discovery.k8s.io/v1");
        assert_eq!(Watched::Pods.api_resource("v1").api_version, "v1");
        assert!(Watched::DnsEndpoints.is_custom() && !Watched::Ingresses.is_custom());
        for s in SourceKind::ALL {
            for w in Watched::primary(*s).iter().chain(Watched::on_demand(*s)) {
                assert!(Watched::ALL.contains(w));
            }
        }
    }
}
