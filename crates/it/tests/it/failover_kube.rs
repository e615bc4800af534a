//! FailoverRecords on a real kube-apiserver (the chart's CRD) through the binary into a real
//! PowerDNS: status (conditions, content, members, observedGeneration), deletion, and what makes
//! `Published` false. Every record published is queried over DNS (a SERVFAIL fails the test).

use std::time::{Duration, Instant};

use exodns_testbed::kube::KubeApiserver;
use exodns_testbed::{BACKEND_ADDRS, Backends, Pdns, Proc, TestbedError, exodns_bin, wait_until_log};
use serde_json::Value;

use crate::common::{apply, kubectl};
use crate::failover::{FIRST_CHECK, HOST, ZONE, answers_become, foreign_a, pdns_with_zone, record, rrset};
use crate::kube_e2e::{full_syncs, start_exodns};

/// How long a status may take to follow.
const STATUS: Duration = Duration::from_secs(20);

/// An apiserver with the chart's CRD and the namespace `web`, a PowerDNS with the zone, a TCP
/// listener on 127.0.0.2, and an exodns (`--source=failover --policy=sync`, owner and region
/// `e2e`) started with `args`.
struct Cluster {
    kube: KubeApiserver,
    pdns: Pdns,
    backends: Backends,
    x: Proc,
}

impl Cluster {
    async fn start(args: &[&str]) -> Option<Cluster> {
        Cluster::start_with(pdns_with_zone().await?, args)
    }

    /// As [`Cluster::start`], on a PowerDNS already prepared.
    fn start_with(pdns: Pdns, args: &[&str]) -> Option<Cluster> {
        let bin = exodns_bin()?;
        let kube = KubeApiserver::start_or_skip()?;
        let backends = Backends::tcp(&BACKEND_ADDRS[..1]).expect("listener");
        let crd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/helm/exodns/crds/failoverrecords.exodns.io.yaml");
        kubectl(&kube, &["apply", "--server-side", "-f", crd.to_str().unwrap()]);
        kubectl(&kube, &["wait", "--for=condition=Established", "--timeout=60s", "crd/failoverrecords.exodns.io"]);
        kubectl(&kube, &["create", "namespace", "web"]);
        let mut all = vec!["--policy=sync", "--source=failover"];
        all.extend(args);
        let x = start_exodns(&bin, kube.kubeconfig_path(), &pdns, &all);
        // Running, with nothing to do yet.
        wait_until_log("exodns's first sync", Duration::from_secs(60), || x.log().contains("no changes"), || x.log());
        Some(Cluster { kube, pdns, backends, x })
    }

    /// A valid active-active tcp record `name` for `host` on the listener.
    fn record(&self, name: &str, host: &str) -> String {
        record(name, host, &[BACKEND_ADDRS[0]], self.backends.port(), 1)
    }

    fn get(&self, name: &str) -> Value {
        serde_json::from_str(&kubectl(&self.kube, &["-n", "web", "get", "failoverrecord", name, "-o", "json"])).unwrap()
    }

    /// Waits until the object's status satisfies `ok` (and acknowledges its generation).
    async fn status_until(&self, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STATUS;
        loop {
            let o = self.get(name);
            if ok(&o) && o["status"]["observedGeneration"] == o["metadata"]["generation"] {
                return o;
            }
            assert!(Instant::now() < deadline, "{name}: {what}: {o:#}\n{}", self.x.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The records left at `host` and under it.
    async fn records_at(&self, host: &str) -> Vec<(String, String)> {
        let suffix = format!("{host}.");
        self.pdns.rrsets(ZONE).await.unwrap().into_keys().filter(|(n, _)| n.ends_with(&suffix)).collect()
    }
}

/// (status, reason, message) of a condition; empty strings when it is missing.
fn condition(o: &Value, type_: &str) -> (String, String, String) {
    let c = o["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == type_);
    let field = |k: &str| c.and_then(|c| c[k].as_str()).unwrap_or("").to_owned();
    (field("status"), field("reason"), field("message"))
}

fn published(o: &Value) -> (String, String, String) {
    condition(o, "Published")
}

/// Kubernetes: the chart's CRD applies; a FailoverRecord is answered within 1 s; its status
/// carries the conditions, content, members and observedGeneration; a bad edit sets Valid=False
/// naming the field and keeps the records; deleting the object removes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_failover_record_status_and_deletion() {
    let Some(c) = Cluster::start(&["--interval=1m"]).await else { return };
    let a = BACKEND_ADDRS[0];
    // An unknown placement is refused at admission.
    let bad = c.record("bad", HOST).replace("active-active", "round-robin");
    assert!(c.kube.apply_yaml(&bad).is_err(), "an unknown placement was admitted");

    apply(&c.kube, &c.record("app", HOST));
    let took = answers_become(&c.pdns, HOST, &[a], Duration::from_secs(10), &c.x.log()).await;
    assert!(took <= Duration::from_secs(1), "answered after {took:?}");
    let o = c.status_until("app", "Published=True", |o| published(o).0 == "True").await;
    assert_eq!(condition(&o, "Valid").0, "True", "{o:#}");
    assert_eq!(condition(&o, "PolicyConflict").0, "False", "{o:#}");
    assert!(o["status"]["content"].as_str().is_some_and(|c| c.contains("ifportup")), "{o:#}");
    assert_eq!(o["status"]["members"], serde_json::json!({"e2e": [a.to_string()]}), "{o:#}");

    // A path on a tcp check passes admission; the source refuses it, naming the field.
    let lua = rrset(&c.pdns, HOST, "LUA").await;
    apply(&c.kube, &c.record("app", HOST).replace("type: tcp,", "type: tcp, path: /x,"));
    let o = c.status_until("app", "Valid=False", |o| condition(o, "Valid").0 == "False").await;
    assert!(condition(&o, "Valid").2.contains("spec.healthCheck.path"), "{o:#}");
    assert_eq!(published(&o).0, "False", "{o:#}");
    assert_eq!(rrset(&c.pdns, HOST, "LUA").await, lua, "the records stay");

    // Fixed again, then deleted: its records go. (Deleted while invalid, its held records go at
    // the next full sync: an object with no desired names dirties none.)
    apply(&c.kube, &c.record("app", HOST));
    c.status_until("app", "Published=True", |o| published(o).0 == "True").await;
    kubectl(&c.kube, &["-n", "web", "delete", "failoverrecord", "app"]);
    let deadline = Instant::now() + STATUS;
    loop {
        let left = c.records_at(HOST).await;
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{left:?}\n{}", c.x.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Published=False on a cluster: for a hostname another owner holds (HostnameTaken, naming the
/// owner; its record untouched), and for a pool the DNS server answers SERVFAIL for (NotServed,
/// kept through later syncs that write nothing, cleared by a change that is served).
///
/// exodns renders no Lua PowerDNS cannot run, so the SERVFAIL comes from the server
/// `--pdns-dns-server` names: a second PowerDNS holding a broken copy of the record, as a
/// secondary serving a bad transfer would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_is_false_for_a_foreign_holder_and_a_servfail() {
    let Some(secondary) = pdns_with_zone().await else { return };
    let broken = "A \"ifportup(8080, {})\""; // an empty list: accepted, then SERVFAIL
    secondary.put_rrset(ZONE, HOST, "LUA", 30, &[broken]).await.unwrap();
    let ask = format!("--pdns-dns-server={}:{}", secondary.dns_addr(), secondary.dns_port());
    // Another owner's plain A at a hostname (there before exodns reads the zone: a record that
    // appears between two full syncs is seen at the next one).
    let Some(pdns) = pdns_with_zone().await else { return };
    foreign_a(&pdns, "taken.example.org", "192.0.2.9").await;
    let Some(c) = Cluster::start_with(pdns, &["--interval=2s", &ask]) else { return };
    let a = BACKEND_ADDRS[0];

    // A FailoverRecord for it: nothing written there, and the status says whose it is.
    apply(&c.kube, &c.record("taken", "taken.example.org"));
    let o = c.status_until("taken", "HostnameTaken", |o| published(o).1 == "HostnameTaken").await;
    let (status, _, message) = published(&o);
    assert_eq!(status, "False", "{o:#}");
    assert!(message.contains("A record of owner \"someone\""), "{o:#}");
    assert_eq!(condition(&o, "Valid").0, "True", "{o:#}");
    assert_eq!(c.pdns.answers("taken.example.org", "A").await, ["192.0.2.9"]);
    assert_eq!(rrset(&c.pdns, "taken.example.org", "LUA").await, None);

    // The pool is written to PowerDNS (which serves it) and the server exodns asks SERVFAILs.
    apply(&c.kube, &c.record("app", HOST));
    answers_become(&c.pdns, HOST, &[a], FIRST_CHECK, &c.x.log()).await;
    let err = secondary.dig(HOST, "A").await.expect_err("the asked server SERVFAILs");
    assert!(matches!(&err, TestbedError::Dns(m) if m.starts_with("SERVFAIL")), "{err}");
    let o = c.status_until("app", "NotServed", |o| published(o).1 == "NotServed").await;
    let (status, _, message) = published(&o);
    assert_eq!(status, "False", "{o:#}");
    assert!(message.contains("SERVFAIL from"), "{o:#}");
    assert!(o["status"]["content"].as_str().is_some_and(|c| c.contains("ifportup")), "{o:#}");
    // Later syncs write nothing and ask nothing: the finding stays.
    let seen = full_syncs(&c.x);
    wait_until_log("two more full syncs", STATUS, || full_syncs(&c.x) >= seen + 2, || c.x.log());
    assert_eq!(published(&c.get("app")).1, "NotServed", "{:#}", c.get("app"));

    // The asked server serves the record again, and a spec change rewrites it: Published.
    let content = rrset(&c.pdns, HOST, "LUA").await.expect("pool");
    let fixed = content[0].replace("timeout=1", "timeout=2");
    secondary.put_rrset(ZONE, HOST, "LUA", 30, &[&fixed]).await.unwrap();
    apply(&c.kube, &record("app", HOST, &[a], c.backends.port(), 2));
    c.status_until("app", "Published=True", |o| published(o).0 == "True").await;
    assert_eq!(rrset(&c.pdns, HOST, "LUA").await, Some(vec![fixed]));
}

/// Every invalid spec of crates/sources/tests/data/failover-invalid.txt through the cluster, one
/// after another, on an object whose valid record was published first: each is refused at
/// admission by the chart's CRD (the error naming the field), or admitted and then Valid=False
/// naming the field and Published=False. Either way the zone does not change (nothing
/// published, the earlier records kept) and the hostname keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_on_a_cluster_publish_nothing_and_keep_the_record() {
    let Some(c) = Cluster::start(&["--interval=1m"]).await else { return };
    let a = BACKEND_ADDRS[0];
    apply(&c.kube, &c.record("app", HOST));
    answers_become(&c.pdns, HOST, &[a], FIRST_CHECK, &c.x.log()).await;
    c.status_until("app", "Published=True", |o| published(o).0 == "True").await;
    let zone = c.pdns.rrsets(ZONE).await.unwrap();

    let text = include_str!("../../../sources/tests/data/failover-invalid.txt");
    let (mut admitted, mut refused) = (Vec::new(), Vec::new());
    for case in text.split("\n--- ").skip(1) {
        let (field, spec) = case.split_once('\n').unwrap();
        let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
        let yaml = format!(
            "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: app, namespace: web}}\nspec:\n{spec}"
        );
        match c.kube.apply_yaml(&yaml) {
            Err(e) => {
                assert!(e.to_string().contains(field), "refused at admission, not naming {field}: {e}\n{spec}");
                refused.push(field);
            }
            Ok(()) => {
                let o = c.status_until("app", field, |o| condition(o, "Valid").0 == "False").await;
                assert!(condition(&o, "Valid").2.contains(field), "want {field}: {o:#}");
                assert_eq!(published(&o).0, "False", "{o:#}");
                admitted.push(field);
            }
        }
        assert_eq!(c.pdns.rrsets(ZONE).await.unwrap(), zone, "{field}: the zone changed\n{spec}\n{}", c.x.log());
        assert_eq!(c.pdns.answers(HOST, "A").await, [a.to_string()], "{field}");
    }
    eprintln!("admitted and refused by the source: {admitted:?}\nrefused at admission: {refused:?}");
    assert!(admitted.len() >= 15, "only {} specs reached the source: {admitted:?}", admitted.len());
    assert!(refused.contains(&"spec.placement"), "an unknown placement was admitted");

    // Valid again: published as before.
    apply(&c.kube, &c.record("app", HOST));
    c.status_until("app", "Published=True", |o| published(o).0 == "True").await;
    assert_eq!(c.pdns.rrsets(ZONE).await.unwrap(), zone);
}
