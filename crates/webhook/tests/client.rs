//! The webhook client against the exodns webhook server (in-memory provider) and against fake
//! servers that misbehave.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use common::*;
use exodns_controller::Syncer;
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{TxtConfig, TxtRegistry};
use exodns_core::{Endpoint, RecordType};
use exodns_provider::Provider;
use exodns_webhook::{ClientConfig, WebhookProvider};

fn client_config(url: &str) -> ClientConfig {
    let mut c = ClientConfig::parse(url).unwrap();
    c.startup_wait = Duration::from_secs(5);
    c.initial_backoff = Duration::from_millis(50);
    c.max_backoff = Duration::from_millis(400);
    c
}

fn ep(name: &str, ip: &str) -> Endpoint {
    Endpoint::parse(name, RecordType::A, &[ip]).unwrap().with_label("resource", format!("service/default/{name}"))
}

#[tokio::test]
async fn full_sync_then_a_no_op_sync_through_the_exodns_server() {
    let backend = Flaky::new(&["example.org"]);
    let srv = start(backend.clone(), test_config()).await;
    let client = Arc::new(WebhookProvider::connect(client_config(&srv.url())).await.unwrap());
    assert!(client.is_negotiated());
    assert!(client.domain_filter().matches("x.example.org") && !client.domain_filter().matches("x.example.com"));
    let registry = Arc::new(TxtRegistry::new(TxtConfig::default()).unwrap());
    let syncer = Syncer::new(client.clone(), registry, PlanOptions::default());
    let desired =
        vec![ep("a.example.org", "192.0.2.1"), ep("b.example.org", "192.0.2.2"), ep("c.example.com", "192.0.2.3")];

    let first = syncer.sync_once(desired.clone()).await.unwrap();
    assert!(first.applied);
    assert_eq!(first.planned.create.len(), 2, "c.example.com is outside the negotiated filter");
    let names: Vec<String> = backend.inner.dump().iter().map(|e| format!("{} {}", e.dns_name, e.record_type)).collect();
    assert_eq!(names, ["a-a.example.org TXT", "a-b.example.org TXT", "a.example.org A", "b.example.org A"]);

    let second = syncer.sync_once(desired).await.unwrap();
    assert!(!second.applied && second.outgoing.is_empty(), "{:?}", second.planned);
    let s = client.stats();
    assert_eq!((s.apply, s.records, s.negotiations, s.errors), (1, 2, 1, 0), "{s:?}");
    assert_eq!(srv.metrics.requests("/records", "POST"), 1);
}

#[tokio::test]
async fn waits_for_a_server_that_is_not_up_yet() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let mut cfg = test_config();
        cfg.address = format!("127.0.0.1:{port}");
        start(Flaky::new(&["example.org"]), cfg).await
    });
    let started = Instant::now();
    let client = WebhookProvider::connect(client_config(&url)).await.unwrap();
    assert!(client.is_negotiated());
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(client.stats().negotiations >= 2);
    let _srv = late.await.unwrap();
}

#[tokio::test]
async fn a_missing_server_is_a_transient_error_at_each_call_never_fatal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = client_config(&format!("http://127.0.0.1:{port}"));
    cfg.startup_wait = Duration::from_millis(200);
    let client = WebhookProvider::connect(cfg).await.expect("not up yet is not an error");
    assert!(!client.is_negotiated());
    let e = client.records().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    // Once it is up, the next call negotiates and goes through.
    let mut scfg = test_config();
    scfg.address = format!("127.0.0.1:{port}");
    let _srv = start(Flaky::new(&["example.org"]), scfg).await;
    assert!(client.records().await.unwrap().endpoints.is_empty());
    assert!(client.is_negotiated());
}

#[tokio::test]
async fn server_errors_are_transient_client_errors_permanent() {
    let backend = Flaky::new(&["example.org"]);
    let srv = start(backend.clone(), test_config()).await;
    let client = WebhookProvider::connect(client_config(&srv.url())).await.unwrap();
    backend.set(TRANSIENT);
    let e = client.records().await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("HTTP 503") && e.to_string().contains("backend unreachable"),
        "{e}"
    );
    assert!(
        matches!(e, exodns_provider::ProviderError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7))
    );
    backend.set(PERMANENT);
    let e = client.records().await.unwrap_err();
    assert!(e.is_transient(), "a 500 is retried next sync, as upstream does: {e}");
    backend.set(OK);
    // A URL that is not the webhook's root: 404 at negotiation is a configuration error.
    let e = WebhookProvider::connect(client_config(&format!("{}/nope", srv.url()))).await.unwrap_err();
    assert!(!e.is_transient() && e.to_string().contains("404"), "{e}");
}

async fn fake(router: Router) -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(l, router).await.unwrap() }))
}

fn negotiation() -> axum::routing::MethodRouter {
    get(|| async { ([(header::CONTENT_TYPE, WEBHOOK)], r#"{"include":["example.org"]}"#) })
}

#[tokio::test]
async fn wrong_media_type_at_negotiation_is_refused() {
    let (url, _t) =
        fake(Router::new().route("/", get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }))).await;
    let e = WebhookProvider::connect(client_config(&url)).await.unwrap_err();
    assert!(
        e.to_string().contains("application/json")
            && e.to_string().contains("not application/external.dns.webhook+json"),
        "{e}"
    );
}

#[tokio::test]
async fn unreadable_records_are_skipped_with_a_warning() {
    let body = r#"[{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A"},{"dnsName":"b.example.org","recordTTL":"x"},{"dnsName":"c..example.org","targets":["192.0.2.1"],"recordType":"A"},{"dnsName":"d.example.org","targets":null,"recordType":"TXT","labels":null}]"#;
    let (url, _t) = fake(
        Router::new()
            .route("/", negotiation())
            .route("/records", get(move || async move { ([(header::CONTENT_TYPE, WEBHOOK)], body) })),
    )
    .await;
    let client = WebhookProvider::connect(client_config(&url)).await.unwrap();
    let r = client.records().await.unwrap();
    let names: Vec<&str> = r.endpoints.iter().map(|e| e.dns_name.as_str()).collect();
    assert_eq!(names, ["a.example.org", "d.example.org"]);
    assert_eq!(client.stats().skipped_records, 2);
}

#[tokio::test]
async fn answers_over_the_cap_are_refused() {
    let big = format!(
        "[{}]",
        vec![r#"{"dnsName":"a.example.org","targets":["192.0.2.1"],"recordType":"A"}"#; 2000].join(",")
    );
    let (url, _t) = fake(
        Router::new()
            .route("/", negotiation())
            .route("/records", get(move || async move { ([(header::CONTENT_TYPE, WEBHOOK)], big) })),
    )
    .await;
    let mut cfg = client_config(&url);
    cfg.max_body_size = 64 * 1024;
    let client = WebhookProvider::connect(cfg).await.unwrap();
    let e = client.records().await.unwrap_err();
    assert!(!e.is_transient() && e.to_string().contains("--webhook-provider-max-body-size"), "{e}");
}

#[tokio::test]
async fn only_webhook_and_unprefixed_properties_are_sent() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let s2 = seen.clone();
    let (url, _t) = fake(Router::new().route("/", negotiation()).route(
        "/adjustendpoints",
        post(move |body: String| async move {
            *s2.lock().unwrap() = body.clone();
            ([(header::CONTENT_TYPE, WEBHOOK)], body)
        }),
    ))
    .await;
    let client = WebhookProvider::connect(client_config(&url)).await.unwrap();
    let e = ep("a.example.org", "192.0.2.1")
        .with_property("webhook/z", "1")
        .with_property("aws/weight", "5")
        .with_property("alias", "true");
    let out = client.adjust_endpoints(vec![e]).await.unwrap();
    let names: Vec<&str> = out[0].provider_specific.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alias", "webhook/z"]);
    assert!(!seen.lock().unwrap().contains("aws/"), "{}", seen.lock().unwrap());
}

#[tokio::test]
async fn a_server_without_adjustendpoints_leaves_endpoints_as_they_are() {
    let (url, _t) = fake(
        Router::new().route("/", negotiation()).route("/adjustendpoints", post(|| async { StatusCode::NOT_FOUND })),
    )
    .await;
    let client = WebhookProvider::connect(client_config(&url)).await.unwrap();
    let input = vec![ep("a.example.org", "192.0.2.1")];
    assert_eq!(client.adjust_endpoints(input.clone()).await.unwrap(), input);
    assert_eq!(client.adjust_endpoints(input.clone()).await.unwrap(), input);
    assert_eq!(client.stats().adjust, 1, "asked once, then remembered");
}
