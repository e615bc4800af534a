//! The `openshift-route` source: OpenShift Routes (`route.openshift.io/v1`).
//!
//! A Route is published through the first router that admitted it (condition `Admitted` true)
//! and wrote a canonical host name — with `--openshift-router-name`, only through that router:
//! the host that router serves (`status.ingress[].host`, not `spec.host`) and the `hostname`
//! annotation, then `--fqdn-template`. Targets: the `target` annotation, else that router's
//! canonical host name.

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Read, Source};
use crate::resource::Watched;
use crate::types::{OpenShiftRoute, OpenShiftRouteIngress};

/// The `openshift-route` source.
pub struct OpenShiftRouteSource;

impl Source for OpenShiftRouteSource {
    const NAME: &'static str = "openshift-route";
    const LABEL: &'static str = "route";
    type Object = OpenShiftRoute;
    const READS: &'static [Read] = &[Read::own(Watched::OpenShiftRoutes)];

    fn endpoints(route: &OpenShiftRoute, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(route, cfg)
    }
}

/// The router exposure the source publishes: the first admitted one with a canonical host name
/// (of the router `router`, when given), and its index.
pub fn exposure<'a>(route: &'a OpenShiftRoute, router: Option<&str>) -> Option<(usize, &'a OpenShiftRouteIngress)> {
    let ingress = route.status.as_ref().map(|s| s.ingress.as_slice()).unwrap_or_default();
    ingress.iter().enumerate().find(|(_, i)| {
        i.admitted() && !i.router_canonical_hostname.is_empty() && router.is_none_or(|r| r == i.router_name)
    })
}

/// The endpoints of one Route.
pub fn endpoints(route: &OpenShiftRoute, cfg: &SourceConfig) -> SourceOutput {
    let mut ctx = match Ctx::admit::<OpenShiftRouteSource>(&route.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let exposed = exposure(route, cfg.openshift_router_name.as_deref());
    let canonical = exposed.map(|(i, ing)| (format!("status.ingress[{i}].routerCanonicalHostname"), ing));
    let targets = match (ctx.annotation_targets(), &canonical) {
        (Some(t), _) => t,
        (None, Some((field, ing))) => ctx.targets(field, [ing.router_canonical_hostname.as_str()]),
        (None, None) => Vec::new(),
    };
    let mut hosts: Vec<(String, String)> = Vec::new();
    if let Some((i, ing)) = exposed.filter(|(_, ing)| !ing.host.is_empty()) {
        hosts.push((format!("status.ingress[{i}].host"), ing.host.clone()));
    }
    hosts.extend(ctx.annotation_hosts());
    ctx.add_hosts(&hosts, &targets);
    ctx.add_template_hosts("Route", "route.openshift.io/v1", &route.metadata, &targets);
    ctx.finish()
}

#[cfg(test)]
#[path = "openshift_tests.rs"]
mod tests;
