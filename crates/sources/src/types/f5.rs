//! F5 BIG-IP Container Ingress Services (`cis.f5.com`): VirtualServers and TransportServers, with
//! the fields the `f5-virtualserver` and `f5-transportserver` sources read.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

const F5_HINT: &str = "install F5 CIS's CRDs (docs/config_examples/customResourceDefinitions/customresourcedefinitions.yml \
     of github.com/F5Networks/k8s-bigip-ctlr/v2), or drop this --source";

/// What BIG-IP reports of a virtual server: the address it got (`None` until it has one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct F5Status {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vs_address: String,
}

/// What the sources read of a VirtualServer or a TransportServer spec (pools, TLS, policies are
/// dropped when decoded; a TransportServer has no `hostAliases`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct F5Spec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub virtual_server_address: String,
}

/// An F5 object either source reads.
pub trait F5Object: ObjectType {
    /// Its kind in the `resource` label and its `--source` name (upstream's).
    const NAME: &'static str;
    fn meta(&self) -> &ObjectMeta;
    fn spec(&self) -> &F5Spec;
    fn status(&self) -> Option<&F5Status>;
}

macro_rules! f5_objects {
    ($($ty:ident: $kind:literal, $plural:literal, $watched:ident, $name:literal;)*) => {$(
        #[doc = concat!("F5 CIS's `", $kind, "`.")]
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $ty {
            #[serde(default)]
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: F5Spec,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<F5Status>,
        }
        resource!($ty, "cis.f5.com", "v1", $kind, $plural);

        impl ObjectType for $ty {
            type Stored = Self;
            const RESOURCE: Watched = Watched::$watched;
            const VERSIONS: &'static [&'static str] = &["v1"];
            const SERVED: Served = Served::IfInstalled { hint: F5_HINT };

            fn strip(&mut self, s: &Strip) {
                self.metadata = s.meta(std::mem::take(&mut self.metadata));
            }
        }

        impl F5Object for $ty {
            const NAME: &'static str = $name;
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn spec(&self) -> &F5Spec {
                &self.spec
            }
            fn status(&self) -> Option<&F5Status> {
                self.status.as_ref()
            }
        }
    )*};
}

// type: kind, plural, its line in `Watched`, source name
f5_objects! {
    F5VirtualServer: "VirtualServer", "virtualservers", F5VirtualServers, "f5-virtualserver";
    F5TransportServer: "TransportServer", "transportservers", F5TransportServers, "f5-transportserver";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_the_sources_read() {
        let vs: F5VirtualServer = serde_saphyr::from_str(
            r#"
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: web, namespace: apps}
spec:
  host: web.example.org
  hostAliases: [www.example.org]
  virtualServerAddress: 192.0.2.1
  pools: [{path: /, service: web, servicePort: 80}]
status: {vsAddress: 192.0.2.1, status: Ok}
"#,
        )
        .unwrap();
        assert_eq!(vs.spec.host_aliases, ["www.example.org"]);
        assert_eq!(vs.status.map(|s| s.vs_address).as_deref(), Some("192.0.2.1"));
        let ts: F5TransportServer = serde_saphyr::from_str(
            "metadata: {name: db}\nspec: {virtualServerAddress: 192.0.2.2, virtualServerPort: 5432, host: db.example.org, pool: {service: db, servicePort: 5432}}\n",
        )
        .unwrap();
        assert_eq!((ts.spec.host.as_str(), ts.spec.virtual_server_address.as_str()), ("db.example.org", "192.0.2.2"));
    }
}
