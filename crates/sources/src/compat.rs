//! `--compatibility`: the annotations of the controllers upstream ExternalDNS replaced, read as
//! upstream reads them. A Service that names no host the usual way is published from them; the
//! pod source reads kops's annotations beside its own.
//!
//! - `mate`: `zalando.org/dnsname: <host>` → the load balancer's addresses and host names;
//! - `molecule`: label `dns: route53` and `domainName: <hosts, comma-separated>` → the same;
//! - `kops-dns-controller`: `dns.alpha.kubernetes.io/external` / `…/internal` (comma-separated)
//!   → a LoadBalancer's addresses; for a NodePort Service the ExternalIPs (external) or
//!   InternalIPs (internal) of the nodes labelled `node-role.kubernetes.io/node`; for a Pod its
//!   IP (internal) or its node's ExternalIPs and IPv6 InternalIPs (external).

use std::collections::BTreeMap;

use exodns_core::RecordType;
use exodns_core::target::infer_type;
use k8s_openapi::api::core::v1::{Node, Pod, Service};

use crate::cluster::{ClusterView, ClusterViewExt};
use crate::common::Ctx;
use crate::service::addresses;

pub const MATE_HOSTNAME: &str = "zalando.org/dnsname";
pub const MOLECULE_HOSTNAME: &str = "domainName";
pub const KOPS_EXTERNAL: &str = "dns.alpha.kubernetes.io/external";
pub const KOPS_INTERNAL: &str = "dns.alpha.kubernetes.io/internal";
/// Nodes kops's NodePort records point at carry this label.
pub const KOPS_NODE_ROLE: &str = "node-role.kubernetes.io/node";

/// A `--compatibility` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    Mate,
    Molecule,
    KopsDnsController,
}

impl Compatibility {
    /// `--compatibility`'s values, as upstream spells them ("" is none).
    pub const VALUES: [&str; 4] = ["", "mate", "molecule", "kops-dns-controller"];

    pub fn from_flag(value: &str) -> Option<Compatibility> {
        match value {
            "mate" => Some(Compatibility::Mate),
            "molecule" => Some(Compatibility::Molecule),
            "kops-dns-controller" => Some(Compatibility::KopsDnsController),
            _ => None,
        }
    }
}

fn annotation<'m>(map: Option<&'m BTreeMap<String, String>>, key: &str) -> Option<&'m str> {
    map.and_then(|m| m.get(key)).map(String::as_str)
}

/// A comma-separated host list, spaces removed, as upstream splits it.
fn hosts(value: &str) -> Vec<String> {
    value.replace(' ', "").split(',').map(str::to_owned).collect()
}

/// The Service's load balancer addresses and host names.
fn load_balancer(ctx: &mut Ctx<'_>, svc: &Service) -> Vec<String> {
    let ingress = svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.as_ref());
    let mut raw = Vec::new();
    for i in ingress.into_iter().flatten() {
        raw.extend(i.ip.as_deref().filter(|s| !s.is_empty()));
        raw.extend(i.hostname.as_deref().filter(|s| !s.is_empty()));
    }
    ctx.targets("status.loadBalancer.ingress", raw)
}

/// Whether a NodePort Service reads nodes for kops's annotations.
pub(crate) fn service_needs_nodes(svc: &Service, compat: Option<Compatibility>) -> bool {
    let ann = svc.metadata.annotations.as_ref();
    compat == Some(Compatibility::KopsDnsController)
        && svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("NodePort")
        && (annotation(ann, KOPS_EXTERNAL).is_some() != annotation(ann, KOPS_INTERNAL).is_some())
}

/// Adds the endpoints of a Service's legacy annotations.
pub(crate) fn service(ctx: &mut Ctx<'_>, svc: &Service, svc_type: &str, cluster: &dyn ClusterView) {
    let Some(compat) = ctx.cfg.compatibility else { return };
    let ann = svc.metadata.annotations.as_ref();
    let (names, field): (Vec<String>, &str) = match compat {
        Compatibility::Mate => match annotation(ann, MATE_HOSTNAME) {
            Some(h) => (vec![h.to_owned()], MATE_HOSTNAME),
            None => return,
        },
        Compatibility::Molecule => {
            let route53 = svc.metadata.labels.as_ref().and_then(|l| l.get("dns")).is_some_and(|v| v == "route53");
            match annotation(ann, MOLECULE_HOSTNAME).filter(|_| route53) {
                Some(h) => (hosts(h), MOLECULE_HOSTNAME),
                None => return,
            }
        }
        Compatibility::KopsDnsController => {
            let (external, internal) = (annotation(ann, KOPS_EXTERNAL), annotation(ann, KOPS_INTERNAL));
            match svc_type {
                "NodePort" if external.is_some() != internal.is_some() => {
                    let (value, field) = external.map_or((internal, KOPS_INTERNAL), |e| (Some(e), KOPS_EXTERNAL));
                    let targets = kops_node_port_targets(ctx, cluster, external.is_some());
                    for h in hosts(value.unwrap_or_default()) {
                        if let Some(name) = ctx.hostname(field, &h) {
                            ctx.add(&name, &targets);
                        }
                    }
                    return;
                }
                "LoadBalancer" => {
                    let mut names: Vec<String> = external.map(hosts).unwrap_or_default();
                    names.extend(internal.map(hosts).unwrap_or_default());
                    (names, if external.is_some() { KOPS_EXTERNAL } else { KOPS_INTERNAL })
                }
                _ => return,
            }
        }
    };
    let targets = load_balancer(ctx, svc);
    for h in names {
        if let Some(name) = ctx.hostname(field, &h) {
            ctx.add(&name, &targets);
        }
    }
}

/// Node addresses for kops's NodePort records: the nodes with kops's node role; ExternalIPs (and,
/// with `--expose-internal-ipv6`, IPv6 InternalIPs) for `external`, InternalIPs otherwise.
fn kops_node_port_targets(ctx: &mut Ctx<'_>, cluster: &dyn ClusterView, external: bool) -> Vec<String> {
    let mut nodes: Vec<std::sync::Arc<Node>> = cluster
        .nodes()
        .into_iter()
        .filter(|n| n.metadata.labels.as_ref().is_some_and(|l| l.contains_key(KOPS_NODE_ROLE)))
        .collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut raw = Vec::new();
    for node in &nodes {
        if external {
            raw.extend(addresses(node, "ExternalIP"));
            if ctx.cfg.expose_internal_ipv6 {
                raw.extend(addresses(node, "InternalIP").into_iter().filter(|a| infer_type(a) == RecordType::AAAA));
            }
        } else {
            raw.extend(addresses(node, "InternalIP"));
        }
    }
    ctx.targets("node status.addresses", raw.iter().map(String::as_str))
}

/// Adds the endpoints of kops's annotations on a Pod.
pub(crate) fn pod(ctx: &mut Ctx<'_>, pod: &Pod, pod_ip: &[String], cluster: &dyn ClusterView) {
    if ctx.cfg.compatibility != Some(Compatibility::KopsDnsController) {
        return;
    }
    let ann = pod.metadata.annotations.as_ref();
    if let Some(v) = annotation(ann, KOPS_INTERNAL) {
        for h in hosts(v) {
            if let Some(name) = ctx.hostname(KOPS_INTERNAL, &h) {
                ctx.add(&name, pod_ip);
            }
        }
    }
    if let Some(v) = annotation(ann, KOPS_EXTERNAL) {
        let targets = crate::pod::node_targets(ctx, pod, cluster);
        for h in hosts(v) {
            if let Some(name) = ctx.hostname(KOPS_EXTERNAL, &h) {
                ctx.add(&name, &targets);
            }
        }
    }
}

/// Whether a Pod reads its node for kops's external annotation.
pub(crate) fn pod_needs_node(pod: &Pod, compat: Option<Compatibility>) -> bool {
    compat == Some(Compatibility::KopsDnsController)
        && annotation(pod.metadata.annotations.as_ref(), KOPS_EXTERNAL).is_some()
}
