//! Counters of the webhook server, in the Prometheus text format (`/metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
struct RequestStat {
    count: u64,
    seconds: f64,
}

/// What the server has done since it started.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), RequestStat>>,
    provider_errors: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    in_flight: AtomicI64,
    connections: AtomicU64,
    header_timeouts: AtomicU64,
    idle_closed: AtomicU64,
    skipped_items: AtomicU64,
    rejected_changes: AtomicU64,
    changes_applied: AtomicU64,
    records_served: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServerMetrics {
    pub(crate) fn request(&self, route: &'static str, method: &str, code: u16, elapsed: Duration) {
        let mut map = lock(&self.requests);
        let stat = map.entry((route, method.to_owned(), code)).or_default();
        stat.count += 1;
        stat.seconds += elapsed.as_secs_f64();
    }

    pub(crate) fn provider_error(&self, call: &'static str, kind: &'static str) {
        *lock(&self.provider_errors).entry((call, kind)).or_default() += 1;
    }

    pub(crate) fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    pub(crate) fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn header_timeout(&self) {
        self.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn idle_closed(&self) {
        self.idle_closed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn skipped(&self, n: usize) {
        self.skipped_items.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn applied(&self, changes: usize, rejected: usize) {
        self.changes_applied.fetch_add(changes as u64, Ordering::Relaxed);
        self.rejected_changes.fetch_add(rejected as u64, Ordering::Relaxed);
    }

    pub(crate) fn served(&self, records: usize) {
        self.records_served.fetch_add(records as u64, Ordering::Relaxed);
    }

    /// Requests answered on `route` (`/records`, `/`, …) with `method`, any status.
    pub fn requests(&self, route: &str, method: &str) -> u64 {
        lock(&self.requests).iter().filter(|((r, m, _), _)| *r == route && m == method).map(|(_, s)| s.count).sum()
    }

    /// Requests answered with `code`, any route.
    pub fn responses(&self, code: u16) -> u64 {
        lock(&self.requests).iter().filter(|((_, _, c), _)| *c == code).map(|(_, s)| s.count).sum()
    }

    pub fn header_timeouts(&self) -> u64 {
        self.header_timeouts.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let _ = writeln!(
            out,
            "# HELP exodns_build_info exodns version.\n# TYPE exodns_build_info gauge\nexodns_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let requests = lock(&self.requests).clone();
        let _ = writeln!(out, "# HELP exodns_webhook_requests_total Webhook API requests answered, by route, method and status code.");
        let _ = writeln!(out, "# TYPE exodns_webhook_requests_total counter");
        for ((route, method, code), s) in &requests {
            let _ = writeln!(out, "exodns_webhook_requests_total{{route=\"{route}\",method=\"{method}\",code=\"{code}\"}} {}", s.count);
        }
        let _ = writeln!(out, "# HELP exodns_webhook_request_duration_seconds Time spent answering webhook API requests.");
        let _ = writeln!(out, "# TYPE exodns_webhook_request_duration_seconds summary");
        let mut per_route: BTreeMap<(&str, &str), RequestStat> = BTreeMap::new();
        for ((route, method, _), s) in &requests {
            let e = per_route.entry((route, method.as_str())).or_default();
            e.count += s.count;
            e.seconds += s.seconds;
        }
        for ((route, method), s) in &per_route {
            let _ = writeln!(out, "exodns_webhook_request_duration_seconds_sum{{route=\"{route}\",method=\"{method}\"}} {}", s.seconds);
            let _ = writeln!(out, "exodns_webhook_request_duration_seconds_count{{route=\"{route}\",method=\"{method}\"}} {}", s.count);
        }
        let _ = writeln!(out, "# HELP exodns_webhook_provider_errors_total Provider calls that failed, by call and kind.");
        let _ = writeln!(out, "# TYPE exodns_webhook_provider_errors_total counter");
        for ((call, kind), n) in lock(&self.provider_errors).iter() {
            let _ = writeln!(out, "exodns_webhook_provider_errors_total{{call=\"{call}\",kind=\"{kind}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP exodns_webhook_requests_in_flight Webhook API requests being answered.\n# TYPE exodns_webhook_requests_in_flight gauge\nexodns_webhook_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        counter(&mut out, "exodns_webhook_connections_total", "Connections accepted.", self.connections.load(Ordering::Relaxed));
        counter(
            &mut out,
            "exodns_webhook_header_timeouts_total",
            "Connections closed because the request headers did not arrive in time.",
            self.header_timeouts.load(Ordering::Relaxed),
        );
        counter(&mut out, "exodns_webhook_idle_closed_total", "Keep-alive connections closed after the idle timeout.", self.idle_closed.load(Ordering::Relaxed));
        counter(
            &mut out,
            "exodns_webhook_skipped_items_total",
            "Endpoints in request bodies left out because their content is invalid.",
            self.skipped_items.load(Ordering::Relaxed),
        );
        counter(&mut out, "exodns_webhook_changes_total", "Record set changes received in POST /records.", self.changes_applied.load(Ordering::Relaxed));
        counter(
            &mut out,
            "exodns_webhook_rejected_changes_total",
            "Record set changes the provider refused.",
            self.rejected_changes.load(Ordering::Relaxed),
        );
        counter(&mut out, "exodns_webhook_records_served_total", "Endpoints returned by GET /records.", self.records_served.load(Ordering::Relaxed));
        out
    }
}
