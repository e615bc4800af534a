//! Istio Gateway and VirtualService cases (upstream's istio_gateway_test.go and
//! istio_virtualservice_test.go rules), written as manifests.

use std::path::Path;

use super::*;
use crate::cluster::Objects;
use crate::kind::SourceKind;
use crate::testutil::lines;
use crate::{SourceFlags, manifest};

fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

fn objects(yaml: &str) -> Objects {
    let (objects, errors) = manifest::parse(yaml, Path::new("test.yaml"));
    assert!(errors.is_empty(), "{errors:?}");
    objects.into_iter().collect()
}

/// Every object of `kind` as `lines`, sorted.
fn run(objs: &Objects, kind: SourceKind, cfg: &SourceConfig) -> Vec<String> {
    let mut out: Vec<String> = manifest::per_object(objs, &[kind], cfg).iter().flat_map(|(_, o)| lines(o)).collect();
    out.sort();
    out
}

/// An ingress gateway's Services: one with a load balancer IP and one with a host name (both
/// select `istio: ingressgateway`), one with external IPs (`istio: edge`), one unrelated.
const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: igw, namespace: istio-system}
spec: {type: LoadBalancer, selector: {istio: ingressgateway, app: igw}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: v1
kind: Service
metadata: {name: igw-cloud, namespace: istio-system}
spec: {type: LoadBalancer, selector: {istio: ingressgateway}}
status: {loadBalancer: {ingress: [{hostname: lb.cloud.example.net}]}}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: infra}
spec: {type: ClusterIP, selector: {istio: edge}, externalIPs: [198.51.100.7]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.99}]}}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: apps}
spec: {type: LoadBalancer, selector: {app: other}}
status: {loadBalancer: {ingress: [{ip: 192.0.2.50}]}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front, namespace: infra}
status: {loadBalancer: {ingress: [{ip: 203.0.113.5, hostname: ignored.example.net}, {hostname: front.cloud.example.net}]}}
"#;

const GATEWAYS: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: infra, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - hosts: [a.example.org, "apps/b.example.org", "./c.example.org"]
  - hosts: ["*.wild.example.org"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: edge
  namespace: infra
  annotations: {external-dns.kubernetes.io/hostname: "edge.example.org, edge2.example.org"}
spec:
  selector: {istio: edge}
  servers: [{hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: fixed
  namespace: infra
  annotations: {external-dns.kubernetes.io/target: "fixed.example.net.", external-dns.kubernetes.io/ingress: front}
spec:
  selector: {istio: ingressgateway}
  servers: [{hosts: [fixed.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: fronted, namespace: infra, annotations: {external-dns.kubernetes.io/ingress: infra/front}}
spec:
  servers: [{hosts: [fronted.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: nowhere, namespace: infra}
spec:
  selector: {istio: none}
  servers: [{hosts: [nowhere.example.org]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other-controller, namespace: infra, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec:
  selector: {istio: ingressgateway}
  servers: [{hosts: [skipped.example.org]}]
"#;

#[test]
fn gateway_hosts_and_targets() {
    let objs = objects(&format!("{SERVICES}---{GATEWAYS}"));
    assert_eq!(
        run(&objs, SourceKind::IstioGateway, &SourceConfig::default()),
        [
            "*.wild.example.org A ttl=60 192.0.2.1 (gateway/infra/public)",
            "*.wild.example.org CNAME ttl=60 lb.cloud.example.net (gateway/infra/public)",
            "a.example.org A ttl=60 192.0.2.1 (gateway/infra/public)",
            "a.example.org CNAME ttl=60 lb.cloud.example.net (gateway/infra/public)",
            "b.example.org A ttl=60 192.0.2.1 (gateway/infra/public)",
            "b.example.org CNAME ttl=60 lb.cloud.example.net (gateway/infra/public)",
            "c.example.org A ttl=60 192.0.2.1 (gateway/infra/public)",
            "c.example.org CNAME ttl=60 lb.cloud.example.net (gateway/infra/public)",
            "edge.example.org A 198.51.100.7 (gateway/infra/edge)",
            "edge2.example.org A 198.51.100.7 (gateway/infra/edge)",
            "fixed.example.org CNAME fixed.example.net (gateway/infra/fixed)",
            "fronted.example.org A 203.0.113.5 (gateway/infra/fronted)",
            "fronted.example.org CNAME front.cloud.example.net (gateway/infra/fronted)",
        ]
    );
}

#[test]
fn gateway_lookups_honour_namespace_and_report_what_is_missing() {
    // With --namespace=infra, the Services of istio-system are not read.
    let objs = objects(&format!("{SERVICES}---{GATEWAYS}"));
    let got = run(&objs, SourceKind::IstioGateway, &cfg(|f| f.namespace = "infra".into()));
    assert!(got.iter().all(|l| !l.contains("192.0.2.1 ") && !l.contains("lb.cloud")), "{got:#?}");
    assert!(got.contains(&"edge.example.org A 198.51.100.7 (gateway/infra/edge)".to_owned()), "{got:#?}");

    let objs = objects(
        r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: lost, namespace: infra, annotations: {external-dns.kubernetes.io/ingress: gone}}
spec: {servers: [{hosts: [lost.example.org]}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bad, namespace: infra, annotations: {external-dns.kubernetes.io/ingress: a/b/c}}
spec: {servers: [{hosts: [bad.example.org]}]}
"#,
    );
    let got = run(&objs, SourceKind::IstioGateway, &SourceConfig::default());
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("INVALID") && got[0].contains("gateway/infra/bad") && got[0].contains("a/b/c"),
        "{got:#?}"
    );
    assert!(got[1].contains("Ingress infra/gone not found"), "{got:#?}");
}

const VIRTUAL_SERVICES: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: apps}
spec:
  hosts: [web.example.org, "apps/api.example.org", "*", unbound.other.org]
  gateways: [infra/public, mesh]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: apps}
spec:
  hosts: [x.wild.example.org]
  gateways: [infra/public]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: apps}
spec:
  hosts: [a.example.org]
  gateways: [infra/public]
  exportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: two, namespace: infra}
spec:
  hosts: [c.example.org]
  gateways: [public, infra/edge, missing]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: pinned
  namespace: apps
  annotations: {external-dns.kubernetes.io/target: 203.0.113.9, external-dns.kubernetes.io/hostname: extra.example.org}
spec:
  hosts: [pinned.example.org]
  gateways: [infra/nowhere]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: broken, namespace: apps}
spec:
  hosts: [b.example.org]
  gateways: [x/y/z, infra/public]
"#;

#[test]
fn virtual_services_bind_to_their_gateways() {
    let objs = objects(&format!("{SERVICES}---{GATEWAYS}---{VIRTUAL_SERVICES}"));
    let got = run(&objs, SourceKind::IstioVirtualService, &SourceConfig::default());
    assert_eq!(
        got,
        [
            // `apps/b.example.org` on the Gateway admits the VirtualService of namespace apps.
            "INVALID virtualservice/apps/broken: spec.gateways[0] \"x/y/z\": must be a name or namespace/name",
            "b.example.org A 192.0.2.1 (virtualservice/apps/broken)",
            "b.example.org CNAME lb.cloud.example.net (virtualservice/apps/broken)",
            // `./c.example.org` admits VirtualServices of the Gateway's own namespace; the edge
            // Gateway (host `*`) adds its address; `missing` does not exist.
            "c.example.org A 192.0.2.1,198.51.100.7 (virtualservice/infra/two)",
            "c.example.org CNAME lb.cloud.example.net (virtualservice/infra/two)",
            "extra.example.org A 203.0.113.9 (virtualservice/apps/pinned)",
            "pinned.example.org A 203.0.113.9 (virtualservice/apps/pinned)",
            // web.example.org and api.example.org are not among the Gateway's hosts; exported
            // only to its own namespace, `private` does not bind to a Gateway in infra.
            "x.wild.example.org A 192.0.2.1 (virtualservice/apps/wild)",
            "x.wild.example.org CNAME lb.cloud.example.net (virtualservice/apps/wild)",
        ]
    );
}

#[test]
fn binding_rules() {
    let objs = objects(GATEWAYS);
    let public = objs.get::<IstioGateway>("infra", "public").unwrap();
    let vs = |ns: &str, export: &[&str]| VirtualService {
        metadata: crate::testutil::meta(ns, "v"),
        spec: crate::types::VirtualServiceSpec {
            export_to: export.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    };
    for (ns, export, host, want) in [
        ("apps", &[][..], "a.example.org", true),
        ("apps", &[], "b.example.org", true),
        ("other", &[], "b.example.org", false),
        ("infra", &[], "c.example.org", true),
        ("apps", &[], "c.example.org", false),
        ("apps", &[], "deep.x.wild.example.org", true),
        ("apps", &[], "wild.example.org", false),
        ("apps", &["."], "a.example.org", false),
        ("apps", &["infra"], "a.example.org", true),
        ("apps", &["*"], "a.example.org", true),
        ("infra", &["."], "a.example.org", true),
    ] {
        assert_eq!(binds_to_gateway(&vs(ns, export), &public, host), want, "{ns} {export:?} {host}");
    }
}

/// A change to a Service or an Ingress re-plans exactly the Gateways that take their targets
/// from it, and the VirtualServices bound to those; a change to a Gateway, the VirtualServices
/// that name it.
#[test]
fn dependents_follow_the_chain() {
    use crate::kind::{Change, Source};
    let objs = objects(&format!("{SERVICES}---{GATEWAYS}---{VIRTUAL_SERVICES}"));
    let cfg = SourceConfig::default();
    let deps = |kind: SourceKind, change: &Change<'_>| -> Vec<String> {
        let mut out = Vec::new();
        match kind {
            SourceKind::IstioGateway => IstioGatewaySource::dependents(change, &objs, &cfg, &mut out),
            _ => IstioVirtualServiceSource::dependents(change, &objs, &cfg, &mut out),
        }
        let mut v: Vec<String> = out.iter().map(|r| r.to_string()).collect();
        v.sort();
        v
    };
    let igw = objs.get::<Service>("istio-system", "igw").unwrap();
    let change = Change::new(Some(igw.as_ref()), Some(igw.as_ref()));
    assert_eq!(deps(SourceKind::IstioGateway, &change), ["gateway/infra/other-controller", "gateway/infra/public"]);
    assert_eq!(
        deps(SourceKind::IstioVirtualService, &change),
        [
            "virtualservice/apps/broken",
            "virtualservice/apps/private",
            "virtualservice/apps/web",
            "virtualservice/apps/wild",
            "virtualservice/infra/two"
        ]
    );
    let other = objs.get::<Service>("apps", "other").unwrap();
    assert!(deps(SourceKind::IstioVirtualService, &Change::new(None, Some(other.as_ref()))).is_empty());
    let front = objs.get::<Ingress>("infra", "front").unwrap();
    let change = Change::new(Some(front.as_ref()), None);
    assert_eq!(deps(SourceKind::IstioGateway, &change), ["gateway/infra/fronted"]);
    let edge = objs.get::<IstioGateway>("infra", "edge").unwrap();
    let change = Change::new(None, Some(edge.as_ref()));
    assert_eq!(deps(SourceKind::IstioVirtualService, &change), ["virtualservice/infra/two"]);

    // Reading targets needs the Services, the Ingress, or nothing.
    let needs = |name: &str| {
        IstioGatewaySource::needs(AnyObject::new(objs.get::<IstioGateway>("infra", name).unwrap().as_ref()), &cfg)
    };
    assert_eq!(needs("public"), [Watched::Services]);
    assert_eq!(needs("fronted"), [Watched::Ingresses]);
    assert!(needs("fixed").is_empty());
}

#[test]
fn template_names_take_the_gateways_targets() {
    let objs = objects(&format!("{SERVICES}---{GATEWAYS}"));
    let c = cfg(|f| f.fqdn_template = vec!["{{.Name}}.tpl.example.org".into()]);
    // Every Gateway with targets names itself already: the template adds nothing.
    let got = run(&objs, SourceKind::IstioGateway, &c);
    assert!(!got.is_empty() && got.iter().all(|l| !l.contains("tpl")), "{got:#?}");
    let vs = objects(&format!(
        "{SERVICES}---{GATEWAYS}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: t, namespace: infra, annotations: {{external-dns.kubernetes.io/target: 203.0.113.1}}}}\nspec: {{gateways: [edge]}}\n"
    ));
    // No hosts: the template names it, with the Gateways' targets (not its own annotation).
    assert_eq!(
        run(&vs, SourceKind::IstioVirtualService, &c),
        ["t.tpl.example.org A 198.51.100.7 (virtualservice/infra/t)"]
    );
}
