//! The chart's RBAC against the shipped manifests and against what exodns-kube asks for; the
//! DNSEndpoint CRD against upstream's.

use super::*;

/// The chart's ClusterRole for every source holds exactly the rules of the shipped
/// `deploy/rbac/clusterrole.yaml` (and its Lease Role those of a Role there, if any): the two
/// cannot drift apart.
#[test]
fn chart_rbac_equals_deploy_rbac() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let shipped = repo_root().join("deploy/rbac/clusterrole.yaml");
    let shipped_text = std::fs::read_to_string(&shipped)
        .unwrap_or_else(|e| panic!("{}: {e}; the chart must render the same rules as this file", shipped.display()));
    let shipped_docs = docs(&shipped_text);
    let f = helm.values_file("rbac-all", &format!("sources: [{}]\nreplicaCount: 2\n", all_sources().join(", ")));
    let rendered = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());

    let ours = rules_of(&rendered, "ClusterRole");
    let theirs = rules_of(&shipped_docs, "ClusterRole");
    assert!(!theirs.is_empty(), "{} has no ClusterRole rules", shipped.display());
    let only_chart: Vec<_> = ours.difference(&theirs).collect();
    let only_shipped: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_chart.is_empty() && only_shipped.is_empty(),
        "chart ClusterRole (all sources) and {} differ\n  only in the chart: {only_chart:?}\n  only in deploy/rbac: {only_shipped:?}\n\
         (edit exodns.sourceRules in deploy/helm/exodns/templates/_helpers.tpl)",
        shipped.display()
    );
    // A Role there (the Lease) must grant what the chart's Lease Role grants, names aside.
    let unnamed = |s: BTreeSet<(String, String, String)>| -> BTreeSet<_> {
        s.into_iter().map(|(g, r, v)| (g, r.split('#').next().unwrap().to_owned(), v)).collect()
    };
    let their_roles = unnamed(rules_of(&shipped_docs, "Role"));
    if !their_roles.is_empty() {
        let our_roles = unnamed(rules_of(&rendered, "Role"));
        assert_eq!(our_roles, their_roles, "Lease Role of the chart and of {} differ", shipped.display());
    }
}

/// (apiGroup, resource, verb) triples of `exodns_kube::rbac::cluster_role` for `sources`.
pub(super) fn kube_rules(sources: &[SourceKind]) -> BTreeSet<(String, String, String)> {
    let role = exodns_kube::rbac::cluster_role("exodns", sources);
    triples(&serde_json::to_value(role.rules.unwrap_or_default()).unwrap())
}

/// Every kind of the `--source` name (the chart grants what all of them read, whatever the flags);
/// none for a kind that reads no cluster objects.
pub(super) fn source_kinds(name: &str) -> Vec<SourceKind> {
    let kinds: Vec<SourceKind> = SourceKind::named(name).collect();
    let direct = exodns_sources::DirectKind::ALL.iter().any(|d| d.as_str() == name);
    assert!(!kinds.is_empty() || direct, "unknown source {name}");
    kinds
}

/// For each source alone, the chart's ClusterRole holds exactly the rules exodns's own code says
/// that source needs (`exodns_kube::rbac::cluster_role`), and so does a namespaced install's Role
/// plus its small ClusterRole.
#[test]
fn chart_rbac_per_source_equals_exodns_kube() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let mut failures = Vec::new();
    let mut sets: Vec<Vec<&str>> = all_sources().into_iter().map(|s| vec![s]).collect();
    // The kinds that read no cluster objects: the Events rule only.
    sets.extend(exodns_sources::DirectKind::ALL.iter().map(|d| vec![d.as_str()]));
    sets.push(vec!["service", "ingress"]);
    sets.push(all_sources());
    for (i, set) in sets.iter().enumerate() {
        let kinds: Vec<SourceKind> = set.iter().flat_map(|s| source_kinds(s)).collect();
        let want = kube_rules(&kinds);
        for namespaced in [false, true] {
            // By index: the names of every source make a file name past the 255-byte limit.
            let f = helm.values_file(
                &format!("rbac-{i}-{namespaced}"),
                &format!("sources: [{}]\nnamespaced: {namespaced}\n", set.join(", ")),
            );
            let d = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());
            let mut got = rules_of(&d, "ClusterRole");
            got.extend(rules_of(&d, "Role"));
            if got != want {
                failures.push(format!(
                    "sources {set:?} (namespaced: {namespaced})\n  only in the chart: {:?}\n  only in exodns_kube: {:?}",
                    got.difference(&want).collect::<Vec<_>>(),
                    want.difference(&got).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "chart RBAC differs from exodns_kube::rbac:\n{}", failures.join("\n"));
}

/// Our DNSEndpoint CRD (written for exodns) has the same schema as upstream's, descriptions aside:
/// every DNSEndpoint written for ExternalDNS is valid under it, and the other way round.
#[test]
fn dnsendpoint_crd_schema_equals_upstreams() {
    let Some(module) = upstream_module() else {
        return skip_or_fail("sigs.k8s.io/external-dns@v0.22.0 in the Go module cache");
    };
    let read = |p: PathBuf| -> Value {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let ours = read(chart_dir().join("crds/dnsendpoints.externaldns.k8s.io.yaml"));
    let theirs = read(module.join("config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml"));
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter().filter(|(k, _)| *k != "description").map(|(k, v)| (k.clone(), strip(v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    assert_eq!(ours["metadata"]["name"], theirs["metadata"]["name"]);
    assert_eq!(
        ours["metadata"]["annotations"]["api-approved.kubernetes.io"],
        theirs["metadata"]["annotations"]["api-approved.kubernetes.io"]
    );
    assert_eq!(strip(&ours["spec"]), strip(&theirs["spec"]));
}
