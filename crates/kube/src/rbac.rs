//! The RBAC rules each source needs, derived from its description (`exodns_sources::kind`), and
//! the ClusterRole exodns ships (`deploy/rbac/clusterrole.yaml` and the Helm chart's
//! `exodns.sourceRules`, both checked against [`rules`] kind by kind by a test).
//!
//! Read access (get, list, watch) to every resource a source reads, including what it may start
//! reading on demand (EndpointSlices, Pods and Nodes for `service`; Namespaces for the Gateway
//! routes; Nodes for `pod`); `patch` and `update` on the status subresource of the sources that
//! write a status (`dnsendpoints/status` for `crd`); `create` and `patch` on `events.k8s.io`
//! Events. Discovery (`/apis`) needs no rule: every authenticated user may read it
//! (`system:discovery`). The resources `--unstructured-resource` names are chosen at run time, so
//! no shipped rule covers them: the chart's `rbac.additionalPermissions` (as upstream's chart)
//! or a rule of the user's own grants them.

use exodns_sources::{SourceKind, Watched};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Verbs of the read rules.
pub const READ: &[&str] = &["get", "list", "watch"];
/// Verbs of the status rules.
pub const WRITE_STATUS: &[&str] = &["patch", "update"];

fn rule(group: &str, resource: &str, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// What `sources` read, in [`Watched::ALL`] order, without the resources chosen at run time
/// (`--unstructured-resource`: their rules are the user's, see docs/sources.md).
pub fn watched_by(sources: &[SourceKind]) -> Vec<Watched> {
    Watched::ALL.iter().copied().filter(|w| !w.is_chosen() && sources.iter().any(|s| s.read(*w).is_some())).collect()
}

/// The rules `sources` need: one read rule per resource they read, each followed by the status
/// rule when one of them writes the status of its objects.
pub fn rules(sources: &[SourceKind]) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for w in watched_by(sources) {
        out.push(rule(w.group(), w.plural(), READ));
        if sources.iter().any(|s| s.spec().writes_status && s.spec().resource == w) {
            out.push(rule(w.group(), &format!("{}/status", w.plural()), WRITE_STATUS));
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

/// Every source exodns watches in a cluster with the shipped rules: all but those of resources
/// chosen at run time (`unstructured`).
pub fn cluster_sources() -> Vec<SourceKind> {
    SourceKind::ALL.iter().copied().filter(|k| !k.spec().resource.is_chosen()).collect()
}

#[cfg(test)]
mod tests;
