//! AWS's Route 53 rules that moto does not apply, applied by the test harness in front of it.
//!
//! moto takes a CNAME beside other data, a CNAME at the apex, an A record that is no IPv4
//! address, a CREATE of what exists, a DELETE that does not match; and a batch that fails keeps
//! its first changes. AWS refuses all of these, and applies a batch whole or not at all. Tests
//! that rely on those rules point the client at this proxy: it checks each
//! `ChangeResourceRecordSets` batch against the zone as moto holds it, refuses it the way AWS
//! does (`400 InvalidChangeBatch` with AWS's messages) without forwarding anything, and
//! forwards everything else to moto unchanged. It also records the size of every batch as AWS
//! counts it (records, with an UPSERT counted twice; characters of values), so tests can check
//! the limits. The rules here are AWS's documented ones; they are ours to keep in step. DynamoDB's
//! PartiQL writes, which moto cannot run, are run here too ([`crate::partiql`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Sizes of one change batch, as AWS counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSize {
    pub changes: usize,
    /// ResourceRecord elements, an UPSERT's counted twice (AWS's limit: 1 000).
    pub records: usize,
    /// Characters of all Value elements, an UPSERT's counted twice (AWS's limit: 32 000).
    pub chars: usize,
    /// Whether the proxy refused it.
    pub refused: bool,
}

/// The proxy: listens on a free loopback port until dropped.
pub struct Route53Rules {
    addr: SocketAddr,
    batches: Arc<Mutex<Vec<BatchSize>>>,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Route53Rules {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What else the proxy saw: for credential tests and fault injection.
#[derive(Debug, Default)]
struct Seen {
    /// Access key ids that signed Route 53 requests, in order of first use.
    access_keys: Mutex<Vec<String>>,
    /// Form parameters of STS calls.
    sts: Mutex<Vec<BTreeMap<String, String>>>,
    /// Change batches still to answer with `Throttling`.
    throttle: std::sync::atomic::AtomicUsize,
    /// The zones as the batches forwarded left them (listing a large zone from moto for each
    /// batch is slow); [`Route53Rules::forget`] drops it when someone else wrote to moto.
    mirror: Mutex<BTreeMap<String, ZoneState>>,
}

#[derive(Debug, Clone)]
struct State {
    upstream: String,
    http: reqwest::Client,
    batches: Arc<Mutex<Vec<BatchSize>>>,
    seen: Arc<Seen>,
    /// Check and forward one batch at a time, so that a batch is checked against the state it
    /// is applied to.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Route53Rules {
    /// A proxy in front of moto at `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Route53Rules {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the rules proxy");
        let addr = listener.local_addr().expect("address");
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Seen::default());
        let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), false).expect("TLS config");
        let state = State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: exodns_http::client_builder(tls).build().expect("client"),
            batches: batches.clone(),
            seen: seen.clone(),
            lock: Arc::default(),
        };
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, state).await;
                });
            }
        });
        Route53Rules { addr, batches, seen, task }
    }

    /// `http://127.0.0.1:PORT`: give it as `AWS_ENDPOINT_URL_ROUTE_53`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next `n` change batches with AWS's `Throttling` error (HTTP 400), unforwarded.
    pub fn throttle_next(&self, n: usize) {
        self.seen.throttle.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The access key ids that signed Route 53 requests, in order of first use.
    pub fn access_keys(&self) -> Vec<String> {
        self.seen.access_keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The form parameters of every STS call seen (`Action`, `RoleArn`, `WebIdentityToken`, …).
    pub fn sts_calls(&self) -> Vec<BTreeMap<String, String>> {
        self.seen.sts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets what the proxy knows of the zones: call it after writing to moto behind its back.
    pub fn forget(&self) {
        self.seen.mirror.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Every change batch seen so far, in order.
    pub fn batches(&self) -> Vec<BatchSize> {
        self.batches.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(sock: tokio::net::TcpStream, state: State) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("GET").to_owned(), parts.next().unwrap_or("/").to_owned());
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        let (status, ctype, resp) = handle(&state, &method, &path, &headers, body).await;
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
            if status < 300 { "OK" } else { "Error" },
            resp.len()
        );
        w.write_all(head.as_bytes()).await?;
        w.write_all(&resp).await?;
    }
}

async fn handle(
    state: &State,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let is_change = method == "POST" && path.contains("/rrset");
    if path.starts_with("/2013-04-01/") {
        let auth = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.as_str());
        if let Some(id) = auth.and_then(|a| a.split("Credential=").nth(1)).and_then(|c| c.split('/').next()) {
            let mut keys = state.seen.access_keys.lock().unwrap_or_else(|p| p.into_inner());
            if !keys.iter().any(|k| k == id) {
                keys.push(id.to_owned());
            }
        }
    } else if method == "POST" && (body.starts_with(b"Action=") || String::from_utf8_lossy(&body).contains("&Action="))
    {
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
        state.seen.sts.lock().unwrap_or_else(|p| p.into_inner()).push(form);
    }
    let target = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target")).map(|(_, v)| v.as_str());
    if target == Some("DynamoDB_20120810.BatchExecuteStatement") {
        let _guard = state.lock.lock().await;
        if let Some(answer) = crate::partiql::batch(&state.http, &state.upstream, &body).await {
            return (200, "application/x-amz-json-1.0".into(), answer.to_string().into_bytes());
        }
    }
    let _guard = if is_change { Some(state.lock.lock().await) } else { None };
    if is_change
        && state
            .seen
            .throttle
            .fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| {
                n.checked_sub(1)
            })
            .is_ok()
    {
        let xml = r#"<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>exodns-test-rules</RequestId></ErrorResponse>"#;
        return (400, "text/xml".into(), xml.as_bytes().to_vec());
    }
    if is_change {
        let zone = path.split('/').skip_while(|p| *p != "hostedzone").nth(1).unwrap_or_default().to_owned();
        match check(state, &zone, &body).await {
            Ok((size, after)) => {
                state.batches.lock().unwrap_or_else(|p| p.into_inner()).push(size);
                let mut mirror = state.seen.mirror.lock().unwrap_or_else(|p| p.into_inner());
                match after {
                    Some(z) => mirror.insert(zone.clone(), z),
                    None => mirror.remove(&zone),
                };
            }
            Err((size, messages)) => {
                state.batches.lock().unwrap_or_else(|p| p.into_inner()).push(BatchSize { refused: true, ..size });
                let msgs: String = messages.iter().map(|m| format!("<Message>{}</Message>", xml_escape(m))).collect();
                let xml = format!(
                    r#"<?xml version="1.0"?><InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages>{msgs}</Messages><RequestId>exodns-test-rules</RequestId></InvalidChangeBatch>"#
                );
                return (400, "text/xml".into(), xml.into_bytes());
            }
        }
    }
    let mut req =
        state.http.request(method.parse().unwrap_or(reqwest::Method::GET), format!("{}{path}", state.upstream));
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, v);
        }
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if is_change && status >= 300 {
                state.seen.mirror.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
            let ctype =
                resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("text/xml").to_owned();
            (status, ctype, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
        }
        Err(e) => (502, "text/plain".into(), e.to_string().into_bytes()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    change_batch: ChangeBatch,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeBatch {
    changes: Changes,
}

#[derive(Debug, Default, Deserialize)]
struct Changes {
    #[serde(rename = "Change", default)]
    items: Vec<Change>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    action: String,
    resource_record_set: RRSet,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct RRSet {
    name: String,
    #[serde(rename = "Type")]
    rtype: String,
    set_identifier: Option<String>,
    #[serde(rename = "TTL")]
    ttl: Option<i64>,
    resource_records: Option<Records>,
    alias_target: Option<Alias>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
struct Records {
    #[serde(rename = "ResourceRecord", default)]
    items: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Value {
    value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Alias {
    #[serde(rename = "DNSName")]
    dns_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listing {
    resource_record_sets: Sets,
    #[serde(default)]
    is_truncated: bool,
    next_record_name: Option<String>,
    next_record_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Sets {
    #[serde(rename = "ResourceRecordSet", default)]
    items: Vec<RRSet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneAnswer {
    hosted_zone: ZoneInfo,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneInfo {
    name: String,
}

fn norm(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n.replace("\\052", "*")
}

type Key = (String, String, String);

fn key(r: &RRSet) -> Key {
    (norm(&r.name), r.rtype.clone(), r.set_identifier.clone().unwrap_or_default())
}

fn values(r: &RRSet) -> Vec<String> {
    let mut v: Vec<String> = r
        .resource_records
        .iter()
        .flat_map(|x| x.items.iter().map(|v| v.value.trim_end_matches('.').to_owned()))
        .collect();
    v.sort();
    v
}

async fn get(state: &State, path: &str) -> Result<String, String> {
    let resp = state
        .http
        .get(format!("{}{path}", state.upstream))
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDRULES/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    resp.text().await.map_err(|e| e.to_string())
}

/// The zone's record sets and name, as moto holds them.
async fn current(state: &State, zone: &str) -> Result<(String, BTreeMap<Key, RRSet>), String> {
    let z: ZoneAnswer = quick_xml::de::from_str(&get(state, &format!("/2013-04-01/hostedzone/{zone}")).await?)
        .map_err(|e| format!("zone: {e}"))?;
    let mut out = BTreeMap::new();
    let mut q = String::from("maxitems=300");
    loop {
        let page: Listing =
            quick_xml::de::from_str(&get(state, &format!("/2013-04-01/hostedzone/{zone}/rrset?{q}")).await?)
                .map_err(|e| format!("listing: {e}"))?;
        for r in page.resource_record_sets.items {
            out.insert(key(&r), r);
        }
        match (page.is_truncated, page.next_record_name, page.next_record_type) {
            (true, Some(n), Some(t)) => {
                let next = format!("maxitems=300&name={}&type={t}", n.replace('*', "%2A").replace('\\', "%5C"));
                if next == q {
                    break;
                }
                q = next;
            }
            _ => break,
        }
    }
    Ok((norm(&z.hosted_zone.name), out))
}

type ZoneState = (String, BTreeMap<Key, RRSet>);

/// Checks a batch as AWS would; the messages are AWS's. Returns the zone as the batch leaves it.
async fn check(
    state: &State,
    zone: &str,
    body: &[u8],
) -> Result<(BatchSize, Option<ZoneState>), (BatchSize, Vec<String>)> {
    let text = String::from_utf8_lossy(body);
    let req: Request = match quick_xml::de::from_str(&text) {
        Ok(r) => r,
        Err(e) => return Err((BatchSize::default(), vec![format!("Invalid XML: {e}")])),
    };
    let mut size = BatchSize::default();
    for c in &req.change_batch.changes.items {
        let twice = if c.action == "UPSERT" { 2 } else { 1 };
        let r = &c.resource_record_set;
        let vals: Vec<&str> = match (&r.resource_records, &r.alias_target) {
            (Some(rr), _) => rr.items.iter().map(|v| v.value.as_str()).collect(),
            (None, Some(a)) => vec![a.dns_name.as_str()],
            _ => vec![],
        };
        size.changes += 1;
        size.records += twice * vals.len();
        size.chars += twice * vals.iter().map(|v| v.len()).sum::<usize>();
    }
    let mut errors = Vec::new();
    if size.records > 1000 {
        errors.push("Number of records limit of 1000 exceeded.".to_owned());
    }
    if size.chars > 32_000 {
        errors.push("Number of characters in all Value elements limit of 32000 exceeded.".to_owned());
    }
    let known = state.seen.mirror.lock().unwrap_or_else(|p| p.into_inner()).get(zone).cloned();
    let (apex, mut sets) = match known {
        Some(z) => z,
        None => match current(state, zone).await {
            Ok(c) => c,
            // Not a zone moto knows: let moto answer.
            Err(_) => return Ok((size, None)),
        },
    };
    let touched: std::collections::BTreeSet<String> =
        req.change_batch.changes.items.iter().map(|c| norm(&c.resource_record_set.name)).collect();
    for c in &req.change_batch.changes.items {
        let r = &c.resource_record_set;
        let k = key(r);
        let shown = format!(
            "[name='{}.', type='{}'{}]",
            k.0,
            k.1,
            r.set_identifier.as_ref().map(|s| format!(", set-identifier='{s}'")).unwrap_or_default()
        );
        if r.rtype == "A" && r.alias_target.is_none() {
            for v in values(r) {
                if v.parse::<std::net::Ipv4Addr>().is_err() {
                    errors.push(format!(
                        "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '{v}'"
                    ));
                }
            }
        }
        match c.action.as_str() {
            "CREATE" => {
                if sets.contains_key(&k) {
                    errors.push(format!("Tried to create resource record set {shown} but it already exists"));
                }
                sets.insert(k, r.clone());
            }
            "DELETE" => match sets.remove(&k) {
                None => errors.push(format!("Tried to delete resource record set {shown} but it was not found")),
                Some(old) if values(&old) != values(r) || (old.alias_target.is_none() && old.ttl != r.ttl) => {
                    errors.push(format!("Tried to delete resource record set {shown} but the values provided do not match the current values"))
                }
                Some(_) => {}
            },
            _ => {
                sets.insert(k, r.clone());
            }
        }
    }
    // After the whole batch: a CNAME stands alone, and never at the apex.
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, t, _) in sets.keys() {
        by_name.entry(n.as_str()).or_default().push(t.as_str());
    }
    for (name, types) in by_name {
        if !types.contains(&"CNAME") || !touched.contains(name) {
            continue;
        }
        if name == apex {
            errors.push(format!("RRSet of type CNAME with DNS name {name}. is not permitted at apex in zone {apex}."));
        } else if let Some(other) = types.iter().find(|t| **t != "CNAME") {
            errors.push(format!(
                "RRSet of type CNAME with DNS name {name}. is not permitted because a conflicting RRSet of type {other} with the same DNS name already exists in zone {apex}."
            ));
        }
    }
    if errors.is_empty() { Ok((size, Some((apex, sets)))) } else { Err((size, errors)) }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
