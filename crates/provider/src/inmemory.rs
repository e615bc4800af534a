//! A DNS service in memory: the quick start's default and the tests' provider.
//!
//! It refuses what a real authoritative server refuses — a name outside every zone, a CNAME
//! beside other data, creating what exists, updating or deleting what does not — and reports
//! each refusal while applying the rest, so that planner mistakes show up in tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use exodns_core::endpoint::EndpointKey;
use exodns_core::{Changes, DnsName, DomainFilter, Endpoint, RecordType};

use crate::zones::ZoneIndex;
use crate::{
    ApplyReport, BuildError, Provider, ProviderContext, ProviderError, ProviderInfo, ProviderKind, Records,
    RejectReason, Rejected,
};

/// Zone name used when no zone is configured: everything belongs to it.
const ROOT: &str = "";

/// `--provider=inmemory`: the quick start's default and the tests' provider.
pub struct InMemory;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "In-memory provider")]
pub struct InMemoryArgs {
    /// Zones of the in-memory provider (every name is accepted when none is given).
    #[arg(long, env = "EXTERNAL_DNS_INMEMORY_ZONE", global = true, value_delimiter = '\n')]
    pub inmemory_zone: Vec<String>,
}

impl ProviderKind for InMemory {
    const INFO: ProviderInfo = ProviderInfo {
        ephemeral: true,
        ..ProviderInfo::new("inmemory", "records in memory, for trying exodns out and for tests")
    };
    type Args = InMemoryArgs;

    async fn build(args: &InMemoryArgs, _ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(InMemoryProvider::new(&args.inmemory_zone)))
    }
}

#[derive(Debug, Default)]
pub struct InMemoryProvider {
    zones: ZoneIndex,
    records: Mutex<BTreeMap<EndpointKey, Endpoint>>,
}

impl InMemoryProvider {
    /// A store serving `zones`; with no zones, it accepts every name.
    pub fn new(zones: &[String]) -> Self {
        InMemoryProvider { zones: ZoneIndex::new(zones.iter().cloned()), records: Mutex::default() }
    }

    /// Pre-loads records as they would be found on a live server.
    pub fn with_records(self, endpoints: impl IntoIterator<Item = Endpoint>) -> Self {
        {
            let mut records = self.lock();
            for ep in endpoints {
                records.insert(ep.key(), ep);
            }
        }
        self
    }

    /// Every record, sorted by name, type and set identifier.
    pub fn dump(&self) -> Vec<Endpoint> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<EndpointKey, Endpoint>> {
        // A panic while holding the lock cannot leave the map half-changed (every mutation is a
        // single insert or remove), so a poisoned lock is still consistent.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn zone_of<'a>(&'a self, name: &DnsName) -> Option<&'a str> {
        if self.zones.is_empty() { Some(ROOT) } else { self.zones.zone_of(name) }
    }
}

fn refuse(endpoint: &Endpoint, why: impl Into<String>) -> Rejected {
    Rejected { endpoint: endpoint.clone(), reason: RejectReason::Refused(why.into()) }
}

/// Whether `ep` could sit beside what is already at its name: a CNAME stands alone.
fn cname_conflict(records: &BTreeMap<EndpointKey, Endpoint>, ep: &Endpoint) -> Option<RecordType> {
    records
        .values()
        .filter(|r| {
            r.dns_name == ep.dns_name && r.set_identifier == ep.set_identifier && r.record_type != ep.record_type
        })
        .find(|r| r.record_type == RecordType::CNAME || ep.record_type == RecordType::CNAME)
        .map(|r| r.record_type)
}

#[async_trait]
impl Provider for InMemoryProvider {
    fn name(&self) -> &str {
        InMemory::INFO.name
    }

    fn domain_filter(&self) -> DomainFilter {
        DomainFilter::new(self.zones.zones(), &[])
    }

    /// Without zones everything is one nameless zone, which has no apex to speak of.
    fn zones(&self) -> Option<ZoneIndex> {
        (!self.zones.is_empty()).then(|| self.zones.clone())
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        Ok(Records { endpoints: self.dump(), unreadable_zones: Vec::new() })
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let mut report = ApplyReport::default();
        let mut records = self.lock();
        // Deletes, then updates, then creates: a type change on one name (CNAME → A) frees the
        // name before the new type lands, as a real server needs.
        for ep in &changes.delete {
            if self.zone_of(&ep.dns_name).is_none() {
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
            } else if records.remove(&ep.key()).is_none() {
                report.rejected.push(refuse(ep, "delete of a record that does not exist"));
            }
        }
        for (old, new) in changes.update_old.iter().zip(&changes.update_new) {
            if self.zone_of(&new.dns_name).is_none() {
                report.rejected.push(Rejected { endpoint: new.clone(), reason: RejectReason::NoZone });
            } else if old.key() != new.key() {
                report.rejected.push(refuse(new, "an update cannot change the name, type or set identifier"));
            } else if let Some(slot) = records.get_mut(&new.key()) {
                *slot = new.clone();
            } else {
                report.rejected.push(refuse(new, "update of a record that does not exist"));
            }
        }
        for ep in &changes.create {
            if self.zone_of(&ep.dns_name).is_none() {
                report.rejected.push(Rejected { endpoint: ep.clone(), reason: RejectReason::NoZone });
            } else if records.contains_key(&ep.key()) {
                report.rejected.push(refuse(ep, "create of a record that already exists"));
            } else if let Some(other) = cname_conflict(&records, ep) {
                report
                    .rejected
                    .push(refuse(ep, format!("a CNAME cannot share its name with other data (found {other})")));
            } else {
                records.insert(ep.key(), ep.clone());
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, rt: RecordType, t: &str) -> Endpoint {
        Endpoint::parse(name, rt, &[t]).unwrap()
    }

    #[tokio::test]
    async fn refuses_like_a_server_and_applies_the_rest() {
        let p = InMemoryProvider::new(&["example.org".into()]);
        let changes = Changes {
            create: vec![
                ep("a.example.org", RecordType::A, "1.1.1.1"),
                ep("a.example.org", RecordType::CNAME, "x.example.net"),
                ep("b.example.com", RecordType::A, "1.1.1.1"),
            ],
            ..Changes::default()
        };
        let report = p.apply_changes(&changes).await.unwrap();
        assert_eq!(report.rejected.len(), 2);
        assert!(matches!(&report.rejected[0].reason, RejectReason::Refused(m) if m.contains("CNAME")));
        assert_eq!(report.rejected[1].reason, RejectReason::NoZone);
        assert_eq!(p.dump().len(), 1);
    }

    #[tokio::test]
    async fn type_change_in_one_apply() {
        let p = InMemoryProvider::new(&[]).with_records([ep("a.example.org", RecordType::CNAME, "x.example.net")]);
        let changes = Changes {
            create: vec![ep("a.example.org", RecordType::A, "1.1.1.1")],
            delete: vec![ep("a.example.org", RecordType::CNAME, "x.example.net")],
            ..Changes::default()
        };
        assert!(p.apply_changes(&changes).await.unwrap().is_clean());
        assert_eq!(p.dump()[0].record_type, RecordType::A);
    }
}
