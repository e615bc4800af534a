//! Arbitrary text in annotations, specs, flags and manifests never panics a source.

use std::collections::BTreeMap;
use std::path::Path;

use exodns_sources::{Objects, SourceConfig, SourceFlags, SourceKind, manifest};
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "hostname",
    "internal-hostname",
    "target",
    "ttl",
    "set-identifier",
    "endpoints-type",
    "access",
    "ingress-hostname-source",
    "gateway-hostname-source",
    "aws-weight",
    "cloudflare-proxied",
];

fn manifest_with(annotations: &BTreeMap<String, String>, host: &str, target: &str) -> String {
    let ann = serde_json::to_string(annotations).unwrap();
    let host = serde_json::to_string(host).unwrap();
    let target = serde_json::to_string(target).unwrap();
    format!(
        r#"
apiVersion: v1
kind: Service
metadata: {{name: s, namespace: default, annotations: {ann}}}
spec: {{type: LoadBalancer, ports: [{{port: 80, nodePort: 30000}}]}}
status: {{loadBalancer: {{ingress: [{{hostname: {target}}}]}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: h, namespace: default, annotations: {ann}}}
spec: {{clusterIP: None, selector: {{app: h}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: default, labels: {{app: h}}, annotations: {ann}}}
spec: {{hostname: {host}, nodeName: n}}
status: {{podIP: {target}, hostIP: {target}}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: h-1, namespace: default, labels: {{kubernetes.io/service-name: h}}}}
addressType: IPv4
endpoints: [{{addresses: [{target}], targetRef: {{kind: Pod, name: p}}}}]
---
apiVersion: v1
kind: Node
metadata: {{name: n, annotations: {ann}}}
status: {{addresses: [{{type: ExternalIP, address: {target}}}]}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: i, namespace: default, annotations: {ann}}}
spec: {{rules: [{{host: {host}}}], tls: [{{hosts: [{host}]}}]}}
status: {{loadBalancer: {{ingress: [{{hostname: {target}}}]}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: g, namespace: default, annotations: {ann}}}
spec: {{listeners: [{{name: l, protocol: HTTP, port: 80, hostname: {host}, allowedRoutes: {{namespaces: {{from: {target}}}}}}}]}}
status: {{addresses: [{{value: {target}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: default, annotations: {ann}}}
spec: {{parentRefs: [{{name: g, sectionName: {host}}}], hostnames: [{host}]}}
status: {{parents: [{{parentRef: {{name: g, sectionName: {host}}}, conditions: [{{type: Accepted, status: "True"}}]}}]}}
---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: {{name: d, namespace: default, annotations: {ann}}}
spec: {{endpoints: [{{dnsName: {host}, recordType: {target}, targets: [{target}]}}, {{dnsName: {host}, recordType: SRV, targets: [{target}]}}]}}
"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sources_never_panic(
        values in proptest::collection::vec(".{0,40}", KEYS.len()),
        host in "[a-z0-9.*_-]{0,70}|.{0,20}",
        target in "[0-9a-f.:]{0,40}|[a-z.]{0,30}|.{0,20}",
        legacy in any::<bool>(),
    ) {
        let prefix = if legacy { "external-dns.alpha.kubernetes.io/" } else { "external-dns.kubernetes.io/" };
        let annotations: BTreeMap<String, String> =
            KEYS.iter().zip(values).map(|(k, v)| (format!("{prefix}{k}"), v)).collect();
        let text = manifest_with(&annotations, &host, &target);
        let (objects, errors) = manifest::parse(&text, Path::new("p.yaml"));
        // JSON quoting is YAML quoting except for raw control characters; with none, every
        // document must decode (strings like `n` or `0755` stay strings).
        if !text.chars().any(|c| c.is_control() && c != '\n') {
            prop_assert!(errors.is_empty(), "{:?}", errors);
        }
        let objects: Objects = objects.into_iter().collect();
        let cfg = SourceConfig::new(&SourceFlags {
            fqdn_template: vec!["{{.Name}}.{{ .Labels.app | toLower }}.example.org".into()],
            combine_fqdn_annotation: true,
            pod_source_domain: "pods.example.org".into(),
            default_targets: vec!["192.0.2.1".into()],
            ..Default::default()
        }).unwrap();
        let _ = manifest::endpoints(&objects, SourceKind::ALL, &cfg);
        let _ = manifest::endpoints(&objects, SourceKind::ALL, &SourceConfig::default());
    }

    #[test]
    fn flags_and_manifests_never_panic(text in ".{0,200}", flag in ".{0,60}") {
        let _ = manifest::parse(&text, Path::new("x.yaml"));
        let _ = manifest::parse(&text, Path::new("x.json"));
        let _ = SourceConfig::new(&SourceFlags { label_filter: flag.clone(), ..Default::default() });
        let _ = SourceConfig::new(&SourceFlags { fqdn_template: vec![flag.clone()], ..Default::default() });
        let _ = SourceConfig::new(&SourceFlags { default_targets: vec![flag], ..Default::default() });
    }
}
