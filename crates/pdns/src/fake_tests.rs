//! The provider against a scripted HTTP server: the failure paths a real PowerDNS does not
//! produce on demand (5xx, timeouts, unnamed refusals, a zone that cannot be read).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use exodns_core::{Changes, Endpoint, RecordType, Secret, Targets};
use exodns_provider::{Provider, ProviderError, RejectReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{PdnsConfig, PdnsProvider, RequestCounter, RetryPolicy};

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

struct Resp {
    status: u16,
    body: String,
    delay: Duration,
}

fn resp(status: u16, body: &str) -> Resp {
    Resp { status, body: body.to_owned(), delay: Duration::ZERO }
}

type Handler = Arc<dyn Fn(&Req, usize) -> Resp + Send + Sync>;

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, method: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method).count()
    }
}

/// An HTTP/1.1 server on the loopback answering with `handler(request, index of the request)`.
async fn fake(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Req>>> = Arc::default();
    let handler: Handler = Arc::new(handler);
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (seen, handler) = (seen2.clone(), handler.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let head_end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        let mut chunk = [0u8; 65536];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.lines();
                    let mut first = lines.next().unwrap_or_default().split_whitespace();
                    let (method, path) =
                        (first.next().unwrap_or_default().to_owned(), first.next().unwrap_or_default().to_owned());
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| {
                            l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        })
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 65536];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                    buf.drain(..head_end + len);
                    let req = Req { method, path, headers, body };
                    let index = {
                        let mut s = seen.lock().unwrap();
                        s.push(req.clone());
                        s.len() - 1
                    };
                    let r = handler(&req, index);
                    if !r.delay.is_zero() {
                        tokio::time::sleep(r.delay).await;
                    }
                    let out = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                        r.status,
                        r.body.len(),
                        r.body
                    );
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Fake { url, seen }
}

const ZONES: &str = r#"[{"id":"example.org.","name":"example.org.","kind":"Native"},{"id":"other.org.","name":"other.org.","kind":"Native"}]"#;
const ZONE: &str = r#"{"id":"example.org.","name":"example.org.","rrsets":[{"name":"www.example.org.","type":"A","ttl":60,"records":[{"content":"192.0.2.1","disabled":false}]},{"name":"example.org.","type":"SOA","ttl":3600,"records":[{"content":"ns1.example.org. h.example.org. 1 2 3 4 5","disabled":false}]}]}"#;

fn provider(url: &str, tweak: impl FnOnce(&mut PdnsConfig)) -> (PdnsProvider, Arc<RequestCounter>) {
    let mut cfg = PdnsConfig::parse(url, Secret::new("fake-key-123")).unwrap();
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    tweak(&mut cfg);
    let counter = RequestCounter::new();
    (PdnsProvider::new(cfg).unwrap().with_observer(counter.clone()), counter)
}

fn a(name: &str) -> Endpoint {
    Endpoint::parse(name, RecordType::A, &["192.0.2.1"]).unwrap()
}

#[tokio::test]
async fn sends_the_key_and_keeps_the_path_prefix() {
    let f = fake(|r, _| if r.path.ends_with("/zones") { resp(200, ZONES) } else { resp(200, ZONE) }).await;
    let (p, _) = provider(&format!("{}/pdns-proxy/", f.url), |c| c.server_id = "srv1".into());
    let records = p.records().await.unwrap();
    // SOA skipped; other.org answers with example.org's rrsets here, which are not its own: skipped.
    assert_eq!(records.endpoints.len(), 1, "{:?}", records.endpoints);
    let reqs = f.requests();
    assert_eq!(reqs[0].path, "/pdns-proxy/api/v1/servers/srv1/zones");
    assert!(reqs.iter().any(|r| r.path == "/pdns-proxy/api/v1/servers/srv1/zones/example.org."));
    assert!(reqs.iter().all(|r| r.headers.iter().any(|(k, v)| k == "x-api-key" && v == "fake-key-123")));
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let f = fake(|r, i| match (r.path.ends_with("/zones"), i) {
        (true, 0 | 1) => resp(503, "busy"),
        (true, _) => resp(200, ZONES),
        (false, _) => resp(200, ZONE),
    })
    .await;
    let (p, counter) = provider(&f.url, |_| {});
    p.records().await.unwrap();
    let c = counter.snapshot();
    assert_eq!((c.list_zones, c.failed), (3, 2));
}

#[tokio::test]
async fn gives_up_as_transient_after_the_retries() {
    let f = fake(|_, _| resp(500, r#"{"error":"backend down"}"#)).await;
    let (p, _) = provider(&f.url, |_| {});
    let err = p.records().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("backend down"), "{err}");
    assert_eq!(f.count("GET"), 3);
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let f = fake(|_, _| Resp { status: 200, body: ZONES.into(), delay: Duration::from_millis(600) }).await;
    let (p, _) = provider(&f.url, |c| c.timeout = Duration::from_millis(100));
    let err = p.records().await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn unauthorized_is_permanent() {
    let f = fake(|_, _| resp(401, "Unauthorized")).await;
    let (p, _) = provider(&f.url, |_| {});
    let err = p.records().await.unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("fake-key-123"));
    assert_eq!(f.count("GET"), 1, "no retry on 401");
}

#[tokio::test]
async fn an_unreadable_zone_is_reported_and_the_others_read() {
    let f = fake(|r, _| {
        if r.path.ends_with("/zones") {
            resp(200, ZONES)
        } else if r.path.ends_with("other.org.") {
            resp(500, "broken")
        } else {
            resp(200, ZONE)
        }
    })
    .await;
    let (p, _) = provider(&f.url, |_| {});
    let records = p.records().await.unwrap();
    assert_eq!(records.endpoints.len(), 1);
    assert_eq!(records.unreadable_zones.len(), 1);
    assert_eq!(records.unreadable_zones[0].zone, "other.org");
}

/// A refusal that names no rrset: the batch is bisected until the bad rrsets stand alone; every
/// good one is applied.
#[tokio::test]
async fn bisects_a_refusal_that_names_nothing() {
    let applied: Arc<Mutex<Vec<String>>> = Arc::default();
    let applied2 = applied.clone();
    let f = fake(move |r, _| match r.method.as_str() {
        "GET" => resp(200, ZONES),
        _ if r.body.contains("bad") => resp(422, r#"{"error":"something is wrong somewhere"}"#),
        _ => {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let mut a = applied2.lock().unwrap();
            for rr in v["rrsets"].as_array().unwrap() {
                a.push(rr["name"].as_str().unwrap().to_owned());
            }
            resp(204, "")
        }
    })
    .await;
    let (p, counter) = provider(&f.url, |_| {});
    let mut create: Vec<Endpoint> = (0..200).map(|i| a(&format!("ok{i}.example.org"))).collect();
    for i in [3, 77, 150] {
        create.insert(
            i,
            Endpoint::new(
                format!("bad{i}.example.org").parse().unwrap(),
                RecordType::A,
                Targets::new(vec!["x".into()]),
            ),
        );
    }
    let report = p.apply_changes(&Changes { create, ..Changes::default() }).await.unwrap();
    let mut bad: Vec<&str> = report.rejected.iter().map(|r| r.endpoint.dns_name.as_str()).collect();
    bad.sort();
    assert_eq!(bad, vec!["bad150.example.org", "bad3.example.org", "bad77.example.org"]);
    assert!(report.rejected.iter().all(
        |r| matches!(&r.reason, RejectReason::Refused(m) if m.contains("something is wrong") && m.contains("422"))
    ));
    let mut applied = applied.lock().unwrap().clone();
    applied.sort();
    applied.dedup();
    assert_eq!(applied.len(), 200);
    let patches = counter.snapshot().patch_zone;
    assert!(patches <= 40, "bisection took {patches} PATCHes");
}

#[tokio::test]
async fn five_xx_on_patch_aborts_as_transient() {
    let f = fake(|r, _| if r.method == "GET" { resp(200, ZONES) } else { resp(502, "bad gateway") }).await;
    let (p, counter) = provider(&f.url, |_| {});
    let err = p.apply_changes(&Changes { create: vec![a("x.example.org")], ..Changes::default() }).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(counter.snapshot().patch_zone, 3);
}

#[tokio::test]
async fn names_outside_every_zone_are_rejected_without_a_request() {
    let f = fake(|_, _| resp(200, ZONES)).await;
    let (p, counter) = provider(&f.url, |_| {});
    let report = p.apply_changes(&Changes { create: vec![a("x.example.net")], ..Changes::default() }).await.unwrap();
    assert_eq!(report.rejected[0].reason, RejectReason::NoZone);
    assert_eq!(counter.snapshot().patch_zone, 0);
}
