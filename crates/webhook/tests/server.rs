//! The webhook server over real sockets: the protocol, and every way a client can get it wrong.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CREATE_A: &str =
    r#"{"create":[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A","recordTTL":60}]}"#;

#[tokio::test]
async fn negotiation_answers_the_domain_filter_with_the_media_type() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let r = get(srv.addr, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(WEBHOOK));
    assert_eq!(r.body, r#"{"include":["example.org"]}"#);
    // No Accept at all, or */*: fine too.
    assert_eq!(raw(srv.addr, &request("GET", "/", &[], b"")).await.status, 200);
    assert_eq!(raw(srv.addr, &request("GET", "/", &[("Accept", "*/*")], b"")).await.status, 200);
}

#[tokio::test]
async fn records_round_trip_with_both_key_styles() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let r = post(srv.addr, "/records", CREATE_A).await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = get(srv.addr, "/records").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(WEBHOOK));
    assert_eq!(r.body, r#"[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A","recordTTL":60}]"#);
    // Capitalised keys (before upstream v0.17) and Go's nulls.
    let r = post(
        srv.addr,
        "/records",
        r#"{"Create":null,"UpdateOld":null,"UpdateNew":null,"Delete":[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A","recordTTL":60}]}"#,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(get(srv.addr, "/records").await.body, "[]");
    assert_eq!(srv.metrics.requests("/records", "POST"), 2);
}

#[tokio::test]
async fn malformed_bodies_get_400_naming_the_field_and_the_server_goes_on() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let r = post(srv.addr, "/records", r#"{"create":[{"dnsName":"a.example.org","recordTTL":"sixty"}]}"#).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(r.body.contains("create[0].recordTTL"), "{}", r.body);
    let r = post(srv.addr, "/records", "{\"create\":[").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not valid JSON"), "{}", r.body);
    let r = post(srv.addr, "/adjustendpoints", r#"[{"dnsName":"a.example.org"}, "x"]"#).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("[1]"), "{}", r.body);
    let r = post(srv.addr, "/records", "").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("empty"), "{}", r.body);
    assert_eq!(get(srv.addr, "/").await.status, 200);
}

#[tokio::test]
async fn invalid_endpoints_are_left_out_and_counted() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let body = r#"{"create":[{"dnsName":"bad..name","targets":["192.0.2.1"],"recordType":"A"},{"dnsName":"ok.example.org","targets":["192.0.2.2"],"recordType":"A"},{"dnsName":"other.example.com","targets":["192.0.2.3"],"recordType":"A"}]}"#;
    let r = post(srv.addr, "/records", body).await;
    assert_eq!(r.status, 204);
    // One invalid, one outside every zone (refused by the provider).
    assert_eq!(r.header("x-exodns-rejected"), Some("2"));
    assert!(get(srv.addr, "/records").await.body.contains("ok.example.org"));
}

#[tokio::test]
async fn adjustendpoints_passes_unreadable_endpoints_through() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let body = r#"[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A"},{"dnsName":"x.example.org","targets":["q"],"recordType":"WEIRD","labels":null}]"#;
    let r = post(srv.addr, "/adjustendpoints", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(WEBHOOK));
    assert_eq!(
        r.body,
        r#"[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A"},{"dnsName":"x.example.org","targets":["q"],"recordType":"WEIRD"}]"#
    );
    assert_eq!(post(srv.addr, "/adjustendpoints", "null").await.body, "[]");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await; // limit 64 KiB
    let big = format!(r#"{{"create":[],"pad":"{}"}}"#, "x".repeat(100 * 1024));
    // Declared length over the limit: answered before the body is read.
    let r = post(srv.addr, "/records", &big).await;
    assert_eq!(r.status, 413);
    assert!(r.body.contains("65536 bytes"), "{}", r.body);
    assert_eq!(r.header("connection"), Some("close"));
    // Chunked, no length: cut once the limit is crossed.
    let mut req = b"POST /records HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in big.as_bytes().chunks(8192) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(srv.addr, &req).await;
    assert_eq!(r.status, 413, "{r:?}");
    // Just under the limit is fine.
    let fits = format!(r#"{{"create":[],"pad":"{}"}}"#, "x".repeat(60 * 1024));
    assert_eq!(post(srv.addr, "/records", &fits).await.status, 204);
}

/// A simple client (Python's urllib) writes the whole body before it reads a byte: the 413 must
/// still reach it, not a broken pipe. 8 MiB is far more than the socket buffers hold.
#[tokio::test]
async fn a_client_that_writes_its_whole_oversized_body_first_still_reads_the_413() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await; // limit 64 KiB
    for chunked in [false, true] {
        let body = vec![b'x'; 8 * 1024 * 1024];
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        let framing =
            if chunked { "Transfer-Encoding: chunked".to_owned() } else { format!("Content-Length: {}", body.len()) };
        let head = format!("POST /records HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{framing}\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        let wrote = async {
            for chunk in body.chunks(64 * 1024) {
                if chunked {
                    s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                }
                s.write_all(chunk).await?;
                if chunked {
                    s.write_all(b"\r\n").await?;
                }
            }
            if chunked {
                s.write_all(b"0\r\n\r\n").await?;
            }
            Ok::<_, std::io::Error>(())
        };
        tokio::time::timeout(Duration::from_secs(10), wrote)
            .await
            .expect("the server lingers, reading")
            .unwrap_or_else(|e| panic!("chunked={chunked}: writing the body failed: {e}"));
        let mut buf = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
            .await
            .expect("answered in time")
            .unwrap_or_else(|e| panic!("chunked={chunked}: reading the answer failed: {e}"));
        let r = parse_raw(&buf);
        assert_eq!(r.status, 413, "chunked={chunked}: {r:?}");
        assert!(r.body.contains("65536 bytes"), "{}", r.body);
    }
    // The server goes on.
    assert_eq!(get(srv.addr, "/").await.status, 200);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let r = get(srv.addr, "/applychanges").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("no such path: GET /applychanges"), "{}", r.body);
    let r = raw(srv.addr, &request("PUT", "/records", &[], b"{}")).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    assert!(r.body.contains("PUT is not allowed on /records"), "{}", r.body);
    assert_eq!(raw(srv.addr, &request("POST", "/", &[], b"")).await.status, 405);
    assert_eq!(get(srv.addr, "/adjustendpoints").await.status, 405);
    assert_eq!(get(srv.addr, "/").await.status, 200);
}

#[tokio::test]
async fn wrong_media_types() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let r = raw(srv.addr, &request("POST", "/records", &[("Content-Type", "text/plain")], CREATE_A.as_bytes())).await;
    assert_eq!(r.status, 415);
    assert!(r.body.contains("\"text/plain\" is not supported"), "{}", r.body);
    let v2 = "application/external.dns.webhook+json;version=2";
    assert_eq!(
        raw(srv.addr, &request("POST", "/records", &[("Content-Type", v2)], CREATE_A.as_bytes())).await.status,
        415
    );
    let r = raw(srv.addr, &request("GET", "/records", &[("Accept", "text/html")], b"")).await;
    assert_eq!(r.status, 406);
    assert!(r.body.contains("text/html"), "{}", r.body);
    // Plain JSON, and no Content-Type at all, are read.
    let json = raw(
        srv.addr,
        &request("POST", "/records", &[("Content-Type", "application/json; charset=utf-8")], CREATE_A.as_bytes()),
    )
    .await;
    assert_eq!(json.status, 204);
    assert_eq!(raw(srv.addr, &request("POST", "/records", &[], b"{}")).await.status, 204);
}

#[tokio::test]
async fn slowloris_on_headers_gets_408_and_others_are_served_meanwhile() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await; // header timeout 500 ms
    let started = Instant::now();
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(b"GET /records HTTP/1.1\r\nHost: t\r\n").await.unwrap();
    let mut silent = TcpStream::connect(srv.addr).await.unwrap();
    // Trickle one header line at a time, well within each read but never finishing.
    let trickle = async {
        for i in 0..20 {
            if slow.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (_, r) = tokio::join!(trickle, async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        get(srv.addr, "/").await
    });
    assert_eq!(r.status, 200, "served while a slow client holds a connection");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await.expect("closed");
    let r = parse_raw(&buf);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(r.body.contains("--webhook-provider-read-header-timeout"), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // A connection that says nothing is closed without an answer.
    let mut buf = Vec::new();
    let n =
        tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut buf)).await.expect("closed").unwrap_or(0);
    assert_eq!(n, 0);
    assert!(srv.metrics.header_timeouts() >= 2);
    assert_eq!(get(srv.addr, "/").await.status, 200);
}

#[tokio::test]
async fn slow_body_gets_408() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await; // read timeout 500 ms
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /records HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"create\":").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await.expect("answered");
    let r = parse_raw(&buf);
    assert_eq!(r.status, 408);
    assert!(r.body.contains("--webhook-provider-read-timeout"), "{}", r.body);
    assert_eq!(get(srv.addr, "/").await.status, 200);
}

#[tokio::test]
async fn provider_errors_are_500_or_503_with_a_message_only() {
    let p = Flaky::new(&["example.org"]);
    let srv = start(p.clone(), test_config()).await;
    p.set(TRANSIENT);
    let r = get(srv.addr, "/records").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.body, "records failed: flaky: backend unreachable\n");
    p.set(PERMANENT);
    let r = post(srv.addr, "/records", CREATE_A).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "apply_changes failed: flaky: bad credentials\n");
    let r = post(srv.addr, "/adjustendpoints", "[]").await;
    assert_eq!(r.status, 500);
    p.set(OK);
    assert_eq!(get(srv.addr, "/records").await.status, 200);
    let m = reqwest_free_get(srv.metrics_addr.unwrap(), "/metrics").await;
    assert!(
        m.body.contains("exodns_webhook_provider_errors_total{call=\"records\",kind=\"transient\"} 1"),
        "{}",
        m.body
    );
}

async fn reqwest_free_get(addr: std::net::SocketAddr, path: &str) -> Raw {
    raw(addr, &request("GET", path, &[], b"")).await
}

#[tokio::test]
async fn health_and_metrics_on_their_own_address() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    let m = srv.metrics_addr.unwrap();
    let h = reqwest_free_get(m, "/healthz").await;
    assert_eq!((h.status, h.body.as_str()), (200, "OK\n"));
    assert_eq!(get(srv.addr, "/healthz").await.status, 404, "not on the API address");
    let _ = post(srv.addr, "/records", CREATE_A).await;
    let text = reqwest_free_get(m, "/metrics").await.body;
    assert!(
        text.contains("exodns_webhook_requests_total{route=\"/records\",method=\"POST\",code=\"204\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn keep_alive_then_idle_close() {
    let srv = start(Flaky::new(&["example.org"]), test_config()).await; // idle 2 s
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    // Two pipelined requests on one connection.
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /records HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.windows(2).filter(|w| w == b"[]").count() == 0 {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got).matches("HTTP/1.1 200").count(), 2);
    // Then nothing: closed after the idle timeout, not the (shorter) header timeout.
    let started = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(6), s.read(&mut buf)).await.unwrap().unwrap_or(0);
    assert_eq!(n, 0);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(4), "{waited:?}");
}

#[tokio::test]
async fn shutdown_finishes_requests_in_progress() {
    let p = Flaky::new(&["example.org"]);
    let srv = start(p.clone(), test_config()).await;
    p.set(SLOW);
    let addr = srv.addr;
    let inflight = tokio::spawn(async move { post(addr, "/records", CREATE_A).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    srv.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(4));
    let r = inflight.await.unwrap();
    assert_eq!(r.status, 204, "the request in progress was answered");
    assert!(TcpStream::connect(addr).await.is_err(), "no longer listening");
}
