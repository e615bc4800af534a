//! Registries that keep ownership outside the zone: `--registry=crd` (DNSRecord objects of
//! upstream v0.23's CRD, on the real kube-apiserver, records in a real PowerDNS).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use exodns_core::endpoint::EndpointKey;
use exodns_core::{DnsName, RecordType};
use exodns_kube::dnsrecord::object_name;
use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, free_port, wait_until};
use serde_json::Value;

use crate::common::{apply, http_get, install_shipped_rbac, kubectl, log_of, metric_sum, publish_lb};

const ZONE: &str = "example.org";
const NS: &str = "dns-owners";
const OWNER: &str = "it-crd";

/// exodns over the Services of the cluster into PowerDNS, ownership in DNSRecords of `NS`.
fn exodns(bin: &Path, kubeconfig: &Path, pdns: &Pdns) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["--source=service", "--provider=pdns", "--policy=sync", "--registry=crd"])
        .arg(format!("--crd-registry-namespace={NS}"))
        .arg(format!("--txt-owner-id={OWNER}"))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
        .env("RUST_LOG", "info");
    cmd
}

fn once(mut cmd: Command) -> String {
    let out =
        cmd.arg("--once").arg(format!("--metrics-address=127.0.0.1:{}", free_port())).output().expect("run exodns");
    let log = log_of(&out);
    assert!(out.status.success(), "exodns --once failed:\n{log}");
    log
}

/// The DNSRecord objects of `NS`.
fn dnsrecords(kube: &KubeApiserver) -> Vec<Value> {
    let v: Value = serde_json::from_str(&kubectl(kube, &["get", "dnsrecords", "-n", NS, "-o", "json"])).unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The DNSRecord of our owner for `name`, if any.
fn record_of(kube: &KubeApiserver, name: &str) -> Option<Value> {
    dnsrecords(kube).into_iter().find(|o| {
        o["metadata"]["labels"]["externaldns.k8s.io/owner"] == OWNER && o["spec"]["endpoint"]["dnsName"] == name
    })
}

fn a_key(name: &str) -> EndpointKey {
    EndpointKey { dns_name: DnsName::parse(name).unwrap(), record_type: RecordType::A, set_identifier: String::new() }
}

/// Ownership kept in DNSRecords as upstream v0.23 keeps it: a record exodns publishes gets its
/// object (owner label, the endpoint, Ready=Programmed) and no TXT; a second sync writes
/// nothing, to the zone or to the objects; a hand-made record and a name another owner's
/// DNSRecord holds are left alone; an object of ours that cannot be read is named with its
/// field; deleting a Service removes its record and its object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_registry_keeps_ownership_in_dnsrecords() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    kube.install_crds(&["dnsrecord"]).expect("DNSRecord CRD");
    apply(&kube, &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"));

    publish_lb(&kube, "default", "web", "203.0.113.10");
    // Made by hand, and wanted by a Service: not ours.
    pdns.put_rrset(ZONE, "hand.example.org", "A", 300, &["192.0.2.99"]).await.unwrap();
    publish_lb(&kube, "default", "hand", "203.0.113.11");
    // Held by another owner's DNSRecord (at the name upstream and exodns give its object).
    let taken = object_name(&a_key("taken.example.org"));
    apply(
        &kube,
        &format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSRecord\nmetadata:\n  name: {taken}\n  namespace: {NS}\n  labels: {{externaldns.k8s.io/owner: someone-else}}\n\
             spec:\n  endpoint: {{dnsName: taken.example.org, recordType: A, targets: [198.51.100.1]}}\n"
        ),
    );
    publish_lb(&kube, "default", "taken", "203.0.113.12");
    // Ours, but unreadable.
    apply(
        &kube,
        &format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSRecord\nmetadata:\n  name: broken\n  namespace: {NS}\n  labels: {{externaldns.k8s.io/owner: {OWNER}}}\n\
             spec:\n  endpoint: {{dnsName: broken.example.org, recordType: A, targets: [not-an-ip]}}\n"
        ),
    );

    let log = once(exodns(&bin, kube.kubeconfig_path(), &pdns));
    assert_eq!(pdns.answers("web.example.org", "A").await, ["203.0.113.10"], "{log}");
    assert!(pdns.answers("a-web.example.org", "TXT").await.is_empty(), "no ownership TXT in the zone");
    assert_eq!(pdns.answers("hand.example.org", "A").await, ["192.0.2.99"], "a hand-made record was touched:\n{log}");
    assert!(pdns.answers("taken.example.org", "A").await.is_empty(), "another owner's name was taken:\n{log}");
    assert!(log.contains("foreign_owner=someone-else"), "the refused claim is not reported:\n{log}");
    assert!(log.contains(&format!("DNSRecord {NS}/broken: field spec.endpoint")), "{log}");

    let web = record_of(&kube, "web.example.org").unwrap_or_else(|| panic!("no DNSRecord for web:\n{log}"));
    assert_eq!(web["metadata"]["name"], object_name(&a_key("web.example.org")));
    assert_eq!(web["spec"]["endpoint"]["labels"]["resource"], "service/default/web");
    assert_eq!(web["spec"]["endpoint"]["targets"][0], "203.0.113.10");
    let ready = &web["status"]["conditions"][0];
    assert_eq!((ready["type"].as_str(), ready["reason"].as_str()), (Some("Ready"), Some("Programmed")), "{web}");
    assert!(record_of(&kube, "hand.example.org").is_none());
    let versions = |objs: Vec<Value>| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = objs
            .iter()
            .map(|o| {
                let m = &o["metadata"];
                (m["name"].as_str().unwrap().to_owned(), m["resourceVersion"].as_str().unwrap().to_owned())
            })
            .collect();
        v.sort();
        v
    };

    // Nothing to do: nothing written, to PowerDNS or to the objects.
    let (zone_before, objects_before) = (pdns.rrsets(ZONE).await.unwrap(), versions(dnsrecords(&kube)));
    let log = once(exodns(&bin, kube.kubeconfig_path(), &pdns));
    assert!(!log.contains("sync applied"), "{log}");
    assert_eq!(pdns.rrsets(ZONE).await.unwrap(), zone_before, "the zone changed:\n{log}");
    assert_eq!(versions(dnsrecords(&kube)), objects_before, "a DNSRecord was written:\n{log}");

    // The Service goes: its record and its object go; the rest stays.
    kubectl(&kube, &["delete", "service", "web", "-n", "default"]);
    let log = once(exodns(&bin, kube.kubeconfig_path(), &pdns));
    assert!(pdns.answers("web.example.org", "A").await.is_empty(), "{log}");
    assert!(record_of(&kube, "web.example.org").is_none(), "its DNSRecord stayed:\n{log}");
    assert_eq!(pdns.answers("hand.example.org", "A").await, ["192.0.2.99"]);
    let names: Vec<String> = versions(dnsrecords(&kube)).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["broken".to_owned(), taken.clone()], "{log}");
}

/// A store exodns cannot read (its ServiceAccount may not list DNSRecords): every sync fails
/// and is counted in `external_dns_registry_errors_total`, the process keeps running, and the
/// record of a Service deleted meanwhile is not deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_registry_unreadable_deletes_nothing() {
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let Some(pdns) = Pdns::start_or_skip(PdnsOptions::default()) else { return };
    pdns.create_zone(ZONE).await.expect("zone");
    kube.install_crds(&["dnsrecord"]).expect("DNSRecord CRD");
    apply(&kube, &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"));
    publish_lb(&kube, "default", "keep", "203.0.113.20");
    once(exodns(&bin, kube.kubeconfig_path(), &pdns));
    assert_eq!(pdns.answers("keep.example.org", "A").await, ["203.0.113.20"]);
    assert!(record_of(&kube, "keep.example.org").is_some());

    // The shipped RBAC lets exodns read Services, not DNSRecords.
    install_shipped_rbac(&kube);
    let sa = kube.service_account_kubeconfig("exodns", "exodns").unwrap();
    kubectl(&kube, &["delete", "service", "keep", "-n", "default"]);
    let port = free_port();
    let mut cmd = exodns(&bin, &sa, &pdns);
    cmd.args(["--interval=1s", &format!("--metrics-address=127.0.0.1:{port}")]);
    let mut p = Proc::spawn("crd-unreadable", &mut cmd);
    let errors =
        || http_get(port, "/metrics").map_or(0.0, |(_, b)| metric_sum(&b, "external_dns_registry_errors_total", &[]));
    wait_until("two failed reads of the store counted", Duration::from_secs(60), || errors() >= 2.0);
    assert!(p.is_running(), "exodns stopped:\n{}", p.log());
    assert_eq!(pdns.answers("keep.example.org", "A").await, ["203.0.113.20"], "deleted:\n{}", p.log());
    let log = p.log();
    assert!(log.contains("listing DNSRecords in namespace dns-owners") && log.contains("forbidden"), "{log}");
    assert!(record_of(&kube, "keep.example.org").is_some());
    p.kill();
}

/// The items of the DynamoDB table `t` as boto3 scans them: `k` → (`o`, `l` as JSON).
async fn items(bed: &crate::aws::Bed, table: &str) -> std::collections::BTreeMap<String, (String, Value)> {
    let v = bed
        .moto
        .boto(
            "out = {}\nfor p in ddb.get_paginator('scan').paginate(TableName=ARGS['t']):\n    for i in p['Items']:\n        out[i['k']['S']] = [i.get('o', {}).get('S', ''), i.get('l')]\nprint(json.dumps(out))",
            serde_json::json!({"t": table}),
        )
        .await;
    v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), (v[0].as_str().unwrap().to_owned(), v[1].clone()))).collect()
}

/// `--registry=dynamodb` against moto's DynamoDB and Route 53: upstream v0.22.0 publishes with
/// its DynamoDB registry, exodns on the same table and zone then plans 0 changes and writes
/// nothing to either; items are upstream's (`name#TYPE#set`, owner, labels); another owner's item
/// and a hand-made record are left alone; a malformed item is named with its field; a deleted
/// Service takes its record and its item with it; a table that cannot be read deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_registry_hand_over_from_upstream_and_ownership() {
    use crate::aws::{Bed, OWNER, handover_objects, key, run_tool_with};
    let Some(upstream) = exodns_testbed::kube::peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        exodns_testbed::skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(bed) = Bed::start().await else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    let table = "external-dns";
    bed.moto
        .boto(
            "ddb.create_table(TableName=ARGS['t'], AttributeDefinitions=[{'AttributeName': 'k', 'AttributeType': 'S'}], KeySchema=[{'AttributeName': 'k', 'KeyType': 'HASH'}], BillingMode='PAY_PER_REQUEST')\nprint('null')",
            serde_json::json!({"t": table}),
        )
        .await;
    handover_objects(&kube);
    let exodns = exodns_bin().unwrap();
    let registry = ["--registry=dynamodb", "--dynamodb-table=external-dns", "--dynamodb-region=us-east-1"];
    let metrics = || format!("--metrics-address=127.0.0.1:{}", free_port());

    // Upstream first: its records, its items, no TXT.
    let up = run_tool_with(&upstream, &bed, &kube, &registry, &["--once", "--log-level=debug", &metrics()]);
    let zone = bed.records().await;
    assert!(zone.contains_key(&key("web.example.org", "A")), "upstream did not publish:\n{up}");
    assert!(!zone.keys().any(|(_, t, _)| t == "TXT"), "{zone:?}");
    let upstream_items = items(&bed, table).await;
    let (owner, labels) = &upstream_items["web.example.org#A#"];
    assert_eq!((owner.as_str(), &labels["M"]["resource"]["S"]), (OWNER, &Value::from("service/default/web")));
    assert!(upstream_items.contains_key("w.example.org#A#blue"), "{upstream_items:?}");

    // exodns takes over: nothing to plan, nothing written, to the zone or the table.
    let writes = bed.writes();
    let plan = run_tool_with(&exodns, &bed, &kube, &registry, &["plan", "--color=never"]);
    assert!(plan.contains("0 to create, 0 to update, 0 to delete"), "exodns would change upstream's zone:\n{plan}");
    assert!(!plan.contains("not touching"), "exodns sees upstream's records as foreign:\n{plan}");
    for _ in 0..2 {
        let log = run_tool_with(&exodns, &bed, &kube, &registry, &["--once", &metrics()]);
        assert_eq!(bed.writes(), writes, "exodns wrote to the zone:\n{log}");
        assert!(!log.contains("dynamodb record"), "exodns wrote to the table:\n{log}");
    }
    assert_eq!(bed.records().await, zone);
    assert_eq!(items(&bed, table).await, upstream_items);

    // Another owner's item, a hand-made record and a malformed item, each wanted by a Service.
    bed.moto
        .boto(
            "t = ARGS['t']\nddb.put_item(TableName=t, Item={'k': {'S': 'taken.example.org#A#'}, 'o': {'S': 'someone-else'}, 'l': {'M': {}}})\nddb.put_item(TableName=t, Item={'k': {'S': 'garbage'}, 'o': {'S': ARGS['o']}})\nprint('null')",
            serde_json::json!({"t": table, "o": OWNER}),
        )
        .await;
    bed.moto
        .change(
            &bed.zone,
            serde_json::json!([{"Action": "CREATE", "ResourceRecordSet": {"Name": "hand.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.99"}]}}]),
        )
        .await;
    for (name, ip) in [("taken", "203.0.113.31"), ("hand", "203.0.113.32")] {
        publish_lb(&kube, "default", name, ip);
    }
    kubectl(&kube, &["delete", "service", "app", "-n", "default"]);
    let log = run_tool_with(&exodns, &bed, &kube, &registry, &["--once", &metrics()]);
    let zone = bed.records().await;
    assert!(!zone.contains_key(&key("taken.example.org", "A")), "another owner's record was taken:\n{log}");
    assert_eq!(zone[&key("hand.example.org", "A")]["ResourceRecords"][0]["Value"], "192.0.2.99", "{log}");
    assert!(!zone.contains_key(&key("app.example.org", "CNAME")), "{log}");
    assert!(log.contains("DynamoDB table external-dns: item k=\"garbage\": field k"), "{log}");
    let now = items(&bed, table).await;
    assert_eq!(now["taken.example.org#A#"].0, "someone-else");
    assert!(!now.contains_key("app.example.org#CNAME#"), "its item stayed:\n{log}");
    assert!(!now.contains_key("hand.example.org#A#"), "{now:?}");

    // The table goes away: the sync fails naming it, and deletes nothing.
    bed.moto.boto("ddb.delete_table(TableName=ARGS['t'])\nprint('null')", serde_json::json!({"t": table})).await;
    kubectl(&kube, &["delete", "service", "web", "-n", "default"]);
    let out = Command::new(&exodns)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(bed.env())
        .args(["--source=service", "--provider=aws", "--policy=sync", "--domain-filter=example.org", "--once"])
        .args(registry)
        .arg(format!("--txt-owner-id={OWNER}"))
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(metrics())
        .output()
        .unwrap();
    let log = log_of(&out);
    assert!(log.contains("ResourceNotFoundException") && log.contains("external-dns"), "{log}");
    assert!(bed.records().await.contains_key(&key("web.example.org", "A")), "deleted without its owner known:\n{log}");
}
