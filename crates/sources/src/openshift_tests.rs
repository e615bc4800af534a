//! Upstream v0.22.0's `openshift-route` semantics, case by case (its binary as built here lacks
//! the source, so these cases stand in for a differential test; see docs/sources.md).

use crate::SourceFlags;
use crate::kind::SourceKind;
use crate::testutil::manifest_lines;

fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
    let mut f = SourceFlags::default();
    edit(&mut f);
    manifest_lines(yaml, &[SourceKind::OpenShiftRoute], &f)
}

/// `web`: admitted by two routers (the first one wins unless --openshift-router-name says);
/// `early`: the first router has not admitted it, the second has; `nameless`: admitted without a
/// canonical host name; `pinned`: a target override and the hostname annotation; `pending`: no
/// status; `other`: another controller.
pub(super) const ROUTES: &str = r#"
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web, namespace: apps, annotations: {external-dns.kubernetes.io/ttl: "60"}}
spec: {host: spec-only.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - {host: web.example.org, routerName: default, routerCanonicalHostname: router-default.apps.example.net, conditions: [{type: Admitted, status: "True"}]}
  - {host: web-internal.example.org, routerName: internal, routerCanonicalHostname: router-internal.apps.example.net, conditions: [{type: Admitted, status: "True"}]}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: early, namespace: apps}
spec: {host: early.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - {host: early.example.org, routerName: default, routerCanonicalHostname: router-default.apps.example.net, conditions: [{type: Admitted, status: "False"}]}
  - {host: early.example.org, routerName: internal, routerCanonicalHostname: router-internal.apps.example.net, conditions: [{type: Admitted, status: "True"}]}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: nameless, namespace: apps}
spec: {host: nameless.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - {host: nameless.example.org, routerName: default, conditions: [{type: Admitted, status: "True"}]}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: pinned
  namespace: apps
  annotations: {external-dns.kubernetes.io/target: 192.0.2.1, external-dns.kubernetes.io/hostname: extra.example.org}
spec: {host: pinned.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - {host: pinned.example.org, routerName: default, routerCanonicalHostname: router-default.apps.example.net, conditions: [{type: Admitted, status: "True"}]}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: pending, namespace: apps, annotations: {external-dns.kubernetes.io/hostname: pending.example.org}}
spec: {host: pending.example.org, to: {kind: Service, name: web}}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: other, namespace: apps, annotations: {external-dns.kubernetes.io/controller: someone-else}}
spec: {host: other.example.org, to: {kind: Service, name: web}}
status:
  ingress:
  - {host: other.example.org, routerName: default, routerCanonicalHostname: router-default.apps.example.net, conditions: [{type: Admitted, status: "True"}]}
"#;

#[test]
fn first_admitted_router_with_a_canonical_name() {
    let want = [
        "early.example.org CNAME router-internal.apps.example.net (route/apps/early)",
        "extra.example.org A 192.0.2.1 (route/apps/pinned)",
        "pinned.example.org A 192.0.2.1 (route/apps/pinned)",
        "web.example.org CNAME ttl=60 router-default.apps.example.net (route/apps/web)",
    ];
    assert_eq!(run(ROUTES, |_| {}), want);
}

#[test]
fn router_name_picks_the_router() {
    let want = [
        "early.example.org CNAME router-internal.apps.example.net (route/apps/early)",
        "extra.example.org A 192.0.2.1 (route/apps/pinned)",
        "web-internal.example.org CNAME ttl=60 router-internal.apps.example.net (route/apps/web)",
    ];
    assert_eq!(run(ROUTES, |f| f.openshift_router_name = "internal".into()), want);
}

#[test]
fn template_and_ignored_annotation() {
    let out = run(ROUTES, |f| {
        f.fqdn_template = vec!["{{.Name}}.tpl.example.org".into()];
        f.ignore_hostname_annotation = true;
    });
    let want = [
        "early.example.org CNAME router-internal.apps.example.net (route/apps/early)",
        "pinned.example.org A 192.0.2.1 (route/apps/pinned)",
        "web.example.org CNAME ttl=60 router-default.apps.example.net (route/apps/web)",
    ];
    // `nameless` and `pending` have no target: their template names make nothing.
    assert_eq!(out, want);
}
