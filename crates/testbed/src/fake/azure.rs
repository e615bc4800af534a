//! A fake of Azure Resource Manager's DNS and Private DNS APIs (zones, record sets) and of the
//! places Azure clients get tokens from: the Entra ID token endpoint (client secret, and client
//! assertion for workload identity) and the instance metadata endpoint (managed identity). A
//! **fake**: it keeps zones and record sets with an etag each and honours `If-Match` /
//! `If-None-Match` (412 `PreconditionFailed`), refuses a CNAME beside other types (409), pages
//! lists with `nextLink` (on `https://management.azure.com`, as ARM does: clients must keep their
//! own endpoint), and checks the `api-version` upstream sends (2018-05-01 public, 2024-06-01
//! private), which Prism cannot.
//!
//! Every token request is checked field by field and recorded as a [`Grant`]; ARM accepts only
//! tokens it issued and that have not expired.

// Checks answer with the ready error response as their `Err`: test code, where its size is of
// no concern.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

pub use super::issuer::Grant;
use super::issuer::{FormGrant, Issuer};
use super::{FakeServer, json_response, query_pairs, query_param};

/// The credentials the token endpoints accept.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// The federated token a workload identity presents.
    pub federated_token: String,
    /// The managed identity's client id (`None`: system-assigned).
    pub managed_client_id: Option<String>,
    /// The audience tokens are asked for (`…/.default` is the scope).
    pub audience: String,
}

#[derive(Debug, Clone)]
struct RecordSet {
    name: String,
    rtype: String,
    props: Value,
    etag: u64,
}

#[derive(Debug, Clone)]
struct Zone {
    name: String,
    private: bool,
    /// (TYPE, lowercase relative name) → record set
    sets: BTreeMap<(String, String), RecordSet>,
}

type Hook = Box<dyn FnOnce(&mut FakeArm) + Send>;

/// The state a test can reach into.
pub struct FakeArm {
    subscription: String,
    resource_group: String,
    zones: Vec<Zone>,
    next: u64,
    /// Items per page of every list.
    pub page_size: usize,
    before_next_write: Option<Hook>,
    pub identities: Identities,
    /// Grants judged, tokens issued (`azfake-…`).
    pub issuer: Issuer,
    /// Writes (PUT, DELETE) applied, and refused with 412.
    pub writes_applied: usize,
    pub writes_refused_412: usize,
    /// Requests with another api-version than upstream's.
    pub wrong_api_versions: usize,
}

/// The fake, served on a loopback port.
pub struct AzureFake {
    server: FakeServer,
    state: Arc<Mutex<FakeArm>>,
}

impl AzureFake {
    pub fn start(subscription: &str, resource_group: &str) -> AzureFake {
        let state = Arc::new(Mutex::new(FakeArm::new(subscription, resource_group)));
        let base = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}";
        let router = axum::Router::new()
            .route(base, get(list_zones))
            .route(&format!("{base}/{{zone}}/{{seg}}"), get(list_sets))
            .route(&format!("{base}/{{zone}}/{{rtype}}/{{name}}"), get(record).put(record).delete(record))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/metadata/identity/oauth2/token", get(imds))
            .with_state(state.clone());
        AzureFake { server: FakeServer::start("azure", router), state }
    }

    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// `http://127.0.0.1:PORT`: ARM, the authority host and the metadata endpoint.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeArm) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Back to no zones, tokens, grants or counters; defaults restored.
    pub fn reset(&self) {
        self.with(|s| *s = FakeArm::new(&s.subscription.clone(), &s.resource_group.clone()));
    }

    /// Runs `f` when the next PUT or DELETE of a record set arrives, before it is looked at.
    pub fn before_next_write(&self, f: impl FnOnce(&mut FakeArm) + Send + 'static) {
        self.with(|s| s.before_next_write = Some(Box::new(f)));
    }

    pub fn grants(&self) -> Vec<Grant> {
        self.with(|s| s.issuer.grants().to_vec())
    }

    /// The record sets of a zone: (TYPE, relative name) → properties.
    pub fn sets(&self, zone: &str) -> BTreeMap<(String, String), Value> {
        self.with(|s| {
            s.zones
                .iter()
                .find(|z| z.name == zone)
                .map(|z| z.sets.values().map(|r| ((r.rtype.clone(), r.name.clone()), r.props.clone())).collect())
                .unwrap_or_default()
        })
    }
}

impl FakeArm {
    fn new(subscription: &str, resource_group: &str) -> FakeArm {
        FakeArm {
            subscription: subscription.into(),
            resource_group: resource_group.into(),
            zones: Vec::new(),
            next: 100,
            page_size: 50,
            before_next_write: None,
            identities: Identities::default(),
            issuer: Issuer::new("azfake"),
            writes_applied: 0,
            writes_refused_412: 0,
            wrong_api_versions: 0,
        }
    }

    /// A zone (public or private) with its SOA (and, public, NS) record sets.
    pub fn add_zone(&mut self, name: &str, private: bool) {
        let mut zone = Zone { name: name.into(), private, sets: BTreeMap::new() };
        let (ttl, soa, ns) = if private { ("ttl", "soaRecord", None) } else { ("TTL", "SOARecord", Some("NSRecords")) };
        let mut soa_props = json!({"host": "ns1-01.azure-dns.com.", "email": "azuredns-hostmaster.microsoft.com",
            "serialNumber": 1, "refreshTime": 3600, "retryTime": 300, "expireTime": 2419200, "minimumTTL": 300});
        if private {
            soa_props["host"] = "azureprivatedns.net".into();
        }
        self.next += 1;
        zone.sets.insert(
            ("SOA".into(), "@".into()),
            RecordSet {
                name: "@".into(),
                rtype: "SOA".into(),
                props: json!({ttl: 3600, soa: soa_props}),
                etag: self.next,
            },
        );
        if let Some(ns) = ns {
            self.next += 1;
            zone.sets.insert(
                ("NS".into(), "@".into()),
                RecordSet {
                    name: "@".into(),
                    rtype: "NS".into(),
                    props: json!({ttl: 172800, ns: [{"nsdname": "ns1-01.azure-dns.com."}]}),
                    etag: self.next,
                },
            );
        }
        self.zones.push(zone);
    }

    /// Sets a record set's properties directly (`None`: removes it), as another writer would.
    pub fn set(&mut self, zone: &str, rtype: &str, name: &str, props: Option<Value>) {
        self.next += 1;
        let etag = self.next;
        let z = self.zones.iter_mut().find(|z| z.name == zone).expect("zone");
        let key = (rtype.to_owned(), name.to_ascii_lowercase());
        match props {
            Some(props) => {
                z.sets.insert(key, RecordSet { name: name.into(), rtype: rtype.into(), props, etag });
            }
            None => {
                z.sets.remove(&key);
            }
        }
    }

    fn grant(&mut self, kind: &'static str, problems: Vec<String>, imds: bool) -> Response {
        let Some(token) = self.issuer.grant(kind, &problems) else {
            return json_response(
                if imds { 400 } else { 401 },
                &json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: {}", problems.join("; "))}),
            );
        };
        let secs = self.issuer.token_lifetime.as_secs();
        if imds {
            json_response(
                200,
                &json!({"access_token": token, "expires_in": secs.to_string(), "token_type": "Bearer",
                "resource": self.identities.audience}),
            )
        } else {
            json_response(
                200,
                &json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token}),
            )
        }
    }

    fn authorize(&mut self, headers: &HeaderMap) -> Result<(), Response> {
        if self.issuer.accepts(headers) {
            Ok(())
        } else {
            Err(arm_error(401, "InvalidAuthenticationToken", "The access token is invalid."))
        }
    }

    /// The zone of a request, after the checks every ARM request passes.
    fn zone_index(
        &mut self,
        sub: &str,
        rg: &str,
        kind: &str,
        zone: &str,
        query: Option<&str>,
    ) -> Result<usize, Response> {
        self.check_scope(sub, rg, kind, query)?;
        let private = kind == "privateDnsZones";
        self.zones.iter().position(|z| z.name == zone && z.private == private).ok_or_else(|| {
            arm_error(
                404,
                "ResourceNotFound",
                &format!("The Resource 'Microsoft.Network/{kind}/{zone}' under resource group '{rg}' was not found."),
            )
        })
    }

    fn check_scope(&mut self, sub: &str, rg: &str, kind: &str, query: Option<&str>) -> Result<(), Response> {
        let want = match kind {
            "dnsZones" => "2018-05-01",
            "privateDnsZones" => "2024-06-01",
            _ => {
                return Err(arm_error(
                    404,
                    "InvalidResourceType",
                    &format!("The resource type '{kind}' could not be found"),
                ));
            }
        };
        let pairs = query_pairs(query);
        if query_param(&pairs, "api-version") != Some(want) {
            self.wrong_api_versions += 1;
            return Err(arm_error(
                400,
                "InvalidApiVersionParameter",
                &format!("api-version {:?} (upstream sends {want})", query_param(&pairs, "api-version")),
            ));
        }
        if sub != self.subscription || !rg.eq_ignore_ascii_case(&self.resource_group) {
            return Err(arm_error(404, "ResourceGroupNotFound", &format!("Resource group '{rg}' could not be found.")));
        }
        Ok(())
    }
}

fn arm_error(status: u16, code: &str, message: &str) -> Response {
    json_response(status, &json!({"error": {"code": code, "message": message}}))
}

type Shared = State<Arc<Mutex<FakeArm>>>;

fn lock(s: &Arc<Mutex<FakeArm>>) -> std::sync::MutexGuard<'_, FakeArm> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn id_of(sub: &str, rg: &str, kind: &str, rest: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{rest}")
}

/// A page from `$skiptoken`, with ARM's `nextLink` (on ARM's public origin). Only the page's
/// items are turned into JSON: a list of 20 000 record sets is read in 200 pages.
fn page<T>(items: &[T], to_json: impl Fn(&T) -> Value, path: &str, query: Option<&str>, size: usize) -> Value {
    let pairs = query_pairs(query);
    let start: usize = query_param(&pairs, "$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + size.max(1)).min(items.len());
    let value: Vec<Value> = items.get(start..end).unwrap_or_default().iter().map(to_json).collect();
    let mut body = json!({ "value": value });
    if end < items.len() {
        let api = query_param(&pairs, "api-version").unwrap_or_default();
        body["nextLink"] = format!("https://management.azure.com{path}?api-version={api}&$skiptoken={end}").into();
    }
    body
}

async fn list_zones(
    State(s): Shared,
    UrlPath((sub, rg, kind)): UrlPath<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    if let Err(r) = st.check_scope(&sub, &rg, &kind, q.as_deref()) {
        return r;
    }
    let private = kind == "privateDnsZones";
    let items: Vec<&Zone> = st.zones.iter().filter(|z| z.private == private).collect();
    let to_json = |z: &&Zone| {
        json!({"id": id_of(&sub, &rg, &kind, &z.name), "name": z.name, "type": format!("Microsoft.Network/{}", if private { "privateDnsZones" } else { "dnszones" }),
            "location": "global", "etag": "00000000-0000-0000-0000-000000000001",
            "properties": {"numberOfRecordSets": z.sets.len(), "maxNumberOfRecordSets": 10000}})
    };
    let path = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}");
    json_response(200, &page(&items, to_json, &path, q.as_deref(), st.page_size))
}

fn set_json(sub: &str, rg: &str, kind: &str, zone: &Zone, r: &RecordSet) -> Value {
    let prefix = if zone.private { "Microsoft.Network/privateDnsZones" } else { "Microsoft.Network/dnszones" };
    let mut props = r.props.clone();
    let fqdn = if r.name == "@" { format!("{}.", zone.name) } else { format!("{}.{}.", r.name, zone.name) };
    props["fqdn"] = fqdn.into();
    props["provisioningState"] = "Succeeded".into();
    if zone.private {
        props["isAutoRegistered"] = false.into();
    }
    json!({"id": id_of(sub, rg, kind, &format!("{}/{}/{}", zone.name, r.rtype, r.name)), "name": r.name,
        "type": format!("{prefix}/{}", r.rtype), "etag": etag(r.etag), "properties": props})
}

fn etag(n: u64) -> String {
    format!("{n:08x}-0000-0000-0000-000000000000")
}

async fn list_sets(
    State(s): Shared,
    UrlPath((sub, rg, kind, zone, seg)): UrlPath<(String, String, String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    let zi = match st.zone_index(&sub, &rg, &kind, &zone, q.as_deref()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let all = if kind == "dnsZones" { "all" } else { "ALL" };
    let z = &st.zones[zi];
    let items: Vec<&RecordSet> = z.sets.values().filter(|r| seg == all || r.rtype == seg).collect();
    let path = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{zone}/{seg}");
    json_response(200, &page(&items, |r| set_json(&sub, &rg, &kind, z, r), &path, q.as_deref(), st.page_size))
}

/// The records key of a type in each flavour.
fn records_key(private: bool, rtype: &str) -> Option<&'static str> {
    Some(match (private, rtype) {
        (false, "A") => "ARecords",
        (false, "AAAA") => "AAAARecords",
        (false, "CNAME") => "CNAMERecord",
        (false, "MX") => "MXRecords",
        (false, "NS") => "NSRecords",
        (false, "PTR") => "PTRRecords",
        (false, "SRV") => "SRVRecords",
        (false, "TXT") => "TXTRecords",
        (false, "CAA") => "caaRecords",
        (true, "A") => "aRecords",
        (true, "AAAA") => "aaaaRecords",
        (true, "CNAME") => "cnameRecord",
        (true, "MX") => "mxRecords",
        (true, "PTR") => "ptrRecords",
        (true, "SRV") => "srvRecords",
        (true, "TXT") => "txtRecords",
        _ => return None,
    })
}

async fn record(
    State(s): Shared,
    method: Method,
    UrlPath((sub, rg, kind, zone, rtype, name)): UrlPath<(String, String, String, String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = st.authorize(&headers) {
        return r;
    }
    if method != Method::GET
        && let Some(hook) = st.before_next_write.take()
    {
        hook(&mut st);
    }
    let zi = match st.zone_index(&sub, &rg, &kind, &zone, q.as_deref()) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let key = (rtype.clone(), name.to_ascii_lowercase());
    let current = st.zones[zi].sets.get(&key).map(|r| r.etag);
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // Preconditions, as ARM checks them.
    if method != Method::GET {
        let failed = match (header("if-match"), header("if-none-match")) {
            (Some(m), _) => current.is_none_or(|c| etag(c) != m),
            (None, Some(n)) if n == "*" => current.is_some(),
            _ => false,
        };
        if failed {
            st.writes_refused_412 += 1;
            return arm_error(
                412,
                "PreconditionFailed",
                "The condition in the If-Match or If-None-Match header was not satisfied.",
            );
        }
    }
    match method {
        Method::GET => match st.zones[zi].sets.get(&key) {
            Some(r) => json_response(200, &set_json(&sub, &rg, &kind, &st.zones[zi], r)),
            None => arm_error(
                404,
                "NotFound",
                &format!("The resource record '{name}' does not exist in resource group '{rg}'."),
            ),
        },
        Method::DELETE => {
            if current.is_none() {
                return json_response(204, &Value::Null);
            }
            st.zones[zi].sets.remove(&key);
            st.writes_applied += 1;
            json_response(200, &Value::Null)
        }
        _ => {
            let private = st.zones[zi].private;
            let Ok(req) = serde_json::from_slice::<Value>(&body) else {
                return arm_error(
                    400,
                    "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized.",
                );
            };
            let props = req.get("properties").cloned().unwrap_or(Value::Null);
            let Some(rk) = records_key(private, &rtype) else {
                return arm_error(400, "BadRequest", &format!("record type {rtype} is not supported here"));
            };
            let empty = match props.get(rk) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(_)) => false,
                _ => true,
            };
            if empty {
                return arm_error(400, "BadRequest", &format!("The record set must hold {rk}."));
            }
            let lname = name.to_ascii_lowercase();
            let clash =
                st.zones[zi].sets.keys().any(|(t, n)| *n == lname && *t != rtype && (t == "CNAME" || rtype == "CNAME"));
            if clash {
                return arm_error(
                    409,
                    "Conflict",
                    "The record set could not be created because a CNAME record set with the same name exists, or this is a CNAME beside other record sets.",
                );
            }
            let mut keep = serde_json::Map::new();
            for (k, v) in props.as_object().into_iter().flatten() {
                if !matches!(k.as_str(), "fqdn" | "provisioningState" | "isAutoRegistered") {
                    keep.insert(k.clone(), v.clone());
                }
            }
            st.next += 1;
            let n = st.next;
            let created = current.is_none();
            st.zones[zi].sets.insert(
                key.clone(),
                RecordSet { name: name.clone(), rtype: rtype.clone(), props: Value::Object(keep), etag: n },
            );
            st.writes_applied += 1;
            let z = &st.zones[zi];
            let mut resp =
                json_response(if created { 201 } else { 200 }, &set_json(&sub, &rg, &kind, z, &z.sets[&key]));
            resp.headers_mut().insert("etag", etag(n).parse().expect("etag header"));
            resp
        }
    }
}

async fn token(State(s): Shared, UrlPath(tenant): UrlPath<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = lock(&s);
    let id = st.identities.clone();
    let mut problems = Vec::new();
    let form = FormGrant::read(&headers, &body, &mut problems);
    if tenant != id.tenant {
        problems.push(format!("tenant {tenant}"));
    }
    // Azure's SDK appends `/.default` to the audience as it is (a double slash for ARM's).
    let scope = format!("{}/.default", id.audience);
    let kind = if form.has("client_assertion") { "workload-identity" } else { "client-secret" };
    let mut want =
        vec![("grant_type", "client_credentials"), ("client_id", id.client_id.as_str()), ("scope", scope.as_str())];
    if kind == "workload-identity" {
        want.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
        want.push(("client_assertion", id.federated_token.as_str()));
    } else {
        want.push(("client_secret", id.client_secret.as_str()));
    }
    form.expect(&want, &["client_secret", "client_assertion"], &[], &mut problems);
    st.grant(kind, problems, false)
}

async fn imds(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let mut st = lock(&s);
    let pairs = query_pairs(q.as_deref());
    let id = st.identities.clone();
    let mut problems = Vec::new();
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        problems.push("no Metadata: true header".to_owned());
    }
    if query_param(&pairs, "api-version") != Some("2018-02-01") {
        problems.push(format!("api-version {:?}", query_param(&pairs, "api-version")));
    }
    if query_param(&pairs, "resource") != Some(id.audience.as_str()) {
        problems.push(format!("resource {:?}", query_param(&pairs, "resource")));
    }
    if query_param(&pairs, "client_id") != id.managed_client_id.as_deref() {
        problems.push(format!("client_id {:?}", query_param(&pairs, "client_id")));
    }
    st.grant("managed-identity", problems, true)
}
