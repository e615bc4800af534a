//! A small client of the ARM DNS REST API (zones, record sets; public or private flavour),
//! through [`exodns_http::bearer`]: every request carries a current bearer token (a 401 renews it
//! once) and upstream's `api-version`; no answer, 429 (honouring `Retry-After`) and 5xx are
//! retried (`--azure-maxretries-count`). Writes carry `If-Match` / `If-None-Match` so that a record set
//! changed since it was read is never overwritten.

use std::sync::Arc;

use bytes::Bytes;
use exodns_http::bearer::{BearerClient, Request, decode, encode};
use exodns_http::retry::RetryPolicy;
use reqwest::Method;
use reqwest::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

pub use exodns_http::bearer::ApiError;

use crate::auth::Auth;
use crate::convert::Flavor;

/// A zone as listed.
#[derive(Debug, Clone, Deserialize)]
pub struct ZoneInfo {
    #[serde(default)]
    pub id: String,
    pub name: String,
}

/// A record set as read.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSet {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub rtype: String,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub properties: Value,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

/// The precondition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Create only: `If-None-Match: *`.
    Absent,
    /// Only while the record set is still this version: `If-Match: <etag>`.
    Version(String),
}

/// The ARM client of one subscription and resource group.
#[derive(Clone)]
pub struct ArmClient {
    api: BearerClient<Auth>,
    /// `{arm}/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/{dnsZones|privateDnsZones}`
    zones: Url,
    flavor: Flavor,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("zones", &self.zones.as_str())
            .field("auth", self.api.auth())
            .finish_non_exhaustive()
    }
}

impl ArmClient {
    pub fn new(
        http: reqwest::Client,
        arm: &Url,
        subscription: &str,
        resource_group: &str,
        flavor: Flavor,
        auth: Arc<Auth>,
        retry: RetryPolicy,
    ) -> Self {
        let mut zones = arm.clone();
        if let Ok(mut segs) = zones.path_segments_mut() {
            segs.pop_if_empty().extend([
                "subscriptions",
                subscription,
                "resourceGroups",
                resource_group,
                "providers",
                "Microsoft.Network",
                flavor.zones_segment(),
            ]);
        }
        ArmClient { api: BearerClient::new(http, auth, retry), zones, flavor }
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.zones.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(segments);
        }
        url.query_pairs_mut().append_pair("api-version", self.flavor.api_version());
        url
    }

    /// The URL of a record set: its relative name goes in unescaped, as Azure's SDKs send it
    /// (`*.app`, `@`).
    fn record_url(&self, zone: &str, rtype: &str, name: &str) -> Url {
        let mut url = self.url(&[zone, rtype]);
        let path = format!("{}/{name}", url.path());
        url.set_path(&path);
        url
    }

    /// Every zone of the resource group (following `nextLink`).
    pub async fn list_zones(&self) -> Result<Vec<ZoneInfo>, ApiError> {
        self.list("list zones", self.url(&[])).await
    }

    /// Every record set of `zone` (following `nextLink`).
    pub async fn list_record_sets(&self, zone: &str) -> Result<Vec<RecordSet>, ApiError> {
        let url = self.url(&[zone, self.flavor.all_segment()]);
        self.list(&format!("list record sets of zone {zone}"), url).await
    }

    async fn list<T: serde::de::DeserializeOwned>(&self, call: &str, first: Url) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: Page<T> = decode(call, &self.api.send(Request::new(call, Method::GET, url)).await?.body)?;
            out.extend(page.value);
            if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                next = Some(self.same_origin(call, &link)?);
            }
        }
        Ok(out)
    }

    /// A `nextLink` on the configured ARM endpoint: its path and query kept, its origin ours,
    /// so that the token goes nowhere else.
    fn same_origin(&self, call: &str, link: &str) -> Result<Url, ApiError> {
        let parsed = Url::parse(link)
            .map_err(|e| ApiError::Decode { call: call.to_owned(), message: format!("nextLink: {e}") })?;
        let mut url = self.zones.clone();
        url.set_path(parsed.path());
        url.set_query(parsed.query());
        Ok(url)
    }

    /// The record set, or `None` when there is none.
    pub async fn get(&self, zone: &str, rtype: &str, name: &str) -> Result<Option<RecordSet>, ApiError> {
        let call = format!("read {rtype} {name} in zone {zone}");
        match self.api.send(Request::new(&call, Method::GET, self.record_url(zone, rtype, name))).await {
            Ok(answer) => decode(&call, &answer.body).map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PUT` of a record set under `guard`; its new etag.
    pub async fn put(
        &self,
        zone: &str,
        rtype: &str,
        name: &str,
        properties: &Value,
        guard: &Guard,
    ) -> Result<Option<String>, ApiError> {
        let call = format!("write {rtype} {name} in zone {zone}");
        let body = encode(&call, &serde_json::json!({"properties": properties}))?;
        let answer =
            self.send_guarded(&call, Method::PUT, self.record_url(zone, rtype, name), Some(body), guard).await?;
        let read: Option<RecordSet> = serde_json::from_slice(&answer.body).ok();
        let etag = answer.headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(read.and_then(|r| r.etag).or(etag))
    }

    /// `DELETE` of a record set while it is still version `etag`.
    pub async fn delete(&self, zone: &str, rtype: &str, name: &str, etag: &str) -> Result<(), ApiError> {
        let call = format!("delete {rtype} {name} in zone {zone}");
        let guard = Guard::Version(etag.to_owned());
        self.send_guarded(&call, Method::DELETE, self.record_url(zone, rtype, name), None, &guard).await.map(drop)
    }

    async fn send_guarded(
        &self,
        call: &str,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        guard: &Guard,
    ) -> Result<exodns_http::retry::Answer, ApiError> {
        let precondition = match guard {
            Guard::Absent => (IF_NONE_MATCH, "*".to_owned()),
            Guard::Version(etag) => (IF_MATCH, etag.clone()),
        };
        self.api.send(Request { body, headers: vec![precondition], ..Request::new(call, method, url) }).await
    }
}
