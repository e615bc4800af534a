//! Upstream v0.22.0's `openshift-route` semantics, case by case (its binary as built here lacks
//! the source, so these cases stand in for a differential test; see docs/sources.md).

use crate::SourceFlags;
use crate::kind::SourceKind;
use crate::testutil::manifest_lines;

fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
    manifest_lines(yaml, &[SourceKind::OpenShiftRoute], edit)
}

/// `web`: admitted by two routers (the first one wins unless --openshift-router-name says);
/// `early`: the first router has not admitted it, the second has; `nameless`: admitted without a
/// canonical host name; `pinned`: a target override and the hostname annotation; `pending`: no
/// status; `other`: another controller; `routed` (namespace `shop`): a set identifier with a
/// provider-specific property; `wild`: a wildcard host with a label.
pub(super) const ROUTES: &str = include_str!("../tests/data/openshift-routes.yaml");

#[test]
fn first_admitted_router_with_a_canonical_name() {
    let want = [
        "*.wild.example.org CNAME router-default.apps.example.net (route/shop/wild)",
        "early.example.org CNAME router-internal.apps.example.net (route/web/early)",
        "extra.example.org A 192.0.2.1 (route/web/pinned)",
        "pinned.example.org A 192.0.2.1 (route/web/pinned)",
        "routed.example.org CNAME [blue] router-default.apps.example.net (route/shop/routed)",
        "web.example.org CNAME ttl=60 router-default.apps.example.net (route/web/web)",
    ];
    assert_eq!(run(ROUTES, |_| {}), want);
}

#[test]
fn router_name_picks_the_router() {
    let want = [
        "early.example.org CNAME router-internal.apps.example.net (route/web/early)",
        "extra.example.org A 192.0.2.1 (route/web/pinned)",
        "web-internal.example.org CNAME ttl=60 router-internal.apps.example.net (route/web/web)",
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
        "*.wild.example.org CNAME router-default.apps.example.net (route/shop/wild)",
        "early.example.org CNAME router-internal.apps.example.net (route/web/early)",
        "pinned.example.org A 192.0.2.1 (route/web/pinned)",
        "routed.example.org CNAME [blue] router-default.apps.example.net (route/shop/routed)",
        "web.example.org CNAME ttl=60 router-default.apps.example.net (route/web/web)",
    ];
    // `nameless` and `pending` have no target: their template names make nothing.
    assert_eq!(out, want);
}
