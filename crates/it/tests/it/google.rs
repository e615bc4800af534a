//! `--provider=google` through the exodns binary, against the Cloud DNS fake
//! (`exodns_testbed::fake::google`) behind Prism with Google's own `dns.v1` spec, so a request
//! the real API would refuse fails the test. The token endpoint, the security token service and
//! the metadata server are the fake's too; they check each grant field by field.
//!
//! One fake and one Prism serve the whole module (Prism takes seconds to start); the tests take
//! turns ([`Bed::lock`]) and each starts from an empty project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use exodns_testbed::fake::google::{Federation, GoogleFake, service_account_key};
use exodns_testbed::fake::{Fault, Inject};
use exodns_testbed::kube::testbed_var;
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use exodns_testbed::{Proc, exodns_bin, skip_or_fail, wait_until_log};

use crate::common::{dns_endpoint_yaml, run_once};

const PROJECT: &str = "exodns-it";
const OWNER: &str = "gcp-it";
const EMAIL: &str = "exodns@exodns-it.iam.gserviceaccount.com";

struct Bed {
    fake: GoogleFake,
    prism: Prism,
    bin: PathBuf,
    turn: Mutex<()>,
}

/// The module's fake and Prism, started once; `None` (after a notice, or a panic with
/// `EXODNS_REQUIRE_PEERS=1`) when a peer is missing.
fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let bin = exodns_bin()?;
        let Some(spec) = testbed_var("EXODNS_GOOGLE_DNS_SPEC") else {
            skip_or_fail("the Cloud DNS spec is not fetched (scripts/testbed/cloud-specs.sh)");
            return None;
        };
        let spec = load_spec(Path::new(&spec)).expect("Cloud DNS spec");
        let spec = trim_spec(
            &spec,
            &[
                "/dns/v1/projects/{project}/managedZones",
                "/dns/v1/projects/{project}/managedZones/{managedZone}/rrsets",
                "/dns/v1/projects/{project}/managedZones/{managedZone}/changes",
                "/dns/v1/projects/{project}/managedZones/{managedZone}/changes/{changeId}",
            ],
            "",
        );
        let fake = GoogleFake::start(PROJECT);
        let prism = Prism::start_or_skip(&spec, &fake.url())?;
        Some(Bed { fake, prism, bin, turn: Mutex::new(()) })
    })
    .as_ref()
}

/// One test's turn: the fake emptied, a zone `example-org` (example.org, public) holding a
/// hand-made record, and a service-account key in `dir`.
struct Turn {
    bed: &'static Bed,
    dir: tempfile::TempDir,
    key: PathBuf,
    pem: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

fn turn() -> Option<Turn> {
    let bed = bed()?;
    let guard = bed.turn.lock().unwrap_or_else(|p| p.into_inner());
    bed.fake.reset();
    bed.fake.server().clear_faults();
    bed.fake.server().clear_requests();
    bed.fake.with(|s| {
        s.page_size = 2;
        s.add_zone("example-org", "example.org", "public");
        s.add_zone("example-org-private", "example.org", "private");
        s.add_zone("example-net", "example.net", "public");
        s.set_rrset("example-org", "hand.example.org.", "A", 300, &["198.51.100.7"]);
    });
    let dir = tempfile::tempdir().unwrap();
    let (key, pem) = service_account_key(dir.path(), &bed.fake, EMAIL, "key-1", Some(PROJECT));
    Some(Turn { bed, dir, key, pem, _turn: guard })
}

impl Turn {
    fn fake(&self) -> &GoogleFake {
        &self.bed.fake
    }

    /// Writes the desired records as a DNSEndpoint manifest: (name, type, targets).
    fn desire(&self, records: &[(&str, &str, &[&str])]) -> PathBuf {
        let path = self.dir.path().join("desired.yaml");
        std::fs::write(&path, dns_endpoint_yaml(records)).unwrap();
        path
    }

    /// The exodns command against the fake through Prism, credentials from the key file.
    fn command(&self, policy: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bed.bin);
        cmd.args([
            "--provider=google",
            "--source=manifest",
            &format!("--manifest-path={}", self.dir.path().join("desired.yaml").display()),
            &format!("--policy={policy}"),
            &format!("--txt-owner-id={OWNER}"),
            "--managed-record-types=A,AAAA,CNAME,TXT,MX",
            &format!("--google-api-endpoint={}", self.bed.prism.url()),
            "--google-batch-change-interval=0s",
            "--google-zone-visibility=public",
            "--domain-filter=example.org",
            "--metrics-address=127.0.0.1:0",
            "--log-level=debug",
        ])
        .args(extra)
        .env("GOOGLE_APPLICATION_CREDENTIALS", &self.key)
        .env_remove("RUST_LOG")
        .env_remove("GCE_METADATA_HOST");
        cmd
    }

    /// `exodns --once`; its log. Panics when it fails.
    fn once(&self, policy: &str, extra: &[&str]) -> String {
        let log = run_once("exodns-google", &mut self.command(policy, extra));
        self.check_log(&log);
        log
    }

    /// Keys, assertions and tokens never reach the log.
    fn check_log(&self, log: &str) {
        let pem = std::fs::read_to_string(&self.pem).unwrap();
        let key_line = pem.lines().nth(3).unwrap();
        for secret in [key_line, "ya29.fake", "eyJ", "subject-token-secret"] {
            assert!(!log.contains(secret), "the log holds a secret ({secret}):\n{log}");
        }
    }

    /// The zone's record sets: name → (type, rrdatas).
    fn zone(&self, zone: &str) -> BTreeMap<(String, String), Vec<String>> {
        self.fake().rrsets(zone).into_iter().map(|(k, (_, d))| (k, d)).collect()
    }

    fn record(&self, name: &str, rtype: &str) -> Option<Vec<String>> {
        self.zone("example-org").get(&(name.to_owned(), rtype.to_owned())).cloned()
    }

    fn writes(&self) -> usize {
        self.fake().server().count("POST", "/changes")
    }

    fn done(&self) {
        self.bed.prism.assert_no_violations();
        assert!(self.fake().grants().iter().all(|g| g.ok), "refused grants: {:?}", self.fake().grants());
    }
}

fn heritage(resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource={resource}\"")
}

const RES: &str = "crd/default/records";

#[test]
fn google_sync_owns_reads_back_idles_and_keeps_foreign_records() {
    let Some(t) = turn() else { return };
    t.desire(&[
        ("web.example.org", "A", &["192.0.2.10", "192.0.2.11"]),
        ("api.example.org", "CNAME", &["lb.example.net"]),
        ("mail.example.org", "MX", &["10 mx.example.org"]),
        ("note.example.org", "TXT", &["hello world"]),
    ]);
    t.once("sync", &[]);
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.10".into(), "192.0.2.11".into()]));
    assert_eq!(t.record("api.example.org.", "CNAME"), Some(vec!["lb.example.net.".into()]));
    assert_eq!(t.record("mail.example.org.", "MX"), Some(vec!["10 mx.example.org.".into()]));
    assert_eq!(t.record("note.example.org.", "TXT"), Some(vec!["\"hello world\"".into()]));
    for owned in ["a-web", "cname-api", "mx-mail", "txt-note"] {
        assert_eq!(t.record(&format!("{owned}.example.org."), "TXT"), Some(vec![heritage(RES)]), "{owned}");
    }
    assert_eq!(t.record("hand.example.org.", "A"), Some(vec!["198.51.100.7".into()]));
    // Paged reads: 3 zones and ~12 record sets at 2 per page.
    assert!(t.fake().server().requests().iter().any(|r| r.query.contains("pageToken")), "no page was followed");
    // The private zone of the same name and the zone outside the filter are left alone.
    assert_eq!(t.zone("example-org-private").len(), 2);
    assert_eq!(t.zone("example-net").len(), 2);

    // Nothing changed: no write.
    let before = t.writes();
    t.once("sync", &[]);
    assert_eq!(t.writes(), before, "an idle sync wrote");

    // api goes: kept under upsert-only, deleted (with its TXT) under sync; hand-made stays.
    t.desire(&[
        ("web.example.org", "A", &["192.0.2.10", "192.0.2.11"]),
        ("mail.example.org", "MX", &["10 mx.example.org"]),
        ("note.example.org", "TXT", &["hello world"]),
    ]);
    t.once("upsert-only", &[]);
    assert!(t.record("api.example.org.", "CNAME").is_some(), "upsert-only deleted");
    t.once("sync", &[]);
    assert_eq!(t.record("api.example.org.", "CNAME"), None);
    assert_eq!(t.record("cname-api.example.org.", "TXT"), None);
    assert_eq!(t.record("hand.example.org.", "A"), Some(vec!["198.51.100.7".into()]));

    // A → CNAME on one name in one sync: one atomic change.
    t.desire(&[
        ("web.example.org", "CNAME", &["lb2.example.net"]),
        ("mail.example.org", "MX", &["10 mx.example.org"]),
        ("note.example.org", "TXT", &["hello world"]),
    ]);
    let before = t.writes();
    t.once("sync", &[]);
    assert_eq!(t.writes(), before + 1, "one change");
    assert_eq!(t.record("web.example.org.", "A"), None);
    assert_eq!(t.record("web.example.org.", "CNAME"), Some(vec!["lb2.example.net.".into()]));
    assert_eq!(t.record("cname-web.example.org.", "TXT"), Some(vec![heritage(RES)]));
    assert_eq!(t.record("a-web.example.org.", "TXT"), None);
    // … and back.
    t.desire(&[("web.example.org", "A", &["192.0.2.12"])]);
    t.once("sync", &[]);
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.12".into()]));
    assert_eq!(t.record("web.example.org.", "CNAME"), None);
    t.done();
}

#[test]
fn google_pending_changes_are_waited_for_in_batches() {
    let Some(t) = turn() else { return };
    t.fake().with(|s| s.pending_reads = 3);
    let names: Vec<String> = (0..9).map(|i| format!("host{i}.example.org")).collect();
    let records: Vec<(&str, &str, &[&str])> = names.iter().map(|n| (n.as_str(), "A", &["192.0.2.1"][..])).collect();
    t.desire(&records);
    // 18 record sets (each with its TXT), 4 per change: 5 changes, each pending for 3 reads.
    t.once("sync", &["--google-batch-change-size=4"]);
    for n in &names {
        assert_eq!(t.record(&format!("{n}."), "A"), Some(vec!["192.0.2.1".into()]), "{n}");
    }
    assert_eq!(t.writes(), 5);
    assert!(!t.fake().with(|s| s.created_while_pending), "a change was sent while the previous one was pending");
    let polls =
        t.fake().server().requests().iter().filter(|r| r.method == "GET" && r.path.contains("/changes/")).count();
    assert_eq!(polls, 5 * (3 + 1), "each change read until done (3 pending answers, then done)");
    t.done();
}

#[test]
fn google_stale_read_is_refused_reread_and_converges() {
    let Some(t) = turn() else { return };
    t.desire(&[("web.example.org", "A", &["192.0.2.10"])]);
    t.once("sync", &[]);
    // Our record changes behind our back between exodns's read and its write.
    t.fake().before_next_change(|s| s.set_rrset("example-org", "web.example.org.", "A", 300, &["203.0.113.66"]));
    t.desire(&[("web.example.org", "A", &["192.0.2.20"])]);
    let mut cmd = t.command("sync", &["--interval=1m"]);
    let p = Proc::spawn("exodns-google-watch", &mut cmd);
    wait_until_log(
        "web.example.org converges",
        Duration::from_secs(30),
        || t.record("web.example.org.", "A") == Some(vec!["192.0.2.20".into()]),
        || p.log(),
    );
    let changes: Vec<serde_json::Value> = t
        .fake()
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/changes"))
        .map(|r| r.json())
        .collect();
    let deleted = |c: &serde_json::Value| {
        let dels = c["deletions"].as_array().cloned().unwrap_or_default();
        dels.into_iter().find(|d| d["type"] == "A").map(|d| d["rrdatas"].clone()).unwrap_or_default()
    };
    // The write made on the stale read was refused whole; the next one deleted what it re-read.
    assert_eq!(deleted(&changes[changes.len() - 2]), serde_json::json!(["192.0.2.10"]));
    assert_eq!(deleted(&changes[changes.len() - 1]), serde_json::json!(["203.0.113.66"]));
    assert!(t.fake().with(|s| s.changes_refused) >= 1);
    assert!(p.log().contains("changed since they were read"), "{}", p.log());
    t.check_log(&p.log());
    t.done();
}

/// A `changes.create` applied whose answer is lost: the client's retry meets its own first try
/// (409 `alreadyExists`). The zone, read again, holds the change, so `--once` succeeds.
#[test]
fn google_a_retry_that_meets_its_own_applied_change_succeeds() {
    let Some(t) = turn() else { return };
    t.fake().server().inject(Inject::on("POST", "/changes", Fault::LoseAnswer));
    t.desire(&[("web.example.org", "A", &["192.0.2.10"])]);
    let log = t.once("sync", &[]);
    assert_eq!(t.fake().server().pending_faults(), 0, "the answer was lost once");
    assert_eq!(t.writes(), 2, "the change was retried once");
    assert_eq!(t.fake().with(|s| s.changes_applied), 1, "only the first try was applied");
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.10".into()]));
    assert!(log.contains("found applied"), "{log}");
    // And the zone is as wanted: the next sync writes nothing.
    t.once("sync", &[]);
    assert_eq!(t.writes(), 2);
    t.done();
}

#[test]
fn google_faults_are_retried_and_auth_errors_delete_nothing() {
    let Some(t) = turn() else { return };
    let server = t.fake().server();
    server.inject(Inject::on("GET", "/managedZones", Fault::Drop));
    let too_many = Fault::Status {
        status: 429,
        headers: vec![("retry-after".into(), "1".into())],
        body: r#"{"error":{"code":429,"message":"Rate Limit Exceeded","errors":[{"reason":"rateLimitExceeded"}]}}"#
            .into(),
    };
    server.inject(Inject::on("GET", "/rrsets", too_many));
    let unavailable = Fault::Status {
        status: 503,
        headers: vec![],
        body: r#"{"error":{"code":503,"message":"Backend Error"}}"#.into(),
    };
    server.inject(Inject::on("POST", "/changes", unavailable).times(2));
    t.desire(&[("web.example.org", "A", &["192.0.2.10"]), ("api.example.org", "A", &["192.0.2.11"])]);
    let started = std::time::Instant::now();
    t.once("sync", &[]);
    assert_eq!(server.pending_faults(), 0, "every fault was met");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.10".into()]));
    assert_eq!(t.fake().with(|s| s.changes_applied), 1, "the change went once, after the 503s");

    // Refused credentials (a key the token endpoint does not know) with nothing desired: under
    // sync a successful read would delete both records. The process says why, keeps running and
    // deletes nothing.
    let (stranger, _) = service_account_key(
        t.dir.path(),
        &t.bed.fake,
        "stranger@exodns-it.iam.gserviceaccount.com",
        "key-2",
        Some(PROJECT),
    );
    t.fake().with(|s| s.forget_service_account("stranger@exodns-it.iam.gserviceaccount.com"));
    t.desire(&[]);
    let writes = t.writes();
    let mut cmd = t.command("sync", &["--interval=1m"]);
    cmd.env("GOOGLE_APPLICATION_CREDENTIALS", &stranger);
    let mut p = Proc::spawn("exodns-google-badkey", &mut cmd);
    wait_until_log(
        "two refused syncs",
        Duration::from_secs(30),
        || p.log().matches("refused the credentials").count() >= 2,
        || p.log(),
    );
    assert!(p.is_running(), "exited on an auth error:\n{}", p.log());
    assert!(p.log().contains("invalid_grant"), "{}", p.log());
    t.check_log(&p.log());
    drop(p);
    // The API itself refusing (403) is the same.
    let denied = Fault::Status {
        status: 403,
        headers: vec![],
        body: r#"{"error":{"code":403,"message":"Forbidden","errors":[{"reason":"forbidden"}]}}"#.into(),
    };
    server.inject(Inject::on("GET", "/rrsets", denied).times(100));
    let mut cmd = t.command("sync", &["--interval=1m"]);
    let mut p = Proc::spawn("exodns-google-403", &mut cmd);
    wait_until_log(
        "two denied syncs",
        Duration::from_secs(30),
        || p.log().matches("roles/dns.admin").count() >= 2,
        || p.log(),
    );
    assert!(p.is_running(), "exited on a 403:\n{}", p.log());
    drop(p);
    server.clear_faults();
    assert_eq!(t.writes(), writes, "a write without a readable zone");
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.10".into()]));
    t.bed.prism.assert_no_violations();
}

#[test]
fn google_each_credential_kind_gets_its_token_and_refreshes_it() {
    let Some(t) = turn() else { return };
    t.desire(&[("web.example.org", "A", &["192.0.2.10"])]);
    // Service-account key: one JWT bearer grant, checked field by field by the fake.
    t.once("sync", &[]);
    let grants = t.fake().grants();
    assert_eq!(grants.iter().map(|g| (g.kind, g.ok)).collect::<Vec<_>>(), [("jwt-bearer", true)], "{grants:?}");

    // Workload identity federation: the projected token exchanged at the STS, then a service
    // account impersonated.
    let subject = t.dir.path().join("token");
    std::fs::write(&subject, "subject-token-secret").unwrap();
    t.fake().set_federation(Federation {
        audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/k8s".into(),
        subject_token: "subject-token-secret".into(),
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt".into(),
        impersonate: Some(EMAIL.into()),
    });
    let fed = serde_json::json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/k8s",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/v1/token", t.fake().url()),
        "service_account_impersonation_url": format!("{}/v1/projects/-/serviceAccounts/{EMAIL}:generateAccessToken", t.fake().url()),
        "credential_source": {"file": subject, "format": {"type": "text"}},
    });
    let fed_path = t.dir.path().join("federation.json");
    std::fs::write(&fed_path, fed.to_string()).unwrap();
    t.desire(&[("web.example.org", "A", &["192.0.2.11"])]);
    t.once(
        "sync",
        &[&format!("--google-credentials-file={}", fed_path.display()), &format!("--google-project={PROJECT}")],
    );
    let kinds: Vec<_> = t.fake().grants().iter().skip(1).map(|g| (g.kind, g.ok)).collect();
    assert_eq!(kinds, [("token-exchange", true), ("impersonation", true)]);
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.11".into()]));

    // The metadata server (GKE Workload Identity): no file, no --google-project: both come from
    // GCE_METADATA_HOST.
    t.desire(&[("web.example.org", "A", &["192.0.2.12"])]);
    let mut cmd = t.command("sync", &["--once"]);
    cmd.env_remove("GOOGLE_APPLICATION_CREDENTIALS").env("GCE_METADATA_HOST", t.fake().metadata_host());
    let mut p = Proc::spawn("exodns-google-metadata", &mut cmd);
    assert!(p.wait(Duration::from_secs(60)).success(), "{}", p.log());
    assert!(p.log().contains("auto-detected"), "{}", p.log());
    let kinds: Vec<_> = t.fake().grants().iter().skip(3).map(|g| (g.kind, g.ok)).collect();
    assert_eq!(kinds, [("metadata", true)]);
    assert_eq!(t.record("web.example.org.", "A"), Some(vec!["192.0.2.12".into()]));
    t.check_log(&p.log());

    // Short-lived tokens are renewed before they expire: no request ever carries an old one.
    t.fake().with(|s| s.issuer.token_lifetime = Duration::from_secs(4));
    let before = t.fake().grants().len();
    let mut cmd = t.command("sync", &["--interval=1s"]);
    let p = Proc::spawn("exodns-google-refresh", &mut cmd);
    wait_until_log("three tokens", Duration::from_secs(30), || t.fake().grants().len() >= before + 3, || p.log());
    drop(p);
    assert_eq!(t.fake().with(|s| s.issuer.bad_token_uses), 0, "a request carried an expired token");
    t.done();
}
