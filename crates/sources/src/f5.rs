//! The `f5-virtualserver` and `f5-transportserver` sources: F5 CIS VirtualServers and
//! TransportServers (`cis.f5.com/v1`), one description over each type ([`F5Source`]).
//!
//! Only an object BIG-IP gave an address is published: `status.vsAddress` set and not `None`.
//! Host names: `spec.host`, and a VirtualServer's `spec.hostAliases` (no `hostname` annotation,
//! as upstream). Targets: the `target` annotation, else `spec.virtualServerAddress`, else
//! `status.vsAddress`. `ttl` applies; `set-identifier` and the provider-specific annotations do
//! not (upstream passes none). `--fqdn-template` adds nothing (upstream takes a template's
//! targets from `--target-template`, which exodns does not have); `--fqdn-target-template` does,
//! for an object with no records of its own.

use std::marker::PhantomData;

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Read, Source};
use crate::types::F5Object;

/// The `f5-virtualserver` or `f5-transportserver` source, over the objects of its type.
pub struct F5Source<K>(PhantomData<K>);

impl<K: F5Object> Source for F5Source<K> {
    const NAME: &'static str = K::NAME;
    const LABEL: &'static str = K::NAME;
    type Object = K;
    const READS: &'static [Read] = &[Read::own(K::RESOURCE)];

    fn endpoints(object: &K, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(object, cfg)
    }
}

/// The endpoints of one VirtualServer or TransportServer.
pub fn endpoints<K: F5Object>(object: &K, cfg: &SourceConfig) -> SourceOutput {
    let meta = object.meta();
    let mut ctx = match Ctx::admit::<F5Source<K>>(meta, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let spec = object.spec();
    let vs_address = object.status().map_or("", |s| s.vs_address.as_str());
    if !vs_address.is_empty() && !vs_address.eq_ignore_ascii_case("none") {
        let targets = match ctx.annotation_targets() {
            Some(t) => t,
            None if !spec.virtual_server_address.is_empty() => {
                ctx.targets("spec.virtualServerAddress", [spec.virtual_server_address.as_str()])
            }
            None => ctx.targets("status.vsAddress", [vs_address]),
        };
        let mut hosts: Vec<(String, String)> = Vec::new();
        if !spec.host.is_empty() {
            hosts.push(("spec.host".to_owned(), spec.host.clone()));
        }
        for (i, alias) in spec.host_aliases.iter().enumerate().filter(|(_, a)| !a.is_empty()) {
            hosts.push((format!("spec.hostAliases[{i}]"), alias.clone()));
        }
        ctx.add_hosts(&hosts, &targets);
    } else {
        tracing::debug!(object = %ctx.obj, "no address from BIG-IP yet (status.vsAddress)");
    }
    let api_version = K::RESOURCE.api_version(K::VERSIONS[0]);
    ctx.add_target_pairs(K::RESOURCE.kind(), &api_version, meta);
    ctx.finish()
}

#[cfg(test)]
mod tests {

    use crate::SourceFlags;
    use crate::kind::SourceKind;
    use crate::testutil::manifest_lines;

    fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
        manifest_lines(yaml, &[SourceKind::F5VirtualServer, SourceKind::F5TransportServer], edit)
    }

    const OBJECTS: &str = r#"
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: web, namespace: apps, annotations: {external-dns.kubernetes.io/ttl: "60", external-dns.kubernetes.io/set-identifier: blue}}
spec: {host: web.example.org, hostAliases: [www.example.org, ""], virtualServerAddress: 192.0.2.1}
status: {vsAddress: 192.0.2.9}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: ipam, namespace: apps}
spec: {host: ipam.example.org}
status: {vsAddress: 192.0.2.2}
---
apiVersion: cis.f5.com/v1
kind: VirtualServer
metadata: {name: pending, namespace: apps}
spec: {host: pending.example.org, virtualServerAddress: 192.0.2.3}
status: {vsAddress: None}
---
apiVersion: cis.f5.com/v1
kind: TransportServer
metadata: {name: db, namespace: apps, annotations: {external-dns.kubernetes.io/target: db.lb.example.net, external-dns.kubernetes.io/hostname: ignored.example.org}}
spec: {host: db.example.org, virtualServerAddress: 192.0.2.4}
status: {vsAddress: 192.0.2.4}
"#;

    #[test]
    fn hosts_addresses_and_status() {
        let out = run(OBJECTS, |_| {});
        let want = [
            "db.example.org CNAME db.lb.example.net (f5-transportserver/apps/db)",
            "ipam.example.org A 192.0.2.2 (f5-virtualserver/apps/ipam)",
            "web.example.org A ttl=60 192.0.2.1 (f5-virtualserver/apps/web)",
            "www.example.org A ttl=60 192.0.2.1 (f5-virtualserver/apps/web)",
        ];
        assert_eq!(out, want, "{out:#?}");
    }

    #[test]
    fn target_pairs_for_objects_without_records() {
        let out = run(OBJECTS, |f| f.fqdn_target_template = vec!["{{.Name}}.pair.example.org:198.51.100.1".into()]);
        assert!(out.contains(&"pending.pair.example.org A 198.51.100.1 (f5-virtualserver/apps/pending)".to_owned()));
        assert!(!out.iter().any(|l| l.starts_with("web.pair")), "{out:#?}");
    }
}
