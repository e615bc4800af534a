//! The `contour-httpproxy` source: Contour HTTPProxies (`projectcontour.io/v1`).
//!
//! Host names: `spec.virtualhost.fqdn` and the `hostname` annotation, then `--fqdn-template`.
//! Targets: the `target` annotation, else the load balancer Contour writes in the status (every
//! entry's IP and host name). Like upstream, the proxy's validity (`status.currentStatus`) is
//! not read: an invalid proxy is still published.

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Read, Source};
use crate::resource::Watched;
use crate::types::{HTTPProxy, LoadBalancerTargets, load_balancer_targets};

/// The `contour-httpproxy` source.
pub struct ContourHttpProxySource;

impl Source for ContourHttpProxySource {
    const NAME: &'static str = "contour-httpproxy";
    const LABEL: &'static str = "HTTPProxy";
    type Object = HTTPProxy;
    const READS: &'static [Read] = &[Read::own(Watched::HttpProxies)];

    fn endpoints(hp: &HTTPProxy, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(hp, cfg)
    }
}

/// The endpoints of one HTTPProxy.
pub fn endpoints(hp: &HTTPProxy, cfg: &SourceConfig) -> SourceOutput {
    let mut ctx = match Ctx::admit::<ContourHttpProxySource>(&hp.metadata, Routing::Annotations, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let lb = hp.status.as_ref().and_then(|s| s.load_balancer.as_ref());
    let targets = ctx.targets_or("status.loadBalancer.ingress", load_balancer_targets(lb, LoadBalancerTargets::Both));
    let mut hosts: Vec<(String, String)> = Vec::new();
    if let Some(fqdn) = hp.spec.virtualhost.as_ref().map(|v| v.fqdn.as_str()).filter(|f| !f.is_empty()) {
        hosts.push(("spec.virtualhost.fqdn".to_owned(), fqdn.to_owned()));
    }
    hosts.extend(ctx.annotation_hosts());
    ctx.add_hosts(&hosts, &targets);
    ctx.add_template_hosts("HTTPProxy", "projectcontour.io/v1", &hp.metadata, &targets);
    ctx.finish()
}

#[cfg(test)]
mod tests {

    use crate::SourceFlags;
    use crate::kind::SourceKind;
    use crate::testutil::manifest_lines;

    fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
        manifest_lines(yaml, &[SourceKind::ContourHttpProxy], edit)
    }

    const PROXIES: &str = r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: web, namespace: apps, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec: {virtualhost: {fqdn: web.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1, hostname: lb.example.net}, {ip: "2001:db8::1"}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: extra
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: "a.example.org, b.example.org", external-dns.kubernetes.io/target: fixed.example.net}
spec: {virtualhost: {fqdn: extra.example.org}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: included, namespace: apps}
spec: {routes: [{services: [{name: web, port: 80}]}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: pending, namespace: apps}
spec: {virtualhost: {fqdn: pending.example.org}}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: bad, namespace: apps}
spec: {virtualhost: {fqdn: "bad_name..example.org"}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
"#;

    #[test]
    fn hosts_targets_and_bad_names() {
        let out = run(PROXIES, |_| {});
        let want = [
            "a.example.org CNAME fixed.example.net (HTTPProxy/apps/extra)",
            "b.example.org CNAME fixed.example.net (HTTPProxy/apps/extra)",
            "extra.example.org CNAME fixed.example.net (HTTPProxy/apps/extra)",
            "web.example.org A ttl=60 192.0.2.1 (HTTPProxy/apps/web)",
            "web.example.org AAAA ttl=60 2001:db8::1 (HTTPProxy/apps/web)",
            "web.example.org CNAME ttl=60 lb.example.net (HTTPProxy/apps/web)",
        ];
        let (eps, bad): (Vec<_>, Vec<_>) = out.iter().partition(|l| !l.starts_with("INVALID"));
        assert_eq!(eps, want.iter().collect::<Vec<_>>(), "{out:#?}");
        assert_eq!(bad.len(), 1, "{out:#?}");
        assert!(bad[0].contains("HTTPProxy/apps/bad") && bad[0].contains("spec.virtualhost.fqdn"), "{bad:?}");
    }

    #[test]
    fn template_and_ignored_annotation() {
        let out = run(PROXIES, |f| {
            f.fqdn_template = vec!["{{.Name}}.tpl.example.org".into()];
            f.ignore_hostname_annotation = true;
        });
        assert!(out.contains(&"included.tpl.example.org A 192.0.2.1 (HTTPProxy/apps/included)".to_owned()));
        assert!(!out.iter().any(|l| l.starts_with("a.example.org") || l.starts_with("web.tpl")), "{out:#?}");
        assert!(!out.iter().any(|l| l.starts_with("pending")), "no address yet: {out:#?}");
    }
}
