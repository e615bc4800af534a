//! The Istio sources: `istio-gateway` (Istio Gateways) and `istio-virtualservice`
//! (VirtualServices, through the Gateways they bind to).
//!
//! A Gateway's host names are its servers' `hosts` (a `namespace/` prefix dropped, `*` skipped)
//! and the `hostname` annotation. Its targets: the `target` annotation; else the load balancer
//! of the Ingress its `ingress` annotation names (`name` or `namespace/name`); else every Service
//! (in `--namespace`, or all) whose pod selector the Gateway's `selector` matches: its external
//! IPs, else its load balancer (an IP, else a host name, per entry).
//!
//! A VirtualService's host names are its `hosts` (as above) and the `hostname` annotation. Each
//! one takes the VirtualService's `target` annotation, else the targets of every Gateway in
//! `gateways` (`name` or `namespace/name`; `mesh` skipped) that it binds to: exported to the
//! Gateway's namespace (`exportTo`), and matching one of the Gateway's hosts (`*`, an exact
//! name, or a `*.` suffix; a `namespace/` prefix on the Gateway's host must be `*`, the
//! VirtualService's namespace, or `.` when both share one).
//!
//! Where upstream fails the whole sync (a missing Ingress, a malformed reference), the object
//! gets a diagnostic naming the field and its records are kept; the rest of the sync goes on.

use std::sync::Arc;

use exodns_core::{Invalid, InvalidKind, ObjectRef};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;

use crate::SourceOutput;
use crate::annotations::{Annotations, HOSTNAME, INGRESS, TARGET, split_list};
use crate::cluster::{ClusterView, ClusterViewExt, namespace_of};
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{AnyObject, Change, Filter, Read, Source};
use crate::resource::Watched;
use crate::selector::Selector;
use crate::types::{IstioGateway, VirtualService};

/// The gateway name that means "the sidecars", not a Gateway object.
pub const MESH_GATEWAY: &str = "mesh";

/// The `istio-gateway` source.
pub struct IstioGatewaySource;

impl Source for IstioGatewaySource {
    const NAME: &'static str = "istio-gateway";
    const LABEL: &'static str = "gateway";
    type Object = IstioGateway;
    const READS: &'static [Read] = &[
        Read::own(Watched::IstioGateways),
        Read::lookup(Watched::Services).on_demand().namespace(Filter::Sources),
        Read::lookup(Watched::Ingresses).on_demand().namespace(Filter::Sources),
    ];

    fn endpoints(gw: &IstioGateway, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        gateway_endpoints(gw, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        for gw in gateways_behind(change, view, cfg) {
            push_unique(out, Self::object_ref(&gw.metadata));
        }
    }

    fn needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
        gateway_needs(object, cfg)
    }
}

/// The `istio-virtualservice` source.
pub struct IstioVirtualServiceSource;

impl Source for IstioVirtualServiceSource {
    const NAME: &'static str = "istio-virtualservice";
    const LABEL: &'static str = "virtualservice";
    type Object = VirtualService;
    const READS: &'static [Read] = &[
        Read::own(Watched::VirtualServices),
        Read::lookup(Watched::IstioGateways).namespace(Filter::Sources),
        Read::lookup(Watched::Services).on_demand().namespace(Filter::Sources),
        Read::lookup(Watched::Ingresses).on_demand().namespace(Filter::Sources),
    ];

    fn endpoints(vs: &VirtualService, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        virtual_service_endpoints(vs, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        // The Gateways the change concerns: itself, or those whose targets it gives.
        let gateways: Vec<Arc<IstioGateway>> = match change.get::<IstioGateway>() {
            Some((old, new)) => old.into_iter().chain(new).map(|g| Arc::new(g.clone())).collect(),
            None => gateways_behind(change, view, cfg),
        };
        if gateways.is_empty() {
            return;
        }
        for vs in view.list::<VirtualService>(None) {
            let vs_ns = namespace_of(&vs.metadata);
            let refers =
                vs.spec.gateways.iter().filter_map(|g| gateway_ref(g, vs_ns).ok().flatten()).any(|(ns, name)| {
                    gateways
                        .iter()
                        .any(|gw| namespace_of(&gw.metadata) == ns && gw.metadata.name.as_deref() == Some(name))
                });
            if refers {
                push_unique(out, Self::object_ref(&vs.metadata));
            }
        }
    }

    fn needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
        gateway_needs(object, cfg)
    }
}

fn push_unique(out: &mut Vec<ObjectRef>, r: ObjectRef) {
    if !out.contains(&r) {
        out.push(r);
    }
}

/// Where a Gateway's targets come from.
enum TargetsFrom<'a> {
    Annotation(&'a str),
    Ingress(&'a str),
    Services,
}

fn targets_from<'a>(ann: &'a Annotations) -> TargetsFrom<'a> {
    if ann.has_targets() {
        TargetsFrom::Annotation(ann.get(TARGET).unwrap_or_default())
    } else if let Some(ing) = ann.get(INGRESS).filter(|i| !i.is_empty()) {
        TargetsFrom::Ingress(ing)
    } else {
        TargetsFrom::Services
    }
}

/// What reading a Gateway's targets needs: its Ingress, or the Services.
fn gateway_needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
    let Some(gw) = object.get::<IstioGateway>() else {
        return Vec::new();
    };
    let ann = Annotations::read(gw.metadata.annotations.as_ref(), cfg);
    match targets_from(&ann) {
        TargetsFrom::Annotation(_) => Vec::new(),
        TargetsFrom::Ingress(_) => vec![Watched::Ingresses],
        TargetsFrom::Services => vec![Watched::Services],
    }
}

/// The Gateways (in `--namespace`, or all) whose targets `change`, a Service or an Ingress,
/// gives before or after.
fn gateways_behind(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig) -> Vec<Arc<IstioGateway>> {
    let gateways = || view.list::<IstioGateway>(cfg.namespace.as_deref());
    if let Some((old, new)) = change.get::<Service>() {
        let selectors: Vec<_> =
            [old, new].into_iter().flatten().map(|s| s.spec.as_ref().and_then(|s| s.selector.as_ref())).collect();
        gateways()
            .into_iter()
            .filter(|gw| {
                let ann = Annotations::read(gw.metadata.annotations.as_ref(), cfg);
                matches!(targets_from(&ann), TargetsFrom::Services)
                    && selectors.iter().any(|s| Selector::from_map(&gw.spec.selector).matches(*s))
            })
            .collect()
    } else if let Some(ing) = change.either::<Ingress>() {
        let (ns, name) = (namespace_of(&ing.metadata), ing.metadata.name.as_deref().unwrap_or_default());
        gateways()
            .into_iter()
            .filter(|gw| {
                let ann = Annotations::read(gw.metadata.annotations.as_ref(), cfg);
                match targets_from(&ann) {
                    TargetsFrom::Ingress(r) => {
                        gateway_ref(r, namespace_of(&gw.metadata)).ok().flatten() == Some((ns, name))
                    }
                    _ => false,
                }
            })
            .collect()
    } else {
        Vec::new()
    }
}

/// `name` or `namespace/name` (namespace defaulting to `namespace`); `Ok(None)` for "" and
/// `mesh`; `Err` for anything with more slashes.
fn gateway_ref<'a>(raw: &'a str, namespace: &'a str) -> Result<Option<(&'a str, &'a str)>, String> {
    if raw.is_empty() || raw == MESH_GATEWAY {
        return Ok(None);
    }
    let parts: Vec<&str> = raw.split('/').collect();
    match parts.as_slice() {
        [name] => Ok(Some((namespace, name))),
        [ns, name] => Ok(Some((if ns.is_empty() { namespace } else { ns }, name))),
        _ => Err("must be a name or namespace/name".into()),
    }
}

/// A host of a Gateway server or a VirtualService without its `namespace/` prefix.
fn strip_namespace(host: &str) -> &str {
    match host.split_once('/') {
        Some((_, h)) if !h.contains('/') => h,
        _ => host,
    }
}

/// The targets of a Gateway. `label` prefixes field names in diagnostics when the Gateway is
/// not the object being turned into endpoints (`gateway infra/gw `).
fn gateway_targets(ctx: &mut Ctx<'_>, gw: &IstioGateway, view: &dyn ClusterView, label: &str) -> Vec<String> {
    let cfg = ctx.cfg;
    let ann = Annotations::read(gw.metadata.annotations.as_ref(), cfg);
    let gw_ns = namespace_of(&gw.metadata);
    match targets_from(&ann) {
        TargetsFrom::Annotation(raw) => {
            let field = format!("{label}{}", ann.field(TARGET));
            ctx.targets(&field, split_list(raw).iter().map(String::as_str))
        }
        TargetsFrom::Ingress(raw) => {
            let field = format!("{label}{}", ann.field(INGRESS));
            let (ns, name) = match gateway_ref(raw, gw_ns) {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => {
                    let e =
                        Invalid::new(InvalidKind::Annotation, field, raw, "must be an Ingress name or namespace/name");
                    ctx.invalid.push(e.on(&ctx.obj));
                    return Vec::new();
                }
            };
            let found = cfg.namespace_allowed(ns).then(|| view.get::<Ingress>(ns, name)).flatten();
            let Some(ing) = found else {
                let e = Invalid::new(InvalidKind::Object, field, raw, format!("Ingress {ns}/{name} not found"));
                ctx.invalid.push(e.on(&ctx.obj));
                return Vec::new();
            };
            let lb = ing.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|l| l.ingress.as_ref());
            let raw: Vec<&str> = lb
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.as_deref().filter(|s| !s.is_empty()).or(i.hostname.as_deref()))
                .collect();
            ctx.targets(&format!("{label}Ingress {ns}/{name} status.loadBalancer"), raw)
        }
        TargetsFrom::Services => {
            let selector = Selector::from_map(&gw.spec.selector);
            let mut raw: Vec<String> = Vec::new();
            let mut services = view.list::<Service>(cfg.namespace.as_deref());
            services.sort_by(|a, b| {
                (namespace_of(&a.metadata), &a.metadata.name).cmp(&(namespace_of(&b.metadata), &b.metadata.name))
            });
            for svc in services {
                let spec = svc.spec.as_ref();
                if !selector.matches(spec.and_then(|s| s.selector.as_ref())) {
                    continue;
                }
                let external = spec.and_then(|s| s.external_ips.as_ref()).filter(|ips| !ips.is_empty());
                if let Some(ips) = external {
                    raw.extend(ips.iter().cloned());
                    continue;
                }
                let lb = svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|l| l.ingress.as_ref());
                for i in lb.into_iter().flatten() {
                    raw.extend(i.ip.clone().filter(|s| !s.is_empty()).or_else(|| i.hostname.clone()));
                }
            }
            ctx.targets(&format!("{label}Services selected by spec.selector"), raw.iter().map(String::as_str))
        }
    }
}

/// The endpoints of one Istio Gateway.
pub fn gateway_endpoints(gw: &IstioGateway, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let mut ctx = match Ctx::admit::<IstioGatewaySource>(&gw.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let mut hosts: Vec<(String, String)> = Vec::new();
    for (i, server) in gw.spec.servers.iter().enumerate() {
        for (j, h) in server.hosts.iter().enumerate() {
            let h = strip_namespace(h);
            if !h.is_empty() && h != "*" {
                hosts.push((format!("spec.servers[{i}].hosts[{j}]"), h.to_owned()));
            }
        }
    }
    if !cfg.ignore_hostname_annotation {
        let field = ctx.ann.field(HOSTNAME);
        hosts.extend(ctx.ann.hostnames().into_iter().map(|h| (field.clone(), h)));
    }
    let targets = gateway_targets(&mut ctx, gw, view, "");
    for (field, h) in hosts {
        if let Some(name) = ctx.hostname(&field, &h) {
            ctx.add(&name, &targets);
        }
    }
    if let Some(hosts) = ctx.template_hostnames("Gateway", "networking.istio.io/v1", &gw.metadata) {
        for h in hosts {
            if let Some(name) = ctx.hostname("--fqdn-template", &h) {
                ctx.add(&name, &targets);
            }
        }
    }
    ctx.finish()
}

/// Whether the VirtualService `vs`, for its host `host`, binds to the Gateway `gw`.
pub fn binds_to_gateway(vs: &VirtualService, gw: &IstioGateway, host: &str) -> bool {
    let vs_ns = namespace_of(&vs.metadata);
    let gw_ns = namespace_of(&gw.metadata);
    let exported = vs.spec.export_to.is_empty()
        || vs.spec.export_to.iter().any(|ns| ns == "*" || ns == gw_ns || (ns == "." && gw_ns == vs_ns));
    if !exported {
        return false;
    }
    gw.spec.servers.iter().flat_map(|s| s.hosts.iter()).any(|h| {
        let parts: Vec<&str> = h.split('/').collect();
        let (ns, gw_host) = match parts.as_slice() {
            [h] => ("*", *h),
            [ns, h] => (*ns, *h),
            _ => return false,
        };
        let ns_ok = ns == "*" || ns == vs_ns || (ns == "." && vs_ns == gw_ns);
        ns_ok
            && (gw_host == "*"
                || gw_host == host
                || gw_host.strip_prefix('*').is_some_and(|suffix| gw_host.starts_with("*.") && host.ends_with(suffix)))
    })
}

/// A Gateway a VirtualService names, with its targets once read.
struct Bound {
    label: String,
    gateway: Arc<IstioGateway>,
    targets: Option<Vec<String>>,
}

/// The Gateways `vs` names that exist (in `--namespace`, when set); malformed names become
/// diagnostics.
fn named_gateways(ctx: &mut Ctx<'_>, vs: &VirtualService, view: &dyn ClusterView) -> Vec<Bound> {
    let vs_ns = namespace_of(&vs.metadata);
    let mut out: Vec<Bound> = Vec::new();
    for (i, raw) in vs.spec.gateways.iter().enumerate() {
        let (ns, name) = match gateway_ref(raw, vs_ns) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(reason) => {
                let e = Invalid::new(InvalidKind::Object, format!("spec.gateways[{i}]"), raw.as_str(), reason);
                ctx.invalid.push(e.on(&ctx.obj));
                continue;
            }
        };
        let found = ctx.cfg.namespace_allowed(ns).then(|| view.get::<IstioGateway>(ns, name)).flatten();
        match found {
            Some(gateway) => {
                let label = format!("gateway {ns}/{name} ");
                if !out.iter().any(|b| b.label == label) {
                    out.push(Bound { label, gateway, targets: None });
                }
            }
            None => tracing::debug!(virtualservice = %ctx.obj, gateway = %format!("{ns}/{name}"), "gateway not found"),
        }
    }
    out
}

/// The targets of `host` of `vs`: those of every named Gateway it binds to, in order.
fn bound_targets(
    ctx: &mut Ctx<'_>,
    vs: &VirtualService,
    view: &dyn ClusterView,
    gws: &mut [Bound],
    host: &str,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in gws.iter_mut() {
        if !binds_to_gateway(vs, &b.gateway, host) {
            continue;
        }
        if b.targets.is_none() {
            b.targets = Some(gateway_targets(ctx, &b.gateway, view, &b.label));
        }
        for t in b.targets.iter().flatten() {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

/// The endpoints of one VirtualService.
pub fn virtual_service_endpoints(vs: &VirtualService, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let mut ctx = match Ctx::admit::<IstioVirtualServiceSource>(&vs.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let mut hosts: Vec<(String, String)> = Vec::new();
    for (i, h) in vs.spec.hosts.iter().enumerate() {
        let h = strip_namespace(h);
        if !h.is_empty() && h != "*" {
            hosts.push((format!("spec.hosts[{i}]"), h.to_owned()));
        }
    }
    if !cfg.ignore_hostname_annotation {
        let field = ctx.ann.field(HOSTNAME);
        hosts.extend(ctx.ann.hostnames().into_iter().map(|h| (field.clone(), h)));
    }
    let own_targets = ctx.annotation_targets();
    let mut gateways = if own_targets.is_none() || cfg.fqdn_template.is_some() {
        named_gateways(&mut ctx, vs, view)
    } else {
        Vec::new()
    };
    for (field, h) in hosts {
        let Some(name) = ctx.hostname(&field, &h) else { continue };
        let targets = match &own_targets {
            Some(t) => t.clone(),
            None => bound_targets(&mut ctx, vs, view, &mut gateways, &h),
        };
        ctx.add(&name, &targets);
    }
    if let Some(hosts) = ctx.template_hostnames("VirtualService", "networking.istio.io/v1", &vs.metadata) {
        // Upstream: names from the template take their targets from the Gateways only.
        for h in hosts {
            if let Some(name) = ctx.hostname("--fqdn-template", &h) {
                let targets = bound_targets(&mut ctx, vs, view, &mut gateways, &h);
                ctx.add(&name, &targets);
            }
        }
    }
    ctx.finish()
}

#[cfg(test)]
#[path = "istio_tests.rs"]
mod tests;
