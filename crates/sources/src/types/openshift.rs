//! OpenShift (`route.openshift.io`): Routes, with the fields the `openshift-route` source reads.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

const OPENSHIFT_HINT: &str = "run on OpenShift, or install the Route CRD \
     (route/v1/zz_generated.crd-manifests/routes.crd.yaml of github.com/openshift/api), or drop this --source";

/// OpenShift's `Route`. Only its status is read: the routers that admitted it say which host
/// they serve and under which canonical name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenShiftRoute {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OpenShiftRouteStatus>,
}
resource!(OpenShiftRoute, "route.openshift.io", "v1", "Route", "routes");

impl ObjectType for OpenShiftRoute {
    type Stored = Self;
    const RESOURCE: Watched = Watched::OpenShiftRoutes;
    const VERSIONS: &'static [&'static str] = &["v1"];
    const SERVED: Served = Served::IfInstalled { hint: OPENSHIFT_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        // Messages, reasons and times change without changing what the source reads.
        for i in self.status.iter_mut().flat_map(|s| s.ingress.iter_mut()) {
            for c in &mut i.conditions {
                *c = OpenShiftRouteCondition {
                    type_: std::mem::take(&mut c.type_),
                    status: std::mem::take(&mut c.status),
                };
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenShiftRouteStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<OpenShiftRouteIngress>,
}

/// Where one router exposes the Route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenShiftRouteIngress {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub router_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub router_canonical_hostname: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<OpenShiftRouteCondition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenShiftRouteCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

impl OpenShiftRouteIngress {
    /// The router admitted the Route (condition `Admitted` is `True`).
    pub fn admitted(&self) -> bool {
        self.conditions.iter().find(|c| c.type_ == "Admitted").is_some_and(|c| c.status == "True")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceConfig;

    #[test]
    fn decodes_and_strips_what_the_source_reads() {
        let mut r: OpenShiftRoute = serde_saphyr::from_str(
            r#"
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web, namespace: apps}
spec: {host: web.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - host: web.example.org
    routerName: default
    routerCanonicalHostname: router-default.apps.example.net
    wildcardPolicy: None
    conditions: [{type: Admitted, status: "True", lastTransitionTime: "2026-01-01T00:00:00Z"}]
"#,
        )
        .unwrap();
        r.strip(&Strip::new(&SourceConfig::default()));
        let i = &r.status.as_ref().unwrap().ingress[0];
        assert!(i.admitted() && i.router_canonical_hostname == "router-default.apps.example.net");
        assert_eq!(i.conditions, [OpenShiftRouteCondition { type_: "Admitted".into(), status: "True".into() }]);
    }
}
