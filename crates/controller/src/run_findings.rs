//! What a sync found that is told once, or kept between syncs: pool records the DNS server
//! SERVFAILs, set-identified records the provider cannot keep apart.

use std::collections::HashSet;

use exodns_core::endpoint::EndpointKey;
use exodns_core::source::ObjectNote;
use exodns_core::{Endpoint, ObjectRef};
use exodns_telemetry::SyncKind;
use tracing::warn;

use super::Controller;
use crate::sync::SyncReport;

impl Controller {
    /// Sets `not_served` on the pool reports whose record the DNS server answered SERVFAIL for,
    /// this sync or an earlier one that wrote the same content.
    pub(super) fn mark_pools_not_served(&mut self, report: &mut SyncReport) {
        let content = |ep: &Endpoint| Some(ep.targets.join(" "));
        for n in &report.not_served {
            if report.pools.iter().any(|p| p.host == n.endpoint.dns_name) {
                self.pools_not_served.insert(n.endpoint.dns_name.clone(), (content(&n.endpoint), n.detail.clone()));
            }
        }
        for p in &mut report.pools {
            match self.pools_not_served.get(&p.host) {
                Some((c, detail)) if *c == p.content => p.not_served = Some(detail.clone()),
                Some(_) => {
                    self.pools_not_served.remove(&p.host);
                }
                None => {}
            }
        }
    }

    /// Set-identified records the provider cannot keep apart: said once per record (every sync
    /// finds them again), in the log and to its object.
    pub(super) fn report_unroutable(&mut self, kind: SyncKind, report: &SyncReport) {
        if kind == SyncKind::Full {
            let now: HashSet<EndpointKey> = report.unroutable.iter().map(Endpoint::key).collect();
            self.unroutable_reported.retain(|k| now.contains(k));
        }
        for ep in &report.unroutable {
            if !self.unroutable_reported.insert(ep.key()) {
                continue;
            }
            let message = format!(
                "{} {} set-identifier={}: provider {} has no routing policies, so it is not published (its \
                 records stay as they are; a FailoverRecord serves one name from several places)",
                ep.dns_name,
                ep.record_type,
                ep.set_identifier,
                self.syncer.provider().name()
            );
            warn!(object = ep.resource().unwrap_or_default(), "{message}");
            if let Some(o) = ep.resource().and_then(ObjectRef::from_resource_label) {
                self.source.note(&o, &ObjectNote::Invalid { message });
            }
        }
    }
}
