//! The `unstructured` source on a real apiserver, over a core resource (ConfigMaps) and a custom
//! one (a small `widgets.example.org` CRD defined here): the same records as upstream ExternalDNS
//! v0.22.0 for every object shape and flag set, but for the cases named below; under the shipped
//! ClusterRole plus the read rules docs/sources.md tells users to add (without them, a clear
//! Forbidden naming the resource); and a changed object re-published within a second (answers
//! checked with DNS queries against PowerDNS).

use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, dns_query};
use serde_json::json;

use crate::common::{apply, kubectl, patch_status};
use crate::diff::{Differ, Difference, apply_in_namespaces, apply_with_status};

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.org}
spec:
  group: example.org
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

/// The read rules docs/sources.md gives for these resources (the chart's
/// `rbac.additionalPermissions`), bound to the ServiceAccount the shipped role is bound to.
const EXTRA_RULES: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: exodns-unstructured}
rules:
- {apiGroups: ["example.org"], resources: ["widgets"], verbs: ["get", "list", "watch"]}
- {apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: exodns-unstructured}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exodns-unstructured}
subjects: [{kind: ServiceAccount, name: exodns, namespace: exodns}]
"#;

/// ConfigMaps: a name and a target in its data (labelled); two host names with a TTL from the
/// annotations; a wildcard name with a host-name target (trailing dot) in its data; a host name
/// annotation without a target and data without a host name; another controller's; an IPv6
/// target from the annotations.
const CONFIG_MAPS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: api, namespace: web, labels: {dns: "yes"}}
data: {hostname: api.example.org, target: 192.0.2.10}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: multi
  namespace: web
  labels: {dns: "yes"}
  annotations: {external-dns.kubernetes.io/hostname: "a.example.org, b.example.org", external-dns.kubernetes.io/target: 192.0.2.11, external-dns.kubernetes.io/ttl: "60"}
data: {note: two names}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wild, namespace: shop, labels: {dns: "yes"}}
data: {hostname: "*.wild.example.org", target: lb.example.net.}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nohost, namespace: shop, labels: {dns: "yes"}, annotations: {external-dns.kubernetes.io/hostname: lonely.example.org}}
data: {target: 192.0.2.13}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-ours, namespace: web, labels: {dns: "yes"}, annotations: {external-dns.kubernetes.io/controller: someone-else, external-dns.kubernetes.io/hostname: not-ours.example.org, external-dns.kubernetes.io/target: 192.0.2.14}}
data: {hostname: not-ours.example.org, target: 192.0.2.14}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: six, namespace: shop, labels: {dns: "yes"}, annotations: {external-dns.kubernetes.io/hostname: six.example.org, external-dns.kubernetes.io/target: "2001:db8::6"}}
data: {hostname: six-data.example.org, target: "2001:db8::66"}
"#;

/// Widgets: a host in the spec and an address in the status (and records as JSON in an
/// annotation, for `fromJson`); a target override by annotation; no status yet (no address); two
/// host names in one field; a label; a list of hosts and of addresses.
const WIDGETS: &str = r#"
apiVersion: example.org/v1
kind: Widget
metadata:
  name: w1
  namespace: web
  annotations: {example.org/records: '[{"dns":"j1.example.org","ip":"192.0.2.50"},{"dns":"j2.example.org","ip":"192.0.2.51"}]'}
spec: {host: w1.example.org, hosts: [w1-a.example.org], addresses: [{ip: 192.0.2.40}]}
status: {address: 192.0.2.20}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: w2, namespace: web, annotations: {external-dns.kubernetes.io/hostname: w2.example.org, external-dns.kubernetes.io/target: override.example.net}}
spec: {host: w2-spec.example.org, hosts: [w2-a.example.org], addresses: [{ip: 192.0.2.41}]}
status: {address: 192.0.2.21}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: pending, namespace: shop}
spec: {host: pending.example.org, hosts: [pending-a.example.org], addresses: [{ip: 192.0.2.42}]}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: multi, namespace: shop}
spec: {host: "m1.example.org,m2.example.org", hosts: [m-a.example.org, m-b.example.org], addresses: [{ip: 192.0.2.43}]}
status: {address: 192.0.2.22}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: labelled, namespace: web, labels: {tier: gold}}
spec: {host: gold.example.org, hosts: ["*.gold.example.org"], addresses: [{ip: "2001:db8::44"}]}
status: {address: gold.lb.example.net}
"#;

const CM: &str = "--unstructured-resource=configmaps.v1";
const WIDGET: &str = "--unstructured-resource=widgets.v1.example.org";
const SOURCE: &str = "--source=unstructured";
const SPEC_HOST: &str = "--fqdn-template={{.Spec.host}}";
const STATUS_ADDRESS: &str = "--target-template={{.Status.address}}";

/// A Widget without a status yet: `{{.Status.address}}` is missing, which Go prints as
/// `<no value>`; upstream publishes that as a CNAME target. exodns publishes nothing until the
/// address is there.
const NO_ADDRESS: Difference = Difference {
    case: "an object without an address (a missing field in --target-template)",
    upstream_only: &[
        r#"pending.example.org CNAME <no value> {"owner":"diff","resource":"widget/shop/pending"}"#,
        r#"cname-pending.example.org TXT "heritage=external-dns,external-dns/owner=diff,external-dns/resource=widget/shop/pending" {"ownedRecord":"pending.example.org"}"#,
    ],
    exodns_only: &[],
};

/// A ConfigMap without the `hostname` key `--fqdn-template` reads: upstream publishes the name
/// `<no value>`; exodns has no name to publish.
const NO_HOSTNAME: Difference = Difference {
    case: "an object without a host name (a missing field in --fqdn-template)",
    upstream_only: &[
        r#"<no value> A 192.0.2.13 {"owner":"diff","resource":"configmap/shop/nohost"}"#,
        r#"a-<no value> TXT "heritage=external-dns,external-dns/owner=diff,external-dns/resource=configmap/shop/nohost" {"ownedRecord":"<no value>"}"#,
    ],
    exodns_only: &[],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstructured_matches_upstream() {
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(differ) = Differ::new(&kube) else { return };
    // Not served: an error of the source, naming the resource and the flag.
    differ.exodns_names_missing(&[SOURCE, WIDGET], &["widgets.example.org", "--unstructured-resource"]);
    apply(&kube, WIDGET_CRD);
    kubectl(&kube, &["wait", "--for=condition=Established", "crd/widgets.example.org", "--timeout=60s"]);
    // Served, but no shipped rule covers a resource chosen at run time: Forbidden, named.
    let log = differ.exodns_failure(&[SOURCE, WIDGET]);
    assert!(log.to_lowercase().contains("forbidden") && log.contains("widgets"), "{log}");
    // The documented extra rules; every comparison below runs under them and the shipped role.
    apply(&kube, EXTRA_RULES);
    apply_in_namespaces(&kube, &["web", "shop"], CONFIG_MAPS);
    apply_with_status(&kube, WIDGETS);

    // Annotations over a core and a custom resource: several names with a TTL, IPv6, a target
    // override, a host name without a target, another controller's.
    let n = differ.compare(&[SOURCE, CM, WIDGET], &[]);
    assert!(n >= 8, "too few records to compare: {n}");
    differ.compare(&[SOURCE, CM, WIDGET, "--annotation-filter=external-dns.kubernetes.io/ttl"], &[]);
    // A ConfigMap's data as a DNS registry (upstream's example), with a wildcard.
    let data = [
        r#"--fqdn-template={{index .Object.data "hostname"}}"#,
        r#"--target-template={{index .Object.data "target"}}"#,
    ];
    let n = differ.compare(&[SOURCE, CM, data[0], data[1], "--label-filter=dns=yes"], &[NO_HOSTNAME]);
    assert!(n >= 10, "too few records to compare: {n}");
    // A custom resource's spec and status: several names in one field, a host-name target.
    let n = differ.compare(&[SOURCE, WIDGET, SPEC_HOST, STATUS_ADDRESS], &[NO_ADDRESS]);
    assert!(n >= 10, "too few records to compare: {n}");
    differ.compare(&[SOURCE, WIDGET, SPEC_HOST, STATUS_ADDRESS, "--combine-fqdn-annotation"], &[NO_ADDRESS]);
    differ.compare(&[SOURCE, WIDGET, SPEC_HOST, STATUS_ADDRESS, "--namespace=shop"], &[NO_ADDRESS]);
    differ.compare(&[SOURCE, WIDGET, SPEC_HOST, STATUS_ADDRESS, "--label-filter=tier=gold"], &[]);
    differ.compare(&[SOURCE, WIDGET, "--fqdn-target-template={{.Spec.host}}:{{.Status.address}}"], &[NO_ADDRESS]);
    differ.compare(
        &[SOURCE, WIDGET, r#"--fqdn-target-template={{index .Spec.hosts 0}}:{{index .Spec.addresses 0 "ip"}}"#],
        &[],
    );
    // One template over both kinds.
    let kinds = ["--fqdn-template={{.Name}}.{{.Kind | toLower}}.example.org", "--target-template=198.51.100.1"];
    differ.compare(&[SOURCE, CM, WIDGET, kinds[0], kinds[1], "--namespace=web"], &[]);
    templates_with_range_if_and_from_json(&differ);

    upstream_fails_where_exodns_reports_one_object(&differ);
    a_changed_object_is_republished_within_a_second(&kube).await;
}

/// Go's template language beyond expressions, the same records as upstream: `range` over lists
/// (with `$i, $v`, `break`), `if`/`else`, `with`, variables, `isIPv4`, `printf`; `fromJson` of an
/// annotation (`hasKey`, `range`, a field of a parenthesized value); `.Kind` choosing between the
/// two resources.
fn templates_with_range_if_and_from_json(differ: &Differ) {
    let lists = [
        "--fqdn-template={{range $i, $h := .Spec.hosts}}{{if $i}},{{end}}{{$h}}{{end}}",
        r#"--target-template={{range .Spec.addresses}}{{if isIPv4 .ip}}{{.ip}}{{else}}{{printf "%s" .ip}}{{end}},{{break}}{{end}}"#,
    ];
    let n = differ.compare(&[SOURCE, WIDGET, lists[0], lists[1]], &[]);
    assert!(n >= 8, "too few records to compare: {n}");
    let json = [
        r#"--fqdn-template={{if hasKey .Annotations "example.org/records"}}{{range (index .Annotations "example.org/records" | fromJson)}}{{.dns}},{{end}}{{end}}"#,
        r#"--target-template={{with (index .Annotations "example.org/records" | fromJson)}}{{(index . 0).ip}}{{end}}"#,
    ];
    let n = differ.compare(&[SOURCE, WIDGET, json[0], json[1]], &[]);
    assert!(n >= 4, "too few records to compare: {n}");
    let pairs = r#"--fqdn-target-template={{range $e := (index .Annotations "example.org/records" | fromJson)}}{{$e.dns}}:{{$e.ip}},{{end}}"#;
    differ.compare(&[SOURCE, WIDGET, pairs], &[]);
    let by_kind = [
        "--fqdn-template={{if eq .Kind \"ConfigMap\"}}{{with .Object.data.hostname}}{{.}}{{end}}{{else}}{{$n := .Name}}{{range .Spec.hosts}}{{if ne $n \"multi\"}}{{.}},{{end}}{{end}}{{end}}",
        "--target-template={{if eq .Kind \"ConfigMap\"}}{{index .Object.data \"target\"}}{{else}}{{with .Status.address}}{{.}}{{end}}{{end}}",
    ];
    let n = differ.compare(&[SOURCE, CM, WIDGET, by_kind[0], by_kind[1], "--label-filter=dns=yes"], &[]);
    assert!(n >= 6, "too few records to compare: {n}");
    differ.compare(&[SOURCE, CM, WIDGET, by_kind[0], by_kind[1], "--combine-fqdn-annotation"], &[]);
}

/// `index` of a field a ConfigMap does not have: upstream v0.22.0 fails the whole sync (and
/// exits); exodns reports each such object, naming the flag, and publishes every other record.
fn upstream_fails_where_exodns_reports_one_object(differ: &Differ) {
    let flags = [SOURCE, CM, "--fqdn-template={{index .Spec.hosts 0}}", "--target-template=192.0.2.99"];
    let log = differ.upstream(&flags).expect_err("upstream fails on a template error");
    assert!(log.contains("failed to apply template on ConfigMap") && log.contains("index of untyped nil"), "{log}");
    let (records, log) = differ.exodns(&flags);
    assert!(records.iter().any(|r| r.starts_with("a.example.org A ttl=60 192.0.2.11")), "{records:#?}");
    assert!(
        log.contains("--fqdn-template") && log.contains("configmap/shop/wild") && log.contains("index"),
        "each object the template fails on is named:\n{log}"
    );
}

/// exodns (under the shipped role and the documented rules) publishing into PowerDNS: a Widget's
/// new address and a ConfigMap's new `target` annotation answer within a second.
async fn a_changed_object_is_republished_within_a_second(kube: &KubeApiserver) {
    let Some(bin) = exodns_testbed::exodns_bin() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone("example.org").await.expect("zone");
    let restricted = kube.service_account_kubeconfig("exodns", "exodns").expect("ServiceAccount kubeconfig");
    let mut cmd = Command::new(&bin);
    cmd.args([SOURCE, CM, WIDGET, SPEC_HOST, STATUS_ADDRESS])
        .args(["--provider=pdns", "--policy=sync", "--txt-owner-id=unstructured", "--domain-filter=example.org"])
        .args(["--metrics-address=127.0.0.1:0", "--txt-wildcard-replacement=star"])
        .arg(format!("--kubeconfig={}", restricted.display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key());
    let x = Proc::spawn("exodns", &mut cmd);
    pdns.wait_for_answers("w1.example.org", "A", &["192.0.2.20"], Duration::from_secs(60), || x.log()).await;
    pdns.wait_for_answers("a.example.org", "A", &["192.0.2.11"], Duration::from_secs(60), || x.log()).await;

    // (name, its new answer, the change to make)
    type Change<'a> = (&'a str, &'a str, Box<dyn Fn() + 'a>);
    let changes: [Change<'_>; 2] = [
        (
            "w1.example.org",
            "192.0.2.30",
            Box::new(|| patch_status(kube, "web", "widget", "w1", json!({"status": {"address": "192.0.2.30"}}))),
        ),
        (
            "a.example.org",
            "192.0.2.31",
            Box::new(|| {
                kubectl(
                    kube,
                    &[
                        "-n",
                        "web",
                        "annotate",
                        "configmap",
                        "multi",
                        "--overwrite",
                        "external-dns.kubernetes.io/target=192.0.2.31",
                    ],
                );
            }),
        ),
    ];
    for (name, want, change) in changes {
        change();
        let changed = Instant::now();
        loop {
            let a = dns_query(pdns.dns_addr(), pdns.dns_port(), name, "A").await.unwrap_or_default();
            if a == [want] {
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(1),
                "{name}: after {:?} still {a:?}, not {want}\n{}",
                changed.elapsed(),
                x.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("{name} answered {want} {:?} after the change", changed.elapsed());
    }
    assert!(!x.log().to_lowercase().contains("forbidden"), "{}", x.log());
    drop(x);
}
