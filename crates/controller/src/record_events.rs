//! Upstream's per-record Events (`--events-emit`): `RecordReady` for each record created or
//! updated, `RecordDeleted` for each one deleted, `RecordError` for each one the provider refused
//! or whose write failed — on the object the record belongs to (its `resource` label). Upstream
//! can name only the objects of records it creates or updates (a deleted record, read from the
//! provider, has none), so it never posts `RecordDeleted`; exodns knows the owner of a deleted
//! record from its ownership TXT and posts it while the object exists.

use exodns_core::source::{ObjectNote, RecordAction, RecordEvent, record_event_note};
use exodns_core::{Changes, Endpoint, ObjectRef};
use exodns_provider::Rejected;

/// The Events of one sync's planned `changes`: applied (but for `rejected`), or all failed.
pub fn record_notes(
    enabled: &[RecordEvent],
    changes: &Changes,
    rejected: &[Rejected],
    failed: bool,
    owner: &str,
) -> Vec<(ObjectRef, ObjectNote)> {
    if enabled.is_empty() {
        return Vec::new();
    }
    let refused = |ep: &Endpoint| failed || rejected.iter().any(|r| r.endpoint.key() == ep.key());
    let lists = [
        (&changes.create, RecordAction::Created, RecordEvent::Ready),
        (&changes.update_new, RecordAction::Updated, RecordEvent::Ready),
        (&changes.delete, RecordAction::Deleted, RecordEvent::Deleted),
    ];
    let mut out = Vec::new();
    for (list, action, done) in lists {
        for ep in list {
            let reason = if refused(ep) { RecordEvent::Error } else { done };
            if !enabled.contains(&reason) {
                continue;
            }
            let Some(object) = ep.resource().and_then(ObjectRef::from_resource_label) else { continue };
            out.push((object, ObjectNote::Record { reason, action, record: record_event_note(ep, owner) }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use exodns_core::{RecordType, Ttl};
    use exodns_provider::RejectReason;

    use super::*;

    fn ep(name: &str, target: &str) -> Endpoint {
        Endpoint::parse(name, RecordType::A, &[target]).unwrap().with_label("resource", "service/apps/web")
    }

    #[test]
    fn each_record_tells_its_object_with_upstreams_reason_and_note() {
        let changes = Changes {
            create: vec![ep("a.example.org", "192.0.2.1").with_ttl(Ttl(60)), ep("bad.example.org", "192.0.2.9")],
            update_old: vec![ep("b.example.org", "192.0.2.2")],
            update_new: vec![ep("b.example.org", "192.0.2.3")],
            delete: vec![
                ep("c.example.org", "192.0.2.4"),
                Endpoint::parse("x.example.org", RecordType::A, &["192.0.2.5"]).unwrap(),
            ],
        };
        let rejected = vec![Rejected { endpoint: ep("bad.example.org", "192.0.2.9"), reason: RejectReason::NoZone }];
        let all = RecordEvent::ALL;
        let got: Vec<(String, &str, &str, String)> = record_notes(&all, &changes, &rejected, false, "blue")
            .into_iter()
            .map(|(o, n)| match n {
                ObjectNote::Record { reason, action, record } => {
                    (o.resource_label(), reason.reason(), action.as_str(), record)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let web = "service/apps/web".to_owned();
        assert_eq!(
            got,
            [
                (
                    web.clone(),
                    "RecordReady",
                    "Created",
                    "(external-dns) record:a.example.org,owner:blue,type:A,ttl:60,targets:192.0.2.1".to_owned()
                ),
                (
                    web.clone(),
                    "RecordError",
                    "Created",
                    "(external-dns) record:bad.example.org,owner:blue,type:A,ttl:0,targets:192.0.2.9".to_owned()
                ),
                (
                    web.clone(),
                    "RecordReady",
                    "Updated",
                    "(external-dns) record:b.example.org,owner:blue,type:A,ttl:0,targets:192.0.2.3".to_owned()
                ),
                (
                    web,
                    "RecordDeleted",
                    "Deleted",
                    "(external-dns) record:c.example.org,owner:blue,type:A,ttl:0,targets:192.0.2.4".to_owned()
                ),
            ],
            "a record of no object tells nobody"
        );
        let only_ready = record_notes(&[RecordEvent::Ready], &changes, &rejected, false, "blue");
        assert_eq!(only_ready.len(), 2);
        let failed = record_notes(&[RecordEvent::Error], &changes, &[], true, "blue");
        assert_eq!(failed.len(), 4, "every record of a failed write");
        assert!(record_notes(&[], &changes, &[], false, "blue").is_empty());
    }
}
