//! The ExternalDNS webhook protocol against real peers: exodns as client and as server, upstream
//! ExternalDNS v0.22.0 as client and as server, and a real PowerDNS behind.
//!
//! Peers: PowerDNS (`pdns_server`), the exodns binary (built by `cargo test --workspace`, or
//! `EXODNS_BIN`), upstream `external-dns` and kube-apiserver/etcd (`scripts/testbed/setup.sh`).
//! Upstream's `--webhook-server` listens on 127.0.0.1:8888, hard-coded: tests using it hold
//! [`PORT_8888`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exodns_controller::Syncer;
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{TxtConfig, TxtRegistry};
use exodns_core::{Endpoint, RecordType};
use exodns_provider::Provider;
use exodns_testbed::kube::{KubeApiserver, peer_binary};
use exodns_testbed::{Pdns, PdnsOptions, Proc, exodns_bin, free_port, skip_or_fail, wait_until_log};
use exodns_webhook::{ClientConfig, WebhookProvider};

use crate::common::{lb_service, lb_status, metric_sum, patch_status};

const ZONE: &str = "example.org";
const WEBHOOK: &str = "application/external.dns.webhook+json;version=1";

/// Serialises the tests that run upstream's `--webhook-server` (fixed port 8888).
static PORT_8888: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- peers ------------------------------------------------------------------------------------

fn upstream_bin() -> Option<PathBuf> {
    let bin = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN");
    if bin.is_none() {
        skip_or_fail("upstream external-dns v0.22.0 is not built (scripts/testbed/setup.sh)");
    }
    bin
}

async fn pdns_with_zone() -> Option<Pdns> {
    let pdns = Pdns::start_or_skip(PdnsOptions::default())?;
    pdns.create_zone(ZONE).await.expect("create zone");
    Some(pdns)
}

/// `bin ARGS` with its output in a log; stopped on drop with SIGTERM, then SIGKILL after 3 s
/// (upstream's webhook server ignores SIGTERM).
fn spawn(name: &str, bin: &Path, args: &[String]) -> Proc {
    Proc::spawn(name, Command::new(bin).args(args).env_remove("RUST_LOG")).grace(Duration::from_secs(3))
}

// ---- raw HTTP ---------------------------------------------------------------------------------

#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn parse_raw(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    Raw { status, headers, body: body.to_owned() }
}

/// Sends `request` (which should say `Connection: close`) and reads the answer to the end.
fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer (413) and close before the whole body is written.
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_raw(&buf)
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: it\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn get(addr: SocketAddr, path: &str) -> Raw {
    raw(addr, &request("GET", path, &[("Accept", WEBHOOK)], b""))
}

fn post(addr: SocketAddr, path: &str, body: &str) -> Raw {
    raw(addr, &request("POST", path, &[("Content-Type", WEBHOOK)], body.as_bytes()))
}

/// A counter of a Prometheus text page: the sum of the lines of `name` holding every `labels`.
fn metric(page: &str, name: &str, labels: &[&str]) -> u64 {
    metric_sum(page, name, labels) as u64
}

fn answers_200(addr: SocketAddr, path: &str) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() && get(addr, path).status == 200
}

// ---- the exodns webhook server ----------------------------------------------------------------

struct ExodnsServer {
    proc: Proc,
    addr: SocketAddr,
    metrics: SocketAddr,
}

impl ExodnsServer {
    fn start(bin: &Path, pdns: &Pdns, extra: &[&str]) -> ExodnsServer {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut args: Vec<String> = vec![
            "webhook".into(),
            "--provider=pdns".into(),
            format!("--pdns-server={}", pdns.api_url()),
            format!("--pdns-api-key={}", pdns.api_key()),
            format!("--webhook-server-address={addr}"),
            format!("--metrics-address={metrics}"),
            "--log-level=debug".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let proc = spawn("exodns-webhook", bin, &args);
        let srv = ExodnsServer { proc, addr, metrics };
        wait_until_log("exodns webhook", Duration::from_secs(20), || answers_200(addr, "/"), || srv.proc.log());
        srv
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn metrics_page(&self) -> String {
        raw(self.metrics, &request("GET", "/metrics", &[], b"")).body
    }

    /// `POST /records` answered so far.
    fn writes(&self) -> u64 {
        metric(&self.metrics_page(), "exodns_webhook_requests_total", &["route=\"/records\"", "method=\"POST\""])
    }
}

fn client_config(url: &str) -> ClientConfig {
    let mut c = ClientConfig::parse(url).unwrap();
    c.startup_wait = Duration::from_secs(20);
    c
}

fn desired() -> Vec<Endpoint> {
    let ep = |name: &str, rt: RecordType, t: &str| {
        Endpoint::parse(name, rt, &[t])
            .unwrap()
            .with_label("resource", format!("service/default/{}", name.split('.').next().unwrap()))
    };
    vec![
        ep("lib-a.example.org", RecordType::A, "192.0.2.20"),
        ep("lib-aaaa.example.org", RecordType::AAAA, "2001:db8::20"),
        ep("lib-cname.example.org", RecordType::CNAME, "lb.example.net"),
        ep("lib-other.example.com", RecordType::A, "192.0.2.21"), // outside every zone: filtered out
    ]
}

fn syncer(client: Arc<WebhookProvider>, owner: &str) -> Syncer {
    let registry = Arc::new(TxtRegistry::new(TxtConfig { owner_id: owner.into(), ..TxtConfig::default() }).unwrap());
    Syncer::new(client, registry, PlanOptions { owner_id: owner.into(), ..PlanOptions::default() })
}

// ---- Must hold: exodns client ↔ exodns server ↔ PowerDNS --------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exodns_client_and_server_full_then_noop_sync_into_pdns() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let srv = ExodnsServer::start(&bin, &pdns, &[]);

    // The library client, through the controller's Syncer.
    let client = Arc::new(WebhookProvider::connect(client_config(&srv.url())).await.unwrap());
    let s = syncer(client.clone(), "lib");
    let first = s.sync_once(desired()).await.unwrap();
    assert!(first.applied && first.rejected.is_empty(), "{first:?}");
    assert_eq!(first.planned.create.len(), 3, "example.com is outside the negotiated filter: {:?}", first.planned);
    assert_eq!(pdns.dig("lib-a.example.org", "A").await.unwrap(), ["192.0.2.20"]);
    assert_eq!(pdns.dig("lib-aaaa.example.org", "AAAA").await.unwrap(), ["2001:db8::20"]);
    assert_eq!(pdns.dig("lib-cname.example.org", "CNAME").await.unwrap(), ["lb.example.net."]);
    let txt = pdns.dig("a-lib-a.example.org", "TXT").await.unwrap();
    assert_eq!(txt, ["\"heritage=external-dns,external-dns/owner=lib,external-dns/resource=service/default/lib-a\""]);
    assert_eq!(srv.writes(), 1);

    let second = s.sync_once(desired()).await.unwrap();
    assert!(!second.applied && second.outgoing.is_empty(), "no-op sync planned {:?}", second.planned);
    assert_eq!(client.stats().apply, 1);
    assert_eq!(srv.writes(), 1, "the no-op sync wrote nothing");

    // The exodns binary as client (--provider=webhook), twice.
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/services.yaml");
    let run = || {
        let args: Vec<String> = vec![
            "--once".into(),
            "--provider=webhook".into(),
            format!("--webhook-provider-url={}", srv.url()),
            "--source=manifest".into(),
            format!("--manifest-path={}", manifests.display()),
            "--policy=sync".into(),
            "--txt-owner-id=bin".into(),
            "--metrics-address=127.0.0.1:0".into(),
        ];
        let mut p = spawn("exodns-client", &bin, &args);
        let status = p.wait(Duration::from_secs(60));
        assert!(status.success(), "exodns --provider=webhook failed:\n{}", p.log());
    };
    run();
    assert_eq!(pdns.dig("web.example.org", "A").await.unwrap(), ["203.0.113.10"]);
    assert_eq!(srv.writes(), 2);
    run();
    assert_eq!(srv.writes(), 2, "the second run of the binary wrote nothing");
    assert!(srv.proc.log().contains("changes applied"));
}

// ---- Must hold: upstream as client --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_client_publishes_through_exodns_server_into_pdns() {
    let Some(bin) = exodns_bin() else { return };
    let Some(upstream) = upstream_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    kube.apply_yaml(&[lb_service("default", "web"), lb_service("default", "api")].join("---\n")).unwrap();
    patch_status(&kube, "default", "service", "web", lb_status("192.0.2.10"));
    let lb_host = serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb-1.example.net"}]}}});
    patch_status(&kube, "default", "service", "api", lb_host);
    let srv = ExodnsServer::start(&bin, &pdns, &[]);

    let run = |n: u32| -> String {
        let args: Vec<String> = vec![
            "--provider=webhook".into(),
            format!("--webhook-provider-url={}", srv.url()),
            "--source=service".into(),
            "--registry=txt".into(),
            "--txt-owner-id=upstream".into(),
            "--policy=sync".into(),
            "--once".into(),
            format!("--kubeconfig={}", kube.kubeconfig_path().display()),
            format!("--metrics-address=127.0.0.1:{}", free_port()),
            "--log-level=debug".into(),
        ];
        let mut p = spawn(&format!("upstream-client-{n}"), &upstream, &args);
        let status = p.wait(Duration::from_secs(120));
        let log = p.log();
        assert!(
            status.success(),
            "upstream external-dns run {n} failed:\n{log}\n--- exodns webhook log:\n{}",
            srv.proc.log()
        );
        log
    };

    let first = run(1);
    assert_eq!(pdns.dig("web.example.org", "A").await.unwrap(), ["192.0.2.10"], "{first}");
    assert_eq!(pdns.dig("api.example.org", "CNAME").await.unwrap(), ["lb-1.example.net."]);
    assert_eq!(
        pdns.dig("a-web.example.org", "TXT").await.unwrap(),
        ["\"heritage=external-dns,external-dns/owner=upstream,external-dns/resource=service/default/web\""]
    );
    assert_eq!(
        pdns.dig("cname-api.example.org", "TXT").await.unwrap(),
        ["\"heritage=external-dns,external-dns/owner=upstream,external-dns/resource=service/default/api\""]
    );
    let writes = srv.writes();
    assert_eq!(writes, 1, "one POST /records for the first run");

    let second = run(2);
    assert_eq!(srv.writes(), writes, "the second run made no changes:\n{second}");
    assert!(second.contains("All records are already up to date"), "{second}");
    let page = srv.metrics_page();
    assert_eq!(metric(&page, "exodns_webhook_requests_total", &["code=\"5"]), 0, "no 5xx:\n{page}");
    assert_eq!(metric(&page, "exodns_webhook_requests_total", &["code=\"4"]), 0, "no 4xx:\n{page}");
}

// ---- Must hold: upstream as server --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exodns_client_drives_upstream_webhook_server_with_pdns() {
    let Some(upstream) = upstream_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let _port = PORT_8888.lock().await;
    let addr: SocketAddr = "127.0.0.1:8888".parse().unwrap();
    wait_until_log("port 8888 to be free", Duration::from_secs(30), || TcpStream::connect(addr).is_err(), String::new);
    let args: Vec<String> = vec![
        "--webhook-server".into(),
        "--provider=pdns".into(),
        format!("--pdns-server={}", pdns.api_url()),
        format!("--pdns-api-key={}", pdns.api_key()),
        "--policy=sync".into(),
        "--source=fake".into(),
        format!("--metrics-address=127.0.0.1:{}", free_port()),
        "--log-level=debug".into(),
    ];
    let mut up = spawn("upstream-webhook-server", &upstream, &args);
    wait_until_log("upstream --webhook-server", Duration::from_secs(30), || answers_200(addr, "/"), || up.log());

    let client = Arc::new(WebhookProvider::connect(client_config("http://127.0.0.1:8888")).await.unwrap());
    assert!(client.domain_filter().matches("x.example.org") && !client.domain_filter().matches("x.example.com"));
    let s = syncer(client.clone(), "exo");
    let first = s.sync_once(desired()).await.unwrap();
    assert!(first.applied, "{first:?}");
    assert_eq!(first.planned.create.len(), 3);
    assert_eq!(pdns.dig("lib-a.example.org", "A").await.unwrap(), ["192.0.2.20"], "{}", up.log());
    assert_eq!(pdns.dig("lib-cname.example.org", "CNAME").await.unwrap(), ["lb.example.net."]);
    assert_eq!(
        pdns.dig("aaaa-lib-aaaa.example.org", "TXT").await.unwrap(),
        ["\"heritage=external-dns,external-dns/owner=exo,external-dns/resource=service/default/lib-aaaa\""]
    );
    let second = s.sync_once(desired()).await.unwrap();
    assert!(!second.applied && second.outgoing.is_empty(), "no-op sync planned {:?}", second.planned);
    let st = client.stats();
    assert_eq!((st.apply, st.errors, st.skipped_records), (1, 0, 0), "{st:?}");
    // Upstream's server ignores SIGTERM (it logs and keeps serving); exodns's does not.
    assert!(!up.terminate(Duration::from_secs(2)), "upstream stopped on SIGTERM after all?");
    drop(up); // SIGKILL
    wait_until_log("port 8888 to be free", Duration::from_secs(10), || TcpStream::connect(addr).is_err(), String::new);
}

// ---- Must hold: bad clients get clear answers; the server goes on --------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_answers_and_the_server_keeps_serving() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let srv = ExodnsServer::start(
        &bin,
        &pdns,
        &["--webhook-provider-max-body-size=64Ki", "--webhook-provider-read-header-timeout=1s"],
    );
    let addr = srv.addr;
    let still_serving = || {
        let r = get(addr, "/records");
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body.contains("\"recordType\":\"NS\""), "{}", r.body);
    };

    // Malformed body.
    let r = post(addr, "/records", r#"{"create":[{"dnsName":"a.example.org","targets":"192.0.2.1"}]}"#);
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with("bad Changes body: create[0].targets: invalid type"), "{}", r.body);
    let r = post(addr, "/records", "{\"create\": [");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not valid JSON"), "{}", r.body);
    still_serving();

    // Oversized body.
    let big = format!(r#"{{"create":[],"x":"{}"}}"#, "y".repeat(100 * 1024));
    let r = post(addr, "/records", &big);
    assert_eq!(r.status, 413);
    assert!(r.body.contains("larger than 65536 bytes (--webhook-provider-max-body-size)"), "{}", r.body);
    still_serving();

    // Unknown path, wrong method.
    let r = get(addr, "/applychanges");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("no such path"), "{}", r.body);
    let r = raw(addr, &request("DELETE", "/records", &[], b""));
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
    still_serving();

    // Wrong media types.
    let r =
        raw(addr, &request("POST", "/records", &[("Content-Type", "application/x-www-form-urlencoded")], b"create=x"));
    assert_eq!(r.status, 415);
    assert!(r.body.contains("application/x-www-form-urlencoded"), "{}", r.body);
    let r = raw(addr, &request("GET", "/records", &[("Accept", "application/xml")], b""));
    assert_eq!(r.status, 406);
    still_serving();

    // Slow client: headers trickled in, never finished.
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"POST /records HTTP/1.1\r\nHost: it\r\n").unwrap();
    for i in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        if slow.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).is_err() {
            break;
        }
        if i == 1 {
            still_serving(); // others are served meanwhile
        }
    }
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let r = parse_raw(&buf);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(r.body.contains("did not arrive within 1s"), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(5));
    still_serving();

    // And a real change still goes through to PowerDNS.
    let r = post(
        addr,
        "/records",
        r#"{"create":[{"dnsName":"ok.example.org","targets":["192.0.2.99"],"recordType":"A"}]}"#,
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(pdns.dig("ok.example.org", "A").await.unwrap(), ["192.0.2.99"]);
    assert_eq!(metric(&srv.metrics_page(), "exodns_webhook_header_timeouts_total", &[]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exodns_server_stops_on_sigterm() {
    let Some(bin) = exodns_bin() else { return };
    let Some(pdns) = pdns_with_zone().await else { return };
    let mut srv = ExodnsServer::start(&bin, &pdns, &[]);
    assert!(srv.proc.terminate(Duration::from_secs(5)), "exodns webhook did not stop on SIGTERM:\n{}", srv.proc.log());
    assert!(srv.proc.log().contains("webhook server stopped"));
    assert!(TcpStream::connect(srv.addr).is_err());
}

/// The controller and `exodns webhook` as its sidecar share the pod's network namespace. With
/// their default health and metrics addresses (`:7979` and `:8080`) and the default webhook
/// address (`127.0.0.1:8888`), both start and both are ready. The test runs itself again inside
/// a fresh network namespace (`unshare --net`), where those ports are surely free: a pod.
#[test]
fn controller_and_webhook_sidecar_with_their_defaults_share_a_network_namespace() {
    const INSIDE: &str = "EXODNS_IT_IN_NETNS";
    if std::env::var_os(INSIDE).is_none() {
        if !exodns_testbed::have_program("unshare") || !exodns_testbed::have_program("ip") {
            skip_or_fail("unshare (util-linux) and ip (iproute2) are needed for a network namespace");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("unshare")
            .args(["--net", "--fork", "--", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh"])
            .arg(exe)
            .args([
                "--exact",
                "webhook::controller_and_webhook_sidecar_with_their_defaults_share_a_network_namespace",
                "--nocapture",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("unshare");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() && text.contains("unshare failed") {
            skip_or_fail(&format!("no network namespace for this test: {text}"));
            return;
        }
        assert!(out.status.success(), "inside the network namespace:\n{text}");
        assert!(text.contains("1 passed"), "{text}");
        return;
    }
    let Some(bin) = exodns_bin() else { return };
    let Some(kube) = KubeApiserver::start_or_skip() else { return };
    crate::common::publish_lb(&kube, "default", "web", "192.0.2.10");
    let sidecar = spawn(
        "exodns-webhook",
        &bin,
        &["webhook".into(), "--provider=inmemory".into(), "--inmemory-zone=example.org".into()],
    );
    let controller = spawn(
        "exodns",
        &bin,
        &[
            "--source=service".into(),
            "--provider=webhook".into(),
            "--policy=sync".into(),
            "--txt-owner-id=pod".into(),
            format!("--kubeconfig={}", kube.kubeconfig_path().display()),
        ],
    );
    let logs = || format!("controller:\n{}\nsidecar:\n{}", controller.log(), sidecar.log());
    let ready = |port: u16| answers_200(SocketAddr::from(([127, 0, 0, 1], port)), "/readyz");
    wait_until_log("both ready on :7979 and :8080", Duration::from_secs(30), || ready(7979) && ready(8080), logs);
    let records = get(SocketAddr::from(([127, 0, 0, 1], 8888)), "/records");
    assert!(records.body.contains("web.example.org"), "{records:?}\n{}", logs());
}
