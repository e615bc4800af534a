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

use crate::endpoint::{Endpoint, label};
use crate::name::DnsName;
use crate::record_type::RecordType;
use crate::target::Targets;

use super::policy::{Policy, Region};

/// The label between a member's region and the hostname.
pub const POOL_LABEL: &str = "_pool";
/// On member records (and in their ownership TXT): the hash of the policy they publish.
pub const POLICY_LABEL: &str = "failover-policy";
/// On a pool declaration: the policy, canonical.
pub const DECLARATION_LABEL: &str = "failover-pool";

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
    if ep.record_type != RecordType::LUA || !ep.targets.0.is_empty() {
        return None;
    }
    Policy::from_canonical(ep.labels.get(DECLARATION_LABEL)?)
}
