//! Upstream's metric list beside ours: every metric `docs/monitoring/metrics.md` of upstream
//! v0.22.0 and v0.23.0 lists (read from the module zip at test time) must be on exodns's
//! `/metrics`, under the name a scrape shows — but the Go runtime's `go_*`, which a program not
//! written in Go cannot have. Upstream's list names no metric of a provider exodns lacks; one
//! that appears (a name with a provider's name as its subsystem) fails here until it is decided.

use std::collections::BTreeSet;

use std::time::Duration;

use exodns_core::observe::HttpRequest;
use exodns_telemetry::{Metrics, SyncKind, SyncSummary};

use crate::upstream_module::upstream_file;

const VERSIONS: &[&str] = &["v0.22.0", "v0.23.0"];

/// The metric names upstream's table lists: `external_dns_<subsystem>_<name>` from the "Supported
/// Metrics" table, and the runtime table's names as they are.
fn listed(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut runtime = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            runtime = line.contains("Runtime");
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0];
        if !line.trim_start().starts_with('|') || name.is_empty() || name == "Name" || name.starts_with(':') {
            continue;
        }
        if runtime {
            out.insert(name.to_owned());
        } else {
            let subsystem = cells.get(2).copied().unwrap_or_default();
            out.insert(match subsystem {
                "" => format!("external_dns_{name}"),
                s => format!("external_dns_{s}_{name}"),
            });
        }
    }
    out
}

/// The sample names of an exposition: a counter `x` (TYPE line) is scraped as `x_total`.
fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| if kind == "counter" { format!("{name}_total") } else { name.to_owned() })
        .collect()
}

/// Metrics after a sync that met every case: a family with labels is on a scrape only once it
/// has a value (upstream's vectors too).
fn after_a_busy_sync() -> Metrics {
    let m = Metrics::new("owner");
    let by_type = Some(vec![("A".to_owned(), 2)]);
    m.sync_succeeded(
        SyncKind::Full,
        Duration::from_millis(5),
        None,
        &SyncSummary {
            creates: 1,
            conflicts: vec![("A".into(), "other".into(), "a.example.org".into())],
            desired_by_type: by_type.clone(),
            current_by_type: by_type.clone(),
            verified_by_type: by_type,
            ..SyncSummary::default()
        },
    );
    m.set_invalid_now(&[("A".into(), "service".into(), 1)]);
    m.set_deduplicated(&[("A".into(), "service".into(), 1)]);
    m.provider_cache_read(true);
    m.provider_cache_apply();
    m.http_request(&HttpRequest {
        scheme: "https",
        host: "127.0.0.1:6443",
        path: "/api/v1/services",
        method: "GET",
        status: Some(200),
        elapsed: Duration::from_millis(3),
    });
    m
}

#[test]
fn every_upstream_metric_is_exposed() {
    let ours = exposed(&after_a_busy_sync().encode());
    let mut missing = Vec::new();
    let mut compared = 0;
    for version in VERSIONS {
        let Some(doc) = upstream_file(version, "docs/monitoring/metrics.md") else { continue };
        let theirs = listed(&doc);
        assert!(
            theirs.len() > 30,
            "{version}: only {} metrics read from metrics.md: has its layout changed?",
            theirs.len()
        );
        for name in theirs.iter().filter(|n| !n.starts_with("go_")) {
            compared += 1;
            if !ours.contains(name) {
                missing.push(format!("{name} ({version})"));
            }
        }
    }
    println!("upstream metrics compared: {compared}");
    assert!(missing.is_empty(), "upstream metrics exodns does not expose:\n{}", missing.join("\n"));
}

#[test]
fn the_table_and_the_exposition_are_read() {
    let doc = "## Supported Metrics\n\n| Name | Metric Type | Subsystem | Labels | Help |\n|:--|:--|:--|:--|:--|\n\
               | build_info | Gauge | | arch | x |\n| no_op_runs_total | Counter | controller | | y |\n\n\
               ## Available Go Runtime Metrics\n\n| Name |\n|:--|\n| process_open_fds |\n";
    let got: Vec<String> = listed(doc).into_iter().collect();
    assert_eq!(got, ["external_dns_build_info", "external_dns_controller_no_op_runs_total", "process_open_fds"]);
    let text = "# HELP a x\n# TYPE a counter\na_total 1\n# TYPE b gauge\nb 2\n# EOF\n";
    assert_eq!(exposed(text).into_iter().collect::<Vec<_>>(), ["a_total", "b"]);
}
