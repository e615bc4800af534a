//! The `pod` source: Pods with `hostname` / `internal-hostname` annotations, `--pod-source-domain`
//! and `--fqdn-template`.
//!
//! `internal-hostname` and `--pod-source-domain` (`<pod>.<domain>`) point at the pod IP;
//! `hostname` points at the addresses of the pod's node (ExternalIP, and IPv6 InternalIP), as for
//! host-network pods; `--fqdn-template` names point at every pod IP. The `target` annotation
//! replaces all of these. Like upstream, only the `ttl` and `target` annotations apply; unlike
//! upstream, the endpoints carry a `resource` label `pod/<namespace>/<name>`. With
//! `--compatibility=kops-dns-controller`, kops's annotations are read too ([`crate::compat`]).

use exodns_core::ObjectRef;
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::SourceOutput;
use crate::annotations::{Annotations, HOSTNAME, INTERNAL_HOSTNAME};
use crate::cluster::{ClusterView, ClusterViewExt};
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{AnyObject, Change, Read, Source};
use crate::resource::Watched;
use crate::service::addresses;
use exodns_core::RecordType;
use exodns_core::target::infer_type;

/// The `pod` source.
pub struct PodSource;

impl Source for PodSource {
    const NAME: &'static str = "pod";
    const LABEL: &'static str = "pod";
    type Object = Pod;
    const READS: &'static [Read] = &[Read::own(Watched::Pods), Read::lookup(Watched::Nodes).on_demand()];

    fn endpoints(pod: &Pod, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(pod, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        let Some(node) = change.either::<Node>() else {
            return;
        };
        let name = node.metadata.name.as_deref().unwrap_or_default();
        for pod in view.list::<Pod>(None) {
            if pod.spec.as_ref().and_then(|p| p.node_name.as_deref()) == Some(name) && needs_node(&pod, cfg) {
                out.push(Self::object_ref(&pod.metadata));
            }
        }
    }

    fn needs(object: AnyObject<'_>, cfg: &SourceConfig) -> Vec<Watched> {
        match object.get::<Pod>() {
            Some(pod) if needs_node(pod, cfg) => vec![Watched::Nodes],
            _ => Vec::new(),
        }
    }
}

/// Whether the `pod` source reads this Pod's node (for its `hostname` annotation).
pub(crate) fn needs_node(pod: &Pod, cfg: &SourceConfig) -> bool {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    if cfg.ignore_non_host_network_pods && !host_network {
        return false;
    }
    let ann = Annotations::read(pod.metadata.annotations.as_ref(), cfg);
    (!ann.hostnames().is_empty() && !ann.has_targets()) || crate::compat::pod_needs_node(pod, cfg.compatibility)
}

/// The endpoints of one Pod.
pub fn endpoints(pod: &Pod, cluster: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    if cfg.ignore_non_host_network_pods && !host_network {
        return SourceOutput::default();
    }
    let mut ctx = match Ctx::admit::<PodSource>(&pod.metadata, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let annotated = ctx.annotation_targets();
    let status = pod.status.as_ref();
    let pod_ip: Vec<String> = {
        let ip = status.and_then(|s| s.pod_ip.as_deref()).filter(|ip| !ip.is_empty());
        ctx.targets("status.podIP", ip)
    };

    let field = ctx.ann.field(INTERNAL_HOSTNAME);
    for h in ctx.ann.internal_hostnames() {
        if let Some(name) = ctx.hostname(&field, &h) {
            let t = annotated.clone().unwrap_or_else(|| pod_ip.clone());
            ctx.add(&name, &t);
        }
    }
    let hostnames = ctx.ann.hostnames();
    if !hostnames.is_empty() {
        let t = match &annotated {
            Some(t) => t.clone(),
            None => node_targets(&mut ctx, pod, cluster),
        };
        let field = ctx.ann.field(HOSTNAME);
        for h in hostnames {
            if let Some(name) = ctx.hostname(&field, &h) {
                ctx.add(&name, &t);
            }
        }
    }
    if let Some(domain) = &cfg.pod_source_domain {
        let raw = format!("{}.{domain}", ctx.obj.name);
        if let Some(name) = ctx.hostname("--pod-source-domain", &raw) {
            let t = annotated.clone().unwrap_or_else(|| pod_ip.clone());
            ctx.add(&name, &t);
        }
    }
    crate::compat::pod(&mut ctx, pod, &pod_ip, cluster);
    ctx.add_target_pairs("Pod", "v1", &pod.metadata);
    if let Some(hosts) = ctx.template_hostnames("Pod", "v1", &pod.metadata) {
        let ips: Vec<&str> =
            status.and_then(|s| s.pod_ips.as_ref()).into_iter().flatten().map(|p| p.ip.as_str()).collect();
        let t = ctx.targets("status.podIPs", ips);
        for h in hosts {
            if let Some(name) = ctx.hostname("--fqdn-template", &h) {
                ctx.add(&name, &t);
            }
        }
    }
    ctx.finish()
}

/// The addresses of the pod's node a `hostname` points at: ExternalIP, and IPv6 InternalIP.
pub(crate) fn node_targets(ctx: &mut Ctx<'_>, pod: &Pod, cluster: &dyn ClusterView) -> Vec<String> {
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(|n| cluster.node(n));
    let mut raw = Vec::new();
    if let Some(node) = node {
        raw.extend(addresses(&node, "ExternalIP"));
        raw.extend(addresses(&node, "InternalIP").into_iter().filter(|a| infer_type(a) == RecordType::AAAA));
    }
    ctx.targets("node status.addresses", raw.iter().map(String::as_str))
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
