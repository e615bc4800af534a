//! Istio (`networking.istio.io`): Gateways and VirtualServices, with the fields the `istio-*`
//! sources read.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

/// The API group of Istio's networking resources.
pub const ISTIO_GROUP: &str = "networking.istio.io";

const ISTIO_HINT: &str = "install Istio's CRDs (kubernetes/customresourcedefinitions.gen.yaml of istio.io/api, \
     or istioctl install), or drop this --source";

/// Istio's `Gateway` (not the Gateway API's, [`super::Gateway`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IstioGateway {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: IstioGatewaySpec,
}
resource!(IstioGateway, "networking.istio.io", "v1", "Gateway", "gateways");

impl ObjectType for IstioGateway {
    type Stored = Self;
    const RESOURCE: Watched = Watched::IstioGateways;
    // Upstream v0.21+ reads v1; older Istio releases serve the same fields as v1beta1/v1alpha3.
    const VERSIONS: &'static [&'static str] = &["v1", "v1beta1", "v1alpha3"];
    const SERVED: Served = Served::IfInstalled { hint: ISTIO_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IstioGatewaySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<IstioServer>,
    /// Labels of the ingress gateway's pods; Services whose own selector it matches carry the
    /// gateway's addresses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
}

/// One server of a Gateway: only its hosts are read (ports, TLS settings are not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IstioServer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// Istio's `VirtualService`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: VirtualServiceSpec,
}
resource!(VirtualService, "networking.istio.io", "v1", "VirtualService", "virtualservices");

impl ObjectType for VirtualService {
    type Stored = Self;
    const RESOURCE: Watched = Watched::VirtualServices;
    const VERSIONS: &'static [&'static str] = &["v1", "v1beta1", "v1alpha3"];
    const SERVED: Served = Served::IfInstalled { hint: ISTIO_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
    }
}

/// What the source reads of a VirtualService: its hosts, the gateways it binds to, and the
/// namespaces it is exported to (routes, the bulk of a real one, are dropped when decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub export_to: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_the_sources_read() {
        let vs: VirtualService = serde_saphyr::from_str(
            r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: apps}
spec:
  hosts: [web.example.org]
  gateways: [infra/gw, mesh]
  exportTo: ["."]
  http: [{route: [{destination: {host: web}}]}]
"#,
        )
        .unwrap();
        assert_eq!(vs.spec.gateways, ["infra/gw", "mesh"]);
        assert_eq!(vs.spec.export_to, ["."]);
        let gw: IstioGateway = serde_saphyr::from_str(
            "metadata: {name: gw}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"apps/*.example.org\"]\n",
        )
        .unwrap();
        assert_eq!(gw.spec.servers[0].hosts, ["apps/*.example.org"]);
        assert_eq!(gw.spec.selector.get("istio").map(String::as_str), Some("ingressgateway"));
    }
}
