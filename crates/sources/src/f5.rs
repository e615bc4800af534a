//! The `f5-virtualserver` and `f5-transportserver` sources: F5 CIS VirtualServers and
//! TransportServers (`cis.f5.com/v1`), one description over each type ([`F5Source`]).
//!
//! Only an object BIG-IP gave an address is published: `status.vsAddress` set and not `None`.
//! Host names: `spec.host`, and a VirtualServer's `spec.hostAliases` (no `hostname` annotation,
//! as upstream). Targets: the `target` annotation, else `spec.virtualServerAddress`, else
//! `status.vsAddress`. `ttl` applies; `set-identifier` and the provider-specific annotations do
//! not (upstream passes none). Then, as upstream's `ApplyTemplates`, for an object with no records
//! of its own (always with `--combine-fqdn-annotation`): `--fqdn-target-template`'s pairs, then
//! `--fqdn-template`'s names with `--target-template`'s targets.

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
    ctx.apply_typed_templates::<K>(meta);
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

    #[test]
    fn target_template_for_objects_without_records() {
        // As upstream's ApplyTemplates: --fqdn-template's names take --target-template's targets;
        // a name without a target makes nothing; combined, every object gets them.
        let tpl = |f: &mut SourceFlags| {
            f.fqdn_template =
                vec!["{{ .Name }}.{{ if isSource \"f5-virtualserver\" }}vs{{ else }}ts{{ end }}.example.org".into()];
            f.target_template = vec!["{{ range $i := 2 }}198.51.100.{{ $i }},{{ end }}".into()];
        };
        let out = run(OBJECTS, tpl);
        assert!(
            out.contains(
                &"pending.vs.example.org A 198.51.100.0,198.51.100.1 (f5-virtualserver/apps/pending)".to_owned()
            ),
            "{out:#?}"
        );
        assert!(!out.iter().any(|l| l.starts_with("web.vs")), "{out:#?}");
        let out = run(OBJECTS, |f| {
            tpl(f);
            f.combine_fqdn_annotation = true;
        });
        assert!(
            out.contains(&"db.ts.example.org A 198.51.100.0,198.51.100.1 (f5-transportserver/apps/db)".to_owned()),
            "{out:#?}"
        );
        assert!(out.iter().any(|l| l.starts_with("web.vs.example.org A ttl=60")), "{out:#?}");
        let out = run(OBJECTS, |f| f.fqdn_template = vec!["{{ .Name }}.vs.example.org".into()]);
        assert!(!out.iter().any(|l| l.contains(".vs.example.org")), "no targets, no records: {out:#?}");
    }
}
