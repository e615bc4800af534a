//! The `openshift-route` source on a real apiserver with OpenShift's published Route CRD
//! (github.com/openshift/api): no differential test — the upstream v0.22.0 binary built here
//! lacks the source (its pinned github.com/openshift/api is not served; see
//! scripts/testbed/build-peers.sh), which the test confirms — so the records are checked against
//! upstream's rules as written out by hand, under the shipped ClusterRole.

use exodns_testbed::kube::KubeApiserver;

use crate::diff::{Differ, apply_in_namespaces};

/// Routes: admitted by two routers (the first wins, `--openshift-router-name` picks); the first
/// router refused it; admitted without a canonical name; a target override with the hostname
/// annotation; no status; another controller; a set identifier with a provider-specific
/// property; a wildcard host in another namespace with a label.
const ROUTES: &str = include_str!("../../../sources/tests/data/openshift-routes.yaml");

/// The records (ownership TXT records left out) `exodns plan` wants with `flags`.
fn records(differ: &Differ, flags: &[&str]) -> Vec<String> {
    let mut args = vec!["--source=openshift-route"];
    args.extend_from_slice(flags);
    let (made, _log) = differ.exodns(&args);
    made.into_iter().filter(|r| r.split(' ').nth(1) != Some("TXT")).collect()
}

#[test]
fn openshift_route_follows_upstreams_rules() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    differ.exodns_names_missing(&["--source=openshift-route"], &["routes.route.openshift.io", "install the Route CRD"]);
    kube.install_crds(&["openshift"]).expect("OpenShift's Route CRD");
    apply_in_namespaces(&kube, &["web", "shop"], ROUTES);

    // The upstream binary built here has no openshift-route source.
    let upstream = differ.upstream(&["--source=openshift-route"]).expect_err("upstream lacks openshift-route");
    assert!(upstream.contains("source not found"), "{upstream}");

    let web = |host: &str, router: &str| {
        format!(r#"{host} CNAME ttl=60 router-{router}.apps.example.net {{"owner":"diff","resource":"route/web/web"}}"#)
    };
    let early =
        r#"early.example.org CNAME router-internal.apps.example.net {"owner":"diff","resource":"route/web/early"}"#;
    let pinned = [
        r#"extra.example.org A 192.0.2.1 {"owner":"diff","resource":"route/web/pinned"}"#,
        r#"pinned.example.org A 192.0.2.1 {"owner":"diff","resource":"route/web/pinned"}"#,
    ];
    let routed = r#"routed.example.org CNAME set=blue router-default.apps.example.net {"owner":"diff","resource":"route/shop/routed"} [webhook/weight=10]"#;
    let wild =
        r#"*.wild.example.org CNAME router-default.apps.example.net {"owner":"diff","resource":"route/shop/wild"}"#;

    let mut want: Vec<String> = vec![early.into(), pinned[0].into(), pinned[1].into(), routed.into()];
    want.extend([web("web.example.org", "default"), wild.into()]);
    want.sort();
    assert_eq!(records(&differ, &[]), want);

    let mut want: Vec<String> = vec![early.into(), pinned[0].into(), web("web-internal.example.org", "internal")];
    want.sort();
    assert_eq!(records(&differ, &["--openshift-router-name=internal", "--namespace=web"]), want);

    // Template names for the Routes without records; the label filter leaves `wild` out.
    let got = records(&differ, &["--fqdn-template={{.Name}}.tpl.example.org", "--label-filter=app!=none"]);
    assert!(!got.iter().any(|r| r.contains("wild")), "{got:#?}");
    assert!(!got.iter().any(|r| r.contains(".tpl.")), "no Route without records has a target: {got:#?}");
    let got = records(&differ, &["--fqdn-template={{.Name}}.tpl.example.org", "--combine-fqdn-annotation"]);
    assert!(got.contains(&web("web.tpl.example.org", "default")), "{got:#?}");
}
