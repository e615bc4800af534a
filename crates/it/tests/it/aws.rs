//! `--provider=aws` through the real exodns binary, against moto (Route 53 and STS), read back
//! with ListResourceRecordSets through boto3.
//!
//! moto accepts what AWS refuses (a CNAME beside other data, a CREATE of what exists, …) and
//! applies a failing batch in part. Where a test relies on AWS's rules, exodns talks to moto
//! through [`Route53Rules`], which applies those rules as AWS documents them, atomically, and
//! counts each batch the way AWS counts it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use exodns_testbed::{Moto, Route53Rules, TEST_SECRET_KEY, exodns_bin, free_port};
use serde_json::{Value, json};

const ZONE: &str = "example.org";
pub(crate) const OWNER: &str = "it-aws";

/// moto, the rules in front of it, a zone, and a folder of manifests.
pub(crate) struct Bed {
    pub(crate) moto: Moto,
    rules: Route53Rules,
    pub(crate) zone: String,
    dir: tempfile::TempDir,
}

impl Bed {
    pub(crate) async fn start() -> Option<Bed> {
        exodns_bin()?;
        let moto = Moto::start_or_skip()?;
        let rules = Route53Rules::start(moto.url()).await;
        let zone = moto.create_zone(ZONE, false).await;
        let dir = tempfile::Builder::new().prefix("exodns-it-aws-").tempdir().unwrap();
        Some(Bed { moto, rules, zone, dir })
    }

    /// Replaces the manifests exodns reads.
    fn objects(&self, yaml: &str) {
        std::fs::write(self.dir.path().join("objects.yaml"), yaml).unwrap();
    }

    /// The environment of an exodns run: moto's SDK settings, Route 53 and STS through the rules.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.sdk_env();
        env.push(("AWS_ENDPOINT_URL_ROUTE_53".into(), self.rules.url()));
        env.push(("AWS_ENDPOINT_URL_STS".into(), self.rules.url()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), self.rules.url())); // PartiQL: moto cannot
        env
    }

    /// `exodns --once` with the manifests; its log. The test secret never shows in it.
    fn exodns(&self, env: &[(String, String)], extra: &[&str]) -> String {
        let (ok, log) = self.run(env, extra);
        assert!(ok, "exodns failed:\n{log}");
        log
    }

    /// [`Bed::exodns`] that may fail: whether it exited 0, and its log (never with the secret).
    fn run(&self, env: &[(String, String)], extra: &[&str]) -> (bool, String) {
        self.rules.forget();
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(exodns_bin().unwrap());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("RUST_LOG", "debug")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(["--once", "--source=manifest", "--provider=aws", "--registry=txt", "--aws-batch-change-interval=0s"])
            .arg(format!("--manifest-path={}", self.dir.path().display()))
            .arg(format!("--txt-owner-id={OWNER}"))
            .arg(format!("--metrics-address=127.0.0.1:{}", free_port()))
            .args(extra);
        if !extra.iter().any(|a| a.starts_with("--policy")) {
            cmd.arg("--policy=sync");
        }
        let out = cmd.output().expect("run exodns");
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!log.contains(TEST_SECRET_KEY), "the secret key reached the log:\n{log}");
        (out.status.success(), log)
    }

    /// The zone as boto3 lists it: (name without the dot, type, set identifier) → record set.
    pub(crate) async fn records(&self) -> BTreeMap<(String, String, String), Value> {
        self.moto
            .record_sets(&self.zone)
            .await
            .into_iter()
            .filter(|r| r["Type"] != "SOA" && r["Type"] != "NS")
            .map(|r| {
                let name = r["Name"].as_str().unwrap().trim_end_matches('.').replace("\\052", "*");
                let set = r["SetIdentifier"].as_str().unwrap_or_default().to_owned();
                ((name, r["Type"].as_str().unwrap().to_owned(), set), r)
            })
            .collect()
    }

    /// Change batches moto has applied so far.
    pub(crate) fn writes(&self) -> usize {
        self.moto.requests("POST /2013-04-01/hostedzone/")
    }
}

/// A LoadBalancer Service publishing `host` at `target` (an IP or a host name).
fn service(name: &str, host: &str, target: &str, annotations: &[(&str, &str)]) -> String {
    let mut extra = String::new();
    for (k, v) in annotations {
        extra.push_str(&format!("    external-dns.kubernetes.io/{k}: \"{v}\"\n"));
    }
    let lb = if target.parse::<std::net::IpAddr>().is_ok() {
        format!("ip: {target}")
    } else {
        format!("hostname: {target}")
    };
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {host}\n{extra}spec:\n  type: LoadBalancer\n  ports: [{{port: 80}}]\nstatus:\n  loadBalancer:\n    ingress: [{{{lb}}}]\n"
    )
}

fn values(r: &Value) -> Vec<String> {
    let mut v: Vec<String> = r["ResourceRecords"]
        .as_array()
        .map(|a| a.iter().map(|x| x["Value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn heritage(resource: &str) -> String {
    format!("\"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource=service/default/{resource}\"")
}

pub(crate) fn key(name: &str, rt: &str) -> (String, String, String) {
    (name.to_owned(), rt.to_owned(), String::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sync_owns_updates_deletes_and_leaves_hand_made_records() {
    let Some(bed) = Bed::start().await else { return };
    // Made by hand: exodns must leave it, and not take its name.
    bed.moto
        .change(
            &bed.zone,
            json!([{"Action": "CREATE", "ResourceRecordSet": {"Name": "manual.example.org", "Type": "A", "TTL": 60,
                "ResourceRecords": [{"Value": "198.51.100.7"}]}}]),
        )
        .await;
    bed.objects(
        &[
            service("web", "web.example.org", "192.0.2.10", &[("ttl", "60")]),
            service("app", "app.example.org", "app-lb.example.net", &[]),
            service("gone", "gone.example.org", "192.0.2.30", &[]),
            service("taken", "manual.example.org", "192.0.2.99", &[]),
        ]
        .concat(),
    );

    let log = bed.exodns(&bed.env(), &[]);
    let r = bed.records().await;
    assert_eq!(values(&r[&key("web.example.org", "A")]), ["192.0.2.10"], "{log}");
    assert_eq!(r[&key("web.example.org", "A")]["TTL"], 60);
    assert_eq!(values(&r[&key("a-web.example.org", "TXT")]), [heritage("web")]);
    assert_eq!(values(&r[&key("app.example.org", "CNAME")]), ["app-lb.example.net"]);
    assert_eq!(values(&r[&key("cname-app.example.org", "TXT")]), [heritage("app")]);
    assert_eq!(values(&r[&key("manual.example.org", "A")]), ["198.51.100.7"], "hand-made record kept");
    assert!(!r.contains_key(&key("a-manual.example.org", "TXT")), "no ownership taken of a foreign name");

    // Second sync: not one write.
    let before = bed.writes();
    let log = bed.exodns(&bed.env(), &[]);
    assert_eq!(bed.writes(), before, "a second sync wrote:\n{log}");

    // No longer wanted: kept under upsert-only.
    bed.objects(
        &[
            service("web", "web.example.org", "192.0.2.10", &[("ttl", "60")]),
            service("app", "app.example.org", "app-lb.example.net", &[]),
            service("taken", "manual.example.org", "192.0.2.99", &[]),
        ]
        .concat(),
    );
    let before = bed.writes();
    let log = bed.exodns(&bed.env(), &["--policy=upsert-only"]);
    assert!(bed.records().await.contains_key(&key("gone.example.org", "A")), "upsert-only keeps it:\n{log}");
    assert_eq!(bed.writes(), before);

    // Under sync: CNAME ↔ A on two names in one sync (each a DELETE and a CREATE in one
    // batch, checked against AWS's CNAME rule), and the record no longer wanted goes with its
    // TXT; the hand-made one stays.
    bed.objects(
        &[
            service("web", "web.example.org", "web-lb.example.net", &[]),
            service("app", "app.example.org", "192.0.2.20", &[]),
            service("taken", "manual.example.org", "192.0.2.99", &[]),
        ]
        .concat(),
    );
    let log = bed.exodns(&bed.env(), &[]);
    let r = bed.records().await;
    assert_eq!(values(&r[&key("web.example.org", "CNAME")]), ["web-lb.example.net"], "{log}");
    assert!(!r.contains_key(&key("web.example.org", "A")));
    assert_eq!(values(&r[&key("cname-web.example.org", "TXT")]), [heritage("web")]);
    assert!(!r.contains_key(&key("a-web.example.org", "TXT")));
    assert_eq!(values(&r[&key("app.example.org", "A")]), ["192.0.2.20"]);
    assert!(!r.contains_key(&key("app.example.org", "CNAME")));
    assert!(!r.contains_key(&key("cname-app.example.org", "TXT")));
    assert!(!r.contains_key(&key("gone.example.org", "A")), "{log}");
    assert!(!r.contains_key(&key("a-gone.example.org", "TXT")));
    assert_eq!(values(&r[&key("manual.example.org", "A")]), ["198.51.100.7"]);
    assert!(
        bed.rules.batches().iter().all(|b| !b.refused),
        "AWS would have refused a batch: {:?}",
        bed.rules.batches()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_2500_records_go_in_batches_under_aws_limits() {
    let Some(bed) = Bed::start().await else { return };
    // One DNSEndpoint with 2 500 endpoints (parsing 2 500 Services costs a debug build seconds).
    let mut yaml = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: many, namespace: default}\nspec:\n  endpoints:\n",
    );
    for i in 0..2500 {
        yaml.push_str(&format!(
            "  - {{dnsName: host-{i}.example.org, recordType: A, targets: [\"10.1.{}.{}\"]}}\n",
            i / 250,
            i % 250
        ));
    }
    bed.objects(&yaml);
    let log = bed.exodns(&bed.env(), &[]);
    let batches = bed.rules.batches();
    assert!(batches.len() >= 2, "{batches:?}");
    for b in &batches {
        assert!(!b.refused, "{b:?}\n{log}");
        // AWS's limits, counted here (an UPSERT's values count twice).
        assert!(b.records <= 1000 && b.chars <= 32_000 && b.changes <= 1000, "{b:?}");
    }
    assert_eq!(batches.iter().map(|b| b.changes).sum::<usize>(), 5000);
    // Read back without listing 5 000 record sets through moto (slow): the zone's count, and
    // the last names.
    let zone = bed
        .moto
        .boto(
            "print(json.dumps(r53.get_hosted_zone(Id=ARGS['z'])['HostedZone']['ResourceRecordSetCount']))",
            json!({"z": bed.zone}),
        )
        .await;
    assert_eq!(zone, 5002, "5 000 record sets besides the SOA and NS");
    let tail = bed
        .moto
        .boto(
            "print(json.dumps(r53.list_resource_record_sets(HostedZoneId=ARGS['z'], StartRecordName='host-999.example.org', MaxItems='2')['ResourceRecordSets']))",
            json!({"z": bed.zone}),
        )
        .await;
    assert_eq!(tail[0]["Name"], "host-999.example.org.");
    assert_eq!(values(&tail[0]), ["10.1.3.249"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_alias_to_an_elb_and_a_weighted_pair() {
    let Some(bed) = Bed::start().await else { return };
    let elb = "k8s-web-1234567890.eu-west-1.elb.amazonaws.com";
    bed.objects(
        &[
            service("lb", "lb.example.org", elb, &[]),
            service("blue", "w.example.org", "192.0.2.1", &[("set-identifier", "blue"), ("aws-weight", "10")]),
            service("green", "w.example.org", "192.0.2.2", &[("set-identifier", "green"), ("aws-weight", "90")]),
        ]
        .concat(),
    );
    let log = bed.exodns(&bed.env(), &[]);
    let r = bed.records().await;
    for rt in ["A", "AAAA"] {
        let alias = &r[&key("lb.example.org", rt)]["AliasTarget"];
        assert_eq!(alias["HostedZoneId"], "Z32O12XQLNTSW2", "{rt} alias into eu-west-1's ELB zone:\n{log}");
        assert_eq!(alias["DNSName"].as_str().unwrap().trim_end_matches('.'), elb);
        assert_eq!(alias["EvaluateTargetHealth"], true);
    }
    // Upstream v0.22: the ownership TXT of an alias A is `a-`, of its AAAA `aaaa-`.
    assert_eq!(values(&r[&key("a-lb.example.org", "TXT")]), [heritage("lb")]);
    assert_eq!(values(&r[&key("aaaa-lb.example.org", "TXT")]), [heritage("lb")]);
    for (set, weight, ip) in [("blue", 10, "192.0.2.1"), ("green", 90, "192.0.2.2")] {
        let k = ("w.example.org".to_owned(), "A".to_owned(), set.to_owned());
        assert_eq!(r[&k]["Weight"], weight, "{log}");
        assert_eq!(values(&r[&k]), [ip]);
        // One owner per (name, set identifier): each weighted record has its own TXT, in the
        // same routing policy.
        let txt = &r[&("a-w.example.org".to_owned(), "TXT".to_owned(), set.to_owned())];
        assert_eq!(values(txt), [heritage(set)]);
        assert_eq!(txt["Weight"], weight);
    }
    let before = bed.writes();
    let log = bed.exodns(&bed.env(), &[]);
    assert_eq!(bed.writes(), before, "a second sync of alias and weighted records wrote:\n{log}");

    // Weight changes are an UPSERT of that record only.
    bed.objects(
        &[
            service("lb", "lb.example.org", elb, &[]),
            service("blue", "w.example.org", "192.0.2.1", &[("set-identifier", "blue"), ("aws-weight", "50")]),
            service("green", "w.example.org", "192.0.2.2", &[("set-identifier", "green"), ("aws-weight", "90")]),
        ]
        .concat(),
    );
    let log = bed.exodns(&bed.env(), &[]);
    let r = bed.records().await;
    assert_eq!(r[&("w.example.org".to_owned(), "A".to_owned(), "blue".to_owned())]["Weight"], 50, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_refused_change_among_100_is_reported_and_the_99_applied() {
    let Some(bed) = Bed::start().await else { return };
    // An MX made by hand at bad.example.org: MX is not a managed type, so the planner does not
    // see it, and a CNAME there is refused by AWS (not by moto: the rules proxy applies it).
    bed.moto
        .change(
            &bed.zone,
            json!([{"Action": "CREATE", "ResourceRecordSet": {"Name": "bad.example.org", "Type": "MX", "TTL": 60,
                "ResourceRecords": [{"Value": "10 mail.example.net"}]}}]),
        )
        .await;
    let mut yaml = String::new();
    for i in 0..99 {
        yaml.push_str(&service(&format!("s{i}"), &format!("ok-{i}.example.org"), &format!("192.0.2.{}", i + 1), &[]));
    }
    yaml.push_str(&service("bad", "bad.example.org", "target.example.net", &[]));
    bed.objects(&yaml);
    let log = bed.exodns(&bed.env(), &[]);
    let r = bed.records().await;
    for i in 0..99 {
        assert!(r.contains_key(&key(&format!("ok-{i}.example.org"), "A")), "ok-{i} missing:\n{log}");
        assert!(r.contains_key(&key(&format!("a-ok-{i}.example.org"), "TXT")));
    }
    assert!(!r.contains_key(&key("bad.example.org", "CNAME")));
    assert!(!r.contains_key(&key("cname-bad.example.org", "TXT")), "no ownership without the record");
    let refusal = log
        .lines()
        .find(|l| l.contains("provider refused a change") && l.contains("bad.example.org"))
        .unwrap_or_else(|| panic!("the refusal is reported per endpoint:\n{log}"));
    assert!(refusal.contains("is not permitted because a conflicting RRSet of type MX"), "{refusal}");
    assert!(!log.lines().any(|l| l.contains("provider refused a change") && l.contains("ok-")), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_throttling_is_retried_with_backoff() {
    let Some(bed) = Bed::start().await else { return };
    bed.objects(&service("web", "web.example.org", "192.0.2.10", &[]));
    bed.rules.throttle_next(2);
    let log = bed.exodns(&bed.env(), &["--aws-api-retries=4"]);
    assert!(log.contains("Throttling"), "the throttled tries are logged:\n{log}");
    assert_eq!(values(&bed.records().await[&key("web.example.org", "A")]), ["192.0.2.10"], "{log}");
}

/// Hosted-zone discovery: `--aws-zone-type` and `--aws-zone-tags` pick the zones written to;
/// without them every zone is managed, split-horizon pairs (a public and a private zone of one
/// name) included, and a sync over all of them is in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_zone_type_and_tag_filters_pick_the_zones() {
    let Some(bed) = Bed::start().await else { return };
    bed.moto.tag_zone(&bed.zone, "team", "dns").await;
    let private = bed.moto.create_zone(ZONE, true).await;
    let net = bed.moto.create_zone("example.net", false).await;
    bed.objects(
        &[service("web", "web.example.org", "192.0.2.10", &[]), service("n", "web.example.net", "192.0.2.11", &[])]
            .concat(),
    );
    // The A record names of each zone, in one boto3 call.
    let zones = [bed.zone.clone(), private.clone(), net.clone()];
    let a_names = || async {
        let v = bed
            .moto
            .boto(
                "out = {}\nfor z in ARGS:\n    rr = r53.list_resource_record_sets(HostedZoneId=z)['ResourceRecordSets']\n    out[z] = sorted(r['Name'] for r in rr if r['Type'] == 'A')\nprint(json.dumps(out))",
                json!(zones),
            )
            .await;
        let of = |z: &str| -> Vec<String> {
            v[z].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect()
        };
        (of(&zones[0]), of(&zones[1]), of(&zones[2]))
    };
    let log = bed.exodns(&bed.env(), &["--aws-zone-type=public", "--aws-zone-tags=team=dns"]);
    let (public, in_private, in_net) = a_names().await;
    assert_eq!(public, ["web.example.org."], "{log}");
    assert!(in_private.is_empty(), "the private zone is filtered out:\n{log}");
    assert!(in_net.is_empty(), "the untagged zone is filtered out:\n{log}");

    let log = bed.exodns(&bed.env(), &["--aws-zone-type=private"]);
    let (_, in_private, in_net) = a_names().await;
    assert_eq!(in_private, ["web.example.org."], "{log}");
    assert!(in_net.is_empty(), "{log}");

    let log = bed.exodns(&bed.env(), &[]);
    let (public, in_private, in_net) = a_names().await;
    assert_eq!(in_net, ["web.example.net."], "{log}");
    assert_eq!((public, in_private), (vec!["web.example.org.".to_owned()], vec!["web.example.org.".to_owned()]));
    let before = bed.writes();
    let log = bed.exodns(&bed.env(), &[]);
    assert_eq!(bed.writes(), before, "split-horizon zones are in step:\n{log}");
}

/// `--zone-id-filter` (upstream's general flag, as a flag and as its env var): only the zones
/// named by id are written, whether the id is given bare or as `/hostedzone/<id>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_zone_id_filter_limits_the_zones() {
    let Some(bed) = Bed::start().await else { return };
    let net = bed.moto.create_zone("example.net", false).await;
    bed.objects(
        &[service("web", "web.example.org", "192.0.2.10", &[]), service("n", "web.example.net", "192.0.2.11", &[])]
            .concat(),
    );
    let moto = &bed.moto;
    let a_names = |zone: String| async move {
        let v = moto
            .boto(
                "rr = r53.list_resource_record_sets(HostedZoneId=ARGS)['ResourceRecordSets']\nprint(json.dumps(sorted(r['Name'] for r in rr if r['Type'] == 'A')))",
                json!(zone),
            )
            .await;
        v.as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let log = bed.exodns(&bed.env(), &[&format!("--zone-id-filter=/hostedzone/{net}")]);
    assert_eq!(a_names(net.clone()).await, ["web.example.net."], "{log}");
    assert!(a_names(bed.zone.clone()).await.is_empty(), "the zone outside the filter is left alone:\n{log}");

    let mut env = bed.env();
    env.push(("EXTERNAL_DNS_ZONE_ID_FILTER".into(), bed.zone.clone()));
    let log = bed.exodns(&env, &[]);
    assert_eq!(a_names(bed.zone.clone()).await, ["web.example.org."], "{log}");
}

/// Errors name the call and the cause, never a secret: Route 53 unreachable, then a web
/// identity token file that is missing, at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_secrets_stay_out_of_logs_and_errors() {
    let Some(bed) = Bed::start().await else { return };
    bed.objects(&service("web", "web.example.org", "192.0.2.10", &[]));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let env: Vec<(String, String)> = bed
        .env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL_ROUTE_53")
        .chain([
            ("AWS_ENDPOINT_URL_ROUTE_53".to_owned(), closed),
            ("AWS_SESSION_TOKEN".to_owned(), format!("{TEST_SECRET_KEY}-session")),
        ])
        .collect();
    let (ok, log) = bed.run(&env, &["--aws-api-retries=2"]);
    assert!(!ok, "--once fails when Route 53 cannot be reached:\n{log}");
    assert!(log.contains("ListHostedZones") && log.contains("Connection refused"), "{log}");

    let env: Vec<(String, String)> = bed
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .chain([
            ("AWS_ROLE_ARN".to_owned(), "arn:aws:iam::123456789012:role/exodns".to_owned()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(), "/nonexistent/exodns-token".to_owned()),
        ])
        .collect();
    let (ok, log) = bed.run(&env, &[]);
    assert!(!ok, "{log}");
    assert!(log.contains("cannot read the web identity token file /nonexistent/exodns-token"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_credentials_from_a_profile_file() {
    let Some(bed) = Bed::start().await else { return };
    bed.objects(&service("web", "web.example.org", "192.0.2.10", &[]));
    let creds = bed.dir.path().join("credentials");
    std::fs::write(&creds, format!("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n[team]\naws_access_key_id = AKIDTEAMPROFILE\naws_secret_access_key = {TEST_SECRET_KEY}\n")).unwrap();
    let env: Vec<(String, String)> = bed
        .env()
        .into_iter()
        .filter(|(k, _)| {
            !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET") && k != "AWS_SHARED_CREDENTIALS_FILE"
        })
        .chain([("AWS_SHARED_CREDENTIALS_FILE".to_owned(), creds.display().to_string())])
        .collect();
    let log = bed.exodns(&env, &["--aws-profile=team"]);
    assert!(log.contains("credentials=profile team"), "{log}");
    assert_eq!(bed.rules.access_keys(), ["AKIDTEAMPROFILE"], "every request signed with the profile's key");
    assert!(bed.records().await.contains_key(&key("web.example.org", "A")), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_credentials_by_web_identity_and_assume_role_through_sts() {
    let Some(bed) = Bed::start().await else { return };
    bed.objects(&service("web", "web.example.org", "192.0.2.10", &[]));
    let token = bed.dir.path().join("token");
    std::fs::write(&token, "eyJ-first-token\n").unwrap();
    let env: Vec<(String, String)> = bed
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .chain([
            ("AWS_ROLE_ARN".to_owned(), "arn:aws:iam::123456789012:role/exodns".to_owned()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(), token.display().to_string()),
        ])
        .collect();
    let log = bed.exodns(&env, &[]);
    let sts = bed.rules.sts_calls();
    assert_eq!(sts.len(), 1, "{sts:?}\n{log}");
    assert_eq!(sts[0].get("Action").map(String::as_str), Some("AssumeRoleWithWebIdentity"));
    assert_eq!(sts[0].get("WebIdentityToken").map(String::as_str), Some("eyJ-first-token"));
    let keys = bed.rules.access_keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("ASIA"), "Route 53 is called with the keys STS issued: {keys:?}");
    assert!(bed.records().await.contains_key(&key("web.example.org", "A")), "{log}");

    // --aws-assume-role on top, with an external id (in moto's one account: moto keeps each
    // account's zones apart, by the account of the role).
    bed.objects(&service("web", "web.example.org", "192.0.2.11", &[]));
    let log = bed.exodns(
        &env,
        &["--aws-assume-role=arn:aws:iam::123456789012:role/dns", "--aws-assume-role-external-id=ext-42"],
    );
    let sts = bed.rules.sts_calls();
    let last = sts.last().unwrap();
    assert_eq!(last.get("Action").map(String::as_str), Some("AssumeRole"), "{sts:?}\n{log}");
    assert_eq!(last.get("ExternalId").map(String::as_str), Some("ext-42"));
    assert_eq!(last.get("RoleArn").map(String::as_str), Some("arn:aws:iam::123456789012:role/dns"));
    assert!(!log.contains("ext-42"), "the external id is not logged:\n{log}");
    assert_eq!(values(&bed.records().await[&key("web.example.org", "A")]), ["192.0.2.11"]);
}

/// The token file is read again at each refresh (the kubelet rotates it): a cache whose
/// refresh margin is longer than the credentials live refreshes at every use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_web_identity_token_file_is_read_again_on_refresh() {
    use exodns_aws::creds::{Chain, CredentialsCache, Endpoints, Source};
    let Some(bed) = Bed::start().await else { return };
    let token = bed.dir.path().join("token");
    let chain = Chain {
        source: Source::WebIdentity {
            role_arn: "arn:aws:iam::123456789012:role/exodns".into(),
            token_file: token.clone(),
            session_name: "it".into(),
            label: "web identity".into(),
        },
        region: Some("us-east-1".into()),
    };
    let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), false).unwrap();
    let http = exodns_http::client_builder(tls).build().unwrap();
    let endpoints = Endpoints { sts: Some(bed.rules.url()) };
    let cache = CredentialsCache::with_refresh(chain, endpoints, http, Duration::from_secs(24 * 3600));
    let e = cache.get().await.unwrap_err().to_string();
    assert!(e.contains(&token.display().to_string()), "a missing token file is named: {e}");
    std::fs::write(&token, "token-one").unwrap();
    let first = cache.get().await.unwrap();
    std::fs::write(&token, "token-two").unwrap();
    let second = cache.get().await.unwrap();
    let tokens: Vec<String> = bed.rules.sts_calls().iter().filter_map(|c| c.get("WebIdentityToken").cloned()).collect();
    assert_eq!(tokens, ["token-one", "token-two"]);
    assert_ne!(first.access_key_id, second.access_key_id, "fresh credentials at each refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_credentials_from_instance_metadata_v2() {
    let Some(bed) = Bed::start().await else { return };
    bed.objects(&service("web", "web.example.org", "192.0.2.10", &[]));
    // moto serves the IMDS paths; exodns is pointed at it (never at a link-local address).
    let env: Vec<(String, String)> = bed
        .env()
        .into_iter()
        .filter(|(k, _)| {
            !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET") && k != "AWS_EC2_METADATA_DISABLED"
        })
        .chain([("AWS_EC2_METADATA_SERVICE_ENDPOINT".to_owned(), bed.moto.url().to_owned())])
        .collect();
    let log = bed.exodns(&env, &[]);
    assert!(log.contains("instance metadata"), "{log}");
    assert_eq!(bed.moto.requests("PUT /latest/api/token"), 1, "IMDSv2: a session token first");
    assert_eq!(bed.rules.access_keys(), ["test-key"], "moto's instance role key");
    assert!(bed.records().await.contains_key(&key("web.example.org", "A")), "{log}");
}

/// Writes the manifests of the hand-over tests into `dir`.
pub(crate) fn handover_objects(kube: &exodns_testbed::kube::KubeApiserver) {
    let svc = |name: &str, host: &str, annotations: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    external-dns.kubernetes.io/hostname: {host}\n{annotations}spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  ports: [{{port: 80}}]\n"
        )
    };
    let status = |name: &str, ingress: Value| {
        kube.patch_status(
            "default",
            "service",
            name,
            &json!({"status": {"loadBalancer": {"ingress": [ingress]}}}).to_string(),
        )
        .unwrap()
    };
    kube.apply_yaml(&svc("web", "web.example.org", "    external-dns.kubernetes.io/ttl: \"120\"\n")).unwrap();
    kube.apply_yaml(&svc("app", "app.example.org", "")).unwrap();
    kube.apply_yaml(&svc("lb", "lb.example.org", "")).unwrap();
    kube.apply_yaml(&svc(
        "blue",
        "w.example.org",
        "    external-dns.kubernetes.io/set-identifier: blue\n    external-dns.kubernetes.io/aws-weight: \"10\"\n",
    ))
    .unwrap();
    kube.apply_yaml(&svc(
        "green",
        "w.example.org",
        "    external-dns.kubernetes.io/set-identifier: green\n    external-dns.kubernetes.io/aws-weight: \"90\"\n",
    ))
    .unwrap();
    status("web", json!({"ip": "203.0.113.10"}));
    status("app", json!({"hostname": "app-lb.example.net"}));
    status("lb", json!({"hostname": "k8s-lb-123.us-east-1.elb.amazonaws.com"}));
    status("blue", json!({"ip": "203.0.113.21"}));
    status("green", json!({"ip": "203.0.113.22"}));
}

fn run_tool(bin: &Path, bed: &Bed, kube: &exodns_testbed::kube::KubeApiserver, extra: &[&str]) -> String {
    run_tool_with(bin, bed, kube, &["--registry=txt"], extra)
}

/// [`run_tool`] with other registry flags.
pub(crate) fn run_tool_with(
    bin: &Path,
    bed: &Bed,
    kube: &exodns_testbed::kube::KubeApiserver,
    registry: &[&str],
    extra: &[&str],
) -> String {
    bed.rules.forget();
    let home = bed.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("RUST_LOG", "info")
        .envs(bed.env())
        .args(["--source=service", "--provider=aws", "--policy=sync", "--domain-filter=example.org"])
        .args(registry)
        .arg(format!("--txt-owner-id={OWNER}"))
        .arg(format!("--kubeconfig={}", kube.kubeconfig_path().display()))
        .args(extra)
        .output()
        .expect("run");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} {extra:?} failed:\n{log}", bin.display());
    assert!(!log.contains(TEST_SECRET_KEY), "the secret key reached the log:\n{log}");
    log
}

/// Upstream ExternalDNS v0.22.0 publishes into moto (same endpoint variables), exodns with the
/// same owner id then plans and writes nothing; and the other way round on a fresh zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_hand_over_with_upstream_both_ways_is_zero_writes() {
    let Some(upstream) = exodns_testbed::kube::peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") else {
        exodns_testbed::skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
        return;
    };
    let Some(bed) = Bed::start().await else { return };
    let Some(kube) = exodns_testbed::kube::KubeApiserver::start_or_skip() else { return };
    handover_objects(&kube);
    let exodns = exodns_bin().unwrap();
    let metrics = || format!("--metrics-address=127.0.0.1:{}", free_port());

    // Upstream first.
    let up = run_tool(&upstream, &bed, &kube, &["--once", "--log-level=debug", &metrics()]);
    let r = bed.records().await;
    assert!(r.contains_key(&key("web.example.org", "A")), "upstream did not publish:\n{up}");
    assert!(r[&key("lb.example.org", "A")]["AliasTarget"].is_object(), "{up}");
    let before = bed.writes();
    let plan = run_tool(&exodns, &bed, &kube, &["plan", "--color=never"]);
    assert!(plan.contains("0 to create, 0 to update, 0 to delete"), "exodns would change upstream's zone:\n{plan}");
    assert!(!plan.contains("not touching"), "exodns sees upstream's records as foreign:\n{plan}");
    let log = run_tool(&exodns, &bed, &kube, &["--once", &metrics()]);
    assert_eq!(bed.writes(), before, "exodns wrote to upstream's zone:\n{log}");
    let r_after = bed.records().await;
    assert_eq!(r, r_after);

    // The other way round: exodns publishes a fresh zone, upstream then writes nothing.
    bed.moto
        .boto(
            "z = ARGS['z']\nfor r in r53.list_resource_record_sets(HostedZoneId=z)['ResourceRecordSets']:\n    if r['Type'] not in ('SOA', 'NS'):\n        r53.change_resource_record_sets(HostedZoneId=z, ChangeBatch={'Changes': [{'Action': 'DELETE', 'ResourceRecordSet': r}]})\nprint('null')",
            json!({"z": bed.zone}),
        )
        .await;
    assert!(bed.records().await.is_empty());
    let log = run_tool(&exodns, &bed, &kube, &["--once", &metrics()]);
    let mine = bed.records().await;
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        r.keys().collect::<Vec<_>>(),
        "exodns publishes what upstream did:\n{log}"
    );
    let before = bed.writes();
    let up = run_tool(&upstream, &bed, &kube, &["--once", "--log-level=debug", &metrics()]);
    assert_eq!(bed.writes(), before, "upstream wrote to exodns's zone:\n{up}");
}
