//! The Grafana dashboard `deploy/grafana/exodns.json`.

use super::*;

/// `deploy/grafana/exodns.json` is a dashboard (unique panel ids, every panel placed and bound to
/// the data-source variable) with a query over each metric operators need.
#[test]
fn grafana_dashboard_queries_every_metric() {
    let path = repo_root().join("deploy/grafana/exodns.json");
    let dash: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("dashboard JSON");
    assert_eq!(dash["uid"], "exodns");
    let panels = dash["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().expect("panel id")), "duplicate panel id {}", p["id"]);
        assert!(p["gridPos"]["w"].as_u64().is_some(), "panel {} unplaced", p["title"]);
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "panel {}", p["title"]);
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap_or_default().to_owned());
        }
    }
    for metric in [
        "exodns_sync_duration_seconds_bucket",
        "exodns_event_to_applied_seconds_bucket",
        "exodns_provider_requests_total",
        "exodns_planned_changes_total",
        "exodns_owner_conflicts_total",
        "exodns_invalid_endpoints_total",
        "exodns_leader",
        "exodns_source_synced",
        "external_dns_controller_last_sync_timestamp_seconds",
        "external_dns_controller_consecutive_soft_errors",
        "external_dns_registry_endpoints_total",
        "external_dns_source_endpoints_total",
        "external_dns_source_invalid_endpoints",
        "external_dns_registry_skipped_records_owner_mismatch_per_sync",
        "external_dns_build_info",
    ] {
        assert!(exprs.iter().any(|e| e.contains(metric)), "no panel queries {metric}");
    }
    // p50 and p99 of the event latency.
    for q in ["0.5", "0.99"] {
        assert!(
            exprs
                .iter()
                .any(|e| e.contains(&format!("histogram_quantile({q}, ")) && e.contains("exodns_event_to_applied"))
        );
    }
}
