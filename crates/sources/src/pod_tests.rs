//! Pod source cases, ported from upstream's pod_test.go.

use super::*;
use crate::SourceFlags;
use crate::cluster::{Object, Objects};
use crate::testutil::*;

fn nodes() -> Objects {
    [
        Object::new(mk_node(
            "my-node1",
            &[("ExternalIP", "54.10.11.1"), ("InternalIP", "10.0.1.1"), ("InternalIP", "2001:db8::1")],
        )),
        Object::new(mk_node("my-node2", &[("ExternalIP", "54.10.11.2"), ("InternalIP", "10.0.1.2")])),
    ]
    .into_iter()
    .collect()
}

fn annotated(name: &str, ip: &str, node: &str, extra: &[(&str, &str)]) -> Pod {
    let mut p = mk_pod("kube-system", name, "x", ip, node);
    p.spec.as_mut().unwrap().host_network = Some(true);
    let mut a = vec![
        ("external-dns.kubernetes.io/internal-hostname", "internal.a.foo.example.org"),
        ("external-dns.kubernetes.io/hostname", "a.foo.example.org"),
    ];
    a.extend_from_slice(extra);
    with_annotations(p, &a)
}

fn run_all(pods: &[Pod], objs: &Objects, cfg: &SourceConfig) -> Vec<String> {
    let out: SourceOutput = pods.iter().map(|p| endpoints(p, objs, cfg)).collect();
    lines(&out)
}

#[test]
fn hostname_uses_node_addresses_internal_hostname_uses_pod_ip() {
    let pods = [annotated("my-pod1", "10.0.1.1", "my-node1", &[]), annotated("my-pod2", "10.0.1.2", "my-node2", &[])];
    assert_eq!(
        run_all(&pods, &nodes(), &SourceConfig::default()),
        vec![
            "a.foo.example.org A 54.10.11.1,54.10.11.2 (pod/kube-system/my-pod1)",
            "a.foo.example.org AAAA 2001:db8::1 (pod/kube-system/my-pod1)",
            "internal.a.foo.example.org A 10.0.1.1,10.0.1.2 (pod/kube-system/my-pod1)",
        ]
    );
}

#[test]
fn target_annotation_replaces_addresses() {
    let pods = [
        annotated("my-pod1", "10.0.1.1", "my-node1", &[("external-dns.kubernetes.io/target", "208.1.2.1")]),
        annotated("my-pod2", "10.0.1.2", "my-node2", &[("external-dns.kubernetes.io/target", "208.1.2.2")]),
    ];
    assert_eq!(
        run_all(&pods, &nodes(), &SourceConfig::default()),
        vec![
            "a.foo.example.org A 208.1.2.1,208.1.2.2 (pod/kube-system/my-pod1)",
            "internal.a.foo.example.org A 208.1.2.1,208.1.2.2 (pod/kube-system/my-pod1)",
        ]
    );
}

#[test]
fn pod_source_domain_template_and_host_network_filter() {
    let plain = mk_pod("default", "web-0", "web", "10.1.0.5", "my-node1");
    let domain =
        SourceConfig::new(&SourceFlags { pod_source_domain: "pods.example.org".into(), ..Default::default() }).unwrap();
    assert_eq!(
        run_all(std::slice::from_ref(&plain), &nodes(), &domain),
        vec!["web-0.pods.example.org A 10.1.0.5 (pod/default/web-0)"]
    );
    let hn_only = SourceConfig { ignore_non_host_network_pods: true, ..domain.clone() };
    assert!(run_all(std::slice::from_ref(&plain), &nodes(), &hn_only).is_empty());

    let mut with_ips = plain.clone();
    with_ips.status.as_mut().unwrap().pod_ips = Some(vec![
        k8s_openapi::api::core::v1::PodIP { ip: "10.1.0.5".into() },
        k8s_openapi::api::core::v1::PodIP { ip: "fd00::5".into() },
    ]);
    let t = SourceConfig::new(&SourceFlags {
        fqdn_template: vec!["{{.Name}}.{{.Namespace}}.pods.example.org".into()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        run_all(&[with_ips], &nodes(), &t),
        vec![
            "web-0.default.pods.example.org A 10.1.0.5 (pod/default/web-0)",
            "web-0.default.pods.example.org AAAA fd00::5 (pod/default/web-0)",
        ]
    );
}

#[test]
fn ttl_applies_and_unknown_node_gives_nothing() {
    let pod = annotated("p", "10.0.1.1", "nowhere", &[("external-dns.kubernetes.io/ttl", "5400")]);
    assert_eq!(
        run_all(&[pod], &nodes(), &SourceConfig::default()),
        vec!["internal.a.foo.example.org A ttl=5400 10.0.1.1 (pod/kube-system/p)",]
    );
}
