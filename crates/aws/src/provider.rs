//! [`AwsProvider`]: the [`Provider`] over Route 53.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint};
use exodns_provider::zones::{Listed, ZoneIndex};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use futures_util::StreamExt;

use crate::batch::{self, Item, Limits};
use crate::client::{ApiError, Route53Client};
use crate::convert::{self, SAME_ZONE, Skip, WriteOptions};
use crate::model::{Action, HostedZone, clean_zone_id, unescape_name};

const PROVIDER: &str = <crate::Aws as exodns_provider::ProviderKind>::INFO.name;

/// `--aws-zone-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZoneType {
    #[default]
    Any,
    Public,
    Private,
}

/// Everything the provider needs besides its client.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub domain_filter: DomainFilter,
    /// `--zone-id-filter` (ids with or without `/hostedzone/`).
    pub zone_id_filter: Vec<String>,
    pub zone_type: ZoneType,
    /// `--aws-zone-tags`: `key` (any value) or `key=value`; a zone must carry all of them.
    pub zone_tags: Vec<(String, String)>,
    /// `--aws-zone-match-parent`: a zone above a filtered domain is managed too.
    pub zone_match_parent: bool,
    pub limits: Limits,
    /// `--aws-batch-change-interval`: the least time between the starts of two change batches.
    pub batch_interval: Duration,
    pub evaluate_target_health: bool,
    pub prefer_cname: bool,
    /// `--aws-zones-cache-duration` (zero: list the zones at every sync).
    pub zones_cache: Duration,
    /// Zones read at the same time.
    pub max_parallel_reads: usize,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            domain_filter: DomainFilter::default(),
            zone_id_filter: Vec::new(),
            zone_type: ZoneType::Any,
            zone_tags: Vec::new(),
            zone_match_parent: false,
            limits: Limits::default(),
            batch_interval: Duration::from_secs(1),
            evaluate_target_health: true,
            prefer_cname: false,
            zones_cache: Duration::ZERO,
            max_parallel_reads: 4,
        }
    }
}

/// A managed hosted zone.
#[derive(Debug, Clone)]
pub struct ManagedZone {
    /// Without the `/hostedzone/` prefix.
    pub id: String,
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub private: bool,
    /// Which client (`--aws-profile`) reaches it.
    pub client: usize,
}

#[derive(Debug, Default)]
struct ZoneSet {
    managed: Vec<ManagedZone>,
    index: ZoneIndex,
}

impl ZoneSet {
    /// Every private zone holding `name`, and the most specific public one (upstream's
    /// `suitableZones`).
    fn suitable(&self, name: &DnsName) -> Vec<usize> {
        let n = name.as_str();
        let mut out = Vec::new();
        let mut public: Option<usize> = None;
        for (i, z) in self.managed.iter().enumerate() {
            let holds = n == z.name || n.ends_with(&format!(".{}", z.name));
            if !holds {
                continue;
            }
            if z.private {
                out.push(i);
            } else if public.is_none_or(|p| z.name.len() > self.managed[p].name.len()) {
                public = Some(i);
            }
        }
        out.extend(public);
        out
    }
}

/// The Route 53 provider.
#[derive(Debug)]
pub struct AwsProvider {
    /// One client per `--aws-profile` (one when none is given).
    clients: Vec<Route53Client>,
    cfg: AwsConfig,
    zones: Listed<ZoneSet>,
}

impl AwsProvider {
    /// A provider over `clients` (at least one: one per `--aws-profile`).
    pub fn new(clients: Vec<Route53Client>, cfg: AwsConfig) -> Self {
        assert!(!clients.is_empty(), "a Route 53 provider needs a client");
        AwsProvider { clients, cfg, zones: Listed::default() }
    }

    pub fn clients(&self) -> &[Route53Client] {
        &self.clients
    }

    /// The managed zones as last listed.
    pub fn managed_zones(&self) -> Vec<ManagedZone> {
        self.cached(false).map(|z| z.managed.clone()).unwrap_or_default()
    }

    fn cached(&self, fresh_only: bool) -> Option<Arc<ZoneSet>> {
        if fresh_only { self.zones.get_within(self.cfg.zones_cache) } else { self.zones.get() }
    }

    fn forget_zones(&self) {
        self.zones.forget();
    }

    /// The managed zones: from the cache while `--aws-zones-cache-duration` allows, else listed.
    async fn zone_set(&self, for_apply: bool) -> Result<Arc<ZoneSet>, ApiError> {
        // An apply uses the zones its plan was made from, whatever the cache duration.
        if let Some(z) = self.cached(!for_apply) {
            return Ok(z);
        }
        let mut listed = Vec::new();
        for (i, c) in self.clients.iter().enumerate() {
            listed.extend(c.list_hosted_zones().await?.into_iter().map(|z| (i, z)));
        }
        Ok(self.zones.put(self.filter_zones(listed).await?))
    }

    async fn filter_zones(&self, listed: Vec<(usize, HostedZone)>) -> Result<ZoneSet, ApiError> {
        let mut candidates: Vec<ManagedZone> = Vec::new();
        for (client, z) in listed {
            let name = unescape_name(&z.name).trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let id = z.short_id().to_owned();
            if !self.cfg.zone_id_filter.is_empty() && !self.cfg.zone_id_filter.iter().any(|f| clean_zone_id(f) == id) {
                continue;
            }
            match (self.cfg.zone_type, z.is_private()) {
                (ZoneType::Public, true) | (ZoneType::Private, false) => continue,
                _ => {}
            }
            if !self.domain_matches(&name) {
                continue;
            }
            // The same zone seen through two profiles is managed through the first.
            if !candidates.iter().any(|c| c.id == id) {
                candidates.push(ManagedZone { id, name, private: z.is_private(), client });
            }
        }
        if !self.cfg.zone_tags.is_empty() && !candidates.is_empty() {
            let mut tags = BTreeMap::new();
            for (i, c) in self.clients.iter().enumerate() {
                let ids: Vec<&str> = candidates.iter().filter(|z| z.client == i).map(|z| z.id.as_str()).collect();
                if !ids.is_empty() {
                    tags.append(&mut c.zone_tags(&ids).await?);
                }
            }
            candidates.retain(|z| {
                let have = tags.get(&z.id);
                self.cfg
                    .zone_tags
                    .iter()
                    .all(|(k, v)| have.and_then(|t| t.get(k)).is_some_and(|value| v.is_empty() || value == v))
            });
        }
        for z in &candidates {
            tracing::debug!(zone = %z.name, id = %z.id, private = z.private, "managing Route 53 zone");
        }
        let index = ZoneIndex::new(candidates.iter().map(|z| z.name.clone()));
        Ok(ZoneSet { managed: candidates, index })
    }

    fn domain_matches(&self, zone: &str) -> bool {
        let f = &self.cfg.domain_filter;
        if !f.is_configured() || f.matches(zone) {
            return true;
        }
        // `--aws-zone-match-parent`: a zone above one of the filter's domains.
        self.cfg.zone_match_parent
            && f.includes().iter().any(|d| {
                let d = d.trim_end_matches('.');
                !d.starts_with('.') && d.ends_with(&format!(".{zone}"))
            })
    }

    /// Changes of `changes` by zone, and the ones that cannot be written (no zone, a bad routing
    /// property).
    fn items<'a>(
        &self,
        zones: &ZoneSet,
        changes: &'a Changes,
        report: &mut ApplyReport,
    ) -> BTreeMap<usize, Vec<Item<'a>>> {
        let opts = WriteOptions { evaluate_target_health: self.cfg.evaluate_target_health };
        let mut wanted: Vec<(Action, &'a Endpoint)> = Vec::with_capacity(changes.len());
        wanted.extend(changes.create.iter().map(|e| (Action::Create, e)));
        wanted.extend(changes.delete.iter().map(|e| (Action::Delete, e)));
        for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
            if convert::requires_delete_create(old, new) {
                wanted.push((Action::Delete, old));
                wanted.push((Action::Create, new));
            } else {
                wanted.push((Action::Upsert, new));
            }
        }
        let mut per_zone: BTreeMap<usize, Vec<Item<'a>>> = BTreeMap::new();
        for (action, ep) in wanted {
            let rrset = match convert::to_rrset(ep, opts) {
                Ok(r) => r,
                Err(why) => {
                    let reason = format!("{} {} {}: {why}; not sent to Route 53", action, ep.dns_name, ep.record_type);
                    tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "{reason}");
                    report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::Refused(reason) });
                    continue;
                }
            };
            let mut targets = zones.suitable(&ep.dns_name);
            if let Some(pin) = ep.property(convert::HOSTED_ZONE_ID) {
                let pin = clean_zone_id(pin);
                targets.retain(|&z| zones.managed[z].id == pin);
            }
            if targets.is_empty() {
                tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no managed Route 53 zone holds this name");
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
                continue;
            }
            for z in targets {
                let mut rr = rrset.clone();
                if let Some(a) = rr.alias_target.as_mut().filter(|a| a.hosted_zone_id == SAME_ZONE) {
                    a.hosted_zone_id = zones.managed[z].id.clone();
                }
                per_zone.entry(z).or_default().push(Item::new(action, rr, ep));
            }
        }
        per_zone
    }

    /// Sends a zone's batches. A refused batch is split along its groups until the refused
    /// group is found; it is reported, the rest applied.
    async fn apply_zone(
        &self,
        zone: &ManagedZone,
        items: &[Item<'_>],
        report: &mut ApplyReport,
        last_batch: &mut Option<Instant>,
    ) -> Result<ZoneOutcome, ProviderError> {
        let (batches, too_big) = batch::pack(items, batch::groups(items), self.cfg.limits);
        let mut outcome = ZoneOutcome::default();
        for g in too_big {
            let s = batch::Size::of(items, &g);
            let l = self.cfg.limits;
            refuse(
                report,
                items,
                &g,
                &format!(
                    "the changes of this name ({} changes, {} values, {} characters) exceed one Route 53 change batch ({} changes, {} values, {} characters)",
                    s.changes, s.values, s.bytes, l.max_changes, l.max_values, l.max_bytes
                ),
            );
            outcome.refused += g.len();
        }
        let mut queue: VecDeque<Vec<usize>> = batches.into();
        while let Some(part) = queue.pop_front() {
            if part.is_empty() {
                continue;
            }
            if let Some(prev) = *last_batch {
                let wait = self.cfg.batch_interval.saturating_sub(prev.elapsed());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            *last_batch = Some(Instant::now());
            outcome.batches += 1;
            let err = match self.clients[zone.client].change_record_sets(&zone.id, batch::body(items, &part)).await {
                Ok(()) => {
                    outcome.applied += part.len();
                    continue;
                }
                Err(e) => e,
            };
            if err.is_refused_batch() {
                match batch::split(items, &part) {
                    Some((a, b)) => {
                        tracing::debug!(zone = %zone.name, size = part.len(), error = %err, "Route 53 refused a change batch; splitting it");
                        queue.push_front(b);
                        queue.push_front(a);
                    }
                    None => {
                        refuse(report, items, &part, &format!("Route 53 refused the change: {}", err.message()));
                        outcome.refused += part.len();
                    }
                }
                continue;
            }
            if matches!(&err, ApiError::Status { status: 404, .. }) {
                let rest: Vec<usize> = std::iter::once(part).chain(queue.drain(..)).flatten().collect();
                refuse(
                    report,
                    items,
                    &rest,
                    &format!("hosted zone {} ({}) not found: {}", zone.name, zone.id, err.message()),
                );
                outcome.refused += rest.len();
                self.forget_zones();
                return Ok(outcome);
            }
            return Err(provider_error(&err, outcome.applied));
        }
        Ok(outcome)
    }
}

#[derive(Debug, Default)]
struct ZoneOutcome {
    applied: usize,
    refused: usize,
    batches: usize,
}

fn refuse(report: &mut ApplyReport, items: &[Item<'_>], which: &[usize], why: &str) {
    for &i in which {
        let it = &items[i];
        let reason = format!("{} {} {}: {why}", it.action, it.source.dns_name, it.source.record_type);
        tracing::warn!(name = %it.source.dns_name, rtype = %it.source.record_type, set_identifier = %it.source.set_identifier, "{reason}");
        report.rejected.push(Rejected { endpoint: it.source.clone(), reason: RejectReason::Refused(reason) });
    }
}

fn provider_error(err: &ApiError, applied_before: usize) -> ProviderError {
    let mut message = err.to_string();
    if applied_before > 0 {
        message.push_str(&format!(" ({applied_before} changes of this zone were applied before)"));
    }
    if err.is_auth() {
        ProviderError::permanent(PROVIDER, format!("{message} (check the AWS credentials and their permissions)"))
    } else if err.is_transient() {
        ProviderError::transient(PROVIDER, message)
    } else {
        ProviderError::permanent(PROVIDER, message)
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    /// The managed zones, as last listed (upstream's `GetDomainFilter`: the zones that passed
    /// the id, type, domain and tag filters); before the first listing: the configured filter.
    fn domain_filter(&self) -> DomainFilter {
        match self.cached(false) {
            Some(z) if !z.managed.is_empty() => {
                DomainFilter::new(&z.managed.iter().map(|m| m.name.clone()).collect::<Vec<_>>(), &[])
            }
            _ => self.cfg.domain_filter.clone(),
        }
    }

    fn zones(&self) -> Option<ZoneIndex> {
        self.cached(false).map(|z| z.index.clone())
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let started = Instant::now();
        let zones = self.zone_set(false).await.map_err(|e| provider_error(&e, 0))?;
        let mut reads = futures_util::stream::iter(zones.managed.clone())
            .map(|z| {
                let client = self.clients[z.client].clone();
                async move {
                    let r = client.list_record_sets(&z.id).await;
                    (z, r)
                }
            })
            .buffered(self.cfg.max_parallel_reads.max(1));
        let mut records = Records::default();
        let mut skipped = 0usize;
        while let Some((zone, result)) = reads.next().await {
            let sets = match result {
                Ok(s) => s,
                Err(e) if e.is_auth() => return Err(provider_error(&e, 0)),
                Err(e) => {
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone; leaving it alone this time");
                    records.unreadable_zones.push(ZoneFailure { zone: zone.name.clone(), reason: e.to_string() });
                    continue;
                }
            };
            records.endpoints.reserve(sets.len());
            for rr in &sets {
                match convert::rrset_to_endpoint(rr) {
                    Ok(ep) => records.endpoints.push(ep),
                    Err(Skip::Unsupported) => {}
                    Err(Skip::Unparsable(why)) => {
                        skipped += 1;
                        tracing::warn!(zone = %zone.name, name = %rr.name, rtype = %rr.rtype, "cannot read record set, skipped: {why}");
                    }
                }
            }
        }
        tracing::debug!(
            zones = zones.managed.len(),
            endpoints = records.endpoints.len(),
            skipped,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Route 53 records read"
        );
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let zones = self.zone_set(true).await.map_err(|e| provider_error(&e, 0))?;
        let per_zone = self.items(&zones, changes, &mut report);
        let mut last_batch = None;
        for (z, items) in per_zone {
            let zone = &zones.managed[z];
            let started = Instant::now();
            let outcome = self.apply_zone(zone, &items, &mut report, &mut last_batch).await?;
            tracing::info!(
                zone = %zone.name,
                changes = items.len(),
                applied = outcome.applied,
                refused = outcome.refused,
                batches = outcome.batches,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "changes applied to Route 53"
            );
        }
        Ok(report)
    }

    async fn adjust_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        Ok(convert::adjust_endpoints(endpoints, self.cfg.prefer_cname, self.cfg.evaluate_target_health))
    }
}
