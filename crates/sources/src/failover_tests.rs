use std::path::Path;

use exodns_core::failover::pool::{self, POLICY_LABEL};

use super::*;
use crate::cluster::Objects;
use crate::kind::SourceKind;
use crate::{SourceFlags, manifest};

fn cfg(region: &str) -> SourceConfig {
    SourceConfig::new(&SourceFlags { failover_region: region.into(), ..Default::default() }).unwrap()
}

fn run(yaml: &str, cfg: &SourceConfig) -> Vec<SourceOutput> {
    let (objects, errors) = manifest::parse(yaml, Path::new("test.yaml"));
    assert!(errors.is_empty(), "{errors:?}");
    let objs: Objects = objects.into_iter().collect();
    manifest::per_object(&objs, &[SourceKind::Failover], cfg).into_iter().map(|(_, o)| o).collect()
}

fn record(spec: &str) -> String {
    format!(
        "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: app, namespace: web}}\nspec:\n{spec}"
    )
}

const HOT_STANDBY: &str = "
  hostname: app.example.org
  placement: active-hotstandby
  ttl: 20
  targets: [{address: 127.0.0.2}, {address: 127.0.0.3, region: us}, {address: 127.0.0.4, region: us}]
  regions: [eu, us]
  healthCheck: {type: http, port: 8080, timeoutSeconds: 1, expect: ok}
";

#[test]
fn members_per_region_and_a_pool_declaration() {
    let out = run(&record(HOT_STANDBY), &cfg("eu"));
    assert_eq!(out.len(), 1);
    assert!(out[0].invalid.is_empty(), "{:?}", out[0].invalid);
    let eps = &out[0].endpoints;
    let mut text: Vec<String> = eps.iter().map(|e| e.to_string()).collect();
    text.sort();
    assert_eq!(
        text,
        [
            "app.example.org LUA ttl=20 ",
            "eu._pool.app.example.org A ttl=20 127.0.0.2",
            "us._pool.app.example.org A ttl=20 127.0.0.3,127.0.0.4",
        ]
    );
    let decl = eps.iter().find(|e| e.record_type == exodns_core::RecordType::LUA).unwrap();
    let declared = pool::declared(decl).expect("a declaration");
    assert_eq!(declared.placement, Placement::ActiveHotStandby);
    assert!(eps.iter().filter(|e| e != &decl).all(|e| e.labels.get(POLICY_LABEL) == Some(&declared.hash())));
    assert!(eps.iter().all(|e| e.resource() == Some("failover/web/app")));
    let rendered = render(
        &decl.dns_name,
        &declared,
        &[Member::new(Region::parse("eu", "r").unwrap(), "127.0.0.2".parse().unwrap())],
    )
    .unwrap();
    assert_eq!(
        rendered.targets,
        ["A \"ifurlup('http://app.example.org:8080/healthz', {{'127.0.0.2'}}, {selector='all', timeout=1, \
          stringmatch='ok'})\""]
    );
}

#[test]
fn the_region_defaults_to_the_owner_id() {
    let c = SourceConfig::default().default_failover_region("us-east");
    assert_eq!(c.failover_region.as_ref().map(Region::as_str), Some("us-east"));
    let c = SourceConfig::default().default_failover_region("Not A Label");
    assert_eq!(c.failover_region, None);
    let out =
        run(&record("  hostname: a.example.org\n  placement: single-region\n  targets: [{address: 10.0.0.1}]\n"), &c);
    assert!(out[0].endpoints.is_empty());
    assert_eq!(out[0].invalid[0].field, "spec.targets[0].region", "{:?}", out[0].invalid);
    let flagged = cfg("eu").default_failover_region("us");
    assert_eq!(flagged.failover_region.as_ref().map(Region::as_str), Some("eu"), "the flag wins");
}

/// Each bad spec publishes nothing and is reported on the field at fault (the cases are shared
/// with it/failover_kube.rs, which puts each through a cluster).
#[test]
fn invalid_specs_name_the_field() {
    let text = include_str!("../tests/data/failover-invalid.txt");
    let cases: Vec<(&str, String)> = text
        .split("\n--- ")
        .skip(1)
        .map(|case| {
            let (field, spec) = case.split_once('\n').unwrap();
            (field, spec.lines().map(|l| format!("  {l}\n")).collect())
        })
        .collect();
    assert!(cases.len() >= 25, "{}", cases.len());
    for (field, spec) in cases {
        let out = run(&record(&spec), &cfg("eu"));
        assert!(out[0].endpoints.is_empty(), "{spec}: {:?}", out[0].endpoints);
        let fields: Vec<&str> = out[0].invalid.iter().map(|i| i.field.as_str()).collect();
        assert!(fields.contains(&field), "{spec}\nwant {field}, got {:?}", out[0].invalid);
        let text = out[0].invalid[0].to_string();
        assert!(text.contains("failover/web/app"), "{text}");
    }
}

#[test]
fn single_region_weighted_and_aaaa() {
    let out = run(
        &record(
            "  hostname: w.example.org\n  placement: weighted\n  recordType: AAAA\n  weights: {eu: 1, us: 9}\n  targets: [{address: '2001:db8::1'}, {address: '2001:db8::2', region: us}]\n",
        ),
        &cfg("eu"),
    );
    assert!(out[0].invalid.is_empty(), "{:?}", out[0].invalid);
    let mut text: Vec<String> = out[0].endpoints.iter().map(|e| e.to_string()).collect();
    text.sort();
    assert_eq!(
        text,
        [
            "eu._pool.w.example.org AAAA ttl=30 2001:db8::1",
            "us._pool.w.example.org AAAA ttl=30 2001:db8::2",
            "w.example.org LUA ttl=30 ",
        ]
    );
}

#[test]
fn published_is_false_for_a_foreign_holder_and_for_a_servfail() {
    let obj: FailoverRecord = serde_json::from_str(
        r#"{"metadata": {"name": "app", "namespace": "web"}, "spec": {"hostname": "app.example.org",
            "placement": "active-active", "targets": [{"address": "127.0.0.2"}],
            "healthCheck": {"type": "tcp", "port": 8080}}}"#,
    )
    .unwrap();
    let published = |report: &PoolReport| {
        let s = status(&obj, &cfg("eu"), Some(report));
        let c = s.conditions.into_iter().find(|c| c.type_ == "Published").unwrap();
        (c.status, c.reason.unwrap(), c.message.unwrap())
    };
    let mut report = PoolReport {
        host: DnsName::parse("app.example.org").unwrap(),
        resources: vec!["failover/web/app".into()],
        outcome: PoolOutcome::Rendered,
        members: BTreeMap::new(),
        content: Some("A \"…\"".into()),
        not_served: None,
    };
    assert_eq!(published(&report).0, "True");
    report.not_served = Some("app.example.org A: SERVFAIL from 127.0.0.1:53".into());
    let (status, reason, message) = published(&report);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "NotServed"));
    assert!(message.contains("SERVFAIL from 127.0.0.1:53"), "{message}");
    report.not_served = None;
    report.outcome = PoolOutcome::Foreign { record_type: exodns_core::RecordType::A, owner: "someone".into() };
    let (status, reason, message) = published(&report);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "HostnameTaken"));
    assert!(message.contains("A record of owner \"someone\""), "{message}");
}
