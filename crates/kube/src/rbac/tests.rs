use std::collections::BTreeSet;
use std::path::Path;

use exodns_sources::{DirectKind, SourceConfig, manifest};

use super::*;

fn repo_file(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (apiGroup, resource, verb) of rules.
fn triples<'a>(rules: impl IntoIterator<Item = &'a PolicyRule>) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules {
        for g in r.api_groups.iter().flatten() {
            for res in r.resources.iter().flatten() {
                for v in &r.verbs {
                    out.insert((g.clone(), res.clone(), v.clone()));
                }
            }
        }
    }
    out
}

/// The rules of `deploy/rbac/clusterrole.yaml`, each with the sources its comment names
/// (`# service, pod: why`; `every source` for the Events rule).
fn shipped_rules() -> Vec<(PolicyRule, Vec<String>)> {
    let text = repo_file("deploy/rbac/clusterrole.yaml");
    let role: ClusterRole = serde_saphyr::from_str(&text).expect("a ClusterRole");
    let mut comments = Vec::new();
    let mut last_comment = None;
    for line in text.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix('#') {
            last_comment = Some(c.trim().to_owned());
        } else if line.starts_with("- apiGroups") {
            let c = last_comment.take().expect("every rule of deploy/rbac/clusterrole.yaml has a comment");
            let names = c.split(':').next().unwrap_or_default();
            comments.push(names.split(',').map(|n| n.trim().to_owned()).collect::<Vec<_>>());
        } else if !line.is_empty() {
            last_comment = None;
        }
    }
    let rules = role.rules.unwrap_or_default();
    assert_eq!(rules.len(), comments.len(), "a rule of deploy/rbac/clusterrole.yaml without its comment");
    rules.into_iter().zip(comments).collect()
}

/// The Helm chart's `exodns.sourceRules` table: per `--source` name (and `common`), the rules as
/// (apiGroup, resource, verb) with whether the chart marks them cluster-scoped.
fn chart_rules() -> std::collections::BTreeMap<String, BTreeSet<(String, String, String, bool)>> {
    let text = repo_file("deploy/helm/exodns/templates/_helpers.tpl");
    let start = text.find(r#"{{- define "exodns.sourceRules" -}}"#).expect("exodns.sourceRules in _helpers.tpl");
    let body = &text[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let body = &body[..body.find("{{- end }}").expect("the end of exodns.sourceRules")];
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Rule {
        api_groups: Vec<String>,
        resources: Vec<String>,
        verbs: Vec<String>,
        #[serde(default)]
        cluster: bool,
    }
    let table: std::collections::BTreeMap<String, Vec<Rule>> =
        serde_saphyr::from_str(body).expect("exodns.sourceRules is YAML");
    table
        .into_iter()
        .map(|(source, rules)| {
            let mut set = BTreeSet::new();
            for r in rules {
                for g in &r.api_groups {
                    for res in &r.resources {
                        for v in &r.verbs {
                            set.insert((g.clone(), res.clone(), v.clone(), r.cluster));
                        }
                    }
                }
            }
            (source, set)
        })
        .collect()
}

/// A minimal manifest of one object of `w`.
fn manifest_of(w: Watched) -> String {
    let ns = if w.namespaced() { ", namespace: apps" } else { "" };
    format!("apiVersion: {}\nkind: {}\nmetadata: {{name: one{ns}}}\n", w.api_version(w.versions()[0]), w.kind())
}

/// Every source kind is complete: it reads something, has an object-kind label, its manifests
/// decode into its objects, and its RBAC rules (from its description) are exactly those that
/// `deploy/rbac/clusterrole.yaml` and the Helm chart give it. A kind added without one of these
/// fails here (or, for a missing description, does not compile).
#[test]
fn every_source_kind_is_described() {
    let shipped = shipped_rules();
    let chart = chart_rules();
    let mut failures = Vec::new();
    for kind in SourceKind::ALL {
        let spec = kind.spec();
        let name = spec.name;
        assert!(!spec.reads.is_empty() && !spec.label.is_empty(), "{name}: no reads or no label");
        if spec.resource.is_chosen() {
            // What it reads is chosen at run time (the manifests of such a resource: sources'
            // unstructured tests); no rule is shipped for it (below).
            continue;
        }

        // Its manifests decode into its objects, which it turns into endpoints under its label.
        let (objects, errors) = manifest::parse(&manifest_of(spec.resource), Path::new("one.yaml"));
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let objects: exodns_sources::Objects = objects.into_iter().collect();
        let made = manifest::per_object(&objects, &[*kind], &SourceConfig::default());
        let refs: Vec<String> = made.iter().map(|(r, _)| r.to_string()).collect();
        let want =
            if spec.resource.namespaced() { format!("{}/apps/one", spec.label) } else { format!("{}/one", spec.label) };
        assert_eq!(refs, vec![want], "{name}: a manifest of its resource");
    }
    // RBAC per --source name (the rules of every kind of the name, whatever the flags select):
    // the descriptions' rules, deploy/rbac/clusterrole.yaml's, the chart's.
    for name in SourceKind::names() {
        let kinds: Vec<SourceKind> = SourceKind::named(name).collect();
        let want = triples(&rules(&kinds));
        let in_file = triples(shipped.iter().filter(|(_, names)| names.iter().any(|n| n == name)).map(|(r, _)| r));
        if in_file != want {
            failures.push(format!("{name}: deploy/rbac/clusterrole.yaml (rules whose comment names it) has {in_file:?}, its description {want:?}"));
        }
        let want_chart: BTreeSet<(String, String, String, bool)> = want
            .iter()
            .map(|(g, r, v)| {
                let base = r.split('/').next().unwrap_or_default();
                let w = Watched::ALL.iter().find(|w| w.group() == g && w.plural() == base).expect("a watched resource");
                (g.clone(), r.clone(), v.clone(), !w.namespaced())
            })
            .collect();
        match chart.get(name) {
            Some(rules) if *rules == want_chart => {}
            got => failures
                .push(format!("{name}: the chart's exodns.sourceRules has {got:?}, its description {want_chart:?}")),
        }
    }
    // The kinds that read no cluster objects have no rules: the chart lists them with none, and
    // no rule of the file names them.
    for d in DirectKind::ALL {
        let name = d.as_str();
        if let Some((rule, _)) = shipped.iter().find(|(_, names)| names.iter().any(|n| n == name)) {
            failures.push(format!(
                "{name} reads no cluster objects, yet deploy/rbac/clusterrole.yaml names it for {:?}",
                rule.resources
            ));
        }
        match chart.get(name) {
            Some(rules) if rules.is_empty() => {}
            got => failures.push(format!(
                "{name} reads no cluster objects: the chart's exodns.sourceRules lists it with no rules ({name}: []), not {got:?}"
            )),
        }
    }
    // Nothing else: no rule in the file, and no entry in the chart, for a kind that does not exist.
    let names: BTreeSet<&str> =
        SourceKind::ALL.iter().map(|k| k.as_str()).chain(DirectKind::ALL.iter().map(|d| d.as_str())).collect();
    for (rule, named) in &shipped {
        for n in named {
            if n != "every source" && !names.contains(n.as_str()) {
                failures.push(format!("deploy/rbac/clusterrole.yaml names {n:?} for {:?}", rule.resources));
            }
        }
    }
    let events = triples(&[events_rule()]);
    let every: BTreeSet<_> =
        triples(shipped.iter().filter(|(_, n)| n.iter().any(|n| n == "every source")).map(|(r, _)| r));
    assert_eq!(every, events, "deploy/rbac/clusterrole.yaml: the rule for every source is the Events rule");
    let common: BTreeSet<_> = events.iter().map(|(g, r, v)| (g.clone(), r.clone(), v.clone(), false)).collect();
    assert_eq!(chart.get("common"), Some(&common), "the chart's common rules are the Events rule");
    for key in chart.keys().filter(|k| *k != "common" && !names.contains(k.as_str())) {
        failures.push(format!("the chart's exodns.sourceRules has rules for {key:?}, which is not a source"));
    }
    assert!(failures.is_empty(), "source kinds and their RBAC disagree:\n{}", failures.join("\n"));
}

/// `deploy/rbac/clusterrole.yaml` holds exactly the rules of [`cluster_role`] for every
/// source, in order: no drift between the code and the shipped manifest.
#[test]
fn shipped_cluster_role_matches_the_code() {
    let text = repo_file("deploy/rbac/clusterrole.yaml");
    let shipped: ClusterRole = serde_saphyr::from_str(&text).expect("a ClusterRole");
    let want = cluster_role("exodns", &cluster_sources());
    assert_eq!(shipped.metadata.name, want.metadata.name);
    let shipped_rules = shipped.rules.unwrap_or_default();
    let want_rules = want.rules.unwrap_or_default();
    for (i, (a, b)) in shipped_rules.iter().zip(&want_rules).enumerate() {
        assert_eq!(a, b, "rule {i} of deploy/rbac/clusterrole.yaml");
    }
    assert_eq!(shipped_rules.len(), want_rules.len(), "number of rules in deploy/rbac/clusterrole.yaml");
}

#[test]
fn least_privilege_per_source() {
    let r = |s: &[SourceKind]| -> Vec<String> {
        rules(s)
            .iter()
            .map(|r| format!("{}/{}", r.api_groups.as_ref().unwrap()[0], r.resources.as_ref().unwrap()[0]))
            .collect()
    };
    assert_eq!(r(&[SourceKind::Ingress]), vec!["networking.k8s.io/ingresses"]);
    assert_eq!(r(&[SourceKind::Service]), vec!["/services", "discovery.k8s.io/endpointslices", "/pods", "/nodes"]);
    assert_eq!(
        r(&[SourceKind::GatewayTcpRoute]),
        vec![
            "/namespaces",
            "gateway.networking.k8s.io/gateways",
            "gateway.networking.k8s.io/tcproutes",
            "gateway.networking.k8s.io/listenersets"
        ]
    );
    assert_eq!(
        r(&[SourceKind::Crd]),
        vec!["externaldns.k8s.io/dnsendpoints", "externaldns.k8s.io/dnsendpoints/status"]
    );
    assert_eq!(r(&[SourceKind::Pod]), vec!["/pods", "/nodes"]);
    assert!(rules(&[SourceKind::Crd])[1].verbs.iter().all(|v| v == "patch" || v == "update"));
}
