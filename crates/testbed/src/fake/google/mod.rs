//! A fake of Google Cloud DNS v1 (managed zones, record sets, changes) and of the places its
//! clients get tokens from: the OAuth token endpoint (JWT bearer grant of a service-account key),
//! the security token service and IAM credentials (workload identity federation with
//! impersonation), and the GCE metadata server. A **fake**: it keeps zones and record sets, applies
//! changes atomically as Cloud DNS documents (a deletion must match the record set exactly: 412
//! `conditionNotMet`; an addition of an existing one: 409 `alreadyExists`; a missing one: 404),
//! pages lists, and can keep a change `pending` for a number of reads.
//!
//! Every token request is checked field by field against what Google's endpoints expect — the
//! JWT's RS256 signature under the service account's public key, its `kid`, `iss`, `aud`,
//! `scope`, `iat`/`exp`; the STS form; the `Metadata-Flavor` header — and recorded as a
//! [`Grant`] ([`super::issuer`]). The DNS API accepts only tokens it issued and that have not expired.

// Checks answer with the ready error response as their `Err`: test code, where its size is of
// no concern.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde_json::{Value, json};

mod auth;

pub use super::issuer::Grant;
use super::issuer::{FormGrant, Issuer, bearer};
use super::{FakeServer, json_response, query_pairs, query_param};
pub use auth::service_account_key;

/// The Cloud DNS read-write scope the provider must ask for.
pub const DNS_SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A service account the token endpoint trusts.
#[derive(Debug, Clone)]
struct Trusted {
    email: String,
    key_id: String,
    public_key: Vec<u8>,
}

/// Workload identity federation the STS accepts.
#[derive(Debug, Clone)]
pub struct Federation {
    pub audience: String,
    pub subject_token: String,
    pub subject_token_type: String,
    /// The service account impersonated (`None`: the STS token is used directly).
    pub impersonate: Option<String>,
}

#[derive(Debug, Clone)]
struct Rrset {
    ttl: u32,
    rrdatas: Vec<String>,
}

#[derive(Debug, Clone)]
struct Zone {
    name: String,
    dns_name: String,
    id: u64,
    visibility: String,
    /// (name, type) → data
    rrsets: BTreeMap<(String, String), Rrset>,
    changes: Vec<ChangeRecord>,
}

#[derive(Debug, Clone)]
struct ChangeRecord {
    body: Value,
    /// Reads left that still answer `pending`.
    pending_reads: u32,
}

type Hook = Box<dyn FnOnce(&mut FakeDns) + Send>;

/// The state a test can reach into.
pub struct FakeDns {
    project: String,
    zones: Vec<Zone>,
    next_id: u64,
    /// Items per page of every list.
    pub page_size: usize,
    /// Reads for which each new change stays `pending`.
    pub pending_reads: u32,
    /// Called (once) when the next `changes.create` arrives, before it is applied: a writer
    /// changing records behind the client's back.
    before_next_change: Option<Hook>,
    trusted: Vec<Trusted>,
    federation: Option<Federation>,
    /// The project the metadata server names.
    pub metadata_project: String,
    /// Refuse every token request (as for a deleted key).
    pub refuse_tokens: bool,
    /// Grants judged, tokens issued (`ya29.fake-…`).
    pub issuer: Issuer,
    /// Changes applied.
    pub changes_applied: usize,
    /// Changes refused (4xx).
    pub changes_refused: usize,
    /// Whether a `changes.create` arrived while an earlier change of its zone was still pending.
    pub created_while_pending: bool,
    base_url: String,
}

impl std::fmt::Debug for FakeDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDns")
            .field("project", &self.project)
            .field("zones", &self.zones.len())
            .finish_non_exhaustive()
    }
}

/// The fake, served on a loopback port.
pub struct GoogleFake {
    server: FakeServer,
    state: Arc<Mutex<FakeDns>>,
}

impl GoogleFake {
    /// A fake Cloud DNS with project `project` and no zones.
    pub fn start(project: &str) -> GoogleFake {
        let state = Arc::new(Mutex::new(FakeDns::new(project)));
        let router = axum::Router::new()
            .route("/dns/v1/projects/{project}/managedZones", get(list_zones))
            .route("/dns/v1/projects/{project}/managedZones/{zone}/rrsets", get(list_rrsets))
            .route("/dns/v1/projects/{project}/managedZones/{zone}/changes", post(create_change))
            .route("/dns/v1/projects/{project}/managedZones/{zone}/changes/{id}", get(get_change))
            .route("/token", post(auth::jwt_grant))
            .route("/v1/token", post(auth::token_exchange))
            .route("/v1/projects/-/serviceAccounts/{action}", post(auth::impersonate))
            .route("/computeMetadata/v1/instance/service-accounts/default/token", get(auth::metadata_token))
            .route("/computeMetadata/v1/project/project-id", get(auth::metadata_project))
            .with_state(state.clone());
        let server = FakeServer::start("google", router);
        state.lock().unwrap().base_url = server.url();
        GoogleFake { server, state }
    }

    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// `http://127.0.0.1:PORT`: the API root, the token endpoint's host and the metadata host.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:PORT`, for `GCE_METADATA_HOST`.
    pub fn metadata_host(&self) -> String {
        self.server.addr().to_string()
    }

    /// The token endpoint (`token_uri` of a key).
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url())
    }

    /// Changes the state (a test's setup, or a writer behind the client's back).
    pub fn with<R>(&self, f: impl FnOnce(&mut FakeDns) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds a managed zone `name` for `dns_name` (no trailing dot) with its SOA and NS.
    pub fn add_zone(&self, name: &str, dns_name: &str, visibility: &str) {
        self.with(|s| s.add_zone(name, dns_name, visibility));
    }

    /// Every record set of zone `name`: (name, type) → (ttl, rrdatas).
    pub fn rrsets(&self, zone: &str) -> BTreeMap<(String, String), (u32, Vec<String>)> {
        self.with(|s| s.rrsets(zone))
    }

    /// Runs `f` when the next `changes.create` arrives, before the fake looks at it.
    pub fn before_next_change(&self, f: impl FnOnce(&mut FakeDns) + Send + 'static) {
        self.with(|s| s.before_next_change = Some(Box::new(f)));
    }

    /// Trusts a service account (its PEM private key file: the fake checks signatures with its
    /// public half).
    pub fn trust_service_account(&self, email: &str, key_id: &str, key_pem: &Path) {
        let pem = std::fs::read_to_string(key_pem).expect("read the key");
        let der = auth::pem_body(&pem).expect("PEM key");
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("an RSA PKCS#8 key");
        let public_key = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
        self.with(|s| s.trusted.push(Trusted { email: email.into(), key_id: key_id.into(), public_key }));
    }

    /// Accepts workload identity federation with these fields.
    pub fn set_federation(&self, f: Federation) {
        self.with(|s| s.federation = Some(f));
    }

    /// Back to an empty project: no zones, keys, tokens, grants or counters; defaults restored.
    pub fn reset(&self) {
        self.with(|s| {
            let (project, base_url) = (s.project.clone(), s.base_url.clone());
            *s = FakeDns::new(&project);
            s.base_url = base_url;
        });
    }

    /// Every token request so far.
    pub fn grants(&self) -> Vec<Grant> {
        self.with(|s| s.issuer.grants().to_vec())
    }
}

impl FakeDns {
    fn new(project: &str) -> FakeDns {
        FakeDns {
            project: project.to_owned(),
            zones: Vec::new(),
            next_id: 1000,
            page_size: 50,
            pending_reads: 0,
            before_next_change: None,
            trusted: Vec::new(),
            federation: None,
            metadata_project: project.to_owned(),
            refuse_tokens: false,
            issuer: Issuer::new("ya29.fake"),
            changes_applied: 0,
            changes_refused: 0,
            created_while_pending: false,
            base_url: String::new(),
        }
    }

    /// Stops trusting a service account's key (as when the key is deleted).
    pub fn forget_service_account(&mut self, email: &str) {
        self.trusted.retain(|t| t.email != email);
    }

    pub fn add_zone(&mut self, name: &str, dns_name: &str, visibility: &str) {
        let fqdn = format!("{}.", dns_name.trim_end_matches('.'));
        let mut rrsets = BTreeMap::new();
        rrsets.insert(
            (fqdn.clone(), "SOA".into()),
            Rrset {
                ttl: 21600,
                rrdatas: vec![format!(
                    "ns-cloud-a1.googledomains.com. cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"
                )],
            },
        );
        rrsets.insert(
            (fqdn.clone(), "NS".into()),
            Rrset {
                ttl: 21600,
                rrdatas: vec!["ns-cloud-a1.googledomains.com.".into(), "ns-cloud-a2.googledomains.com.".into()],
            },
        );
        self.next_id += 1;
        self.zones.push(Zone {
            name: name.into(),
            dns_name: fqdn,
            id: self.next_id,
            visibility: visibility.into(),
            rrsets,
            changes: Vec::new(),
        });
    }

    pub fn rrsets(&self, zone: &str) -> BTreeMap<(String, String), (u32, Vec<String>)> {
        self.zone(zone)
            .map(|z| z.rrsets.iter().map(|(k, v)| (k.clone(), (v.ttl, v.rrdatas.clone()))).collect())
            .unwrap_or_default()
    }

    /// Sets a record set directly (`rrdatas` empty: removes it), as another writer would.
    pub fn set_rrset(&mut self, zone: &str, name: &str, rtype: &str, ttl: u32, rrdatas: &[&str]) {
        let z = self.zones.iter_mut().find(|z| z.name == zone).expect("zone");
        let key = (name.to_owned(), rtype.to_owned());
        if rrdatas.is_empty() {
            z.rrsets.remove(&key);
        } else {
            z.rrsets.insert(key, Rrset { ttl, rrdatas: rrdatas.iter().map(|s| (*s).to_owned()).collect() });
        }
    }

    fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name)
    }

    fn grant(&mut self, kind: &'static str, mut problems: Vec<String>) -> Result<Value, Response> {
        if self.refuse_tokens && problems.is_empty() {
            problems.push("refused by the test".into());
        }
        match self.issuer.grant(kind, &problems) {
            Some(token) => Ok(
                json!({"access_token": token, "expires_in": self.issuer.token_lifetime.as_secs(), "token_type": "Bearer"}),
            ),
            None => {
                Err(json_response(400, &json!({"error": "invalid_grant", "error_description": problems.join("; ")})))
            }
        }
    }

    /// Checks the bearer token of an API request.
    fn authorize(&mut self, headers: &HeaderMap) -> Result<(), Response> {
        if self.issuer.accepts(headers) {
            Ok(())
        } else {
            Err(google_error(401, "authError", "Request had invalid authentication credentials."))
        }
    }
}

/// Google's error body.
fn google_error(code: u16, reason: &str, message: &str) -> Response {
    json_response(
        code,
        &json!({"error": {"code": code, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
    )
}

type Shared = State<Arc<Mutex<FakeDns>>>;

fn lock(s: &Arc<Mutex<FakeDns>>) -> std::sync::MutexGuard<'_, FakeDns> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A page of `items` from the offset in `pageToken`.
fn page<T: Clone>(items: Vec<T>, query: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let pairs = query_pairs(query);
    let start: usize = query_param(&pairs, "pageToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let size = query_param(&pairs, "maxResults").and_then(|m| m.parse().ok()).unwrap_or(size).clamp(1, size.max(1));
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    (items.get(start..end).map(<[T]>::to_vec).unwrap_or_default(), next)
}

async fn list_zones(
    State(s): Shared,
    UrlPath(project): UrlPath<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    if project != st.project {
        return google_error(403, "forbidden", "The caller does not have permission");
    }
    let items: Vec<Value> = st
        .zones
        .iter()
        .map(|z| {
            json!({"kind": "dns#managedZone", "name": z.name, "dnsName": z.dns_name, "id": z.id.to_string(),
            "description": "", "visibility": z.visibility, "nameServers": ["ns-cloud-a1.googledomains.com."],
            "creationTime": "2026-01-01T00:00:00.000Z"})
        })
        .collect();
    let (items, next) = page(items, q.as_deref(), st.page_size);
    let mut body = json!({"kind": "dns#managedZonesListResponse", "managedZones": items});
    if let Some(n) = next {
        body["nextPageToken"] = n.into();
    }
    json_response(200, &body)
}

async fn list_rrsets(
    State(s): Shared,
    UrlPath((project, zone)): UrlPath<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    let Some(z) = st.zone(&zone).filter(|_| project == st.project) else {
        return google_error(
            404,
            "notFound",
            &format!("The 'parameters.managedZone' resource named '{zone}' does not exist."),
        );
    };
    // JSON for the page only: a 10 000-set zone read page by page stays linear.
    let (items, next) = page(z.rrsets.iter().collect(), q.as_deref(), st.page_size);
    let items: Vec<Value> = items
        .into_iter()
        .map(|((n, t), r)| json!({"kind": "dns#resourceRecordSet", "name": n, "type": t, "ttl": r.ttl, "rrdatas": r.rrdatas}))
        .collect();
    let mut body = json!({"kind": "dns#resourceRecordSetsListResponse", "rrsets": items});
    if let Some(n) = next {
        body["nextPageToken"] = n.into();
    }
    json_response(200, &body)
}

async fn create_change(
    State(s): Shared,
    UrlPath((project, zone)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    if let Some(hook) = st.before_next_change.take() {
        hook(&mut st);
    }
    let Some(zi) = st.zones.iter().position(|z| z.name == zone).filter(|_| project == st.project) else {
        return google_error(
            404,
            "notFound",
            &format!("The 'parameters.managedZone' resource named '{zone}' does not exist."),
        );
    };
    let Ok(change) = serde_json::from_slice::<Value>(&body) else {
        return google_error(400, "parseError", "Parse Error");
    };
    if st.zones[zi].changes.iter().any(|c| c.pending_reads > 0) {
        st.created_while_pending = true;
    }
    let result = apply(&mut st.zones[zi], &change);
    match result {
        Err((code, reason, message)) => {
            st.changes_refused += 1;
            google_error(code, reason, &message)
        }
        Ok(()) => {
            st.changes_applied += 1;
            st.next_id += 1;
            let pending = st.pending_reads;
            let mut record = json!({"kind": "dns#change", "id": st.next_id.to_string(), "startTime": "2026-01-01T00:00:00.000Z",
                "status": if pending > 0 { "pending" } else { "done" }});
            for k in ["additions", "deletions"] {
                if let Some(v) = change.get(k) {
                    record[k] = v.clone();
                }
            }
            st.zones[zi].changes.push(ChangeRecord { body: record.clone(), pending_reads: pending });
            json_response(200, &record)
        }
    }
}

/// Applies a change atomically: every deletion must match exactly, no addition may exist after
/// the deletions, names must lie in the zone, a CNAME stands alone.
fn apply(zone: &mut Zone, change: &Value) -> Result<(), (u16, &'static str, String)> {
    let mut next = zone.rrsets.clone();
    let list = |k: &str| change.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, d) in list("deletions").iter().enumerate() {
        let (key, rr) =
            rrset_of(d).ok_or((400, "invalid", format!("Invalid value for 'entity.change.deletions[{i}]'")))?;
        match next.get(&key) {
            None => {
                return Err((
                    404,
                    "notFound",
                    format!(
                        "The 'entity.change.deletions[{i}]' resource named '{} ({})' does not exist.",
                        key.0, key.1
                    ),
                ));
            }
            Some(cur) if cur.ttl != rr.ttl || cur.rrdatas != rr.rrdatas => {
                return Err((
                    412,
                    "conditionNotMet",
                    format!("Precondition not met for 'entity.change.deletions[{i}]'"),
                ));
            }
            Some(_) => {
                next.remove(&key);
            }
        }
    }
    for (i, a) in list("additions").iter().enumerate() {
        let (key, rr) =
            rrset_of(a).ok_or((400, "invalid", format!("Invalid value for 'entity.change.additions[{i}]'")))?;
        if !(key.0 == zone.dns_name || key.0.ends_with(&format!(".{}", zone.dns_name))) {
            return Err((
                400,
                "invalid",
                format!("Invalid value for 'entity.change.additions[{i}].name': '{}'", key.0),
            ));
        }
        if rr.rrdatas.is_empty() || (key.1 == "CNAME" && rr.rrdatas.len() != 1) {
            return Err((400, "invalid", format!("Invalid value for 'entity.change.additions[{i}].rrdata'")));
        }
        if next.contains_key(&key) {
            return Err((
                409,
                "alreadyExists",
                format!("The resource 'entity.change.additions[{i}]' named '{} ({})' already exists", key.0, key.1),
            ));
        }
        let cname_clash = next.keys().any(|(n, t)| *n == key.0 && (t == "CNAME") != (key.1 == "CNAME"));
        if cname_clash {
            return Err((
                400,
                "cnameResourceRecordSetConflict",
                format!(
                    "The resource record set 'entity.change.additions[{i}]' is invalid because a CNAME at '{}' must stand alone",
                    key.0
                ),
            ));
        }
        next.insert(key, rr);
    }
    zone.rrsets = next;
    Ok(())
}

fn rrset_of(v: &Value) -> Option<((String, String), Rrset)> {
    let name = v.get("name")?.as_str()?.to_ascii_lowercase();
    let rtype = v.get("type")?.as_str()?.to_owned();
    let ttl = u32::try_from(v.get("ttl").and_then(Value::as_u64).unwrap_or(0)).ok()?;
    let rrdatas =
        v.get("rrdatas")?.as_array()?.iter().map(|d| d.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()?;
    name.ends_with('.').then_some(((name, rtype), Rrset { ttl, rrdatas }))
}

async fn get_change(
    State(s): Shared,
    UrlPath((project, zone, id)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    let ok_project = project == st.project;
    let Some(z) = st.zones.iter_mut().find(|z| z.name == zone).filter(|_| ok_project) else {
        return google_error(404, "notFound", "zone not found");
    };
    let Some(c) = z.changes.iter_mut().find(|c| c.body["id"] == id.as_str()) else {
        return google_error(
            404,
            "notFound",
            &format!("The 'parameters.changeId' resource named '{id}' does not exist."),
        );
    };
    if c.pending_reads > 0 {
        c.pending_reads -= 1;
        if c.pending_reads == 0 {
            c.body["status"] = "done".into();
        }
        let mut shown = c.body.clone();
        shown["status"] = "pending".into();
        return json_response(200, &shown);
    }
    json_response(200, &c.body)
}
