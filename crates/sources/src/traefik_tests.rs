use proptest::prelude::*;

use super::*;
use crate::SourceFlags;
use crate::testutil::manifest_lines;

fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
    let mut f = SourceFlags { source: vec!["traefik-proxy".parse().unwrap()], ..SourceFlags::default() };
    edit(&mut f);
    let kinds = f.selection().unwrap().kinds;
    manifest_lines(yaml, &kinds, |flags| *flags = f)
}

#[test]
fn rule_hosts_as_upstream_reads_them() {
    let h = |r: &str| rule_hosts(r);
    assert_eq!(h("Host(`a.example.org`)"), ["a.example.org"]);
    assert_eq!(h("Host(`a.example.org`) && PathPrefix(`/x`)"), ["a.example.org"]);
    assert_eq!(h("Host(`a.example.org`) || HostHeader( `b.example.org` )"), ["a.example.org", "b.example.org"]);
    assert_eq!(h("Host(`a.example.org`, `b.example.org`)"), ["a.example.org", "b.example.org"]);
    assert_eq!(h("Host(`a.example.org`,`b.example.org`)"), ["a.example.org", "b.example.org"]);
    assert_eq!(h("HostSNI(`tcp.example.org`)"), ["tcp.example.org"]);
    assert!(h("HostSNI(`*`)").is_empty());
    assert!(h("HostRegexp(`^.+\\.example\\.org$`)").is_empty());
    assert!(h("HostSNIRegexp(`^x$`)").is_empty());
    assert!(h("Host(\"a.example.org\")").is_empty(), "quotes are not backquotes");
    assert!(h("PathPrefix(`/`)").is_empty());
    // The argument ends at the backquote before the closing parenthesis, on one line.
    assert!(h("Host(`a.example.org`\n)").len() == 1);
    assert!(h("Host(`a.exam\nple.org`)").is_empty());
}

const ROUTES: &str = r#"
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: apps, annotations: {external-dns.kubernetes.io/target: 192.0.2.1, external-dns.kubernetes.io/ttl: "60"}}
spec:
  routes:
  - {match: "Host(`web.example.org`) || Host(`www.example.org`)", kind: Rule}
  - {match: "PathPrefix(`/`)", kind: Rule}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: no-target, namespace: apps}
spec: {routes: [{match: "Host(`none.example.org`)", kind: Rule}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: {name: db, namespace: apps, annotations: {external-dns.kubernetes.io/target: lb.example.net}}
spec: {routes: [{match: "HostSNI(`db.example.org`)"}, {match: "HostSNI(`*`)"}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteUDP
metadata:
  name: dns
  namespace: apps
  annotations: {external-dns.kubernetes.io/target: "2001:db8::1", external-dns.kubernetes.io/hostname: udp.example.org}
spec: {routes: [{services: [{name: dns, port: 53}]}]}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: bad, namespace: apps, annotations: {external-dns.kubernetes.io/target: 192.0.2.1}}
spec: {routes: [{match: "Host(`bad_name..example.org`)"}]}
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: apps, annotations: {external-dns.kubernetes.io/target: 192.0.2.9, external-dns.kubernetes.io/ttl: "60"}}
spec: {routes: [{match: "Host(`web.example.org`) || Host(`old.example.org`)"}]}
"#;

#[test]
fn hosts_from_rules_and_annotations_targets_from_the_annotation() {
    let out = run(ROUTES, |_| {});
    let (eps, bad): (Vec<_>, Vec<_>) = out.iter().partition(|l| !l.starts_with("INVALID"));
    let want = [
        "db.example.org CNAME lb.example.net (ingressroutetcp/apps/db)",
        "udp.example.org AAAA 2001:db8::1 (ingressrouteudp/apps/dns)",
        "web.example.org A ttl=60 192.0.2.1 (ingressroute/apps/web)",
        "www.example.org A ttl=60 192.0.2.1 (ingressroute/apps/web)",
    ];
    assert_eq!(eps, want.iter().collect::<Vec<_>>(), "{out:#?}");
    assert_eq!(bad.len(), 1, "{out:#?}");
    assert!(bad[0].contains("ingressroute/apps/bad") && bad[0].contains("spec.routes[0].match"), "{bad:?}");
}

#[test]
fn legacy_group_with_its_flags() {
    // Both groups: one object of each named apps/web, merged under one label as upstream.
    let out = run(ROUTES, |f| f.traefik_enable_legacy = true);
    assert!(
        out.contains(&"web.example.org A ttl=60 192.0.2.1,192.0.2.9 (ingressroute/apps/web)".to_owned()),
        "{out:#?}"
    );
    assert!(out.contains(&"old.example.org A ttl=60 192.0.2.9 (ingressroute/apps/web)".to_owned()), "{out:#?}");
    let out = run(ROUTES, |f| {
        f.traefik_enable_legacy = true;
        f.traefik_disable_new = true;
    });
    assert_eq!(
        out,
        [
            "old.example.org A ttl=60 192.0.2.9 (ingressroute/apps/web)",
            "web.example.org A ttl=60 192.0.2.9 (ingressroute/apps/web)"
        ]
    );
    assert!(run(ROUTES, |f| f.traefik_disable_new = true).is_empty());
}

#[test]
fn templates() {
    // --fqdn-template alone gives no targets (upstream takes them from --target-template).
    let out = run(ROUTES, |f| {
        f.fqdn_template = vec!["{{.Name}}.tpl.example.org".into()];
        f.ignore_hostname_annotation = true;
    });
    assert!(!out.iter().any(|l| l.contains("tpl.example.org") || l.starts_with("udp.")), "{out:#?}");
    let out = run(ROUTES, |f| f.fqdn_target_template = vec!["{{.Name}}.pair.example.org:198.51.100.7".into()]);
    assert!(out.iter().any(|l| l.starts_with("no-target.pair.example.org A 198.51.100.7")), "{out:#?}");
    assert!(!out.iter().any(|l| l.starts_with("web.pair")), "web has records of its own: {out:#?}");
    // With --target-template, as upstream's ApplyTemplates: for objects without records of their
    // own; isSource and .Kind see this source's objects.
    let out = run(ROUTES, |f| {
        f.fqdn_template = vec![
            "{{ if isSource \"traefik-proxy\" }}{{ .Name }}.{{ .Kind | toLower }}.tpl.example.org{{ end }}".into(),
        ];
        f.target_template =
            vec!["{{ if eq .Kind \"IngressRoute\" }}198.51.100.8{{ else }}lb.example.net{{ end }}".into()];
    });
    assert!(
        out.contains(&"no-target.ingressroute.tpl.example.org A 198.51.100.8 (ingressroute/apps/no-target)".to_owned()),
        "{out:#?}"
    );
    assert!(!out.iter().any(|l| l.starts_with("web.ingressroute.tpl")), "{out:#?}");
    // A template failing on an object is reported on it; the other objects publish.
    let flags = |f: &mut SourceFlags| {
        f.fqdn_template = vec!["{{ .Name }}.tpl.example.org".into()];
        f.target_template = vec!["t{{ slice .Name 4 }}.lb.example.net".into()];
    };
    let out = run(ROUTES, flags);
    let want = "no-target.tpl.example.org CNAME target.lb.example.net (ingressroute/apps/no-target)";
    assert!(out.contains(&want.to_owned()), "{out:#?}");
    let bad = out.iter().find(|l| l.contains("--target-template")).expect("the failure is reported");
    assert!(bad.contains("ingressroute/apps/bad") && bad.contains("index out of range: 4"), "{bad}");
}

proptest! {
    /// Any rule text: no panic, and every host named is one a backquoted argument of a host
    /// matcher wrote, never `*` and never with a comma or backquote.
    #[test]
    fn rule_hosts_never_invent(rule in "[A-Za-z(`)|&, .*\n]{0,60}") {
        for h in rule_hosts(&rule) {
            prop_assert!(h != "*" && !h.is_empty() && !h.contains(',') && !h.contains('`'));
            let quoted = format!("`{h}`");
            prop_assert!(rule.contains(&quoted));
        }
    }
}
