//! Traefik (`traefik.io`, and the legacy `traefik.containo.us` of Traefik v2): IngressRoutes,
//! IngressRouteTCPs and IngressRouteUDPs, with the fields the `traefik-proxy` source reads. The
//! two groups serve the same schema, so one type per (group, kind) is declared by one macro.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::resource;
use crate::resource::{ObjectType, Served, Strip, Watched};

const TRAEFIK_HINT: &str = "install Traefik's CRDs (docs/content/reference/dynamic-configuration/traefik.io_*.yaml of \
     github.com/traefik/traefik/v3), or drop this --source (or use --traefik-disable-new)";
const LEGACY_HINT: &str = "install Traefik v2's traefik.containo.us CRDs \
     (docs/content/reference/dynamic-configuration/traefik.containo.us_*.yaml of github.com/traefik/traefik/v2), \
     or drop --traefik-enable-legacy";

/// The routes of a Traefik router object: each rule (`match`) names its hosts. A UDP route has
/// no rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraefikRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<TraefikRoute>,
}

/// One route; only its rule is read (services, middlewares and TLS are dropped when decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraefikRoute {
    #[serde(default, rename = "match", skip_serializing_if = "String::is_empty")]
    pub match_: String,
}

/// A Traefik router object of either group and kind.
pub trait TraefikObject: ObjectType {
    /// The kind in the `resource` label, as upstream writes it (`ingressroute/ns/name`).
    const LABEL: &'static str;
    /// Of the legacy `traefik.containo.us` group.
    const LEGACY: bool;
    /// Its rules name hosts (not for UDP, whose routes have none).
    const RULES: bool;
    fn meta(&self) -> &ObjectMeta;
    fn spec(&self) -> &TraefikRouteSpec;
}

macro_rules! traefik_objects {
    ($($ty:ident: $group:literal, $kind:literal, $plural:literal, $watched:ident, $label:literal, $legacy:expr, $rules:expr, $hint:expr;)*) => {$(
        #[doc = concat!("Traefik's `", $kind, "` of `", $group, "`.")]
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $ty {
            #[serde(default)]
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: TraefikRouteSpec,
        }
        resource!($ty, $group, "v1alpha1", $kind, $plural);

        impl ObjectType for $ty {
            type Stored = Self;
            const RESOURCE: Watched = Watched::$watched;
            const VERSIONS: &'static [&'static str] = &["v1alpha1"];
            const SERVED: Served = Served::IfInstalled { hint: $hint };

            fn strip(&mut self, s: &Strip) {
                self.metadata = s.meta(std::mem::take(&mut self.metadata));
                if !$rules {
                    self.spec = TraefikRouteSpec::default();
                }
            }
        }

        impl TraefikObject for $ty {
            const LABEL: &'static str = $label;
            const LEGACY: bool = $legacy;
            const RULES: bool = $rules;
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn spec(&self) -> &TraefikRouteSpec {
                &self.spec
            }
        }
    )*};
}

// type: group, kind, plural, its line in `Watched`, label, legacy, rules name hosts, hint
traefik_objects! {
    IngressRoute: "traefik.io", "IngressRoute", "ingressroutes", TraefikIngressRoutes, "ingressroute", false, true, TRAEFIK_HINT;
    IngressRouteTCP: "traefik.io", "IngressRouteTCP", "ingressroutetcps", TraefikIngressRouteTcps, "ingressroutetcp", false, true, TRAEFIK_HINT;
    IngressRouteUDP: "traefik.io", "IngressRouteUDP", "ingressrouteudps", TraefikIngressRouteUdps, "ingressrouteudp", false, false, TRAEFIK_HINT;
    LegacyIngressRoute: "traefik.containo.us", "IngressRoute", "ingressroutes", LegacyTraefikIngressRoutes, "ingressroute", true, true, LEGACY_HINT;
    LegacyIngressRouteTCP: "traefik.containo.us", "IngressRouteTCP", "ingressroutetcps", LegacyTraefikIngressRouteTcps, "ingressroutetcp", true, true, LEGACY_HINT;
    LegacyIngressRouteUDP: "traefik.containo.us", "IngressRouteUDP", "ingressrouteudps", LegacyTraefikIngressRouteUdps, "ingressrouteudp", true, false, LEGACY_HINT;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_the_source_reads() {
        let r: IngressRoute = serde_saphyr::from_str(
            r#"
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: apps}
spec:
  entryPoints: [websecure]
  routes:
  - {match: "Host(`web.example.org`) && PathPrefix(`/`)", kind: Rule, services: [{name: web, port: 80}]}
  - {kind: Rule, services: [{name: web, port: 80}]}
  tls: {secretName: web}
"#,
        )
        .unwrap();
        assert_eq!(r.spec.routes.len(), 2);
        assert_eq!(r.spec.routes[0].match_, "Host(`web.example.org`) && PathPrefix(`/`)");
        assert!(r.spec.routes[1].match_.is_empty());
        let u: LegacyIngressRouteUDP = serde_saphyr::from_str(
            "apiVersion: traefik.containo.us/v1alpha1\nkind: IngressRouteUDP\nmetadata: {name: dns}\nspec: {routes: [{services: [{name: dns, port: 53}]}]}\n",
        )
        .unwrap();
        assert_eq!(u.spec.routes.len(), 1);
    }
}
