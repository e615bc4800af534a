//! Pools: a hostname H served by members that any number of regions publish.
//!
//! Each region writes its members as a plain A/AAAA record at `<region>._pool.H`, owned as usual
//! (its ownership TXT) and labelled with the hash of the policy it publishes. The record at H
//! itself — LUA, or plain for single-region — is rendered from every member in the zone,
//! whoever owns it, and owned by the shared pool owner.
//!
//! A source declares a pool with an endpoint at H of type LUA, without targets, whose
//! [`DECLARATION_LABEL`] holds the policy in [`Policy::canonical`] form; the pool planner takes
//! these out of the desired records before anything is planned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::endpoint::{Endpoint, FORCE_UPDATE_PROPERTY, label};
use crate::name::DnsName;
use crate::record_type::RecordType;
use crate::target::Targets;

use super::policy::{Member, Policy, Region};
use super::render::render;

/// The label between a member's region and the hostname.
pub const POOL_LABEL: &str = "_pool";
/// On member records (and in their ownership TXT): the hash of the policy they publish.
pub const POLICY_LABEL: &str = "failover-policy";
/// On a pool declaration: the policy, canonical.
pub const DECLARATION_LABEL: &str = "failover-pool";
/// On the pool record (in its TXT): the policy it was rendered with, canonical, `%` and `,`
/// percent-encoded (a TXT label value holds no `,`). A region without a FailoverRecord of the
/// hostname re-renders the pool from it, so that its member leaving takes effect at its own sync.
pub const RENDERED_LABEL: &str = "failover-rendered";

/// The [`RENDERED_LABEL`] value of `policy`.
pub fn rendered_label(policy: &Policy) -> String {
    policy.canonical().replace('%', "%25").replace(',', "%2C")
}

/// The policy a [`RENDERED_LABEL`] value holds; `None` for any other text.
pub fn rendered_policy(value: &str) -> Option<Policy> {
    // Only `%25` and `%2C` are ever written; the canonical form holds `%` in paths (`%2F`),
    // so one pass over the escapes, left to right.
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let (c, after) = match rest.get(i..i + 3)? {
            "%25" => ('%', &rest[i + 3..]),
            "%2C" => (',', &rest[i + 3..]),
            _ => return None,
        };
        out.push(c);
        rest = after;
    }
    out.push_str(rest);
    Policy::from_canonical(&out)
}

/// `<region>._pool.<host>`.
pub fn member_name(region: &Region, host: &DnsName) -> Option<DnsName> {
    DnsName::parse(&format!("{region}.{POOL_LABEL}.{}", host.as_str())).ok()
}

/// The (region, hostname) of a member name `<region>._pool.<host>`.
pub fn member_of(name: &DnsName) -> Option<(&str, DnsName)> {
    let (region, rest) = name.as_str().split_once('.')?;
    let host = rest.strip_prefix(POOL_LABEL)?.strip_prefix('.')?;
    Some((region, DnsName::parse(host).ok()?))
}

/// The declaration of a pool at `host` with `policy`, for the object `resource`.
pub fn declaration(host: DnsName, policy: &Policy, resource: &str) -> Endpoint {
    Endpoint::new(host, RecordType::LUA, Targets::default())
        .with_ttl(policy.ttl)
        .with_label(label::RESOURCE, resource)
        .with_label(DECLARATION_LABEL, policy.canonical())
}

/// The policy an endpoint declares, if it is a pool declaration.
pub fn declared(ep: &Endpoint) -> Option<Policy> {
    if ep.record_type != RecordType::LUA || !ep.targets.is_empty() {
        return None;
    }
    Policy::from_canonical(ep.labels.get(DECLARATION_LABEL)?)
}

/// Who plans the pools of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Our owner id (`--txt-owner-id`): our members, and our plain records a pool replaces.
    pub owner_id: String,
    /// The shared owner of every pool record (`--failover-pool-owner`).
    pub pool_owner: String,
    /// Our region (`--failover-region`): other sources' A/AAAA at a pool's hostname join it.
    pub region: Option<Region>,
}

/// What became of one pool hostname this sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolOutcome {
    /// The record at the hostname is the one rendered from every member.
    Rendered,
    /// Members disagree on the policy: the published record is left as it is.
    PolicyConflict { regions: Vec<String> },
    /// A record of another owner (or of no owner) holds the hostname: nothing is written there.
    Foreign { record_type: RecordType, owner: String },
    /// No member is left in the zone: the pool record goes (with its TXT).
    NoMembers,
    /// Members exist but no policy is known here (no valid FailoverRecord of ours names the
    /// host, and the published record names no policy every member agrees with): left as it
    /// is, for a region that has one.
    NoPolicy,
    /// The members cannot be rendered with the policy (another region's member of the other
    /// address family, say): left as it is.
    Unrenderable { reason: String },
}

/// One pool hostname: what was found and planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolReport {
    pub host: DnsName,
    /// The `resource` labels of our objects that declare it.
    pub resources: Vec<String>,
    pub outcome: PoolOutcome,
    /// Region → addresses, every member in the zone after this sync.
    pub members: BTreeMap<String, Vec<String>>,
    /// The record wanted at the hostname (LUA content, or the addresses of a plain record).
    pub content: Option<String>,
    /// The DNS server answers SERVFAIL for this content (`--pdns-dns-server`): what it said.
    /// Set by the controller, which remembers it until the content changes.
    pub not_served: Option<String>,
}

/// The two passes of a sync with pools.
#[derive(Debug, Clone, Default)]
pub struct PoolPlan {
    /// The ordinary pass: declarations taken out, other sources' A/AAAA at a pool's hostname
    /// moved to our member.
    pub desired: Vec<Endpoint>,
    /// The pool pass, planned under the pool owner over [`PoolPlan::hosts`] only.
    pub pool_desired: Vec<Endpoint>,
    pub hosts: BTreeSet<DnsName>,
    pub reports: Vec<PoolReport>,
}

impl PoolPlan {
    /// The current records the pool pass plans against: those at the pool hostnames that are
    /// not ours (ours are the ordinary pass's).
    pub fn pool_current(&self, current: &[Endpoint], owner_id: &str) -> Vec<Endpoint> {
        current.iter().filter(|c| self.hosts.contains(&c.dns_name) && c.owner() != Some(owner_id)).cloned().collect()
    }
}

fn is_address(rt: RecordType) -> bool {
    matches!(rt, RecordType::A | RecordType::AAAA)
}

/// Types whose presence at a pool's hostname takes it.
fn holds_name(rt: RecordType) -> bool {
    matches!(rt, RecordType::A | RecordType::AAAA | RecordType::LUA | RecordType::CNAME)
}

/// Splits a sync into the ordinary pass and the pool pass (see the module doc). `current` is
/// the zone as the registry read it (owner labels attached); our members whose policy label is
/// out of date are marked for an update there, so their TXT is rewritten. Our current members
/// that `held` (their object's input is broken: `Protected`) still count as members.
pub fn plan_pools(
    desired: Vec<Endpoint>,
    current: &mut [Endpoint],
    s: &PoolSettings,
    held: &dyn Fn(&Endpoint) -> bool,
) -> PoolPlan {
    let mut declared: BTreeMap<DnsName, (Vec<Policy>, Vec<String>)> = BTreeMap::new();
    let mut rest = Vec::with_capacity(desired.len());
    for ep in desired {
        match self::declared(&ep) {
            Some(p) => {
                let d = declared.entry(ep.dns_name.clone()).or_default();
                if !d.0.contains(&p) {
                    d.0.push(p);
                }
                d.1.extend(ep.resource().map(str::to_owned));
            }
            None => rest.push(ep),
        }
    }
    let mut hosts: BTreeSet<DnsName> = declared.keys().cloned().collect();
    hosts.extend(
        current
            .iter()
            .filter(|c| holds_name(c.record_type) && c.owner() == Some(s.pool_owner.as_str()))
            .map(|c| c.dns_name.clone()),
    );
    if hosts.is_empty() {
        return PoolPlan { desired: rest, ..PoolPlan::default() };
    }

    // Foreign holders first: a taken hostname keeps its records, ours included.
    let mut foreign: BTreeMap<DnsName, (RecordType, String)> = BTreeMap::new();
    for c in current.iter() {
        if hosts.contains(&c.dns_name) && holds_name(c.record_type) {
            let owner = c.owner().unwrap_or_default();
            if owner != s.pool_owner && owner != s.owner_id {
                foreign.entry(c.dns_name.clone()).or_insert((c.record_type, owner.to_owned()));
            }
        }
    }
    // Other sources' A/AAAA at a declared, free hostname join our member (a set identifier
    // too: the pool is the routing policy there).
    let mut joined: BTreeMap<DnsName, Vec<String>> = BTreeMap::new();
    if let Some(region) = &s.region {
        rest.retain(|ep| {
            let take = is_address(ep.record_type)
                && !foreign.contains_key(&ep.dns_name)
                && declared
                    .get(&ep.dns_name)
                    .is_some_and(|(p, _)| p.len() == 1 && p[0].family.record_type() == ep.record_type);
            if take && let Some(name) = member_name(region, &ep.dns_name) {
                joined.entry(name).or_default().extend(ep.targets.iter().map(str::to_owned));
                return false;
            }
            true
        });
        for ep in rest.iter_mut() {
            if let Some(extra) = joined.remove(&ep.dns_name) {
                ep.targets.edit(|t| {
                    t.extend(extra);
                    t.sort();
                    t.dedup();
                });
            }
        }
        // A hostname whose only member here comes from other sources.
        for (name, targets) in joined {
            let Some((_, host)) = member_of(&name) else { continue };
            let Some((policies, resources)) = declared.get(&host) else { continue };
            let mut t = targets;
            t.sort();
            t.dedup();
            let mut ep = Endpoint::new(name, policies[0].family.record_type(), Targets::new(t))
                .with_ttl(policies[0].ttl)
                .with_label(POLICY_LABEL, policies[0].hash());
            if let Some(r) = resources.first() {
                ep = ep.with_label(label::RESOURCE, r.clone());
            }
            rest.push(ep);
        }
    }

    // Our members whose TXT carries another policy: rewrite it.
    let wanted: BTreeMap<(&DnsName, RecordType), &str> = rest
        .iter()
        .filter_map(|e| Some(((&e.dns_name, e.record_type), e.labels.get(POLICY_LABEL)?.as_str())))
        .collect();
    let mut stale = Vec::new();
    for (i, c) in current.iter().enumerate() {
        if c.owner() == Some(s.owner_id.as_str())
            && let Some(want) = wanted.get(&(&c.dns_name, c.record_type))
            && c.labels.get(POLICY_LABEL).map(String::as_str) != Some(*want)
        {
            stale.push(i);
        }
    }
    for i in stale {
        current[i].set_property(FORCE_UPDATE_PROPERTY, "true");
    }

    // Each record looked at once, not once per pool: the current records at each pool's
    // hostname, and each pool's member records (current and desired), by index.
    let mut at_host: HashMap<DnsName, Vec<usize>> = HashMap::new();
    let mut member_records: HashMap<DnsName, (Vec<usize>, Vec<usize>)> = HashMap::new();
    let pool_of = |ep: &Endpoint| {
        let (_, h) = member_of(&ep.dns_name).filter(|_| is_address(ep.record_type))?;
        hosts.contains(&h).then_some(h)
    };
    for (i, c) in current.iter().enumerate() {
        if hosts.contains(&c.dns_name) {
            at_host.entry(c.dns_name.clone()).or_default().push(i);
        }
        if let Some(h) = pool_of(c) {
            member_records.entry(h).or_default().0.push(i);
        }
    }
    for (i, ep) in rest.iter().enumerate() {
        if let Some(h) = pool_of(ep) {
            member_records.entry(h).or_default().1.push(i);
        }
    }

    let mut plan =
        PoolPlan { desired: Vec::new(), pool_desired: Vec::new(), hosts: BTreeSet::new(), reports: Vec::new() };
    for host in hosts {
        let (policies, mut resources) = declared.remove(&host).unwrap_or_default();
        resources.sort();
        resources.dedup();
        let (theirs, ours) = member_records.remove(&host).unwrap_or_default();
        let members = members_of(current, &theirs, &rest, &ours, &s.owner_id, held);
        let here = at_host.remove(&host).unwrap_or_default();
        let published: Vec<Endpoint> = here
            .iter()
            .map(|&i| &current[i])
            .filter(|c| holds_name(c.record_type) && c.owner() == Some(s.pool_owner.as_str()))
            .cloned()
            .collect();
        let mut report = PoolReport {
            host: host.clone(),
            resources,
            outcome: PoolOutcome::Rendered,
            members: members.iter().map(|(r, (_, a))| (r.clone(), a.iter().map(|a| a.to_string()).collect())).collect(),
            content: None,
            not_served: None,
        };
        let keep = |report: &mut PoolReport, outcome: PoolOutcome, plan: &mut PoolPlan| {
            report.content = published.first().map(|p| p.targets.join(" "));
            report.outcome = outcome;
            plan.pool_desired.extend(published.iter().cloned());
        };
        if let Some((record_type, owner)) = foreign.get(&host) {
            report.outcome = PoolOutcome::Foreign { record_type: *record_type, owner: owner.clone() };
            plan.reports.push(report);
            // Not planned in the pool pass at all: nothing is written at the hostname.
            continue;
        }
        plan.hosts.insert(host.clone());
        if members.is_empty() {
            report.outcome = PoolOutcome::NoMembers;
            plan.reports.push(report);
            continue;
        }
        // Without a FailoverRecord of ours here (deleted, or broken and held), the policy the
        // pool was rendered with, when every member still publishes it.
        let from_published = || {
            let p = published.first()?.labels.get(RENDERED_LABEL).and_then(|v| rendered_policy(v))?;
            let hash = p.hash();
            members.values().all(|(h, _)| h.as_deref() == Some(hash.as_str())).then_some(p)
        };
        let fallback;
        let policy = match policies.as_slice() {
            [] => match from_published() {
                Some(p) => {
                    fallback = p;
                    &fallback
                }
                None => {
                    keep(&mut report, PoolOutcome::NoPolicy, &mut plan);
                    plan.reports.push(report);
                    continue;
                }
            },
            [one] => one,
            several => {
                let reason =
                    format!("{} FailoverRecords here name this hostname with different policies", several.len());
                keep(&mut report, PoolOutcome::Unrenderable { reason }, &mut plan);
                plan.reports.push(report);
                continue;
            }
        };
        let hash = policy.hash();
        let disagree: Vec<String> =
            members.iter().filter(|(_, (h, _))| h.as_deref() != Some(hash.as_str())).map(|(r, _)| r.clone()).collect();
        if !disagree.is_empty() {
            let mut regions: Vec<String> = members.keys().cloned().collect();
            regions.sort();
            keep(&mut report, PoolOutcome::PolicyConflict { regions }, &mut plan);
            plan.reports.push(report);
            continue;
        }
        let list: Vec<Member> = members
            .iter()
            .filter_map(|(r, (_, addrs))| Some((Region::parse(r, "member").ok()?, addrs)))
            .flat_map(|(r, addrs)| addrs.iter().map(move |a| Member::new(r.clone(), *a)))
            .collect();
        match render(&host, policy, &list) {
            Ok(r) => {
                report.content = Some(r.targets.join(" "));
                let label = rendered_label(policy);
                plan.pool_desired.push(
                    Endpoint::new(host.clone(), r.record_type, Targets::new(r.targets))
                        .with_ttl(policy.ttl)
                        .with_label(RENDERED_LABEL, label.clone()),
                );
                // A pool published without the policy (or with another, same content): its TXT
                // is rewritten.
                for &i in &here {
                    let c = &mut current[i];
                    if c.record_type == r.record_type
                        && c.owner() == Some(s.pool_owner.as_str())
                        && c.labels.get(RENDERED_LABEL) != Some(&label)
                    {
                        c.set_property(FORCE_UPDATE_PROPERTY, "true");
                    }
                }
            }
            Err(e) => keep(&mut report, PoolOutcome::Unrenderable { reason: e.to_string() }, &mut plan),
        }
        plan.reports.push(report);
    }
    plan.desired = rest;
    plan
}

/// Region → (policy hash, addresses) of every member of one pool once this sync is applied:
/// ours from `desired[ours]`, the other owners' from `current[theirs]` (its member records).
fn members_of(
    current: &[Endpoint],
    theirs: &[usize],
    desired: &[Endpoint],
    ours: &[usize],
    owner_id: &str,
    held: &dyn Fn(&Endpoint) -> bool,
) -> BTreeMap<String, (Option<String>, BTreeSet<IpAddr>)> {
    let mut out: BTreeMap<String, (Option<String>, BTreeSet<IpAddr>)> = BTreeMap::new();
    // Current first: our desired members' policy label wins over a held record's.
    let theirs = theirs.iter().map(|&i| &current[i]).filter(|c| c.owner() != Some(owner_id) || held(c));
    for ep in theirs.chain(ours.iter().map(|&i| &desired[i])) {
        let Some((region, _)) = member_of(&ep.dns_name) else { continue };
        let addrs: BTreeSet<IpAddr> = ep.targets.iter().filter_map(|t| t.parse().ok()).collect();
        if addrs.is_empty() {
            continue;
        }
        let entry = out.entry(region.to_owned()).or_default();
        entry.0 = ep.labels.get(POLICY_LABEL).cloned();
        entry.1.extend(addrs);
    }
    out
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
