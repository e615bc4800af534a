//! The Google and Azure providers at scale: N records (each with its ownership TXT) into an empty
//! zone of the fakes (`exodns_testbed::fake::{google, azure}`, without Prism: it is exodns that is
//! measured), then an idle sync, through the given exodns binary (`--once`). Prints, per provider,
//! the medians of RUNS runs: wall time, requests by kind, the largest write, as markdown.
//!
//! Cloudflare and Hetzner: see `cf_hz.rs`.
//!
//! cloud-bench EXODNS_BIN [N] [RUNS] [PROVIDERS]     (bench/clouds/run.sh builds both in release
//! mode; PROVIDERS: a comma-separated subset of google,azure,cloudflare,hetzner, all by default)

mod cf_hz;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exodns_testbed::fake::azure::{AzureFake, Identities};
use exodns_testbed::fake::google::{GoogleFake, service_account_key};

fn manifest(dir: &Path, zone: &str, n: usize) {
    let mut yaml = String::from(
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata: {name: bench, namespace: default}\nspec:\n  endpoints:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - {{dnsName: h{i}.{zone}, recordType: A, targets: [\"10.{}.{}.{}\"]}}\n",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256
        ));
    }
    std::fs::write(dir.join("desired.yaml"), yaml).unwrap();
}

fn run(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("run exodns");
    let took = started.elapsed();
    assert!(out.status.success(), "exodns failed:\n{}", String::from_utf8_lossy(&out.stderr));
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[derive(Default)]
struct Runs {
    rows: BTreeMap<&'static str, Vec<f64>>,
}

impl Runs {
    fn add(&mut self, what: &'static str, v: f64) {
        self.rows.entry(what).or_default().push(v);
    }

    fn print(&self, title: &str) {
        println!("\n{title}\n\n| measurement | median |\n|---|---:|");
        for (k, v) in &self.rows {
            let m = median(v.clone());
            if k.ends_with("(s)") { println!("| {k} | {m:.2} |") } else { println!("| {k} | {m:.0} |") }
        }
    }
}

fn base(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--once",
        "--source=manifest",
        "--policy=sync",
        "--txt-owner-id=bench",
        "--log-level=warning",
        "--metrics-address=127.0.0.1:0",
    ])
    .arg(format!("--manifest-path={}", dir.join("desired.yaml").display()))
    .env_remove("RUST_LOG");
    cmd
}

fn google(bin: &Path, n: usize, interval: &str, runs: &mut Runs) {
    let dir = tempfile::tempdir().unwrap();
    let fake = GoogleFake::start("bench");
    fake.with(|s| {
        s.page_size = 1000;
        s.add_zone("bench-zone", "bench.test", "public");
    });
    let (key, _) = service_account_key(dir.path(), &fake, "bench@bench.iam.gserviceaccount.com", "k1", Some("bench"));
    manifest(dir.path(), "bench.test", n);
    let cmd = || {
        let mut c = base(bin, dir.path());
        c.args([
            "--provider=google",
            &format!("--google-api-endpoint={}", fake.url()),
            &format!("--google-batch-change-interval={interval}"),
        ])
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key);
        c
    };
    let cold = run(&mut cmd());
    let reqs = fake.server().requests();
    let posts: Vec<_> = reqs.iter().filter(|r| r.method == "POST" && r.path.ends_with("/changes")).collect();
    let largest = posts.iter().map(|r| {
        let j = r.json();
        j["additions"].as_array().map_or(0, Vec::len) + j["deletions"].as_array().map_or(0, Vec::len)
    });
    runs.add("cold sync, wall (s)", cold.as_secs_f64());
    runs.add("cold sync, changes.create calls", posts.len() as f64);
    runs.add("cold sync, largest change (additions + deletions)", largest.max().unwrap_or(0) as f64);
    runs.add("cold sync, requests in all (token, lists, changes)", reqs.len() as f64);
    assert_eq!(fake.rrsets("bench-zone").len(), 2 * n + 2, "every record and TXT written");
    fake.server().clear_requests();
    let idle = run(&mut cmd());
    runs.add("idle sync, wall (s)", idle.as_secs_f64());
    runs.add("idle sync, requests", fake.server().requests().len() as f64);
}

fn azure(bin: &Path, n: usize, runs: &mut Runs) {
    let dir = tempfile::tempdir().unwrap();
    let fake = AzureFake::start("sub", "rg");
    fake.with(|s| {
        s.page_size = 100;
        s.add_zone("bench.test", false);
        s.identities = Identities {
            tenant: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            audience: "https://management.core.windows.net/".into(),
            ..Identities::default()
        };
    });
    let cfg = serde_json::json!({"cloud": "AzureStackCloud", "tenantId": "t", "subscriptionId": "sub", "resourceGroup": "rg",
        "aadClientId": "c", "aadClientSecret": "s", "activeDirectoryAuthorityHost": format!("{}/", fake.url()),
        "resourceManagerEndpoint": fake.url(), "resourceManagerAudience": "https://management.core.windows.net/"});
    std::fs::write(dir.path().join("azure.json"), cfg.to_string()).unwrap();
    manifest(dir.path(), "bench.test", n);
    let cmd = || {
        let mut c = base(bin, dir.path());
        c.args(["--provider=azure", &format!("--azure-config-file={}", dir.path().join("azure.json").display())]);
        c
    };
    let cold = run(&mut cmd());
    let reqs = fake.server().requests();
    runs.add("cold sync, wall (s)", cold.as_secs_f64());
    runs.add("cold sync, PUT calls", reqs.iter().filter(|r| r.method == "PUT").count() as f64);
    runs.add("cold sync, requests in all (token, lists, PUTs)", reqs.len() as f64);
    assert_eq!(fake.sets("bench.test").len(), 2 * n + 2, "every record and TXT written");
    fake.server().clear_requests();
    let idle = run(&mut cmd());
    runs.add("idle sync, wall (s)", idle.as_secs_f64());
    runs.add("idle sync, requests", fake.server().requests().len() as f64);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = Path::new(args.get(1).expect("usage: cloud-bench EXODNS_BIN [N] [RUNS] [PROVIDERS]"));
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3);
    let which = args.get(4).map_or("google,azure,cloudflare,hetzner", String::as_str);
    let want = |p: &str| which.split(',').any(|w| w.trim() == p);
    let (mut g1, mut g0, mut az) = (Runs::default(), Runs::default(), Runs::default());
    for _ in 0..rounds {
        if want("google") {
            google(bin, n, "1s", &mut g1);
            google(bin, n, "0s", &mut g0);
        }
        if want("azure") {
            azure(bin, n, &mut az);
        }
    }
    if want("google") {
        g1.print(&format!(
            "Google, {n} records, --google-batch-change-interval=1s (upstream's default), {rounds} runs"
        ));
        g0.print(&format!("Google, {n} records, --google-batch-change-interval=0s, {rounds} runs"));
    }
    if want("azure") {
        az.print(&format!("Azure, {n} records, {rounds} runs"));
    }
    if want("cloudflare") {
        cf_hz::cloudflare(bin, n, rounds);
    }
    if want("hetzner") {
        cf_hz::hetzner_runs(bin, n, rounds);
    }
}
