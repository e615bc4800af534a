//! Stateful fakes of cloud DNS APIs that have no emulator: small axum servers that keep zones and
//! records and answer in the vendor's documented shapes. They are **fakes**: what they check is
//! what the tests need, no more; put [`crate::prism::Prism`] in front of one to have each request
//! checked against the vendor's own spec.
//!
//! A fake is a [`FakeServer`] (an axum `Router` on a free loopback port, on a thread of its own,
//! so a `static` fake outlives each test's runtime) plus its state. Every fake gets, for free:
//! - a request log ([`FakeServer::requests`]): method, path, query, body and status of each
//!   request, for tests that count calls or read what was sent;
//! - fault injection ([`FakeServer::inject`]): answer the next N matching requests with a status
//!   (429 with `Retry-After`, 5xx, 401/403, in the vendor's error shape), drop the connection
//!   without an answer, or delay the answer.
//!
//! Fakes: [`cloudflare::CloudflareFake`], [`hetzner::HetznerFake`], [`google::GoogleFake`],
//! [`azure::AzureFake`].

pub mod azure;
pub mod cloudflare;
pub mod google;
pub mod hetzner;
pub mod issuer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

/// One request the fake received, and the status it answered (0 for a dropped connection).
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Bytes,
    pub status: u16,
    /// The `Authorization` header was present (its value is not kept).
    pub authorized: bool,
}

impl RequestRecord {
    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What an injected fault does to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with these headers and this body, without touching the state.
    Status { status: u16, headers: Vec<(String, String)>, body: String },
    /// Close the connection without an answer.
    Drop,
    /// Wait, then handle the request as usual.
    Delay(Duration),
    /// Handle the request as usual, then close the connection without the answer: a response
    /// lost on the way, so the client cannot tell that its request was applied.
    LoseAnswer,
}

/// A fault for the next `times` requests whose method and path match.
#[derive(Debug, Clone)]
pub struct Inject {
    method: Option<String>,
    path_contains: String,
    times: u32,
    fault: Fault,
}

impl Inject {
    /// Requests of any method whose path contains `path` (`""` matches every request).
    pub fn any(path: &str, fault: Fault) -> Inject {
        Inject { method: None, path_contains: path.to_owned(), times: 1, fault }
    }

    /// Requests of `method` (`GET`, `POST`, …) whose path contains `path`.
    pub fn on(method: &str, path: &str, fault: Fault) -> Inject {
        Inject { method: Some(method.to_ascii_uppercase()), ..Inject::any(path, fault) }
    }

    /// For this many matching requests (default 1).
    pub fn times(mut self, n: u32) -> Inject {
        self.times = n;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0 && self.method.as_deref().is_none_or(|m| m == method) && path.contains(&self.path_contains)
    }
}

/// The shared parts of a fake: its request log and pending faults.
#[derive(Debug, Default)]
struct Shared {
    requests: Mutex<Vec<RequestRecord>>,
    faults: Mutex<Vec<Inject>>,
}

/// An axum router served on `127.0.0.1:<free port>` by a thread of its own. Dropping it stops
/// the server.
pub struct FakeServer {
    name: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer").field("name", &self.name).field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Serves `router`; `name` names the fake in messages.
    pub fn start(name: &str, router: axum::Router) -> FakeServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serve_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fake-{name}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(serve(listener, router, serve_shared, stop_rx));
            })
            .expect("spawn the fake's thread");
        FakeServer { name: name.to_owned(), addr, shared, stop: Some(stop_tx), thread: Some(thread) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A mark in the request log: [`FakeServer::requests_since`] returns what came after it.
    /// Tests sharing a fake count their own step's requests this way.
    pub fn mark(&self) -> usize {
        self.shared.requests.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The requests that came after `mark`.
    pub fn requests_since(&self, mark: usize) -> Vec<RequestRecord> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(mark..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// Forgets the requests so far (for a test that owns the fake; tests sharing one use
    /// [`FakeServer::mark`]).
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Requests of `method` whose path contains `path`, so far.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path.contains(path)).count()
    }

    /// Adds a fault; faults are tried in the order they were added.
    pub fn inject(&self, inject: Inject) {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).push(inject);
    }

    /// Faults not used up yet.
    pub fn pending_faults(&self) -> u32 {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|f| f.times).sum()
    }

    /// Drops the faults not used up yet.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    router: axum::Router,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        let router = router.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                handle(req, router.clone(), shared.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// One request: its fault if one matches, else the router; recorded either way. An `Err` makes
/// hyper close the connection without an answer.
async fn handle(
    req: hyper::Request<Incoming>,
    router: axum::Router,
    shared: Arc<Shared>,
) -> Result<hyper::Response<Body>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let mut record = RequestRecord {
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        body: body.clone(),
        status: 0,
        authorized: parts.headers.contains_key(hyper::header::AUTHORIZATION),
    };
    let fault = {
        let mut faults = shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        let hit = faults.iter_mut().find(|f| f.matches(&method, &path));
        hit.map(|f| {
            f.times -= 1;
            f.fault.clone()
        })
    };
    let response = match fault {
        Some(Fault::Drop) => {
            shared.requests.lock().unwrap_or_else(|p| p.into_inner()).push(record);
            return Err(std::io::Error::other("fault: connection dropped"));
        }
        Some(Fault::Status { status, headers, body }) => {
            let mut b = hyper::Response::builder().status(status).header("content-type", "application/json");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from(body)).expect("fault response")
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            route(router, parts, body).await
        }
        Some(Fault::LoseAnswer) => {
            record.status = route(router, parts, body).await.status().as_u16();
            shared.requests.lock().unwrap_or_else(|p| p.into_inner()).push(record);
            return Err(std::io::Error::other("fault: answer lost"));
        }
        None => route(router, parts, body).await,
    };
    record.status = response.status().as_u16();
    shared.requests.lock().unwrap_or_else(|p| p.into_inner()).push(record);
    Ok(response)
}

async fn route(router: axum::Router, parts: http::request::Parts, body: Bytes) -> hyper::Response<Body> {
    let req = hyper::Request::from_parts(parts, Body::from(body));
    match router.oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// A JSON answer with a status, for the fakes' handlers.
pub(crate) fn json_response(status: u16, value: &serde_json::Value) -> axum::response::Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(value).expect("JSON")))
        .expect("response")
}

/// Query string → pairs (percent-decoded).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// The value of query parameter `name`.
pub(crate) fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// An RFC 3339 timestamp of now (UTC, second precision), for `created_on` / `modified_on`.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
