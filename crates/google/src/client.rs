//! A small client of the Cloud DNS v1 REST API: managed zones and resource record sets (paged),
//! changes (create, get), through [`exodns_http::bearer`] (a current token on each request, 401
//! renewed once, no answer / 429 / 5xx retried).

use std::sync::Arc;

use exodns_http::bearer::{BearerClient, Request, decode, encode};
use exodns_http::retry::RetryPolicy;
use reqwest::Method;
use url::Url;

pub use exodns_http::bearer::ApiError;

use crate::auth::Auth;
use crate::model::{Change, ManagedZone, ManagedZonesPage, RRSet, RRSetsPage};

/// The REST client. Cheap to clone (shares the connection pool and the token).
#[derive(Clone)]
pub struct DnsClient {
    api: BearerClient<Auth>,
    /// `{endpoint}/dns/v1/projects`
    base: Url,
}

impl std::fmt::Debug for DnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsClient")
            .field("base", &self.base.as_str())
            .field("auth", self.api.auth())
            .finish_non_exhaustive()
    }
}

impl DnsClient {
    /// `endpoint` is the API's root (`https://dns.googleapis.com`); a path prefix is kept.
    pub fn new(http: reqwest::Client, endpoint: &Url, auth: Arc<Auth>, retry: RetryPolicy) -> Self {
        let mut base = endpoint.clone();
        if let Ok(mut segs) = base.path_segments_mut() {
            segs.pop_if_empty().extend(["dns", "v1", "projects"]);
        }
        DnsClient { api: BearerClient::new(http, auth, retry), base }
    }

    pub fn auth(&self) -> &Auth {
        self.api.auth()
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(segments);
        }
        url
    }

    /// `GET projects/{p}/managedZones`, every page.
    pub async fn list_zones(&self, project: &str) -> Result<Vec<ManagedZone>, ApiError> {
        let url = self.url(&[project, "managedZones"]);
        let mut zones = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: ManagedZonesPage = self.get_page("list managed zones", &url, token.as_deref()).await?;
            zones.extend(page.managed_zones);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(zones),
            }
        }
    }

    /// `GET projects/{p}/managedZones/{z}/rrsets`, every page.
    pub async fn list_rrsets(&self, project: &str, zone: &str) -> Result<Vec<RRSet>, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "rrsets"]);
        let call = format!("list record sets of zone {zone}");
        let mut rrsets = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: RRSetsPage = self.get_page(&call, &url, token.as_deref()).await?;
            rrsets.extend(page.rrsets);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(rrsets),
            }
        }
    }

    /// `POST projects/{p}/managedZones/{z}/changes`: the change as Cloud DNS accepted it
    /// (`pending` or `done`).
    pub async fn create_change(&self, project: &str, zone: &str, change: &Change) -> Result<Change, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "changes"]);
        let call = format!("create change in zone {zone}");
        let req = Request { body: Some(encode(&call, change)?), ..Request::new(&call, Method::POST, url) };
        decode(&call, &self.api.send(req).await?.body)
    }

    /// `GET projects/{p}/managedZones/{z}/changes/{id}`.
    pub async fn get_change(&self, project: &str, zone: &str, id: &str) -> Result<Change, ApiError> {
        let url = self.url(&[project, "managedZones", zone, "changes", id]);
        let call = format!("read change {id} of zone {zone}");
        decode(&call, &self.api.send(Request::new(&call, Method::GET, url)).await?.body)
    }

    async fn get_page<T: serde::de::DeserializeOwned>(
        &self,
        call: &str,
        url: &Url,
        page: Option<&str>,
    ) -> Result<T, ApiError> {
        let mut url = url.clone();
        if let Some(p) = page {
            url.query_pairs_mut().append_pair("pageToken", p);
        }
        decode(call, &self.api.send(Request::new(call, Method::GET, url)).await?.body)
    }
}
