use crate::SourceFlags;
use crate::kind::{SourceKind, SourceName};
use crate::testutil::manifest_lines;

/// Every test of this process chooses the same resources (the choice is process-wide).
const RESOURCES: [&str; 2] = ["widgets.v1.example.org", "gadgets.v1beta1.example.net"];

fn run(yaml: &str, edit: impl FnOnce(&mut SourceFlags)) -> Vec<String> {
    let mut f = SourceFlags {
        source: vec![SourceName::Kinds("unstructured")],
        unstructured_resource: RESOURCES.iter().map(|r| r.to_string()).collect(),
        ..SourceFlags::default()
    };
    edit(&mut f);
    let kinds: Vec<SourceKind> = f.selection().unwrap().kinds;
    assert_eq!(kinds, [SourceKind::Unstructured0, SourceKind::Unstructured1]);
    manifest_lines(yaml, &kinds, |flags| *flags = f)
}

const OBJECTS: &str = r#"
apiVersion: example.org/v1
kind: Widget
metadata:
  name: web
  namespace: apps
  annotations: {external-dns.kubernetes.io/hostname: "web.example.org, www.example.org", external-dns.kubernetes.io/target: "192.0.2.1", external-dns.kubernetes.io/ttl: "60", external-dns.kubernetes.io/set-identifier: blue}
spec: {host: spec.example.org, address: 192.0.2.9}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: no-target, namespace: apps, annotations: {external-dns.kubernetes.io/hostname: lonely.example.org}}
spec: {host: nt.example.org}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: templated, namespace: shop, labels: {team: a}}
spec: {host: "t.example.org", hosts: ["*.t.example.org", "x.example.org"]}
status: {address: lb.example.net, addresses: [{ip: 192.0.2.7}]}
---
apiVersion: example.net/v1beta1
kind: Gadget
metadata: {name: g, namespace: apps}
spec: {host: gadget.example.org}
status: {address: "2001:db8::7"}
"#;

#[test]
fn annotations_need_a_hostname_and_a_target() {
    let out = run(OBJECTS, |_| {});
    assert_eq!(
        out,
        [
            "web.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
            "www.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
        ],
        "{out:#?}"
    );
}

#[test]
fn templates_name_and_target_objects_without_records() {
    let out = run(OBJECTS, |f| {
        f.fqdn_template = vec!["{{.Spec.host}}".into()];
        f.target_template = vec!["{{.Status.address}}".into()];
    });
    assert_eq!(
        out,
        [
            "gadget.example.org AAAA 2001:db8::7 (gadget/apps/g)",
            "t.example.org CNAME lb.example.net (widget/shop/templated)",
            "web.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
            "www.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
        ],
        "{out:#?}"
    );
    // A template name needs a template target.
    let out = run(OBJECTS, |f| f.fqdn_template = vec!["{{.Spec.host}}".into()]);
    assert_eq!(out.len(), 2, "{out:#?}");
}

#[test]
fn combine_and_pairs() {
    let out = run(OBJECTS, |f| {
        f.fqdn_template = vec!["{{.Name}}.{{.Kind | toLower}}.example.org".into()];
        f.target_template = vec!["192.0.2.50".into()];
        f.combine_fqdn_annotation = true;
        f.namespace = "apps".into();
    });
    assert_eq!(
        out,
        [
            "g.gadget.example.org A 192.0.2.50 (gadget/apps/g)",
            "no-target.widget.example.org A 192.0.2.50 (widget/apps/no-target)",
            "web.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
            "web.widget.example.org A ttl=60 192.0.2.50 (widget/apps/web)",
            "www.example.org A ttl=60 192.0.2.1 (widget/apps/web)",
        ],
        "{out:#?}"
    );
    let out = run(OBJECTS, |f| {
        f.fqdn_target_template = vec![r#"{{index .Spec.hosts 1}}:{{index .Status.addresses 0 "ip"}}"#.into()];
        f.label_filter = "team=a".into();
    });
    assert_eq!(out, ["x.example.org A 192.0.2.7 (widget/shop/templated)"], "{out:#?}");
}

#[test]
fn a_failing_template_is_reported_on_its_object_only() {
    let out = run(OBJECTS, |f| {
        f.fqdn_template = vec!["{{index .Spec.hosts 0}}".into()];
        f.target_template = vec!["{{.Status.address}}".into()];
    });
    assert!(out.contains(&"*.t.example.org CNAME lb.example.net (widget/shop/templated)".to_owned()), "{out:#?}");
    let bad: Vec<&String> = out.iter().filter(|l| l.starts_with("INVALID")).collect();
    // web has records of its own: the template does not apply to it.
    assert_eq!(bad.len(), 2, "no-target and g have no .Spec.hosts: {out:#?}");
    assert!(bad.iter().all(|l| l.contains("--fqdn-template")), "{bad:#?}");
    assert!(out.iter().any(|l| l.starts_with("web.example.org A")), "{out:#?}");
}

#[test]
fn flags_that_read_nothing_are_named() {
    let f = SourceFlags { source: vec![SourceName::Kinds("unstructured")], ..SourceFlags::default() };
    assert!(f.ignored().iter().any(|w| w.contains("--unstructured-resource")), "{:?}", f.ignored());
    assert!(f.selection().unwrap().kinds.is_empty());
    let f = SourceFlags {
        source: vec![SourceName::Kinds("service")],
        target_template: vec!["{{.Name}}".into()],
        ..SourceFlags::default()
    };
    assert!(f.ignored().iter().any(|w| w.starts_with("--target-template")), "{:?}", f.ignored());
}
