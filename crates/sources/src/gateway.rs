//! The Gateway API route sources: `gateway-httproute`, `-grpcroute`, `-tlsroute`, `-tcproute`,
//! `-udproute`.
//!
//! A route is published through each parent Gateway that lists it in `status.parents` with
//! `Accepted=True` and that the route also names in `spec.parentRefs`. Within that Gateway, the
//! listeners picked by `sectionName` and `port` must speak the route's protocol, allow the
//! route's namespace and kind, and have a hostname that intersects the route's (upstream's
//! `gwMatchingHost`). Targets come from the Gateway's `target` annotation, else its
//! `status.addresses`; every other annotation (hostname, ttl, set-identifier, provider-specific)
//! comes from the route.
//!
//! With `--gateway-listener-sets` a parent may also be a ListenerSet: attached when its parent
//! Gateway allows ListenerSets from its namespace (`spec.allowedListeners`, none by default) and
//! it is `Accepted`; its listeners count when `status.listeners` accepts them; "Same namespace"
//! means the ListenerSet's; targets come from its `target` annotation, else the Gateway's.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::IpAddr;

use exodns_core::{DnsName, Invalid, InvalidKind, ObjectRef};
use k8s_openapi::api::core::v1::Namespace;

use crate::SourceOutput;
use crate::annotations::{Annotations, GATEWAY_HOSTNAME_SOURCE, HOSTNAME, HostnameSource, TARGET, target_list};
use crate::cluster::{ClusterView, ClusterViewExt, namespace_of};
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{AnyObject, Change, Filter, Read, Source};
use crate::resource::Watched;
use crate::selector::Selector;
use crate::types::{
    GATEWAY_GROUP, Gateway, GatewayRoute, Listener, ListenerSet, ParentReference, RouteKind, RouteNamespaces,
    RouteParentStatus, condition_is_true,
};

/// The source of one route kind (`gateway-httproute`, …).
pub struct RouteSource<R>(PhantomData<R>);

impl<R: GatewayRoute> Source for RouteSource<R> {
    const NAME: &'static str = R::ROUTE_KIND.source_name();
    const LABEL: &'static str = R::ROUTE_KIND.label();
    type Object = R;
    const READS: &'static [Read] = &[
        Read::own(R::RESOURCE),
        Read::lookup(Watched::Gateways).labels(Filter::Gateways).namespace(Filter::Gateways),
        Read::lookup(Watched::Namespaces).on_demand(),
        Read::lookup(Watched::ListenerSets).on_demand(),
    ];

    fn endpoints(route: &R, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(route, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        if let Some(ns) = change.either::<Namespace>() {
            // Routes of the namespace: a Gateway's allowedRoutes may select it by label.
            let ns = ns.metadata.name.as_deref().unwrap_or_default();
            out.extend(view.list::<R>(Some(ns)).iter().map(|r| Self::object_ref(r.meta())));
        } else if let Some(gw) = change.either::<Gateway>() {
            // Routes that name the Gateway as a parent, in their spec or their status, or a
            // ListenerSet of it.
            let gw_ns = gw.metadata.namespace.as_deref().unwrap_or_default();
            let gw_name = gw.metadata.name.as_deref().unwrap_or_default();
            let mut parents = vec![("Gateway", gw_ns.to_owned(), gw_name.to_owned())];
            if cfg.gateway_listener_sets {
                for ls in view.list::<ListenerSet>(None) {
                    let (ns, name) = listener_set_gateway(&ls);
                    if ns == gw_ns && name == gw_name {
                        parents.push(("ListenerSet", namespace_of(&ls.metadata).to_owned(), meta_name(&ls.metadata)));
                    }
                }
            }
            Self::routes_naming(view, &parents, out);
        } else if let Some(ls) = change.either::<ListenerSet>() {
            let parent = ("ListenerSet", namespace_of(&ls.metadata).to_owned(), meta_name(&ls.metadata));
            Self::routes_naming(view, &[parent], out);
        }
    }

    fn needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
        let mut out = Vec::new();
        if object.get::<Gateway>().is_some_and(selects_namespaces) {
            out.push(Watched::Namespaces);
        }
        if cfg.gateway_listener_sets && object.get::<R>().is_some() {
            out.push(Watched::ListenerSets);
        }
        out
    }
}

impl<R: GatewayRoute> RouteSource<R> {
    /// Routes that name one of `parents` (kind, namespace, name), in their spec or their status.
    fn routes_naming(view: &dyn ClusterView, parents: &[(&str, String, String)], out: &mut Vec<ObjectRef>) {
        for r in view.list::<R>(None) {
            let route_ns = r.meta().namespace.as_deref().unwrap_or_default();
            let names =
                |p: &ParentReference| parents.iter().any(|(kind, ns, name)| names_parent(p, route_ns, kind, ns, name));
            let in_spec = r.route_spec().parent_refs.iter().any(names);
            let in_status = r.route_status().is_some_and(|st| st.parents.iter().any(|p| names(&p.parent_ref)));
            if in_spec || in_status {
                out.push(Self::object_ref(r.meta()));
            }
        }
    }
}

fn meta_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// The Gateway (namespace, name) a ListenerSet attaches to.
fn listener_set_gateway(ls: &ListenerSet) -> (&str, &str) {
    let p = &ls.spec.parent_ref;
    (p.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(namespace_of(&ls.metadata)), p.name.as_str())
}

/// Whether a listener of the Gateway admits routes, or the Gateway ListenerSets, from
/// namespaces chosen by label.
fn selects_namespaces(gw: &Gateway) -> bool {
    let listeners = gw.spec.listeners.iter().any(|l| {
        l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref()).and_then(|n| n.from.as_deref())
            == Some("Selector")
    });
    let listener_sets = gw.spec.allowed_listeners.as_ref().and_then(|a| a.namespaces.as_ref());
    listeners || listener_sets.and_then(|n| n.from.as_deref()) == Some("Selector")
}

/// Whether a parent reference of a route in `route_ns` names the Gateway `gw_ns/gw_name`.
#[cfg(test)]
pub(crate) fn names_gateway(p: &ParentReference, route_ns: &str, gw_ns: &str, gw_name: &str) -> bool {
    names_parent(p, route_ns, "Gateway", gw_ns, gw_name)
}

/// Whether a parent reference of a route in `route_ns` names the `kind` `ns/name` of the Gateway
/// API group.
fn names_parent(p: &ParentReference, route_ns: &str, kind: &str, ns: &str, name: &str) -> bool {
    p.name == name
        && p.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(route_ns) == ns
        && p.group.as_deref().filter(|g| !g.is_empty()).unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
        && p.kind.as_deref().filter(|k| !k.is_empty()).unwrap_or("Gateway") == kind
}

/// The endpoints of one route of any kind.
pub fn endpoints<R: GatewayRoute>(route: &R, cluster: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let kind = R::ROUTE_KIND;
    let meta = route.meta();
    let mut ctx = match Ctx::admit::<RouteSource<R>>(meta, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let hosts = route_hosts(route, &mut ctx);
    let spec = route.route_spec();
    if spec.parent_refs.is_empty() {
        tracing::debug!(route = %ctx.obj, "no parentRefs");
        return ctx.finish();
    }
    let route_ns = namespace_of(meta).to_owned();
    let mut host_targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, rps) in route.route_status().map(|s| s.parents.as_slice()).unwrap_or_default().iter().enumerate() {
        let Some(parent) = resolve_parent(&mut ctx, cluster, &spec.parent_refs, rps, &route_ns, i) else {
            continue;
        };
        let listeners: Vec<&Listener> = match rps.parent_ref.section_name.as_deref().filter(|s| !s.is_empty()) {
            Some(section) => parent.listeners.iter().filter(|l| l.name == section).collect(),
            None => parent.listeners.iter().collect(),
        };
        for lis in listeners {
            if !protocol_matches(kind.protocol(), &lis.protocol) {
                continue;
            }
            if rps.parent_ref.port.is_some_and(|p| p != lis.port) {
                continue;
            }
            if !route_allowed(&mut ctx, cluster, &parent, lis, kind, &route_ns) {
                continue;
            }
            let lis_host = match lis.hostname.as_deref().unwrap_or_default() {
                "" => String::new(),
                h => match valid_host(h) {
                    Ok(h) => h,
                    Err(reason) => {
                        let field = format!("{} spec.listeners[{}].hostname", parent.label, lis.name);
                        ctx.invalid.push(Invalid::new(InvalidKind::Name, field, h, reason).on(&ctx.obj));
                        continue;
                    }
                },
            };
            for rt_host in &hosts {
                if lis_host.is_empty() && rt_host.is_empty() {
                    continue;
                }
                if let Some(host) = matching_host(&lis_host, rt_host) {
                    host_targets.entry(host).or_default().extend(parent.targets.iter().cloned());
                }
            }
        }
    }
    for (host, targets) in host_targets {
        if let Some(name) = ctx.hostname("spec.hostnames", &host) {
            ctx.add(&name, &targets);
        }
    }
    ctx.finish()
}

/// The route's host names (lowercase, checked): spec, then the `hostname` annotation, then
/// `--fqdn-template` when neither gave one (or with `--combine-fqdn-annotation`); "" stands for
/// "the listener's hostname" when the spec has none.
fn route_hosts<R: GatewayRoute>(route: &R, ctx: &mut Ctx<'_>) -> Vec<String> {
    let check = |ctx: &mut Ctx<'_>, field: String, h: &str| match valid_host(h) {
        Ok(h) => Some(h),
        Err(reason) => {
            ctx.invalid.push(Invalid::new(InvalidKind::Name, field, h, reason).on(&ctx.obj));
            None
        }
    };
    let spec_hosts: Vec<String> = route
        .route_spec()
        .hostnames
        .iter()
        .enumerate()
        .filter_map(|(i, h)| check(ctx, format!("spec.hostnames[{i}]"), h))
        .collect();
    let ann_hosts: Vec<String> = if ctx.cfg.ignore_hostname_annotation {
        Vec::new()
    } else {
        let field = ctx.ann.field(HOSTNAME);
        ctx.ann.hostnames().iter().filter_map(|h| check(ctx, field.clone(), h)).collect()
    };
    let source = ctx.ann.hostname_source(GATEWAY_HOSTNAME_SOURCE, &ctx.obj).unwrap_or_else(|e| {
        // Upstream falls back to the default behaviour for an unknown value.
        ctx.invalid.push(e);
        HostnameSource::All
    });
    let use_template = |spec_and_ann_empty: bool| {
        ctx.cfg.fqdn_template.is_some() && (spec_and_ann_empty || ctx.cfg.combine_fqdn_annotation)
    };
    let mut hosts = Vec::new();
    let mut template = false;
    match source {
        HostnameSource::AnnotationOnly => hosts = ann_hosts,
        HostnameSource::DefinedHostsOnly => {
            template = use_template(spec_hosts.is_empty());
            hosts = spec_hosts;
        }
        HostnameSource::All => {
            template = use_template(spec_hosts.is_empty() && ann_hosts.is_empty());
            hosts.extend(spec_hosts);
            hosts.extend(ann_hosts);
        }
    }
    if let Some(t) = ctx.cfg.fqdn_template.as_ref().filter(|_| template) {
        let input = crate::template::TemplateInput {
            source: ctx.source,
            kind: R::ROUTE_KIND.kind(),
            api_version: R::ROUTE_KIND.api_version(),
            metadata: route.meta(),
            raw: None,
        };
        for h in t.hostnames(&input) {
            hosts.extend(check(ctx, "--fqdn-template".into(), &h));
        }
    }
    if source != HostnameSource::AnnotationOnly && route.route_spec().hostnames.is_empty() {
        hosts.push(String::new());
    }
    hosts
}

/// A host name as Gateway matching wants it: lowercase, no trailing dot, not an IP address.
fn valid_host(h: &str) -> Result<String, String> {
    if h.trim().parse::<IpAddr>().is_ok() {
        return Err("an IP address is not a host name".into());
    }
    DnsName::parse(h).map(|n| n.as_str().to_owned()).map_err(|e| e.to_string())
}

struct Parent {
    /// `gateway <namespace>/<name>` (or `listenerset …`), prefixed to fields of the parent in
    /// diagnostics (which are about the route, whose records they change).
    label: String,
    /// The namespace of the parent object ("Same" in `allowedRoutes` means it).
    namespace: String,
    /// Its listeners that routes may attach to.
    listeners: Vec<Listener>,
    targets: Vec<String>,
}

fn or_default<'a>(v: &'a Option<String>, default: &'a str) -> &'a str {
    v.as_deref().filter(|s| !s.is_empty()).unwrap_or(default)
}

fn same_parent(a: &ParentReference, b: &ParentReference, route_ns: &str) -> bool {
    or_default(&a.group, GATEWAY_GROUP) == or_default(&b.group, GATEWAY_GROUP)
        && or_default(&a.kind, "Gateway") == or_default(&b.kind, "Gateway")
        && a.name == b.name
        && or_default(&a.namespace, route_ns) == or_default(&b.namespace, route_ns)
}

fn resolve_parent(
    ctx: &mut Ctx<'_>,
    cluster: &dyn ClusterView,
    spec_refs: &[ParentReference],
    rps: &RouteParentStatus,
    route_ns: &str,
    index: usize,
) -> Option<Parent> {
    let cfg = ctx.cfg;
    let r = &rps.parent_ref;
    if !spec_refs.iter().any(|s| same_parent(s, r, route_ns)) {
        tracing::debug!(route = %ctx.obj, parent = %r.name, "status parent not in spec.parentRefs");
        return None;
    }
    let kind = or_default(&r.kind, "Gateway");
    let listener_set = kind == "ListenerSet" && cfg.gateway_listener_sets;
    if or_default(&r.group, GATEWAY_GROUP) != GATEWAY_GROUP || (kind != "Gateway" && !listener_set) {
        tracing::debug!(route = %ctx.obj, kind = ?r.kind, "parent is not a Gateway");
        return None;
    }
    let ns = or_default(&r.namespace, route_ns);
    let ls = if listener_set {
        let Some(ls) = cluster.get::<ListenerSet>(ns, &r.name) else {
            tracing::debug!(route = %ctx.obj, listenerset = %format!("{ns}/{}", r.name), "parent ListenerSet not found");
            return None;
        };
        Some(ls)
    } else {
        None
    };
    // The Gateway filters apply to the Gateway, whichever the parent (as upstream).
    let (gw_ns, gw_name) = ls.as_deref().map_or((ns, r.name.as_str()), listener_set_gateway);
    if cfg.gateway_namespace.as_deref().is_some_and(|g| g != gw_ns) {
        return None;
    }
    if cfg.gateway_name.as_deref().is_some_and(|g| g != gw_name) {
        tracing::debug!(route = %ctx.obj, gateway = %gw_name, "skipped by --gateway-name");
        return None;
    }
    let Some(gateway) = cluster.gateway(gw_ns, gw_name) else {
        tracing::debug!(route = %ctx.obj, gateway = %format!("{gw_ns}/{gw_name}"), "parent Gateway not found");
        return None;
    };
    if !cfg.gateway_label_filter.matches(gateway.metadata.labels.as_ref()) {
        return None;
    }
    let gw_ann = Annotations::read(gateway.metadata.annotations.as_ref(), cfg);
    if !gw_ann.controller_matches() {
        return None;
    }
    if !condition_is_true(&rps.conditions, "Accepted") {
        tracing::debug!(route = %ctx.obj, index, "parent has not accepted the route");
        return None;
    }
    let gw_label = format!("gateway {gw_ns}/{gw_name}");
    let gw_targets = |ctx: &mut Ctx<'_>| {
        if gw_ann.has_targets() {
            let raw = target_list(gw_ann.get(TARGET).unwrap_or_default());
            ctx.targets(&format!("{gw_label} {}", gw_ann.field(TARGET)), raw.iter().map(String::as_str))
        } else {
            let addrs = gateway.status.as_ref().map(|s| s.addresses.as_slice()).unwrap_or_default();
            ctx.targets(&format!("{gw_label} status.addresses"), addrs.iter().map(|a| a.value.as_str()))
        }
    };
    let Some(ls) = ls else {
        let targets = gw_targets(ctx);
        return Some(Parent {
            label: gw_label.clone(),
            namespace: ns.to_owned(),
            listeners: gateway.spec.listeners.clone(),
            targets,
        });
    };
    let label = format!("listenerset {ns}/{}", r.name);
    if !gateway_allows_listener_set(ctx, cluster, &gateway, &gw_label, ns) {
        tracing::debug!(route = %ctx.obj, %label, "the parent Gateway does not allow ListenerSets from this namespace");
        return None;
    }
    let status = ls.status.as_ref();
    if !status.is_some_and(|st| condition_is_true(&st.conditions, "Accepted")) {
        tracing::debug!(route = %ctx.obj, %label, "ListenerSet not accepted");
        return None;
    }
    let ls_ann = Annotations::read(ls.metadata.annotations.as_ref(), cfg);
    if !ls_ann.controller_matches() {
        return None;
    }
    let targets = if ls_ann.has_targets() {
        let raw = target_list(ls_ann.get(TARGET).unwrap_or_default());
        ctx.targets(&format!("{label} {}", ls_ann.field(TARGET)), raw.iter().map(String::as_str))
    } else {
        gw_targets(ctx)
    };
    // A listener counts once the ListenerSet's status accepts it.
    let accepted = |name: &str| {
        status.is_some_and(|st| {
            st.listeners.iter().any(|l| l.name == name && condition_is_true(&l.conditions, "Accepted"))
        })
    };
    let listeners = ls.spec.listeners.iter().filter(|l| accepted(&l.name)).cloned().collect();
    Some(Parent { label, namespace: ns.to_owned(), listeners, targets })
}

/// Whether `gateway` lets ListenerSets of namespace `ls_ns` attach (`spec.allowedListeners`).
fn gateway_allows_listener_set(
    ctx: &mut Ctx<'_>,
    cluster: &dyn ClusterView,
    gateway: &Gateway,
    gw_label: &str,
    ls_ns: &str,
) -> bool {
    let namespaces: Option<&RouteNamespaces> =
        gateway.spec.allowed_listeners.as_ref().and_then(|a| a.namespaces.as_ref());
    match namespaces.and_then(|n| n.from.as_deref()).unwrap_or("None") {
        "All" => true,
        "Same" => namespace_of(&gateway.metadata) == ls_ns,
        "Selector" => match Selector::from_label_selector(namespaces.and_then(|n| n.selector.as_ref())) {
            Ok(sel) => cluster.namespace(ls_ns).is_some_and(|ns| sel.matches(ns.metadata.labels.as_ref())),
            Err(e) => {
                let field = format!("{gw_label} spec.allowedListeners.namespaces.selector");
                ctx.invalid.push(Invalid::new(InvalidKind::Object, field, "", e).on(&ctx.obj));
                false
            }
        },
        _ => false,
    }
}

fn route_allowed(
    ctx: &mut Ctx<'_>,
    cluster: &dyn ClusterView,
    parent: &Parent,
    lis: &Listener,
    kind: RouteKind,
    route_ns: &str,
) -> bool {
    let allowed = lis.allowed_routes.as_ref();
    let namespaces = allowed.and_then(|a| a.namespaces.as_ref());
    let from = namespaces.and_then(|n| n.from.as_deref()).unwrap_or("Same");
    let ns_ok = match from {
        "All" => true,
        "Same" => parent.namespace == route_ns,
        "Selector" => match Selector::from_label_selector(namespaces.and_then(|n| n.selector.as_ref())) {
            Ok(sel) => match cluster.namespace(route_ns) {
                Some(ns) => sel.matches(ns.metadata.labels.as_ref()),
                None => {
                    tracing::debug!(route = %ctx.obj, "namespace object not found for the allowedRoutes selector");
                    false
                }
            },
            Err(e) => {
                let field = format!("{} spec.listeners[{}].allowedRoutes.namespaces.selector", parent.label, lis.name);
                ctx.invalid.push(Invalid::new(InvalidKind::Object, field, "", e).on(&ctx.obj));
                false
            }
        },
        other => {
            let field = format!("{} spec.listeners[{}].allowedRoutes.namespaces.from", parent.label, lis.name);
            ctx.invalid
                .push(Invalid::new(InvalidKind::Object, field, other, "must be Same, All or Selector").on(&ctx.obj));
            false
        }
    };
    if !ns_ok {
        return false;
    }
    let kinds = allowed.map(|a| a.kinds.as_slice()).unwrap_or_default();
    kinds.is_empty()
        || kinds.iter().any(|k| or_default(&k.group, GATEWAY_GROUP) == GATEWAY_GROUP && k.kind == kind.kind())
}

/// Whether a route of protocol `route` may attach to a listener of protocol `listener`: HTTP and
/// HTTPS are one; a TCP route also fits a TLS listener.
pub fn protocol_matches(route: &str, listener: &str) -> bool {
    let norm = |p: &str| if p == "HTTPS" { "HTTP".to_owned() } else { p.to_owned() };
    let (a, mut b) = (norm(route), norm(listener));
    if a == "TCP" && b == "TLS" {
        b = "TCP".into();
    }
    a == b
}

/// The host a listener hostname and a route hostname (both lowercase, either possibly empty or a
/// `*.` wildcard) have in common: the more specific one, or `None`.
pub fn matching_host(listener: &str, route: &str) -> Option<String> {
    if listener.is_empty() {
        return Some(route.to_owned());
    }
    if route.is_empty() || listener == route {
        return Some(listener.to_owned());
    }
    let (mut a, mut b) = (listener, route);
    if b.len() < a.len() || (a.len() == b.len() && b.starts_with("*.")) {
        std::mem::swap(&mut a, &mut b);
    }
    (a.starts_with("*.") && b.ends_with(&a[1..])).then(|| b.to_owned())
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
