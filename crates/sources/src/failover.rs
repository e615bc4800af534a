//! The `failover` source: exodns's `FailoverRecord` (`exodns.io/v1alpha1`), a hostname served by
//! health-checked members in one or more regions (see docs/failover.md).
//!
//! Every field is checked (each bad one reported with its path), then the record is rendered
//! once, so that what the source accepts PowerDNS serves. A valid record gives:
//! - per region among its targets, a member record `<region>._pool.<hostname>` (A or AAAA, the
//!   record's TTL) labelled with the policy's hash; a target without a region serves from
//!   `--failover-region`;
//! - a pool declaration at the hostname (see `exodns_core::failover::pool`), which the pool
//!   planner turns into the record PowerDNS serves, rendered from every region's members.
//!
//! An invalid record publishes nothing new and keeps what it published (`Protected`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use exodns_core::endpoint::label;
use exodns_core::failover::policy::{DEFAULT_TTL, failover_ttl};
use exodns_core::failover::pool::{self, POLICY_LABEL, PoolOutcome, PoolReport};
use exodns_core::failover::{
    Family, HealthCheck, Member, Placement, Policy, Port, Protocol, Region, Selector, StringMatch, Timeout, UrlPath,
    Weight, render,
};
use exodns_core::{DnsName, Endpoint, Invalid, InvalidKind, Targets};

use crate::SourceOutput;
use crate::cluster::ClusterView;
use crate::common::{Ctx, Routing};
use crate::config::SourceConfig;
use crate::kind::{Read, Source, StatusInput, StatusWriter};
use crate::resource::Watched;
use crate::types::{Condition, FailoverHealthCheck, FailoverRecord, FailoverRecordSpec, FailoverRecordStatus};

/// The `failover` source.
pub struct FailoverSource;

impl Source for FailoverSource {
    const NAME: &'static str = "failover";
    const LABEL: &'static str = "failover";
    type Object = FailoverRecord;
    const READS: &'static [Read] = &[Read::own(Watched::FailoverRecords)];
    const STATUS: Option<StatusWriter<FailoverRecord>> = Some(status_patch);

    fn endpoints(obj: &FailoverRecord, _view: &dyn ClusterView, cfg: &SourceConfig) -> SourceOutput {
        endpoints(obj, cfg)
    }
}

/// A FailoverRecord whose every field checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub hostname: DnsName,
    pub policy: Policy,
    pub members: Vec<Member>,
}

/// The endpoints of one FailoverRecord.
pub fn endpoints(obj: &FailoverRecord, cfg: &SourceConfig) -> SourceOutput {
    // TTL and routing come from the spec; no annotation applies.
    let mut ctx = match Ctx::admit::<FailoverSource>(&obj.metadata, Routing::Ignored, cfg) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let resource = ctx.obj.resource_label();
    match check(&obj.spec, cfg.failover_region.as_ref()) {
        Ok(c) => ctx.endpoints.extend(checked_endpoints(&c, &resource)),
        Err(errors) => ctx.invalid.extend(errors.into_iter().map(|e| e.on(&ctx.obj))),
    }
    ctx.finish()
}

/// The member records and the pool declaration of a checked record.
pub fn checked_endpoints(c: &Checked, resource: &str) -> Vec<Endpoint> {
    let mut by_region: BTreeMap<&Region, Vec<String>> = BTreeMap::new();
    for m in &c.members {
        by_region.entry(&m.region).or_default().push(m.address.to_string());
    }
    let hash = c.policy.hash();
    let mut out = Vec::with_capacity(by_region.len() + 1);
    for (region, mut addrs) in by_region {
        let Some(name) = pool::member_name(region, &c.hostname) else { continue };
        addrs.sort();
        addrs.dedup();
        out.push(
            Endpoint::new(name, c.policy.family.record_type(), Targets::new(addrs))
                .with_ttl(c.policy.ttl)
                .with_label(label::RESOURCE, resource)
                .with_label(POLICY_LABEL, hash.clone()),
        );
    }
    out.push(pool::declaration(c.hostname.clone(), &c.policy, resource));
    out
}

fn condition(type_: &str, ok: bool, reason: &str, message: String, generation: Option<i64>) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        observed_generation: generation,
        last_transition_time: None,
    }
}

/// The status a FailoverRecord should have: Valid (every field checked), Published and
/// PolicyConflict (from the last sync's pool report), the content published, the members seen,
/// `observedGeneration`. Pure: the same object and report give the same status.
pub fn status(obj: &FailoverRecord, cfg: &SourceConfig, pool: Option<&PoolReport>) -> FailoverRecordStatus {
    let generation = obj.metadata.generation;
    let mut conditions = Vec::new();
    let checked = check(&obj.spec, cfg.failover_region.as_ref());
    match &checked {
        Ok(_) => conditions.push(condition("Valid", true, "Checked", "every field checked".into(), generation)),
        Err(errors) => {
            let message: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
            conditions.push(condition("Valid", false, "InvalidSpec", message.join("; "), generation));
        }
    }
    // A report names this record only when it is valid (an invalid one declares nothing).
    let pool = pool.filter(|p| checked.as_ref().is_ok_and(|c| c.hostname == p.host));
    let (published, reason, message) = match (&checked, pool.map(|p| &p.outcome)) {
        (Err(_), _) => (false, "InvalidSpec", "nothing new is published; what was published stays".to_owned()),
        (Ok(_), None) => (false, "Pending", "not synced yet".to_owned()),
        (Ok(c), Some(PoolOutcome::Rendered)) => (true, "Published", format!("{} is published", c.hostname)),
        (Ok(c), Some(PoolOutcome::Foreign { record_type, owner })) => {
            let owner = if owner.is_empty() { "no owner".to_owned() } else { format!("owner {owner:?}") };
            (
                false,
                "HostnameTaken",
                format!("{} holds a {record_type} record of {owner}; nothing is written there", c.hostname),
            )
        }
        (Ok(_), Some(PoolOutcome::PolicyConflict { regions })) => (
            false,
            "PolicyConflict",
            format!("regions {} disagree on the policy; the published record is left as it is", regions.join(", ")),
        ),
        (Ok(_), Some(PoolOutcome::NoMembers)) => (false, "NoMembers", "no member is left in the zone".to_owned()),
        (Ok(_), Some(PoolOutcome::NoPolicy)) => (false, "NoPolicy", "no policy for this hostname here".to_owned()),
        (Ok(_), Some(PoolOutcome::Unrenderable { reason })) => (false, "Unrenderable", reason.clone()),
    };
    // Written, but the DNS server cannot serve it: not published in any sense that matters.
    let (published, reason, message) = match pool.and_then(|p| p.not_served.as_deref()) {
        Some(detail) if checked.is_ok() => {
            (false, "NotServed", format!("{detail}: the record is written but the DNS server cannot answer it"))
        }
        _ => (published, reason, message),
    };
    conditions.push(condition("Published", published, reason, message, generation));
    let conflict = match pool.map(|p| &p.outcome) {
        Some(PoolOutcome::PolicyConflict { regions }) => condition(
            "PolicyConflict",
            true,
            "HashMismatch",
            format!("regions {} disagree", regions.join(", ")),
            generation,
        ),
        _ => condition("PolicyConflict", false, "Agreed", "every region publishes the same policy".into(), generation),
    };
    conditions.push(conflict);
    FailoverRecordStatus {
        conditions,
        content: pool.and_then(|p| p.content.clone()),
        members: pool.map(|p| p.members.clone()).unwrap_or_default(),
        observed_generation: generation,
    }
}

/// The status writer: a merge patch when the status differs (regions gone are nulled).
fn status_patch(obj: &FailoverRecord, input: &StatusInput<'_>) -> Option<serde_json::Value> {
    let want = status(obj, input.cfg, input.pool);
    if obj.status.as_ref() == Some(&want) {
        return None;
    }
    let mut patch = serde_json::to_value(&want).ok()?;
    let gone = obj.status.iter().flat_map(|s| s.members.keys()).filter(|r| !want.members.contains_key(*r));
    for r in gone {
        patch["members"][r] = serde_json::Value::Null;
    }
    if want.content.is_none() {
        patch["content"] = serde_json::Value::Null;
    }
    Some(serde_json::json!({ "status": patch }))
}

fn invalid(field: impl Into<String>, value: &str, reason: impl Into<String>) -> Invalid {
    Invalid::new(InvalidKind::Failover, field, value, reason)
}

/// Checks every field of `spec` (all errors, each naming its field), then renders it once.
/// `region` is where targets without one serve from (`--failover-region`).
pub fn check(spec: &FailoverRecordSpec, region: Option<&Region>) -> Result<Checked, Vec<Invalid>> {
    let mut errors: Vec<Invalid> = Vec::new();
    // The value, or None with its diagnostic kept: every field is checked.
    macro_rules! ok {
        ($e:expr) => {
            match $e {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        };
    }

    let hostname = ok!(DnsName::parse(&spec.hostname).map_err(|e| e.invalid("spec.hostname", &spec.hostname)));
    let family = ok!(Family::parse(spec.record_type.as_deref().unwrap_or("A"), "spec.recordType"));
    let ttl = ok!(failover_ttl(spec.ttl.unwrap_or(i64::from(DEFAULT_TTL)), "spec.ttl"));
    let placement = if spec.placement.trim().is_empty() {
        ok!(Err::<Placement, _>(invalid(
            "spec.placement",
            "",
            "placement is required: single-region, active-active, active-hotstandby or weighted",
        )))
    } else {
        ok!(Placement::parse(&spec.placement, "spec.placement"))
    };
    let selector = ok!(Selector::parse(spec.selector.as_deref().unwrap_or("all"), "spec.selector"));
    let mut members = Vec::new();
    for (i, t) in spec.targets.iter().enumerate() {
        let at = |f: &str| format!("spec.targets[{i}].{f}");
        let address = ok!(t.address.trim().parse::<IpAddr>().map_err(|_| {
            invalid(at("address"), &t.address, "an address is an IPv4 or IPv6 address (no host names, no port)")
        }));
        if let (Some(a), Some(f)) = (&address, family)
            && Family::of(a) != f
        {
            let want = if f == Family::V4 { "IPv4" } else { "IPv6" };
            errors.push(invalid(
                at("address"),
                &t.address,
                format!("a {} record takes {want} addresses only", f.record_type()),
            ));
        }
        let r = match (&t.region, region) {
            (Some(r), _) => ok!(Region::parse(r, &at("region"))),
            (None, Some(r)) => Some(r.clone()),
            (None, None) => ok!(Err::<Region, _>(invalid(
                at("region"),
                "",
                "no region: set it, or --failover-region (its default, --txt-owner-id, is not a DNS label)",
            ))),
        };
        if let (Some(address), Some(r)) = (address, r) {
            members.push(Member::new(r, address));
        }
    }
    let regions: Vec<Region> = spec
        .regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| ok!(Region::parse(r, &format!("spec.regions[{i}]"))))
        .collect();
    let mut weights = BTreeMap::new();
    for (r, w) in &spec.weights {
        let at = format!("spec.weights.{r}");
        if let (Some(r), Some(w)) = (ok!(Region::parse(r, &at)), ok!(Weight::parse(*w, &at))) {
            weights.insert(r, w);
        }
    }
    let health_check = spec.health_check.as_ref().and_then(|hc| ok!(health_check(hc)));
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(hostname), Some(family), Some(ttl), Some(placement), Some(selector)) =
        (hostname, family, ttl, placement, selector)
    else {
        return Err(errors);
    };
    let policy = Policy { family, ttl, placement, health_check, selector, regions, weights };
    // The rules between fields, no members, a region without a weight: the renderer's checks.
    render(&hostname, &policy, &members).map_err(|e| vec![e])?;
    Ok(Checked { hostname, policy, members })
}

fn health_check(hc: &FailoverHealthCheck) -> Result<HealthCheck, Invalid> {
    let protocol = Protocol::parse(&hc.type_, "spec.healthCheck.type")?;
    let port = match (hc.port, HealthCheck::default_port(protocol)) {
        (Some(p), _) => Port::parse(p, "spec.healthCheck.port")?,
        (None, Some(p)) => p,
        (None, None) => return Err(invalid("spec.healthCheck.port", "", "a tcp check needs a port")),
    };
    let path = match &hc.path {
        Some(p) if protocol != Protocol::Tcp => UrlPath::parse(p, "spec.healthCheck.path")?,
        Some(p) => return Err(invalid("spec.healthCheck.path", p, "a tcp check reads no page; path needs http(s)")),
        None => UrlPath::default(),
    };
    let expect = hc.expect.as_deref().map(|e| StringMatch::parse(e, "spec.healthCheck.expect")).transpose()?;
    let timeout = match hc.timeout_seconds {
        Some(t) => Timeout::parse(t, "spec.healthCheck.timeoutSeconds")?,
        None => Timeout::default(),
    };
    Ok(HealthCheck { protocol, port, path, expect, timeout })
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
