//! The chart's FailoverRecord CRD is in step with the Rust types: the same fields (spec, targets,
//! health check, status), the same enum values, bounds and defaults as the checks of
//! `exodns_core::failover`, and the same group, kind, plural and version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use exodns_core::failover::policy::{DEFAULT_TIMEOUT, DEFAULT_TTL, MAX_TEXT_LEN, MAX_TTL, MAX_WEIGHT, TIMEOUT_RANGE};
use exodns_core::failover::{Placement, Protocol, Selector};
use exodns_sources::types::{
    Condition, FailoverHealthCheck, FailoverRecord, FailoverRecordSpec, FailoverRecordStatus, FailoverTarget,
};
use k8s_openapi::Resource;
use serde_json::{Value, json};

fn crd() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/exodns/crds/failoverrecords.exodns.io.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).expect("the CRD is YAML")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

/// Every field set, so that serialising names them all.
fn full() -> FailoverRecord {
    FailoverRecord {
        metadata: Default::default(),
        spec: FailoverRecordSpec {
            hostname: "a".into(),
            record_type: Some("A".into()),
            ttl: Some(1),
            placement: "weighted".into(),
            targets: vec![FailoverTarget { address: "a".into(), region: Some("eu".into()) }],
            regions: vec!["eu".into()],
            weights: BTreeMap::from([("eu".into(), 1)]),
            health_check: Some(FailoverHealthCheck {
                type_: "http".into(),
                port: Some(1),
                path: Some("/".into()),
                expect: Some("x".into()),
                timeout_seconds: Some(1),
            }),
            selector: Some("all".into()),
        },
        status: Some(FailoverRecordStatus {
            conditions: vec![Condition {
                type_: "Valid".into(),
                status: "True".into(),
                reason: Some("r".into()),
                message: Some("m".into()),
                observed_generation: Some(1),
                last_transition_time: Some("t".into()),
            }],
            content: Some("c".into()),
            members: BTreeMap::from([("eu".into(), vec!["a".into()])]),
            observed_generation: Some(1),
        }),
    }
}

#[test]
fn the_crd_has_the_fields_of_the_types() {
    let crd = crd();
    let rust = serde_json::to_value(full()).unwrap();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
    let spec = &schema["spec"]["properties"];
    let status = &schema["status"]["properties"];
    let pairs = [
        ("spec", spec, &rust["spec"]),
        ("spec.targets[]", &spec["targets"]["items"]["properties"], &rust["spec"]["targets"][0]),
        ("spec.healthCheck", &spec["healthCheck"]["properties"], &rust["spec"]["healthCheck"]),
        ("status", status, &rust["status"]),
        ("status.conditions[]", &status["conditions"]["items"]["properties"], &rust["status"]["conditions"][0]),
    ];
    for (at, crd_props, rust_value) in pairs {
        assert_eq!(keys(crd_props), keys(rust_value), "{at}: CRD properties vs Rust fields");
    }
    assert_eq!(crd["spec"]["group"], json!(FailoverRecord::GROUP));
    assert_eq!(crd["spec"]["names"]["kind"], json!(FailoverRecord::KIND));
    assert_eq!(crd["spec"]["names"]["plural"], json!(FailoverRecord::URL_PATH_SEGMENT));
    assert_eq!(crd["spec"]["versions"][0]["name"], json!(FailoverRecord::VERSION));
    assert_eq!(crd["spec"]["scope"], json!("Namespaced"));
    assert_eq!(crd["spec"]["versions"][0]["subresources"], json!({"status": {}}), "the status writer needs it");
}

#[test]
fn the_crd_has_the_enums_bounds_and_defaults_of_the_checks() {
    let crd = crd();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    let hc = &spec["healthCheck"]["properties"];
    let names = |all: &[&str]| all.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        strings(&spec["placement"]["enum"]),
        names(&Placement::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>())
    );
    assert_eq!(strings(&hc["type"]["enum"]), names(&Protocol::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>()));
    assert_eq!(
        strings(&spec["selector"]["enum"]),
        names(&Selector::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>())
    );
    assert_eq!(strings(&spec["recordType"]["enum"]), ["A", "AAAA"]);
    let bounds = |v: &Value| (v["minimum"].as_i64(), v["maximum"].as_i64());
    assert_eq!(bounds(&spec["ttl"]), (Some(1), Some(MAX_TTL)));
    assert_eq!(bounds(&hc["timeoutSeconds"]), (Some(*TIMEOUT_RANGE.start()), Some(*TIMEOUT_RANGE.end())));
    assert_eq!(bounds(&hc["port"]), (Some(1), Some(65535)));
    assert_eq!(bounds(&spec["weights"]["additionalProperties"]), (Some(1), Some(i64::from(MAX_WEIGHT))));
    let text_len = MAX_TEXT_LEN as u64;
    assert_eq!(
        (hc["path"]["maxLength"].as_u64(), hc["expect"]["maxLength"].as_u64()),
        (Some(text_len), Some(text_len))
    );
    assert_eq!(spec["ttl"]["default"], json!(DEFAULT_TTL));
    assert_eq!(hc["timeoutSeconds"]["default"], json!(DEFAULT_TIMEOUT));
    assert_eq!(spec["selector"]["default"], json!(Selector::All.as_str()));
    assert_eq!(spec["recordType"]["default"], json!("A"));
}
