//! [`AzureProvider`]: the [`Provider`] over Azure DNS or Azure Private DNS.
//!
//! Reading: the resource group's zones inside the filters (`--domain-filter` and
//! `--zone-id-filter`, or `--zone-name-filter`, as upstream), cached for
//! `--azure-zones-cache-duration`; then every record set of each zone (following `nextLink`). The
//! etag of each record set is kept.
//!
//! Writing, as upstream, deletions first, then creations and updates, one record set per request
//! (a few at a time) — but each under a precondition: a creation with `If-None-Match: *`, an
//! update or a deletion with `If-Match:` the etag read. A record set someone changed since (412)
//! is left as it is; the rest goes on, and the apply ends with a transient error, so that the
//! controller re-reads the zone and plans again. A record set refused for its content (400, 409)
//! is reported; the rest is applied.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use exodns_core::endpoint::label;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DomainFilter, Endpoint};
use exodns_provider::zones::Listed;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use futures_util::StreamExt;

use crate::client::{ApiError, ArmClient, Guard};
use crate::convert::{Flavor, Skip, expand_tags, properties, record_type, relative_name, same_records, to_endpoint};

/// Record set writes in flight at once.
const PARALLEL_WRITES: usize = 8;
/// Zones read at once.
const PARALLEL_READS: usize = 4;

/// Settings of the provider.
#[derive(Debug, Clone, Default)]
pub struct AzureSettings {
    pub domain_filter: DomainFilter,
    /// `--zone-name-filter`.
    pub zone_name_filter: DomainFilter,
    /// `--zone-id-filter`: ARM ids of zones (empty: all).
    pub zone_id_filter: Vec<String>,
    /// `--azure-zones-cache-duration` (zero: list every time).
    pub zones_cache_duration: Duration,
}

#[derive(Debug, Default)]
struct ZoneSet {
    all: Vec<String>,
    managed: Vec<String>,
    index: ZoneIndex,
}

/// (zone, type, relative name lowercase) → etag.
type EtagKey = (String, String, String);

/// The Azure DNS (public or private) provider.
#[derive(Debug)]
pub struct AzureProvider {
    name: &'static str,
    client: ArmClient,
    cfg: AzureSettings,
    zones: Listed<ZoneSet>,
    etags: Mutex<HashMap<EtagKey, String>>,
}

/// One record set write.
#[derive(Debug)]
enum Op<'a> {
    Delete { ep: &'a Endpoint },
    Upsert { ep: &'a Endpoint, old: Option<&'a Endpoint> },
}

impl<'a> Op<'a> {
    fn endpoint(&self) -> &'a Endpoint {
        match self {
            Op::Delete { ep } | Op::Upsert { ep, .. } => ep,
        }
    }
}

/// What one write came to.
enum Outcome {
    Done,
    Conflict(String),
    Refused(String),
}

impl AzureProvider {
    /// No request is sent here. `name` is the `--provider` value.
    pub fn new(name: &'static str, client: ArmClient, cfg: AzureSettings) -> Self {
        AzureProvider { name, client, cfg, zones: Listed::default(), etags: Mutex::new(HashMap::new()) }
    }

    pub fn flavor(&self) -> Flavor {
        self.client.flavor()
    }

    fn cached_zones(&self) -> Option<Arc<ZoneSet>> {
        self.zones.get()
    }

    async fn zone_set(&self, force: bool) -> Result<Arc<ZoneSet>, ProviderError> {
        let cached = if force { self.zones.get_within(self.cfg.zones_cache_duration) } else { self.zones.get() };
        if let Some(z) = cached {
            return Ok(z);
        }
        let list = self.client.list_zones().await.map_err(|e| self.error(&e, 0))?;
        let mut all = Vec::new();
        let mut managed = Vec::new();
        for z in list {
            let name = z.name.trim_end_matches('.').to_ascii_lowercase();
            all.push(name.clone());
            let by_domain = (!self.cfg.domain_filter.is_configured() || self.cfg.domain_filter.matches(&name))
                && (self.cfg.zone_id_filter.is_empty()
                    || self
                        .cfg
                        .zone_id_filter
                        .iter()
                        .any(|f| z.id.eq_ignore_ascii_case(f) || z.id.ends_with(f.as_str())));
            let by_name = self.cfg.zone_name_filter.is_configured() && self.cfg.zone_name_filter.matches(&name);
            if by_domain || by_name {
                managed.push(name);
            }
        }
        if managed.is_empty() {
            tracing::warn!(provider = self.name, "no zone of the resource group passes the filters");
        }
        let index = ZoneIndex::new(managed.iter().cloned());
        Ok(self.zones.put(ZoneSet { all, managed, index }))
    }

    fn error(&self, err: &ApiError, applied_before: usize) -> ProviderError {
        let mut message = err.to_string();
        if applied_before > 0 {
            message.push_str(&format!(" ({applied_before} record sets were written before)"));
        }
        if err.is_auth() {
            message.push_str(" (check the credentials and that the identity has the DNS Zone Contributor role on the resource group)");
            return ProviderError::permanent(self.name, message);
        }
        if err.is_transient() {
            return ProviderError::Transient { provider: self.name.into(), message, retry_after: err.retry_after() };
        }
        ProviderError::permanent(self.name, message)
    }

    fn etags(&self) -> std::sync::MutexGuard<'_, HashMap<EtagKey, String>> {
        self.etags.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The etag of the record set `ep` was planned against: the one read, or — when none is
    /// known — the current one, if it still holds what the plan saw.
    async fn version_of(&self, zone: &str, name: &str, ep: &Endpoint) -> Result<Option<String>, ApiError> {
        let rtype = ep.record_type.as_str();
        let key = (zone.to_owned(), rtype.to_owned(), name.to_ascii_lowercase());
        if let Some(etag) = self.etags().get(&key) {
            return Ok(Some(etag.clone()));
        }
        match self.client.get(zone, rtype, name).await? {
            Some(rs) if same_records(self.flavor(), zone, name, &rs.properties, ep) => Ok(rs.etag),
            Some(_) => Err(ApiError::Status {
                call: format!("write {rtype} {name} in zone {zone}"),
                status: 412,
                code: "PreconditionFailed".into(),
                message: "the record set differs from what was planned against".into(),
                retry_after: None,
            }),
            None => Ok(None),
        }
    }

    async fn write(&self, zone: &str, op: &Op<'_>) -> Result<Outcome, ApiError> {
        let ep = op.endpoint();
        let name = relative_name(&ep.dns_name, zone);
        let rtype = ep.record_type.as_str();
        let key = (zone.to_owned(), rtype.to_owned(), name.to_ascii_lowercase());
        let result = match op {
            Op::Delete { ep } => match self.version_of(zone, &name, ep).await {
                Ok(Some(etag)) => self.client.delete(zone, rtype, &name, &etag).await.map(|()| None),
                Ok(None) => Ok(None), // already gone
                Err(e) => Err(e),
            },
            Op::Upsert { ep, old } => {
                let props = match properties(self.flavor(), ep) {
                    Ok(p) => p,
                    Err(why) => return Ok(Outcome::Refused(why)),
                };
                let guard = match old {
                    None => Ok(Guard::Absent),
                    Some(old) => match self.version_of(zone, &name, old).await {
                        Ok(Some(etag)) => Ok(Guard::Version(etag)),
                        Ok(None) => Ok(Guard::Absent),
                        Err(e) => Err(e),
                    },
                };
                match guard {
                    Ok(g) => self.client.put(zone, rtype, &name, &props, &g).await,
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(etag) => {
                let mut etags = self.etags();
                match etag {
                    Some(e) if matches!(op, Op::Upsert { .. }) => etags.insert(key, e),
                    _ => etags.remove(&key),
                };
                Ok(Outcome::Done)
            }
            Err(e) if e.status() == Some(404) && matches!(op, Op::Delete { .. }) => {
                self.etags().remove(&key);
                Ok(Outcome::Done)
            }
            Err(e) if e.status() == Some(412) => {
                self.etags().remove(&key);
                Ok(Outcome::Conflict(e.to_string()))
            }
            Err(e) if e.is_auth() || e.is_transient() => Err(e),
            Err(e) => Ok(Outcome::Refused(e.to_string())),
        }
    }

    /// Runs one phase's writes, a few at a time.
    async fn phase(
        &self,
        ops: Vec<(String, Op<'_>)>,
        report: &mut ApplyReport,
        conflicts: &mut Vec<(String, String)>,
        applied: &mut usize,
    ) -> Result<(), ProviderError> {
        let writes: Vec<_> = ops.iter().map(|(zone, op)| async move { (op, self.write(zone, op).await) }).collect();
        let mut results = futures_util::stream::iter(writes).buffer_unordered(PARALLEL_WRITES);
        let mut fatal = None;
        while let Some((op, result)) = results.next().await {
            match result {
                Ok(Outcome::Done) => *applied += 1,
                Ok(Outcome::Conflict(why)) => {
                    tracing::warn!(name = %op.endpoint().dns_name, rtype = %op.endpoint().record_type, "changed since it was read; left as it is, re-read next: {why}");
                    conflicts.push((op.endpoint().dns_name.as_str().to_owned(), why));
                }
                Ok(Outcome::Refused(why)) => {
                    tracing::warn!(name = %op.endpoint().dns_name, rtype = %op.endpoint().record_type, "Azure refused the record set: {why}");
                    report
                        .rejected
                        .push(Rejected { endpoint: op.endpoint().clone(), reason: RejectReason::Refused(why) });
                }
                Err(e) => {
                    fatal.get_or_insert(e);
                }
            }
        }
        match fatal {
            Some(e) => Err(self.error(&e, *applied)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        self.name
    }

    fn domain_filter(&self) -> DomainFilter {
        match self.cached_zones() {
            Some(z) if !z.all.is_empty() => DomainFilter::new(&z.all, &[]),
            _ => self.cfg.domain_filter.clone(),
        }
    }

    fn zones(&self) -> Option<ZoneIndex> {
        self.cached_zones().map(|z| z.index.clone())
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let zones = self.zone_set(true).await?;
        let mut reads = futures_util::stream::iter(zones.managed.clone())
            .map(|zone| {
                let client = self.client.clone();
                async move {
                    let result = client.list_record_sets(&zone).await;
                    (zone, result)
                }
            })
            .buffered(PARALLEL_READS);
        let mut records = Records::default();
        let mut etags = HashMap::new();
        while let Some((zone, result)) = reads.next().await {
            let sets = match result {
                Ok(s) => s,
                Err(e) if e.is_auth() => return Err(self.error(&e, 0)),
                Err(e) => {
                    tracing::warn!(zone = %zone, error = %e, "cannot read zone; leaving it alone this time");
                    records.unreadable_zones.push(ZoneFailure { zone: zone.clone(), reason: e.to_string() });
                    continue;
                }
            };
            for rs in sets {
                let Some(rtype) = record_type(&rs.rtype) else { continue };
                match to_endpoint(self.flavor(), &zone, &rs.name, rtype, &rs.properties) {
                    Ok(ep) if zones.index.zone_of(&ep.dns_name) == Some(zone.as_str()) => {
                        if let Some(etag) = rs.etag {
                            etags.insert((zone.clone(), rtype.as_str().to_owned(), rs.name.to_ascii_lowercase()), etag);
                        }
                        records.endpoints.push(ep);
                    }
                    Ok(_) => {}
                    Err(Skip::Unparsable(why)) => {
                        tracing::warn!(zone = %zone, "skipping a record set exodns cannot read: {why}")
                    }
                    Err(_) => {}
                }
            }
        }
        *self.etags() = etags;
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let zones = self.zone_set(false).await?;
        let zone_of = |ep: &Endpoint, report: &mut ApplyReport| -> Option<String> {
            let zone = zones.index.zone_of(&ep.dns_name).map(str::to_owned);
            if zone.is_none() {
                tracing::info!(name = %ep.dns_name, "ignoring a change: no suitable Azure DNS zone");
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
            }
            zone
        };
        // A record and its ownership TXT are separate record sets here: the record goes first,
        // and the TXT of a record that changed behind exodns's back stays as it is (a TXT created
        // beside someone else's record would hand that record to exodns).
        let owned =
            |ep: &Endpoint| ep.labels.get(label::OWNED_RECORD).map(|o| o.trim_end_matches('.').to_ascii_lowercase());
        let (mut deletes, mut txt_deletes, mut upserts, mut txt_upserts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ep in &changes.delete {
            if let Some(z) = zone_of(ep, &mut report) {
                let list = if owned(ep).is_some() { &mut txt_deletes } else { &mut deletes };
                list.push((z, Op::Delete { ep }));
            }
        }
        let updates = changes.update_old.iter().map(Some).zip(&changes.update_new);
        for (old, ep) in changes.create.iter().map(|e| (None, e)).chain(updates) {
            if let Some(z) = zone_of(ep, &mut report) {
                let list = if owned(ep).is_some() { &mut txt_upserts } else { &mut upserts };
                list.push((z, Op::Upsert { ep, old }));
            }
        }
        let (mut conflicts, mut applied) = (Vec::new(), 0);
        for (records, txts) in [(deletes, txt_deletes), (upserts, txt_upserts)] {
            self.phase(records, &mut report, &mut conflicts, &mut applied).await?;
            let (kept, held): (Vec<_>, Vec<_>) = txts.into_iter().partition(|(_, op)| {
                let o = owned(op.endpoint()).unwrap_or_default();
                !conflicts.iter().any(|(name, _)| *name == o)
            });
            for (_, op) in &held {
                tracing::info!(name = %op.endpoint().dns_name, "ownership TXT left as it is: its record changed since it was read");
            }
            self.phase(kept, &mut report, &mut conflicts, &mut applied).await?;
        }
        tracing::info!(
            provider = self.name,
            applied,
            rejected = report.rejected.len(),
            conflicts = conflicts.len(),
            "changes applied to Azure DNS"
        );
        if !conflicts.is_empty() {
            return Err(ProviderError::transient(
                self.name,
                format!(
                    "{} record set(s) changed since they were read and were left as they are; re-reading and planning again: {}",
                    conflicts.len(),
                    conflicts.iter().map(|(_, why)| why.as_str()).collect::<Vec<_>>().join("; ")
                ),
            ));
        }
        Ok(report)
    }

    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        for ep in &mut endpoints {
            expand_tags(ep);
        }
        Ok(endpoints)
    }
}
