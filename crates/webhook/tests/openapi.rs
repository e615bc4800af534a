//! `docs/webhook-openapi.yaml` against the server: every path, method and status code the
//! description lists is produced by the server, and the server serves no path the description
//! leaves out.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhook-openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/webhook-openapi.yaml");
    serde_saphyr::from_str(&text).expect("the OpenAPI file is YAML")
}

/// The documented (path, method, status) triples.
fn documented(spec: &Value) -> BTreeSet<(String, String, u16)> {
    let mut out = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            for code in op["responses"].as_object().expect("responses").keys() {
                out.insert((path.clone(), method.to_uppercase(), code.parse().expect("numeric status")));
            }
        }
    }
    out
}

const ENDPOINT: &str = r#"{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A"}"#;

/// Sends the request that should get `status` on `method path`; returns what came back.
async fn trigger(p: &Flaky, addr: std::net::SocketAddr, path: &str, method: &str, status: u16) -> Raw {
    p.set(OK);
    let good_body = if path == "/records" { format!(r#"{{"create":[{ENDPOINT}]}}"#) } else { format!("[{ENDPOINT}]") };
    let send = |headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
        let req = request(method, path, &headers, &body);
        async move { raw(addr, &req).await }
    };
    match status {
        200 | 204 => {
            send(
                vec![("Accept", WEBHOOK), ("Content-Type", WEBHOOK)],
                if method == "POST" { good_body.into_bytes() } else { vec![] },
            )
            .await
        }
        400 => send(vec![("Content-Type", WEBHOOK)], b"{oops".to_vec()).await,
        406 => send(vec![("Accept", "text/html"), ("Content-Type", WEBHOOK)], good_body.into_bytes()).await,
        413 => send(vec![("Content-Type", WEBHOOK)], vec![b' '; 70 * 1024]).await,
        415 => send(vec![("Content-Type", "text/csv")], good_body.into_bytes()).await,
        408 => {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {WEBHOOK}\r\nContent-Length: 50\r\n\r\n["
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
            parse_raw(&buf)
        }
        500 | 503 => {
            p.set(if status == 500 { PERMANENT } else { TRANSIENT });
            let r =
                send(vec![("Content-Type", WEBHOOK)], if method == "POST" { good_body.into_bytes() } else { vec![] })
                    .await;
            p.set(OK);
            r
        }
        other => panic!("no way to trigger {other} known to this test; teach it"),
    }
}

#[tokio::test]
async fn every_documented_status_is_what_the_server_answers() {
    let spec = spec();
    let triples = documented(&spec);
    assert!(triples.len() >= 20, "{triples:?}");
    let p = Flaky::new(&["example.org"]);
    let srv = start(p.clone(), test_config()).await;
    for (path, method, status) in &triples {
        let r = trigger(&p, srv.addr, path, method, *status).await;
        assert_eq!(r.status, *status, "{method} {path}: expected {status}, got {r:?}");
        let ct = r.header("content-type").unwrap_or("");
        match status {
            204 => assert!(r.body.is_empty()),
            200 => assert_eq!(ct, WEBHOOK, "{method} {path}"),
            _ => {
                assert!(ct.starts_with("text/plain"), "{method} {path} {status}: {ct}");
                assert!(r.body.trim().len() > 10, "{method} {path} {status}: a message: {:?}", r.body);
            }
        }
        // The documented content type of each answer is the one sent.
        let doc = &spec["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
        let doc = match doc["$ref"].as_str() {
            Some(r) => &spec["components"]["responses"][r.rsplit('/').next().unwrap()],
            None => doc,
        };
        if let Some(content) = doc["content"].as_object() {
            let documented_ct = content.keys().next().unwrap();
            assert!(
                ct.starts_with(documented_ct.as_str()),
                "{method} {path} {status}: documented {documented_ct}, sent {ct}"
            );
        }
    }
}

#[tokio::test]
async fn the_server_serves_no_undocumented_path() {
    let spec = spec();
    let paths: BTreeSet<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(paths, BTreeSet::from(["/".to_string(), "/records".into(), "/adjustendpoints".into()]));
    let srv = start(Flaky::new(&["example.org"]), test_config()).await;
    for path in ["/applychanges", "/healthz", "/metrics", "/records/x", "/adjustEndpoints", "/v1/records"] {
        for method in ["GET", "POST"] {
            let r = raw(srv.addr, &request(method, path, &[], b"")).await;
            assert_eq!(r.status, 404, "{method} {path}");
        }
    }
    // Each documented path answers 405 to the methods it does not list.
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if ops.get(method.to_lowercase()).is_none() {
                let r = raw(srv.addr, &request(method, path, &[], b"")).await;
                assert_eq!(r.status, 405, "{method} {path}");
            }
        }
    }
}

#[test]
fn the_negotiation_body_in_the_spec_is_the_one_the_code_sends() {
    let spec = spec();
    let props: BTreeSet<&str> = spec["components"]["schemas"]["DomainFilter"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(props, BTreeSet::from(["include", "exclude", "regexInclude", "regexExclude"]));
    let f = exodns_core::DomainFilter::from_flags(&["example.org".into()], &["x.example.org".into()], "", "").unwrap();
    let json: Value = serde_json::to_value(f.to_json()).unwrap();
    for key in json.as_object().unwrap().keys() {
        assert!(props.contains(key.as_str()), "{key}");
    }
    let endpoint: BTreeSet<&str> = spec["components"]["schemas"]["Endpoint"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        endpoint,
        BTreeSet::from([
            "dnsName",
            "targets",
            "recordType",
            "setIdentifier",
            "recordTTL",
            "labels",
            "providerSpecific"
        ])
    );
}
