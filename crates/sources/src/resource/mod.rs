//! The Kubernetes resources the sources read, each described once: by its Rust type, which
//! implements [`ObjectType`] (the versions exodns reads, whether every cluster serves it, and how
//! an object is cut down to what the sources read), and by one line in the list of [`Watched`].
//!
//! Everything that handles objects of any resource — the manifest decoder, the cluster's
//! watches and caches, RBAC — goes through [`Watched::ALL`] and [`Watched::visit`], so a resource
//! that is listed is handled everywhere, and one that is not listed cannot be read.
//!
//! Every watched object is cut down by [`ObjectType::strip`] before it enters a cache. Metadata
//! keeps name, namespace, uid, labels (label filters, selectors and templates read them) and the
//! annotations exodns reads: those under `external-dns.kubernetes.io/`,
//! `external-dns.alpha.kubernetes.io/` and `--annotation-prefix`, `kubernetes.io/ingress.class`,
//! and any key `--annotation-filter` names (all of them when `--fqdn-template` or
//! `--fqdn-target-template` reads `.Annotations`). Gone: managedFields,
//! `kubectl.kubernetes.io/last-applied-configuration`, resourceVersion, timestamps, owner
//! references, finalizers.

mod builtin;
mod compact;
pub mod decode;

use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserializer, Serialize};

use crate::annotations::{DEFAULT_PREFIX, LEGACY_PREFIX};
use crate::config::{INGRESS_CLASS_ANNOTATION, SourceConfig};
use crate::selector::Selector;
use crate::types::{
    AmbassadorHost, DNSEndpoint, F5TransportServer, F5VirtualServer, FailoverRecord, GRPCRoute, Gateway, HTTPProxy,
    HTTPRoute, IngressRoute, IngressRouteTCP, IngressRouteUDP, IstioGateway, LegacyIngressRoute, LegacyIngressRouteTCP,
    LegacyIngressRouteUDP, ListenerSet, OpenShiftRoute, TCPRoute, TLSRoute, UDPRoute, Unstructured, VirtualService,
};

/// Whether a cluster serves a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Built in: every Kubernetes version exodns supports serves it; not asked about.
    Always,
    /// A custom resource: its version is discovered, and a cluster without it is told `hint`
    /// (what to install) in the error of the sources that read it.
    IfInstalled { hint: &'static str },
    /// Chosen at run time (`--unstructured-resource`): what it is comes from
    /// [`ObjectType::chosen`]; discovered at exactly the version chosen, `hint` when not served.
    Chosen { hint: &'static str },
}

/// A Rust type of the objects of one resource. Implemented once per type, next to the type.
pub trait ObjectType:
    k8s_openapi::Resource<Scope: 'static>
    + k8s_openapi::Metadata<Ty = ObjectMeta>
    + DeserializeOwned
    + Serialize
    + Clone
    + fmt::Debug
    + PartialEq
    + Send
    + Sync
    + 'static
{
    /// Its line in [`Watched`].
    const RESOURCE: Watched;
    /// The versions exodns reads, most preferred first; for a custom resource, the first one
    /// the cluster serves is used.
    const VERSIONS: &'static [&'static str];
    /// Whether every cluster serves it.
    const SERVED: Served;

    /// What a cache keeps of each stripped object: the object itself, or for a resource a
    /// cluster has thousands of objects of (Services), a compact form rebuilt when read.
    type Stored: StoredForm<Self>;

    /// Cuts the object down to what the sources read (see the module's documentation).
    fn strip(&mut self, s: &Strip);

    /// For a resource chosen at run time ([`Served::Chosen`]): what it is, once chosen.
    fn chosen() -> Option<ResourceSpec> {
        None
    }

    /// Decodes an object as the apiserver sends it, to be stripped next: whole but for
    /// managedFields and the last-applied annotation ([`decode::filtered`]); a type may skip
    /// more of what its `strip` drops while parsing.
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decode::filtered(d)
    }

    /// Whether two stripped versions make the same endpoints for every object.
    fn same(a: &Self, b: &Self) -> bool {
        a == b
    }
}

/// The form a cache keeps stripped objects of `K` in; `load(&Arc::new(store(o))) == o`.
pub trait StoredForm<K>: fmt::Debug + PartialEq + Send + Sync + Sized + 'static {
    fn store(object: K) -> Self;
    /// The object as the sources read it.
    fn load(stored: &Arc<Self>) -> Arc<K>;
}

/// Objects kept as they are: loading one is a reference count.
impl<K: ObjectType<Stored = K>> StoredForm<K> for K {
    fn store(object: K) -> K {
        object
    }
    fn load(stored: &Arc<K>) -> Arc<K> {
        stored.clone()
    }
}

/// Something done with the Rust type of a resource, picked at run time by [`Watched::visit`].
pub trait ResourceVisitor {
    type Output;
    fn visit<K: ObjectType>(self) -> Self::Output;
}

/// Declares [`Watched`], its list and its dispatch to the Rust types, from one list.
macro_rules! watched {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        /// A resource the sources read (and so a cluster source watches).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Watched {
            $($variant),*
        }

        impl Watched {
            pub const ALL: &'static [Watched] = &[$(Watched::$variant),*];

            /// Calls `v` with the Rust type of this resource.
            pub fn visit<V: ResourceVisitor>(self, v: V) -> V::Output {
                match self {
                    $(Watched::$variant => v.visit::<$ty>()),*
                }
            }
        }
    };
}

watched! {
    Services => Service,
    EndpointSlices => EndpointSlice,
    Pods => Pod,
    Nodes => Node,
    Namespaces => Namespace,
    Ingresses => Ingress,
    Gateways => Gateway,
    HttpRoutes => HTTPRoute,
    GrpcRoutes => GRPCRoute,
    TlsRoutes => TLSRoute,
    TcpRoutes => TCPRoute,
    UdpRoutes => UDPRoute,
    ListenerSets => ListenerSet,
    DnsEndpoints => DNSEndpoint,
    IstioGateways => IstioGateway,
    VirtualServices => VirtualService,
    HttpProxies => HTTPProxy,
    FailoverRecords => FailoverRecord,
    TraefikIngressRoutes => IngressRoute,
    TraefikIngressRouteTcps => IngressRouteTCP,
    TraefikIngressRouteUdps => IngressRouteUDP,
    LegacyTraefikIngressRoutes => LegacyIngressRoute,
    LegacyTraefikIngressRouteTcps => LegacyIngressRouteTCP,
    LegacyTraefikIngressRouteUdps => LegacyIngressRouteUDP,
    AmbassadorHosts => AmbassadorHost,
    F5VirtualServers => F5VirtualServer,
    F5TransportServers => F5TransportServer,
    OpenShiftRoutes => OpenShiftRoute,
    Unstructured0 => Unstructured<0>,
    Unstructured1 => Unstructured<1>,
    Unstructured2 => Unstructured<2>,
    Unstructured3 => Unstructured<3>,
    Unstructured4 => Unstructured<4>,
    Unstructured5 => Unstructured<5>,
    Unstructured6 => Unstructured<6>,
    Unstructured7 => Unstructured<7>,
}

/// What discovery, watches, manifests and RBAC need to know of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSpec {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    /// Most preferred first.
    pub versions: &'static [&'static str],
    pub namespaced: bool,
    pub served: Served,
}

/// Whether objects of `K` live in namespaces.
pub fn is_namespaced<K: ObjectType>() -> bool {
    match K::chosen() {
        Some(spec) => spec.namespaced,
        None => TypeId::of::<K::Scope>() == TypeId::of::<k8s_openapi::NamespaceResourceScope>(),
    }
}

struct SpecOf;

impl ResourceVisitor for SpecOf {
    type Output = ResourceSpec;
    fn visit<K: ObjectType>(self) -> ResourceSpec {
        if let Some(spec) = K::chosen() {
            return spec;
        }
        ResourceSpec {
            group: K::GROUP,
            kind: K::KIND,
            plural: K::URL_PATH_SEGMENT,
            versions: K::VERSIONS,
            namespaced: is_namespaced::<K>(),
            served: K::SERVED,
        }
    }
}

impl Watched {
    pub fn spec(self) -> ResourceSpec {
        self.visit(SpecOf)
    }

    pub fn group(self) -> &'static str {
        self.spec().group
    }

    pub fn plural(self) -> &'static str {
        self.spec().plural
    }

    pub fn kind(self) -> &'static str {
        self.spec().kind
    }

    pub fn namespaced(self) -> bool {
        self.spec().namespaced
    }

    /// The versions exodns can read, most preferred first.
    pub fn versions(self) -> &'static [&'static str] {
        self.spec().versions
    }

    /// A custom resource, or one chosen at run time: its version is discovered.
    pub fn is_custom(self) -> bool {
        !matches!(self.spec().served, Served::Always)
    }

    /// Chosen at run time (`--unstructured-resource`): no static RBAC rule covers it.
    pub fn is_chosen(self) -> bool {
        matches!(self.spec().served, Served::Chosen { .. })
    }

    /// What to do when the cluster does not serve this resource.
    pub fn hint(self) -> &'static str {
        match self.spec().served {
            Served::IfInstalled { hint } | Served::Chosen { hint } => hint,
            Served::Always => "this Kubernetes version is too old for exodns (1.21 or later is needed)",
        }
    }

    /// `services`, `tcproutes.gateway.networking.k8s.io`: the name RBAC and kubectl use.
    pub fn resource_name(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            g => format!("{}.{g}", self.plural()),
        }
    }

    /// `v1`, `gateway.networking.k8s.io/v1`: the `apiVersion` of `version`.
    pub fn api_version(self, version: &str) -> String {
        match self.group() {
            "" => version.to_owned(),
            g => format!("{g}/{version}"),
        }
    }

    /// The resource objects of `apiVersion` and `kind` belong to: for a built-in resource, at
    /// the version exodns reads; for a custom one, at any version.
    pub fn of(api_version: &str, kind: &str) -> Option<Watched> {
        Watched::ALL
            .iter()
            .copied()
            .find(|w| {
                let spec = w.spec();
                spec.kind == kind
                    && match spec.served {
                        Served::Always => spec.versions.iter().any(|v| w.api_version(v) == api_version),
                        Served::IfInstalled { .. } => {
                            api_version.rsplit_once('/').is_some_and(|(g, _)| g == spec.group)
                        }
                        Served::Chosen { .. } => false,
                    }
            })
            .or_else(|| Watched::chosen_of(api_version, kind))
    }

    /// The chosen resource (`--unstructured-resource`) objects of `apiVersion` and `kind`
    /// belong to: at exactly the version chosen, of the kind discovery found, or before
    /// discovery (a manifest) of the plural `kind` + `s`, which then becomes its kind.
    fn chosen_of(api_version: &str, kind: &str) -> Option<Watched> {
        let w = Watched::ALL.iter().copied().find(|w| {
            let spec = w.spec();
            matches!(spec.served, Served::Chosen { .. })
                && w.api_version(spec.versions[0]) == api_version
                && if spec.kind.is_empty() {
                    spec.plural == format!("{}s", kind.to_lowercase())
                } else {
                    spec.kind == kind
                }
        })?;
        if w.kind().is_empty() {
            crate::types::unstructured::learn(w, kind, true);
        }
        Some(w)
    }
}

impl fmt::Display for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource_name())
    }
}

/// Which annotations survive [`ObjectType::strip`].
#[derive(Debug, Clone)]
pub struct Strip {
    prefixes: Vec<String>,
    annotation_filter: Selector,
    keep_all_annotations: bool,
}

impl Strip {
    pub fn new(cfg: &SourceConfig) -> Self {
        let mut prefixes = vec![DEFAULT_PREFIX.to_owned(), LEGACY_PREFIX.to_owned()];
        if !prefixes.contains(&cfg.annotation_prefix) {
            prefixes.push(cfg.annotation_prefix.clone());
        }
        // A template may read any annotation (`.Annotations.x`, `index .Annotations $k`,
        // `.Metadata.annotations`), also without naming them (`{{range .Metadata}}`, `.Object`).
        let reads_annotations = |t: &str| {
            let t = t.to_lowercase();
            ["annotations", ".metadata", ".object"].iter().any(|w| t.contains(w))
        };
        let keep_all_annotations = [&cfg.fqdn_template, &cfg.fqdn_target_template, &cfg.target_template]
            .iter()
            .any(|t| t.as_ref().is_some_and(|t| reads_annotations(t.as_str())));
        Strip { prefixes, annotation_filter: cfg.annotation_filter.clone(), keep_all_annotations }
    }

    /// Whether an annotation is kept.
    pub fn keep_annotation(&self, key: &str) -> bool {
        self.keep_all_annotations
            || key == INGRESS_CLASS_ANNOTATION
            || self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
            || self.annotation_filter.mentions(key)
    }

    fn annotations(&self, a: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
        let kept: BTreeMap<String, String> = a?.into_iter().filter(|(k, _)| self.keep_annotation(k)).collect();
        (!kept.is_empty()).then_some(kept)
    }

    /// Metadata reduced to what the sources read.
    pub fn meta(&self, m: ObjectMeta) -> ObjectMeta {
        ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            // Kubernetes Events name the object they regard by uid too.
            uid: m.uid,
            labels: m.labels.filter(|l| !l.is_empty()),
            annotations: self.annotations(m.annotations),
            ..ObjectMeta::default()
        }
    }

    /// [`Strip::meta`] keeping the generation, for objects whose status exodns writes:
    /// `status.observedGeneration` acknowledges it.
    pub fn meta_with_generation(&self, m: ObjectMeta) -> ObjectMeta {
        let generation = m.generation;
        ObjectMeta { generation, ..self.meta(m) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ResourceOf;
    impl ResourceVisitor for ResourceOf {
        type Output = Watched;
        fn visit<K: ObjectType>(self) -> Watched {
            K::RESOURCE
        }
    }

    /// Each line of the list names the type that says it is that line, and every resource has
    /// a name, a plural and versions; a custom resource says what to install.
    #[test]
    fn every_resource_is_described() {
        for w in Watched::ALL {
            assert_eq!(w.visit(ResourceOf), *w, "the type listed for {w:?} says it is another resource");
            let s = w.spec();
            assert!(!s.kind.is_empty() && !s.plural.is_empty() && !s.versions.is_empty(), "{w:?}");
            match s.served {
                Served::IfInstalled { hint } => {
                    assert!(!s.group.is_empty() && hint.contains("install"), "{w:?}: {hint}")
                }
                Served::Chosen { hint } => assert!(hint.contains("--unstructured-resource"), "{w:?}: {hint}"),
                Served::Always => {}
            }
        }
        let mut names: Vec<String> = Watched::ALL.iter().map(|w| w.resource_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Watched::ALL.len(), "two resources with one name");
    }

    #[test]
    fn names_and_versions() {
        assert_eq!(Watched::TcpRoutes.resource_name(), "tcproutes.gateway.networking.k8s.io");
        assert_eq!(Watched::Services.resource_name(), "services");
        assert_eq!(Watched::TcpRoutes.versions()[0], "v1");
        assert_eq!(Watched::EndpointSlices.api_version("v1"), "discovery.k8s.io/v1");
        assert_eq!(Watched::Pods.api_version("v1"), "v1");
        assert!(Watched::DnsEndpoints.is_custom() && !Watched::Ingresses.is_custom());
        assert!(!Watched::Nodes.namespaced() && !Watched::Namespaces.namespaced() && Watched::Pods.namespaced());
        assert_eq!(Watched::of("v1", "Service"), Some(Watched::Services));
        assert_eq!(Watched::of("v2", "Service"), None);
        assert_eq!(Watched::of("extensions/v1beta1", "Ingress"), None);
        assert_eq!(Watched::of("gateway.networking.k8s.io/v1beta1", "HTTPRoute"), Some(Watched::HttpRoutes));
        assert_eq!(Watched::of("v1", "ConfigMap"), None);
    }
}
