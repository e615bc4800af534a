//! Against a real kube-apiserver: server-side dry runs of every rendering, the chart's
//! ServiceAccount token, and exodns running with it.

use super::rbac::kube_rules;
use super::render::scenarios;
use super::*;

/// Every scenario's rendering (CRDs included) is accepted by a real kube-apiserver 1.33 with
/// `kubectl apply --server-side --dry-run=server`: the Cilium and ServiceMonitor CRDs installed
/// from the Go module cache, our DNSEndpoint CRD installed from the chart.
#[test]
fn chart_renderings_pass_server_side_dry_run() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(api) = KubeApiserver::start_or_skip() else {
        return;
    };
    // The sources' CRDs too: the chart's ServiceAccount then runs exodns with every source.
    api.install_crds(&[
        "cilium",
        "servicemonitor",
        "gateway",
        "istio",
        "contour",
        "traefik",
        "traefik-legacy",
        "ambassador",
        "f5",
        "openshift",
        "dnsrecord",
    ])
    .expect("CRDs");
    for name in ["dnsendpoints.externaldns.k8s.io", "failoverrecords.exodns.io"] {
        let crd = chart_dir().join(format!("crds/{name}.yaml"));
        kubectl(&api, &["apply", "--server-side", "--field-manager=exodns-test", "-f", crd.to_str().unwrap()]);
        kubectl(&api, &["wait", "--for=condition=Established", "--timeout=60s", &format!("crd/{name}")]);
    }
    kubectl(&api, &["create", "namespace", NAMESPACE]);

    // A DNSEndpoint with every field validates against our CRD.
    let sample = api.dir().join("dnsendpoint.yaml");
    std::fs::write(
        &sample,
        format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata:\n  name: sample\n  namespace: {NAMESPACE}\nspec:\n  endpoints:\n    - dnsName: www.example.org\n      recordType: A\n      targets: [192.0.2.1, 192.0.2.2]\n      recordTTL: 300\n      setIdentifier: eu\n      labels: {{team: web}}\n      providerSpecific:\n        - {{name: alias, value: \"true\"}}\n"
        ),
    )
    .unwrap();
    kubectl(&api, &["apply", "--server-side", "--dry-run=server", "-f", sample.to_str().unwrap()]);

    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        let yaml = match helm.template(&chart_dir(), &values, &["--include-crds"]) {
            Ok(y) => y,
            Err(e) => {
                failures.push(format!("{}: helm template: {e}", s.name));
                continue;
            }
        };
        let file = api.dir().join(format!("{}.yaml", s.name));
        std::fs::write(&file, &yaml).unwrap();
        let o = api.kubectl(
            &[
                "apply",
                "--server-side",
                "--dry-run=server",
                "--field-manager=exodns-test",
                "-o",
                "name",
                "-f",
                file.to_str().unwrap(),
            ],
            None,
        );
        let applied = match o {
            Ok(applied) => applied,
            Err(e) => {
                failures.push(format!("{}: {e}", s.name));
                continue;
            }
        };
        // Every rendered object went through the server.
        let rendered = docs(&yaml).len();
        let accepted = applied.lines().filter(|l| !l.trim().is_empty()).count();
        if accepted != rendered {
            failures.push(format!("{}: {rendered} objects rendered, {accepted} applied:\n{applied}", s.name));
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) rejected:\n{}", failures.len(), failures.join("\n\n"));
    service_account_token_has_the_chart_rbac(&api, &helm);
}

/// Installed for real (every source, two replicas), the chart's ServiceAccount gets a token
/// (TokenRequest) that may do what exodns_kube says the sources need and use its Lease, and no
/// more: the way the RBAC-sufficiency test runs exodns with the chart's identity.
fn service_account_token_has_the_chart_rbac(api: &KubeApiserver, helm: &Helm) {
    let values = helm
        .values_file("token", &format!("sources: [{}]\nreplicaCount: 2\nregistry: crd\n", all_sources().join(", ")));
    let yaml = helm.template(&chart_dir(), &values, &[]).unwrap();
    let file = api.dir().join("installed.yaml");
    std::fs::write(&file, &yaml).unwrap();
    kubectl(api, &["apply", "--server-side", "--field-manager=exodns-test", "-f", file.to_str().unwrap()]);
    let sa = format!("{RELEASE}-exodns");
    let token = kubectl(api, &["-n", NAMESPACE, "create", "token", &sa, "--duration=10m"]);
    let token = token.trim();
    assert!(!token.is_empty(), "no token minted");
    // Each question a SelfSubjectAccessReview made with the token (exact: group, resource,
    // subresource and name, no discovery needed for resources whose CRD is not installed).
    let ask = |questions: &[(String, String, String, String, Option<&str>)]| -> Vec<bool> {
        let items: Vec<Value> = questions
            .iter()
            .map(|(verb, group, resource, name, ns)| {
                let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
                json!({
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": {
                        "verb": verb, "group": group, "resource": resource, "subresource": sub,
                        "name": name, "namespace": ns.unwrap_or(""),
                    }},
                })
            })
            .collect();
        let file = api.dir().join("ssar.json");
        std::fs::write(&file, json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()).unwrap();
        let out = kubectl(api, &["--token", token, "create", "-o", "json", "-f", file.to_str().unwrap()]);
        // One JSON object per review, one after the other (or a List, depending on kubectl).
        let objects: Vec<Value> = serde_json::Deserializer::from_str(&out)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .expect("SelfSubjectAccessReview answers");
        let reviews: Vec<&Value> = objects
            .iter()
            .flat_map(|o| match o["items"].as_array() {
                Some(items) => items.iter().collect::<Vec<_>>(),
                None => vec![o],
            })
            .collect();
        let answers: Vec<bool> = reviews.iter().map(|r| r["status"]["allowed"] == true).collect();
        assert_eq!(answers.len(), questions.len());
        answers
    };
    let q = |verb: &str, group: &str, resource: &str, name: &str, ns: Option<&'static str>| {
        (verb.to_owned(), group.to_owned(), resource.to_owned(), name.to_owned(), ns)
    };
    let all = exodns_kube::rbac::cluster_sources();
    let mut allowed: Vec<_> = kube_rules(&all).into_iter().map(|(g, r, v)| q(&v, &g, &r, "", None)).collect();
    allowed.push(q("create", "coordination.k8s.io", "leases", "", Some(NAMESPACE)));
    allowed.push(q("get", "coordination.k8s.io", "leases", &sa, Some(NAMESPACE)));
    allowed.push(q("update", "coordination.k8s.io", "leases", &sa, Some(NAMESPACE)));
    // registry: crd — the DNSRecords in the release namespace.
    for verb in ["get", "list", "watch", "create", "update", "delete"] {
        allowed.push(q(verb, "externaldns.k8s.io", "dnsrecords", "", Some(NAMESPACE)));
    }
    allowed.push(q("patch", "externaldns.k8s.io", "dnsrecords/status", "", Some(NAMESPACE)));
    let answers = ask(&allowed);
    let refused: Vec<_> = allowed.iter().zip(&answers).filter(|(_, a)| !**a).map(|(q, _)| q).collect();
    assert!(refused.is_empty(), "the chart's ServiceAccount may not: {refused:?}");
    let forbidden = [
        q("get", "", "secrets", "", None),
        q("list", "", "configmaps", "", None),
        q("create", "", "services", "", Some("default")),
        q("delete", "networking.k8s.io", "ingresses", "", None),
        q("update", "externaldns.k8s.io", "dnsendpoints", "", None),
        q("update", "coordination.k8s.io", "leases", "someone-else", Some(NAMESPACE)),
        q("get", "coordination.k8s.io", "leases", &sa, Some("kube-system")),
        q("create", "externaldns.k8s.io", "dnsrecords", "", Some("default")),
        q("list", "externaldns.k8s.io", "dnsrecords", "", None),
    ];
    let answers = ask(&forbidden);
    let granted: Vec<_> = forbidden.iter().zip(&answers).filter(|(_, a)| **a).map(|(q, _)| q).collect();
    assert!(granted.is_empty(), "the chart's ServiceAccount may also: {granted:?}");
    run_exodns_with_the_chart_token(api, &sa);
}

/// exodns itself, with the chart's ServiceAccount token, every source, leader election on the
/// chart's Lease and `--registry=crd`: it must sync everything (ready) and keep the ownership of
/// what it publishes in a DNSRecord of the release namespace, without a single Forbidden.
fn run_exodns_with_the_chart_token(api: &KubeApiserver, sa: &str) {
    let Some(exodns) = exodns_bin() else { return };
    crate::common::apply(
        api,
        &format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata:\n  name: token\n  namespace: {NAMESPACE}\nspec:\n  endpoints:\n    - {{dnsName: token.example.org, recordType: A, targets: [192.0.2.7]}}\n"
        ),
    );
    let kubeconfig = api.service_account_kubeconfig(NAMESPACE, sa).expect("token kubeconfig");
    let port = exodns_testbed::free_port();
    let mut cmd = Command::new(&exodns);
    cmd.args(all_sources().iter().map(|s| format!("--source={s}")))
        .args(["--provider=inmemory", "--inmemory-zone=example.org", "--policy=sync", "--leader-election"])
        .args(["--registry=crd", "--txt-owner-id=chart-token"])
        .arg(format!("--crd-registry-namespace={NAMESPACE}"))
        .arg(format!("--leader-election-namespace={NAMESPACE}"))
        .arg(format!("--leader-election-lease-name={sa}"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--metrics-address=127.0.0.1:{port}"))
        .env("RUST_LOG", "info");
    let proc = exodns_testbed::Proc::spawn("exodns-chart-token", &mut cmd);
    let ready = || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .and_then(|mut s| {
                use std::io::{Read, Write};
                s.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").ok()?;
                let mut out = String::new();
                s.read_to_string(&mut out).ok()?;
                Some(out.starts_with("HTTP/1.1 200"))
            })
            .unwrap_or(false)
    };
    exodns_testbed::wait_until_log(
        "exodns ready with the chart's token",
        std::time::Duration::from_secs(60),
        ready,
        || proc.log(),
    );
    // The record's DNSRecord, created and its status written with the token alone.
    let programmed = || {
        let list = kubectl(api, &["get", "dnsrecords", "-n", NAMESPACE, "-o", "json"]);
        let list: Value = serde_json::from_str(&list).expect("DNSRecord list");
        list["items"].as_array().into_iter().flatten().any(|o| {
            o["spec"]["endpoint"]["dnsName"] == "token.example.org"
                && o["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["reason"] == "Programmed")
        })
    };
    exodns_testbed::wait_until_log(
        "a Programmed DNSRecord for token.example.org",
        std::time::Duration::from_secs(30),
        programmed,
        || proc.log(),
    );
    let log = proc.log();
    assert!(!log.to_ascii_lowercase().contains("forbidden"), "forbidden with the chart's RBAC:\n{log}");
}
