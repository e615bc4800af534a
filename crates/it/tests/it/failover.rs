//! FailoverRecords through the binary into a real PowerDNS (`enable-lua-records=yes`, checks every
//! second), with live TCP members on 127.0.0.2–.4: pools shared by two regions (two owners, one
//! zone), ownership of the hostname, and bad input. Every record published is queried over DNS
//! (a SERVFAIL fails the test: `Pdns::answers`). The LUA content itself is pinned by it/lua.rs.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use exodns_testbed::{BACKEND_ADDRS, Backends, Pdns, PdnsOptions, exodns_bin, free_port};

use crate::common::{manifest_dir, manifest_service, run_once};

pub(crate) const ZONE: &str = "example.org";
pub(crate) const HOST: &str = "app.example.org";
const FOLLOW: Duration = Duration::from_secs(3);
pub(crate) const FIRST_CHECK: Duration = Duration::from_secs(10);

/// One region: an exodns (`--txt-owner-id` = region) over its own manifest folder.
pub(crate) struct Region {
    owner: &'static str,
    dir: tempfile::TempDir,
}

impl Region {
    pub(crate) fn new(owner: &'static str) -> Region {
        Region { owner, dir: manifest_dir(&[]) }
    }

    pub(crate) fn write(&self, file: &str, yaml: &str) {
        std::fs::write(self.dir.path().join(file), yaml).unwrap();
    }

    fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.path().join(file)).unwrap();
    }

    /// `exodns --once` of this region; its log.
    pub(crate) fn sync(&self, bin: &std::path::Path, pdns: &Pdns) -> String {
        let mut cmd = Command::new(bin);
        cmd.args(["--source=manifest", "--source=failover", "--source=service", "--provider=pdns", "--policy=sync"])
            .arg(format!("--txt-owner-id={}", self.owner))
            .arg(format!("--manifest-path={}", self.dir.path().display()))
            .arg(format!("--pdns-server={}", pdns.api_url()))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .env("EXTERNAL_DNS_PDNS_API_KEY", pdns.api_key())
            .env("RUST_LOG", "info");
        run_once(self.owner, &mut cmd)
    }
}

pub(crate) fn record(name: &str, host: &str, targets: &[IpAddr], port: u16, timeout: u8) -> String {
    let targets: Vec<String> = targets.iter().map(|a| format!("{{address: {a}}}")).collect();
    format!(
        "apiVersion: exodns.io/v1alpha1\nkind: FailoverRecord\nmetadata: {{name: {name}, namespace: web}}\nspec:\n  \
         hostname: {host}\n  placement: active-active\n  targets: [{}]\n  \
         healthCheck: {{type: tcp, port: {port}, timeoutSeconds: {timeout}}}\n",
        targets.join(", ")
    )
}

pub(crate) async fn pdns_with_zone() -> Option<Pdns> {
    let pdns = Pdns::start_or_skip(PdnsOptions::default())?;
    pdns.create_zone(ZONE).await.expect("zone");
    Some(pdns)
}

async fn serial(pdns: &Pdns) -> u64 {
    pdns.get_zone(ZONE).await.expect("zone")["serial"].as_u64().expect("serial")
}

/// A plain A at `host` owned by `someone` (both TXT formats), as another ExternalDNS writes it.
pub(crate) async fn foreign_a(pdns: &Pdns, host: &str, addr: &str) {
    let owner = "\"heritage=external-dns,external-dns/owner=someone\"";
    pdns.put_rrset(ZONE, host, "A", 30, &[addr]).await.unwrap();
    pdns.put_rrset(ZONE, host, "TXT", 30, &[owner]).await.unwrap();
    pdns.put_rrset(ZONE, &format!("a-{host}"), "TXT", 30, &[owner]).await.unwrap();
}

pub(crate) async fn rrset(pdns: &Pdns, name: &str, rtype: &str) -> Option<Vec<String>> {
    pdns.rrsets(ZONE).await.expect("zone").get(&(format!("{name}."), rtype.to_owned())).cloned()
}

pub(crate) async fn answers_become(pdns: &Pdns, host: &str, want: &[IpAddr], limit: Duration, log: &str) -> Duration {
    let want: Vec<String> = want.iter().map(IpAddr::to_string).collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    pdns.wait_for_answers(host, "A", &want, limit, || format!("{log}\n{}", pdns.log())).await
}

/// Two regions (owners eu and us, one zone) publish one hostname: each writes only its member,
/// the pool answers the union, a stopped member leaves it, a policy disagreement leaves the
/// pool as published until aligned, and the last record's deletion removes pool, members and
/// TXTs; upstream v0.22.0 with a third owner plans nothing on the shared zone.
#[tokio::test]
async fn two_regions_share_one_pool() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let mut backends = Backends::tcp(&BACKEND_ADDRS[..2]).expect("listeners");
    let (a_eu, a_us) = (BACKEND_ADDRS[0], BACKEND_ADDRS[1]);
    let port = backends.port();
    let (eu, us) = (Region::new("eu"), Region::new("us"));
    eu.write("app.yaml", &record("app", HOST, &[a_eu], port, 1));
    us.write("app.yaml", &record("app", HOST, &[a_us], port, 1));
    eu.sync(&bin, &pdns);
    let log = us.sync(&bin, &pdns);

    let rrsets = pdns.rrsets(ZONE).await.unwrap();
    let txt = |n: &str| rrsets.get(&(format!("{n}."), "TXT".to_owned())).map(|t| t.join(" ")).unwrap_or_default();
    assert!(txt(&format!("a-eu._pool.{HOST}")).contains("owner=eu"), "{rrsets:#?}");
    assert!(txt(&format!("a-us._pool.{HOST}")).contains("owner=us"), "{rrsets:#?}");
    assert!(
        txt(&format!("lua-{HOST}")).contains("owner=exodns-pool"),
        "the pool's TXT names the pool owner: {rrsets:#?}"
    );
    assert!(txt(&format!("lua-{HOST}")).contains("failover-rendered=v1 A ttl=30 active-active"), "{rrsets:#?}");
    assert_eq!(rrsets.get(&(format!("eu._pool.{HOST}."), "A".into())), Some(&vec![a_eu.to_string()]));
    let lua = rrset(&pdns, HOST, "LUA").await.expect("the pool record");
    assert!(lua[0].contains(&format!("'{a_eu}', '{a_us}'")), "{lua:?}\n{log}");
    answers_become(&pdns, HOST, &[a_eu, a_us], FIRST_CHECK, &log).await;

    // Nothing to do on either side: no PATCH.
    let before = serial(&pdns).await;
    eu.sync(&bin, &pdns);
    us.sync(&bin, &pdns);
    assert_eq!(serial(&pdns).await, before, "a second sync wrote");
    upstream_plans_nothing(&pdns).await;

    backends.stop(a_us);
    answers_become(&pdns, HOST, &[a_eu], FOLLOW, "").await;
    backends.start(a_us);
    answers_become(&pdns, HOST, &[a_eu, a_us], FOLLOW, "").await;

    // us changes its timeout: both regions report the conflict, the pool stays as published.
    us.write("app.yaml", &record("app", HOST, &[a_us], port, 2));
    let log_us = us.sync(&bin, &pdns);
    let log_eu = eu.sync(&bin, &pdns);
    for log in [&log_us, &log_eu] {
        assert!(log.contains("disagree on the policy") && log.contains("regions=eu,us"), "{log}");
    }
    assert_eq!(rrset(&pdns, HOST, "LUA").await, Some(lua.clone()), "the pool changed during a conflict");
    // Aligned: re-rendered.
    eu.write("app.yaml", &record("app", HOST, &[a_eu], port, 2));
    let log = eu.sync(&bin, &pdns);
    let aligned = rrset(&pdns, HOST, "LUA").await.expect("pool");
    assert!(aligned[0].contains("timeout=2") && aligned[0].contains(&a_us.to_string()), "{aligned:?}\n{log}");
    answers_become(&pdns, HOST, &[a_eu, a_us], FIRST_CHECK, &log).await;

    // eu's record goes: its member and its address in the pool go with eu's own sync (the pool
    // is re-rendered from the policy its TXT carries); us's next sync has nothing left to do.
    eu.remove("app.yaml");
    let log = eu.sync(&bin, &pdns);
    assert_eq!(rrset(&pdns, &format!("eu._pool.{HOST}"), "A").await, None);
    let lua = rrset(&pdns, HOST, "LUA").await.expect("pool");
    assert!(!lua[0].contains(&a_eu.to_string()) && lua[0].contains(&a_us.to_string()), "{lua:?}\n{log}");
    answers_become(&pdns, HOST, &[a_us], FOLLOW, &log).await;
    let before = serial(&pdns).await;
    let log = us.sync(&bin, &pdns);
    assert_eq!(serial(&pdns).await, before, "us's sync wrote after eu's:\n{log}");

    // The last one: pool, members and TXTs gone.
    us.remove("app.yaml");
    let log = us.sync(&bin, &pdns);
    let left: Vec<(String, String)> =
        pdns.rrsets(ZONE).await.unwrap().into_keys().filter(|(n, _)| n.ends_with(&format!("{HOST}."))).collect();
    assert!(left.is_empty(), "{left:?}\n{log}");
}

/// Upstream ExternalDNS v0.22.0 (the real binary, pdns provider) with a third owner id and an
/// empty cluster, on the zone the two regions share: it reads the members, the pool and their
/// TXTs, plans nothing and writes nothing.
async fn upstream_plans_nothing(pdns: &Pdns) {
    let Some(upstream) = exodns_testbed::kube::peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        exodns_testbed::skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(kube) = exodns_testbed::kube::KubeApiserver::start_or_skip() else { return };
    let before = serial(pdns).await;
    let out = Command::new(upstream)
        .args(["--source=service", "--provider=pdns", "--policy=sync", "--registry=txt", "--txt-owner-id=third"])
        .args(["--domain-filter=example.org", "--once", "--log-level=info"])
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .arg(format!("--pdns-server={}", pdns.api_url()))
        .arg(format!("--pdns-api-key={}", pdns.api_key()))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .output()
        .expect("run upstream");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "upstream failed:\n{log}");
    assert!(log.contains("All records are already up to date"), "upstream plans changes:\n{log}");
    assert_eq!(serial(pdns).await, before, "upstream wrote:\n{log}");
}

/// Our plain A at the hostname becomes the pool in one PATCH while a query loop sees an answer
/// throughout; a foreign plain A and a hand-made LUA record at other hostnames are left alone
/// and named in the log; a record turned invalid publishes nothing new and keeps its records.
#[tokio::test]
async fn ownership_of_the_hostname() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let backends = Backends::tcp(&BACKEND_ADDRS[..1]).expect("listener");
    let a = BACKEND_ADDRS[0];
    let eu = Region::new("eu");
    eu.write("svc.yaml", &manifest_service("app", HOST, &format!("ip: {a}"), &[]));
    let log = eu.sync(&bin, &pdns);
    answers_become(&pdns, HOST, &[a], Duration::from_secs(1), &log).await;

    // Foreign and hand-made records at two other hostnames.
    foreign_a(&pdns, "taken.example.org", "192.0.2.9").await;
    pdns.put_rrset(ZONE, "hand.example.org", "LUA", 30, &["A \"pickrandom({'192.0.2.7'})\""]).await.unwrap();
    eu.write("taken.yaml", &record("taken", "taken.example.org", &[a], backends.port(), 1));
    eu.write("hand.yaml", &record("hand", "hand.example.org", &[a], backends.port(), 1));

    // The pool takes over our plain A: one PATCH, never an empty answer.
    eu.write("app.yaml", &record("app", HOST, &[a], backends.port(), 1));
    let before = serial(&pdns).await;
    let watch = {
        let pdns_dns = (pdns.dns_addr(), pdns.dns_port());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut checked = 0;
            while started.elapsed() < Duration::from_secs(6) {
                let got = exodns_testbed::dns_answers(pdns_dns.0, pdns_dns.1, HOST, "A").await;
                assert!(got.as_ref().is_ok_and(|a| !a.is_empty()), "{HOST}: {got:?}");
                checked += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            checked
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = eu.sync(&bin, &pdns);
    let checked = watch.await.expect("no NXDOMAIN/NODATA while the record changed type");
    assert!(checked > 20);
    assert_eq!(serial(&pdns).await, before + 1, "one PATCH:\n{log}");
    assert_eq!(rrset(&pdns, HOST, "A").await, None, "our plain A is gone");
    assert!(rrset(&pdns, HOST, "LUA").await.is_some_and(|l| l[0].contains("ifportup")));
    answers_become(&pdns, HOST, &[a], FIRST_CHECK, &log).await;

    assert_eq!(rrset(&pdns, "taken.example.org", "A").await, Some(vec!["192.0.2.9".into()]));
    assert_eq!(rrset(&pdns, "taken.example.org", "LUA").await, None);
    assert_eq!(rrset(&pdns, "hand.example.org", "LUA").await, Some(vec!["A \"pickrandom({'192.0.2.7'})\"".into()]));
    assert_eq!(pdns.answers("hand.example.org", "A").await, ["192.0.2.7"]);
    for (host, what) in [("taken.example.org", "owner=someone"), ("hand.example.org", "owner=(none)")] {
        assert!(
            log.lines().any(|l| l.contains("another owner") && l.contains(host) && l.contains(what)),
            "{host} not reported:\n{log}"
        );
    }

    // Second sync: nothing.
    let before = serial(&pdns).await;
    eu.sync(&bin, &pdns);
    assert_eq!(serial(&pdns).await, before, "a second sync wrote");

    // Broken: reported by field, the published pool stays.
    let lua = rrset(&pdns, HOST, "LUA").await;
    eu.write("app.yaml", &record("app", HOST, &[a], 0, 1));
    let log = eu.sync(&bin, &pdns);
    assert!(log.contains("spec.healthCheck.port") && log.contains("failover/web/app"), "{log}");
    assert_eq!(rrset(&pdns, HOST, "LUA").await, lua, "an invalid record changed the pool");
    assert_eq!(pdns.answers(HOST, "A").await, [a.to_string()]);
}

/// PowerDNS has no routing policies: a set-identified record at a name without a pool is
/// reported (naming its object), not published or merged, its object's record kept as it was,
/// and the next sync writes nothing; at a pool's hostname it joins the region's member.
#[tokio::test]
async fn a_set_identified_record_without_a_pool_is_reported_not_merged() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let backends = Backends::tcp(&BACKEND_ADDRS[..1]).expect("listener");
    let eu = Region::new("eu");
    let set_id = [("external-dns.kubernetes.io/set-identifier", "eu")];
    eu.write("web.yaml", &manifest_service("web", "web.example.org", "ip: 192.0.2.1", &[]));
    let log = eu.sync(&bin, &pdns);
    assert_eq!(pdns.answers("web.example.org", "A").await, ["192.0.2.1"], "{log}");

    // web gains a set identifier; other has one from the start; app is at a pool's hostname.
    eu.write("web.yaml", &manifest_service("web", "web.example.org", "ip: 192.0.2.1", &set_id));
    eu.write("other.yaml", &manifest_service("other", "other.example.org", "ip: 192.0.2.2", &set_id));
    eu.write("app.yaml", &manifest_service("app", HOST, "ip: 127.0.0.3", &set_id));
    eu.write("pool.yaml", &record("app", HOST, &[BACKEND_ADDRS[0]], backends.port(), 1));
    let log = eu.sync(&bin, &pdns);
    for (object, name) in [("service/default/web", "web.example.org"), ("service/default/other", "other.example.org")] {
        assert!(
            log.lines().any(|l| l.contains(object)
                && l.contains(&format!("{name} A set-identifier=eu"))
                && l.contains("no routing policies")),
            "{name} not reported:\n{log}"
        );
    }
    assert!(!log.contains(&format!("{HOST} A set-identifier")), "{log}");
    assert_eq!(pdns.answers("web.example.org", "A").await, ["192.0.2.1"], "the earlier record is kept");
    assert_eq!(pdns.answers("other.example.org", "A").await, Vec::<String>::new());
    assert_eq!(rrset(&pdns, "other.example.org", "A").await, None);
    assert_eq!(
        rrset(&pdns, &format!("eu._pool.{HOST}"), "A").await,
        Some(vec!["127.0.0.2".to_owned(), "127.0.0.3".to_owned()]),
        "{log}"
    );
    answers_become(&pdns, HOST, &[BACKEND_ADDRS[0]], FIRST_CHECK, &log).await;

    let before = serial(&pdns).await;
    let log = eu.sync(&bin, &pdns);
    assert_eq!(serial(&pdns).await, before, "the next sync wrote:\n{log}");
}
