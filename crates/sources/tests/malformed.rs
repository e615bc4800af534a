//! Malformed input, one case at a time, always next to valid objects: every case must give a
//! message that names the object (or the file and document) and the field, and the valid objects
//! of the same run must still give their endpoints. Nothing may panic.

use std::path::Path;

use exodns_sources::{SourceConfig, SourceFlags, SourceKind, SourceName, manifest};

/// Valid objects loaded with every case.
const VALID: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: good
  namespace: default
  annotations: {external-dns.kubernetes.io/hostname: good.example.org}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}
---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {name: good-crd, namespace: default}
spec:
  endpoints:
  - {dnsName: good-crd.example.org, recordType: A, targets: [192.0.2.2]}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
"#;

fn svc(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{{annotations}}}\nspec: {{type: LoadBalancer}}\nstatus: {{loadBalancer: {{ingress: [{{ip: 192.0.2.9}}]}}}}\n"
    )
}

fn host(name: &str, hostname: &str) -> String {
    svc(name, &format!("external-dns.kubernetes.io/hostname: \"{hostname}\""))
}

fn ttl(name: &str, ttl: &str) -> String {
    svc(
        name,
        &format!("external-dns.kubernetes.io/hostname: {name}.example.org, external-dns.kubernetes.io/ttl: \"{ttl}\""),
    )
}

fn crd(entry: &str) -> String {
    format!(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {{name: bad, namespace: default}}\nspec:\n  endpoints:\n  - {{dnsName: ok.example.org, recordType: A, targets: [192.0.2.3]}}\n  - {entry}\n"
    )
}

const GATEWAY: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n  listeners:\n  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: FROM}}}\nstatus: {addresses: [{value: 192.0.2.7}]}\n---\n";

fn route(hostnames: &str, annotations: &str, from: &str) -> String {
    format!(
        "{}apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r, namespace: default, annotations: {{{annotations}}}}}\nspec: {{parentRefs: [{{name: gw}}], hostnames: [{hostnames}]}}\nstatus: {{parents: [{{parentRef: {{name: gw}}, conditions: [{{type: Accepted, status: \"True\"}}]}}]}}\n",
        GATEWAY.replace("FROM", from)
    )
}

/// (case, manifest, words the message must contain: the object, then the field).
fn cases() -> Vec<(&'static str, String, [&'static str; 2])> {
    let long_name = format!("{}.example.org", vec!["abcdefghij"; 24].join("."));
    let long_label = format!("{}.example.org", "a".repeat(64));
    let ann_host = "annotation external-dns.kubernetes.io/hostname";
    let ann_ttl = "annotation external-dns.kubernetes.io/ttl";
    vec![
        ("bad characters in hostname", host("h1", "bad!host.example.org"), ["service/default/h1", ann_host]),
        ("name too long", host("h2", &long_name), ["service/default/h2", ann_host]),
        ("label longer than 63", host("h3", &long_label), ["service/default/h3", ann_host]),
        ("wildcard in the middle", host("h4", "a.*.example.org"), ["service/default/h4", ann_host]),
        ("empty label", host("h5", "a..example.org"), ["service/default/h5", ann_host]),
        ("label with edge hyphen", host("h6", "-a.example.org"), ["service/default/h6", ann_host]),
        ("ttl -1", ttl("t1", "-1"), ["service/default/t1", ann_ttl]),
        ("ttl 0", ttl("t2", "0"), ["service/default/t2", ann_ttl]),
        ("ttl abc", ttl("t3", "abc"), ["service/default/t3", ann_ttl]),
        ("ttl too large", ttl("t4", "99999999999"), ["service/default/t4", ann_ttl]),
        (
            "set-identifier with a space",
            svc("s1", "external-dns.kubernetes.io/hostname: s1.example.org, external-dns.kubernetes.io/set-identifier: \"a b\""),
            ["service/default/s1", "annotation external-dns.kubernetes.io/set-identifier"],
        ),
        (
            "bad target annotation",
            svc("s2", "external-dns.kubernetes.io/hostname: s2.example.org, external-dns.kubernetes.io/target: \"not a host!\""),
            ["service/default/s2", "annotation external-dns.kubernetes.io/target"],
        ),
        (
            "IPv4-shaped target annotation out of range",
            svc("s4", "external-dns.kubernetes.io/hostname: s4.example.org, external-dns.kubernetes.io/target: \"999.1.1.1\""),
            ["service/default/s4", "annotation external-dns.kubernetes.io/target"],
        ),
        (
            "IPv4-shaped target annotation, every octet out of range",
            svc("s5", "external-dns.kubernetes.io/hostname: s5.example.org, external-dns.kubernetes.io/target: \"300.300.300.300\""),
            ["service/default/s5", "annotation external-dns.kubernetes.io/target"],
        ),
        ("CNAME to an IPv4-shaped name", crd("{dnsName: a.example.org, recordType: CNAME, targets: [\"1.2.3.999\"]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        (
            "bad load balancer hostname",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s3, namespace: default, annotations: {external-dns.kubernetes.io/hostname: s3.example.org}}\nspec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [{hostname: \"lb_!.example.net\"}]}}\n".into(),
            ["service/default/s3", "status.loadBalancer.ingress"],
        ),
        ("A with a host name", crd("{dnsName: a.example.org, recordType: A, targets: [example.com]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("A alias with a host name", crd("{dnsName: a.example.org, recordType: A, targets: [lb.example.net], providerSpecific: [{name: alias, value: \"true\"}]}"), ["crd/default/bad", "write a CNAME with alias=true"]),
        ("AAAA with IPv4", crd("{dnsName: a.example.org, recordType: AAAA, targets: [192.0.2.1]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("MX without preference", crd("{dnsName: a.example.org, recordType: MX, targets: [mail.example.org]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("SRV port out of range", crd("{dnsName: _s._tcp.example.org, recordType: SRV, targets: [\"0 5 70000 s.example.org\"]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("CAA bad tag", crd("{dnsName: a.example.org, recordType: CAA, targets: [\"0 iss-ue x.org\"]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("CNAME to an IP", crd("{dnsName: a.example.org, recordType: CNAME, targets: [192.0.2.1]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("unknown record type", crd("{dnsName: a.example.org, recordType: BOGUS, targets: [x]}"), ["crd/default/bad", "spec.endpoints[1].recordType"]),
        ("missing record type", crd("{dnsName: a.example.org, targets: [192.0.2.1]}"), ["crd/default/bad", "spec.endpoints[1].recordType"]),
        ("empty targets", crd("{dnsName: a.example.org, recordType: A, targets: []}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("negative recordTTL", crd("{dnsName: a.example.org, recordType: A, targets: [192.0.2.1], recordTTL: -5}"), ["crd/default/bad", "spec.endpoints[1].recordTTL"]),
        ("missing dnsName", crd("{recordType: A, targets: [192.0.2.1]}"), ["crd/default/bad", "spec.endpoints[1].dnsName"]),
        ("bad setIdentifier", crd("{dnsName: a.example.org, recordType: A, targets: [192.0.2.1], setIdentifier: \"x y\"}"), ["crd/default/bad", "spec.endpoints[1].setIdentifier"]),
        ("TXT with a NUL", crd("{dnsName: a.example.org, recordType: TXT, targets: [\"a\\0b\"]}"), ["crd/default/bad", "spec.endpoints[1].targets"]),
        ("broken YAML", "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n".into(), ["case.yaml:", "document 4: not valid YAML"]),
        ("no apiVersion or kind", "metadata: {name: x}\n".into(), ["case.yaml:", "apiVersion and kind are required"]),
        ("annotation value not a string", svc("n1", "external-dns.kubernetes.io/ttl: 60"), ["Service default/n1", "metadata.annotations[\"external-dns.kubernetes.io/ttl\"]"]),
        ("wrong field type", "apiVersion: v1\nkind: Service\nmetadata: {name: n2, namespace: default}\nspec: {ports: eighty}\n".into(), ["Service default/n2", "invalid type"]),
        ("object without a name", "apiVersion: v1\nkind: Service\nmetadata: {namespace: default}\nspec: {type: LoadBalancer}\n".into(), ["a service object needs a name", "metadata.name"]),
        (
            "unknown ingress-hostname-source",
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i1, namespace: default, annotations: {external-dns.kubernetes.io/ingress-hostname-source: both}}\nspec: {rules: [{host: i1.example.org}]}\nstatus: {loadBalancer: {ingress: [{ip: 192.0.2.5}]}}\n".into(),
            ["ingress/default/i1", "annotation external-dns.kubernetes.io/ingress-hostname-source"],
        ),
        (
            "bad ingress rule host",
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i2, namespace: default}\nspec: {rules: [{host: ok.example.org}, {host: \"bad..example.org\"}]}\nstatus: {loadBalancer: {ingress: [{ip: 192.0.2.5}]}}\n".into(),
            ["ingress/default/i2", "spec.rules[1].host"],
        ),
        ("IP as a route hostname", route("\"192.0.2.1\"", "", "Same"), ["httproute/default/r", "spec.hostnames[0]"]),
        ("unknown allowedRoutes from", route("r.example.org", "", "Somewhere"), ["httproute/default/r", "gateway default/gw spec.listeners[http].allowedRoutes.namespaces.from"]),
        (
            "unknown gateway-hostname-source",
            route("r.example.org", "external-dns.kubernetes.io/gateway-hostname-source: neither", "Same"),
            ["httproute/default/r", "annotation external-dns.kubernetes.io/gateway-hostname-source"],
        ),
        (
            "unknown endpoints-type",
            "apiVersion: v1\nkind: Service\nmetadata: {name: hl, namespace: default, annotations: {external-dns.kubernetes.io/hostname: hl.example.org, external-dns.kubernetes.io/endpoints-type: Nodes}}\nspec: {clusterIP: None}\n".into(),
            ["service/default/hl", "annotation external-dns.kubernetes.io/endpoints-type"],
        ),
        (
            "unknown access",
            "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: default, annotations: {external-dns.kubernetes.io/hostname: np.example.org, external-dns.kubernetes.io/access: everyone}}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n".into(),
            ["service/default/np", "annotation external-dns.kubernetes.io/access"],
        ),
        (
            "bad pod internal-hostname",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: default, annotations: {external-dns.kubernetes.io/internal-hostname: \"p_1!.example.org\"}}\nstatus: {podIP: 10.0.0.1}\n".into(),
            ["pod/default/p1", "annotation external-dns.kubernetes.io/internal-hostname"],
        ),
        ("node without addresses", "apiVersion: v1\nkind: Node\nmetadata: {name: bare}\n".into(), ["node/bare", "status.addresses"]),
        (
            "legacy-prefix ttl",
            svc("l1", "external-dns.alpha.kubernetes.io/hostname: l1.example.org, external-dns.alpha.kubernetes.io/ttl: soon"),
            ["service/default/l1", "annotation external-dns.alpha.kubernetes.io/ttl"],
        ),
    ]
}

#[test]
fn each_malformed_input_is_named_and_the_rest_goes_on() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let cfg = SourceConfig::default();
    for (case, bad, [object, field]) in cases {
        let text = format!("{VALID}---\n{bad}");
        let (objects, errors) = manifest::parse(&text, Path::new("case.yaml"));
        let loaded: exodns_sources::Objects = objects.into_iter().collect();
        let out = manifest::endpoints(&loaded, SourceKind::ALL, &cfg);
        let messages: Vec<String> =
            errors.iter().map(ToString::to_string).chain(out.invalid.iter().map(ToString::to_string)).collect();
        assert!(
            messages.iter().any(|m| m.contains(object) && m.contains(field)),
            "{case}: no message names {object:?} and {field:?}: {messages:#?}"
        );
        let names: Vec<&str> = out.endpoints.iter().map(|e| e.dns_name.as_str()).collect();
        for want in ["good.example.org", "good-crd.example.org"] {
            assert!(names.contains(&want), "{case}: {want} missing from {names:?}");
        }
    }
}

/// Text shaped like an IPv4 address that is not one used to become a CNAME target.
#[test]
fn ipv4_shaped_garbage_is_never_a_target() {
    let cfg = SourceConfig::default();
    for garbage in ["999.1.1.1", "300.300.300.300", "1.2.3", "10.0.0.256"] {
        let text = format!(
            "{VALID}---\n{}",
            svc(
                "g",
                &format!(
                    "external-dns.kubernetes.io/hostname: g.example.org, external-dns.kubernetes.io/target: \"{garbage}\""
                )
            )
        );
        let (objects, errors) = manifest::parse(&text, Path::new("case.yaml"));
        assert!(errors.is_empty(), "{errors:?}");
        let loaded: exodns_sources::Objects = objects.into_iter().collect();
        let out = manifest::endpoints(&loaded, SourceKind::ALL, &cfg);
        let published: Vec<String> = out.endpoints.iter().map(ToString::to_string).collect();
        assert!(
            out.endpoints.iter().all(|e| e.targets.iter().all(|t| t != garbage)),
            "{garbage} published: {published:#?}"
        );
        let message = out.invalid.iter().map(ToString::to_string).find(|m| m.contains("service/default/g"));
        let message = message.unwrap_or_else(|| panic!("{garbage}: not reported: {:?}", out.invalid));
        assert!(message.contains("external-dns.kubernetes.io/target") && message.contains(garbage), "{message}");
    }
}

#[test]
fn bad_flags_name_the_flag() {
    let cases: Vec<(&str, SourceFlags)> = vec![
        ("--label-filter", SourceFlags { label_filter: "app in (a,b".into(), ..Default::default() }),
        ("--label-filter", SourceFlags { label_filter: "app=a=b".into(), ..Default::default() }),
        ("--annotation-filter", SourceFlags { annotation_filter: "==x".into(), ..Default::default() }),
        ("--gateway-label-filter", SourceFlags { gateway_label_filter: "!".into(), ..Default::default() }),
        (
            "--fqdn-template",
            // .Spec is read only for the unstructured source.
            SourceFlags {
                source: vec!["service".parse().unwrap()],
                fqdn_template: vec!["{{ .Spec.ClusterIP }}.example.org".into()],
                ..Default::default()
            },
        ),
        (
            "--fqdn-template",
            SourceFlags { fqdn_template: vec!["{{ if .Name }}x{{ else }}".into()], ..Default::default() },
        ),
        ("--default-targets", SourceFlags { default_targets: vec!["exa mple.org".into()], ..Default::default() }),
        ("--service-type-filter", SourceFlags { service_type_filter: vec!["Headless".into()], ..Default::default() }),
        ("--pod-source-domain", SourceFlags { pod_source_domain: "a..b".into(), ..Default::default() }),
    ];
    for (flag, flags) in cases {
        let err = SourceConfig::new(&flags).expect_err(flag).to_string();
        assert!(err.starts_with(flag), "{err}");
    }
}

#[test]
fn source_names_are_checked() {
    let err = "gateway-route".parse::<SourceName>().unwrap_err().to_string();
    assert!(err.contains("\"gateway-route\"") && err.contains("gateway-httproute"), "{err}");
}
