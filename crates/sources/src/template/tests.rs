use super::*;

fn meta(name: &str, ns: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.into()),
        labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    }
}

fn render(t: &str, m: &ObjectMeta) -> Vec<String> {
    FqdnTemplate::parse(t).unwrap_or_else(|e| panic!("{t}: {e}")).hostnames(&TemplateInput {
        source: "service",
        kind: "Service",
        api_version: "v1",
        metadata: m,
        raw: None,
    })
}

#[test]
fn common_templates() {
    let m = meta("web", "prod", &[("app", "shop"), ("app.kubernetes.io/name", "Shop")]);
    assert_eq!(render("{{.Name}}.{{.Namespace}}.example.com", &m), vec!["web.prod.example.com"]);
    assert_eq!(render("{{.Name}}.a.org, {{.Name}}.b.org.", &m), vec!["web.a.org", "web.b.org"]);
    assert_eq!(render("{{ .Labels.app }}.example.com", &m), vec!["shop.example.com"]);
    assert_eq!(render("{{ index .Labels \"app.kubernetes.io/name\" | toLower }}.x.org", &m), vec!["shop.x.org"]);
    // Upstream's order, Go's strings.TrimPrefix(s, prefix): the string first.
    assert_eq!(render("{{ trimPrefix .Name \"w\" }}.x.org", &m), vec!["eb.x.org"]);
    assert_eq!(render("{{ trimSuffix .Name \"b\" }}.x.org", &m), vec!["we.x.org"]);
    assert_eq!(render("{{ \"w\" | trimPrefix .Name }}.x.org", &m), vec!["eb.x.org"]);
    assert_eq!(render("{{ replace \"e\" \"3\" .Name }}.x.org", &m), vec!["w3b.x.org"]);
    assert_eq!(
        render("{{ (replace \"e\" \"E\" .Name) | toLower }}.{{.Kind | toLower}}.org", &m),
        vec!["web.service.org"]
    );
    assert_eq!(render("{{.ObjectMeta.Name}}.{{/* note */}}x.org", &m), vec!["web.x.org"]);
    assert_eq!(render("  {{- .Name -}}  .x.org", &m), vec!["web.x.org"]);
    // A missing key renders empty.
    assert_eq!(render("{{.Labels.none}}x.org", &m), vec!["x.org"]);
}

#[test]
fn refuses_unsupported_syntax() {
    for bad in [
        "{{ index .Labels 0 }}",
        "{{ toLower 3 }}",
        "{{ .Spec. }}",
        "{{.Name}",
        "{{ .Labels }}",
        "{{ . }}",
        "{{ $ }}",
        "{{ toLower }}",
        "{{ $x }}",
        "{{ $x = .Name }}",
        "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
        "{{ .Name .Namespace }}",
        "{{ .Nope }}",
        "{{ .ObjectMeta.UID }}",
        "{{ isSource \"servics\" }}",
        "{{ html .Name }}",
        "{{ hasKey .Name \"x\" }}",
        "{{ range .Name }}{{ end }}",
        "{{ define \"x\" }}{{ end }}",
        "{{ template \"x\" }}",
        "{{ if .Name }}x",
        "{{ if .Name }}x{{ else }}y{{ else }}z{{ end }}",
        "{{ else }}",
        "{{ end }}",
        "{{ break }}",
        "{{ range .Spec.x }}{{ end }}{{ continue }}",
        "{{ $a, $b := .Name }}",
        "{{ /* unclosed }}",
        "{{ \"a\" | \"b\" }}",
        "{{ (toLower .Name }}",
        "{{ .Labels.a.b }}",
    ] {
        assert!(FqdnTemplate::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn raw_sections_of_an_object() {
    let raw: Value = serde_json::json!({
        "apiVersion": "example.org/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "apps"},
        "spec": {"host": "w.example.org", "hosts": ["a.example.org", "b.example.org"], "port": 80,
                 "addresses": [{"ip": "192.0.2.1"}], "nothing": null},
        "data": {"hostname": "cm.example.org"}
    });
    let m = meta("w", "apps", &[]);
    let input = TemplateInput {
        source: "unstructured",
        kind: "Widget",
        api_version: "example.org/v1",
        metadata: &m,
        raw: Some(&raw),
    };
    let r = |t: &str| FqdnTemplate::parse(t).unwrap_or_else(|e| panic!("{t}: {e}")).try_render(&input);
    assert_eq!(r("{{.Spec.host}}").unwrap(), "w.example.org");
    assert_eq!(r("{{index .Spec.hosts 1}}").unwrap(), "b.example.org");
    assert_eq!(r("{{index .Spec.addresses 0 \"ip\"}}").unwrap(), "192.0.2.1");
    assert_eq!(r("{{index .Object.data \"hostname\"}}").unwrap(), "cm.example.org");
    assert_eq!(r("{{.Object.data.hostname | toUpper}}").unwrap(), "CM.EXAMPLE.ORG");
    assert_eq!(r("{{.Metadata.namespace}}:{{.Spec.port}}").unwrap(), "apps:80");
    assert_eq!(r("{{.Spec.hosts}}").unwrap(), "[a.example.org b.example.org]");
    // Missing renders empty, at any depth below a map.
    assert_eq!(r("x{{.Status.address}}{{.Spec.none.deeper}}").unwrap(), "x");
    assert_eq!(r("{{index .Spec \"none\"}}").unwrap(), "");
    // Errors name what failed.
    let e = r("{{index .Spec.hosts 5}}").unwrap_err();
    assert!(e.contains("index out of range: 5"), "{e}");
    assert!(r("{{.Spec.host.x}}").unwrap_err().contains(".Spec.host.x"));
    assert!(r("{{.Spec.nothing.x}}").is_err());
    assert!(r("{{index .Status.addresses 0}}").is_err());
    assert!(r("{{toLower .Spec.hosts}}").is_err());
    // Typed sources have no raw sections.
    let typed = TemplateInput { raw: None, ..input };
    assert_eq!(FqdnTemplate::parse("{{.Spec.host}}x").unwrap().try_render(&typed).unwrap(), "x");
    assert!(FqdnTemplate::parse("{{.Spec.host}}").unwrap().reads_raw());
    assert!(!FqdnTemplate::parse("{{.Name}}").unwrap().reads_raw());
}

#[test]
fn errors_say_what_is_wrong() {
    let cases = [
        ("{{ .Nope }}", "field .Nope is not supported"),
        ("{{ $.Labels.a.b }}", "keys with dots need index"),
        ("{{ nosuch .Name }}", "function \"nosuch\" is not supported; exodns knows contains"),
        ("{{ $x }}", "undefined variable \"$x\""),
        ("{{ isSource \"servics\" }}", "unknown source \"servics\""),
        ("{{ toLower 3 }}", "toLower: takes strings"),
        ("{{ if .Name }}x", "{{if}} has no {{end}}"),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ define \"x\" }}{{ end }}", "'define' is not supported"),
        ("x{{ .Name", "not closed"),
    ];
    for (t, want) in cases {
        let e = FqdnTemplate::parse(t).unwrap_err();
        assert!(e.contains(want), "{t}: {e}");
    }
}

#[test]
fn is_source_names_the_source_rendering() {
    let m = meta("web", "apps", &[]);
    let t = FqdnTemplate::parse(
        "{{ if isSource \"traefik-proxy\" }}{{ .Name }}.proxy.org{{ end }}{{ if isSource \"Service\" }}{{ .Name }}.svc.org{{ end }}",
    )
    .unwrap();
    let on = |source| t.render(&TemplateInput { source, kind: "Service", api_version: "v1", metadata: &m, raw: None });
    assert_eq!(on("service"), "web.svc.org");
    assert_eq!(on("traefik-proxy"), "web.proxy.org");
    assert_eq!(on("ingress"), "");
    // A name known only at rendering is checked then.
    let t = FqdnTemplate::parse("{{ isSource .Name }}").unwrap();
    let input = TemplateInput { source: "service", kind: "Service", api_version: "v1", metadata: &m, raw: None };
    assert!(t.try_render(&input).unwrap_err().contains("unknown source \"web\""));
}

#[test]
fn rendering_is_bounded() {
    let m = meta("web", "apps", &[]);
    let input = TemplateInput { source: "service", kind: "Service", api_version: "v1", metadata: &m, raw: None };
    let e = FqdnTemplate::parse("{{ range 100000000 }}{{ end }}").unwrap().try_render(&input).unwrap_err();
    assert!(e.contains("steps"), "{e}");
    let e = FqdnTemplate::parse("{{ range 1000 }}{{ range 1000 }}x{{ end }}{{ end }}")
        .unwrap()
        .try_render(&input)
        .unwrap_err();
    assert!(e.contains("more than"), "{e}");
    let deep = format!("{}{}", "{{ if 1 }}".repeat(100), "{{ end }}".repeat(100));
    assert!(FqdnTemplate::parse(&deep).unwrap_err().contains("too deep"));
    let parens = format!("{{{{ {}.Name{} }}}}", "(".repeat(100), ")".repeat(100));
    assert!(FqdnTemplate::parse(&parens).unwrap_err().contains("too deep"));
}

mod never_panics {
    use proptest::prelude::*;

    use super::super::go_tests::{meta_of, object};
    use super::*;

    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{- ",
        " -}}",
        "{{/*",
        "*/}}",
        "if ",
        "else ",
        "end",
        "range ",
        "with ",
        "break",
        "continue",
        ".Name",
        ".Labels",
        ".Spec",
        ".hosts",
        ".addresses",
        ".ip",
        ".Status",
        ".Object",
        "$",
        "$x",
        "$i, $v",
        " := ",
        " = ",
        "|",
        "(",
        ")",
        " ",
        ",",
        "\"a\"",
        "`b`",
        "'c'",
        "0",
        "1",
        "-1",
        "1.5",
        "true",
        "nil",
        "index ",
        "printf \"%d %s %v %q %\" ",
        "fromJson ",
        "\"[1,{\\\"a\\\":2}]\"",
        "len ",
        "eq ",
        "lt ",
        "and ",
        "or ",
        "not ",
        "slice ",
        "hasKey ",
        "toLower ",
        "replace ",
        "isSource ",
        "print ",
        ".",
        "\"",
        "\\",
        "é",
    ];

    fn template() -> impl Strategy<Value = String> {
        prop_oneof![prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat()), ".{0,120}",]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Arbitrary flag text never panics the parser, and a template that parses never panics
        /// when rendered.
        #[test]
        fn parsing_and_rendering_never_panic(t in template()) {
            if let Ok(p) = FqdnTemplate::parse(&t) {
                let raw = object();
                let m = meta_of(&raw);
                let input = TemplateInput {
                    source: "unstructured", kind: "Widget", api_version: "v1", metadata: &m, raw: Some(&raw),
                };
                let _ = p.try_render(&input);
                let _ = p.try_pairs(&TemplateInput { raw: None, ..input });
            }
        }
    }
}

#[test]
fn a_template_failing_on_a_typed_object_is_reported_on_it() {
    use crate::kind::SourceKind;
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: long-name, namespace: apps}
spec: {type: ClusterIP, clusterIP: 10.0.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: ab, namespace: apps}
spec: {type: ClusterIP, clusterIP: 10.0.0.2}
"#;
    let out = crate::testutil::manifest_lines(yaml, &[SourceKind::Service], |f| {
        f.publish_internal_services = true;
        f.fqdn_template = vec!["{{ slice .Name 5 }}.example.org".into()];
        f.fqdn_target_template = vec!["{{ if eq .Name \"ab\" }}{{ index .Name 9 }}{{ end }}".into()];
    });
    assert!(out.iter().any(|l| l.starts_with("name.example.org A 10.0.0.1 (service/apps/long-name)")), "{out:#?}");
    let failures: Vec<&String> = out.iter().filter(|l| l.starts_with("INVALID")).collect();
    assert_eq!(failures.len(), 2, "{out:#?}");
    assert!(failures.iter().all(|l| l.contains("service/apps/ab") && l.contains("index out of range")), "{out:#?}");
    assert!(
        failures.iter().any(|l| l.contains("--fqdn-template"))
            && failures.iter().any(|l| l.contains("--fqdn-target-template"))
    );
}
