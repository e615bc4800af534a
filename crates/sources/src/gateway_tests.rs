//! Gateway route cases, ported from upstream's gateway_test.go and gateway_httproute_test.go,
//! plus the other route kinds.

use super::*;
use crate::cluster::{Object, Objects};
use crate::testutil::*;
use crate::types::{GRPCRoute, HTTPRoute, RouteGroupKind, TCPRoute, TLSRoute, UDPRoute};
use crate::{SourceFlags, SourceOutput};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

fn http(listeners: Vec<Listener>) -> Vec<Listener> {
    listeners
}

fn objects(gateways: Vec<Gateway>, namespaces: &[(&str, &[(&str, &str)])]) -> Objects {
    let mut o: Objects = gateways.into_iter().map(Object::new).collect();
    o.extend(namespaces.iter().map(|(n, l)| Object::new(mk_namespace(n, l))));
    o
}

fn names(out: &SourceOutput) -> Vec<String> {
    out.endpoints.iter().map(|e| format!("{} {}", e.dns_name, e.targets.join(","))).collect()
}

fn run(route: &HTTPRoute, objs: &Objects, cfg: &SourceConfig) -> Vec<String> {
    names(&endpoints(route, objs, cfg))
}

#[test]
fn matching_host_table() {
    for (a, b, want) in [
        ("1.2.3.4", "", None),
        ("", "", Some("")),
        ("example.net", "", Some("example.net")),
        ("example.net", "example.net", Some("example.net")),
        ("*.example.net", "test.example.net", Some("test.example.net")),
        ("*.example.net", "a.example.net", Some("a.example.net")),
        ("*.example.net", "foo.bar.test.example.net", Some("foo.bar.test.example.net")),
        ("*.example.net", "example.net", None),
        ("*.example.net", "*.foo.example.net", Some("*.foo.example.net")),
        ("a.example.net", "b.example.net", None),
    ] {
        // IP addresses never reach matching_host: valid_host refuses them first.
        let a = if valid_host(a).is_err() && !a.is_empty() { continue } else { a };
        for (x, y) in [(a, b), (b, a)] {
            assert_eq!(matching_host(x, y).as_deref(), want, "{x:?} {y:?}");
        }
    }
    assert!(
        valid_host("1.2.3.4").is_err() && valid_host("2001:db8::1").is_err() && valid_host("*example.net").is_err()
    );
}

#[test]
fn protocol_table() {
    assert!(protocol_matches("HTTP", "HTTPS"));
    assert!(protocol_matches("HTTPS", "HTTP"));
    assert!(!protocol_matches("TCP", "HTTPS"));
    assert!(protocol_matches("TLS", "TLS"));
    assert!(protocol_matches("TCP", "TLS"));
    assert!(!protocol_matches("TLS", "TCP"));
    assert!(protocol_matches("UDP", "UDP"));
}

#[test]
fn gateway_name_namespace_and_label_filters() {
    let mut gw_a = mk_gateway(
        "gateway-namespace",
        "gateway-name",
        http(vec![mk_listener("", "HTTP", 80, None, "All")]),
        &["1.2.3.4"],
    );
    gw_a = with_labels(gw_a, &[("foo", "bar")]);
    let gw_b = mk_gateway(
        "gateway-namespace",
        "not-gateway-name",
        http(vec![mk_listener("", "HTTP", 80, None, "All")]),
        &["2.3.4.5"],
    );
    let gw_c = mk_gateway(
        "other-namespace",
        "gateway-name",
        http(vec![mk_listener("", "HTTP", 80, None, "All")]),
        &["3.4.5.6"],
    );
    let objs = objects(vec![gw_a, gw_b, gw_c], &[]);
    let route = mk_http_route(
        "route-namespace",
        "test",
        &["test.example.internal"],
        &[
            parent_ref("gateway-namespace", "gateway-name"),
            parent_ref("gateway-namespace", "not-gateway-name"),
            parent_ref("other-namespace", "gateway-name"),
        ],
    );
    assert_eq!(run(&route, &objs, &SourceConfig::default()), vec!["test.example.internal 1.2.3.4,2.3.4.5,3.4.5.6"]);
    assert_eq!(
        run(&route, &objs, &cfg(|f| f.gateway_name = "gateway-name".into())),
        vec!["test.example.internal 1.2.3.4,3.4.5.6"]
    );
    assert_eq!(
        run(&route, &objs, &cfg(|f| f.gateway_namespace = "other-namespace".into())),
        vec!["test.example.internal 3.4.5.6"]
    );
    assert_eq!(
        run(&route, &objs, &cfg(|f| f.gateway_label_filter = "foo=bar".into())),
        vec!["test.example.internal 1.2.3.4"]
    );
    // Route filters.
    assert!(run(&route, &objs, &cfg(|f| f.namespace = "elsewhere".into())).is_empty());
    assert!(run(&route, &objs, &cfg(|f| f.label_filter = "team=x".into())).is_empty());
    let other = with_annotations(route.clone(), &[("external-dns.kubernetes.io/controller", "other")]);
    assert!(run(&other, &objs, &SourceConfig::default()).is_empty());
}

#[test]
fn parents_must_be_accepted_and_in_spec() {
    let objs =
        objects(vec![mk_gateway("default", "test", vec![mk_listener("", "HTTP", 80, None, "")], &["1.2.3.4"])], &[]);
    let mut route = mk_http_route("default", "test", &["test.example.internal"], &[parent_ref("default", "test")]);
    assert_eq!(run(&route, &objs, &SourceConfig::default()).len(), 1);
    route.status.as_mut().unwrap().parents[0].conditions[0].status = "False".into();
    assert!(run(&route, &objs, &SourceConfig::default()).is_empty());
    route.status.as_mut().unwrap().parents[0].conditions[0].type_ = "NotAccepted".into();
    assert!(run(&route, &objs, &SourceConfig::default()).is_empty());
    // Status names a parent the spec does not (stale status).
    let mut mismatch = mk_http_route("default", "test", &["test.example.internal"], &[parent_ref("default", "test")]);
    mismatch.spec.parent_refs[0].name = "other".into();
    assert!(run(&mismatch, &objs, &SourceConfig::default()).is_empty());
    // No parentRefs at all.
    let mut orphan = mk_http_route("default", "test", &["test.example.internal"], &[parent_ref("default", "test")]);
    orphan.spec.parent_refs.clear();
    assert!(run(&orphan, &objs, &SourceConfig::default()).is_empty());
    // Parent Gateway missing.
    let missing = mk_http_route("default", "test", &["test.example.internal"], &[parent_ref("default", "gone")]);
    assert!(run(&missing, &objs, &SourceConfig::default()).is_empty());
}

#[test]
fn listeners_section_name_and_port() {
    let listeners = vec![
        mk_listener("foo", "HTTP", 80, Some("foo.example.internal"), ""),
        mk_listener("bar", "HTTP", 80, Some("bar.example.internal"), ""),
        mk_listener("qux", "HTTP", 8080, Some("qux.example.internal"), ""),
    ];
    let objs = objects(vec![mk_gateway("default", "test", listeners, &["1.2.3.4"])], &[]);
    let route = mk_http_route("default", "test", &["*.example.internal"], &[parent_ref("default", "test")]);
    assert_eq!(
        run(&route, &objs, &SourceConfig::default()),
        vec!["bar.example.internal 1.2.3.4", "foo.example.internal 1.2.3.4", "qux.example.internal 1.2.3.4",]
    );
    let mut section = parent_ref("default", "test");
    section.section_name = Some("foo".into());
    let route = mk_http_route("default", "test", &["*.example.internal"], &[section]);
    assert_eq!(run(&route, &objs, &SourceConfig::default()), vec!["foo.example.internal 1.2.3.4"]);
    let mut port = parent_ref("default", "test");
    port.port = Some(80);
    let route = mk_http_route("default", "test", &["*.example.internal"], &[port]);
    assert_eq!(
        run(&route, &objs, &SourceConfig::default()),
        vec!["bar.example.internal 1.2.3.4", "foo.example.internal 1.2.3.4"]
    );
    let mut nosuch = parent_ref("default", "test");
    nosuch.section_name = Some("nope".into());
    let route = mk_http_route("default", "test", &["*.example.internal"], &[nosuch]);
    assert!(run(&route, &objs, &SourceConfig::default()).is_empty());
}

#[test]
fn wildcards_and_listener_fallback() {
    let gw = |h: Option<&str>| {
        objects(vec![mk_gateway("default", "test", vec![mk_listener("l", "HTTP", 80, h, "")], &["1.2.3.4"])], &[])
    };
    let route = |hosts: &[&str]| mk_http_route("default", "r", hosts, &[parent_ref("default", "test")]);
    let c = SourceConfig::default();
    assert_eq!(
        run(&route(&["foo.example.internal"]), &gw(Some("*.example.internal")), &c),
        vec!["foo.example.internal 1.2.3.4"]
    );
    assert_eq!(
        run(&route(&["*.example.internal"]), &gw(Some("foo.example.internal")), &c),
        vec!["foo.example.internal 1.2.3.4"]
    );
    assert_eq!(
        run(&route(&["*.example.internal"]), &gw(Some("*.example.internal")), &c),
        vec!["*.example.internal 1.2.3.4"]
    );
    assert_eq!(run(&route(&[]), &gw(Some("foo.example.internal")), &c), vec!["foo.example.internal 1.2.3.4"]);
    assert!(run(&route(&[]), &gw(None), &c).is_empty());
    assert!(run(&route(&["foo.other.internal"]), &gw(Some("*.example.internal")), &c).is_empty());
}

#[test]
fn hostname_annotation_source_and_template() {
    let objs =
        objects(vec![mk_gateway("default", "test", vec![mk_listener("", "HTTP", 80, None, "")], &["1.2.3.4"])], &[]);
    let p = [parent_ref("default", "test")];
    let without = with_annotations(
        mk_http_route("default", "without", &[], &p),
        &[hostname("annotation.without-hostname.internal")],
    );
    let with = with_annotations(
        mk_http_route("default", "with", &["with-hostname.internal"], &p),
        &[hostname("annotation.with-hostname.internal")],
    );
    let c = SourceConfig::default();
    assert_eq!(run(&without, &objs, &c), vec!["annotation.without-hostname.internal 1.2.3.4"]);
    assert_eq!(
        run(&with, &objs, &c),
        vec!["annotation.with-hostname.internal 1.2.3.4", "with-hostname.internal 1.2.3.4"]
    );
    assert_eq!(
        run(&with, &objs, &cfg(|f| f.ignore_hostname_annotation = true)),
        vec!["with-hostname.internal 1.2.3.4"]
    );
    let only_ann =
        with_annotations(with.clone(), &[("external-dns.kubernetes.io/gateway-hostname-source", "annotation-only")]);
    assert_eq!(run(&only_ann, &objs, &c), vec!["annotation.with-hostname.internal 1.2.3.4"]);
    let only_spec =
        with_annotations(with.clone(), &[("external-dns.kubernetes.io/gateway-hostname-source", "defined-hosts-only")]);
    assert_eq!(run(&only_spec, &objs, &c), vec!["with-hostname.internal 1.2.3.4"]);
    let bad = with_annotations(with.clone(), &[("external-dns.kubernetes.io/gateway-hostname-source", "whatever")]);
    let out = endpoints(&bad, &objs, &c);
    assert_eq!(names(&out).len(), 2, "an unknown value falls back to the default");
    assert_eq!(out.invalid.len(), 1);

    let t = cfg(|f| {
        f.fqdn_template = vec!["{{.Name}}.zero.internal, {{.Name}}.one.internal. ,  {{.Name}}.two.internal  ".into()]
    });
    let bare = mk_http_route("default", "fqdn-without-hostnames", &[], &p);
    assert_eq!(
        run(&bare, &objs, &t),
        vec![
            "fqdn-without-hostnames.one.internal 1.2.3.4",
            "fqdn-without-hostnames.two.internal 1.2.3.4",
            "fqdn-without-hostnames.zero.internal 1.2.3.4",
        ]
    );
    let named = mk_http_route("default", "fqdn-with-hostnames", &["fqdn-with-hostnames.internal"], &p);
    assert_eq!(run(&named, &objs, &t), vec!["fqdn-with-hostnames.internal 1.2.3.4"]);
    let combine = cfg(|f| {
        f.fqdn_template = vec!["combine-{{.Name}}.internal".into()];
        f.combine_fqdn_annotation = true;
    });
    assert_eq!(
        run(&named, &objs, &combine),
        vec!["combine-fqdn-with-hostnames.internal 1.2.3.4", "fqdn-with-hostnames.internal 1.2.3.4"]
    );
}

#[test]
fn route_annotations_and_gateway_target_override() {
    let mut gw = mk_gateway("default", "test", vec![mk_listener("", "HTTP", 80, None, "")], &["1.2.3.4"]);
    let route = with_annotations(
        mk_http_route("default", "r", &["r.example.internal"], &[parent_ref("default", "test")]),
        &[
            ("external-dns.kubernetes.io/ttl", "15s"),
            ("external-dns.kubernetes.io/set-identifier", "blue"),
            ("external-dns.kubernetes.io/aws-weight", "5"),
        ],
    );
    let out = endpoints(&route, &objects(vec![gw.clone()], &[]), &SourceConfig::default());
    assert_eq!(lines(&out), vec!["r.example.internal A [blue] ttl=15 1.2.3.4 (httproute/default/r)"]);
    assert_eq!(out.endpoints[0].property("aws/weight"), Some("5"));
    // A ttl on the Gateway is not used; its target annotation is.
    gw = with_annotations(
        gw,
        &[("external-dns.kubernetes.io/target", "lb.example.net"), ("external-dns.kubernetes.io/ttl", "99")],
    );
    let out = endpoints(&route, &objects(vec![gw.clone()], &[]), &SourceConfig::default());
    assert_eq!(lines(&out), vec!["r.example.internal CNAME [blue] ttl=15 lb.example.net (httproute/default/r)"]);
    // A Gateway with a foreign controller annotation is not used.
    let foreign = with_annotations(gw, &[("external-dns.kubernetes.io/controller", "other")]);
    assert!(endpoints(&route, &objects(vec![foreign], &[]), &SourceConfig::default()).endpoints.is_empty());
}

#[test]
fn allowed_routes_namespaces_and_kinds() {
    let p = [parent_ref("gw-ns", "test")];
    let same =
        objects(vec![mk_gateway("gw-ns", "test", vec![mk_listener("", "HTTP", 80, None, "")], &["1.2.3.4"])], &[]);
    assert!(
        run(&mk_http_route("route-ns", "r", &["r.example.internal"], &p), &same, &SourceConfig::default()).is_empty()
    );
    assert_eq!(
        run(&mk_http_route("gw-ns", "r", &["r.example.internal"], &p), &same, &SourceConfig::default()).len(),
        1
    );

    let mut lis = mk_listener("", "HTTP", 80, None, "Selector");
    lis.allowed_routes.as_mut().unwrap().namespaces.as_mut().unwrap().selector =
        Some(LabelSelector { match_labels: Some(map(&[("team", "a")])), ..Default::default() });
    let sel = objects(
        vec![mk_gateway("gw-ns", "test", vec![lis.clone()], &["1.2.3.4"])],
        &[("team-a", &[("team", "a")]), ("team-b", &[("team", "b")])],
    );
    assert_eq!(
        run(&mk_http_route("team-a", "r", &["a.example.internal"], &p), &sel, &SourceConfig::default()).len(),
        1
    );
    assert!(run(&mk_http_route("team-b", "r", &["b.example.internal"], &p), &sel, &SourceConfig::default()).is_empty());
    // The route's Namespace object is missing.
    assert!(run(&mk_http_route("team-c", "r", &["c.example.internal"], &p), &sel, &SourceConfig::default()).is_empty());

    let mut kinds = mk_listener("", "HTTP", 80, None, "All");
    kinds.allowed_routes.as_mut().unwrap().kinds = vec![RouteGroupKind { group: None, kind: "GRPCRoute".into() }];
    let k = objects(vec![mk_gateway("gw-ns", "test", vec![kinds], &["1.2.3.4"])], &[]);
    assert!(run(&mk_http_route("x", "r", &["r.example.internal"], &p), &k, &SourceConfig::default()).is_empty());
    let (spec, status) = mk_route_spec_status(&["g.example.internal"], &p);
    let grpc = GRPCRoute { metadata: meta("x", "g"), spec, status: Some(status) };
    assert_eq!(
        lines(&endpoints(&grpc, &k, &SourceConfig::default())),
        vec!["g.example.internal A 1.2.3.4 (grpcroute/x/g)"]
    );

    let mut bad = mk_listener("weird", "HTTP", 80, None, "Some");
    bad.allowed_routes.as_mut().unwrap().kinds.clear();
    let b = objects(vec![mk_gateway("gw-ns", "test", vec![bad], &["1.2.3.4"])], &[]);
    let out = endpoints(&mk_http_route("gw-ns", "r", &["r.example.internal"], &p), &b, &SourceConfig::default());
    assert!(out.endpoints.is_empty());
    assert_eq!(
        out.invalid[0].to_string(),
        "httproute/gw-ns/r: gateway gw-ns/test spec.listeners[weird].allowedRoutes.namespaces.from \"Some\": must be Same, All or Selector"
    );
}

#[test]
fn route_kinds_and_protocols() {
    let listeners = vec![
        mk_listener("https", "HTTPS", 443, None, "All"),
        mk_listener("tls", "TLS", 8443, None, "All"),
        mk_listener("udp", "UDP", 53, None, "All"),
    ];
    let objs = objects(vec![mk_gateway("gw", "test", listeners, &["1.2.3.4"])], &[]);
    let p = [parent_ref("gw", "test")];
    let (spec, status) = mk_route_spec_status(&["tls.example.internal"], &p);
    let tls = TLSRoute { metadata: meta("a", "t"), spec, status: Some(status) };
    assert_eq!(
        lines(&endpoints(&tls, &objs, &SourceConfig::default())),
        vec!["tls.example.internal A 1.2.3.4 (tlsroute/a/t)"]
    );
    // TCP and UDP routes have no hostnames: they take the annotation (the listeners have none).
    let (spec, status) = mk_route_spec_status(&[], &p);
    let mut tcp = TCPRoute { metadata: meta("a", "tcp"), spec: spec.clone(), status: Some(status.clone()) };
    tcp.metadata.annotations = Some(map(&[("external-dns.kubernetes.io/hostname", "tcp.example.internal")]));
    assert_eq!(
        lines(&endpoints(&tcp, &objs, &SourceConfig::default())),
        vec!["tcp.example.internal A 1.2.3.4 (tcproute/a/tcp)"]
    );
    let mut udp = UDPRoute { metadata: meta("a", "udp"), spec, status: Some(status) };
    udp.metadata.annotations = Some(map(&[("external-dns.kubernetes.io/hostname", "udp.example.internal")]));
    assert_eq!(
        lines(&endpoints(&udp, &objs, &SourceConfig::default())),
        vec!["udp.example.internal A 1.2.3.4 (udproute/a/udp)"]
    );
    let http = mk_http_route("a", "h", &["h.example.internal"], &p);
    assert_eq!(run(&http, &objs, &SourceConfig::default()), vec!["h.example.internal 1.2.3.4"]);
}

#[test]
fn bad_route_hostnames_are_reported() {
    let objs = objects(
        vec![mk_gateway("default", "test", vec![mk_listener("", "HTTP", 80, None, "")], &["1.2.3.4", "bad_addr!"])],
        &[],
    );
    let route = mk_http_route(
        "default",
        "r",
        &["ok.example.internal", "1.2.3.4", "a.*.example.internal"],
        &[parent_ref("default", "test")],
    );
    let out = endpoints(&route, &objs, &SourceConfig::default());
    assert_eq!(names(&out), vec!["ok.example.internal 1.2.3.4"]);
    let msgs: Vec<String> = out.invalid.iter().map(|i| i.to_string()).collect();
    assert!(msgs[0].starts_with("httproute/default/r: spec.hostnames[1] \"1.2.3.4\""), "{msgs:?}");
    assert!(msgs[1].starts_with("httproute/default/r: spec.hostnames[2] \"a.*.example.internal\""), "{msgs:?}");
    assert!(
        msgs[2].starts_with("httproute/default/r: gateway default/test status.addresses \"bad_addr!\""),
        "{msgs:?}"
    );
}

#[test]
fn gateway_parent_matching() {
    let p = |ns: Option<&str>, kind: Option<&str>| ParentReference {
        name: "gw".into(),
        namespace: ns.map(Into::into),
        kind: kind.map(Into::into),
        ..Default::default()
    };
    assert!(names_gateway(&p(None, None), "infra", "infra", "gw"));
    assert!(!names_gateway(&p(None, None), "apps", "infra", "gw"));
    assert!(names_gateway(&p(Some("infra"), Some("Gateway")), "apps", "infra", "gw"));
    assert!(!names_gateway(&p(Some("infra"), Some("ListenerSet")), "apps", "infra", "gw"));
}

/// A ListenerSet `ns/name` of the Gateway `infra/gw` with `listeners`, accepted, its listeners
/// accepted but those named in `refused`.
fn mk_listener_set(ns: &str, name: &str, listeners: Vec<Listener>, refused: &[&str]) -> ListenerSet {
    use crate::types::{Condition, ListenerEntryStatus, ListenerSetSpec, ListenerSetStatus, ParentGatewayReference};
    let accepted = |ok: bool| {
        vec![Condition {
            type_: "Accepted".into(),
            status: if ok { "True" } else { "False" }.into(),
            ..Default::default()
        }]
    };
    ListenerSet {
        metadata: meta(ns, name),
        status: Some(ListenerSetStatus {
            conditions: accepted(true),
            listeners: listeners
                .iter()
                .map(|l| ListenerEntryStatus {
                    name: l.name.clone(),
                    conditions: accepted(!refused.contains(&l.name.as_str())),
                })
                .collect(),
        }),
        spec: ListenerSetSpec {
            parent_ref: ParentGatewayReference {
                name: "gw".into(),
                namespace: Some("infra".into()),
                ..Default::default()
            },
            listeners,
        },
    }
}

fn ls_ref(ns: &str, name: &str, section: Option<&str>) -> ParentReference {
    ParentReference {
        kind: Some("ListenerSet".into()),
        section_name: section.map(str::to_owned),
        ..parent_ref(ns, name)
    }
}

#[test]
fn listener_sets_with_the_flag() {
    use crate::types::AllowedListeners;
    let mut gw = mk_gateway(
        "infra",
        "gw",
        vec![mk_listener("web", "HTTP", 80, Some("*.infra.example.org"), "All")],
        &["192.0.2.1"],
    );
    let allow = |from: &str| {
        Some(AllowedListeners { namespaces: Some(RouteNamespaces { from: Some(from.into()), selector: None }) })
    };
    gw.spec.allowed_listeners = allow("All");
    let ls = mk_listener_set(
        "team",
        "team-ls",
        vec![
            mk_listener("shop", "HTTP", 80, Some("*.shop.example.org"), ""),
            mk_listener("pending", "HTTP", 80, Some("*.pending.example.org"), ""),
        ],
        &["pending"],
    );
    let mut objs = objects(vec![gw.clone()], &[]);
    objs.push(Object::new(ls.clone()));
    let route = mk_http_route(
        "team",
        "r",
        &["www.shop.example.org", "www.pending.example.org"],
        &[ls_ref("team", "team-ls", None)],
    );
    let on = cfg(|f| f.gateway_listener_sets = true);
    // Only the accepted listener; "Same" namespace of its allowedRoutes is the ListenerSet's.
    assert_eq!(run(&route, &objs, &on), ["www.shop.example.org 192.0.2.1"]);
    assert!(run(&route, &objs, &SourceConfig::default()).is_empty(), "no ListenerSets without the flag");
    // A section of the ListenerSet; one the status refuses.
    let pending =
        mk_http_route("team", "p", &["www.pending.example.org"], &[ls_ref("team", "team-ls", Some("pending"))]);
    assert!(run(&pending, &objs, &on).is_empty());
    // The ListenerSet's target annotation wins over the Gateway's addresses.
    let mut objs2 = objects(vec![gw.clone()], &[]);
    objs2.push(Object::new(with_annotations(ls.clone(), &[("external-dns.kubernetes.io/target", "198.51.100.7")])));
    assert_eq!(run(&route, &objs2, &on), ["www.shop.example.org 198.51.100.7"]);
    // The Gateway must allow ListenerSets from the namespace (none by default).
    for (from, published) in [("Same", false), ("None", false), ("All", true)] {
        let mut g = gw.clone();
        g.spec.allowed_listeners = allow(from);
        let mut o = objects(vec![g], &[]);
        o.push(Object::new(ls.clone()));
        assert_eq!(!run(&route, &o, &on).is_empty(), published, "allowedListeners from {from}");
    }
    let mut g = gw.clone();
    g.spec.allowed_listeners = None;
    let mut o = objects(vec![g], &[]);
    o.push(Object::new(ls.clone()));
    assert!(run(&route, &o, &on).is_empty(), "allowedListeners unset");
    // --gateway-name names the parent Gateway, not the ListenerSet.
    assert_eq!(
        run(
            &route,
            &objs,
            &cfg(|f| {
                f.gateway_listener_sets = true;
                f.gateway_name = "gw".into()
            })
        )
        .len(),
        1
    );
    assert!(
        run(
            &route,
            &objs,
            &cfg(|f| {
                f.gateway_listener_sets = true;
                f.gateway_name = "team-ls".into()
            })
        )
        .is_empty()
    );
    // A ListenerSet not accepted attaches nothing.
    let mut unaccepted = ls.clone();
    unaccepted.status.as_mut().unwrap().conditions[0].status = "False".into();
    let mut o = objects(vec![gw], &[]);
    o.push(Object::new(unaccepted));
    assert!(run(&route, &o, &on).is_empty());
}
