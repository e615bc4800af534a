//! A stateful **fake** of the DNS part of the Hetzner Cloud API (`/v1`): zones, rrsets, the
//! rrset actions (`set_records`, `add_records`, `remove_records`, `update_records`,
//! `change_ttl`) and the asynchronous actions they start, with Bearer-token authentication and
//! rate-limit headers.
//!
//! It answers in the shapes of Hetzner's OpenAPI spec (Prism checks them) and refuses what the
//! spec cannot express: an rrset that exists already (409 `uniqueness_error`), a CNAME beside
//! another rrset, a CNAME/MX/NS/SRV target without its final dot, an unquoted TXT value (422
//! `invalid_input`), a write with a read-only token (403). Actions finish at once unless
//! [`HetznerFake::slow_actions`] keeps them `running` for some polls, or
//! [`HetznerFake::fail_next_action`] makes one end in `error` (its change is then not applied).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FakeServer, Fault, json_response, now_rfc3339, query_pairs, query_param};

/// The paths this fake serves, as Hetzner's spec names them (for [`crate::prism::trim_spec`]).
pub const SPEC_PATHS: &[&str] = &[
    "/actions",
    "/actions/{id}",
    "/zones",
    "/zones/{id_or_name}",
    "/zones/{id_or_name}/rrsets",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/set_records",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/add_records",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/remove_records",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/update_records",
    "/zones/{id_or_name}/rrsets/{rr_name}/{rr_type}/actions/change_ttl",
];

/// The base path of the Hetzner Cloud API (`https://api.hetzner.cloud/v1`).
pub const MOUNT: &str = "/v1";

/// Where Hetzner's spec is kept in this repository (Hetzner serves it from no registry).
pub const SPEC_FILE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/specs/hetzner-cloud-zones.openapi.json");

/// Types whose record values name a host, which must end with a dot.
const HOST_TARGETS: &[&str] = &["CNAME", "MX", "NS", "SRV", "PTR"];

/// What a token may do (Hetzner project tokens are "Read" or "Read & Write").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

/// One rrset as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HzRRSet {
    /// Relative to the zone; `@` for the apex.
    pub name: String,
    pub rtype: String,
    pub ttl: Option<u32>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Zone {
    id: u64,
    name: String,
    rrsets: BTreeMap<(String, String), HzRRSet>,
}

#[derive(Debug, Clone)]
struct Action {
    id: u64,
    command: String,
    zone: u64,
    /// Polls left before it finishes.
    polls_left: u32,
    error: Option<String>,
    started: String,
}

#[derive(Debug)]
struct HzState {
    zones: Vec<Zone>,
    tokens: HashMap<String, Access>,
    actions: BTreeMap<u64, Action>,
    next_id: u64,
    slow_polls: u32,
    fail_next: Option<(String, String)>,
    /// Rate limit: requests per hour, the bucket, and when it was last refilled.
    limit: u32,
    remaining: f64,
    refilled: Instant,
}

type Shared = Arc<Mutex<HzState>>;

/// The fake, with its server. Dropping it stops the server.
pub struct HetznerFake {
    server: FakeServer,
    state: Shared,
}

impl std::fmt::Debug for HetznerFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HetznerFake").field("server", &self.server).finish_non_exhaustive()
    }
}

impl HetznerFake {
    /// A fake with no zone and no token, actions finishing at once, and a rate limit too high
    /// to matter (see [`HetznerFake::set_rate_limit`]).
    pub fn start() -> HetznerFake {
        let state: Shared = Arc::new(Mutex::new(HzState {
            zones: Vec::new(),
            tokens: HashMap::new(),
            actions: BTreeMap::new(),
            next_id: 0,
            slow_polls: 0,
            fail_next: None,
            limit: 1_000_000,
            remaining: 1_000_000.0,
            refilled: Instant::now(),
        }));
        let rr = "/zones/{zone}/rrsets/{name}/{rtype}";
        let api = axum::Router::new()
            .route("/actions", get(list_actions))
            .route("/actions/{id}", get(get_action))
            .route("/zones", get(list_zones))
            .route("/zones/{zone}", get(get_zone))
            .route("/zones/{zone}/rrsets", get(list_rrsets).post(create_rrset))
            .route(rr, get(get_rrset).delete(delete_rrset))
            .route(&format!("{rr}/actions/{{action}}"), post(rrset_action))
            .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let router = axum::Router::new().nest(MOUNT, api);
        HetznerFake { server: FakeServer::start("hetzner", router), state }
    }

    fn state(&self) -> MutexGuard<'_, HzState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// `http://127.0.0.1:PORT/v1`, what `HCLOUD_ENDPOINT` is set to.
    pub fn base_url(&self) -> String {
        format!("{}{MOUNT}", self.server.url())
    }

    pub fn add_token(&self, token: &str, access: Access) {
        self.state().tokens.insert(token.to_owned(), access);
    }

    /// Adds a zone; returns its id.
    pub fn add_zone(&self, name: &str) -> u64 {
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.zones.push(Zone { id, name: name.to_owned(), rrsets: BTreeMap::new() });
        id
    }

    /// The rrsets of zone `zone`, ordered by name and type.
    pub fn rrsets(&self, zone: &str) -> Vec<HzRRSet> {
        self.state()
            .zones
            .iter()
            .find(|z| z.name == zone)
            .map(|z| z.rrsets.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds an rrset directly ("made by hand"), bypassing the API.
    pub fn insert_rrset(&self, zone: &str, name: &str, rtype: &str, ttl: Option<u32>, values: &[&str]) {
        let mut s = self.state();
        let z = s.zones.iter_mut().find(|z| z.name == zone).expect("zone exists");
        let set = HzRRSet {
            name: name.to_owned(),
            rtype: rtype.to_owned(),
            ttl,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        z.rrsets.insert((name.to_owned(), rtype.to_owned()), set);
    }

    /// Every action from now on stays `running` for `polls` polls before it finishes.
    pub fn slow_actions(&self, polls: u32) {
        self.state().slow_polls = polls;
    }

    /// The next action whose command contains `command` ends in `error` with `message`, and its
    /// change is not applied.
    pub fn fail_next_action(&self, command: &str, message: &str) {
        self.state().fail_next = Some((command.to_owned(), message.to_owned()));
    }

    /// `limit` requests per hour, refilled evenly; the bucket starts full.
    pub fn set_rate_limit(&self, limit: u32) {
        let mut s = self.state();
        s.limit = limit;
        s.remaining = f64::from(limit);
        s.refilled = Instant::now();
    }

    /// Actions not finished yet.
    pub fn running_actions(&self) -> usize {
        self.state().actions.values().filter(|a| a.polls_left > 0).count()
    }
}

/// Hetzner's error body.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "details": null}})
}

/// A fault answering `status` in Hetzner's error shape, with `Retry-After` when given.
pub fn error_fault(status: u16, retry_after: Option<u64>) -> Fault {
    let (code, message) = match status {
        429 => ("rate_limit_exceeded", "limit of requests per hour reached"),
        401 => ("unauthorized", "unable to authenticate"),
        403 => ("forbidden", "insufficient permissions for this request"),
        503 => ("unavailable", "service temporarily unavailable"),
        _ => ("server_error", "internal server error"),
    };
    Fault::Status {
        status,
        headers: retry_after.map(|s| vec![("retry-after".to_owned(), s.to_string())]).unwrap_or_default(),
        body: error_body(code, message).to_string(),
    }
}

fn fail(status: u16, code: &str, message: &str) -> Response {
    json_response(status, &error_body(code, message))
}

/// Authentication and the rate limit; adds the `RateLimit-*` headers to every answer.
async fn gate(
    State(state): State<Shared>,
    headers: HeaderMap,
    method: Method,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let (access, limit, remaining, reset) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let per_sec = f64::from(s.limit) / 3600.0;
        let refill = s.refilled.elapsed().as_secs_f64() * per_sec;
        s.remaining = (s.remaining + refill).min(f64::from(s.limit));
        s.refilled = Instant::now();
        let access = token.and_then(|t| s.tokens.get(t.trim()).copied());
        let allowed = s.remaining >= 1.0;
        if allowed && access.is_some() {
            s.remaining -= 1.0;
        }
        let missing = f64::from(s.limit) - s.remaining;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let reset = now + (missing / per_sec).ceil() as u64;
        (access.map(|a| (a, allowed)), u64::from(s.limit), s.remaining.floor() as u64, reset)
    };
    let mut resp = match access {
        None => fail(401, "unauthorized", "unable to authenticate"),
        Some((_, false)) => fail(429, "rate_limit_exceeded", "limit of requests per hour reached"),
        Some((Access::Read, _)) if method != Method::GET => {
            fail(403, "forbidden", "insufficient permissions for this request")
        }
        Some(_) => next.run(req).await,
    };
    let h = resp.headers_mut();
    for (k, v) in [("ratelimit-limit", limit), ("ratelimit-remaining", remaining), ("ratelimit-reset", reset)] {
        h.insert(k, v.to_string().parse().expect("header value"));
    }
    resp
}

fn meta(page: usize, per_page: usize, total: usize) -> Value {
    let last = total.div_ceil(per_page.max(1)).max(1);
    json!({"pagination": {
        "page": page, "per_page": per_page,
        "previous_page": if page > 1 { json!(page - 1) } else { Value::Null },
        "next_page": if page < last { json!(page + 1) } else { Value::Null },
        "last_page": last, "total_entries": total}})
}

fn paginate<T: Clone>(all: &[T], q: &[(String, String)]) -> (Vec<T>, Value) {
    let per_page = query_param(q, "per_page").and_then(|v| v.parse().ok()).unwrap_or(25usize).clamp(1, 100);
    let page = query_param(q, "page").and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
    let items = all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    (items, meta(page, per_page, all.len()))
}

fn zone_json(z: &Zone) -> Value {
    json!({
        "id": z.id, "name": z.name, "created": "2026-01-01T00:00:00Z", "mode": "primary",
        "primary_nameservers": [], "labels": {}, "protection": {"delete": false}, "ttl": 3600,
        "status": "ok", "record_count": z.rrsets.values().map(|r| r.values.len()).sum::<usize>(),
        "authoritative_nameservers": {
            "assigned": ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."],
            "delegated": ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."],
            "delegation_last_check": "2026-01-01T00:00:00Z", "delegation_status": "valid"},
        "registrar": "other",
    })
}

fn rrset_json(zone: u64, r: &HzRRSet) -> Value {
    json!({
        "id": format!("{}/{}", r.name, r.rtype), "name": r.name, "type": r.rtype, "ttl": r.ttl,
        "labels": {}, "protection": {"change": false}, "zone": zone,
        "records": r.values.iter().map(|v| json!({"value": v, "comment": ""})).collect::<Vec<_>>(),
    })
}

fn action_json(a: &Action) -> Value {
    let done = a.polls_left == 0;
    let status = match (done, &a.error) {
        (false, _) => "running",
        (true, None) => "success",
        (true, Some(_)) => "error",
    };
    json!({
        "id": a.id, "command": a.command, "status": status, "progress": if done { 100 } else { 50 },
        "started": a.started, "finished": if done { json!(now_rfc3339()) } else { Value::Null },
        "resources": [{"id": a.zone, "type": "zone"}],
        "error": match (done, &a.error) {
            (true, Some(m)) => json!({"code": "action_failed", "message": m}),
            _ => Value::Null,
        },
    })
}

fn find_zone<'a>(s: &'a mut HzState, id_or_name: &str) -> Option<&'a mut Zone> {
    s.zones.iter_mut().find(|z| z.id.to_string() == id_or_name || z.name == id_or_name)
}

async fn list_zones(State(state): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut zones: Vec<&Zone> = s.zones.iter().collect();
    if let Some(name) = query_param(&q, "name") {
        zones.retain(|z| z.name == name);
    }
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    let all: Vec<Value> = zones.iter().map(|z| zone_json(z)).collect();
    let (items, meta) = paginate(&all, &q);
    json_response(200, &json!({"zones": items, "meta": meta}))
}

async fn get_zone(State(state): State<Shared>, Path(zone): Path<String>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match find_zone(&mut s, &zone) {
        Some(z) => json_response(200, &json!({"zone": zone_json(z)})),
        None => fail(404, "not_found", "zone not found"),
    }
}

async fn list_rrsets(State(state): State<Shared>, Path(zone): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(z) = find_zone(&mut s, &zone) else { return fail(404, "not_found", "zone not found") };
    let all: Vec<&HzRRSet> = z
        .rrsets
        .values()
        .filter(|r| query_param(&q, "name").is_none_or(|n| n == r.name))
        .filter(|r| query_param(&q, "type").is_none_or(|t| t == r.rtype))
        .collect();
    // JSON for the page only: a 10 000-set zone read page by page stays linear.
    let (page, meta) = paginate(&all, &q);
    let items: Vec<Value> = page.into_iter().map(|r| rrset_json(z.id, r)).collect();
    json_response(200, &json!({"rrsets": items, "meta": meta}))
}

async fn get_rrset(State(state): State<Shared>, Path((zone, name, rtype)): Path<(String, String, String)>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(z) = find_zone(&mut s, &zone) else { return fail(404, "not_found", "zone not found") };
    match z.rrsets.get(&(name, rtype)) {
        Some(r) => json_response(200, &json!({"rrset": rrset_json(z.id, r)})),
        None => fail(404, "not_found", "rrset not found"),
    }
}

/// A refused change: status, code, message.
type Refusal = (u16, &'static str, String);

fn check_values(rtype: &str, values: &[String]) -> Result<(), Refusal> {
    let bad = |m: String| Err((422, "invalid_input", m));
    if values.is_empty() {
        return bad("records must not be empty".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for v in values {
        if !seen.insert(v) {
            return bad(format!("duplicate record value {v:?}"));
        }
        if HOST_TARGETS.contains(&rtype) && !v.ends_with('.') {
            return bad(format!("{rtype} value {v:?} must be a fully qualified name ending with a dot"));
        }
        if rtype == "TXT" && !(v.starts_with('"') && v.ends_with('"') && v.len() >= 2) {
            return bad(format!("TXT value {v:?} must be enclosed in double quotes"));
        }
    }
    Ok(())
}

fn check_cname(z: &Zone, name: &str, rtype: &str) -> Result<(), Refusal> {
    let clash = z.rrsets.keys().any(|(n, t)| n == name && t != rtype && (t == "CNAME" || rtype == "CNAME"));
    if clash {
        return Err((422, "invalid_input", format!("a CNAME rrset cannot share the name {name:?} with another rrset")));
    }
    Ok(())
}

/// Starts an action for `zone`; `apply` runs unless the action is made to fail. Returns it.
fn start_action(s: &mut HzState, command: &str, zone: u64, apply: impl FnOnce(&mut HzState)) -> Action {
    s.next_id += 1;
    let fail = s.fail_next.as_ref().filter(|(c, _)| command.contains(c.as_str())).map(|(_, m)| m.clone());
    if fail.is_some() {
        s.fail_next = None;
    } else {
        apply(s);
    }
    let a = Action {
        id: s.next_id,
        command: command.to_owned(),
        zone,
        polls_left: s.slow_polls,
        error: fail,
        started: now_rfc3339(),
    };
    s.actions.insert(a.id, a.clone());
    a
}

fn values_of(body: &Value) -> Vec<String> {
    body.get("records")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r.get("value").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default()
}

async fn create_rrset(State(state): State<Shared>, Path(zone): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let rtype = body.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let ttl = body.get("ttl").and_then(Value::as_u64).map(|t| t as u32);
    let values = values_of(&body);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(z) = find_zone(&mut s, &zone) else { return fail(404, "not_found", "zone not found") };
    let zid = z.id;
    if z.rrsets.contains_key(&(name.clone(), rtype.clone())) {
        return fail(409, "uniqueness_error", &format!("rrset {name}/{rtype} already exists"));
    }
    if let Err((st, code, m)) = check_values(&rtype, &values).and_then(|()| check_cname(z, &name, &rtype)) {
        return fail(st, code, &m);
    }
    let set = HzRRSet { name: name.clone(), rtype: rtype.clone(), ttl, values };
    let stored = set.clone();
    let action = start_action(&mut s, "create_rrset", zid, move |s| {
        if let Some(z) = s.zones.iter_mut().find(|z| z.id == zid) {
            z.rrsets.insert((name, rtype), stored);
        }
    });
    json_response(201, &json!({"rrset": rrset_json(zid, &set), "action": action_json(&action)}))
}

async fn delete_rrset(
    State(state): State<Shared>,
    Path((zone, name, rtype)): Path<(String, String, String)>,
) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(z) = find_zone(&mut s, &zone) else { return fail(404, "not_found", "zone not found") };
    let zid = z.id;
    let key = (name, rtype);
    if !z.rrsets.contains_key(&key) {
        return fail(404, "not_found", "rrset not found");
    }
    let action = start_action(&mut s, "delete_rrset", zid, move |s| {
        if let Some(z) = s.zones.iter_mut().find(|z| z.id == zid) {
            z.rrsets.remove(&key);
        }
    });
    json_response(201, &json!({"action": action_json(&action)}))
}

/// `set_records`, `add_records`, `remove_records`, `update_records`, `change_ttl`.
async fn rrset_action(
    State(state): State<Shared>,
    Path((zone, name, rtype, action)): Path<(String, String, String, String)>,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let values = values_of(&body);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(z) = find_zone(&mut s, &zone) else { return fail(404, "not_found", "zone not found") };
    let zid = z.id;
    let key = (name.clone(), rtype.clone());
    let current = z.rrsets.get(&key).cloned();
    let next = match (action.as_str(), current) {
        ("set_records", cur) => {
            if let Err((st, code, m)) = check_values(&rtype, &values).and_then(|()| check_cname(z, &name, &rtype)) {
                return fail(st, code, &m);
            }
            let ttl = cur.as_ref().and_then(|c| c.ttl);
            Some(HzRRSet { name: name.clone(), rtype: rtype.clone(), ttl, values })
        }
        ("add_records", cur) => {
            let mut all = cur.as_ref().map(|c| c.values.clone()).unwrap_or_default();
            for v in values {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
            if let Err((st, code, m)) = check_values(&rtype, &all).and_then(|()| check_cname(z, &name, &rtype)) {
                return fail(st, code, &m);
            }
            let ttl = body.get("ttl").and_then(Value::as_u64).map(|t| t as u32).or(cur.and_then(|c| c.ttl));
            Some(HzRRSet { name: name.clone(), rtype: rtype.clone(), ttl, values: all })
        }
        (_, None) => return fail(404, "not_found", "rrset not found"),
        ("remove_records", Some(cur)) => {
            let left: Vec<String> = cur.values.iter().filter(|v| !values.contains(v)).cloned().collect();
            // Removing the last record removes the rrset.
            (!left.is_empty()).then_some(HzRRSet { values: left, ..cur })
        }
        ("update_records", Some(cur)) => Some(cur),
        ("change_ttl", Some(cur)) => {
            Some(HzRRSet { ttl: body.get("ttl").and_then(Value::as_u64).map(|t| t as u32), ..cur })
        }
        (other, Some(_)) => return fail(404, "not_found", &format!("unknown action {other}")),
    };
    let command = format!("{action}_rrset");
    let a = start_action(&mut s, &command, zid, move |s| {
        if let Some(z) = s.zones.iter_mut().find(|z| z.id == zid) {
            match next {
                Some(n) => z.rrsets.insert(key, n),
                None => z.rrsets.remove(&key),
            };
        }
    });
    json_response(201, &json!({"action": action_json(&a)}))
}

fn poll(s: &mut HzState, id: u64) -> Option<Value> {
    let a = s.actions.get_mut(&id)?;
    let v = action_json(a);
    a.polls_left = a.polls_left.saturating_sub(1);
    Some(v)
}

async fn get_action(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    match poll(&mut s, id) {
        Some(a) => json_response(200, &json!({"action": a})),
        None => fail(404, "not_found", "action not found"),
    }
}

async fn list_actions(State(state): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let q = query_pairs(q.as_deref());
    let ids: Vec<u64> = q.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let actions: Vec<Value> = ids.iter().filter_map(|id| poll(&mut s, *id)).collect();
    let n = actions.len();
    json_response(200, &json!({"actions": actions, "meta": meta(1, n.max(1), n)}))
}
