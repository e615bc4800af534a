//! Service source cases, ported from upstream's service_test.go and extended.

use super::*;
use crate::cluster::{Object, Objects};
use crate::testutil::*;
use crate::{SourceConfig, SourceFlags};

fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

fn svc(json: serde_json::Value) -> Service {
    serde_json::from_value(json).unwrap()
}

fn run(svc: &Service, objects: &Objects, cfg: &SourceConfig) -> Vec<String> {
    lines(&endpoints(svc, objects, cfg))
}

fn nodes_fixture() -> Objects {
    [
        Object::new(mk_node(
            "node1",
            &[
                ("ExternalIP", "54.10.11.1"),
                ("InternalIP", "10.0.1.1"),
                ("ExternalIP", "2001:db8::1"),
                ("InternalIP", "2001:db8::2"),
            ],
        )),
        Object::new(mk_node(
            "node2",
            &[
                ("ExternalIP", "54.10.11.2"),
                ("InternalIP", "10.0.1.2"),
                ("ExternalIP", "2001:db8::3"),
                ("InternalIP", "2001:db8::4"),
            ],
        )),
    ]
    .into_iter()
    .collect()
}

#[test]
fn load_balancer_ip_and_hostname() {
    let none = Objects::default();
    let svc = with_annotations(mk_lb_service("testing", "foo", &["1.2.3.4"], &[]), &[hostname("foo.example.org.")]);
    assert_eq!(run(&svc, &none, &SourceConfig::default()), vec!["foo.example.org A 1.2.3.4 (service/testing/foo)"]);
    let svc = with_annotations(
        mk_lb_service("testing", "foo", &[], &["lb.example.com"]),
        &[hostname("foo.example.org, bar.example.org")],
    );
    assert_eq!(
        run(&svc, &none, &SourceConfig::default()),
        vec![
            "bar.example.org CNAME lb.example.com (service/testing/foo)",
            "foo.example.org CNAME lb.example.com (service/testing/foo)",
        ]
    );
    // External IPs win over the load balancer status.
    let mut svc = with_annotations(mk_lb_service("testing", "foo", &["1.2.3.4"], &[]), &[hostname("foo.example.org")]);
    svc.spec.as_mut().unwrap().external_ips = Some(vec!["10.2.3.4".into(), "11.2.3.4".into()]);
    assert_eq!(
        run(&svc, &none, &SourceConfig::default()),
        vec!["foo.example.org A 10.2.3.4,11.2.3.4 (service/testing/foo)"]
    );
    // No status yet: nothing, and nothing to complain about.
    let svc = with_annotations(mk_lb_service("testing", "foo", &[], &[]), &[hostname("foo.example.org")]);
    assert!(endpoints(&svc, &none, &SourceConfig::default()) == SourceOutput::default());
}

#[test]
fn annotations_ttl_target_set_identifier_provider_specific() {
    let none = Objects::default();
    let svc = with_annotations(
        mk_lb_service("testing", "foo", &["1.2.3.4"], &[]),
        &[
            hostname("foo.example.org"),
            ("external-dns.kubernetes.io/ttl", "1m"),
            ("external-dns.kubernetes.io/set-identifier", "eu"),
            ("external-dns.kubernetes.io/aws-weight", "10"),
        ],
    );
    let out = endpoints(&svc, &none, &SourceConfig::default());
    assert_eq!(lines(&out), vec!["foo.example.org A [eu] ttl=60 1.2.3.4 (service/testing/foo)"]);
    assert_eq!(out.endpoints[0].property("aws/weight"), Some("10"));
    let svc = with_annotations(
        mk_lb_service("testing", "foo", &["1.2.3.4"], &[]),
        &[hostname("foo.example.org"), ("external-dns.kubernetes.io/target", "lb.example.net., 5.6.7.8")],
    );
    assert_eq!(
        run(&svc, &none, &SourceConfig::default()),
        vec![
            "foo.example.org A 5.6.7.8 (service/testing/foo)",
            "foo.example.org CNAME lb.example.net (service/testing/foo)",
        ]
    );
}

#[test]
fn filters_namespace_labels_annotations_controller_types() {
    let none = Objects::default();
    let svc = with_labels(
        with_annotations(mk_lb_service("testing", "foo", &["1.2.3.4"], &[]), &[hostname("foo.example.org")]),
        &[("team", "a")],
    );
    let n = |c: &SourceConfig| endpoints(&svc, &none, c).endpoints.len();
    assert_eq!(n(&cfg(|f| f.namespace = "testing".into())), 1);
    assert_eq!(n(&cfg(|f| f.namespace = "other".into())), 0);
    assert_eq!(n(&cfg(|f| f.label_filter = "team=a".into())), 1);
    assert_eq!(n(&cfg(|f| f.label_filter = "team!=a".into())), 0);
    assert_eq!(n(&cfg(|f| f.annotation_filter = "external-dns.kubernetes.io/hostname".into())), 1);
    assert_eq!(n(&cfg(|f| f.annotation_filter = "kubernetes.io/ingress.class=nginx".into())), 0);
    assert_eq!(n(&cfg(|f| f.service_type_filter = vec!["LoadBalancer".into()])), 1);
    assert_eq!(n(&cfg(|f| f.service_type_filter = vec!["NodePort".into()])), 0);
    let other = with_annotations(svc.clone(), &[("external-dns.kubernetes.io/controller", "some-other-tool")]);
    assert!(endpoints(&other, &none, &SourceConfig::default()).endpoints.is_empty());
    let ours = with_annotations(svc.clone(), &[("external-dns.kubernetes.io/controller", "dns-controller")]);
    assert_eq!(endpoints(&ours, &none, &SourceConfig::default()).endpoints.len(), 1);
    assert_eq!(n(&cfg(|f| f.ignore_hostname_annotation = true)), 0);
}

#[test]
fn fqdn_template_and_combine() {
    let none = Objects::default();
    let svc =
        with_annotations(mk_lb_service("testing", "foo", &["1.2.3.4"], &[]), &[hostname("annotated.example.org")]);
    let tmpl = |combine| {
        cfg(|f| {
            f.fqdn_template = vec!["{{.Name}}.fqdn.org,{{.Name}}.fqdn.com".into()];
            f.combine_fqdn_annotation = combine;
        })
    };
    assert_eq!(run(&svc, &none, &tmpl(false)), vec!["annotated.example.org A 1.2.3.4 (service/testing/foo)"]);
    assert_eq!(run(&svc, &none, &tmpl(true)).len(), 3);
    let bare = mk_lb_service("testing", "foo", &["1.2.3.4"], &[]);
    assert_eq!(
        run(&bare, &none, &tmpl(false)),
        vec!["foo.fqdn.com A 1.2.3.4 (service/testing/foo)", "foo.fqdn.org A 1.2.3.4 (service/testing/foo)",]
    );
    let ignoring = cfg(|f| {
        f.fqdn_template = vec!["{{.Name}}.fqdn.org".into()];
        f.ignore_hostname_annotation = true;
    });
    assert_eq!(run(&svc, &none, &ignoring), vec!["foo.fqdn.org A 1.2.3.4 (service/testing/foo)"]);
}

#[test]
fn cluster_ip_internal_hostname_and_publish_internal() {
    let none = Objects::default();
    let svc = with_annotations(mk_service("testing", "foo", "ClusterIP"), &[hostname("foo.example.org")]);
    assert!(run(&svc, &none, &SourceConfig::default()).is_empty());
    assert_eq!(
        run(&svc, &none, &cfg(|f| f.publish_internal_services = true)),
        vec!["foo.example.org A 10.0.0.10 (service/testing/foo)"]
    );
    let internal = with_annotations(
        mk_service("testing", "foo", "ClusterIP"),
        &[("external-dns.kubernetes.io/internal-hostname", "foo.internal.example.org")],
    );
    assert_eq!(
        run(&internal, &none, &SourceConfig::default()),
        vec!["foo.internal.example.org A 10.0.0.10 (service/testing/foo)"]
    );
    // internal-hostname on a LoadBalancer points at the ClusterIP.
    let lb = with_annotations(
        mk_lb_service("testing", "foo", &["1.2.3.4"], &[]),
        &[hostname("foo.example.org"), ("external-dns.kubernetes.io/internal-hostname", "foo.internal.example.org")],
    );
    assert_eq!(
        run(&lb, &none, &SourceConfig::default()),
        vec![
            "foo.example.org A 1.2.3.4 (service/testing/foo)",
            "foo.internal.example.org A 10.0.0.10 (service/testing/foo)",
        ]
    );
    // A missing type is ClusterIP, as the API server defaults it.
    let mut untyped = internal.clone();
    untyped.spec.as_mut().unwrap().type_ = None;
    assert_eq!(run(&untyped, &none, &SourceConfig::default()).len(), 1);
}

#[test]
fn unknown_type_is_reported() {
    let svc = with_annotations(mk_service("testing", "foo", "Loadbalancer"), &[hostname("foo.example.org")]);
    let out = lines(&endpoints(&svc, &Objects::default(), &SourceConfig::default()));
    assert_eq!(
        out,
        vec![
            "INVALID service/testing/foo: spec.type \"Loadbalancer\": not a service type; one of ClusterIP, NodePort, LoadBalancer, ExternalName",
        ]
    );
}

#[test]
fn external_name() {
    let none = Objects::default();
    let mut svc = with_annotations(mk_service("testing", "foo", "ExternalName"), &[hostname("foo.example.org")]);
    svc.spec.as_mut().unwrap().external_name = Some("remote.example.com".into());
    assert_eq!(
        run(&svc, &none, &SourceConfig::default()),
        vec!["foo.example.org CNAME remote.example.com (service/testing/foo)"]
    );
    svc.spec.as_mut().unwrap().external_ips = Some(vec!["111.111.111.111".into()]);
    assert_eq!(
        run(&svc, &none, &SourceConfig::default()),
        vec!["foo.example.org A 111.111.111.111 (service/testing/foo)"]
    );
}

fn headless_fixture(ready: [Option<bool>; 2], with_hostnames: bool) -> Objects {
    let mut objs: Vec<Object> = Vec::new();
    for (i, ip) in ["1.1.1.1", "1.1.1.2"].iter().enumerate() {
        let mut p = mk_pod("testing", &format!("foo-{i}"), "foo", ip, &format!("node{}", i + 1));
        if with_hostnames {
            p.spec.as_mut().unwrap().hostname = Some(format!("foo-{i}"));
        }
        p.status.as_mut().unwrap().host_ip = Some(format!("192.168.0.{}", i + 1));
        objs.push(Object::new(p));
    }
    objs.push(Object::new(mk_slice(
        "testing",
        "foo",
        "IPv4",
        &[("foo-0", "1.1.1.1", ready[0]), ("foo-1", "1.1.1.2", ready[1])],
    )));
    let mut o: Objects = objs.into_iter().collect();
    o.merge(nodes_fixture());
    o
}

#[test]
fn headless_per_pod_records() {
    let svc = with_annotations(
        mk_headless("testing", "foo"),
        &[hostname("service.example.org"), ("external-dns.kubernetes.io/ttl", "1")],
    );
    assert_eq!(
        run(&svc, &headless_fixture([Some(true), None], true), &SourceConfig::default()),
        vec![
            "foo-0.service.example.org A ttl=1 1.1.1.1 (service/testing/foo)",
            "foo-1.service.example.org A ttl=1 1.1.1.2 (service/testing/foo)",
            "service.example.org A ttl=1 1.1.1.1,1.1.1.2 (service/testing/foo)",
        ]
    );
    // Without spec.hostname only the service name.
    assert_eq!(
        run(&svc, &headless_fixture([Some(true), Some(true)], false), &SourceConfig::default()),
        vec!["service.example.org A ttl=1 1.1.1.1,1.1.1.2 (service/testing/foo)",]
    );
}

#[test]
fn headless_not_ready_addresses() {
    let svc = with_annotations(mk_headless("testing", "foo"), &[hostname("service.example.org")]);
    let objs = headless_fixture([Some(true), Some(false)], false);
    assert_eq!(run(&svc, &objs, &SourceConfig::default()), vec!["service.example.org A 1.1.1.1 (service/testing/foo)"]);
    assert_eq!(
        run(&svc, &objs, &cfg(|f| f.always_publish_not_ready_addresses = true)),
        vec!["service.example.org A 1.1.1.1,1.1.1.2 (service/testing/foo)",]
    );
    let mut publish = svc.clone();
    publish.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    assert_eq!(run(&publish, &objs, &SourceConfig::default()).len(), 1);
    assert!(run(&publish, &objs, &SourceConfig::default())[0].contains("1.1.1.1,1.1.1.2"));
}

#[test]
fn headless_host_ip_node_external_ip_and_pod_target() {
    let objs = headless_fixture([Some(true), Some(true)], false);
    let svc = with_annotations(mk_headless("testing", "foo"), &[hostname("service.example.org")]);
    assert_eq!(
        run(&svc, &objs, &cfg(|f| f.publish_host_ip = true)),
        vec!["service.example.org A 192.168.0.1,192.168.0.2 (service/testing/foo)"]
    );
    let host_ip = with_annotations(svc.clone(), &[("external-dns.kubernetes.io/endpoints-type", "HostIP")]);
    assert_eq!(run(&host_ip, &objs, &SourceConfig::default()), run(&svc, &objs, &cfg(|f| f.publish_host_ip = true)));
    let ext = with_annotations(svc.clone(), &[("external-dns.kubernetes.io/endpoints-type", "NodeExternalIP")]);
    assert_eq!(
        run(&ext, &objs, &SourceConfig::default()),
        vec![
            "service.example.org A 54.10.11.1,54.10.11.2 (service/testing/foo)",
            "service.example.org AAAA 2001:db8::1,2001:db8::3 (service/testing/foo)",
        ]
    );
    let mut objs2 = objs.clone();
    objs2.edit::<Pod>(0, |p| *p = with_annotations(p.clone(), &[("external-dns.kubernetes.io/target", "9.9.9.9")]));
    assert_eq!(
        run(&svc, &objs2, &SourceConfig::default()),
        vec!["service.example.org A 1.1.1.2,9.9.9.9 (service/testing/foo)"]
    );
    let bad = with_annotations(svc, &[("external-dns.kubernetes.io/endpoints-type", "Nodes")]);
    let out = lines(&endpoints(&bad, &objs, &SourceConfig::default()));
    assert_eq!(
        out.last().unwrap(),
        "INVALID service/testing/foo: annotation external-dns.kubernetes.io/endpoints-type \"Nodes\": must be \"NodeExternalIP\" or \"HostIP\"; pod IPs are published"
    );
}

#[test]
fn headless_skips_foreign_targets_and_fqdn_slices() {
    let mut objs = headless_fixture([Some(true), Some(true)], false);
    // An endpoint whose pod the selector does not pick, and an FQDN slice.
    objs.push(Object::new(mk_slice("testing", "foo", "IPv4", &[("stranger", "1.1.1.9", Some(true))])));
    objs.push(Object::new(mk_slice("testing", "foo", "FQDN", &[("foo-0", "x.example.org", Some(true))])));
    let svc = with_annotations(mk_headless("testing", "foo"), &[hostname("service.example.org")]);
    assert_eq!(
        run(&svc, &objs, &SourceConfig::default()),
        vec!["service.example.org A 1.1.1.1,1.1.1.2 (service/testing/foo)"]
    );
}

#[test]
fn node_port_with_srv() {
    let objs = nodes_fixture();
    let svc = with_annotations(mk_node_port("testing", "foo", 30192, ""), &[hostname("foo.example.org.")]);
    assert_eq!(
        run(&svc, &objs, &SourceConfig::default()),
        vec![
            "_foo._tcp.foo.example.org SRV 0 50 30192 foo.example.org (service/testing/foo)",
            "foo.example.org A 54.10.11.1,54.10.11.2 (service/testing/foo)",
            "foo.example.org AAAA 2001:db8::1,2001:db8::3 (service/testing/foo)",
        ]
    );
    let private = with_annotations(
        mk_node_port("testing", "foo", 30192, "UDP"),
        &[hostname("foo.example.org"), ("external-dns.kubernetes.io/access", "private")],
    );
    assert_eq!(
        run(&private, &objs, &SourceConfig::default()),
        vec![
            "_foo._udp.foo.example.org SRV 0 50 30192 foo.example.org (service/testing/foo)",
            "foo.example.org A 10.0.1.1,10.0.1.2 (service/testing/foo)",
            "foo.example.org AAAA 2001:db8::2,2001:db8::4 (service/testing/foo)",
        ]
    );
    // Without external addresses the internal ones are used.
    let internal_only: Objects = [Object::new(mk_node("n", &[("InternalIP", "10.0.1.1")]))].into_iter().collect();
    assert!(
        run(&svc, &internal_only, &SourceConfig::default())
            .contains(&"foo.example.org A 10.0.1.1 (service/testing/foo)".to_string())
    );
    // Unschedulable nodes are left out.
    let mut objs2 = objs.clone();
    objs2.edit::<Node>(1, |n| n.spec.get_or_insert_default().unschedulable = Some(true));
    assert!(
        run(&svc, &objs2, &SourceConfig::default())
            .contains(&"foo.example.org A 54.10.11.1 (service/testing/foo)".to_string())
    );
}

#[test]
fn node_port_local_traffic_policy_uses_nodes_with_ready_pods() {
    let mut objs = nodes_fixture();
    let mut not_ready = mk_pod("testing", "foo-1", "foo", "10.1.0.2", "node2");
    set_ready(&mut not_ready, false);
    objs.extend([Object::new(mk_pod("testing", "foo-0", "foo", "10.1.0.1", "node1")), Object::new(not_ready)]);
    let mut svc = with_annotations(mk_node_port("testing", "foo", 30192, "TCP"), &[hostname("foo.example.org")]);
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    let out = run(&svc, &objs, &SourceConfig::default());
    assert!(out.contains(&"foo.example.org A 54.10.11.1 (service/testing/foo)".to_string()), "{out:?}");
    // With no ready pod at all, running ones count.
    let mut objs2 = objs.clone();
    objs2.edit::<Pod>(0, |p| set_ready(p, false));
    let out = run(&svc, &objs2, &SourceConfig::default());
    assert!(out.contains(&"foo.example.org A 54.10.11.1,54.10.11.2 (service/testing/foo)".to_string()), "{out:?}");
}

#[test]
fn same_name_from_two_services_is_merged_keeping_first_resource() {
    let none = Objects::default();
    let a = with_annotations(mk_lb_service("default", "a", &["1.1.1.1"], &[]), &[hostname("shared.example.org")]);
    let b = with_annotations(mk_lb_service("default", "b", &["2.2.2.2"], &[]), &[hostname("shared.example.org")]);
    let out: SourceOutput =
        [endpoints(&b, &none, &SourceConfig::default()), endpoints(&a, &none, &SourceConfig::default())]
            .into_iter()
            .collect();
    assert_eq!(lines(&out), vec!["shared.example.org A 1.1.1.1,2.2.2.2 (service/default/a)"]);
}

#[test]
fn bad_values_are_reported_and_the_rest_published() {
    let none = Objects::default();
    let svc = with_annotations(
        mk_lb_service("testing", "foo", &["1.2.3.4"], &[]),
        &[hostname("good.example.org,bad_*.example.org"), ("external-dns.kubernetes.io/ttl", "abc")],
    );
    // A bad TTL: nothing published (its records would carry a TTL nobody asked for); every
    // problem is reported.
    let out = lines(&endpoints(&svc, &none, &SourceConfig::default()));
    assert!(
        out[0].starts_with("INVALID service/testing/foo: annotation external-dns.kubernetes.io/ttl \"abc\""),
        "{out:?}"
    );
    assert!(
        out[1].starts_with(
            "INVALID service/testing/foo: annotation external-dns.kubernetes.io/hostname \"bad_*.example.org\""
        ),
        "{out:?}"
    );
    assert_eq!(out.len(), 2, "{out:?}");
    // A bad host name among good ones: the good ones are published.
    let svc = with_annotations(svc, &[("external-dns.kubernetes.io/ttl", "60")]);
    let out = lines(&endpoints(&svc, &none, &SourceConfig::default()));
    assert_eq!(out[0], "good.example.org A ttl=60 1.2.3.4 (service/testing/foo)");
    assert!(
        out[1].starts_with(
            "INVALID service/testing/foo: annotation external-dns.kubernetes.io/hostname \"bad_*.example.org\""
        ),
        "{out:?}"
    );
    let bad_set = with_annotations(svc, &[("external-dns.kubernetes.io/set-identifier", "two words")]);
    let out = endpoints(&bad_set, &none, &SourceConfig::default());
    assert!(out.endpoints.is_empty());
    assert!(out.invalid.iter().any(|i| i.field == "annotation external-dns.kubernetes.io/set-identifier"));
}

#[test]
fn which_services_need_pods_and_nodes() {
    let c = SourceConfig::default();
    let headless = svc(serde_json::json!({
        "metadata": {"name": "db", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "db.example.org"}},
        "spec": {"clusterIP": "None", "selector": {"app": "db"}}}));
    assert_eq!(needs(&headless, &c), Needs { pods: true, slices: true, nodes: false });
    let unnamed = svc(serde_json::json!({"metadata": {"name": "db", "namespace": "a"}, "spec": {"clusterIP": "None"}}));
    assert_eq!(needs(&unnamed, &c), Needs::default(), "a StatefulSet's headless Service without DNS");
    let templ = cfg(|f| f.fqdn_template = vec!["{{.Name}}.example.org".into()]);
    assert!(needs(&unnamed, &templ).pods);
    let node_ext = svc(serde_json::json!({
        "metadata": {"name": "db", "namespace": "a", "annotations": {
            "external-dns.alpha.kubernetes.io/internal-hostname": "db.example.org",
            "external-dns.kubernetes.io/endpoints-type": "NodeExternalIP"}},
        "spec": {"clusterIP": "None"}}));
    assert_eq!(needs(&node_ext, &c), Needs { pods: true, slices: true, nodes: true });
    let np = svc(serde_json::json!({
        "metadata": {"name": "np", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "np.example.org"}},
        "spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}}));
    assert_eq!(needs(&np, &c), Needs { pods: true, slices: false, nodes: true });
    let lb_only = cfg(|f| f.service_type_filter = vec!["LoadBalancer".into()]);
    assert_eq!(needs(&np, &lb_only), Needs::default());
    assert_eq!(needs(&headless, &lb_only), Needs::default());
    let targeted = with_annotations(np.clone(), &[("external-dns.kubernetes.io/target", "1.2.3.4")]);
    assert_eq!(needs(&targeted, &c), Needs::default());
    let ignore = cfg(|f| f.ignore_hostname_annotation = true);
    assert_eq!(needs(&np, &ignore), Needs::default());
}
