//! The `ambassador-host` source: Emissary-ingress (Ambassador) Hosts
//! (`getambassador.io/v3alpha1`).
//!
//! Only a Host with the `external-dns.ambassador-service` annotation is read: it names the
//! Service in front of Emissary (`namespace/name`, `name.namespace`, or `name` in `default`).
//! Host name: `spec.hostname` (no `hostname` annotation, no `--fqdn-template`, as upstream).
//! Targets: the `target` annotation, else that Service's external IPs, else every entry of its
//! load balancer status (IP and host name). A Service that does not exist is reported on the
//! annotation (upstream logs it and skips the Host).

use exodns_core::{Invalid, InvalidKind, ObjectRef};
use k8s_openapi::api::core::v1::Service;

use crate::SourceOutput;
use crate::cluster::{ClusterView, ClusterViewExt, namespace_of};
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{AnyObject, Change, Read, Source};
use crate::resource::Watched;
use crate::types::{AMBASSADOR_SERVICE_ANNOTATION, AmbassadorHost, LoadBalancerTargets, load_balancer_targets};

/// The `ambassador-host` source.
pub struct AmbassadorHostSource;

impl Source for AmbassadorHostSource {
    const NAME: &'static str = "ambassador-host";
    const LABEL: &'static str = "host";
    type Object = AmbassadorHost;
    // Upstream gets the Service from any namespace, whatever `--namespace` says.
    const READS: &'static [Read] = &[Read::own(Watched::AmbassadorHosts), Read::lookup(Watched::Services).on_demand()];

    fn endpoints(host: &AmbassadorHost, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(host, view, cfg)
    }

    fn dependents(change: &Change<'_>, view: &dyn ClusterView, cfg: &SourceConfig, out: &mut Vec<ObjectRef>) {
        let Some(svc) = change.either::<Service>() else { return };
        let wanted = (namespace_of(&svc.metadata), svc.metadata.name.as_deref().unwrap_or_default());
        for host in view.list::<AmbassadorHost>(cfg.namespace.as_deref()) {
            if service_of(&host).and_then(|s| parse_service(s).ok()) == Some(wanted) {
                let r = Self::object_ref(&host.metadata);
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
    }

    fn needs(object: AnyObject<'_>, _cfg: &SourceConfig) -> Vec<Watched> {
        match object.get::<AmbassadorHost>() {
            Some(h) if service_of(h).is_some() => vec![Watched::Services],
            _ => Vec::new(),
        }
    }
}

fn service_of(host: &AmbassadorHost) -> Option<&str> {
    host.metadata.annotations.as_ref()?.get(AMBASSADOR_SERVICE_ANNOTATION).map(String::as_str)
}

/// `(namespace, name)` of the annotation's Service: `namespace/name`, `name.namespace` (split at
/// the first dot), or `name` (in `default`, not the Host's namespace, as upstream).
pub fn parse_service(raw: &str) -> Result<(&str, &str), &'static str> {
    let parts: Vec<&str> = raw.split('/').collect();
    let (ns, name) = match parts.as_slice() {
        [one] => one.split_once('.').map_or(("default", *one), |(name, ns)| (ns, name)),
        [ns, name] => (*ns, *name),
        _ => return Err("must be namespace/name, name.namespace or name"),
    };
    if ns.is_empty() || name.is_empty() {
        return Err("must be namespace/name, name.namespace or name");
    }
    Ok((ns, name))
}

/// The endpoints of one Host.
pub fn endpoints(host: &AmbassadorHost, view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
    let Some(service) = service_of(host) else {
        tracing::debug!(host = ?host.metadata.name, "no {AMBASSADOR_SERVICE_ANNOTATION} annotation: skipped");
        return SourceOutput::default();
    };
    let mut ctx = match Ctx::admit::<AmbassadorHostSource>(&host.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let field = format!("annotation {AMBASSADOR_SERVICE_ANNOTATION}");
    let targets = match ctx.annotation_targets() {
        Some(t) => t,
        None => match parse_service(service) {
            Err(reason) => {
                ctx.invalid.push(Invalid::new(InvalidKind::Annotation, field, service, reason).on(&ctx.obj));
                return ctx.finish();
            }
            Ok((ns, name)) => match view.get::<Service>(ns, name) {
                None => {
                    let e = Invalid::new(InvalidKind::Object, field, service, format!("Service {ns}/{name} not found"));
                    ctx.invalid.push(e.on(&ctx.obj));
                    return ctx.finish();
                }
                Some(svc) => {
                    let external = svc.spec.as_ref().and_then(|s| s.external_ips.as_ref()).filter(|i| !i.is_empty());
                    let raw: Vec<&str> = match external {
                        Some(ips) => ips.iter().map(String::as_str).collect(),
                        None => load_balancer_targets(
                            svc.status.as_ref().and_then(|s| s.load_balancer.as_ref()),
                            LoadBalancerTargets::Both,
                        ),
                    };
                    ctx.targets(&format!("Service {ns}/{name} status.loadBalancer"), raw)
                }
            },
        },
    };
    if let Some(h) = host.spec.as_ref().map(|s| s.hostname.as_str()).filter(|h| !h.is_empty()) {
        ctx.add_hosts(&[("spec.hostname".to_owned(), h.to_owned())], &targets);
    }
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cluster::Objects;
    use crate::kind::SourceKind;
    use crate::testutil::manifest_lines;
    use crate::{SourceFlags, manifest};

    fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
        manifest_lines(yaml, &[SourceKind::AmbassadorHost], edit)
    }

    const HOSTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: emissary, namespace: emissary}
spec: {type: LoadBalancer, ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1, hostname: lb.example.net}]}}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: default}
spec: {type: LoadBalancer, externalIPs: [198.51.100.1], ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web, namespace: apps, annotations: {external-dns.ambassador-service: emissary/emissary, external-dns.kubernetes.io/ttl: "60"}}
spec: {hostname: web.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: dotted, namespace: apps, annotations: {external-dns.ambassador-service: emissary.emissary}}
spec: {hostname: dotted.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: plain, namespace: apps, annotations: {external-dns.ambassador-service: edge}}
spec: {hostname: plain.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: pinned, namespace: apps, annotations: {external-dns.ambassador-service: missing, external-dns.kubernetes.io/target: fixed.example.net}}
spec: {hostname: pinned.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: unannotated, namespace: apps, annotations: {external-dns.kubernetes.io/target: 192.0.2.7}}
spec: {hostname: skipped.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: lost, namespace: apps, annotations: {external-dns.ambassador-service: apps/nowhere}}
spec: {hostname: lost.example.org}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: bad, namespace: apps, annotations: {external-dns.ambassador-service: a/b/c}}
spec: {hostname: bad.example.org}
"#;

    #[test]
    fn hosts_services_and_bad_references() {
        let out = run(HOSTS, |_| {});
        let (eps, bad): (Vec<_>, Vec<_>) = out.iter().partition(|l| !l.starts_with("INVALID"));
        let want = [
            "dotted.example.org A 192.0.2.1 (host/apps/dotted)",
            "dotted.example.org CNAME lb.example.net (host/apps/dotted)",
            "pinned.example.org CNAME fixed.example.net (host/apps/pinned)",
            "plain.example.org A 198.51.100.1 (host/apps/plain)",
            "web.example.org A ttl=60 192.0.2.1 (host/apps/web)",
            "web.example.org CNAME ttl=60 lb.example.net (host/apps/web)",
        ];
        assert_eq!(eps, want.iter().collect::<Vec<_>>(), "{out:#?}");
        assert_eq!(bad.len(), 2, "{out:#?}");
        assert!(bad.iter().any(|b| b.contains("host/apps/lost") && b.contains("apps/nowhere not found")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("host/apps/bad") && b.contains("ambassador-service")), "{bad:?}");
    }

    #[test]
    fn service_references() {
        assert_eq!(parse_service("ns/svc"), Ok(("ns", "svc")));
        assert_eq!(parse_service("svc.ns.more"), Ok(("ns.more", "svc")));
        assert_eq!(parse_service("svc"), Ok(("default", "svc")));
        assert!(parse_service("a/b/c").is_err() && parse_service("/svc").is_err());
    }

    #[test]
    fn a_service_change_names_the_hosts_behind_it() {
        let (objects, _) = manifest::parse(HOSTS, Path::new("test.yaml"));
        let objs: Objects = objects.into_iter().collect();
        let svc: std::sync::Arc<Service> = objs.get("emissary", "emissary").unwrap();
        let mut out = Vec::new();
        let cfg = SourceConfig::default();
        AmbassadorHostSource::dependents(&Change::new(Some(&*svc), None), &objs, &cfg, &mut out);
        let mut got: Vec<String> = out.iter().map(ToString::to_string).collect();
        got.sort();
        assert_eq!(got, ["host/apps/dotted", "host/apps/web"]);
    }
}
