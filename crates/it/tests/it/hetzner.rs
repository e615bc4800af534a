//! `--provider=hetzner` (issue 12) against the Hetzner fake behind Prism with Hetzner's own spec
//! (`testdata/specs/`): every request must pass the spec (each test ends with
//! `assert_no_violations` on the one Prism this module shares); each test works in zones of its
//! own. Syncs run the real exodns binary; the full sync reads a real kube-apiserver; upstream
//! ExternalDNS v0.22.0 reaches Hetzner through `exodns webhook`.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use exodns_testbed::fake::hetzner::{self, Access, HetznerFake, HzRRSet};
use exodns_testbed::fake::{Fault, Inject, RequestRecord};
use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use exodns_testbed::{Proc, exodns_bin, free_port, skip_or_fail, wait_until_log};

use crate::common::{apply, exodns_checked, lb_status, manifest_dir, manifest_service, patch_status};

const TOKEN: &str = "hz-token-Pq72-do-not-log-Ww19";
const READ_ONLY: &str = "hz-read-only-Lk04-do-not-log";

struct Bed {
    fake: HetznerFake,
    prism: Prism,
}

fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let spec = load_spec(Path::new(hetzner::SPEC_FILE)).expect("Hetzner spec");
        let fake = HetznerFake::start();
        fake.add_token(TOKEN, Access::ReadWrite);
        fake.add_token(READ_ONLY, Access::Read);
        let prism = Prism::start_or_skip(&trim_spec(&spec, hetzner::SPEC_PATHS, hetzner::MOUNT), &fake.server().url())?;
        Some(Bed { fake, prism })
    })
    .as_ref()
}

impl Bed {
    fn endpoint(&self) -> String {
        format!("{}{}", self.prism.url(), hetzner::MOUNT)
    }

    fn mark(&self) -> usize {
        self.fake.server().mark()
    }

    fn zone_requests(&self, zone: u64, mark: usize) -> Vec<RequestRecord> {
        let p = format!("/zones/{zone}/");
        self.fake.server().requests_since(mark).into_iter().filter(|r| r.path.contains(&p)).collect()
    }

    fn writes(&self, zone: u64, mark: usize) -> Vec<RequestRecord> {
        self.zone_requests(zone, mark).into_iter().filter(|r| r.method != "GET").collect()
    }
}

/// `exodns ARGS` once against `endpoint` with `token`; must succeed, the token in no line.
fn exodns(endpoint: &str, args: &[String], token: &str) -> String {
    exodns_checked(args, &[("HETZNER_TOKEN", token.into()), ("HCLOUD_ENDPOINT", endpoint.into())], token)
}

fn manifests(text: &str) -> tempfile::TempDir {
    manifest_dir(&[("objects.yaml", text)])
}

fn service(name: &str, host: &str, ip: &str) -> String {
    manifest_service(name, host, &format!("ip: {ip}"), &[])
}

/// `exodns --once` from manifests into `zone` through Prism; must succeed, token in no line.
fn sync_manifests(bed: &Bed, dir: &Path, zone: &str, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec![
        "--once".into(),
        "--provider=hetzner".into(),
        "--source=manifest".into(),
        format!("--manifest-path={}", dir.display()),
        format!("--domain-filter={zone}"),
        "--txt-owner-id=hz-it".into(),
        "--policy=sync".into(),
        "--metrics-address=127.0.0.1:0".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    exodns(&bed.endpoint(), &args, TOKEN)
}

fn set<'a>(sets: &'a [HzRRSet], name: &str, rtype: &str) -> Option<&'a HzRRSet> {
    sets.iter().find(|s| s.name == name && s.rtype == rtype)
}

/// Full sync from a real cluster: records and ownership TXT read back through the API; a second
/// sync writes nothing; a hand-made rrset is never touched; upsert-only keeps, sync deletes; a
/// CNAME ↔ A change in one sync.
#[test]
fn hz_full_sync_from_the_cluster() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    kube.install_crds(&["dnsendpoint"]).expect("CRDs");
    const ZONE: &str = "kube-hetzner.test";
    let zone = bed.fake.add_zone(ZONE);
    bed.fake.insert_rrset(ZONE, "hand", "A", Some(300), &["198.51.100.77"]);
    let svc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {name}.{ZONE}\n    external-dns.kubernetes.io/ttl: \"300\"\n\
             spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
        )
    };
    apply(&kube, &svc("web"));
    apply(&kube, &svc("gone"));
    patch_status(&kube, "default", "service", "web", lb_status("203.0.113.10"));
    patch_status(&kube, "default", "service", "gone", lb_status("203.0.113.11"));
    apply(
        &kube,
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: shop, namespace: default}}\nspec:\n  rules:\n  - host: shop.{ZONE}\n    http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}]}}\n"
        ),
    );
    patch_status(&kube, "default", "ingress", "shop", lb_status("203.0.113.20"));
    apply(
        &kube,
        &format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {{name: records, namespace: default}}\nspec:\n  endpoints:\n  - {{dnsName: {ZONE}, recordType: MX, recordTTL: 3600, targets: [\"10 mail.{ZONE}\"]}}\n  - {{dnsName: txt.{ZONE}, recordType: TXT, targets: [\"v=spf1 -all\"]}}\n"
        ),
    );
    let kubeconfig = format!("--kubeconfig={}", kube.kubeconfig_path().display());
    let run = |policy: &str| {
        let args: Vec<String> = [
            "--once",
            "--provider=hetzner",
            "--source=service",
            "--source=ingress",
            "--source=crd",
            policy,
            "--txt-owner-id=hz-kube",
            "--domain-filter=kube-hetzner.test",
            "--managed-record-types=A",
            "--managed-record-types=CNAME",
            "--managed-record-types=MX",
            "--managed-record-types=TXT",
            "--metrics-address=127.0.0.1:0",
            &kubeconfig,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        exodns(&bed.endpoint(), &args, TOKEN);
    };
    run("--policy=sync");
    let sets = bed.fake.rrsets(ZONE);
    let values = |n: &str, t: &str| set(&sets, n, t).map(|s| s.values.clone()).unwrap_or_default();
    assert_eq!(values("web", "A"), ["203.0.113.10"]);
    assert_eq!(set(&sets, "web", "A").unwrap().ttl, Some(300));
    assert_eq!(values("shop", "A"), ["203.0.113.20"]);
    assert_eq!(values("@", "MX"), ["10 mail.kube-hetzner.test."]);
    assert_eq!(values("txt", "TXT"), ["\"v=spf1 -all\""]);
    for owned in ["a-web", "a-gone", "a-shop", "txt-txt"] {
        let v = values(owned, "TXT");
        assert!(v.len() == 1 && v[0].contains("external-dns/owner=hz-kube"), "{owned}: {sets:?}");
    }
    assert_eq!(values("mx-kube-hetzner.test", "TXT").len(), 0, "the apex's ownership TXT is inside the zone");
    assert_eq!(values("mx-_apex", "TXT").len(), 1, "{sets:?}");

    let mark = bed.mark();
    run("--policy=sync");
    assert_eq!(bed.writes(zone, mark).len(), 0, "a second sync writes nothing: {:?}", bed.writes(zone, mark));

    kube.kubectl(&["delete", "service", "gone"], None).unwrap();
    run("--policy=upsert-only");
    assert!(set(&bed.fake.rrsets(ZONE), "gone", "A").is_some(), "upsert-only deletes nothing");
    run("--policy=sync");
    let sets = bed.fake.rrsets(ZONE);
    assert!(set(&sets, "gone", "A").is_none() && set(&sets, "a-gone", "TXT").is_none());

    patch_status(
        &kube,
        "default",
        "service",
        "web",
        serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb-1.cloud.example.net"}]}}}),
    );
    run("--policy=sync");
    let sets = bed.fake.rrsets(ZONE);
    assert!(set(&sets, "web", "A").is_none(), "{sets:?}");
    assert_eq!(set(&sets, "web", "CNAME").unwrap().values, ["lb-1.cloud.example.net."]);
    assert!(set(&sets, "cname-web", "TXT").is_some());
    assert_eq!(
        set(&sets, "hand", "A"),
        Some(&HzRRSet { name: "hand".into(), rtype: "A".into(), ttl: Some(300), values: vec!["198.51.100.77".into()] }),
        "the hand-made rrset is never touched"
    );
    bed.prism.assert_no_violations();
}

/// Zones and rrsets are paged 2 at a time.
#[test]
fn hz_pagination_with_small_pages() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "pages-hetzner.test";
    for i in 0..5 {
        bed.fake.add_zone(&format!("z{i}.pages-other-hetzner.test"));
    }
    let zone = bed.fake.add_zone(ZONE);
    let text: String =
        (0..6).map(|i| service(&format!("s{i}"), &format!("s{i}.{ZONE}"), &format!("203.0.113.{}", i + 1))).collect();
    let dir = manifests(&text);
    sync_manifests(bed, dir.path(), ZONE, &["--hetzner-page-size=2"]);
    assert_eq!(bed.fake.rrsets(ZONE).len(), 12);
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &["--hetzner-page-size=2"]);
    assert_eq!(bed.writes(zone, mark).len(), 0, "every page was read: nothing to write");
    let pages = bed.zone_requests(zone, mark).iter().filter(|r| r.path.ends_with("/rrsets")).count();
    assert_eq!(pages, 6, "12 rrsets, 2 per page");
    let zone_pages = bed.fake.server().requests_since(mark).iter().filter(|r| r.path == "/v1/zones").count();
    assert!(zone_pages >= 3, "zones 2 per page: {zone_pages} requests");
    bed.prism.assert_no_violations();
}

/// Many records: each rrset its own request (within the 50-record limit of an action), actions
/// awaited together; a second sync writes nothing. (10 000 records: bench/hetzner.)
#[test]
fn hz_many_records_within_the_limits() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "many-hetzner.test";
    let zone = bed.fake.add_zone(ZONE);
    let mut text = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: many, namespace: default}\nspec:\n  endpoints:\n",
    );
    for i in 0..150 {
        text +=
            &format!("  - {{dnsName: r{i}.{ZONE}, recordType: A, targets: [\"10.0.{}.{}\"]}}\n", i / 200, i % 200 + 1);
    }
    let targets: Vec<String> = (1..=50).map(|i| format!("\"10.9.0.{i}\"")).collect();
    text += &format!("  - {{dnsName: wide.{ZONE}, recordType: A, targets: [{}]}}\n", targets.join(", "));
    let dir = manifests(&text);
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &[]);
    assert_eq!(bed.fake.rrsets(ZONE).len(), 302);
    for w in bed.writes(zone, mark) {
        let n = w.json()["records"].as_array().map_or(0, Vec::len);
        assert!(n <= 50, "{} records in one request", n);
    }
    let polls = bed.fake.server().requests_since(mark).iter().filter(|r| r.path == "/v1/actions").count();
    assert!(polls <= 302 / 25 + 2, "actions are polled together: {polls} polls for 302 actions");
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &[]);
    assert_eq!(bed.writes(zone, mark).len(), 0);
    bed.prism.assert_no_violations();
}

/// 429 with Retry-After, 5xx, a dropped connection: retried, the sync converges. An action that
/// ends in error is reported on its endpoint, the rest applied; a slow action is waited for.
#[test]
fn hz_faults_and_actions() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "faults-hetzner.test";
    let zone = bed.fake.add_zone(ZONE);
    let server = bed.fake.server();
    let mark = bed.mark();
    server.inject(Inject::on("POST", &format!("/zones/{zone}/rrsets"), hetzner::error_fault(429, Some(1))));
    server.inject(Inject::on("GET", &format!("/zones/{zone}/rrsets"), hetzner::error_fault(503, None)).times(2));
    let dir = manifests(
        &(service("web", &format!("web.{ZONE}"), "203.0.113.5")
            + &service("api", &format!("api.{ZONE}"), "203.0.113.6")),
    );
    sync_manifests(bed, dir.path(), ZONE, &[]);
    assert!(set(&bed.fake.rrsets(ZONE), "web", "A").is_some());
    let statuses: Vec<u16> = bed.zone_requests(zone, mark).iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429) && statuses.contains(&503), "{statuses:?}");

    // A dropped connection, straight to the fake (Prism would answer for it).
    server.inject(Inject::on("GET", &format!("/zones/{zone}/rrsets"), Fault::Drop));
    let dir2 = manifests(&service("web", &format!("web.{ZONE}"), "203.0.113.9"));
    let args: Vec<String> = vec![
        "--once".into(),
        "--provider=hetzner".into(),
        "--source=manifest".into(),
        "--policy=upsert-only".into(),
        "--txt-owner-id=hz-it".into(),
        format!("--manifest-path={}", dir2.path().display()),
        format!("--domain-filter={ZONE}"),
        "--metrics-address=127.0.0.1:0".into(),
    ];
    exodns(&bed.fake.base_url(), &args, TOKEN);
    assert_eq!(set(&bed.fake.rrsets(ZONE), "web", "A").unwrap().values, ["203.0.113.9"]);

    // The next rrset creation fails as an action; the other change goes through.
    bed.fake.fail_next_action("create_rrset", "zone is being migrated");
    bed.fake.slow_actions(3);
    let dir3 = manifests(
        &(service("web", &format!("web.{ZONE}"), "203.0.113.9")
            + &service("api", &format!("api.{ZONE}"), "203.0.113.6")
            + &service("new", &format!("new.{ZONE}"), "203.0.113.7")),
    );
    let log = sync_manifests(bed, dir3.path(), ZONE, &[]);
    bed.fake.slow_actions(0);
    assert!(
        log.contains("could not apply create of new.faults-hetzner.test A") && log.contains("zone is being migrated"),
        "{log}"
    );
    let sets = bed.fake.rrsets(ZONE);
    assert!(set(&sets, "a-new", "TXT").is_some(), "the rest of the sync went on (slow actions waited for): {sets:?}");
    assert!(set(&sets, "new", "A").is_none());
    let log = sync_manifests(bed, dir3.path(), ZONE, &[]);
    assert!(set(&bed.fake.rrsets(ZONE), "new", "A").is_some(), "the next sync converges:\n{log}");
    bed.prism.assert_no_violations();
}

/// A read-only token (403) and a refused one (401): a clear error, nothing deleted, exodns keeps
/// running; the token is in no log line.
#[test]
fn hz_auth_errors_are_clear_and_delete_nothing() {
    let Some(bed) = bed() else { return };
    let Some(bin) = exodns_bin() else { return };
    const ZONE: &str = "auth-hetzner.test";
    let zone = bed.fake.add_zone(ZONE);
    sync_manifests(bed, manifests(&service("web", &format!("web.{ZONE}"), "203.0.113.7")).path(), ZONE, &[]);
    let before = bed.fake.rrsets(ZONE);
    assert_eq!(before.len(), 2);
    let mark = bed.mark();
    let empty = manifests("");
    let start = |token: &str| {
        let mut cmd = Command::new(&bin);
        cmd.args(["--provider=hetzner", "--source=manifest", "--policy=sync", "--txt-owner-id=hz-it", "--interval=1s"])
            .arg(format!("--manifest-path={}", empty.path().display()))
            .arg(format!("--domain-filter={ZONE}"))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .env("HCLOUD_TOKEN", token)
            .env("HCLOUD_ENDPOINT", bed.endpoint())
            .env("RUST_LOG", "debug");
        Proc::spawn("exodns", &mut cmd)
    };
    let mut ro = start(READ_ONLY);
    wait_until_log(
        "the refusal naming the zone",
        Duration::from_secs(60),
        || ro.log().contains("Hetzner refused writing to zone auth-hetzner.test"),
        || ro.log(),
    );
    assert!(ro.is_running() && ro.log().contains("Read & Write"));
    assert!(!ro.log().contains(READ_ONLY), "the token is in the log");
    drop(ro);
    let mut bad = start("hz-unknown-Tt31-do-not-log");
    wait_until_log("the 401", Duration::from_secs(60), || bad.log().contains("HTTP 401"), || bad.log());
    assert!(bad.is_running(), "a 401 does not end exodns");
    assert!(bad.log().contains("HETZNER_TOKEN"), "{}", bad.log());
    assert!(!bad.log().contains("hz-unknown-Tt31"), "the token is in the log");
    drop(bad);
    assert_eq!(bed.fake.rrsets(ZONE), before, "nothing deleted");
    assert!(bed.writes(zone, mark).iter().all(|r| r.status >= 400), "no write went through");
    bed.prism.assert_no_violations();
}

/// Upstream ExternalDNS v0.22.0 (`--provider=webhook`) publishes into Hetzner through
/// `exodns webhook --provider=hetzner`; its second run changes nothing.
#[test]
fn hz_served_to_upstream_through_the_webhook() {
    let Some(bed) = bed() else { return };
    let Some(bin) = exodns_bin() else { return };
    let Some(upstream) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    const ZONE: &str = "webhook-hetzner.test";
    let zone = bed.fake.add_zone(ZONE);
    let svc = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: web.{ZONE}\n\
         spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
    );
    apply(&kube, &svc);
    patch_status(&kube, "default", "service", "web", lb_status("192.0.2.10"));
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(&bin);
    cmd.args(["webhook", "--provider=hetzner", "--log-level=debug"])
        .arg(format!("--domain-filter={ZONE}"))
        .arg(format!("--webhook-server-address={addr}"))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env("HETZNER_TOKEN", TOKEN)
        .env("HCLOUD_ENDPOINT", bed.endpoint());
    let srv = Proc::spawn("exodns-webhook", &mut cmd);
    wait_until_log(
        "exodns webhook",
        Duration::from_secs(20),
        || std::net::TcpStream::connect(&addr).is_ok(),
        || srv.log(),
    );
    let run = |n: u32| {
        let mut cmd = Command::new(&upstream);
        cmd.args([
            "--provider=webhook",
            "--source=service",
            "--registry=txt",
            "--txt-owner-id=upstream",
            "--policy=sync",
            "--once",
        ])
        .arg(format!("--webhook-provider-url=http://{addr}"))
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()));
        let mut p = Proc::spawn(&format!("upstream-{n}"), &mut cmd);
        let status = p.wait(Duration::from_secs(120));
        assert!(status.success(), "upstream run {n} failed:\n{}\n--- exodns webhook:\n{}", p.log(), srv.log());
    };
    run(1);
    let sets = bed.fake.rrsets(ZONE);
    assert_eq!(set(&sets, "web", "A").map(|s| s.values.clone()), Some(vec!["192.0.2.10".to_owned()]), "{sets:?}");
    assert!(set(&sets, "a-web", "TXT").is_some_and(|s| s.values[0].contains("owner=upstream")));
    let mark = bed.mark();
    run(2);
    assert_eq!(bed.writes(zone, mark).len(), 0, "the second run changed nothing");
    assert!(!srv.log().contains(TOKEN), "the token is in the log");
    bed.prism.assert_no_violations();
}
