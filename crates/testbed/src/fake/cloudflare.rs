//! A stateful **fake** of Cloudflare's v4 DNS API (`/client/v4`): zones, DNS records (list,
//! create, update, delete, and the atomic batch endpoint), regional hostnames and custom
//! hostnames, with API-token and API-key authentication.
//!
//! It answers in the shapes of Cloudflare's OpenAPI spec (Prism checks them) and refuses what
//! Cloudflare refuses and the spec cannot express: a proxied record of a type that cannot be
//! proxied, a CNAME beside another record, an identical record twice, a record that does not
//! exist, a batch above [`CloudflareFake::set_batch_limit`] operations, and a write with a token
//! that may only read (403). It is stricter than Cloudflare on one point, on purpose: a proxied
//! record must have TTL 1 (Cloudflare silently makes it automatic).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

use super::{FakeServer, Fault, json_response, now_rfc3339, query_pairs, query_param};

/// The paths this fake serves, as Cloudflare's spec names them (for [`crate::prism::trim_spec`]).
pub const SPEC_PATHS: &[&str] = &[
    "/zones",
    "/zones/{zone_id}",
    "/zones/{zone_id}/dns_records",
    "/zones/{zone_id}/dns_records/batch",
    "/zones/{zone_id}/dns_records/{dns_record_id}",
    "/zones/{zone_id}/addressing/regional_hostnames",
    "/zones/{zone_id}/addressing/regional_hostnames/{hostname}",
    "/zones/{zone_id}/custom_hostnames",
    "/zones/{zone_id}/custom_hostnames/{custom_hostname_id}",
];

/// The base path of Cloudflare's API (`https://api.cloudflare.com/client/v4`).
pub const MOUNT: &str = "/client/v4";

/// Types Cloudflare can proxy.
const PROXIABLE: &[&str] = &["A", "AAAA", "CNAME"];

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `Zone:Read` + `DNS:Read`.
    Read,
    /// `Zone:Read` + `DNS:Edit`.
    Edit,
}

/// One DNS record as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct CfRecord {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    pub rtype: String,
    /// For SRV: `weight port target`; for MX: the host (the priority is apart).
    pub content: String,
    pub proxied: bool,
    pub ttl: u32,
    pub comment: Option<String>,
    pub tags: Vec<String>,
    pub priority: Option<u16>,
    /// Structured data (SRV, CAA, …), as sent.
    pub data: Option<Value>,
    pub created_on: String,
    pub modified_on: String,
}

#[derive(Debug, Clone)]
struct Zone {
    id: String,
    name: String,
    paid: bool,
}

#[derive(Debug, Default)]
struct CfState {
    zones: Vec<Zone>,
    records: Vec<CfRecord>,
    tokens: HashMap<String, Access>,
    keys: HashMap<(String, String), Access>,
    regional: BTreeMap<(String, String), String>,
    custom: Vec<(String, String, String, String)>,
    next_id: u64,
    batch_limit: usize,
}

impl CfState {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:032x}", 0x00c0_ffee_0000_0000_0000_0000_0000_0000u128 + u128::from(self.next_id))
    }
}

type Shared = Arc<Mutex<CfState>>;

/// The fake, with its server. Dropping it stops the server.
pub struct CloudflareFake {
    server: FakeServer,
    state: Shared,
}

impl std::fmt::Debug for CloudflareFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareFake").field("server", &self.server).finish_non_exhaustive()
    }
}

impl CloudflareFake {
    /// A fake with no zone and no credential, a batch limit of 200 operations.
    pub fn start() -> CloudflareFake {
        let state: Shared = Arc::new(Mutex::new(CfState { batch_limit: 200, ..CfState::default() }));
        let api = axum::Router::new()
            .route("/zones", get(list_zones))
            .route("/zones/{zone_id}", get(get_zone))
            .route("/zones/{zone_id}/dns_records", get(list_records).post(create_record))
            .route("/zones/{zone_id}/dns_records/batch", post(batch))
            .route(
                "/zones/{zone_id}/dns_records/{record_id}",
                get(get_record).put(put_record).patch(patch_record).delete(delete_record),
            )
            .route("/zones/{zone_id}/addressing/regional_hostnames", get(list_regional).post(create_regional))
            .route(
                "/zones/{zone_id}/addressing/regional_hostnames/{hostname}",
                patch(edit_regional).delete(delete_regional),
            )
            .route("/zones/{zone_id}/custom_hostnames", get(list_custom).post(create_custom))
            .route("/zones/{zone_id}/custom_hostnames/{id}", axum::routing::delete(delete_custom))
            .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
            .with_state(state.clone());
        let router = axum::Router::new().nest(MOUNT, api);
        CloudflareFake { server: FakeServer::start("cloudflare", router), state }
    }

    fn state(&self) -> MutexGuard<'_, CfState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server: its URL, request log and fault injection.
    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// `http://127.0.0.1:PORT/client/v4`, what `CLOUDFLARE_BASE_URL` is set to.
    pub fn base_url(&self) -> String {
        format!("{}{MOUNT}", self.server.url())
    }

    /// Accepts `Authorization: Bearer <token>`.
    pub fn add_token(&self, token: &str, access: Access) {
        self.state().tokens.insert(token.to_owned(), access);
    }

    /// Accepts `X-Auth-Email` + `X-Auth-Key`.
    pub fn add_api_key(&self, email: &str, key: &str, access: Access) {
        self.state().keys.insert((email.to_owned(), key.to_owned()), access);
    }

    /// Adds a zone (free plan); returns its id.
    pub fn add_zone(&self, name: &str) -> String {
        let mut s = self.state();
        let id = s.new_id();
        s.zones.push(Zone { id: id.clone(), name: name.to_ascii_lowercase(), paid: false });
        id
    }

    /// The id of zone `name`.
    pub fn zone_id(&self, name: &str) -> Option<String> {
        self.state().zones.iter().find(|z| z.name == name).map(|z| z.id.clone())
    }

    /// Most operations one batch may hold (Cloudflare: 200 on the Free plan).
    pub fn set_batch_limit(&self, limit: usize) {
        self.state().batch_limit = limit;
    }

    /// Every record of zone `zone` (by name), in creation order.
    pub fn records(&self, zone: &str) -> Vec<CfRecord> {
        let s = self.state();
        let Some(z) = s.zones.iter().find(|z| z.name == zone) else { return Vec::new() };
        s.records.iter().filter(|r| r.zone_id == z.id).cloned().collect()
    }

    /// Adds a record directly (a record "made by hand"), bypassing the API; returns its id.
    pub fn insert_record(&self, zone: &str, name: &str, rtype: &str, content: &str, ttl: u32) -> String {
        let mut s = self.state();
        let zone_id = s.zones.iter().find(|z| z.name == zone).map(|z| z.id.clone()).expect("zone exists");
        let id = s.new_id();
        let now = now_rfc3339();
        s.records.push(CfRecord {
            id: id.clone(),
            zone_id,
            name: name.to_owned(),
            rtype: rtype.to_owned(),
            content: content.to_owned(),
            proxied: false,
            ttl,
            comment: None,
            tags: Vec::new(),
            priority: None,
            data: None,
            created_on: now.clone(),
            modified_on: now,
        });
        id
    }

    /// The regional hostnames of zone `zone`: hostname → region key.
    pub fn regional_hostnames(&self, zone: &str) -> BTreeMap<String, String> {
        let s = self.state();
        let Some(z) = s.zones.iter().find(|z| z.name == zone) else { return BTreeMap::new() };
        s.regional.iter().filter(|((zid, _), _)| *zid == z.id).map(|((_, h), k)| (h.clone(), k.clone())).collect()
    }

    /// The custom hostnames of zone `zone`: (hostname, custom origin server).
    pub fn custom_hostnames(&self, zone: &str) -> Vec<(String, String)> {
        let s = self.state();
        let Some(z) = s.zones.iter().find(|z| z.name == zone) else { return Vec::new() };
        s.custom.iter().filter(|c| c.1 == z.id).map(|c| (c.2.clone(), c.3.clone())).collect()
    }
}

/// Cloudflare's error body.
pub fn error_body(code: u32, message: &str) -> Value {
    json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})
}

/// A fault answering `status` in Cloudflare's error shape, with `Retry-After` when given.
pub fn error_fault(status: u16, retry_after: Option<u64>) -> Fault {
    let (code, message) = match status {
        429 => (10000, "Rate limited. Please wait and consider throttling your request speed"),
        401 | 403 => (10000, "Authentication error"),
        _ => (10002, "An unknown error has occurred"),
    };
    Fault::Status {
        status,
        headers: retry_after.map(|s| vec![("retry-after".to_owned(), s.to_string())]).unwrap_or_default(),
        body: error_body(code, message).to_string(),
    }
}

fn fail(status: u16, code: u32, message: &str) -> Response {
    json_response(status, &error_body(code, message))
}

fn ok(result: Value) -> Response {
    json_response(200, &json!({"success": true, "errors": [], "messages": [], "result": result}))
}

fn ok_page(items: Vec<Value>, page: usize, per_page: usize, total: usize) -> Response {
    let pages = total.div_ceil(per_page.max(1));
    json_response(
        200,
        &json!({"success": true, "errors": [], "messages": [], "result": items,
            "result_info": {"page": page, "per_page": per_page, "count": items.len(), "total_count": total, "total_pages": pages}}),
    )
}

/// `page` / `per_page` of a list: the items of that page.
fn paginate<T: Clone>(all: &[T], query: &[(String, String)], default: usize) -> (Vec<T>, usize, usize) {
    let per_page =
        query_param(query, "per_page").and_then(|v| v.parse::<f64>().ok()).map_or(default, |v| v as usize).max(1);
    let page = query_param(query, "page").and_then(|v| v.parse::<f64>().ok()).map_or(1, |v| v as usize).max(1);
    let items = all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    (items, page, per_page)
}

async fn authenticate(
    State(state): State<Shared>,
    headers: HeaderMap,
    method: Method,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let access = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        match (header("authorization"), header("x-auth-email"), header("x-auth-key")) {
            (Some(auth), _, _) => auth.strip_prefix("Bearer ").and_then(|t| s.tokens.get(t.trim()).copied()),
            (None, Some(email), Some(key)) => s.keys.get(&(email, key)).copied(),
            _ => None,
        }
    };
    match access {
        None => fail(401, 10000, "Authentication error"),
        Some(Access::Read) if method != Method::GET => fail(403, 10000, "Authentication error"),
        Some(_) => next.run(req).await,
    }
}

fn zone_json(z: &Zone) -> Value {
    json!({
        "id": z.id, "name": z.name, "status": "active", "paused": false, "type": "full",
        "development_mode": 0, "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": null, "original_registrar": null, "original_dnshost": null,
        "created_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z", "activated_on": "2026-01-01T00:00:00Z",
        "owner": {"id": "fedcba9876543210fedcba9876543210", "type": "user", "name": "exodns"},
        "account": {"id": "0123456789abcdef0123456789abcdef", "name": "exodns tests"},
        "meta": {"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
        "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
        "plan": {"id": if z.paid { "business" } else { "free" }, "name": if z.paid { "Business Website" } else { "Free Website" },
            "price": 0, "currency": "USD", "frequency": "", "is_subscribed": z.paid, "can_subscribe": false,
            "legacy_id": if z.paid { "business" } else { "free" }, "legacy_discount": false, "externally_managed": false},
    })
}

async fn list_zones(State(state): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut zones: Vec<&Zone> = s.zones.iter().collect();
    if let Some(name) = query_param(&q, "name") {
        zones.retain(|z| z.name == name.to_ascii_lowercase());
    }
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    let all: Vec<Value> = zones.iter().map(|z| zone_json(z)).collect();
    let (items, page, per_page) = paginate(&all, &q, 20);
    ok_page(items, page, per_page, all.len())
}

async fn get_zone(State(state): State<Shared>, Path(zone_id): Path<String>) -> Response {
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    match s.zones.iter().find(|z| z.id == zone_id) {
        Some(z) => ok(zone_json(z)),
        None => fail(404, 1001, "Invalid zone identifier"),
    }
}

fn record_json(r: &CfRecord, zone_name: &str) -> Value {
    let mut v = json!({
        "id": r.id, "zone_id": r.zone_id, "zone_name": zone_name, "name": r.name, "type": r.rtype,
        "content": r.content, "proxiable": PROXIABLE.contains(&r.rtype.as_str()), "proxied": r.proxied,
        "ttl": r.ttl, "settings": {}, "meta": {}, "comment": r.comment.clone().unwrap_or_default(), "tags": r.tags,
        "created_on": r.created_on, "modified_on": r.modified_on, "data": r.data.clone().unwrap_or_else(|| json!({})),
    });
    if let Some(p) = r.priority {
        v["priority"] = json!(p);
    }
    v
}

async fn list_records(State(state): State<Shared>, Path(zone_id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(zone) = s.zones.iter().find(|z| z.id == zone_id) else {
        return fail(404, 7003, "Could not route to /zones/…/dns_records, perhaps your object identifier is invalid?");
    };
    let name = query_param(&q, "name").map(str::to_ascii_lowercase);
    let rtype = query_param(&q, "type");
    let all: Vec<&CfRecord> = s
        .records
        .iter()
        .filter(|r| r.zone_id == zone_id)
        .filter(|r| name.as_ref().is_none_or(|n| *n == r.name))
        .filter(|r| rtype.is_none_or(|t| t == r.rtype))
        .collect();
    // JSON for the page only: a 10 000-record zone read page by page stays linear.
    let (items, page, per_page) = paginate(&all, &q, 100);
    let items = items.into_iter().map(|r| record_json(r, &zone.name)).collect();
    ok_page(items, page, per_page, all.len())
}

async fn get_record(State(state): State<Shared>, Path((zone_id, id)): Path<(String, String)>) -> Response {
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let zone_name = s.zones.iter().find(|z| z.id == zone_id).map(|z| z.name.clone()).unwrap_or_default();
    match s.records.iter().find(|r| r.zone_id == zone_id && r.id == id) {
        Some(r) => ok(record_json(r, &zone_name)),
        None => fail(404, 81044, "Record does not exist."),
    }
}

/// A refused operation: HTTP status, Cloudflare code, message.
type Refusal = (u16, u32, String);

/// The record a write asks for, checked against the zone (not yet stored).
fn record_from_body(s: &CfState, zone_id: &str, body: &Value, base: Option<&CfRecord>) -> Result<CfRecord, Refusal> {
    let bad = |m: String| Err((400, 9005, m));
    let zone = s.zones.iter().find(|z| z.id == zone_id).ok_or((404, 1001, "Invalid zone identifier".to_owned()))?;
    let get_str = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = get_str("name").or_else(|| base.map(|b| b.name.clone())).unwrap_or_default().to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_owned();
    let rtype = get_str("type").or_else(|| base.map(|b| b.rtype.clone())).unwrap_or_default();
    if name != zone.name && !name.ends_with(&format!(".{}", zone.name)) {
        return bad(format!("DNS name {name} is not within the zone {}", zone.name));
    }
    let data = body.get("data").cloned().or_else(|| base.and_then(|b| b.data.clone()));
    let priority = body
        .get("priority")
        .and_then(Value::as_f64)
        .map(|p| p as u16)
        .or_else(|| data.as_ref().and_then(|d| d.get("priority")).and_then(Value::as_f64).map(|p| p as u16))
        .or_else(|| base.and_then(|b| b.priority));
    let content = match (rtype.as_str(), &data) {
        ("SRV", Some(d)) => format!(
            "{} {} {}",
            d.get("weight").and_then(Value::as_f64).unwrap_or(0.0),
            d.get("port").and_then(Value::as_f64).unwrap_or(0.0),
            d.get("target").and_then(Value::as_str).unwrap_or_default()
        ),
        _ => get_str("content").or_else(|| base.map(|b| b.content.clone())).unwrap_or_default(),
    };
    if content.is_empty() {
        return bad(format!("DNS record {name} {rtype}: content is empty"));
    }
    let proxied = body.get("proxied").and_then(Value::as_bool).or_else(|| base.map(|b| b.proxied)).unwrap_or(false);
    let ttl = body.get("ttl").and_then(Value::as_f64).map(|t| t as u32).or_else(|| base.map(|b| b.ttl)).unwrap_or(1);
    if proxied && !PROXIABLE.contains(&rtype.as_str()) {
        return Err((400, 9004, format!("This record type cannot be proxied. ({name} {rtype})")));
    }
    if proxied && ttl != 1 {
        return Err((400, 9000, format!("A proxied record must have TTL 1 (automatic) ({name} {rtype} ttl {ttl})")));
    }
    let comment = match body.get("comment") {
        Some(Value::String(c)) if c.is_empty() => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(_) => None,
        None => base.and_then(|b| b.comment.clone()),
    };
    let limit = if zone.paid { 500 } else { 100 };
    if comment.as_ref().is_some_and(|c| c.chars().count() > limit) {
        return Err((400, 9100, format!("DNS record comment is longer than {limit} characters")));
    }
    let tags = match body.get("tags") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => base.map(|b| b.tags.clone()).unwrap_or_default(),
    };
    let now = now_rfc3339();
    Ok(CfRecord {
        id: base.map(|b| b.id.clone()).unwrap_or_default(),
        zone_id: zone_id.to_owned(),
        name,
        rtype,
        content,
        proxied,
        ttl,
        comment,
        tags,
        priority,
        data,
        created_on: base.map(|b| b.created_on.clone()).unwrap_or_else(|| now.clone()),
        modified_on: now,
    })
}

/// Cloudflare's conflicts: a CNAME shares its name with nothing, an identical record is refused.
fn check_conflicts(records: &[CfRecord], r: &CfRecord) -> Result<(), Refusal> {
    for o in records.iter().filter(|o| o.zone_id == r.zone_id && o.name == r.name && o.id != r.id) {
        if o.rtype == r.rtype && o.content.eq_ignore_ascii_case(&r.content) && o.priority == r.priority {
            return Err((400, 81058, format!("An identical record already exists. ({} {})", r.name, r.rtype)));
        }
        if r.rtype == "CNAME" && o.rtype != "CNAME" {
            return Err((
                400,
                81053,
                format!("An A, AAAA, or CNAME record with that host already exists. ({})", r.name),
            ));
        }
        if o.rtype == "CNAME" {
            return Err((400, 81054, format!("A CNAME record with that host already exists. ({})", r.name)));
        }
    }
    Ok(())
}

fn refuse(r: Refusal) -> Response {
    fail(r.0, r.1, &r.2)
}

fn zone_name(s: &CfState, zone_id: &str) -> String {
    s.zones.iter().find(|z| z.id == zone_id).map(|z| z.name.clone()).unwrap_or_default()
}

fn insert(s: &mut CfState, mut r: CfRecord) -> Result<CfRecord, Refusal> {
    check_conflicts(&s.records, &r)?;
    r.id = s.new_id();
    s.records.push(r.clone());
    Ok(r)
}

fn replace(s: &mut CfState, zone_id: &str, id: &str, body: &Value, merge: bool) -> Result<CfRecord, Refusal> {
    let pos = s.records.iter().position(|r| r.zone_id == zone_id && r.id == id).ok_or((
        404,
        81044,
        "Record does not exist.".to_owned(),
    ))?;
    let old = s.records[pos].clone();
    let mut base = old.clone();
    if !merge {
        // PUT overwrites: what the body does not say goes back to its default.
        base.comment = None;
        base.tags.clear();
        base.proxied = false;
        base.data = None;
        base.priority = None;
    }
    let new = record_from_body(s, zone_id, body, Some(&base))?;
    check_conflicts(&s.records, &new)?;
    s.records[pos] = new.clone();
    Ok(new)
}

fn remove(s: &mut CfState, zone_id: &str, id: &str) -> Result<CfRecord, Refusal> {
    let pos = s.records.iter().position(|r| r.zone_id == zone_id && r.id == id).ok_or((
        404,
        81044,
        "Record does not exist.".to_owned(),
    ))?;
    Ok(s.records.remove(pos))
}

async fn create_record(State(state): State<Shared>, Path(zone_id): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let result = record_from_body(&s, &zone_id, &body, None).and_then(|r| insert(&mut s, r));
    match result {
        Ok(r) => ok(record_json(&r, &zone_name(&s, &zone_id))),
        Err(e) => refuse(e),
    }
}

async fn put_record(
    State(state): State<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
    body: String,
) -> Response {
    write_one(state, &zone_id, &id, &body, false)
}

async fn patch_record(
    State(state): State<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
    body: String,
) -> Response {
    write_one(state, &zone_id, &id, &body, true)
}

fn write_one(state: Shared, zone_id: &str, id: &str, body: &str, merge: bool) -> Response {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match replace(&mut s, zone_id, id, &body, merge) {
        Ok(r) => ok(record_json(&r, &zone_name(&s, zone_id))),
        Err(e) => refuse(e),
    }
}

async fn delete_record(State(state): State<Shared>, Path((zone_id, id)): Path<(String, String)>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match remove(&mut s, &zone_id, &id) {
        Ok(r) => ok(json!({"id": r.id})),
        Err(e) => refuse(e),
    }
}

/// The batch endpoint: deletes, patches, puts, posts, in that order, all or nothing.
async fn batch(State(state): State<Shared>, Path(zone_id): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let list = |k: &str| body.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let (deletes, patches, puts, posts) = (list("deletes"), list("patches"), list("puts"), list("posts"));
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if !s.zones.iter().any(|z| z.id == zone_id) {
        return fail(404, 1001, "Invalid zone identifier");
    }
    let total = deletes.len() + patches.len() + puts.len() + posts.len();
    if total > s.batch_limit {
        return fail(400, 81070, &format!("Batch of {total} operations exceeds the limit of {}", s.batch_limit));
    }
    let saved_records = s.records.clone();
    let saved_next = s.next_id;
    let zname = zone_name(&s, &zone_id);
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut run = || -> Result<Value, Refusal> {
        let mut out = json!({"deletes": [], "patches": [], "puts": [], "posts": []});
        for d in &deletes {
            let r = remove(&mut s, &zone_id, &id_of(d))?;
            out["deletes"].as_array_mut().expect("array").push(record_json(&r, &zname));
        }
        for (key, items, merge) in [("patches", &patches, true), ("puts", &puts, false)] {
            for p in items {
                let r = replace(&mut s, &zone_id, &id_of(p), p, merge)?;
                out[key].as_array_mut().expect("array").push(record_json(&r, &zname));
            }
        }
        for p in &posts {
            let r = record_from_body(&s, &zone_id, p, None)?;
            let r = insert(&mut s, r)?;
            out["posts"].as_array_mut().expect("array").push(record_json(&r, &zname));
        }
        Ok(out)
    };
    match run() {
        Ok(out) => ok(out),
        Err(e) => {
            s.records = saved_records;
            s.next_id = saved_next;
            refuse(e)
        }
    }
}

fn regional_json(hostname: &str, key: &str) -> Value {
    json!({"hostname": hostname, "region_key": key, "routing": "dns", "created_on": "2026-01-01T00:00:00Z"})
}

async fn list_regional(State(state): State<Shared>, Path(zone_id): Path<String>) -> Response {
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let items: Vec<Value> =
        s.regional.iter().filter(|((z, _), _)| *z == zone_id).map(|((_, h), k)| regional_json(h, k)).collect();
    let n = items.len();
    ok_page(items, 1, n.max(1), n)
}

async fn create_regional(State(state): State<Shared>, Path(zone_id): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let hostname = body.get("hostname").and_then(Value::as_str).unwrap_or_default().to_owned();
    let key = body.get("region_key").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if s.regional.contains_key(&(zone_id.clone(), hostname.clone())) {
        return fail(400, 1003, &format!("regional hostname {hostname} already exists"));
    }
    s.regional.insert((zone_id, hostname.clone()), key.clone());
    ok(regional_json(&hostname, &key))
}

async fn edit_regional(
    State(state): State<Shared>,
    Path((zone_id, hostname)): Path<(String, String)>,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let key = body.get("region_key").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match s.regional.get_mut(&(zone_id, hostname.clone())) {
        Some(k) => {
            *k = key.clone();
            ok(regional_json(&hostname, &key))
        }
        None => fail(404, 1002, &format!("regional hostname {hostname} not found")),
    }
}

async fn delete_regional(State(state): State<Shared>, Path((zone_id, hostname)): Path<(String, String)>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match s.regional.remove(&(zone_id, hostname.clone())) {
        Some(_) => json_response(200, &json!({"success": true, "errors": [], "messages": []})),
        None => fail(404, 1002, &format!("regional hostname {hostname} not found")),
    }
}

/// Custom hostname ids are 32 hex digits, their certificates' ids UUIDs (the spec's lengths).
fn custom_json(id: &str, hostname: &str, origin: &str) -> Value {
    json!({"id": id, "hostname": hostname, "custom_origin_server": origin, "status": "pending",
        "created_at": "2026-01-01T00:00:00Z",
        "ssl": {"id": format!("{}-{}-4{}-8{}-{}", &id[0..8], &id[8..12], &id[13..16], &id[17..20], &id[20..32]), "type": "dv", "method": "http", "status": "initializing", "bundle_method": "ubiquitous"}})
}

async fn list_custom(State(state): State<Shared>, Path(zone_id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let all: Vec<Value> = s.custom.iter().filter(|c| c.1 == zone_id).map(|c| custom_json(&c.0, &c.2, &c.3)).collect();
    let (items, page, per_page) = paginate(&all, &q, 20);
    ok_page(items, page, per_page, all.len())
}

async fn create_custom(State(state): State<Shared>, Path(zone_id): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let hostname = body.get("hostname").and_then(Value::as_str).unwrap_or_default().to_owned();
    let origin = body.get("custom_origin_server").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if s.custom.iter().any(|c| c.2 == hostname) {
        return fail(409, 1406, &format!("Duplicate custom hostname found: {hostname}"));
    }
    let id = s.new_id();
    s.custom.push((id.clone(), zone_id, hostname.clone(), origin.clone()));
    ok(custom_json(&id, &hostname, &origin))
}

async fn delete_custom(State(state): State<Shared>, Path((zone_id, id)): Path<(String, String)>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let before = s.custom.len();
    s.custom.retain(|c| !(c.0 == id && c.1 == zone_id));
    if s.custom.len() == before {
        return fail(404, 1436, "The custom hostname was not found.");
    }
    json_response(200, &json!({"id": id}))
}
