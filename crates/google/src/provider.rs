//! [`GoogleProvider`]: the [`Provider`] over Cloud DNS.
//!
//! Reading: every managed zone inside the filters (domain, `--zone-id-filter` on id or name,
//! `--google-zone-visibility`; peering zones never), then each zone's record sets, a few zones at
//! a time. A zone that cannot be read is reported as unreadable: nothing under it is planned.
//!
//! Writing: per zone, the changes of each name (and of its ownership TXT record) stay together, in
//! one atomic change, and are cut into `changes.create`
//! calls of at most `--google-batch-change-size` additions + deletions, names in order, with
//! `--google-batch-change-interval` between calls (upstream's batching). Each change is atomic,
//! and is waited for until Cloud DNS says `done` before the next one goes. A deletion sends the
//! record set exactly as it was read, so Cloud DNS refuses it (412) when someone changed it since:
//! then the rest goes on, and the apply ends with a transient error, so that the controller
//! re-reads the zone and plans again instead of overwriting blindly. A 409 (an addition that
//! already exists) is handled the same way.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, RecordType};
use exodns_provider::zones::Listed;
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::client::{ApiError, DnsClient};
use crate::convert::{Skip, endpoint_to_rrset, rrset_to_endpoint, same_records, writable};
use crate::model::{Change, ManagedZone, RRSet};

const PROVIDER: &str = <crate::Google as exodns_provider::ProviderKind>::INFO.name;

/// Zones read at the same time.
const PARALLEL_READS: usize = 4;

/// Which zones, by `visibility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Any,
    Public,
    Private,
}

/// Settings of the provider.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// `--google-project`; `None`: from the credentials, else the metadata server.
    pub project: Option<String>,
    pub domain_filter: DomainFilter,
    /// `--zone-id-filter`: zone ids or names (empty: all).
    pub zone_id_filter: Vec<String>,
    pub visibility: Visibility,
    /// Additions + deletions per change (0: one change per zone).
    pub batch_change_size: usize,
    pub batch_change_interval: Duration,
    /// How long a `pending` change is waited for.
    pub change_timeout: Duration,
    /// First wait between two reads of a pending change (it doubles, up to 2 s).
    pub change_poll: Duration,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        GoogleConfig {
            project: None,
            domain_filter: DomainFilter::default(),
            zone_id_filter: Vec::new(),
            visibility: Visibility::Any,
            batch_change_size: 1000,
            batch_change_interval: Duration::from_secs(1),
            change_timeout: Duration::from_secs(300),
            change_poll: Duration::from_millis(100),
        }
    }
}

/// A managed zone inside the filters.
#[derive(Debug, Clone)]
struct Zone {
    /// The zone's name in the project (URL id).
    id: String,
    /// DNS name without the trailing dot, lowercase.
    name: String,
}

#[derive(Debug, Default)]
struct ZoneSet {
    all: Vec<String>,
    managed: Vec<Zone>,
    index: ZoneIndex,
}

impl ZoneSet {
    fn new(list: Vec<ManagedZone>, cfg: &GoogleConfig) -> Self {
        let mut all = Vec::new();
        let mut managed = Vec::new();
        for z in list {
            let name = z.dns_name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() || z.peering_config.is_some() {
                continue;
            }
            all.push(name.clone());
            let visible = match cfg.visibility {
                Visibility::Any => true,
                Visibility::Public => z.visibility.is_empty() || z.visibility == "public",
                Visibility::Private => z.visibility == "private",
            };
            let id_ok = cfg.zone_id_filter.is_empty() || cfg.zone_id_filter.iter().any(|f| *f == z.id || *f == z.name);
            let domain_ok = !cfg.domain_filter.is_configured() || cfg.domain_filter.matches(&name);
            if visible && id_ok && domain_ok {
                managed.push(Zone { id: z.name, name });
            } else {
                tracing::debug!(zone = %z.name, dns_name = %z.dns_name, visibility = %z.visibility, "zone filtered out");
            }
        }
        let index = ZoneIndex::new(managed.iter().map(|z| z.name.clone()));
        ZoneSet { all, managed, index }
    }

    fn position(&self, name: &DnsName) -> Option<usize> {
        let zone = self.index.zone_of(name)?;
        self.managed.iter().position(|z| z.name == zone)
    }
}

/// Record sets by (name, type), as last read or written: deletions send them byte for byte.
type RawKey = (String, RecordType);

/// The Google Cloud DNS provider.
#[derive(Debug)]
pub struct GoogleProvider {
    client: DnsClient,
    cfg: GoogleConfig,
    project: OnceCell<String>,
    zones: Listed<ZoneSet>,
    raw: Mutex<HashMap<RawKey, RRSet>>,
}

/// The changes of one name in one zone, with those of its ownership TXT (they always travel
/// together, in one atomic change).
#[derive(Debug, Default)]
struct NameChange<'a> {
    additions: Vec<RRSet>,
    deletions: Vec<RRSet>,
    sources: Vec<&'a Endpoint>,
}

impl NameChange<'_> {
    fn len(&self) -> usize {
        self.additions.len() + self.deletions.len()
    }
}

impl GoogleProvider {
    /// No request is sent here.
    pub fn new(client: DnsClient, cfg: GoogleConfig) -> Self {
        let project = OnceCell::new_with(cfg.project.clone().filter(|p| !p.is_empty()));
        GoogleProvider { client, cfg, project, zones: Listed::default(), raw: Mutex::new(HashMap::new()) }
    }

    pub fn config(&self) -> &GoogleConfig {
        &self.cfg
    }

    /// The project: the flag, else the credentials' own, else the metadata server's (asked
    /// once it answers; until then every sync fails softly and retries).
    pub async fn project(&self) -> Result<String, ProviderError> {
        self.project
            .get_or_try_init(|| async {
                if let Some(p) = self.client.auth().credentials().project_id() {
                    tracing::info!(project = p, "Google project taken from the credentials");
                    return Ok(p.to_owned());
                }
                let p = self.client.auth().metadata_project().await.map_err(|e| {
                    ProviderError::transient(
                        PROVIDER,
                        format!("cannot auto-detect the project (set --google-project): {e}"),
                    )
                })?;
                tracing::info!(project = %p, "Google project auto-detected from the metadata server");
                Ok(p)
            })
            .await
            .cloned()
    }

    fn cached_zones(&self) -> Option<Arc<ZoneSet>> {
        self.zones.get()
    }

    async fn refresh_zones(&self, project: &str) -> Result<Arc<ZoneSet>, ProviderError> {
        let list = self.client.list_zones(project).await.map_err(|e| to_provider_error(&e, 0))?;
        let set = self.zones.put(ZoneSet::new(list, &self.cfg));
        if set.managed.is_empty() {
            tracing::warn!(project, "no managed zone of the project passes the filters");
        }
        Ok(set)
    }

    fn raw(&self) -> std::sync::MutexGuard<'_, HashMap<RawKey, RRSet>> {
        self.raw.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deletion of `ep`: the record set as read when it still holds the same records.
    fn deletion(&self, ep: &Endpoint) -> RRSet {
        let key = (ep.dns_name.as_str().to_owned(), ep.record_type);
        match self.raw().get(&key) {
            Some(rr) if same_records(rr, ep) => rr.clone(),
            _ => endpoint_to_rrset(ep),
        }
    }

    /// Groups a change set by zone and name; what has no zone, or cannot be written, is rejected.
    fn assign<'a>(
        &self,
        zones: &ZoneSet,
        changes: &'a Changes,
        report: &mut ApplyReport,
    ) -> Vec<BTreeMap<String, NameChange<'a>>> {
        let mut per_zone: Vec<BTreeMap<String, NameChange<'a>>> =
            (0..zones.managed.len()).map(|_| BTreeMap::new()).collect();
        let mut place = |ep: &'a Endpoint, addition: Option<RRSet>, deletion: Option<RRSet>| {
            if !writable(ep.record_type) {
                let reason = format!("Cloud DNS has no {} records", ep.record_type);
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::Refused(reason) });
                return;
            }
            let Some(z) = zones.position(&ep.dns_name) else {
                tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no managed Cloud DNS zone holds this name");
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
                return;
            };
            // A record and its ownership TXT travel in one change: neither lands without the other.
            let group = ep.labels.get(exodns_core::endpoint::label::OWNED_RECORD).map_or_else(
                || ep.dns_name.as_str().to_owned(),
                |owned| owned.trim_end_matches('.').to_ascii_lowercase(),
            );
            let entry = per_zone[z].entry(group).or_default();
            entry.additions.extend(addition);
            entry.deletions.extend(deletion);
            if !entry.sources.iter().any(|s| std::ptr::eq(*s, ep)) {
                entry.sources.push(ep);
            }
        };
        for ep in &changes.create {
            place(ep, Some(endpoint_to_rrset(ep)), None);
        }
        for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
            place(old, None, Some(self.deletion(old)));
            place(new, Some(endpoint_to_rrset(new)), None);
        }
        for ep in &changes.delete {
            place(ep, None, Some(self.deletion(ep)));
        }
        per_zone
    }

    /// Cuts a zone's names into changes of at most the batch size (names in order).
    fn batches<'a>(
        &self,
        zone: &Zone,
        names: BTreeMap<String, NameChange<'a>>,
        report: &mut ApplyReport,
    ) -> Vec<Vec<NameChange<'a>>> {
        let size = self.cfg.batch_change_size;
        let mut batches: Vec<Vec<NameChange<'a>>> = Vec::new();
        let mut current: Vec<NameChange<'a>> = Vec::new();
        let mut count = 0;
        for (name, nc) in names {
            if size > 0 && nc.len() > size {
                let reason = format!(
                    "{} changes of {name} exceed --google-batch-change-size={size}; they must go in one change",
                    nc.len()
                );
                tracing::warn!(zone = %zone.name, "{reason}");
                refuse(report, &nc, &reason);
                continue;
            }
            if size > 0 && count + nc.len() > size && !current.is_empty() {
                batches.push(std::mem::take(&mut current));
                count = 0;
            }
            count += nc.len();
            current.push(nc);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        batches
    }

    /// Sends one change and waits until Cloud DNS has applied it.
    async fn submit(&self, project: &str, zone: &Zone, change: &Change) -> Result<(), ApiError> {
        let created = self.client.create_change(project, &zone.id, change).await?;
        if created.is_done() {
            return Ok(());
        }
        let Some(id) = created.id.clone() else {
            // Nothing to wait on: the answer said neither done nor which change.
            return Ok(());
        };
        let started = Instant::now();
        let mut wait = self.cfg.change_poll;
        loop {
            tokio::time::sleep(wait).await;
            let now = self.client.get_change(project, &zone.id, &id).await?;
            if now.is_done() {
                tracing::debug!(zone = %zone.name, change = %id, waited_ms = started.elapsed().as_millis() as u64, "change done");
                return Ok(());
            }
            if started.elapsed() > self.cfg.change_timeout {
                return Err(ApiError::Transport {
                    call: format!("change {id} of zone {}", zone.id),
                    message: format!(
                        "still {} after {:?}",
                        now.status.as_deref().unwrap_or("pending"),
                        self.cfg.change_timeout
                    ),
                });
            }
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Whether the zone, read again, already holds what `change` makes: every addition as sent,
    /// every deletion gone (or replaced by an addition). A read that fails says no.
    async fn zone_holds(&self, project: &str, zone: &Zone, change: &Change) -> bool {
        match self.client.list_rrsets(project, &zone.id).await {
            Ok(rrsets) => holds(&rrsets, change),
            Err(e) => {
                tracing::debug!(zone = %zone.name, error = %e, "could not read the zone again after a conflict");
                false
            }
        }
    }

    fn remember(&self, change: &Change) {
        let mut raw = self.raw();
        for d in &change.deletions {
            if let Ok(t) = d.rtype.parse() {
                raw.remove(&(d.name.trim_end_matches('.').to_ascii_lowercase(), t));
            }
        }
        for a in &change.additions {
            if let Ok(t) = a.rtype.parse() {
                raw.insert((a.name.trim_end_matches('.').to_ascii_lowercase(), t), a.clone());
            }
        }
    }

    /// Applies one zone's batches; conflicts (409/412) are counted and skipped.
    async fn apply_zone(
        &self,
        project: &str,
        zone: &Zone,
        batches: Vec<Vec<NameChange<'_>>>,
        report: &mut ApplyReport,
        outcome: &mut Outcome,
    ) -> Result<(), ProviderError> {
        let mut queue: VecDeque<Vec<NameChange<'_>>> = batches.into();
        let mut first = true;
        while let Some(batch) = queue.pop_front() {
            if !first && !self.cfg.batch_change_interval.is_zero() {
                tokio::time::sleep(self.cfg.batch_change_interval).await;
            }
            first = false;
            let change = Change {
                additions: batch.iter().flat_map(|n| n.additions.iter().cloned()).collect(),
                deletions: batch.iter().flat_map(|n| n.deletions.iter().cloned()).collect(),
                ..Change::default()
            };
            tracing::info!(zone = %zone.name, additions = change.additions.len(), deletions = change.deletions.len(), "sending a change to Cloud DNS");
            let err = match self.submit(project, zone, &change).await {
                Ok(()) => {
                    self.remember(&change);
                    outcome.applied += change.len();
                    outcome.changes += 1;
                    continue;
                }
                Err(e) => e,
            };
            if err.status() == Some(409) && self.zone_holds(project, zone, &change).await {
                // A retry whose first try was applied, its answer lost: the zone is as wanted.
                tracing::info!(zone = %zone.name, "a change refused as existing was found applied (a retry met its own first try)");
                self.remember(&change);
                outcome.applied += change.len();
                outcome.changes += 1;
                continue;
            }
            match err.status() {
                Some(409 | 412) => {
                    tracing::warn!(zone = %zone.name, error = %err, "records changed since they were read; they are re-read and planned again");
                    outcome.conflicts.push(err.to_string());
                }
                Some(400) if batch.len() > 1 => {
                    // One name's data was refused: find it by halves, apply the rest.
                    let mut batch = batch;
                    let back = batch.split_off(batch.len() / 2);
                    queue.push_front(back);
                    queue.push_front(batch);
                    first = true;
                }
                Some(400) => {
                    for nc in &batch {
                        refuse(report, nc, &format!("Cloud DNS refused the change: {err}"));
                    }
                }
                Some(404) => {
                    let reason = format!("zone {} not found in project {project}: {err}", zone.id);
                    tracing::warn!("{reason}");
                    for nc in batch.iter().chain(queue.iter().flatten()) {
                        refuse(report, nc, &reason);
                    }
                    self.zones.forget();
                    return Ok(());
                }
                _ => return Err(to_provider_error(&err, outcome.applied)),
            }
        }
        Ok(())
    }
}

/// Whether `rrsets` (a zone as read) hold the result of `change`.
fn holds(rrsets: &[RRSet], change: &Change) -> bool {
    let key = |r: &RRSet| (r.name.trim_end_matches('.').to_ascii_lowercase(), r.rtype.to_ascii_uppercase());
    let zone: HashMap<_, &RRSet> = rrsets.iter().map(|r| (key(r), r)).collect();
    let sorted = |r: &RRSet| {
        let mut d = r.rrdatas.clone();
        d.sort();
        d
    };
    let added =
        change.additions.iter().all(|a| zone.get(&key(a)).is_some_and(|z| z.ttl == a.ttl && sorted(z) == sorted(a)));
    let deleted = change
        .deletions
        .iter()
        .all(|d| !zone.contains_key(&key(d)) || change.additions.iter().any(|a| key(a) == key(d)));
    added && deleted
}

#[derive(Debug, Default)]
struct Outcome {
    applied: usize,
    changes: usize,
    conflicts: Vec<String>,
}

fn refuse(report: &mut ApplyReport, nc: &NameChange<'_>, reason: &str) {
    for ep in &nc.sources {
        report.rejected.push(Rejected { endpoint: (*ep).clone(), reason: RejectReason::Refused(reason.to_owned()) });
    }
}

fn to_provider_error(err: &ApiError, applied_before: usize) -> ProviderError {
    let mut message = err.to_string();
    if applied_before > 0 {
        message.push_str(&format!(" ({applied_before} record set changes were applied before)"));
    }
    if err.is_auth() {
        message.push_str(" (check the credentials and that their service account may edit Cloud DNS: roles/dns.admin)");
        return ProviderError::permanent(PROVIDER, message);
    }
    if err.is_transient() {
        return ProviderError::Transient { provider: PROVIDER.into(), message, retry_after: err.retry_after() };
    }
    ProviderError::permanent(PROVIDER, message)
}

#[async_trait]
impl Provider for GoogleProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    /// Every zone of the project, as last listed; before the first listing, the configured filter.
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
        let started = Instant::now();
        let project = self.project().await?;
        let zones = self.refresh_zones(&project).await?;
        let mut reads = futures_util::stream::iter(zones.managed.clone())
            .map(|z| {
                let client = self.client.clone();
                let project = project.clone();
                async move {
                    let result = client.list_rrsets(&project, &z.id).await;
                    (z, result)
                }
            })
            .buffered(PARALLEL_READS);
        let mut records = Records::default();
        let mut raw = HashMap::new();
        while let Some((zone, result)) = reads.next().await {
            let rrsets = match result {
                Ok(r) => r,
                Err(e) if e.is_auth() => return Err(to_provider_error(&e, 0)),
                Err(e) => {
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone; leaving it alone this time");
                    records.unreadable_zones.push(ZoneFailure { zone: zone.name.clone(), reason: e.to_string() });
                    continue;
                }
            };
            for rr in rrsets {
                match rrset_to_endpoint(&rr) {
                    Ok(ep) if zones.position(&ep.dns_name).is_some_and(|i| zones.managed[i].name == zone.name) => {
                        raw.insert((ep.dns_name.as_str().to_owned(), ep.record_type), rr);
                        records.endpoints.push(ep);
                    }
                    Ok(_) => {} // a delegation to a more specific managed zone
                    Err(Skip::Unparsable(why)) => {
                        tracing::warn!(zone = %zone.name, "skipping a record set exodns cannot read: {why}")
                    }
                    Err(_) => {}
                }
            }
        }
        *self.raw() = raw;
        tracing::debug!(
            zones = zones.managed.len(),
            records = records.endpoints.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read Cloud DNS"
        );
        Ok(records)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let project = self.project().await?;
        let zones = match self.cached_zones() {
            Some(z) => z,
            None => self.refresh_zones(&project).await?,
        };
        let per_zone = self.assign(&zones, changes, &mut report);
        let mut outcome = Outcome::default();
        for (zone, names) in zones.managed.iter().zip(per_zone) {
            if names.is_empty() {
                continue;
            }
            let batches = self.batches(zone, names, &mut report);
            self.apply_zone(&project, zone, batches, &mut report, &mut outcome).await?;
        }
        tracing::info!(
            applied = outcome.applied,
            changes = outcome.changes,
            rejected = report.rejected.len(),
            "changes applied to Cloud DNS"
        );
        if !outcome.conflicts.is_empty() {
            return Err(ProviderError::transient(
                PROVIDER,
                format!(
                    "{} change(s) refused because records changed since they were read; re-reading and planning again: {}",
                    outcome.conflicts.len(),
                    outcome.conflicts.join("; ")
                ),
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(name: &str, ttl: u32, data: &[&str]) -> RRSet {
        RRSet {
            name: name.into(),
            rtype: "A".into(),
            ttl,
            rrdatas: data.iter().map(|d| (*d).to_owned()).collect(),
            routing_policy: None,
        }
    }

    #[test]
    fn a_zone_holds_a_change_only_when_every_part_is_there() {
        let old = rr("web.example.org.", 300, &["192.0.2.1"]);
        let new = rr("web.example.org.", 300, &["192.0.2.2", "192.0.2.3"]);
        let gone = rr("old.example.org.", 300, &["192.0.2.9"]);
        let change =
            Change { additions: vec![new.clone()], deletions: vec![old.clone(), gone.clone()], ..Change::default() };
        // Applied: the replacement is there (rrdatas in another order, name in another case).
        let applied = rr("WEB.example.org.", 300, &["192.0.2.3", "192.0.2.2"]);
        assert!(holds(std::slice::from_ref(&applied), &change));
        // Not applied, or applied differently: the old data, another TTL, a deletion still there.
        assert!(!holds(&[old], &change));
        assert!(!holds(&[rr("web.example.org.", 60, &["192.0.2.2", "192.0.2.3"])], &change));
        assert!(!holds(&[applied, gone], &change));
        assert!(!holds(&[], &change));
    }
}
