//! The `pod` source: Pods with `hostname` / `internal-hostname` annotations, `--pod-source-domain`
//! and `--fqdn-template`.
//!
//! `internal-hostname` and `--pod-source-domain` (`<pod>.<domain>`) point at the pod IP;
//! `hostname` points at the addresses of the pod's node (ExternalIP, and IPv6 InternalIP), as for
//! host-network pods; `--fqdn-template` names point at every pod IP. The `target` annotation
//! replaces all of these. Like upstream, only the `ttl` and `target` annotations apply; unlike
//! upstream, the endpoints carry a `resource` label `pod/<namespace>/<name>`.

use k8s_openapi::api::core::v1::Pod;

use crate::SourceOutput;
use crate::annotations::{HOSTNAME, INTERNAL_HOSTNAME};
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::service::addresses;
use exodns_core::RecordType;
use exodns_core::target::infer_type;

/// The endpoints of one Pod.
pub fn endpoints(pod: &Pod, cluster: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
    if cfg.ignore_non_host_network_pods && !host_network {
        return SourceOutput::default();
    }
    let mut ctx = match Ctx::admit("pod", &pod.metadata, true, Routing::Ignored, cfg) {
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
            None => {
                let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).and_then(|n| cluster.node(n));
                let mut raw = Vec::new();
                if let Some(node) = node {
                    raw.extend(addresses(&node, "ExternalIP"));
                    raw.extend(
                        addresses(&node, "InternalIP").into_iter().filter(|a| infer_type(a) == RecordType::AAAA),
                    );
                }
                ctx.targets("node status.addresses", raw.iter().map(String::as_str))
            }
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

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
