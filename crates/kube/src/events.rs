//! Kubernetes Events on source objects: "published", "conflict with another owner", "invalid
//! annotation" — the messages an application team reads with `kubectl describe` — and, with
//! `--events-emit`, upstream's per-record `RecordReady`, `RecordDeleted` and `RecordError`.
//!
//! The controller repeats itself (an invalid annotation is seen at every recomputation), so
//! repeats of the same event on the same object are dropped for a while. A token bucket keeps a
//! flood of changes from flooding the apiserver, with a burst large enough that 50 objects going
//! bad at once are each told within moments (they are different objects: no repeats to drop).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exodns_core::source::{ObjectNote, RecordEvent};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tracing::{debug, warn};

use crate::KubeClient;
use crate::client::TokenBucket;
use crate::error::KubeError;

/// The same event on the same object is sent again only after this long.
const REPEAT_AFTER: Duration = Duration::from_secs(600);
/// Events per second on average, and the burst allowed.
const EVENTS_PER_SECOND: f64 = 10.0;
const EVENT_BURST: u32 = 100;
/// Longest note Kubernetes accepts is 1 kB.
const MAX_NOTE: usize = 1000;

/// What one note becomes.
struct Rendered {
    type_: EventType,
    reason: &'static str,
    action: &'static str,
    note: String,
}

fn render(note: &ObjectNote) -> Rendered {
    match note {
        ObjectNote::Published { names } => Rendered {
            type_: EventType::Normal,
            reason: "Published",
            action: "Sync",
            note: format!("DNS records published: {}", names.join(", ")),
        },
        ObjectNote::Conflict { name, foreign_owner } => Rendered {
            type_: EventType::Warning,
            reason: "OwnerConflict",
            action: "Sync",
            note: if foreign_owner.is_empty() {
                format!("{name} already has records that no ExternalDNS owns; not taking them over")
            } else {
                format!("{name} is owned by {foreign_owner:?}; not taking it over")
            },
        },
        ObjectNote::Invalid { message } => {
            Rendered { type_: EventType::Warning, reason: "InvalidInput", action: "Read", note: message.clone() }
        }
        ObjectNote::DeletionHeld { zone, held, allowance } => Rendered {
            type_: EventType::Warning,
            reason: "DeletionHeld",
            action: "Sync",
            note: format!(
                "the records of this object are not deleted yet: {held} deletions in zone {zone} exceed the deletion \
                 budget ({allowance}); they go ahead after --deletion-grace, or with --deletion-budget=off"
            ),
        },
        ObjectNote::NotServed { name, record_type, detail } => Rendered {
            type_: EventType::Warning,
            reason: "ServFail",
            action: "Verify",
            note: format!(
                "{name} {record_type} is published but PowerDNS cannot answer it ({detail}): its Lua does not run; \
                 fix the record's content"
            ),
        },
        // Written into the FailoverRecord's status instead (KubeSource::note); never sent.
        ObjectNote::Pool(r) => Rendered {
            type_: EventType::Normal,
            reason: "FailoverPool",
            action: "Sync",
            note: format!("{}: {:?}", r.host, r.outcome),
        },
        // Upstream's reasons and actions; a failure is a Warning here (upstream posts Normal).
        ObjectNote::Record { reason, action, record } => Rendered {
            type_: if *reason == RecordEvent::Error { EventType::Warning } else { EventType::Normal },
            reason: reason.reason(),
            action: action.as_str(),
            note: record.clone(),
        },
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_NOTE {
        let mut cut = MAX_NOTE - 3;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

pub(crate) struct EventSink {
    recorder: Recorder,
    sent: Mutex<HashMap<(String, String, String), Instant>>,
    bucket: TokenBucket,
    runtime: tokio::runtime::Handle,
    /// Events being posted now.
    in_flight: Arc<AtomicUsize>,
}

impl EventSink {
    pub(crate) fn new(client: &KubeClient, runtime: tokio::runtime::Handle) -> Self {
        let instance = std::env::var("POD_NAME").ok();
        let reporter = Reporter { controller: "exodns".into(), instance };
        EventSink {
            recorder: Recorder::new(client.events_client().clone(), reporter),
            sent: Mutex::new(HashMap::new()),
            bucket: TokenBucket::new(EVENTS_PER_SECOND, EVENT_BURST),
            runtime,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sends `note` as an Event on `regarding` unless it was sent recently or the rate is
    /// exceeded. Never blocks.
    pub(crate) fn emit(&self, regarding: ObjectReference, note: &ObjectNote) {
        let r = render(note);
        let key = (
            format!(
                "{}/{}/{}",
                regarding.kind.as_deref().unwrap_or(""),
                regarding.namespace.as_deref().unwrap_or(""),
                regarding.name.as_deref().unwrap_or("")
            ),
            r.reason.to_owned(),
            r.note.clone(),
        );
        {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if sent.get(&key).is_some_and(|t| now.duration_since(*t) < REPEAT_AFTER) {
                return;
            }
            if !self.bucket.try_take() {
                debug!(object = %key.0, reason = r.reason, "event rate exceeded; dropped");
                return;
            }
            sent.retain(|_, t| now.duration_since(*t) < REPEAT_AFTER);
            sent.insert(key.clone(), now);
        }
        let event = Event {
            type_: r.type_,
            reason: r.reason.into(),
            note: Some(truncate(r.note)),
            action: r.action.into(),
            secondary: None,
        };
        let recorder = self.recorder.clone();
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, Ordering::SeqCst);
        self.runtime.spawn(async move {
            if let Err(e) = recorder.publish(&event, &regarding).await {
                let e = KubeError::from_kube(&e);
                warn!(object = %key.0, reason = %event.reason, error_kind = e.metric_label(), "cannot record an Event: {e}");
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Events still being posted.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_render_as_people_read_them() {
        let r = render(&ObjectNote::Conflict { name: "a.example.org".into(), foreign_owner: "blue".into() });
        assert_eq!(
            (r.reason, r.note.as_str()),
            ("OwnerConflict", "a.example.org is owned by \"blue\"; not taking it over")
        );
        assert_eq!(r.type_, EventType::Warning);
        let r = render(&ObjectNote::Published { names: vec!["a.example.org".into(), "b.example.org".into()] });
        assert_eq!(r.note, "DNS records published: a.example.org, b.example.org");
        assert_eq!(truncate("é".repeat(600)).len(), 999);
    }
}
