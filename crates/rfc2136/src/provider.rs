//! [`Rfc2136Provider`]: the [`Provider`] over RFC2136 dynamic UPDATE and AXFR.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use exodns_core::endpoint::canonical_targets;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, Ttl};
use exodns_provider::{ApplyReport, Provider, ProviderError, Records, RejectReason, Rejected, ZoneFailure};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name};

use crate::client::{Client, Session};
use crate::config::{MAX_MESSAGE, Rfc2136Config};
use crate::convert::{fqdn, target_text, wire_type};
use crate::error::{Rfc2136Error, rcode_name};
use crate::update::{Item, ZonePlan};
use crate::zone::{Rrset, ZoneState};

const PROVIDER: &str = <crate::Rfc2136 as exodns_provider::ProviderKind>::INFO.name;

/// Messages sent since the provider was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub updates: u64,
    pub transfers: u64,
    pub queries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    updates: AtomicU64,
    transfers: AtomicU64,
    queries: AtomicU64,
}

struct Zone {
    /// Lowercase, no trailing dot.
    name: String,
    wire: Name,
}

/// The RFC2136 provider.
pub struct Rfc2136Provider {
    cfg: Rfc2136Config,
    client: Client,
    zones: Vec<Zone>,
    index: ZoneIndex,
    /// Per zone: what it holds, as last read and since written.
    states: Mutex<HashMap<String, ZoneState>>,
    counters: Counters,
}

impl std::fmt::Debug for Rfc2136Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rfc2136Provider").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl Rfc2136Provider {
    /// Checks the settings; nothing is sent.
    pub fn new(cfg: Rfc2136Config) -> Result<Self, Rfc2136Error> {
        cfg.validate()?;
        let client = Client::new(&cfg)?;
        let mut zones = Vec::new();
        for z in &cfg.zones {
            let name = z.trim().trim_end_matches('.').to_ascii_lowercase();
            if zones.iter().any(|known: &Zone| known.name == name) {
                continue;
            }
            let wire = fqdn(&name).map_err(|message| Rfc2136Error::Config { setting: "--rfc2136-zone", message })?;
            zones.push(Zone { name, wire });
        }
        let index = ZoneIndex::new(zones.iter().map(|z| z.name.clone()));
        Ok(Rfc2136Provider {
            cfg,
            client,
            zones,
            index,
            states: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    pub fn config(&self) -> &Rfc2136Config {
        &self.cfg
    }

    /// Messages sent so far (for benchmarks and logs).
    pub fn message_counts(&self) -> MessageCounts {
        MessageCounts {
            updates: self.counters.updates.load(Ordering::Relaxed),
            transfers: self.counters.transfers.load(Ordering::Relaxed),
            queries: self.counters.queries.load(Ordering::Relaxed),
        }
    }

    fn state(&self, zone: &str) -> Option<ZoneState> {
        self.states.lock().unwrap_or_else(|p| p.into_inner()).get(zone).cloned()
    }

    fn store(&self, zone: &str, state: Option<ZoneState>) {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        match state {
            Some(s) => states.insert(zone.to_owned(), s),
            None => states.remove(zone),
        };
    }

    async fn read_zone(&self, zone: &Zone) -> Result<ZoneState, Rfc2136Error> {
        self.counters.transfers.fetch_add(1, Ordering::Relaxed);
        let records = self.client.axfr(&zone.wire).await?;
        let (state, stats) = ZoneState::from_transfer(&records, |n| self.index.zone_of(n) == Some(zone.name.as_str()));
        tracing::debug!(
            zone = %zone.name,
            records = records.len(),
            rrsets = state.rrsets.len(),
            unreadable = stats.unreadable,
            other_zone = stats.other_zone,
            "zone read by AXFR"
        );
        Ok(state)
    }

    /// The zone's state to plan writes against: as last read, else read now. Without AXFR,
    /// only what this process wrote.
    async fn state_for_apply(&self, zone: &Zone) -> Result<ZoneState, Rfc2136Error> {
        if let Some(s) = self.state(&zone.name) {
            return Ok(s);
        }
        if !self.cfg.axfr {
            return Ok(ZoneState::default());
        }
        self.read_zone(zone).await
    }

    /// Sends a zone's batches in order; a refused batch is narrowed down to the groups at fault.
    async fn apply_zone(
        &self,
        zone: &Zone,
        plan: &ZonePlan<'_>,
        state: &mut ZoneState,
        report: &mut ApplyReport,
    ) -> Result<ZoneOutcome, ProviderError> {
        let mut outcome = ZoneOutcome::default();
        let mut session = self.client.session().await.map_err(|e| provider_error(e, 0))?;
        // Most of the zone changes: one transfer at the end reads it back for less than a
        // question per record set.
        let by_transfer = self.cfg.axfr
            && plan.ops.len() >= TRANSFER_READ_BACK_MIN
            && plan.ops.len().saturating_mul(4) >= state.rrsets.len();
        let mut applied_ops = Vec::new();
        let batches = plan.batches(self.cfg.batch_change_size, MAX_MESSAGE);
        let mut origins: Vec<Origin> =
            batches.iter().map(|b| Origin { pieces: 1, groups: b.len(), refused: 0 }).collect();
        let mut queue: VecDeque<(usize, Vec<usize>)> = batches.into_iter().enumerate().collect();
        let mut zone_refusal: Option<String> = None;
        while let Some((origin, batch)) = queue.pop_front() {
            origins[origin].pieces -= 1;
            if let Some(reason) = &zone_refusal {
                refuse(report, plan, &batch, reason);
                outcome.refused += plan.changes(&batch);
                continue;
            }
            let what = format!("UPDATE of {} ({} record sets)", zone.name, plan.op_indices(&batch).len());
            self.counters.updates.fetch_add(1, Ordering::Relaxed);
            outcome.messages += 1;
            let rcode = session
                .update(plan.message(&zone.wire, &batch), &what)
                .await
                .map_err(|e| provider_error(e, outcome.applied))?;
            match rcode {
                ResponseCode::NoError => {
                    outcome.applied += plan.changes(&batch);
                    let ops = plan.op_indices(&batch);
                    for &i in &ops {
                        let op = &plan.ops[i];
                        state.set(&op.name, op.rtype, op.desired.clone());
                    }
                    if by_transfer {
                        applied_ops.extend(ops);
                    } else if let Err(e) =
                        self.read_back(zone, &mut session, plan, &ops, false, state, report, &mut outcome).await
                    {
                        tracing::warn!(zone = %zone.name, error = %e, "cannot read the changes back; they are taken as written");
                        session = self.client.session().await.map_err(|e| provider_error(e, outcome.applied))?;
                    }
                }
                ResponseCode::NXRRSet
                | ResponseCode::YXRRSet
                | ResponseCode::YXDomain
                | ResponseCode::NXDomain
                | ResponseCode::FormErr
                | ResponseCode::NotZone
                | ResponseCode::Refused
                | ResponseCode::NotAuth => {
                    if batch.len() > 1 {
                        let (a, b) = batch.split_at(batch.len() / 2);
                        origins[origin].pieces += 2;
                        queue.push_front((origin, b.to_vec()));
                        queue.push_front((origin, a.to_vec()));
                        continue;
                    }
                    let reason = update_refusal(rcode, &session.server());
                    tracing::warn!(zone = %zone.name, "{reason}");
                    refuse(report, plan, &batch, &reason);
                    outcome.refused += plan.changes(&batch);
                    // A server that refuses this key for the zone refuses every group: once a
                    // whole batch went that way and nothing was applied, stop asking.
                    let o = &mut origins[origin];
                    if matches!(rcode, ResponseCode::Refused | ResponseCode::NotAuth) {
                        o.refused += 1;
                        if o.pieces == 0 && o.refused == o.groups && outcome.applied == 0 {
                            zone_refusal = Some(reason);
                        }
                    }
                }
                ResponseCode::NotImp => {
                    return Err(ProviderError::permanent(
                        PROVIDER,
                        format!("{}: {what}: the server does not implement dynamic UPDATE (NOTIMP)", session.server()),
                    ));
                }
                other => {
                    let e = Rfc2136Error::Rcode { server: session.server(), what, rcode: other, hint: String::new() };
                    return Err(provider_error(e, outcome.applied));
                }
            }
        }
        if !applied_ops.is_empty()
            && let Err(e) =
                self.read_back(zone, &mut session, plan, &applied_ops, true, state, report, &mut outcome).await
        {
            tracing::warn!(zone = %zone.name, error = %e, "cannot read the changes back; they are taken as written");
        }
        Ok(outcome)
    }

    /// Reads back the record sets of `ops`, just applied, from the host that took them: by
    /// questions pipelined on the session, or by one zone transfer (`by_transfer`, which also
    /// refreshes the whole zone state). The ones the server does not serve as written are
    /// reported: a server may answer NOERROR and drop an update (RFC 2136 §3.4.2.2). The zone
    /// state takes what the server really holds.
    #[allow(clippy::too_many_arguments)]
    async fn read_back(
        &self,
        zone: &Zone,
        session: &mut Session<'_>,
        plan: &ZonePlan<'_>,
        ops: &[usize],
        by_transfer: bool,
        state: &mut ZoneState,
        report: &mut ApplyReport,
        outcome: &mut ZoneOutcome,
    ) -> Result<(), Rfc2136Error> {
        let served: Vec<Option<Rrset>> = if by_transfer {
            self.counters.transfers.fetch_add(1, Ordering::Relaxed);
            let records = self.client.axfr_from(session.host(), &zone.wire).await?;
            let (fresh, _) = ZoneState::from_transfer(&records, |n| self.index.zone_of(n) == Some(zone.name.as_str()));
            let served = ops.iter().map(|&i| fresh.get(&plan.ops[i].name, plan.ops[i].rtype).cloned()).collect();
            *state = fresh;
            served
        } else {
            let mut asked = Vec::with_capacity(ops.len());
            for &i in ops {
                let op = &plan.ops[i];
                let (Ok(name), Some(wt)) = (fqdn(op.name.as_str()), wire_type(op.rtype)) else {
                    return Err(Rfc2136Error::Protocol {
                        server: session.server(),
                        what: "read-back".into(),
                        message: format!("{} {} cannot be asked for", op.name.as_str(), op.rtype),
                    });
                };
                asked.push((name, wt));
            }
            self.counters.queries.fetch_add(asked.len() as u64, Ordering::Relaxed);
            let answers = session.query(&asked).await?;
            ops.iter()
                .zip(asked.iter().zip(&answers))
                .map(|(&i, ((name, wt), answer))| served(answer, name, *wt, plan.ops[i].rtype))
                .collect()
        };
        let mut dropped_creates = Vec::new();
        for (&i, served) in ops.iter().zip(served) {
            let op = &plan.ops[i];
            let same = match (&served, &op.desired) {
                (None, None) => true,
                (Some(got), Some(want)) => got.targets.same(&want.targets),
                _ => false,
            };
            if same {
                continue;
            }
            let server = session.server();
            let reason = match (&served, &op.desired) {
                (None, Some(_)) => format!(
                    "{server} answered NOERROR to the UPDATE but does not serve the {} record afterwards: it dropped \
                     it silently (as BIND and Knot do with a CNAME beside other records)",
                    op.rtype
                ),
                (Some(got), None) => {
                    format!(
                        "{server} answered NOERROR to the UPDATE but still serves {:?}: it ignored the deletion",
                        got.targets
                    )
                }
                (Some(got), Some(want)) => format!(
                    "{server} answered NOERROR to the UPDATE but serves {:?} instead of {:?}",
                    got.targets, want.targets
                ),
                (None, None) => unreachable!("handled above"),
            };
            tracing::warn!(name = %op.name, record_type = %op.rtype, "{reason}");
            reject(report, &op.sources, &reason);
            outcome.applied = outcome.applied.saturating_sub(op.sources.len());
            outcome.dropped += op.sources.len();
            if served.is_none() && op.current.is_none() {
                dropped_creates.push(i);
            }
            state.set(&op.name, op.rtype, served);
        }
        // An ownership TXT written beside a record the server dropped would claim a record that
        // is not there: take it back.
        let withdraw: Vec<usize> = dropped_creates.iter().flat_map(|&i| plan.ownership_of(ops, i)).collect();
        if withdraw.is_empty() {
            return Ok(());
        }
        let msg = plan.withdrawal(&zone.wire, &withdraw).map_err(|message| Rfc2136Error::Protocol {
            server: session.server(),
            what: "withdrawal".into(),
            message,
        })?;
        self.counters.updates.fetch_add(1, Ordering::Relaxed);
        outcome.messages += 1;
        let rcode = session.update(msg, &format!("UPDATE of {} (withdrawal)", zone.name)).await?;
        for &i in &withdraw {
            let op = &plan.ops[i];
            if rcode == ResponseCode::NoError {
                state.set(&op.name, op.rtype, None);
                reject(report, &op.sources, "withdrawn: the server dropped the record it owns");
            } else {
                tracing::warn!(name = %op.name, rcode = %rcode_name(rcode), "cannot withdraw the ownership TXT of a dropped record");
            }
        }
        Ok(())
    }
}

/// What the answer serves for (`name`, `wt`): its records of that owner and type.
fn served(
    answer: &Message,
    name: &Name,
    wt: hickory_proto::rr::RecordType,
    rt: exodns_core::RecordType,
) -> Option<Rrset> {
    let records: Vec<_> = answer
        .answers
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN && r.record_type() == wt && r.name.eq_ignore_root(name))
        .collect();
    let ttl = records.first()?.ttl;
    let texts: Vec<String> = records.iter().map(|r| target_text(&r.data)).collect();
    let targets = canonical_targets(rt, texts.iter().map(String::as_str)).ok()?;
    Some(Rrset { ttl, targets })
}

/// Record sets written in one apply from which a zone transfer reads them back, when they are
/// also a quarter of the zone or more.
const TRANSFER_READ_BACK_MIN: usize = 256;

#[derive(Debug, Default)]
struct ZoneOutcome {
    applied: usize,
    refused: usize,
    dropped: usize,
    messages: usize,
}

/// One batch as first packed, while it is being narrowed down.
struct Origin {
    /// Pieces still queued.
    pieces: usize,
    groups: usize,
    /// Groups refused with REFUSED or NOTAUTH.
    refused: usize,
}

fn refuse(report: &mut ApplyReport, plan: &ZonePlan<'_>, batch: &[usize], reason: &str) {
    for i in plan.op_indices(batch) {
        reject(report, &plan.ops[i].sources, reason);
    }
}

fn reject(report: &mut ApplyReport, sources: &[&Endpoint], reason: &str) {
    for src in sources {
        report.rejected.push(Rejected { endpoint: (*src).clone(), reason: RejectReason::Refused(reason.to_owned()) });
    }
}

fn update_refusal(rcode: ResponseCode, server: &str) -> String {
    let why = match rcode {
        ResponseCode::NXRRSet => "a record set changed on the server since exodns read the zone (prerequisite failed)",
        ResponseCode::YXRRSet => "a record set appeared on the server since exodns read the zone (prerequisite failed)",
        ResponseCode::YXDomain => {
            "records appeared at the name of a new CNAME since exodns read the zone (prerequisite failed)"
        }
        ResponseCode::Refused => {
            "the server's policy (allow-update, update-policy) does not let this key write it, or its checks \
             refuse it (BIND refuses an MX or SRV whose target has no address in the zone); its log says which"
        }
        ResponseCode::NotAuth => "the server is not authoritative for the zone, or does not let this key update it",
        ResponseCode::NotZone => "the name is outside the zone",
        _ => "the server refused the update",
    };
    format!("{server} answered {}: {why}", rcode_name(rcode))
}

fn provider_error(e: Rfc2136Error, applied_before: usize) -> ProviderError {
    let mut message = e.to_string();
    if applied_before > 0 {
        message.push_str(&format!(" ({applied_before} changes of this zone were applied before)"));
    }
    if e.is_transient() {
        ProviderError::transient(PROVIDER, message)
    } else {
        ProviderError::permanent(PROVIDER, message)
    }
}

#[async_trait]
impl Provider for Rfc2136Provider {
    fn name(&self) -> &str {
        PROVIDER
    }

    /// The configured zones: names outside them are never planned.
    fn domain_filter(&self) -> DomainFilter {
        DomainFilter::new(&self.zones.iter().map(|z| z.name.clone()).collect::<Vec<_>>(), &[])
    }

    fn zones(&self) -> Option<ZoneIndex> {
        Some(self.index.clone())
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let started = Instant::now();
        let mut out = Records::default();
        for zone in &self.zones {
            if !self.cfg.axfr {
                // Without AXFR nothing can be read: what this process wrote is all it knows.
                out.endpoints.extend(self.state(&zone.name).unwrap_or_default().endpoints());
                continue;
            }
            match self.read_zone(zone).await {
                Ok(state) => {
                    out.endpoints.extend(state.endpoints());
                    self.store(&zone.name, Some(state));
                }
                Err(e) => {
                    tracing::warn!(zone = %zone.name, error = %e, "cannot read zone; leaving it alone this time");
                    out.unreadable_zones.push(ZoneFailure { zone: zone.name.clone(), reason: e.to_string() });
                    self.store(&zone.name, None);
                }
            }
        }
        tracing::debug!(
            zones = self.zones.len(),
            endpoints = out.endpoints.len(),
            unreadable = out.unreadable_zones.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "RFC2136 records read"
        );
        Ok(out)
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let mut per_zone: Vec<Vec<Item<'_>>> = (0..self.zones.len()).map(|_| Vec::new()).collect();
        let puts = changes.create.iter().chain(&changes.update_new).map(Item::Put);
        for item in puts.chain(changes.delete.iter().map(Item::Delete)) {
            let ep = match item {
                Item::Put(ep) | Item::Delete(ep) => ep,
            };
            match self.zone_position(&ep.dns_name) {
                Some(z) => per_zone[z].push(item),
                None => {
                    tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "no --rfc2136-zone holds this name");
                    report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
                }
            }
        }
        for (zone, items) in self.zones.iter().zip(&per_zone) {
            if items.is_empty() {
                continue;
            }
            let started = Instant::now();
            let mut state = match self.state_for_apply(zone).await {
                Ok(s) => s,
                Err(e) => {
                    let reason = format!("zone {} could not be read, so nothing is written to it: {e}", zone.name);
                    tracing::warn!("{reason}");
                    for item in items {
                        let (Item::Put(ep) | Item::Delete(ep)) = *item;
                        reject(&mut report, &[ep], &reason);
                    }
                    continue;
                }
            };
            let plan = ZonePlan::build(items, &state, &self.cfg);
            for (ep, reason) in &plan.refused {
                tracing::warn!(name = %ep.dns_name, rtype = %ep.record_type, "{reason}");
                reject(&mut report, &[ep], reason);
            }
            if plan.groups.is_empty() {
                continue;
            }
            let result = self.apply_zone(zone, &plan, &mut state, &mut report).await;
            // After a failure the zone's state is unknown: read it again before the next write.
            self.store(&zone.name, result.is_ok().then_some(state));
            let outcome = result?;
            tracing::info!(
                zone = %zone.name,
                applied = outcome.applied,
                refused = outcome.refused + plan.refused.len(),
                dropped_by_server = outcome.dropped,
                unchanged = plan.unchanged,
                messages = outcome.messages,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "changes applied by RFC2136 UPDATE"
            );
        }
        Ok(report)
    }

    /// Raises TTLs below `--rfc2136-min-ttl` to it, as it is written, so that the next plan
    /// compares like with like. An unset TTL stays unset: it never causes an update.
    async fn adjust_endpoints(&self, mut endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        let min = u32::try_from(self.cfg.min_ttl.as_secs()).unwrap_or(u32::MAX);
        if min > 0 {
            for ep in &mut endpoints {
                if ep.ttl.is_set() && ep.ttl.0 < min {
                    ep.ttl = Ttl(min);
                }
            }
        }
        Ok(endpoints)
    }
}

impl Rfc2136Provider {
    fn zone_position(&self, name: &DnsName) -> Option<usize> {
        let zone = self.index.zone_of(name)?;
        self.zones.iter().position(|z| z.name == zone)
    }
}
