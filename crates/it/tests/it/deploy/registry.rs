//! The chart's `registry` values: `crd` gets a Role on `dnsrecords` in the objects' namespace
//! (wherever a values file names it), `dynamodb` an egress rule to its HTTPS endpoint.

use super::render::Scenario;
use super::*;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "registry-crd",
            values: "registry: crd\ncrdRegistryNamespace: default\n".into(),
            check: |d| check_crd_role(d, "default", Some("--crd-registry-namespace=default")),
        },
        // An upstream values file names the namespace in `extraArgs`: the Role follows it.
        Scenario {
            name: "registry-crd-extra-args",
            values: "registry: crd\nextraArgs: [\"--crd-registry-namespace=kube-system\"]\n".into(),
            check: |d| check_crd_role(d, "kube-system", None),
        },
        Scenario {
            name: "registry-crd-release-namespace",
            values: "registry: crd\n".into(),
            check: |d| check_crd_role(d, NAMESPACE, None),
        },
        Scenario {
            name: "registry-dynamodb",
            values: "registry: dynamodb\nextraArgs:\n  dynamodb-table: dns-owners\n".into(),
            check: check_dynamodb,
        },
    ]
}

fn registry_role<'a>(d: &'a [Value], kind: &str) -> Vec<&'a Value> {
    find(d, kind)
        .into_iter()
        .filter(|o| o["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("-registry")))
        .collect()
}

fn check_crd_role(d: &[Value], namespace: &str, flag: Option<&str>) {
    let (roles, bindings) = (registry_role(d, "Role"), registry_role(d, "RoleBinding"));
    assert_eq!((roles.len(), bindings.len()), (1, 1), "one Role and one RoleBinding for the DNSRecords");
    assert_eq!(roles[0]["metadata"]["namespace"], namespace);
    assert_eq!(bindings[0]["metadata"]["namespace"], namespace);
    assert_eq!(bindings[0]["roleRef"]["name"], roles[0]["metadata"]["name"]);
    assert_eq!(bindings[0]["subjects"][0]["namespace"], NAMESPACE, "bound to the release's ServiceAccount");
    let t = |r: &str, v: &str| ("externaldns.k8s.io".to_owned(), r.to_owned(), v.to_owned());
    let mut want: BTreeSet<_> =
        ["get", "list", "watch", "create", "update", "delete"].iter().map(|v| t("dnsrecords", v)).collect();
    want.extend(["get", "update", "patch"].iter().map(|v| t("dnsrecords/status", v)));
    assert_eq!(triples(&roles[0]["rules"]), want);
    // Nothing about DNSRecords cluster-wide.
    assert!(rules_of(d, "ClusterRole").iter().all(|(_, r, _)| !r.starts_with("dnsrecords")));
    let a = args(container(one(d, "Deployment"), "exodns"));
    assert!(a.contains(&"--registry=crd".to_owned()), "{a:?}");
    let named: Vec<_> = a.iter().filter(|x| flag_name(x) == "crd-registry-namespace").collect();
    match flag {
        Some(f) => assert_eq!(named, [f], "{a:?}"),
        None => assert!(named.len() <= 1, "the namespace flag twice: {a:?}"),
    }
}

fn check_dynamodb(d: &[Value]) {
    let a = args(container(one(d, "Deployment"), "exodns"));
    assert!(
        a.contains(&"--registry=dynamodb".to_owned()) && a.contains(&"--dynamodb-table=dns-owners".to_owned()),
        "{a:?}"
    );
    assert!(registry_role(d, "Role").is_empty(), "no DNSRecord Role without registry: crd");
    // The default provider (PowerDNS) has its own egress rule; DynamoDB's is 443 to anywhere.
    let policy = one(d, "NetworkPolicy");
    let https_anywhere = policy["spec"]["egress"].as_array().unwrap().iter().any(|rule| {
        rule["to"].is_null() && rule["ports"].as_array().is_some_and(|p| p.iter().any(|p| p["port"] == 443))
    });
    assert!(https_anywhere, "no egress to DynamoDB: {policy}");
}
