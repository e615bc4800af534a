//! [`HetznerProvider`]: the [`Provider`] over the DNS part of the Hetzner Cloud API.
//!
//! Hetzner keeps rrsets (name relative to the zone, `@` for the apex; values in presentation
//! form with host names absolute and TXT quoted). exodns writes one rrset per endpoint: create
//! (`POST /rrsets`), `set_records` for new values, `change_ttl` for a new TTL, delete. Each write
//! starts an action; the provider sends a phase's writes (deletes first, then the rest), then
//! waits for their actions together, each at most `action_timeout`. An action that ends in
//! `error` is reported on its endpoint; the rest of the sync goes on.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use exodns_core::target::canonical_target;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, RecordType, Secret, Ttl};
use exodns_http::{RequestObserver, RetryPolicy};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use crate::client::{HzClient, is_transient};
use crate::model::{RRSet, Zone};
use exodns_http::ApiError;

const PROVIDER: &str = <crate::Hetzner as exodns_provider::ProviderKind>::INFO.name;

/// The Hetzner Cloud API, as its SDKs default to it.
pub const DEFAULT_ENDPOINT: &str = "https://api.hetzner.cloud/v1";
/// Most records one rrset action takes (the spec's `maxItems`).
pub const MAX_RECORDS: usize = 50;

/// Everything the provider needs.
#[derive(Debug, Clone)]
pub struct HetznerConfig {
    /// `HCLOUD_ENDPOINT`, with the `/v1` path.
    pub endpoint: Url,
    pub token: Secret,
    pub domain_filter: DomainFilter,
    /// `--zone-id-filter`: only zones with these ids.
    pub zone_id_filter: Vec<String>,
    pub dry_run: bool,
    /// Zones and rrsets per page.
    pub page_size: u32,
    /// Longest wait for one action to finish.
    pub action_timeout: Duration,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl HetznerConfig {
    pub fn new(token: Secret) -> Self {
        HetznerConfig {
            endpoint: Url::parse(DEFAULT_ENDPOINT).expect("default URL"),
            token,
            domain_filter: DomainFilter::default(),
            zone_id_filter: Vec::new(),
            dry_run: false,
            page_size: 100,
            action_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, Clone)]
struct ManagedZone {
    id: u64,
    name: String,
}

#[derive(Debug, Default)]
struct State {
    zones: Vec<ManagedZone>,
    all: Vec<String>,
    index: ZoneIndex,
}

/// The Hetzner provider.
#[derive(Debug)]
pub struct HetznerProvider {
    client: HzClient,
    cfg: HetznerConfig,
    state: RwLock<Option<Arc<State>>>,
}

/// The rrset name of `name` in `zone`: relative, `@` for the apex.
fn relative(name: &DnsName, zone: &str) -> String {
    let n = name.as_str();
    if n == zone { "@".to_owned() } else { n.strip_suffix(&format!(".{zone}")).unwrap_or(n).to_owned() }
}

/// A canonical target as Hetzner takes it: host names absolute.
fn wire_value(rt: RecordType, target: &str) -> String {
    let absolute = |h: &str| if h == "." || h.ends_with('.') { h.to_owned() } else { format!("{h}.") };
    match rt {
        RecordType::CNAME | RecordType::NS | RecordType::PTR => absolute(target),
        RecordType::MX | RecordType::SRV => match target.rsplit_once(' ') {
            Some((head, host)) => format!("{head} {}", absolute(host)),
            None => target.to_owned(),
        },
        _ => target.to_owned(),
    }
}

impl HetznerProvider {
    pub fn new(cfg: HetznerConfig) -> Result<Self, String> {
        let client = HzClient::new(cfg.endpoint.clone(), &cfg.token, cfg.timeout, cfg.retry)?;
        Ok(HetznerProvider { client, cfg, state: RwLock::new(None) })
    }

    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.client = self.client.with_observer(observer);
        self
    }

    fn cached(&self) -> Option<Arc<State>> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn list_zones(&self) -> Result<State, ApiError> {
        let zones: Vec<Zone> = self.client.list_all("list zones", &["zones"], "zones", self.cfg.page_size).await?;
        let all: Vec<String> = zones.iter().map(|z| z.name.to_ascii_lowercase()).collect();
        let f = &self.cfg.domain_filter;
        let managed: Vec<ManagedZone> = zones
            .into_iter()
            .filter(|z| self.cfg.zone_id_filter.is_empty() || self.cfg.zone_id_filter.contains(&z.id.to_string()))
            .map(|z| ManagedZone { id: z.id, name: z.name.to_ascii_lowercase() })
            .filter(|z| !f.is_configured() || f.matches(&z.name))
            .collect();
        let index = ZoneIndex::new(managed.iter().map(|z| z.name.clone()));
        Ok(State { zones: managed, all, index })
    }

    async fn read_zone(&self, zone: &ManagedZone) -> Result<Vec<Endpoint>, ApiError> {
        let id = zone.id.to_string();
        let sets: Vec<RRSet> = self
            .client
            .list_all(&format!("list rrsets of {}", zone.name), &["zones", &id, "rrsets"], "rrsets", self.cfg.page_size)
            .await?;
        let mut out = Vec::with_capacity(sets.len());
        for s in sets {
            let rt: RecordType = match s.rtype.parse() {
                Ok(RecordType::SOA) => continue,
                Ok(t) => t,
                Err(_) => {
                    tracing::debug!(zone = %zone.name, name = %s.name, rtype = %s.rtype, "rrset of a type exodns does not carry; skipped");
                    continue;
                }
            };
            let fqdn = if s.name == "@" { zone.name.clone() } else { format!("{}.{}", s.name, zone.name) };
            let Ok(name) = DnsName::parse(&fqdn) else {
                tracing::warn!(zone = %zone.name, name = %s.name, "rrset name does not parse; skipped");
                continue;
            };
            let targets: Result<Vec<String>, _> = s.records.iter().map(|r| canonical_target(rt, &r.value)).collect();
            match targets {
                Ok(t) => out.push(Endpoint::new(name, rt, t.into()).with_ttl(Ttl(s.ttl.unwrap_or(0)))),
                Err(e) => tracing::warn!(zone = %zone.name, name = %s.name, rtype = %s.rtype, "rrset skipped: {e}"),
            }
        }
        Ok(out)
    }

    /// Sends one write; its action id, or why the write was refused.
    async fn write(
        &self,
        call: &str,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Option<u64>, ApiError> {
        let v = self.client.send(call, method, segments, &[], body).await?;
        Ok(v.get("action").and_then(|a| a.get("id")).and_then(Value::as_u64))
    }
}

/// One write of a phase, with the endpoint it is for.
struct Write<'a> {
    ep: &'a Endpoint,
    zone: &'a ManagedZone,
    what: &'static str,
    method: Method,
    path: Vec<String>,
    body: Option<Value>,
}

fn ttl_value(ttl: Ttl) -> Value {
    if ttl.is_set() { json!(ttl.0) } else { Value::Null }
}

fn records_value(ep: &Endpoint) -> Value {
    Value::Array(ep.targets.iter().map(|t| json!({"value": wire_value(ep.record_type, t)})).collect())
}

/// Why `ep` cannot be written to Hetzner, if it cannot.
fn unwritable(ep: &Endpoint) -> Option<String> {
    if ep.ttl.is_set() && ep.ttl.0 < 60 {
        return Some(format!("TTL {}: Hetzner takes 60 seconds or more", ep.ttl.0));
    }
    if ep.targets.len() > MAX_RECORDS {
        return Some(format!("{} values: Hetzner takes at most {MAX_RECORDS} per rrset", ep.targets.len()));
    }
    None
}

fn provider_error(e: &ApiError) -> ProviderError {
    if e.is_auth() {
        ProviderError::permanent(
            PROVIDER,
            format!("{e} (check HETZNER_TOKEN / HCLOUD_TOKEN: a Read & Write API token of the project)"),
        )
    } else if is_transient(e) {
        ProviderError::Transient { provider: PROVIDER.into(), message: e.to_string(), retry_after: e.retry_after() }
    } else {
        ProviderError::permanent(PROVIDER, e.to_string())
    }
}

impl HetznerProvider {
    /// Sends a phase's writes, then waits for their actions together. Refusals and failed
    /// actions are reported per endpoint; a transient failure ends the apply.
    async fn run_phase(&self, writes: Vec<Write<'_>>, report: &mut ApplyReport) -> Result<usize, ProviderError> {
        let mut waiting: Vec<(u64, &Endpoint, &str, String)> = Vec::new();
        let mut applied = 0;
        for w in writes {
            let segs: Vec<&str> = w.path.iter().map(String::as_str).collect();
            let call = format!("{} {} {}", w.what, w.ep.dns_name, w.ep.record_type);
            match self.write(&call, w.method, &segs, w.body.as_ref()).await {
                Ok(Some(id)) => waiting.push((id, w.ep, w.what, w.zone.name.clone())),
                Ok(None) => applied += 1,
                Err(e) if e.is_auth() => {
                    let reason = format!(
                        "Hetzner refused writing to zone {} ({e}): the API token must be a Read & Write token of the \
                         project; nothing was changed",
                        w.zone.name
                    );
                    tracing::error!(zone = %w.zone.name, "{reason}");
                    report.rejected.push(Rejected { endpoint: w.ep.clone(), reason: RejectReason::Refused(reason) });
                }
                Err(e) if is_transient(&e) => return Err(provider_error(&e)),
                Err(e) => {
                    let reason = format!(
                        "Hetzner refused {} of {} {} in zone {}: {}",
                        w.what,
                        w.ep.dns_name,
                        w.ep.record_type,
                        w.zone.name,
                        e.message()
                    );
                    tracing::warn!(zone = %w.zone.name, "{reason}");
                    report.rejected.push(Rejected { endpoint: w.ep.clone(), reason: RejectReason::Refused(reason) });
                }
            }
        }
        let ids: Vec<u64> = waiting.iter().map(|w| w.0).collect();
        let outcomes = self.client.wait_actions(&ids, self.cfg.action_timeout).await.map_err(|e| provider_error(&e))?;
        for (id, outcome) in outcomes {
            let Some((_, ep, what, zone)) = waiting.iter().find(|w| w.0 == id) else { continue };
            match outcome {
                Ok(()) => applied += 1,
                Err(why) => {
                    let reason = format!(
                        "Hetzner could not apply {what} of {} {} in zone {zone}: {why}",
                        ep.dns_name, ep.record_type
                    );
                    tracing::warn!(zone = %zone, "{reason}");
                    report.rejected.push(Rejected { endpoint: (*ep).clone(), reason: RejectReason::Refused(reason) });
                }
            }
        }
        Ok(applied)
    }
}

#[async_trait]
impl Provider for HetznerProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn domain_filter(&self) -> DomainFilter {
        match self.cached() {
            Some(s) if !s.all.is_empty() => DomainFilter::new(&s.all, &[]),
            _ => self.cfg.domain_filter.clone(),
        }
    }

    fn zones(&self) -> Option<ZoneIndex> {
        self.cached().map(|s| s.index.clone())
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let started = Instant::now();
        let state = self.list_zones().await.map_err(|e| provider_error(&e))?;
        let mut records = Records::default();
        for zone in &state.zones {
            match self.read_zone(zone).await {
                Ok(eps) => records.endpoints.extend(eps),
                Err(e) => {
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone; leaving it alone this time");
                    records.unreadable_zones.push(ZoneFailure { zone: zone.name.clone(), reason: e.to_string() });
                }
            }
        }
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(state));
        tracing::debug!(
            endpoints = records.endpoints.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Hetzner records read"
        );
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        if self.cfg.dry_run {
            tracing::info!("dry run: no change sent to Hetzner");
            return Ok(report);
        }
        let state = match self.cached() {
            Some(s) => s,
            None => {
                let s = Arc::new(self.list_zones().await.map_err(|e| provider_error(&e))?);
                *self.state.write().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
                s
            }
        };
        let zone_of = |ep: &Endpoint| {
            let z = state.index.zone_of(&ep.dns_name)?;
            state.zones.iter().find(|m| m.name == z)
        };
        let rrset_path = |zone: &ManagedZone, ep: &Endpoint| {
            vec![
                "zones".to_owned(),
                zone.id.to_string(),
                "rrsets".into(),
                relative(&ep.dns_name, &zone.name),
                ep.record_type.as_str().into(),
            ]
        };
        let mut deletes = Vec::new();
        let mut writes = Vec::new();
        let place = |ep: &Endpoint, report: &mut ApplyReport| match zone_of(ep) {
            Some(z) => Some(z),
            None => {
                tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no managed Hetzner zone holds this name");
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
                None
            }
        };
        for ep in &changes.delete {
            if let Some(zone) = place(ep, &mut report) {
                deletes.push(Write {
                    ep,
                    zone,
                    what: "delete",
                    method: Method::DELETE,
                    path: rrset_path(zone, ep),
                    body: None,
                });
            }
        }
        for ep in &changes.create {
            let Some(zone) = place(ep, &mut report) else { continue };
            if let Some(why) = unwritable(ep) {
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::Refused(why) });
                continue;
            }
            let body = json!({"name": relative(&ep.dns_name, &zone.name), "type": ep.record_type.as_str(),
                "ttl": ttl_value(ep.ttl), "records": records_value(ep)});
            let path = vec!["zones".to_owned(), zone.id.to_string(), "rrsets".into()];
            writes.push(Write { ep, zone, what: "create", method: Method::POST, path, body: Some(body) });
        }
        for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
            let Some(zone) = place(new, &mut report) else { continue };
            if let Some(why) = unwritable(new) {
                report.rejected.push(Rejected { endpoint: new.clone(), reason: RejectReason::Refused(why) });
                continue;
            }
            let action = |name: &str| {
                let mut p = rrset_path(zone, new);
                p.extend(["actions".to_owned(), name.to_owned()]);
                p
            };
            if !new.targets.same(&old.targets) {
                let body = json!({"records": records_value(new)});
                writes.push(Write {
                    ep: new,
                    zone,
                    what: "set_records",
                    method: Method::POST,
                    path: action("set_records"),
                    body: Some(body),
                });
            }
            if new.ttl.is_set() && new.ttl != old.ttl {
                let body = json!({"ttl": ttl_value(new.ttl)});
                writes.push(Write {
                    ep: new,
                    zone,
                    what: "change_ttl",
                    method: Method::POST,
                    path: action("change_ttl"),
                    body: Some(body),
                });
            }
        }
        // Deletes first (a CNAME gives way to an A of the same name), then creates and updates.
        let mut applied = self.run_phase(deletes, &mut report).await?;
        applied += self.run_phase(writes, &mut report).await?;
        tracing::info!(applied, rejected = report.rejected.len(), "changes applied to Hetzner");
        Ok(report)
    }

    /// Hetzner keeps no provider-specific properties: none are compared (another provider's
    /// `aws/…` would otherwise be an update at every sync); a TTL below Hetzner's minimum is
    /// reported when written.
    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        for ep in &mut endpoints {
            ep.provider_specific.clear();
        }
        Ok(endpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_as_hetzner_takes_them() {
        let n = |s: &str| DnsName::parse(s).unwrap();
        assert_eq!(relative(&n("example.org"), "example.org"), "@");
        assert_eq!(relative(&n("www.example.org"), "example.org"), "www");
        assert_eq!(wire_value(RecordType::CNAME, "lb.example.net"), "lb.example.net.");
        assert_eq!(wire_value(RecordType::MX, "10 mail.example.org"), "10 mail.example.org.");
        assert_eq!(wire_value(RecordType::SRV, "0 50 5060 ."), "0 50 5060 .");
        assert_eq!(wire_value(RecordType::TXT, "\"v=spf1 -all\""), "\"v=spf1 -all\"");
        assert_eq!(wire_value(RecordType::A, "192.0.2.1"), "192.0.2.1");
    }
}
