//! Tests of the registry. Vectors come from the reference notes and from upstream's
//! `mapper_test.go`, `registry_test.go`, `encryption_test.go`, `labels_test.go` and
//! `crypto_test.go`, restated as our own.

mod apply;
mod codec;
mod mapper;
mod prop;
mod records;

use super::{Registry, TxtConfig, TxtRegistry};
use crate::endpoint::{Endpoint, FORCE_UPDATE_PROPERTY};
use crate::name::DnsName;
use crate::record_type::RecordType;
use crate::target::Targets;

pub(super) const OWNER_TXT: &str = "\"heritage=external-dns,external-dns/owner=owner\"";

/// An endpoint with its target taken as it is (the registry does not look at targets).
pub(super) fn rec(name: &str, rt: &str, target: &str) -> Endpoint {
    Endpoint::new(DnsName::parse(name).unwrap(), rt.parse().unwrap(), Targets::new(vec![target.to_owned()]))
}

pub(super) fn txt(name: &str, value: &str) -> Endpoint {
    rec(name, "TXT", value)
}

pub(super) fn with_owner(ep: Endpoint, owner: &str) -> Endpoint {
    ep.with_label("owner", owner)
}

pub(super) fn registry(prefix: &str, suffix: &str, owner: &str, wildcard: &str) -> TxtRegistry {
    TxtRegistry::new(TxtConfig {
        owner_id: owner.into(),
        prefix: prefix.into(),
        suffix: suffix.into(),
        wildcard_replacement: wildcard.into(),
        managed_types: Vec::new(),
        ..TxtConfig::default()
    })
    .unwrap()
}

pub(super) fn managed(mut reg_config: TxtConfig, types: &[RecordType]) -> TxtRegistry {
    reg_config.managed_types = types.to_vec();
    TxtRegistry::new(reg_config).unwrap()
}

/// One line per endpoint: `name type [set] k=v,k=v +force`, sorted.
pub(super) fn summary(eps: &[Endpoint]) -> Vec<String> {
    let mut lines: Vec<String> = eps
        .iter()
        .map(|e| {
            let mut s = format!("{} {}", e.dns_name, e.record_type);
            if !e.set_identifier.is_empty() {
                s.push_str(&format!(" [{}]", e.set_identifier));
            }
            let labels: Vec<String> = e.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if !labels.is_empty() {
                s.push(' ');
                s.push_str(&labels.join(","));
            }
            if e.property(FORCE_UPDATE_PROPERTY) == Some("true") {
                s.push_str(" +force");
            }
            s
        })
        .collect();
    lines.sort();
    lines
}

pub(super) fn records_summary(reg: &dyn Registry, zone: Vec<Endpoint>) -> Vec<String> {
    summary(&reg.records(zone).endpoints)
}

pub(super) fn lines(expected: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}
