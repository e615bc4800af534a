//! The `node` source: one record set per Node, named after the node or by `--fqdn-template`.
//!
//! Targets: the `target` annotation, else the node's ExternalIP addresses, else its InternalIP
//! addresses (IPv4 → A, IPv6 → AAAA); with `--expose-internal-ipv6`, the IPv6 InternalIP addresses
//! join the ExternalIP ones. Unschedulable nodes are skipped unless
//! `--exclude-unschedulable=false`. Like upstream, only the `ttl` and `target` annotations apply.

use exodns_core::{Invalid, InvalidKind};
use k8s_openapi::api::core::v1::Node;

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Filter, Read, Source};
use crate::resource::Watched;
use crate::service::addresses;

/// The `node` source.
pub struct NodeSource;

impl Source for NodeSource {
    const NAME: &'static str = "node";
    const LABEL: &'static str = "node";
    type Object = Node;
    const READS: &'static [Read] = &[Read::own(Watched::Nodes).namespace(Filter::None)];

    fn endpoints(node: &Node, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(node, cfg)
    }
}

/// The endpoints of one Node.
pub fn endpoints(node: &Node, cfg: &SourceConfig) -> SourceOutput {
    if cfg.exclude_unschedulable && node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
        tracing::debug!(node = ?node.metadata.name, "unschedulable node skipped");
        return SourceOutput::default();
    }
    let mut ctx = match Ctx::admit::<NodeSource>(&node.metadata, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let mut names: Vec<(String, String)> = Vec::new();
    if !cfg.has_dns_name_template() || cfg.combine_fqdn_annotation {
        names.push(("metadata.name".into(), ctx.obj.name.clone()));
    }
    if names.is_empty() || cfg.combine_fqdn_annotation {
        ctx.add_target_pairs("Node", "v1", &node.metadata);
    }
    if cfg.fqdn_template.is_some() && (cfg.combine_fqdn_annotation || names.is_empty()) {
        let hosts = ctx.template_hostnames("Node", "v1", &node.metadata).unwrap_or_default();
        names.extend(hosts.into_iter().map(|h| ("--fqdn-template".to_owned(), h)));
    }
    if names.is_empty() {
        return ctx.finish();
    }
    let targets = match ctx.annotation_targets() {
        Some(t) => t,
        None => {
            let mut raw = addresses(node, "ExternalIP");
            if raw.is_empty() {
                raw = addresses(node, "InternalIP");
            } else if cfg.expose_internal_ipv6 {
                // Upstream's --expose-internal-ipv6: the IPv6 InternalIPs join the ExternalIPs.
                raw.extend(addresses(node, "InternalIP").into_iter().filter(|a| a.contains(':')));
            }
            if raw.is_empty() {
                let msg = "the node has no ExternalIP or InternalIP address";
                ctx.invalid.push(Invalid::new(InvalidKind::Target, "status.addresses", "", msg).on(&ctx.obj));
            }
            ctx.targets("status.addresses", raw.iter().map(String::as_str))
        }
    };
    for (field, raw) in names {
        if let Some(name) = ctx.hostname(&field, &raw) {
            ctx.add(&name, &targets);
        }
    }
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFlags;
    use crate::testutil::*;

    #[test]
    fn external_else_internal_by_family() {
        let cfg = SourceConfig::default();
        let n = mk_node(
            "node1",
            &[("ExternalIP", "54.10.11.1"), ("InternalIP", "10.0.1.1"), ("ExternalIP", "2001:db8::1")],
        );
        assert_eq!(
            lines(&endpoints(&n, &cfg)),
            vec!["node1 A 54.10.11.1 (node/node1)", "node1 AAAA 2001:db8::1 (node/node1)"]
        );
        let n = mk_node("node2", &[("InternalIP", "10.0.1.2"), ("InternalIP", "fd00::2")]);
        assert_eq!(
            lines(&endpoints(&n, &cfg)),
            vec!["node2 A 10.0.1.2 (node/node2)", "node2 AAAA fd00::2 (node/node2)"]
        );
    }

    #[test]
    fn unschedulable_template_and_annotations() {
        let mut n = mk_node("node1", &[("ExternalIP", "1.2.3.4")]);
        n.spec.get_or_insert_default().unschedulable = Some(true);
        assert!(endpoints(&n, &SourceConfig::default()).endpoints.is_empty());
        let keep = SourceConfig { exclude_unschedulable: false, ..SourceConfig::default() };
        assert_eq!(endpoints(&n, &keep).endpoints.len(), 1);

        let n = with_annotations(
            mk_node("node1", &[("ExternalIP", "1.2.3.4")]),
            &[("external-dns.kubernetes.io/ttl", "10m"), ("external-dns.kubernetes.io/target", "5.6.7.8")],
        );
        let cfg = SourceConfig::new(&SourceFlags {
            fqdn_template: vec!["{{.Name}}.nodes.example.org".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(lines(&endpoints(&n, &cfg)), vec!["node1.nodes.example.org A ttl=600 5.6.7.8 (node/node1)"]);
        let combined = SourceConfig { combine_fqdn_annotation: true, ..cfg };
        assert_eq!(endpoints(&n, &combined).endpoints.len(), 2);
    }

    #[test]
    fn no_address_is_reported() {
        let out = endpoints(&mk_node("bare", &[]), &SourceConfig::default());
        assert!(out.endpoints.is_empty());
        assert_eq!(
            out.invalid[0].to_string(),
            "node/bare: status.addresses \"\": the node has no ExternalIP or InternalIP address"
        );
    }
}
