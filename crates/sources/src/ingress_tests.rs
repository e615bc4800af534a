//! Ingress source cases, ported from upstream's ingress_test.go and extended.

use super::*;
use crate::SourceFlags;
use crate::testutil::*;

fn cfg(edit: impl FnOnce(&mut SourceFlags)) -> SourceConfig {
    let mut f = SourceFlags::default();
    edit(&mut f);
    SourceConfig::new(&f).unwrap()
}

fn run(ing: &Ingress, cfg: &SourceConfig) -> Vec<String> {
    lines(&endpoints(ing, cfg))
}

#[test]
fn rules_tls_and_status() {
    let ing =
        mk_ingress("default", "web", &["foo.example.org", ""], &["tls.example.org"], &["8.8.8.8", "lb.example.com"]);
    assert_eq!(
        run(&ing, &SourceConfig::default()),
        vec![
            "foo.example.org A 8.8.8.8 (ingress/default/web)",
            "foo.example.org CNAME lb.example.com (ingress/default/web)",
            "tls.example.org A 8.8.8.8 (ingress/default/web)",
            "tls.example.org CNAME lb.example.com (ingress/default/web)",
        ]
    );
    assert_eq!(run(&ing, &cfg(|f| f.ignore_ingress_tls_spec = true)).len(), 2);
    assert_eq!(run(&ing, &cfg(|f| f.ignore_ingress_rules_spec = true)).len(), 2);
    // No status yet: nothing.
    let pending = mk_ingress("default", "web", &["foo.example.org"], &[], &[]);
    assert!(run(&pending, &SourceConfig::default()).is_empty());
}

#[test]
fn hostname_annotation_and_hostname_source() {
    let base = with_annotations(
        mk_ingress("default", "web", &["rule.example.org"], &[], &["1.2.3.4"]),
        &[hostname("ann.example.org")],
    );
    let names = |ing: &Ingress, c: &SourceConfig| -> Vec<String> {
        endpoints(ing, c).endpoints.iter().map(|e| e.dns_name.to_string()).collect()
    };
    assert_eq!(names(&base, &SourceConfig::default()), vec!["ann.example.org", "rule.example.org"]);
    assert_eq!(names(&base, &cfg(|f| f.ignore_hostname_annotation = true)), vec!["rule.example.org"]);
    let defined =
        with_annotations(base.clone(), &[("external-dns.kubernetes.io/ingress-hostname-source", "defined-hosts-only")]);
    assert_eq!(names(&defined, &SourceConfig::default()), vec!["rule.example.org"]);
    let ann_only =
        with_annotations(base.clone(), &[("external-dns.kubernetes.io/ingress-hostname-source", "Annotation-Only")]);
    assert_eq!(names(&ann_only, &SourceConfig::default()), vec!["ann.example.org"]);
    let bad = with_annotations(base, &[("external-dns.kubernetes.io/ingress-hostname-source", "both")]);
    let out = endpoints(&bad, &SourceConfig::default());
    assert!(out.endpoints.is_empty());
    assert_eq!(out.invalid[0].field, "annotation external-dns.kubernetes.io/ingress-hostname-source");
}

#[test]
fn target_ttl_and_template() {
    let ing = with_annotations(
        mk_ingress("default", "web", &["foo.example.org"], &[], &["1.2.3.4"]),
        &[("external-dns.kubernetes.io/target", "ingress-target.com"), ("external-dns.kubernetes.io/ttl", "1h")],
    );
    assert_eq!(
        run(&ing, &SourceConfig::default()),
        vec!["foo.example.org CNAME ttl=3600 ingress-target.com (ingress/default/web)"]
    );
    let bare = mk_ingress("default", "web", &[], &[], &["1.2.3.4"]);
    let t = cfg(|f| f.fqdn_template = vec!["{{.Name}}.{{.Namespace}}.ext-dns.test.com".into()]);
    assert_eq!(run(&bare, &t), vec!["web.default.ext-dns.test.com A 1.2.3.4 (ingress/default/web)"]);
    // The template is not used when the ingress names hosts, unless combining.
    assert_eq!(run(&ing, &t).len(), 1);
    let both = cfg(|f| {
        f.fqdn_template = vec!["{{.Name}}.x.org".into()];
        f.combine_fqdn_annotation = true;
    });
    assert_eq!(run(&ing, &both).len(), 2);
}

#[test]
fn ingress_class_filter() {
    let classes = cfg(|f| f.ingress_class = vec!["public".into(), "dmz".into()]);
    let mut by_spec = mk_ingress("default", "a", &["a.example.org"], &[], &["1.2.3.4"]);
    by_spec.spec.as_mut().unwrap().ingress_class_name = Some("dmz".into());
    assert_eq!(run(&by_spec, &classes).len(), 1);
    let mut other = by_spec.clone();
    other.spec.as_mut().unwrap().ingress_class_name = Some("internal".into());
    assert!(run(&other, &classes).is_empty());
    let by_annotation = with_annotations(
        mk_ingress("default", "b", &["b.example.org"], &[], &["1.2.3.4"]),
        &[("kubernetes.io/ingress.class", "public")],
    );
    assert_eq!(run(&by_annotation, &classes).len(), 1);
    // spec.ingressClassName wins over the legacy annotation.
    let mut both = with_annotations(by_annotation.clone(), &[]);
    both.spec.as_mut().unwrap().ingress_class_name = Some("internal".into());
    assert!(run(&both, &classes).is_empty());
    let none = mk_ingress("default", "c", &["c.example.org"], &[], &["1.2.3.4"]);
    assert!(run(&none, &classes).is_empty());
    assert_eq!(run(&none, &SourceConfig::default()).len(), 1);
}

#[test]
fn legacy_prefix_annotations_work() {
    let ing = with_annotations(
        mk_ingress("default", "old", &[], &[], &["1.2.3.4"]),
        &[
            ("external-dns.alpha.kubernetes.io/hostname", "old.example.org"),
            ("external-dns.alpha.kubernetes.io/ttl", "120"),
        ],
    );
    assert_eq!(run(&ing, &SourceConfig::default()), vec!["old.example.org A ttl=120 1.2.3.4 (ingress/default/old)"]);
}
