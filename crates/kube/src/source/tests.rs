//! Which watches a source starts, and for which objects.

use super::dependents::Needs;
use super::dependents::{names_gateway, service_needs};
use super::watch::{join_errors, name_sources};
use super::*;
use exodns_sources::SourceFlags;
use exodns_sources::types::ParentReference;

fn svc(json: serde_json::Value) -> Service {
    serde_json::from_value(json).unwrap()
}

fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

#[test]
fn which_services_need_pods_and_nodes() {
    let c = SourceConfig::default();
    let headless = svc(serde_json::json!({
        "metadata": {"name": "db", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "db.example.org"}},
        "spec": {"clusterIP": "None", "selector": {"app": "db"}}}));
    assert_eq!(service_needs(&headless, &c), Needs { pods: true, slices: true, nodes: false });
    let unnamed = svc(serde_json::json!({"metadata": {"name": "db", "namespace": "a"}, "spec": {"clusterIP": "None"}}));
    assert_eq!(service_needs(&unnamed, &c), Needs::default(), "a StatefulSet's headless Service without DNS");
    let templ = cfg(|f| f.fqdn_template = vec!["{{.Name}}.example.org".into()]);
    assert!(service_needs(&unnamed, &templ).pods);
    let node_ext = svc(serde_json::json!({
        "metadata": {"name": "db", "namespace": "a", "annotations": {
            "external-dns.alpha.kubernetes.io/internal-hostname": "db.example.org",
            "external-dns.kubernetes.io/endpoints-type": "NodeExternalIP"}},
        "spec": {"clusterIP": "None"}}));
    assert_eq!(service_needs(&node_ext, &c), Needs { pods: true, slices: true, nodes: true });
    let np = svc(serde_json::json!({
        "metadata": {"name": "np", "namespace": "a", "annotations": {"external-dns.kubernetes.io/hostname": "np.example.org"}},
        "spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}}));
    assert_eq!(service_needs(&np, &c), Needs { pods: true, slices: false, nodes: true });
    let lb_only = cfg(|f| f.service_type_filter = vec!["LoadBalancer".into()]);
    assert_eq!(service_needs(&np, &lb_only), Needs::default());
    assert_eq!(service_needs(&headless, &lb_only), Needs::default());
    let mut targeted = np.clone();
    targeted
        .metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert("external-dns.kubernetes.io/target".into(), "1.2.3.4".into());
    assert_eq!(service_needs(&targeted, &c), Needs::default());
    let ignore = cfg(|f| f.ignore_hostname_annotation = true);
    assert_eq!(service_needs(&np, &ignore), Needs::default());
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

#[test]
fn errors_joined() {
    assert_eq!(name_sources(&["gateway-tcproute"]), "source gateway-tcproute");
    assert_eq!(name_sources(&["service", "pod"]), "sources service, pod");
    let e = join_errors(vec![
        "the cluster does not serve gateways.g (looked for v1); install it".into(),
        "cannot reach the apiserver: refused".into(),
        "the cluster does not serve tcproutes.g (looked for v1, v1alpha2); install it".into(),
        "cannot reach the apiserver: refused".into(),
    ]);
    assert_eq!(
        e,
        "cannot reach the apiserver: refused; the cluster does not serve gateways.g (looked for v1), tcproutes.g (looked for v1, v1alpha2); install it"
    );
}
