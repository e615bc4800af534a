//! `--provider=cloudflare` (issue 12) against the Cloudflare fake behind Prism with Cloudflare's
//! own spec: every request exodns sends must pass the spec (each test ends with
//! `assert_no_violations` on the one Prism this module shares), and each test works in zones of
//! its own in the one fake.
//!
//! Syncs run the real exodns binary (`--once`), against a real kube-apiserver where the test is
//! about Services, Ingresses and DNSEndpoints, and against manifests elsewhere. The hand-over runs
//! the real upstream ExternalDNS v0.22.0 (`--provider=cloudflare`, pointed at the fake by
//! `CLOUDFLARE_BASE_URL`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use exodns_testbed::fake::cloudflare::{self, Access, CfRecord, CloudflareFake};
use exodns_testbed::fake::{Fault, Inject, RequestRecord};
use exodns_testbed::kube::{KubeApiserver, peer_binary, testbed_var};
use exodns_testbed::prism::{Prism, load_spec, trim_spec};
use exodns_testbed::{Proc, exodns_bin, free_port, skip_or_fail, wait_until_log};

use crate::common::{apply, exodns_checked, log_of, manifest_dir, manifest_service, patch_status};

/// A token distinctive enough to grep for in every log.
const TOKEN: &str = "cf-token-Zq81-do-not-log-9xK3";
const READ_ONLY: &str = "cf-read-only-Hh27-do-not-log";

struct Bed {
    fake: CloudflareFake,
    prism: Prism,
}

fn bed() -> Option<&'static Bed> {
    static BED: OnceLock<Option<Bed>> = OnceLock::new();
    BED.get_or_init(|| {
        let Some(spec) = testbed_var("EXODNS_CLOUDFLARE_SPEC") else {
            skip_or_fail("EXODNS_CLOUDFLARE_SPEC is not set (scripts/testbed/setup.sh)");
            return None;
        };
        let spec = load_spec(Path::new(&spec)).expect("Cloudflare spec");
        let fake = CloudflareFake::start();
        fake.add_token(TOKEN, Access::Edit);
        fake.add_token(READ_ONLY, Access::Read);
        let prism =
            Prism::start_or_skip(&trim_spec(&spec, cloudflare::SPEC_PATHS, cloudflare::MOUNT), &fake.server().url())?;
        Some(Bed { fake, prism })
    })
    .as_ref()
}

impl Bed {
    /// `CLOUDFLARE_BASE_URL` through Prism.
    fn base_url(&self) -> String {
        format!("{}{}", self.prism.url(), cloudflare::MOUNT)
    }

    /// A mark in the fake's request log (tests share the fake: each counts from its mark).
    fn mark(&self) -> usize {
        self.fake.server().mark()
    }

    /// The requests since `mark` that touched zone `zone_id`.
    fn zone_requests(&self, zone_id: &str, mark: usize) -> Vec<RequestRecord> {
        self.fake.server().requests_since(mark).into_iter().filter(|r| r.path.contains(zone_id)).collect()
    }

    /// The writes since `mark` to zone `zone_id`.
    fn writes(&self, zone_id: &str, mark: usize) -> Vec<RequestRecord> {
        self.zone_requests(zone_id, mark).into_iter().filter(|r| r.method != "GET").collect()
    }

    /// The records of `zone` read back through the API (through Prism), as (name, type, content).
    fn api_records(&self, zone_id: &str) -> Vec<serde_json::Value> {
        let url = format!("{}/zones/{zone_id}/dns_records?per_page=5000", self.base_url());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body: serde_json::Value = rt.block_on(async {
            let r = exodns_testbed::http_client().unwrap().get(url).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json().await.unwrap()
        });
        body["result"].as_array().unwrap().clone()
    }
}

/// The records of a zone as (name, type, content) sorted, ownership TXT included.
fn triples(recs: &[CfRecord]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = recs.iter().map(|r| (r.name.clone(), r.rtype.clone(), r.content.clone())).collect();
    v.sort();
    v
}

fn find<'a>(recs: &'a [CfRecord], name: &str, rtype: &str) -> Vec<&'a CfRecord> {
    recs.iter().filter(|r| r.name == name && r.rtype == rtype).collect()
}

/// `exodns ARGS` once, with Cloudflare's environment; its output, whatever its status.
fn exodns(bed: &Bed, args: &[&str], token: &str) -> Output {
    exodns_with(&exodns_bin().expect("exodns binary"), bed, args, token, &[("RUST_LOG", "debug")])
}

fn exodns_with(bin: &PathBuf, bed: &Bed, args: &[&str], token: &str, env: &[(&str, &str)]) -> Output {
    Command::new(bin)
        .args(args)
        .env("CF_API_TOKEN", token)
        .env("CLOUDFLARE_BASE_URL", bed.base_url())
        .envs(env.iter().copied())
        .output()
        .expect("run exodns")
}

/// `exodns --once` from manifests in `dir` into `zone`; must succeed, the token in no line.
fn sync_manifests(bed: &Bed, dir: &Path, zone: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--once".to_owned(),
        "--provider=cloudflare".into(),
        "--source=manifest".into(),
        format!("--manifest-path={}", dir.display()),
        format!("--domain-filter={zone}"),
        "--txt-owner-id=cf-it".into(),
        "--metrics-address=127.0.0.1:0".into(),
    ];
    if !extra.iter().any(|a| a.starts_with("--policy")) {
        args.push("--policy=sync".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    exodns_checked(&args, &[("CF_API_TOKEN", TOKEN.into()), ("CLOUDFLARE_BASE_URL", bed.base_url())], TOKEN)
}

/// Full sync from a real cluster (Service, Ingress, DNSEndpoint with MX and TXT): records and
/// ownership TXT, read back through the API; a second sync writes nothing; a hand-made record is
/// never touched; a deleted Service's records stay under upsert-only and go under sync; a
/// CNAME ↔ A change happens in one sync (one batch).
#[test]
fn cf_full_sync_from_the_cluster() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    kube.install_crds(&["dnsendpoint"]).expect("CRDs");
    const ZONE: &str = "kube.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let hand = bed.fake.insert_record(ZONE, "hand.kube.cloudflare.test", "A", "198.51.100.77", 300);
    apply(&kube, "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n");
    let svc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: apps\n  annotations:\n    external-dns.kubernetes.io/hostname: {name}.{ZONE}\n\
             spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
        )
    };
    apply(&kube, &svc("web"));
    apply(&kube, &svc("gone"));
    patch_status(&kube, "apps", "service", "web", crate::common::lb_status("203.0.113.10"));
    patch_status(&kube, "apps", "service", "gone", crate::common::lb_status("203.0.113.11"));
    apply(
        &kube,
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: shop, namespace: apps}}\nspec:\n  rules:\n  - host: shop.{ZONE}\n    http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}]}}\n"
        ),
    );
    patch_status(&kube, "apps", "ingress", "shop", crate::common::lb_status("203.0.113.20"));
    apply(
        &kube,
        &format!(
            "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {{name: records, namespace: apps}}\nspec:\n  endpoints:\n  - {{dnsName: mx.{ZONE}, recordType: MX, targets: [\"10 mail.{ZONE}\"]}}\n  - {{dnsName: txt.{ZONE}, recordType: TXT, targets: [\"v=spf1 -all\"]}}\n"
        ),
    );
    let kubeconfig = format!("--kubeconfig={}", kube.kubeconfig_path().display());
    let run = |policy: &str| {
        let args = [
            "--once",
            "--provider=cloudflare",
            "--source=service",
            "--source=ingress",
            "--source=crd",
            policy,
            "--txt-owner-id=cf-kube",
            "--domain-filter=kube.cloudflare.test",
            "--managed-record-types=A",
            "--managed-record-types=CNAME",
            "--managed-record-types=MX",
            "--managed-record-types=TXT",
            "--metrics-address=127.0.0.1:0",
            &kubeconfig,
        ];
        let out = exodns(bed, &args, TOKEN);
        let log = log_of(&out);
        assert!(out.status.success(), "exodns failed:\n{log}");
        assert!(!log.contains(TOKEN), "the token is in the log");
    };

    run("--policy=sync");
    let recs = bed.fake.records(ZONE);
    let a = |n: &str| find(&recs, &format!("{n}.{ZONE}"), "A").iter().map(|r| r.content.clone()).collect::<Vec<_>>();
    assert_eq!(a("web"), ["203.0.113.10"]);
    assert_eq!(a("gone"), ["203.0.113.11"]);
    assert_eq!(a("shop"), ["203.0.113.20"]);
    let mx = find(&recs, &format!("mx.{ZONE}"), "MX");
    assert_eq!((mx[0].content.as_str(), mx[0].priority), ("mail.kube.cloudflare.test", Some(10)));
    assert_eq!(find(&recs, &format!("txt.{ZONE}"), "TXT")[0].content, "\"v=spf1 -all\"");
    for owned in ["a-web", "a-gone", "a-shop", "mx-mx", "txt-txt"] {
        let txt = find(&recs, &format!("{owned}.{ZONE}"), "TXT");
        assert_eq!(txt.len(), 1, "ownership TXT {owned}: {:?}", triples(&recs));
        assert!(txt[0].content.contains("external-dns/owner=cf-kube"), "{}", txt[0].content);
    }
    // Read back through the API, through Prism.
    let api = bed.api_records(&zone);
    assert_eq!(api.len(), recs.len(), "the API lists what the fake holds");
    assert!(
        api.iter()
            .any(|r| r["name"] == format!("web.{ZONE}") && r["content"] == "203.0.113.10" && r["proxied"] == false)
    );

    let mark = bed.mark();
    run("--policy=sync");
    assert_eq!(bed.writes(&zone, mark).len(), 0, "a second sync writes nothing: {:?}", bed.writes(&zone, mark));

    // Deleted Service: kept under upsert-only, gone under sync; the hand-made record stays.
    kube.kubectl(&["-n", "apps", "delete", "service", "gone"], None).unwrap();
    run("--policy=upsert-only");
    assert_eq!(find(&bed.fake.records(ZONE), &format!("gone.{ZONE}"), "A").len(), 1, "upsert-only deletes nothing");
    run("--policy=sync");
    let recs = bed.fake.records(ZONE);
    assert!(
        find(&recs, &format!("gone.{ZONE}"), "A").is_empty()
            && find(&recs, &format!("a-gone.{ZONE}"), "TXT").is_empty()
    );

    // CNAME <-> A in one sync: one batch request.
    let mark = bed.mark();
    patch_status(
        &kube,
        "apps",
        "service",
        "web",
        serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb-1.cloud.example.net"}]}}}),
    );
    run("--policy=sync");
    let recs = bed.fake.records(ZONE);
    assert!(find(&recs, &format!("web.{ZONE}"), "A").is_empty(), "{:?}", triples(&recs));
    assert_eq!(find(&recs, &format!("web.{ZONE}"), "CNAME")[0].content, "lb-1.cloud.example.net");
    assert_eq!(find(&recs, &format!("cname-web.{ZONE}"), "TXT").len(), 1);
    let batches: Vec<_> = bed.writes(&zone, mark).into_iter().filter(|r| r.path.ends_with("/batch")).collect();
    assert_eq!(batches.len(), 1, "the type change is one batch");
    assert_eq!(bed.writes(&zone, mark).len(), 1);

    let hand_now: Vec<_> = bed.fake.records(ZONE).into_iter().filter(|r| r.id == hand).collect();
    assert_eq!(hand_now.len(), 1, "the hand-made record is never touched");
    assert_eq!((hand_now[0].content.as_str(), hand_now[0].ttl), ("198.51.100.77", 300));
    bed.prism.assert_no_violations();
}

/// Proxied per annotation (both property spellings) and per flag, never on TXT/MX/SRV, TTL 1
/// when proxied; switching `proxied` on an existing record is one update (a batch put).
#[test]
fn cf_proxied_per_annotation_and_flag() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "proxied.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let mut text = manifest_service(
        "on",
        "on.proxied.cloudflare.test",
        "ip: 203.0.113.1",
        &[("external-dns.kubernetes.io/cloudflare-proxied", "true"), ("external-dns.kubernetes.io/ttl", "600")],
    );
    text += &manifest_service(
        "legacy",
        "legacy.proxied.cloudflare.test",
        "ip: 203.0.113.2",
        &[("external-dns.alpha.kubernetes.io/cloudflare-proxied", "true")],
    );
    text += &manifest_service(
        "off",
        "off.proxied.cloudflare.test",
        "ip: 203.0.113.3",
        &[("external-dns.kubernetes.io/ttl", "600")],
    );
    text += &manifest_service("cname", "cname.proxied.cloudflare.test", "hostname: lb.example.net", &[]);
    text += "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: other, namespace: default}\nspec:\n  endpoints:\n\
             \x20 - {dnsName: mx.proxied.cloudflare.test, recordType: MX, targets: [\"10 mail.proxied.cloudflare.test\"]}\n\
             \x20 - {dnsName: _sip._udp.proxied.cloudflare.test, recordType: SRV, targets: [\"0 50 5060 sip.proxied.cloudflare.test.\"]}\n\
             \x20 - {dnsName: t.proxied.cloudflare.test, recordType: TXT, targets: [\"hello\"]}\n";
    let dir = manifest_dir(&[("objects.yaml", &text)]);
    let types = [
        "--managed-record-types=A",
        "--managed-record-types=CNAME",
        "--managed-record-types=MX",
        "--managed-record-types=SRV",
        "--managed-record-types=TXT",
    ];
    sync_manifests(bed, dir.path(), ZONE, &types);
    let recs = bed.fake.records(ZONE);
    let one = |n: &str, t: &str| {
        find(&recs, &format!("{n}.{ZONE}"), t)
            .first()
            .copied()
            .cloned()
            .unwrap_or_else(|| panic!("no {n} {t}: {:?}", triples(&recs)))
    };
    assert_eq!((one("on", "A").proxied, one("on", "A").ttl), (true, 1), "proxied by annotation, TTL automatic");
    assert!(one("legacy", "A").proxied, "the pre-v0.22 annotation key works too");
    assert_eq!((one("off", "A").proxied, one("off", "A").ttl), (false, 600));
    assert!(!one("a-on", "TXT").proxied, "an ownership TXT is never proxied");

    // The flag: everything proxiable is proxied, MX/SRV/TXT never.
    let mut flagged = types.to_vec();
    flagged.push("--cloudflare-proxied");
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &flagged);
    let recs = bed.fake.records(ZONE);
    let one = |n: &str, t: &str| {
        find(&recs, &format!("{n}.{ZONE}"), t)
            .first()
            .copied()
            .cloned()
            .unwrap_or_else(|| panic!("no {n} {t}: {:?}", triples(&recs)))
    };
    assert!(one("off", "A").proxied && one("cname", "CNAME").proxied);
    assert_eq!(one("off", "A").ttl, 1);
    for (n, t) in [("mx", "MX"), ("_sip._udp", "SRV"), ("t", "TXT"), ("a-off", "TXT")] {
        assert!(!one(n, t).proxied, "{n} {t} is never proxied");
    }
    // Turning proxied on for `off` and `cname` was one put each, no delete, no post.
    let batches: Vec<serde_json::Value> =
        bed.writes(&zone, mark).iter().filter(|r| r.path.ends_with("/batch")).map(RequestRecord::json).collect();
    let count = |k: &str| batches.iter().map(|b| b[k].as_array().map_or(0, Vec::len)).sum::<usize>();
    assert_eq!((count("deletes"), count("posts"), count("puts")), (0, 0, 2), "{batches:?}");
    bed.prism.assert_no_violations();
}

/// Regional hostname and record comment (flag default, annotation override), read back through
/// the API.
#[test]
fn cf_regional_hostname_and_comment() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "region.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let mut text = manifest_service("eu", "eu.region.cloudflare.test", "ip: 203.0.113.1", &[]);
    text += &manifest_service(
        "us",
        "us.region.cloudflare.test",
        "ip: 203.0.113.2",
        &[
            ("external-dns.kubernetes.io/cloudflare-region-key", "us"),
            ("external-dns.kubernetes.io/cloudflare-record-comment", "team payments"),
            ("external-dns.kubernetes.io/cloudflare-tags", "team:pay, env:prod"),
        ],
    );
    let dir = manifest_dir(&[("svc.yaml", &text)]);
    let flags = ["--cloudflare-region-key=eu", "--cloudflare-record-comment=managed by exodns"];
    sync_manifests(bed, dir.path(), ZONE, &flags);
    let regional = bed.fake.regional_hostnames(ZONE);
    assert_eq!(regional.get(&format!("eu.{ZONE}")).map(String::as_str), Some("eu"));
    assert_eq!(regional.get(&format!("us.{ZONE}")).map(String::as_str), Some("us"));
    let api = bed.api_records(&zone);
    let rec = |name: &str| api.iter().find(|r| r["name"] == name && r["type"] == "A").unwrap().clone();
    assert_eq!(rec(&format!("eu.{ZONE}"))["comment"], "managed by exodns");
    assert_eq!(rec(&format!("us.{ZONE}"))["comment"], "team payments");
    assert_eq!(rec(&format!("us.{ZONE}"))["tags"], serde_json::json!(["env:prod", "team:pay"]));
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &flags);
    assert_eq!(bed.writes(&zone, mark).len(), 0, "stable: {:?}", bed.writes(&zone, mark));
    bed.prism.assert_no_violations();
}

/// Zones and records are paged with small pages (zones 5 at a time, records 5 at a time).
#[test]
fn cf_pagination_with_small_pages() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "pages.cloudflare.test";
    for i in 0..11 {
        bed.fake.add_zone(&format!("z{i:02}.pages-other.test"));
    }
    let zone = bed.fake.add_zone(ZONE);
    let mut text = String::new();
    for i in 0..12 {
        text += &manifest_service(&format!("s{i}"), &format!("s{i}.{ZONE}"), &format!("ip: 203.0.113.{}", i + 1), &[]);
    }
    let dir = manifest_dir(&[("svc.yaml", &text)]);
    let flags = ["--cloudflare-zones-per-page=5", "--cloudflare-dns-records-per-page=5"];
    sync_manifests(bed, dir.path(), ZONE, &flags);
    assert_eq!(bed.fake.records(ZONE).len(), 24, "12 records and their 12 TXT");
    let mark = bed.mark();
    let log = sync_manifests(bed, dir.path(), ZONE, &flags);
    assert_eq!(bed.writes(&zone, mark).len(), 0, "all 24 records were read across pages: nothing to write\n{log}");
    let reqs = bed.fake.server().requests_since(mark);
    let zone_pages =
        reqs.iter().filter(|r| r.path.ends_with("/client/v4/zones") && r.query.contains("per_page=5")).count();
    assert!(zone_pages >= 3, "zones listed 5 at a time over several pages ({zone_pages} requests)");
    let record_pages = bed.zone_requests(&zone, mark).iter().filter(|r| r.path.ends_with("/dns_records")).count();
    assert_eq!(record_pages, 5, "24 records, 5 per page");
    bed.prism.assert_no_violations();
}

/// Many records: every batch within the limit, each ownership TXT in the batch of its record;
/// a second sync writes nothing. (10 000 records are in bench/cloudflare; here 600.)
#[test]
fn cf_batches_stay_within_the_limit() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "batch.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let mut eps = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: many, namespace: default}\nspec:\n  endpoints:\n",
    );
    for i in 0..600 {
        eps += &format!("  - {{dnsName: r{i}.{ZONE}, recordType: A, targets: [\"10.{}.{}.1\"]}}\n", i / 250, i % 250);
    }
    let dir = manifest_dir(&[("many.yaml", &eps)]);
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &[]);
    assert_eq!(bed.fake.records(ZONE).len(), 1200);
    let batches: Vec<serde_json::Value> =
        bed.writes(&zone, mark).iter().filter(|r| r.path.ends_with("/batch")).map(RequestRecord::json).collect();
    assert_eq!(batches.len(), 6, "1 200 operations in batches of at most 200");
    for b in &batches {
        let posts = b["posts"].as_array().unwrap();
        assert!(posts.len() <= 200);
        for p in posts.iter().filter(|p| p["type"] == "A") {
            let txt = format!("a-{}", p["name"].as_str().unwrap());
            assert!(posts.iter().any(|q| q["name"] == txt), "{txt} travels with its record");
        }
    }
    let mark = bed.mark();
    sync_manifests(bed, dir.path(), ZONE, &[]);
    assert_eq!(bed.writes(&zone, mark).len(), 0);
    bed.prism.assert_no_violations();
}

/// 429 with Retry-After, 5xx and a dropped connection: retried, the sync converges.
#[test]
fn cf_faults_are_retried_and_converge() {
    let Some(bed) = bed() else { return };
    let Some(_) = exodns_bin() else { return };
    const ZONE: &str = "faults.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let dir = manifest_dir(&[("svc.yaml", &manifest_service("web", &format!("web.{ZONE}"), "ip: 203.0.113.5", &[]))]);
    let server = bed.fake.server();
    let mark = bed.mark();
    server.inject(Inject::on("POST", &format!("{zone}/dns_records/batch"), cloudflare::error_fault(429, Some(1))));
    server.inject(Inject::on("GET", &format!("{zone}/dns_records"), cloudflare::error_fault(503, None)).times(2));
    let log = sync_manifests(bed, dir.path(), ZONE, &[]);
    assert_eq!(find(&bed.fake.records(ZONE), &format!("web.{ZONE}"), "A").len(), 1, "converged:\n{log}");
    let statuses: Vec<u16> = bed.zone_requests(&zone, mark).iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429) && statuses.contains(&503), "{statuses:?}");
    let batches = bed.zone_requests(&zone, mark).iter().filter(|r| r.path.ends_with("/batch")).count();
    assert_eq!(batches, 2, "the 429 was retried once");

    // A dropped connection, without Prism in between (Prism would answer for the fake).
    server.inject(Inject::on("GET", &format!("{zone}/dns_records"), Fault::Drop));
    let dir2 = manifest_dir(&[("svc.yaml", &manifest_service("web", &format!("web.{ZONE}"), "ip: 203.0.113.6", &[]))]);
    let bin = exodns_bin().unwrap();
    let out = Command::new(bin)
        .args(["--once", "--provider=cloudflare", "--source=manifest", "--policy=sync", "--txt-owner-id=cf-it"])
        .arg(format!("--manifest-path={}", dir2.path().display()))
        .arg(format!("--domain-filter={ZONE}"))
        .arg("--metrics-address=127.0.0.1:0")
        .env("CF_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_BASE_URL", bed.fake.base_url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", log_of(&out));
    assert_eq!(find(&bed.fake.records(ZONE), &format!("web.{ZONE}"), "A")[0].content, "203.0.113.6");
    assert_eq!(server.pending_faults(), 0);
    bed.prism.assert_no_violations();
}

/// A token that is refused (401) or may only read (403): a clear error naming the zone, no
/// deletion, and exodns keeps running (watch mode); the token is in no log line.
#[test]
fn cf_auth_errors_are_clear_and_delete_nothing() {
    let Some(bed) = bed() else { return };
    let Some(bin) = exodns_bin() else { return };
    const ZONE: &str = "auth.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let dir = manifest_dir(&[("svc.yaml", &manifest_service("web", &format!("web.{ZONE}"), "ip: 203.0.113.7", &[]))]);
    sync_manifests(bed, dir.path(), ZONE, &[]);
    let before = triples(&bed.fake.records(ZONE));
    assert_eq!(before.len(), 2);
    let mark = bed.mark();
    // The Service is gone: a sync would delete its records, but the token may only read.
    let empty = manifest_dir(&[("none.yaml", "")]);
    let start = |token: &str| {
        let mut cmd = Command::new(&bin);
        cmd.args([
            "--provider=cloudflare",
            "--source=manifest",
            "--policy=sync",
            "--txt-owner-id=cf-it",
            "--interval=1s",
        ])
        .arg(format!("--manifest-path={}", empty.path().display()))
        .arg(format!("--domain-filter={ZONE}"))
        .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
        .env("CF_API_TOKEN", token)
        .env("CLOUDFLARE_BASE_URL", bed.base_url())
        .env("RUST_LOG", "debug");
        Proc::spawn("exodns", &mut cmd)
    };
    let mut ro = start(READ_ONLY);
    wait_until_log(
        "the refusal naming the zone",
        Duration::from_secs(60),
        || ro.log().contains("Cloudflare refused writing to zone auth.cloudflare.test"),
        || ro.log(),
    );
    assert!(ro.log().contains("DNS:Edit"), "the message says which permission is missing");
    assert!(ro.is_running(), "a 403 does not end exodns");
    assert_eq!(triples(&bed.fake.records(ZONE)), before, "nothing deleted");
    drop(ro);

    let mut bad = start("cf-unknown-token-Yy55-do-not-log");
    wait_until_log("the 401", Duration::from_secs(60), || bad.log().contains("HTTP 401"), || bad.log());
    let log = bad.log();
    assert!(bad.is_running(), "a 401 does not end exodns:\n{log}");
    assert!(log.contains("CF_API_TOKEN"), "the error says what to check:\n{log}");
    assert!(!log.contains("cf-unknown-token-Yy55"), "the token is in the log");
    assert_eq!(triples(&bed.fake.records(ZONE)), before, "nothing deleted");
    drop(bad);
    assert!(
        bed.writes(&zone, mark).iter().all(|r| r.status != 200),
        "no write went through: {:?}",
        bed.writes(&zone, mark)
    );
    bed.prism.assert_no_violations();
}

/// Upstream ExternalDNS v0.22.0 (`--provider=cloudflare`, `CLOUDFLARE_BASE_URL` at Prism)
/// publishes a zone from a real cluster; exodns with the same owner id plans 0 changes.
#[test]
fn cf_handover_from_upstream_plans_nothing() {
    let Some(bed) = bed() else { return };
    let Some(exodns) = exodns_bin() else { return };
    let Some(upstream) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    const ZONE: &str = "handover.cloudflare.test";
    let zone = bed.fake.add_zone(ZONE);
    let svc = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {name}.{ZONE}\n{extra}\
             spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
        )
    };
    apply(&kube, &svc("web", "    external-dns.kubernetes.io/ttl: \"120\"\n"));
    apply(&kube, &svc("cdn", "    external-dns.kubernetes.io/cloudflare-proxied: \"true\"\n"));
    apply(&kube, &svc("lb", ""));
    patch_status(&kube, "default", "service", "web", crate::common::lb_status("203.0.113.10"));
    patch_status(&kube, "default", "service", "cdn", crate::common::lb_status("203.0.113.11"));
    patch_status(
        &kube,
        "default",
        "service",
        "lb",
        serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb-1.cloud.example.net"}]}}}),
    );
    let flags = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--source=service",
            "--provider=cloudflare",
            "--policy=sync",
            "--registry=txt",
            "--txt-owner-id=cluster-a",
            "--domain-filter=handover.cloudflare.test",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(format!("--kubeconfig={}", kube.kubeconfig_path().display()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut up = flags(&["--once", "--log-level=debug"]);
    up.push(format!("--metrics-address=127.0.0.1:{}", free_port()));
    let out = Command::new(&upstream)
        .args(&up)
        .env("CF_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_BASE_URL", bed.base_url())
        .output()
        .unwrap();
    let up_log = log_of(&out);
    assert!(out.status.success(), "upstream failed:\n{up_log}");
    let recs = bed.fake.records(ZONE);
    assert_eq!(find(&recs, &format!("web.{ZONE}"), "A")[0].content, "203.0.113.10", "upstream published:\n{up_log}");
    assert!(find(&recs, &format!("cdn.{ZONE}"), "A")[0].proxied);
    assert_eq!(find(&recs, &format!("lb.{ZONE}"), "CNAME").len(), 1);
    let mark = bed.mark();

    let mut plan = vec!["plan".to_string(), "--color=never".to_string()];
    plan.extend(flags(&[]));
    let plan: Vec<&str> = plan.iter().map(String::as_str).collect();
    let out = exodns_with(&exodns, bed, &plan, TOKEN, &[]);
    let text = log_of(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 to create, 0 to update, 0 to delete"), "exodns would change upstream's zone:\n{text}");
    // And a sync leaves it as it is.
    let mut once = flags(&["--once", "--metrics-address=127.0.0.1:0"]);
    once.retain(|f| f != "plan");
    let once: Vec<&str> = once.iter().map(String::as_str).collect();
    let out = exodns_with(&exodns, bed, &once, TOKEN, &[]);
    assert!(out.status.success(), "{}", log_of(&out));
    assert_eq!(bed.writes(&zone, mark).len(), 0, "exodns wrote to upstream's zone: {:?}", bed.writes(&zone, mark));
    bed.prism.assert_no_violations();
}
