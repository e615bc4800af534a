//! `--provider=azure` and `--provider=azure-private-dns` through the exodns binary, against the
//! ARM fake (`exodns_testbed::fake::azure`) behind Prism with Microsoft's own specs
//! (`Microsoft.Network` DNS 2018-05-01 and Private DNS), so a request the real API would refuse
//! fails the test. The token and instance metadata endpoints are the fake's too; they check each
//! grant field by field.
//!
//! One fake and one Prism per spec serve the whole module; the tests take turns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use exodns_testbed::fake::azure::{AzureFake, Identities};
use exodns_testbed::fake::{Fault, Inject};
use exodns_testbed::kube::testbed_var;
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use exodns_testbed::{Proc, exodns_bin, skip_or_fail, wait_until_log};
use serde_json::{Value, json};

use crate::common::{dns_endpoint_yaml, run_once};

const SUB: &str = "00000000-0000-0000-0000-00000000c10d";
const RG: &str = "rg-dns";
const TENANT: &str = "tenant-exodns";
const CLIENT: &str = "client-exodns";
const SECRET: &str = "client-secret-Xq7-distinctive";
const FEDERATED: &str = "federated-token-Zr4-distinctive";
const AUDIENCE: &str = "https://management.core.windows.net/";
const OWNER: &str = "az-it";

struct Bed {
    fake: AzureFake,
    public: Prism,
    private: Prism,
    bin: PathBuf,
    turn: Mutex<()>,
}

fn spec(var: &str, kind: &str, zone: &str, all: &str) -> Option<Value> {
    let Some(path) = testbed_var(var) else {
        skip_or_fail("the Azure DNS specs are not fetched (scripts/testbed/cloud-specs.sh)");
        return None;
    };
    let base = format!(
        "/subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroupName}}/providers/Microsoft.Network/{kind}"
    );
    let paths = [
        base.clone(),
        format!("{base}/{{{zone}}}/{all}"),
        format!("{base}/{{{zone}}}/{{recordType}}/{{relativeRecordSetName}}"),
    ];
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    Some(trim_spec(&load_spec(Path::new(&path)).expect("Azure spec"), &paths, ""))
}

fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let bin = exodns_bin()?;
        let public = spec("EXODNS_AZURE_DNS_SPEC", "dnsZones", "zoneName", "all")?;
        let private = spec("EXODNS_AZURE_PRIVATEDNS_SPEC", "privateDnsZones", "privateZoneName", "ALL")?;
        let fake = AzureFake::start(SUB, RG);
        let public = Prism::start_or_skip(&public, &fake.url())?;
        let private = Prism::start_or_skip(&private, &fake.url())?;
        Some(Bed { fake, public, private, bin, turn: Mutex::new(()) })
    })
    .as_ref()
}

struct Turn {
    bed: &'static Bed,
    dir: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// One test's turn: the fake emptied, zones `example.org` (public, with a hand-made record) and
/// `internal.example` (private), the identities the token endpoints accept.
fn turn() -> Option<Turn> {
    let bed = bed()?;
    let guard = bed.turn.lock().unwrap_or_else(|p| p.into_inner());
    bed.fake.reset();
    bed.fake.server().clear_faults();
    bed.fake.server().clear_requests();
    bed.fake.with(|s| {
        s.page_size = 2;
        s.add_zone("example.org", false);
        s.add_zone("example.com", false);
        s.add_zone("internal.example", true);
        s.set("example.org", "A", "hand", Some(json!({"TTL": 300, "ARecords": [{"ipv4Address": "198.51.100.7"}]})));
        s.identities = Identities {
            tenant: TENANT.into(),
            client_id: CLIENT.into(),
            client_secret: SECRET.into(),
            federated_token: FEDERATED.into(),
            managed_client_id: Some("mi-client".into()),
            audience: AUDIENCE.into(),
        };
    });
    Some(Turn { bed, dir: tempfile::tempdir().unwrap(), _turn: guard })
}

impl Turn {
    fn fake(&self) -> &AzureFake {
        &self.bed.fake
    }

    /// azure.json for the fake: Azure Stack endpoints (ARM through Prism), and `auth`'s fields.
    fn config(&self, private: bool, auth: Value) -> PathBuf {
        let prism = if private { &self.bed.private } else { &self.bed.public };
        let mut cfg = json!({
            "cloud": "AzureStackCloud",
            "tenantId": TENANT,
            "subscriptionId": SUB,
            "resourceGroup": RG,
            "activeDirectoryAuthorityHost": format!("{}/", self.fake().url()),
            "resourceManagerEndpoint": prism.url(),
            "resourceManagerAudience": AUDIENCE,
        });
        for (k, v) in auth.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let path = self.dir.path().join(if private { "azure-private.json" } else { "azure.json" });
        std::fs::write(&path, cfg.to_string()).unwrap();
        path
    }

    /// Desired records: a DNSEndpoint (name, type, targets) and, when given, a LoadBalancer
    /// Service `tagged.<zone>` with the `azure-tags` annotation.
    fn desire(&self, zone: &str, records: &[(&str, &str, &[&str])], tags: Option<&str>) {
        let mut yaml = dns_endpoint_yaml(records);
        if let Some(tags) = tags {
            yaml.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: tagged\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: tagged.{zone}\n    external-dns.kubernetes.io/azure-tags: \"{tags}\"\nspec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\nstatus:\n  loadBalancer:\n    ingress: [{{ip: 192.0.2.77}}]\n"
            ));
        }
        std::fs::write(self.dir.path().join("desired.yaml"), yaml).unwrap();
    }

    fn command(&self, provider: &str, config: &Path, policy: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bed.bin);
        cmd.args([
            &format!("--provider={provider}"),
            "--source=manifest",
            &format!("--manifest-path={}", self.dir.path().join("desired.yaml").display()),
            &format!("--policy={policy}"),
            &format!("--txt-owner-id={OWNER}"),
            "--managed-record-types=A,AAAA,CNAME,TXT,MX",
            &format!("--azure-config-file={}", config.display()),
            "--metrics-address=127.0.0.1:0",
            "--log-level=debug",
        ])
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_POD_IDENTITY_AUTHORITY_HOST");
        cmd
    }

    fn run_once(&self, mut cmd: Command) -> String {
        let log = run_once("exodns-azure", &mut cmd);
        check_log(&log);
        log
    }

    fn once(&self, policy: &str) -> String {
        let cfg = self.config(false, json!({"aadClientId": CLIENT, "aadClientSecret": SECRET}));
        self.run_once(self.command("azure", &cfg, policy, &["--domain-filter=example.org"]))
    }

    /// The targets of a record set of `zone`, as the API holds them (a text per record).
    fn record(&self, zone: &str, rtype: &str, name: &str) -> Option<Value> {
        self.fake().sets(zone).get(&(rtype.to_owned(), name.to_owned())).cloned()
    }

    fn writes(&self) -> usize {
        let r = self.fake().server().requests();
        r.iter().filter(|r| r.method == "PUT" || r.method == "DELETE").count()
    }

    fn done(&self) {
        self.bed.public.assert_no_violations();
        self.bed.private.assert_no_violations();
        assert!(self.fake().grants().iter().all(|g| g.ok), "refused grants: {:?}", self.fake().grants());
        assert_eq!(self.fake().with(|s| s.wrong_api_versions), 0, "a request with another api-version than upstream's");
    }
}

/// Secrets and tokens never reach the log.
fn check_log(log: &str) {
    for secret in [SECRET, FEDERATED, "azfake-"] {
        assert!(!log.contains(secret), "the log holds a secret ({secret}):\n{log}");
    }
}

fn a(ips: &[&str]) -> Value {
    json!(ips.iter().map(|ip| json!({"ipv4Address": ip})).collect::<Vec<_>>())
}

fn heritage(resource: &str) -> Value {
    json!([{"value": [format!("heritage=external-dns,external-dns/owner={OWNER},external-dns/resource={resource}")]}])
}

#[test]
fn azure_sync_owns_reads_back_idles_and_keeps_foreign_records() {
    let Some(t) = turn() else { return };
    t.desire(
        "example.org",
        &[
            ("web.example.org", "A", &["192.0.2.10", "192.0.2.11"]),
            ("api.example.org", "CNAME", &["lb.example.net"]),
            ("mail.example.org", "MX", &["10 mx.example.org"]),
            ("note.example.org", "TXT", &["hello world"]),
        ],
        Some("team=dns,env=prod"),
    );
    t.once("sync");
    let web = t.record("example.org", "A", "web").expect("web");
    assert_eq!(web["ARecords"], a(&["192.0.2.10", "192.0.2.11"]));
    assert_eq!(web["TTL"], 300);
    assert_eq!(t.record("example.org", "CNAME", "api").unwrap()["CNAMERecord"], json!({"cname": "lb.example.net"}));
    assert_eq!(
        t.record("example.org", "MX", "mail").unwrap()["MXRecords"],
        json!([{"preference": 10, "exchange": "mx.example.org"}])
    );
    assert_eq!(t.record("example.org", "TXT", "note").unwrap()["TXTRecords"], json!([{"value": ["hello world"]}]));
    assert_eq!(t.record("example.org", "TXT", "a-web").unwrap()["TXTRecords"], heritage("crd/default/records"));
    // azure-tags → the record set's metadata, as upstream.
    let tagged = t.record("example.org", "A", "tagged").expect("tagged");
    assert_eq!(tagged["metadata"], json!({"env": "prod", "team": "dns"}));
    assert_eq!(t.record("example.org", "TXT", "a-tagged").unwrap()["TXTRecords"], heritage("service/default/tagged"));
    assert_eq!(t.record("example.org", "A", "hand").unwrap()["ARecords"], a(&["198.51.100.7"]));
    assert!(t.fake().sets("example.com").len() == 2, "a zone outside the filter was written");
    assert!(t.fake().server().requests().iter().any(|r| r.query.contains("skiptoken")), "no nextLink was followed");

    let before = t.writes();
    t.once("sync");
    assert_eq!(t.writes(), before, "an idle sync wrote");

    // api goes: kept under upsert-only, deleted with its TXT under sync.
    t.desire(
        "example.org",
        &[
            ("web.example.org", "A", &["192.0.2.10", "192.0.2.11"]),
            ("mail.example.org", "MX", &["10 mx.example.org"]),
            ("note.example.org", "TXT", &["hello world"]),
        ],
        Some("team=dns,env=prod"),
    );
    t.once("upsert-only");
    assert!(t.record("example.org", "CNAME", "api").is_some(), "upsert-only deleted");
    t.once("sync");
    assert!(t.record("example.org", "CNAME", "api").is_none());
    assert!(t.record("example.org", "TXT", "cname-api").is_none());
    assert!(t.record("example.org", "A", "hand").is_some());

    // A → CNAME in one sync (Azure refuses a CNAME beside an A: the A goes first), a tag changes.
    t.desire(
        "example.org",
        &[
            ("web.example.org", "CNAME", &["lb2.example.net"]),
            ("mail.example.org", "MX", &["10 mx.example.org"]),
            ("note.example.org", "TXT", &["hello world"]),
        ],
        Some("team=dns,env=staging"),
    );
    t.once("sync");
    assert!(t.record("example.org", "A", "web").is_none());
    assert_eq!(t.record("example.org", "CNAME", "web").unwrap()["CNAMERecord"], json!({"cname": "lb2.example.net"}));
    assert!(t.record("example.org", "TXT", "a-web").is_none());
    assert_eq!(t.record("example.org", "TXT", "cname-web").unwrap()["TXTRecords"], heritage("crd/default/records"));
    assert_eq!(t.record("example.org", "A", "tagged").unwrap()["metadata"], json!({"env": "staging", "team": "dns"}));
    t.done();
}

#[test]
fn azure_private_dns_zone_sync() {
    let Some(t) = turn() else { return };
    t.desire(
        "internal.example",
        &[("db.internal.example", "A", &["10.1.2.3"]), ("cache.internal.example", "CNAME", &["db.internal.example"])],
        None,
    );
    let cfg = t.config(true, json!({"aadClientId": CLIENT, "aadClientSecret": SECRET}));
    t.run_once(t.command("azure-private-dns", &cfg, "sync", &[]));
    assert_eq!(t.record("internal.example", "A", "db").unwrap()["aRecords"], a(&["10.1.2.3"]));
    assert_eq!(
        t.record("internal.example", "CNAME", "cache").unwrap()["cnameRecord"],
        json!({"cname": "db.internal.example"})
    );
    assert_eq!(t.record("internal.example", "TXT", "a-db").unwrap()["txtRecords"], heritage("crd/default/records"));
    assert_eq!(t.fake().sets("example.org").len(), 3, "the public zones are not the private provider's");
    let before = t.writes();
    t.run_once(t.command("azure-private-dns", &cfg, "sync", &[]));
    assert_eq!(t.writes(), before, "an idle sync wrote");
    t.desire("internal.example", &[("db.internal.example", "A", &["10.1.2.4"])], None);
    t.run_once(t.command("azure-private-dns", &cfg, "sync", &[]));
    assert_eq!(t.record("internal.example", "A", "db").unwrap()["aRecords"], a(&["10.1.2.4"]));
    assert!(t.record("internal.example", "CNAME", "cache").is_none());
    t.done();
}

#[test]
fn azure_record_changed_behind_our_back_is_never_overwritten_and_converges() {
    let Some(t) = turn() else { return };
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.10"])], None);
    t.once("sync");
    // Ours, changed between exodns's read and its write: the PUT carries the old etag → 412; the
    // controller re-reads and plans again.
    t.fake().before_next_write(|s| {
        s.set("example.org", "A", "web", Some(json!({"TTL": 300, "ARecords": [{"ipv4Address": "203.0.113.66"}]})))
    });
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.20"])], None);
    let cfg = t.config(false, json!({"aadClientId": CLIENT, "aadClientSecret": SECRET}));
    let watch = || {
        let mut cmd = t.command("azure", &cfg, "sync", &["--domain-filter=example.org", "--interval=1m"]);
        Proc::spawn("exodns-azure-watch", &mut cmd)
    };
    let p = watch();
    wait_until_log(
        "web converges",
        Duration::from_secs(30),
        || t.record("example.org", "A", "web").is_some_and(|r| r["ARecords"] == a(&["192.0.2.20"])),
        || p.log(),
    );
    assert_eq!(t.fake().with(|s| s.writes_refused_412), 1, "the stale write was refused");
    assert!(p.log().contains("changed since"), "{}", p.log());
    check_log(&p.log());
    drop(p);

    // A name someone else takes between the read and the write: If-None-Match: * → 412; their
    // record stays, and no ownership TXT is written beside it.
    t.fake().before_next_write(|s| {
        s.set("example.org", "A", "new", Some(json!({"TTL": 60, "ARecords": [{"ipv4Address": "198.51.100.30"}]})))
    });
    t.desire(
        "example.org",
        &[("web.example.org", "A", &["192.0.2.20"]), ("new.example.org", "A", &["192.0.2.30"])],
        None,
    );
    let p = watch();
    wait_until_log("the refusal", Duration::from_secs(30), || t.fake().with(|s| s.writes_refused_412) >= 2, || p.log());
    let reads = t.fake().server().count("GET", "/all");
    wait_until_log(
        "a re-read and a plan",
        Duration::from_secs(30),
        || t.fake().server().count("GET", "/all") >= reads + 2,
        || p.log(),
    );
    assert_eq!(
        t.record("example.org", "A", "new").unwrap()["ARecords"],
        a(&["198.51.100.30"]),
        "someone else's record was overwritten"
    );
    assert!(t.record("example.org", "TXT", "a-new").is_none(), "an ownership TXT beside someone else's record");
    check_log(&p.log());
    t.done();
}

#[test]
fn azure_faults_are_retried_and_auth_errors_delete_nothing() {
    let Some(t) = turn() else { return };
    let server = t.fake().server();
    server.inject(Inject::on("GET", "/dnsZones", Fault::Drop));
    let throttled = Fault::Status {
        status: 429,
        headers: vec![("retry-after".into(), "1".into())],
        body: r#"{"error":{"code":"TooManyRequests","message":"Too many requests"}}"#.into(),
    };
    server.inject(Inject::on("GET", "/all", throttled));
    let unavailable = Fault::Status {
        status: 503,
        headers: vec![],
        body: r#"{"error":{"code":"ServiceUnavailable","message":"later"}}"#.into(),
    };
    server.inject(Inject::on("PUT", "/A/web", unavailable).times(2));
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.10"])], None);
    let started = std::time::Instant::now();
    t.once("sync");
    assert_eq!(server.pending_faults(), 0, "every fault was met");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(t.record("example.org", "A", "web").unwrap()["ARecords"], a(&["192.0.2.10"]));

    // A wrong client secret, nothing desired: under sync a successful read would delete web.
    t.desire("example.org", &[], None);
    let writes = t.writes();
    let cfg = t.config(false, json!({"aadClientId": CLIENT, "aadClientSecret": "wrong-secret-Vb9-distinctive"}));
    let mut cmd = t.command("azure", &cfg, "sync", &["--domain-filter=example.org", "--interval=1m"]);
    let mut p = Proc::spawn("exodns-azure-badsecret", &mut cmd);
    wait_until_log(
        "two refused syncs",
        Duration::from_secs(30),
        || p.log().matches("refused the credentials").count() >= 2,
        || p.log(),
    );
    assert!(p.is_running(), "exited on an auth error:\n{}", p.log());
    assert!(p.log().contains("invalid_client") && !p.log().contains("wrong-secret-Vb9"), "{}", p.log());
    drop(p);
    // ARM refusing (403) is the same.
    let denied = Fault::Status {
        status: 403,
        headers: vec![],
        body: r#"{"error":{"code":"AuthorizationFailed","message":"no access"}}"#.into(),
    };
    server.inject(Inject::on("GET", "/all", denied).times(100));
    let cfg = t.config(false, json!({"aadClientId": CLIENT, "aadClientSecret": SECRET}));
    let mut cmd = t.command("azure", &cfg, "sync", &["--domain-filter=example.org", "--interval=1m"]);
    let mut p = Proc::spawn("exodns-azure-403", &mut cmd);
    wait_until_log(
        "two denied syncs",
        Duration::from_secs(30),
        || p.log().matches("DNS Zone Contributor").count() >= 2,
        || p.log(),
    );
    assert!(p.is_running(), "exited on a 403:\n{}", p.log());
    drop(p);
    server.clear_faults();
    assert_eq!(t.writes(), writes, "a write without a readable zone");
    assert!(t.record("example.org", "A", "web").is_some());
    t.fake().with(|s| s.issuer.forget_refused());
    t.done();
}

#[test]
fn azure_each_credential_kind_gets_its_token_and_refreshes_it() {
    let Some(t) = turn() else { return };
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.10"])], None);
    // Client secret.
    t.once("sync");
    // Workload identity: the projected token as a client assertion.
    let token_file = t.dir.path().join("azure-identity-token");
    std::fs::write(&token_file, FEDERATED).unwrap();
    let cfg = t.config(false, json!({"useWorkloadIdentityExtension": true, "aadClientId": ""}));
    let mut cmd = t.command("azure", &cfg, "sync", &["--domain-filter=example.org"]);
    cmd.env("AZURE_FEDERATED_TOKEN_FILE", &token_file).env("AZURE_CLIENT_ID", CLIENT).env("AZURE_TENANT_ID", TENANT);
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.11"])], None);
    t.run_once(cmd);
    // Managed identity (user-assigned, its client id from the flag), IMDS at the fake.
    let cfg =
        t.config(false, json!({"useManagedIdentityExtension": true, "aadClientId": "msi", "aadClientSecret": "msi"}));
    let mut cmd = t.command(
        "azure",
        &cfg,
        "sync",
        &["--domain-filter=example.org", "--azure-user-assigned-identity-client-id=mi-client"],
    );
    cmd.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", t.fake().url());
    t.desire("example.org", &[("web.example.org", "A", &["192.0.2.12"])], None);
    t.run_once(cmd);
    let kinds: Vec<_> = t.fake().grants().iter().map(|g| (g.kind, g.ok)).collect();
    assert_eq!(
        kinds,
        [("client-secret", true), ("workload-identity", true), ("managed-identity", true)],
        "{:?}",
        t.fake().grants()
    );
    assert_eq!(t.record("example.org", "A", "web").unwrap()["ARecords"], a(&["192.0.2.12"]));

    // Short-lived tokens are renewed before they expire.
    t.fake().with(|s| s.issuer.token_lifetime = Duration::from_secs(4));
    let before = t.fake().grants().len();
    let cfg = t.config(false, json!({"aadClientId": CLIENT, "aadClientSecret": SECRET}));
    let mut cmd = t.command("azure", &cfg, "sync", &["--domain-filter=example.org", "--interval=1s"]);
    let p = Proc::spawn("exodns-azure-refresh", &mut cmd);
    wait_until_log("three tokens", Duration::from_secs(30), || t.fake().grants().len() >= before + 3, || p.log());
    drop(p);
    assert_eq!(t.fake().with(|s| s.issuer.bad_token_uses), 0, "a request carried an expired token");
    t.done();
}
