//! Contour (`projectcontour.io`): HTTPProxies, with the fields the `contour-httpproxy` source
//! reads.

use k8s_openapi::api::core::v1::LoadBalancerStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

const CONTOUR_HINT: &str = "install Contour's CRDs (examples/contour/01-crds.yaml of github.com/projectcontour/contour), \
     or drop this --source";

/// Contour's `HTTPProxy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPProxy {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: HTTPProxySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HTTPProxyStatus>,
}
resource!(HTTPProxy, "projectcontour.io", "v1", "HTTPProxy", "httpproxies");

impl ObjectType for HTTPProxy {
    type Stored = Self;
    const RESOURCE: Watched = Watched::HttpProxies;
    const VERSIONS: &'static [&'static str] = &["v1"];
    const SERVED: Served = Served::IfInstalled { hint: CONTOUR_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
    }
}

/// What the source reads of an HTTPProxy: its virtual host (routes and includes are dropped
/// when decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HTTPProxySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<VirtualHost>,
}

/// The host name an HTTPProxy serves (a root proxy has one; an included one has none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualHost {
    #[serde(default)]
    pub fqdn: String,
}

/// The load balancer Contour's Envoy is reached through, as Contour writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPProxyStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_the_source_reads() {
        let hp: HTTPProxy = serde_saphyr::from_str(
            r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: web, namespace: apps}
spec:
  virtualhost: {fqdn: web.example.org, tls: {secretName: web}}
  routes: [{services: [{name: web, port: 80}]}]
status:
  currentStatus: valid
  loadBalancer: {ingress: [{ip: 192.0.2.1}, {hostname: lb.example.net}]}
"#,
        )
        .unwrap();
        assert_eq!(hp.spec.virtualhost.map(|v| v.fqdn).as_deref(), Some("web.example.org"));
        let lb = hp.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap();
        assert_eq!(lb[1].hostname.as_deref(), Some("lb.example.net"));
    }
}
