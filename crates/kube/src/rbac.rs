//! The RBAC rules each source needs, and the ClusterRole exodns ships
//! (`deploy/rbac/clusterrole.yaml`, checked against [`cluster_role`] by a test).
//!
//! Read access (get, list, watch) to what the sources watch, including what they may start
//! watching on demand (EndpointSlices, Pods and Nodes for `service`; Namespaces for the
//! Gateway routes; Nodes for `pod`); `patch` and `update` on `dnsendpoints/status` for `crd`;
//! `create` and `patch` on `events.k8s.io` Events. Discovery (`/apis`) needs no rule: every
//! authenticated user may read it (`system:discovery`).

use exodns_sources::SourceKind;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::resources::Watched;

/// Verbs of the read rules.
pub const READ: &[&str] = &["get", "list", "watch"];

fn rule(group: &str, resource: &str, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// What the watches of `sources` read, in [`Watched::ALL`] order.
pub fn watched_by(sources: &[SourceKind]) -> Vec<Watched> {
    Watched::ALL
        .iter()
        .copied()
        .filter(|w| sources.iter().any(|s| Watched::primary(*s).contains(w) || Watched::on_demand(*s).contains(w)))
        .collect()
}

/// The rules `sources` need: one read rule per watched resource, and the DNSEndpoint status
/// write for `crd`.
pub fn rules(sources: &[SourceKind]) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for w in watched_by(sources) {
        out.push(rule(w.group(), w.plural(), READ));
        if w == Watched::DnsEndpoints {
            out.push(rule(w.group(), "dnsendpoints/status", &["patch", "update"]));
        }
    }
    out
}

/// Creating and updating Events (`events.k8s.io`, as upstream and kube-rs's recorder use).
pub fn events_rule() -> PolicyRule {
    rule("events.k8s.io", "events", &["create", "patch"])
}

/// The ClusterRole for `sources`, with the Events rule.
pub fn cluster_role(name: &str, sources: &[SourceKind]) -> ClusterRole {
    let mut rules = rules(sources);
    rules.push(events_rule());
    ClusterRole {
        metadata: ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() },
        rules: Some(rules),
        ..ClusterRole::default()
    }
}

/// Every source exodns watches in a cluster.
pub fn cluster_sources() -> Vec<SourceKind> {
    SourceKind::ALL.iter().copied().filter(|s| *s != SourceKind::Manifest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deploy/rbac/clusterrole.yaml` holds exactly the rules of [`cluster_role`] for every
    /// source: no drift between the code and the shipped manifest.
    #[test]
    fn shipped_cluster_role_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/rbac/clusterrole.yaml");
        let text = std::fs::read_to_string(path).expect("deploy/rbac/clusterrole.yaml");
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
            vec!["/namespaces", "gateway.networking.k8s.io/gateways", "gateway.networking.k8s.io/tcproutes"]
        );
        assert_eq!(
            r(&[SourceKind::Crd]),
            vec!["externaldns.k8s.io/dnsendpoints", "externaldns.k8s.io/dnsendpoints/status"]
        );
        assert_eq!(r(&[SourceKind::Pod]), vec!["/pods", "/nodes"]);
        assert!(rules(&[SourceKind::Crd])[1].verbs.iter().all(|v| v == "patch" || v == "update"));
    }
}
