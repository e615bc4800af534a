//! Counters of the webhook server: prometheus-client families, served on `--metrics-address` by
//! exodns-telemetry's [`OpsServer`](exodns_telemetry::OpsServer).

use std::time::Duration;

use exodns_telemetry::{MetricsText, encode_registry, register_build_info};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderErrorLabels {
    call: &'static str,
    kind: &'static str,
}

/// What the server has done since it started.
pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
    provider_errors: Family<ProviderErrorLabels, Counter>,
    in_flight: Gauge,
    connections: Counter,
    header_timeouts: Counter,
    idle_closed: Counter,
    skipped_items: Counter,
    rejected_changes: Counter,
    changes_applied: Counter,
    records_served: Counter,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMetrics").finish_non_exhaustive()
    }
}

impl Default for ServerMetrics {
    /// Registers every family: `exodns_build_info` and `exodns_webhook_*`.
    fn default() -> Self {
        let mut registry = Registry::with_prefix("exodns");
        let m = ServerMetrics {
            registry: Registry::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16))),
            provider_errors: Family::default(),
            in_flight: Gauge::default(),
            connections: Counter::default(),
            header_timeouts: Counter::default(),
            idle_closed: Counter::default(),
            skipped_items: Counter::default(),
            rejected_changes: Counter::default(),
            changes_applied: Counter::default(),
            records_served: Counter::default(),
        };
        register_build_info(&mut registry, "build_info", "exodns version");
        let w = registry.sub_registry_with_prefix("webhook");
        w.register("requests", "Webhook API requests answered, by route, method and status code", m.requests.clone());
        w.register("request_duration_seconds", "Time spent answering webhook API requests", m.request_duration.clone());
        w.register("provider_errors", "Provider calls that failed, by call and kind", m.provider_errors.clone());
        w.register("requests_in_flight", "Webhook API requests being answered", m.in_flight.clone());
        w.register("connections", "Connections accepted", m.connections.clone());
        w.register(
            "header_timeouts",
            "Connections closed because the request headers did not arrive in time",
            m.header_timeouts.clone(),
        );
        w.register("idle_closed", "Keep-alive connections closed after the idle timeout", m.idle_closed.clone());
        w.register(
            "skipped_items",
            "Endpoints in request bodies left out because their content is invalid",
            m.skipped_items.clone(),
        );
        w.register("changes", "Record set changes received in POST /records", m.changes_applied.clone());
        w.register("rejected_changes", "Record set changes the provider refused", m.rejected_changes.clone());
        w.register("records_served", "Endpoints returned by GET /records", m.records_served.clone());
        ServerMetrics { registry, ..m }
    }
}

impl ServerMetrics {
    pub(crate) fn request(&self, route: &'static str, method: &str, code: u16, elapsed: Duration) {
        let labels = RequestLabels { route: route.to_owned(), method: method.to_owned(), code };
        self.requests.get_or_create(&labels).inc();
        let RequestLabels { route, method, .. } = labels;
        self.request_duration.get_or_create(&RouteLabels { route, method }).observe(elapsed.as_secs_f64());
    }

    pub(crate) fn provider_error(&self, call: &'static str, kind: &'static str) {
        self.provider_errors.get_or_create(&ProviderErrorLabels { call, kind }).inc();
    }

    pub(crate) fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    pub(crate) fn connection(&self) {
        self.connections.inc();
    }

    pub(crate) fn header_timeout(&self) {
        self.header_timeouts.inc();
    }

    pub(crate) fn idle_closed(&self) {
        self.idle_closed.inc();
    }

    pub(crate) fn skipped(&self, n: usize) {
        self.skipped_items.inc_by(n as u64);
    }

    pub(crate) fn applied(&self, changes: usize, rejected: usize) {
        self.changes_applied.inc_by(changes as u64);
        self.rejected_changes.inc_by(rejected as u64);
    }

    pub(crate) fn served(&self, records: usize) {
        self.records_served.inc_by(records as u64);
    }

    /// Requests answered on `route` (`/records`, `/`, …) with `method`, any status.
    pub fn requests(&self, route: &str, method: &str) -> u64 {
        let mut labels = RequestLabels { route: route.to_owned(), method: method.to_owned(), code: 0 };
        (100..600)
            .map(|code| {
                labels.code = code;
                self.requests.get(&labels).map_or(0, |c| c.get())
            })
            .sum()
    }

    pub fn header_timeouts(&self) -> u64 {
        self.header_timeouts.get()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        encode_registry(&self.registry)
    }
}

impl MetricsText for ServerMetrics {
    fn encode(&self) -> String {
        self.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        let m = ServerMetrics::default();
        m.request("/records", "POST", 204, Duration::from_millis(3));
        m.request("/records", "POST", 204, Duration::from_millis(5));
        m.request("/records", "GET", 503, Duration::from_millis(1));
        m.provider_error("records", "transient");
        m.connection();
        m.header_timeout();
        assert_eq!(m.requests("/records", "POST"), 2);
        assert_eq!(m.requests("/records", "GET"), 1);
        assert_eq!(m.requests("/", "GET"), 0);
        assert_eq!(m.header_timeouts(), 1);
        let text = m.render();
        for line in [
            "exodns_build_info{version=\"",
            "exodns_webhook_requests_total{route=\"/records\",method=\"POST\",code=\"204\"} 2",
            "exodns_webhook_request_duration_seconds_count{route=\"/records\",method=\"POST\"} 2",
            "exodns_webhook_request_duration_seconds_sum{route=\"/records\",method=\"POST\"} 0.0",
            "exodns_webhook_provider_errors_total{call=\"records\",kind=\"transient\"} 1",
            "exodns_webhook_requests_in_flight 0",
            "exodns_webhook_connections_total 1",
            "exodns_webhook_header_timeouts_total 1",
            "exodns_webhook_idle_closed_total 0",
            "exodns_webhook_skipped_items_total 0",
            "exodns_webhook_changes_total 0",
            "exodns_webhook_rejected_changes_total 0",
            "exodns_webhook_records_served_total 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }
}
