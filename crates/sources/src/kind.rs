//! Source kinds, each described once by a type that implements [`Source`] (its `--source` name,
//! the kind in its objects' `resource` labels, what it reads and how the flags filter that, its
//! pure `objects → endpoints` function, which of its objects a change elsewhere affects, and its
//! status writer if it has one), and listed once in [`SourceKind`].
//!
//! A kind reads one resource. A `--source` name that covers several resources (`traefik-proxy`:
//! IngressRoute, IngressRouteTCP and IngressRouteUDP, in two API groups) is several kinds with the
//! same [`Source::NAME`]; [`Source::selected`] says which of them the flags enable. Kinds of one
//! name may share a `resource` label (upstream labels an IngressRoute of either group
//! `ingressroute/ns/name`): the endpoints of such an object are those of every enabled kind that
//! holds it, merged, as upstream merges them.
//!
//! Whatever handles every kind — the manifest reader, the cluster's watches, caches and lookups,
//! RBAC — goes through [`SourceKind::ALL`] and [`SourceKind::visit`]; nothing else names kinds.
//!
//! Kinds that read no cluster objects (`empty`, `fake`, `connector`) are described by
//! [`Direct`] and listed once in `direct_kinds!` ([`DirectKind`]): they have no watches and no
//! RBAC rules, and `--source` takes their names beside the others.

use std::any::Any;
use std::fmt;
use std::str::FromStr;

use exodns_core::ObjectRef;
use exodns_core::source::SourceOutput;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::ClusterView;
use crate::config::SourceConfig;
use crate::direct::{Direct, Reader};
use crate::error::Error;
use crate::f5::F5Source;
use crate::flags::SourceFlags;
use crate::resource::{ObjectType, Watched, is_namespaced};
use crate::traefik::TraefikSource;
use crate::types::{
    F5TransportServer, F5VirtualServer, GRPCRoute, HTTPRoute, IngressRoute, IngressRouteTCP, IngressRouteUDP,
    LegacyIngressRoute, LegacyIngressRouteTCP, LegacyIngressRouteUDP, TCPRoute, TLSRoute, UDPRoute, Unstructured,
};
use crate::unstructured::UnstructuredSource;
use crate::{
    ambassador, connector, contour, crd, direct, failover, fake, gateway, ingress, istio, node, openshift, pod, service,
};

/// A selector or namespace setting of the flags, as a source applies it to the objects of one
/// resource it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every object is read (a dependency, such as the Pods of a headless Service).
    None,
    /// `--label-filter` / `--namespace`.
    Sources,
    /// `--gateway-label-filter` / `--gateway-namespace`.
    Gateways,
}

/// One resource a source reads, and how. A watch applies a filter only when every enabled
/// source that reads the resource applies the same one ([`watch_filters`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub resource: Watched,
    /// Read only once one of the source's objects needs it ([`Source::needs`]).
    pub on_demand: bool,
    /// The label selector the source applies to these objects.
    pub labels: Filter,
    /// The namespace the source limits these objects to.
    pub namespace: Filter,
    /// A field selector no object the source reads fails.
    pub fields: Option<&'static str>,
}

impl Read {
    /// The source's own objects: `--label-filter` and `--namespace` apply.
    pub const fn own(resource: Watched) -> Read {
        Read { resource, on_demand: false, labels: Filter::Sources, namespace: Filter::Sources, fields: None }
    }

    /// Objects the source looks up, unfiltered.
    pub const fn lookup(resource: Watched) -> Read {
        Read { resource, on_demand: false, labels: Filter::None, namespace: Filter::None, fields: None }
    }

    pub const fn on_demand(self) -> Read {
        Read { on_demand: true, ..self }
    }

    pub const fn labels(self, labels: Filter) -> Read {
        Read { labels, ..self }
    }

    pub const fn namespace(self, namespace: Filter) -> Read {
        Read { namespace, ..self }
    }

    pub const fn fields(self, fields: &'static str) -> Read {
        Read { fields: Some(fields), ..self }
    }
}

/// A status a source writes on its objects once their records are published: the JSON merge
/// patch of the status subresource, or `None` when the object already has it.
pub type StatusWriter<K> = fn(&K, &StatusInput<'_>) -> Option<serde_json::Value>;

/// What a status writer knows besides the object.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput<'a> {
    pub cfg: &'a SourceConfig,
    /// The last sync's report of the failover pool the object declares, if any.
    pub pool: Option<&'a exodns_core::failover::pool::PoolReport>,
}

/// A source kind, described once.
pub trait Source: 'static {
    /// The `--source` name (several kinds may share one, see the module's documentation).
    const NAME: &'static str;
    /// The kind in the `resource` label of its endpoints (`service/default/web`).
    const LABEL: &'static str;
    /// The objects it turns into endpoints.
    type Object: ObjectType;
    /// Everything it reads: its own objects first ([`Read::own`]), then what it looks up.
    const READS: &'static [Read];
    /// What it writes on its objects after publishing them, if anything.
    const STATUS: Option<StatusWriter<Self::Object>> = None;

    /// Whether `--source=NAME` enables this kind with these flags (`--traefik-enable-legacy`
    /// adds the legacy group's kinds to `traefik-proxy`).
    fn selected(_flags: &SourceFlags) -> bool {
        true
    }

    /// The endpoints of one object (pure: anything else it needs comes from `view`).
    fn endpoints(object: &Self::Object, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput;

    /// Its objects whose endpoints may differ after `change`, a change to an object of another
    /// resource it reads. (A change to one of its own objects concerns that object only.)
    fn dependents(_change: &Change<'_>, _view: &dyn ClusterView, _cfg: &SourceConfig, _out: &mut Vec<ObjectRef>) {}

    /// The on-demand resources (of [`Source::READS`]) `object`, of any resource it reads, makes
    /// it read. Errs on the side of reading more.
    fn needs(_object: AnyObject<'_>, _cfg: &SourceConfig) -> Vec<Watched> {
        Vec::new()
    }

    /// The kind in the `resource` label: [`Source::LABEL`], unless the resource is chosen at run
    /// time (`unstructured`: the lowercase kind discovery found).
    fn label() -> &'static str {
        Self::LABEL
    }

    /// The reference of one of its objects (its `resource` label).
    fn object_ref(meta: &ObjectMeta) -> ObjectRef {
        let name = meta.name.as_deref().unwrap_or_default();
        if is_namespaced::<Self::Object>() {
            ObjectRef::namespaced(Self::label(), meta.namespace.as_deref().unwrap_or_default(), name)
        } else {
            ObjectRef::cluster(Self::label(), name)
        }
    }
}

/// An object of some resource, borrowed; [`AnyObject::get`] gives it back typed.
#[derive(Clone, Copy)]
pub struct AnyObject<'a> {
    resource: Watched,
    object: &'a (dyn Any + Send + Sync),
}

impl<'a> AnyObject<'a> {
    pub fn new<K: ObjectType>(object: &'a K) -> Self {
        AnyObject { resource: K::RESOURCE, object }
    }

    pub fn resource(&self) -> Watched {
        self.resource
    }

    /// The object, if it is a `K`.
    pub fn get<K: ObjectType>(&self) -> Option<&'a K> {
        self.object.downcast_ref()
    }
}

/// An object of one resource that was added (`old` is `None`), changed, or deleted (`new` is
/// `None`).
#[derive(Clone, Copy)]
pub struct Change<'a> {
    pub old: Option<AnyObject<'a>>,
    pub new: Option<AnyObject<'a>>,
}

impl<'a> Change<'a> {
    pub fn new<K: ObjectType>(old: Option<&'a K>, new: Option<&'a K>) -> Self {
        Change { old: old.map(AnyObject::new), new: new.map(AnyObject::new) }
    }

    pub fn resource(&self) -> Option<Watched> {
        self.new.or(self.old).map(|o| o.resource())
    }

    /// The old and the new object, if they are `K`s.
    pub fn get<K: ObjectType>(&self) -> Option<(Option<&'a K>, Option<&'a K>)> {
        (self.resource() == Some(K::RESOURCE)).then(|| (self.old.and_then(|o| o.get()), self.new.and_then(|o| o.get())))
    }

    /// The new object, or the deleted one, if it is a `K`.
    pub fn either<K: ObjectType>(&self) -> Option<&'a K> {
        self.new.or(self.old).and_then(|o| o.get())
    }
}

/// Something done with one source kind's description, picked at run time by
/// [`SourceKind::visit`].
pub trait SourceVisitor {
    type Output;
    fn visit<S: Source>(self) -> Self::Output;
}

/// Declares [`SourceKind`], its list and its dispatch to the descriptions, from one list.
macro_rules! source_kinds {
    ($($variant:ident => $source:ty),* $(,)?) => {
        /// The source kinds exodns knows (upstream's `--source` names).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum SourceKind {
            $($variant),*
        }

        impl SourceKind {
            pub const ALL: &'static [SourceKind] = &[$(SourceKind::$variant),*];

            /// Calls `v` with the description of this kind.
            pub fn visit<V: SourceVisitor>(self, v: V) -> V::Output {
                match self {
                    $(SourceKind::$variant => v.visit::<$source>()),*
                }
            }
        }
    };
}

source_kinds! {
    Service => service::ServiceSource,
    Ingress => ingress::IngressSource,
    GatewayHttpRoute => gateway::RouteSource<HTTPRoute>,
    GatewayGrpcRoute => gateway::RouteSource<GRPCRoute>,
    GatewayTlsRoute => gateway::RouteSource<TLSRoute>,
    GatewayTcpRoute => gateway::RouteSource<TCPRoute>,
    GatewayUdpRoute => gateway::RouteSource<UDPRoute>,
    Crd => crd::CrdSource,
    Node => node::NodeSource,
    Pod => pod::PodSource,
    IstioGateway => istio::IstioGatewaySource,
    IstioVirtualService => istio::IstioVirtualServiceSource,
    ContourHttpProxy => contour::ContourHttpProxySource,
    Failover => failover::FailoverSource,
    TraefikIngressRoute => TraefikSource<IngressRoute>,
    TraefikIngressRouteTcp => TraefikSource<IngressRouteTCP>,
    TraefikIngressRouteUdp => TraefikSource<IngressRouteUDP>,
    TraefikLegacyIngressRoute => TraefikSource<LegacyIngressRoute>,
    TraefikLegacyIngressRouteTcp => TraefikSource<LegacyIngressRouteTCP>,
    TraefikLegacyIngressRouteUdp => TraefikSource<LegacyIngressRouteUDP>,
    AmbassadorHost => ambassador::AmbassadorHostSource,
    F5VirtualServer => F5Source<F5VirtualServer>,
    F5TransportServer => F5Source<F5TransportServer>,
    OpenShiftRoute => openshift::OpenShiftRouteSource,
    // One kind per resource --unstructured-resource may name (`selected` when it names one).
    Unstructured0 => UnstructuredSource<Unstructured<0>>,
    Unstructured1 => UnstructuredSource<Unstructured<1>>,
    Unstructured2 => UnstructuredSource<Unstructured<2>>,
    Unstructured3 => UnstructuredSource<Unstructured<3>>,
    Unstructured4 => UnstructuredSource<Unstructured<4>>,
    Unstructured5 => UnstructuredSource<Unstructured<5>>,
    Unstructured6 => UnstructuredSource<Unstructured<6>>,
    Unstructured7 => UnstructuredSource<Unstructured<7>>,
}

/// Declares [`DirectKind`] and its dispatch to the descriptions, from one list.
macro_rules! direct_kinds {
    ($($variant:ident => $source:ty),* $(,)?) => {
        /// The source kinds that read no cluster objects (see [`Direct`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DirectKind {
            $($variant),*
        }

        impl DirectKind {
            pub const ALL: &'static [DirectKind] = &[$(DirectKind::$variant),*];

            /// The `--source` name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(DirectKind::$variant => <$source as Direct>::NAME),*
                }
            }

            /// What it reads.
            pub fn reads(self) -> &'static str {
                match self {
                    $(DirectKind::$variant => <$source as Direct>::READS),*
                }
            }

            /// Its reader for these flags.
            pub fn reader(self, cfg: &SourceConfig) -> Result<Box<dyn Reader>, Error> {
                match self {
                    $(DirectKind::$variant => <$source as Direct>::reader(cfg)),*
                }
            }
        }
    };
}

direct_kinds! {
    Empty => direct::EmptySource,
    Fake => fake::FakeSource,
    Connector => connector::ConnectorSource,
}

impl fmt::Display for DirectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts of a description that are plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    pub name: &'static str,
    pub label: &'static str,
    /// The resource of its own objects.
    pub resource: Watched,
    pub reads: &'static [Read],
    /// It writes the status of its objects.
    pub writes_status: bool,
}

struct SpecOf;

impl SourceVisitor for SpecOf {
    type Output = KindSpec;
    fn visit<S: Source>(self) -> KindSpec {
        KindSpec {
            name: S::NAME,
            label: S::label(),
            resource: S::Object::RESOURCE,
            reads: S::READS,
            writes_status: S::STATUS.is_some(),
        }
    }
}

impl SourceKind {
    pub fn spec(self) -> KindSpec {
        self.visit(SpecOf)
    }

    /// The `--source` name.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The kind in the `resource` label of its endpoints.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// How it reads `resource`, if it does.
    pub fn read(self, resource: Watched) -> Option<Read> {
        self.spec().reads.iter().copied().find(|r| r.resource == resource)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Selected<'a>(&'a SourceFlags);

impl SourceVisitor for Selected<'_> {
    type Output = bool;
    fn visit<S: Source>(self) -> bool {
        S::selected(self.0)
    }
}

impl SourceKind {
    /// Whether `--source` with its name enables this kind with `flags`.
    pub fn selected(self, flags: &SourceFlags) -> bool {
        self.visit(Selected(flags))
    }

    /// Every kind of the `--source` name `name`, whatever the flags.
    pub fn named(name: &str) -> impl Iterator<Item = SourceKind> + '_ {
        SourceKind::ALL.iter().copied().filter(move |k| k.as_str() == name)
    }

    /// Every kind whose objects carry `label` (more than one for a label kinds of one name share).
    pub fn with_label(label: &str) -> impl Iterator<Item = SourceKind> + '_ {
        SourceKind::ALL.iter().copied().filter(move |k| k.label() == label)
    }

    /// Every `--source` name of a kind, once, in the order of [`SourceKind::ALL`].
    pub fn names() -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for k in SourceKind::ALL {
            if !out.contains(&k.as_str()) {
                out.push(k.as_str());
            }
        }
        out
    }
}

/// A `--source` value: the name of source kinds, of a kind that reads no cluster objects, or
/// `manifest` (objects from files instead of a cluster, read by the other kinds named, or by all
/// of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceName {
    /// A [`Source::NAME`]: every kind of that name the flags select.
    Kinds(&'static str),
    Direct(DirectKind),
    Manifest,
}

impl SourceName {
    pub const MANIFEST: &'static str = "manifest";

    /// Every value `--source` takes.
    pub fn all() -> impl Iterator<Item = SourceName> {
        SourceKind::names()
            .into_iter()
            .map(SourceName::Kinds)
            .chain(DirectKind::ALL.iter().copied().map(SourceName::Direct))
            .chain([SourceName::Manifest])
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Kinds(n) => n,
            SourceName::Direct(d) => d.as_str(),
            SourceName::Manifest => SourceName::MANIFEST,
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown(name: &str) -> Error {
    Error::UnknownSource {
        name: name.to_owned(),
        known: SourceName::all().map(SourceName::as_str).collect::<Vec<_>>().join(", "),
    }
}

impl FromStr for SourceName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        SourceName::all().find(|n| n.as_str().eq_ignore_ascii_case(t)).ok_or_else(|| unknown(s))
    }
}

/// How the watch of `resource` is filtered when `sources` are enabled: a label selector,
/// namespace and field selector each apply only when every enabled source that reads the
/// resource applies the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchFilters {
    pub labels: Filter,
    pub namespace: Filter,
    pub fields: Option<&'static str>,
}

pub fn watch_filters(sources: &[SourceKind], resource: Watched) -> WatchFilters {
    let reads: Vec<Read> = sources.iter().filter_map(|s| s.read(resource)).collect();
    let common = |f: fn(&Read) -> Filter| match reads.split_first() {
        Some((first, rest)) if rest.iter().all(|r| f(r) == f(first)) => f(first),
        _ => Filter::None,
    };
    let fields = match reads.split_first() {
        Some((first, rest)) if rest.iter().all(|r| r.fields == first.fields) => first.fields,
        _ => None,
    };
    WatchFilters { labels: common(|r| r.labels), namespace: common(|r| r.namespace), fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kind_names() {
        for k in SourceKind::ALL {
            assert_eq!(k.as_str().parse::<SourceName>().unwrap(), SourceName::Kinds(k.as_str()));
            assert!(SourceKind::named(k.as_str()).any(|n| n == *k));
            assert!(SourceKind::with_label(k.label()).any(|n| n == *k));
        }
        assert_eq!("Manifest".parse::<SourceName>().unwrap(), SourceName::Manifest);
        assert_eq!(" service ".parse::<SourceName>().unwrap(), SourceName::Kinds("service"));
        for d in DirectKind::ALL {
            assert_eq!(d.as_str().parse::<SourceName>().unwrap(), SourceName::Direct(*d));
            assert!(SourceKind::named(d.as_str()).next().is_none(), "{d} is also a kind that reads objects");
        }
        assert_eq!("Connector".parse::<SourceName>().unwrap(), SourceName::Direct(DirectKind::Connector));
        let err = "istio-gatway".parse::<SourceName>().unwrap_err().to_string();
        assert!(err.contains("istio-gatway") && err.contains("istio-gateway") && err.contains("manifest"), "{err}");
    }

    /// Every kind has a name, a label, its own objects as its first read, only on-demand reads
    /// of other resources after that, and no read of a cluster-scoped resource by namespace.
    #[test]
    fn every_kind_is_described() {
        for k in SourceKind::ALL {
            let s = k.spec();
            assert!(!s.name.is_empty() && !s.label.is_empty(), "{k:?}");
            assert_eq!(s.reads.first().map(|r| (r.resource, r.on_demand)), Some((s.resource, false)), "{k:?}");
            for (i, r) in s.reads.iter().enumerate() {
                assert!(s.reads[..i].iter().all(|o| o.resource != r.resource), "{k:?} reads {:?} twice", r.resource);
                if !r.resource.namespaced() {
                    assert_eq!(r.namespace, Filter::None, "{k:?}: {:?} has no namespaces", r.resource);
                }
            }
        }
        // Kinds of one name read different resources; a label is shared only within a name.
        for k in SourceKind::ALL {
            let s = k.spec();
            for o in SourceKind::ALL.iter().filter(|o| *o != k) {
                let t = o.spec();
                assert!(s.name != t.name || s.resource != t.resource, "{k:?} and {o:?} read one resource");
                assert!(s.label != t.label || s.name == t.name, "{k:?} and {o:?} share a label, not a name");
            }
        }
    }

    #[test]
    fn watch_filters_apply_only_when_every_reader_agrees() {
        use SourceKind::*;
        let f = |s: &[SourceKind], w| watch_filters(s, w);
        assert_eq!(f(&[Service], Watched::Services).labels, Filter::Sources);
        assert_eq!(f(&[Service], Watched::Pods).labels, Filter::None);
        assert!(f(&[Service], Watched::Pods).fields.is_some(), "the service source reads only running pods");
        assert_eq!(f(&[Service, Pod], Watched::Pods).fields, None);
        assert_eq!(f(&[Pod], Watched::Pods).namespace, Filter::Sources);
        assert_eq!(f(&[Service, Pod], Watched::Pods).labels, Filter::None);
        assert_eq!(f(&[GatewayHttpRoute, GatewayTcpRoute], Watched::Gateways).labels, Filter::Gateways);
        assert_eq!(f(&[GatewayHttpRoute], Watched::Gateways).namespace, Filter::Gateways);
        assert_eq!(f(&[Node, Service], Watched::Nodes).labels, Filter::None);
    }
}
