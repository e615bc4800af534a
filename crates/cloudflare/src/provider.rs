//! [`CloudflareProvider`]: the [`Provider`] over Cloudflare's v4 API.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, RecordType, Ttl};
use exodns_http::{ApiError, RequestObserver};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use reqwest::Method;
use serde_json::{Value, json};

use crate::batch::{self, Existing, Group, WriteDefaults, ZoneRecords};
use crate::client::CfClient;
use crate::config::{CloudflareConfig, MAX_COMMENT};
use crate::convert::{self, CUSTOM_HOSTNAME, PROXIED, RECORD_COMMENT, REGION_KEY, Skip, TAGS, proxiable};
use crate::error::CloudflareError;
use crate::model::{CustomHostname, Record, RecordBody, RegionalHostname, Zone};

const PROVIDER: &str = <crate::Cloudflare as exodns_provider::ProviderKind>::INFO.name;

/// A zone the provider manages (inside the filters).
#[derive(Debug, Clone)]
pub struct ManagedZone {
    pub id: String,
    /// Lowercase, without the final dot.
    pub name: String,
    pub paid: bool,
}

/// What the provider last read of a zone, kept up to date by its own writes: the ids that
/// deletes and updates need.
#[derive(Debug, Default, Clone)]
struct ZoneView {
    records: ZoneRecords,
    regional: BTreeMap<String, String>,
    custom: Vec<CustomHostname>,
}

#[derive(Debug, Default)]
struct State {
    zones: Vec<ManagedZone>,
    all: Vec<String>,
    index: ZoneIndex,
    views: HashMap<String, ZoneView>,
}

/// The Cloudflare provider.
#[derive(Debug)]
pub struct CloudflareProvider {
    client: CfClient,
    cfg: CloudflareConfig,
    state: RwLock<Option<Arc<State>>>,
}

impl CloudflareProvider {
    /// Checks the settings and builds the HTTP client; no request is sent.
    pub fn new(cfg: CloudflareConfig) -> Result<Self, CloudflareError> {
        let client = CfClient::new(&cfg)?;
        Ok(CloudflareProvider { client, cfg, state: RwLock::new(None) })
    }

    /// Calls `observer` after every request (metrics, request counts in tests and benchmarks).
    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.client = self.client.with_observer(observer);
        self
    }

    pub fn config(&self) -> &CloudflareConfig {
        &self.cfg
    }

    fn cached(&self) -> Option<Arc<State>> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn store(&self, s: State) -> Arc<State> {
        let s = Arc::new(s);
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
        s
    }

    /// The zones inside the filters: by id with `--zone-id-filter`, else every zone, paged.
    async fn list_zones(&self) -> Result<(Vec<ManagedZone>, Vec<String>), ApiError> {
        let zones: Vec<Zone> = if self.cfg.zone_id_filter.is_empty() {
            self.client.list_all("list zones", &["zones"], self.cfg.zones_per_page).await?
        } else {
            let mut out = Vec::new();
            for id in &self.cfg.zone_id_filter {
                let call = format!("read zone {id}");
                let (z, _) = self.client.call::<Zone>(&call, Method::GET, &["zones", id], &[], None).await?;
                out.extend(z);
            }
            out
        };
        let all: Vec<String> = zones.iter().map(|z| z.name.trim_end_matches('.').to_ascii_lowercase()).collect();
        let filter = &self.cfg.domain_filter;
        let managed = zones
            .into_iter()
            .map(|z| ManagedZone {
                name: z.name.trim_end_matches('.').to_ascii_lowercase(),
                paid: z.plan.is_some_and(|p| p.is_subscribed),
                id: z.id,
            })
            .filter(|z| !filter.is_configured() || filter.matches(&z.name))
            .collect();
        Ok((managed, all))
    }

    async fn read_zone(&self, zone: &ManagedZone) -> Result<(ZoneView, Vec<Endpoint>), ApiError> {
        let records: Vec<Record> = self
            .client
            .list_all(
                &format!("list records of {}", zone.name),
                &["zones", &zone.id, "dns_records"],
                self.cfg.records_per_page,
            )
            .await?;
        let mut view = ZoneView::default();
        if self.cfg.regional.is_some() {
            let rh: Vec<RegionalHostname> = self
                .client
                .list_all(
                    &format!("list regional hostnames of {}", zone.name),
                    &["zones", &zone.id, "addressing", "regional_hostnames"],
                    100,
                )
                .await?;
            view.regional = rh.into_iter().map(|r| (r.hostname, r.region_key)).collect();
        }
        if self.cfg.custom_hostnames.is_some() {
            view.custom = self
                .client
                .list_all(
                    &format!("list custom hostnames of {}", zone.name),
                    &["zones", &zone.id, "custom_hostnames"],
                    50,
                )
                .await?;
        }
        // One endpoint per (name, type), in the order Cloudflare lists them.
        type Group = (String, RecordType, Vec<(String, Record)>);
        let mut groups: Vec<Group> = Vec::new();
        let mut skipped = 0usize;
        for r in records {
            match convert::record_target(&r) {
                Ok((rt, target)) => {
                    let name = r.name.trim_end_matches('.').to_ascii_lowercase();
                    if let Some(body) = existing_body(&r, rt, &target) {
                        view.records.insert((name.clone(), rt, target.clone()), Existing { id: r.id.clone(), body });
                    }
                    match groups.iter_mut().find(|g| g.0 == name && g.1 == rt) {
                        Some(g) => g.2.push((target, r)),
                        None => groups.push((name, rt, vec![(target, r)])),
                    }
                }
                Err(Skip::Soa) => {}
                Err(why) => {
                    skipped += 1;
                    tracing::debug!(zone = %zone.name, name = %r.name, rtype = %r.rtype, "record skipped: {why}");
                }
            }
        }
        let mut endpoints = Vec::with_capacity(groups.len());
        for (name, rt, recs) in groups {
            let Ok(dns_name) = DnsName::parse(&name) else {
                tracing::warn!(zone = %zone.name, %name, "record name does not parse; skipped");
                continue;
            };
            let first = &recs[0].1;
            let mut ep = Endpoint::new(dns_name, rt, recs.iter().map(|(t, _)| t.as_str()).collect())
                .with_ttl(Ttl(first.ttl.max(0.0) as u32));
            ep.set_property(PROXIED, if first.proxied.unwrap_or(false) { "true" } else { "false" });
            if let Some(c) = first.comment.as_deref().filter(|c| !c.is_empty()) {
                ep.set_property(RECORD_COMMENT, c);
            }
            if let Some(tags) = first.tags.as_ref().filter(|t| !t.is_empty()) {
                ep.set_property(TAGS, convert::parse_tags(&tags.join(",")).join(","));
            }
            if self.cfg.regional.is_some() && proxiable(rt) {
                ep.set_property(REGION_KEY, view.regional.get(&name).cloned().unwrap_or_default());
            }
            let mut customs: Vec<&str> = view
                .custom
                .iter()
                .filter(|c| c.custom_origin_server.as_deref() == Some(name.as_str()))
                .map(|c| c.hostname.as_str())
                .collect();
            if !customs.is_empty() {
                customs.sort_unstable();
                ep.set_property(CUSTOM_HOSTNAME, customs.join(","));
            }
            ep.provider_specific.sort();
            endpoints.push(ep);
        }
        if skipped > 0 {
            tracing::debug!(zone = %zone.name, skipped, "records of types exodns does not carry were skipped");
        }
        Ok((view, endpoints))
    }

    fn defaults(&self, zone: &ManagedZone) -> WriteDefaults {
        WriteDefaults {
            proxied: self.cfg.proxied_by_default,
            comment: self.cfg.record_comment.clone(),
            max_comment: if zone.paid { MAX_COMMENT.1 } else { MAX_COMMENT.0 },
        }
    }

    async fn state_for_apply(&self) -> Result<Arc<State>, ProviderError> {
        match self.cached() {
            Some(s) => Ok(s),
            None => {
                self.records().await?;
                self.cached().ok_or_else(|| ProviderError::transient(PROVIDER, "no zone listing"))
            }
        }
    }

    /// Sends a zone's groups in chunks under the batch limit. A refused chunk (a 4xx about its
    /// content) is split until the refused group is alone; that group's endpoints are reported
    /// and the rest applied. Returns the zone's view as updated by what was applied.
    async fn apply_zone(
        &self,
        zone: &ManagedZone,
        groups: &[Group<'_>],
        mut view: ZoneView,
        report: &mut ApplyReport,
    ) -> Result<ZoneView, ProviderError> {
        let mut queue: std::collections::VecDeque<Vec<(usize, std::ops::Range<usize>)>> =
            batch::chunks(groups, self.cfg.batch_size).into();
        let (mut applied, mut requests) = (0usize, 0usize);
        while let Some(chunk) = queue.pop_front() {
            if requests > 0 && !self.cfg.batch_interval.is_zero() {
                tokio::time::sleep(self.cfg.batch_interval).await;
            }
            requests += 1;
            let body = batch::batch_body(groups, &chunk);
            let bytes = Bytes::from(serde_json::to_vec(&body).expect("batch serialises"));
            let call = format!("batch of zone {}", zone.name);
            match self
                .client
                .call::<Value>(&call, Method::POST, &["zones", &zone.id, "dns_records", "batch"], &[], Some(bytes))
                .await
            {
                Ok((result, _)) => {
                    applied += chunk.iter().map(|(_, r)| r.len()).sum::<usize>();
                    update_view(&mut view, &body, result.as_ref());
                }
                Err(e) if e.is_auth() => {
                    let reason = format!(
                        "Cloudflare refused writing to zone {} ({e}): the API token needs the Zone:Read and DNS:Edit \
                         permissions on this zone; nothing of this zone was changed",
                        zone.name
                    );
                    tracing::error!(zone = %zone.name, "{reason}");
                    let rest = std::iter::once(chunk).chain(queue.drain(..)).flatten();
                    reject_groups(report, groups, rest.map(|(g, _)| g), &reason);
                    return Ok(view);
                }
                Err(e) if !e.is_transient() && e.status().is_some_and(|s| (400..500).contains(&s)) => {
                    if chunk.len() > 1 {
                        let half = chunk.len() / 2;
                        tracing::debug!(zone = %zone.name, groups = chunk.len(), error = %e, "Cloudflare refused a batch; splitting it");
                        queue.push_front(chunk[half..].to_vec());
                        queue.push_front(chunk[..half].to_vec());
                    } else {
                        let g = &groups[chunk[0].0];
                        let reason = format!(
                            "Cloudflare refused the change of {} in zone {}: {}",
                            g.key,
                            zone.name,
                            e.message()
                        );
                        tracing::warn!(zone = %zone.name, name = %g.key, "{reason}");
                        reject_groups(report, groups, chunk.iter().map(|(g, _)| *g), &reason);
                    }
                }
                Err(e) => {
                    let mut message = e.to_string();
                    if applied > 0 {
                        message.push_str(&format!(" ({applied} operations of zone {} were applied before)", zone.name));
                    }
                    return Err(ProviderError::Transient {
                        provider: PROVIDER.into(),
                        message,
                        retry_after: e.retry_after(),
                    });
                }
            }
        }
        tracing::info!(zone = %zone.name, operations = applied, requests, "changes applied to Cloudflare");
        Ok(view)
    }

    /// Regional hostnames for the names this change set writes: created, changed or removed
    /// so that each has the region key of its endpoint.
    async fn apply_regional(
        &self,
        zone: &ManagedZone,
        changes: &[(&Endpoint, bool)],
        view: &mut ZoneView,
        report: &mut ApplyReport,
    ) {
        let Some(default_key) = &self.cfg.regional else { return };
        let mut desired: BTreeMap<String, (String, &Endpoint)> = BTreeMap::new();
        for &(ep, delete) in changes {
            if !proxiable(ep.record_type) {
                continue;
            }
            let key = if delete {
                String::new()
            } else {
                convert::property(ep, REGION_KEY).unwrap_or(default_key).to_owned()
            };
            let entry = desired.entry(ep.dns_name.as_str().to_owned()).or_insert((key.clone(), ep));
            if entry.0.is_empty() {
                *entry = (key, ep);
            }
        }
        for (host, (key, ep)) in desired {
            let current = view.regional.get(&host).cloned();
            let base = ["zones", zone.id.as_str(), "addressing", "regional_hostnames"];
            let result = match (current.as_deref(), key.as_str()) {
                (None, "") => continue,
                (Some(c), k) if c == k => continue,
                (None, k) => {
                    let body = json!({"hostname": host, "region_key": k}).to_string();
                    self.client.send("create regional hostname", Method::POST, &base, &[], Some(body.into())).await
                }
                (Some(_), "") => {
                    let path = [&base[..], &[host.as_str()]].concat();
                    self.client.send("delete regional hostname", Method::DELETE, &path, &[], None).await
                }
                (Some(_), k) => {
                    let path = [&base[..], &[host.as_str()]].concat();
                    let body = json!({"region_key": k}).to_string();
                    self.client.send("edit regional hostname", Method::PATCH, &path, &[], Some(body.into())).await
                }
            };
            match result {
                Ok(_) if key.is_empty() => {
                    view.regional.remove(&host);
                }
                Ok(_) => {
                    view.regional.insert(host, key);
                }
                Err(e) => {
                    let reason = format!("Cloudflare refused the regional hostname {host} (region {key:?}): {e}");
                    tracing::warn!(zone = %zone.name, "{reason}");
                    report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::Refused(reason) });
                }
            }
        }
    }

    /// Custom hostnames of A and CNAME endpoints: those an endpoint no longer names are deleted,
    /// new ones created with this endpoint's name as their origin.
    async fn apply_custom(
        &self,
        zone: &ManagedZone,
        changes: &[(Option<&Endpoint>, Option<&Endpoint>)],
        view: &mut ZoneView,
        report: &mut ApplyReport,
    ) {
        let Some(cfg) = &self.cfg.custom_hostnames else { return };
        let names = |ep: Option<&Endpoint>| -> Vec<String> {
            ep.filter(|e| matches!(e.record_type, RecordType::A | RecordType::CNAME))
                .and_then(|e| convert::property(e, CUSTOM_HOSTNAME))
                .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        for &(old, new) in changes {
            let (before, after) = (names(old), names(new));
            let Some(ep) = new.or(old) else { continue };
            for gone in before.iter().filter(|h| !after.contains(h)) {
                let Some(id) = view.custom.iter().find(|c| &c.hostname == gone).map(|c| c.id.clone()) else { continue };
                match self
                    .client
                    .send(
                        "delete custom hostname",
                        Method::DELETE,
                        &["zones", &zone.id, "custom_hostnames", &id],
                        &[],
                        None,
                    )
                    .await
                {
                    Ok(_) => view.custom.retain(|c| c.id != id),
                    Err(e) => reject(report, ep, format!("Cloudflare refused deleting custom hostname {gone}: {e}")),
                }
            }
            let missing: Vec<&String> =
                after.iter().filter(|h| !view.custom.iter().any(|c| &c.hostname == *h)).collect();
            for added in missing {
                let mut ssl = json!({"method": "http", "type": "dv", "bundle_method": "ubiquitous",
                    "settings": {"min_tls_version": cfg.min_tls_version}});
                if cfg.certificate_authority != "none" {
                    ssl["certificate_authority"] = json!(cfg.certificate_authority);
                }
                let origin = ep.dns_name.as_str();
                let body = json!({"hostname": added, "custom_origin_server": origin, "ssl": ssl}).to_string();
                let result = self
                    .client
                    .call::<CustomHostname>(
                        "create custom hostname",
                        Method::POST,
                        &["zones", &zone.id, "custom_hostnames"],
                        &[],
                        Some(body.into()),
                    )
                    .await;
                match result {
                    Ok((Some(ch), _)) => view.custom.push(ch),
                    Ok((None, _)) => {}
                    Err(e) => reject(report, ep, format!("Cloudflare refused the custom hostname {added}: {e}")),
                }
            }
        }
    }
}

/// The body exodns would write for a record as Cloudflare holds it, to compare with a desired one.
fn existing_body(r: &Record, rt: RecordType, target: &str) -> Option<RecordBody> {
    let (content, data, priority) = convert::write_fields(rt, target)?;
    Some(RecordBody {
        id: None,
        name: r.name.trim_end_matches('.').to_ascii_lowercase(),
        rtype: rt.as_str().to_owned(),
        content,
        data,
        priority: if rt == RecordType::MX { priority } else { None },
        ttl: r.ttl.max(0.0) as u32,
        proxied: r.proxied.unwrap_or(false),
        comment: r.comment.clone().unwrap_or_default(),
        tags: convert::parse_tags(&r.tags.clone().unwrap_or_default().join(",")),
    })
}

/// Applies a successful batch to the view: deleted ids go, put and posted records (from the
/// answer, with their ids) come in.
fn update_view(view: &mut ZoneView, body: &crate::model::BatchBody<'_>, result: Option<&Value>) {
    let gone: Vec<&str> =
        body.deletes.iter().map(|d| d.id).chain(body.puts.iter().filter_map(|p| p.id.as_deref())).collect();
    view.records.retain(|_, e| !gone.contains(&e.id.as_str()));
    for key in ["puts", "posts"] {
        let recs = result.and_then(|r| r.get(key)).and_then(Value::as_array).cloned().unwrap_or_default();
        for v in recs {
            let Ok(r) = serde_json::from_value::<Record>(v) else { continue };
            if let Ok((rt, target)) = convert::record_target(&r)
                && let Some(b) = existing_body(&r, rt, &target)
            {
                view.records.insert((b.name.clone(), rt, target), Existing { id: r.id, body: b });
            }
        }
    }
}

fn reject(report: &mut ApplyReport, ep: &Endpoint, reason: String) {
    tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "{reason}");
    report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::Refused(reason) });
}

fn reject_groups(report: &mut ApplyReport, groups: &[Group<'_>], which: impl Iterator<Item = usize>, reason: &str) {
    let mut seen = Vec::new();
    for g in which {
        if seen.contains(&g) {
            continue;
        }
        seen.push(g);
        for ep in &groups[g].sources {
            report
                .rejected
                .push(Rejected { endpoint: (*ep).clone(), reason: RejectReason::Refused(reason.to_owned()) });
        }
    }
}

fn provider_error(e: &ApiError) -> ProviderError {
    if e.is_auth() {
        ProviderError::permanent(
            PROVIDER,
            format!(
                "{e} (check CF_API_TOKEN, or CF_API_KEY and CF_API_EMAIL, and the token's permissions: Zone:Read, DNS:Edit)"
            ),
        )
    } else if e.is_transient() {
        ProviderError::Transient { provider: PROVIDER.into(), message: e.to_string(), retry_after: e.retry_after() }
    } else {
        ProviderError::permanent(PROVIDER, e.to_string())
    }
}

#[async_trait]
impl Provider for CloudflareProvider {
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
        let (zones, all) = self.list_zones().await.map_err(|e| provider_error(&e))?;
        let mut records = Records::default();
        let mut views = HashMap::new();
        for zone in &zones {
            match self.read_zone(zone).await {
                Ok((view, eps)) => {
                    records.endpoints.extend(eps);
                    views.insert(zone.id.clone(), view);
                }
                Err(e) => {
                    let hint = if e.is_auth() { " (the token needs Zone:Read and DNS:Read on it)" } else { "" };
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone{hint}; leaving it alone this time");
                    records
                        .unreadable_zones
                        .push(ZoneFailure { zone: zone.name.clone(), reason: format!("{e}{hint}") });
                }
            }
        }
        let index = ZoneIndex::new(zones.iter().map(|z| z.name.clone()));
        self.store(State { zones, all, index, views });
        tracing::debug!(
            endpoints = records.endpoints.len(),
            unreadable = records.unreadable_zones.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Cloudflare records read"
        );
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        if self.cfg.dry_run {
            tracing::info!("dry run: no change sent to Cloudflare");
            return Ok(report);
        }
        let state = self.state_for_apply().await?;
        let zone_of = |ep: &Endpoint| {
            let name = state.index.zone_of(&ep.dns_name)?;
            state.zones.iter().position(|z| z.name == name)
        };
        type PerZone<'a> = (Vec<&'a Endpoint>, Vec<(&'a Endpoint, &'a Endpoint)>, Vec<&'a Endpoint>);
        let mut per_zone: Vec<PerZone<'_>> = vec![Default::default(); state.zones.len()];
        let place = |ep: &Endpoint, report: &mut ApplyReport| match zone_of(ep) {
            Some(z) => Some(z),
            None => {
                tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no managed Cloudflare zone holds this name");
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
                None
            }
        };
        for ep in &changes.create {
            if let Some(z) = place(ep, &mut report) {
                per_zone[z].0.push(ep);
            }
        }
        for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
            if let Some(z) = place(new, &mut report) {
                per_zone[z].1.push((old, new));
            }
        }
        for ep in &changes.delete {
            if let Some(z) = place(ep, &mut report) {
                per_zone[z].2.push(ep);
            }
        }
        let mut views = state.views.clone();
        for (zone, (creates, updates, deletes)) in state.zones.iter().zip(&per_zone) {
            if creates.is_empty() && updates.is_empty() && deletes.is_empty() {
                continue;
            }
            let view = views.get(&zone.id).cloned().unwrap_or_default();
            let (groups, unwritable) = batch::plan_zone(creates, updates, deletes, &view.records, &self.defaults(zone));
            for (ep, why) in unwritable {
                reject(&mut report, ep, format!("{} {}: {why}", ep.dns_name, ep.record_type));
            }
            let result = self.apply_zone(zone, &groups, view, &mut report).await;
            let mut view = match result {
                Ok(v) => v,
                Err(e) => {
                    // What was applied before is in Cloudflare but not in the view: read again.
                    *self.state.write().unwrap_or_else(|p| p.into_inner()) = None;
                    return Err(e);
                }
            };
            let written: Vec<(&Endpoint, bool)> = creates
                .iter()
                .map(|e| (*e, false))
                .chain(updates.iter().map(|(_, n)| (*n, false)))
                .chain(deletes.iter().map(|e| (*e, true)))
                .collect();
            self.apply_regional(zone, &written, &mut view, &mut report).await;
            let custom: Vec<(Option<&Endpoint>, Option<&Endpoint>)> = creates
                .iter()
                .map(|e| (None, Some(*e)))
                .chain(updates.iter().map(|(o, n)| (Some(*o), Some(*n))))
                .chain(deletes.iter().map(|e| (Some(*e), None)))
                .collect();
            self.apply_custom(zone, &custom, &mut view, &mut report).await;
            views.insert(zone.id.clone(), view);
        }
        let s = State { zones: state.zones.clone(), all: state.all.clone(), index: state.index.clone(), views };
        self.store(s);
        Ok(report)
    }

    /// Brings the Cloudflare properties into the form records are read back in: one name per
    /// property (`cloudflare/…`, whatever spelling the source used), `proxied` decided (the flag's
    /// default, never on types Cloudflare cannot proxy) and no TTL when proxied (Cloudflare's is
    /// automatic), tags sorted, the default comment and region key filled in.
    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        for ep in &mut endpoints {
            let mut props: BTreeMap<&'static str, String> = BTreeMap::new();
            for p in &ep.provider_specific {
                if let Some(name) = convert::canonical_property(&p.name) {
                    // v0.23's spelling wins over an annotation key when both are there.
                    if p.name.starts_with("cloudflare/") || !props.contains_key(name) {
                        props.insert(name, p.value.clone());
                    }
                }
            }
            // Other providers' properties (`aws/…`, `alias`) mean nothing here, and records never
            // carry them back: kept, they would be an update at every sync.
            ep.provider_specific.clear();
            let proxied = match props.remove(PROXIED).map(|v| v.trim().to_ascii_lowercase()) {
                Some(v) if v == "true" || v == "1" => true,
                Some(v) if v == "false" || v == "0" => false,
                Some(v) => {
                    tracing::warn!(name = %ep.dns_name, value = %v, resource = ep.resource().unwrap_or(""),
                        "annotation cloudflare-proxied is neither true nor false; using --cloudflare-proxied");
                    self.cfg.proxied_by_default
                }
                None => self.cfg.proxied_by_default,
            } && proxiable(ep.record_type);
            if proxied {
                ep.ttl = Ttl::default();
            }
            ep.set_property(PROXIED, if proxied { "true" } else { "false" });
            if let Some(tags) = props.remove(TAGS) {
                let tags = convert::parse_tags(&tags);
                if !tags.is_empty() {
                    ep.set_property(TAGS, tags.join(","));
                }
            }
            match props.remove(RECORD_COMMENT) {
                Some(c) => ep.set_property(RECORD_COMMENT, c),
                None if !self.cfg.record_comment.is_empty() => {
                    ep.set_property(RECORD_COMMENT, self.cfg.record_comment.clone())
                }
                None => {}
            }
            if let Some(default) = &self.cfg.regional
                && proxiable(ep.record_type)
            {
                ep.set_property(REGION_KEY, props.remove(REGION_KEY).unwrap_or_else(|| default.clone()));
            }
            if self.cfg.custom_hostnames.is_some()
                && let Some(v) = props.remove(CUSTOM_HOSTNAME)
            {
                let mut hosts: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                hosts.sort_unstable();
                ep.set_property(CUSTOM_HOSTNAME, hosts.join(","));
            }
            ep.provider_specific.sort();
        }
        Ok(endpoints)
    }
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
