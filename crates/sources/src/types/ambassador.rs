//! Ambassador / Emissary-ingress (`getambassador.io`): Hosts, with the fields the
//! `ambassador-host` source reads.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

/// The annotation of a Host naming the Service whose load balancer gives its targets (a plain
/// key, outside the annotation prefix, as upstream spells it).
pub const AMBASSADOR_SERVICE_ANNOTATION: &str = "external-dns.ambassador-service";

const AMBASSADOR_HINT: &str = "install Emissary-ingress's CRDs (manifests/emissary/emissary-crds.yaml.in of \
     github.com/emissary-ingress/emissary/v3, with its emissary-apiext conversion webhook), or drop this --source";

/// Emissary-ingress's `Host`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AmbassadorHost {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<AmbassadorHostSpec>,
}
resource!(AmbassadorHost, "getambassador.io", "v3alpha1", "Host", "hosts");

impl ObjectType for AmbassadorHost {
    type Stored = Self;
    const RESOURCE: Watched = Watched::AmbassadorHosts;
    // Upstream reads v3alpha1 only (v2, the storage version, is served too but not read).
    const VERSIONS: &'static [&'static str] = &["v3alpha1"];
    const SERVED: Served = Served::IfInstalled { hint: AMBASSADOR_HINT };

    fn strip(&mut self, s: &Strip) {
        // The Service annotation is outside the prefixes `Strip` keeps.
        let service = self.metadata.annotations.as_ref().and_then(|a| a.get(AMBASSADOR_SERVICE_ANNOTATION)).cloned();
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
        if let Some(v) = service {
            self.metadata.annotations.get_or_insert_default().insert(AMBASSADOR_SERVICE_ANNOTATION.to_owned(), v);
        }
    }
}

/// What the source reads of a Host: its host name (TLS, ACME and mapping selectors are dropped
/// when decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmbassadorHostSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceConfig;

    #[test]
    fn decodes_and_keeps_the_service_annotation() {
        let mut h: AmbassadorHost = serde_saphyr::from_str(
            r#"
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata:
  name: web
  namespace: apps
  annotations: {external-dns.ambassador-service: emissary/lb, other.example/x: y}
spec:
  hostname: web.example.org
  acmeProvider: {authority: none}
  tlsSecret: {name: web}
"#,
        )
        .unwrap();
        h.strip(&Strip::new(&SourceConfig::default()));
        assert_eq!(h.spec.as_ref().map(|s| s.hostname.as_str()), Some("web.example.org"));
        let ann = h.metadata.annotations.unwrap();
        assert_eq!(ann.get(AMBASSADOR_SERVICE_ANNOTATION).map(String::as_str), Some("emissary/lb"));
        assert!(!ann.contains_key("other.example/x"));
    }
}
