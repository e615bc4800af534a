//! [`PdnsProvider`]: the [`Provider`] over the PowerDNS REST API.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, RecordType};
use exodns_provider::zones::{Listed, ZoneIndex};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use futures_util::StreamExt;

use crate::batch::{Item, ZoneBatch};
use crate::client::{ApiError, PdnsClient, RequestObserver};
use crate::config::PdnsConfig;
use crate::convert::{ALIAS_PROPERTY, Skip, is_apex, rrset_to_endpoint, wants_alias};
use crate::error::PdnsError;
use crate::model::{ChangeType, ZoneInfo};

const PROVIDER: &str = <crate::Pdns as exodns_provider::ProviderKind>::INFO.name;

/// How many rrsets PowerDNS may name one by one in a refused PATCH before the provider stops
/// trusting the names and bisects instead (each named retry resends the rest of the batch).
const NAMED_RETRIES: usize = 32;

/// A zone the provider manages (inside the domain filter).
#[derive(Debug, Clone)]
pub struct ManagedZone {
    /// URL id given by PowerDNS.
    pub id: String,
    /// Name without the trailing dot, lowercase.
    pub name: String,
    /// Absolute name.
    pub fqdn: String,
}

/// The zones of the server as last listed.
#[derive(Debug, Default)]
struct ZoneSet {
    /// Every zone on the server (no trailing dot), for [`Provider::domain_filter`].
    all: Vec<String>,
    managed: Vec<ManagedZone>,
    index: ZoneIndex,
}

impl ZoneSet {
    fn new(list: Vec<ZoneInfo>, filter: &DomainFilter) -> Self {
        let mut all = Vec::with_capacity(list.len());
        let mut managed = Vec::new();
        for z in list {
            let name = z.name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                continue; // the root zone is never managed
            }
            all.push(name.clone());
            if !filter.is_configured() || filter.matches(&name) {
                managed.push(ManagedZone { id: z.id, fqdn: format!("{name}."), name });
            }
        }
        let index = ZoneIndex::new(managed.iter().map(|z| z.name.clone()));
        ZoneSet { all, managed, index }
    }

    fn zone_of(&self, name: &DnsName) -> Option<&ManagedZone> {
        let zone = self.index.zone_of(name)?;
        self.managed.iter().find(|z| z.name == zone)
    }

    fn position(&self, name: &DnsName) -> Option<usize> {
        let zone = self.index.zone_of(name)?;
        self.managed.iter().position(|z| z.name == zone)
    }
}

/// The PowerDNS provider.
#[derive(Debug)]
pub struct PdnsProvider {
    client: PdnsClient,
    cfg: PdnsConfig,
    /// Zones of the last listing: `records()` lists them, `apply_changes()` uses what the plan
    /// was made against (and lists them itself only when nothing was listed yet).
    zones: Listed<ZoneSet>,
}

impl PdnsProvider {
    /// Checks the settings and builds the HTTP client; no request is sent.
    pub fn new(cfg: PdnsConfig) -> Result<Self, PdnsError> {
        let client = PdnsClient::new(&cfg)?;
        Ok(PdnsProvider { client, cfg, zones: Listed::default() })
    }

    /// Calls `observer` around every request (metrics, request counts in tests).
    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.client = self.client.with_observer(observer);
        self
    }

    pub fn client(&self) -> &PdnsClient {
        &self.client
    }

    pub fn config(&self) -> &PdnsConfig {
        &self.cfg
    }

    /// Lists the zones once: proves the server answers and the key and server id are right.
    /// Returns the zones inside the domain filter.
    pub async fn check(&self) -> Result<Vec<ManagedZone>, PdnsError> {
        let zones = self.refresh_zones().await.map_err(PdnsError::Api)?;
        Ok(zones.managed.clone())
    }

    /// The zones inside the domain filter, as last listed (empty before the first listing).
    pub fn managed_zones(&self) -> Vec<ManagedZone> {
        self.cached_zones().map(|z| z.managed.clone()).unwrap_or_default()
    }

    /// The PATCH bodies `apply_changes` would send first for `changes` (before any refusal
    /// narrows them down), as (zone id, JSON body), in order. Sends no PATCH; lists the zones if
    /// they were not listed yet. For dry runs, debugging and benchmarks.
    pub async fn patch_bodies(&self, changes: &Changes) -> Result<Vec<(String, bytes::Bytes)>, ProviderError> {
        let zones = self.zones_for_apply().await.map_err(|e| transient(&e, 0))?;
        let (per_zone, _) = assign(&zones, changes);
        let mut out = Vec::new();
        for (zone, items) in zones.managed.iter().zip(&per_zone) {
            if items.is_empty() {
                continue;
            }
            let batch = ZoneBatch::build(&zone.fqdn, items, self.cfg.default_ttl);
            for chunk in batch.chunks(self.cfg.max_body_bytes) {
                out.push((zone.id.clone(), batch.body(&chunk)));
            }
        }
        Ok(out)
    }

    fn cached_zones(&self) -> Option<Arc<ZoneSet>> {
        self.zones.get()
    }

    async fn refresh_zones(&self) -> Result<Arc<ZoneSet>, ApiError> {
        let list = self.client.list_zones().await?;
        Ok(self.zones.put(ZoneSet::new(list, &self.cfg.domain_filter)))
    }

    async fn zones_for_apply(&self) -> Result<Arc<ZoneSet>, ApiError> {
        match self.cached_zones() {
            Some(z) => Ok(z),
            None => self.refresh_zones().await,
        }
    }

    /// Sends a zone's chunks in order. A refused PATCH (400/422) is narrowed down to the rrsets
    /// at fault: first by the rrset PowerDNS names, else by bisection; the rest is applied.
    async fn apply_zone(
        &self,
        zone: &ManagedZone,
        batch: &ZoneBatch<'_>,
        report: &mut ApplyReport,
    ) -> Result<ZoneOutcome, ProviderError> {
        let mut queue: VecDeque<Vec<usize>> = batch.chunks(self.cfg.max_body_bytes).into();
        let mut outcome = ZoneOutcome::default();
        let mut named_left = NAMED_RETRIES;
        while let Some(part) = queue.pop_front() {
            if part.is_empty() {
                continue;
            }
            outcome.patches += 1;
            let err = match self.client.patch_zone(&zone.id, batch.body(&part)).await {
                Ok(()) => {
                    outcome.applied += part.len();
                    continue;
                }
                Err(e) => e,
            };
            match err.status() {
                Some(400 | 422) => {
                    let message = err.message().to_owned();
                    if part.len() == 1 {
                        refuse(report, batch, &part, &err);
                        outcome.refused += 1;
                        continue;
                    }
                    let named = crate::model::named_rrsets(&message);
                    let (hit, rest): (Vec<usize>, Vec<usize>) = part.iter().partition(|&&i| {
                        let op = &batch.ops[i];
                        named.iter().any(|(n, t)| *n == op.name && t == op.rtype.as_str())
                    });
                    if !hit.is_empty() && !rest.is_empty() && named_left > 0 {
                        named_left -= 1;
                        tracing::debug!(zone = %zone.name, %message, "PowerDNS refused a PATCH; dropping the rrset it names and retrying the rest");
                        refuse(report, batch, &hit, &err);
                        outcome.refused += hit.len();
                        queue.push_front(rest);
                    } else {
                        tracing::debug!(zone = %zone.name, size = part.len(), %message, "PowerDNS refused a PATCH; bisecting");
                        let (a, b) = batch.split(&part);
                        queue.push_front(b);
                        queue.push_front(a);
                    }
                }
                Some(404) => {
                    // The zone is gone (deleted since it was listed): nothing of it can be applied.
                    let reason =
                        format!("zone {} not found on the PowerDNS server (HTTP 404): {}", zone.fqdn, err.message());
                    tracing::warn!(zone = %zone.name, "{reason}");
                    let remaining: Vec<usize> = std::iter::once(part).chain(queue.drain(..)).flatten().collect();
                    outcome.refused += remaining.len();
                    refuse_with(report, batch, &remaining, &reason);
                    self.zones.forget();
                    return Ok(outcome);
                }
                Some(401 | 403) => {
                    return Err(ProviderError::permanent(PROVIDER, format!("{err} (check --pdns-api-key)")));
                }
                Some(status) if !err.is_transient() && (400..500).contains(&status) => {
                    // Another client error (405, 409, …): not about one rrset; report the part.
                    refuse(report, batch, &part, &err);
                    outcome.refused += part.len();
                }
                _ => {
                    return Err(transient(&err, outcome.applied));
                }
            }
        }
        Ok(outcome)
    }
}

#[derive(Debug, Default)]
struct ZoneOutcome {
    applied: usize,
    refused: usize,
    patches: usize,
}

fn transient(err: &ApiError, applied_before: usize) -> ProviderError {
    let mut message = err.to_string();
    if applied_before > 0 {
        message.push_str(&format!(" ({applied_before} rrset changes of this zone were applied before)"));
    }
    match err {
        ApiError::Status { status: 401 | 403, .. } => ProviderError::permanent(PROVIDER, message),
        ApiError::Status { status: 404, call, .. } if call == "list zones" => {
            ProviderError::permanent(PROVIDER, format!("{message} (check --pdns-server-id and the URL)"))
        }
        e if e.is_transient() => {
            ProviderError::Transient { provider: PROVIDER.into(), message, retry_after: e.retry_after() }
        }
        _ => ProviderError::permanent(PROVIDER, message),
    }
}

fn refuse(report: &mut ApplyReport, batch: &ZoneBatch<'_>, ops: &[usize], err: &ApiError) {
    let status = err.status().map(|s| format!(" (HTTP {s})")).unwrap_or_default();
    for &i in ops {
        let op = &batch.ops[i];
        let reason =
            format!("PowerDNS refused {} {} {}{status}: {}", change_word(op.change), op.name, op.rtype, err.message());
        tracing::warn!(name = %op.name, rtype = %op.rtype, "{reason}");
        for src in &op.sources {
            report.rejected.push(Rejected { endpoint: (*src).clone(), reason: RejectReason::Refused(reason.clone()) });
        }
    }
}

fn refuse_with(report: &mut ApplyReport, batch: &ZoneBatch<'_>, ops: &[usize], reason: &str) {
    for &i in ops {
        for src in &batch.ops[i].sources {
            report
                .rejected
                .push(Rejected { endpoint: (*src).clone(), reason: RejectReason::Refused(reason.to_owned()) });
        }
    }
}

/// Files every change under the longest managed zone of its name; the ones without a zone come
/// back as rejected.
fn assign<'a>(zones: &ZoneSet, changes: &'a Changes) -> (Vec<Vec<Item<'a>>>, Vec<Rejected>) {
    let mut per_zone: Vec<Vec<Item<'a>>> = vec![Vec::new(); zones.managed.len()];
    let mut no_zone = Vec::new();
    let mut place = |ep: &'a Endpoint, item: Item<'a>| match zones.position(&ep.dns_name) {
        Some(z) => per_zone[z].push(item),
        None => {
            tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no managed PowerDNS zone holds this name");
            no_zone.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
        }
    };
    for ep in &changes.create {
        place(ep, Item::Replace { ep, old: None });
    }
    for (i, new) in changes.update_new.iter().enumerate() {
        place(new, Item::Replace { ep: new, old: changes.update_old.get(i) });
    }
    for ep in &changes.delete {
        place(ep, Item::Delete { ep });
    }
    (per_zone, no_zone)
}

fn change_word(c: ChangeType) -> &'static str {
    match c {
        ChangeType::Delete => "DELETE of",
        ChangeType::Replace => "REPLACE of",
    }
}

#[async_trait]
impl Provider for PdnsProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    /// Every zone on the server, as last listed (upstream's `GetDomainFilter`): the controller
    /// intersects it with its own filter. Before the first listing: the configured filter.
    fn domain_filter(&self) -> DomainFilter {
        match self.cached_zones() {
            Some(z) if !z.all.is_empty() => DomainFilter::new(&z.all, &[]),
            _ => self.cfg.domain_filter.clone(),
        }
    }

    /// The managed zones as last listed: the only ones this provider writes to.
    fn zones(&self) -> Option<ZoneIndex> {
        self.cached_zones().map(|z| z.index.clone())
    }

    /// An rrset is one (name, type): records with set identifiers would be merged into one.
    fn routing_policies(&self) -> bool {
        false
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let started = Instant::now();
        let zones = self.refresh_zones().await.map_err(|e| transient(&e, 0))?;
        // Owned futures: each read holds its own client handle (a shared pool) and zone.
        let mut reads = futures_util::stream::iter(zones.managed.clone())
            .map(|z| {
                let client = self.client.clone();
                async move {
                    let result = client.get_zone(&z.id).await;
                    (z, result)
                }
            })
            .buffered(self.cfg.max_parallel_reads.max(1));
        let mut records = Records::default();
        let mut skipped = 0usize;
        while let Some((zone, result)) = reads.next().await {
            let data = match result {
                Ok(data) => data,
                Err(e) => {
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone; leaving it alone this time");
                    records.unreadable_zones.push(ZoneFailure { zone: zone.name.clone(), reason: e.to_string() });
                    continue;
                }
            };
            records.endpoints.reserve(data.rrsets.len());
            for rr in &data.rrsets {
                match rrset_to_endpoint(rr, &zone.fqdn) {
                    // A name under a more specific managed zone belongs to that zone (a
                    // delegation in the parent is not the child's data).
                    Ok(ep) if zones.zone_of(&ep.dns_name).is_some_and(|z| z.name == zone.name) => {
                        records.endpoints.push(ep)
                    }
                    Ok(ep) => {
                        tracing::debug!(zone = %zone.name, name = %ep.dns_name, "rrset belongs to a more specific zone; skipped")
                    }
                    Err(Skip::Soa | Skip::NoEnabledRecords) => {}
                    Err(Skip::UnknownType) => {
                        skipped += 1;
                        tracing::debug!(zone = %zone.name, name = %rr.name, rtype = %rr.rtype, "record type exodns does not carry; skipped");
                    }
                    Err(Skip::Unparsable(why)) => {
                        skipped += 1;
                        tracing::warn!(zone = %zone.name, name = %rr.name, rtype = %rr.rtype, "cannot read rrset, skipped: {why}");
                    }
                }
            }
        }
        tracing::debug!(
            zones = zones.managed.len(),
            endpoints = records.endpoints.len(),
            skipped,
            unreadable = records.unreadable_zones.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "PowerDNS records read"
        );
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let started = Instant::now();
        let zones = self.zones_for_apply().await.map_err(|e| transient(&e, 0))?;
        let (per_zone, no_zone) = assign(&zones, changes);
        report.rejected = no_zone;

        for (zone, items) in zones.managed.iter().zip(&per_zone) {
            if items.is_empty() {
                continue;
            }
            let batch = ZoneBatch::build(&zone.fqdn, items, self.cfg.default_ttl);
            let outcome = self.apply_zone(zone, &batch, &mut report).await?;
            tracing::info!(
                zone = %zone.name,
                rrsets = batch.ops.len(),
                applied = outcome.applied,
                refused = outcome.refused,
                patches = outcome.patches,
                "changes applied to PowerDNS"
            );
        }
        if let Some(server) = &self.cfg.dns_server {
            let refused = |ep: &Endpoint| report.rejected.iter().any(|r| r.endpoint.key() == ep.key());
            let written: Vec<Endpoint> = changes
                .create
                .iter()
                .chain(&changes.update_new)
                .filter(|ep| ep.record_type == RecordType::LUA && !refused(ep))
                .cloned()
                .collect();
            report.not_served = crate::servfail::check(server, self.cfg.dns_timeout, written).await;
        }
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            rejected = report.rejected.len(),
            not_served = report.not_served.len(),
            "apply_changes done"
        );
        Ok(report)
    }

    /// Brings the `alias` property into the form records are read back in: kept (as `true`)
    /// only on a CNAME that is not a zone apex; an apex CNAME is always written as ALIAS.
    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        let zones = self.cached_zones();
        for ep in &mut endpoints {
            if ep.property(ALIAS_PROPERTY).is_none() {
                continue;
            }
            let keep = ep.record_type == RecordType::CNAME
                && wants_alias(ep)
                && !zones
                    .as_ref()
                    .and_then(|z| z.zone_of(&ep.dns_name))
                    .is_some_and(|z| is_apex(&ep.dns_name, &z.fqdn));
            if keep {
                ep.set_property(ALIAS_PROPERTY, "true");
            } else {
                ep.remove_property(ALIAS_PROPERTY);
            }
        }
        Ok(endpoints)
    }
}
