//! The metric families, registered once at start.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecordTypeLabel {
    record_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvalidLabels {
    record_type: String,
    source_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabel {
    zone: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderRequestLabels {
    provider: String,
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OwnerMismatchLabels {
    record_type: String,
    owner: String,
    foreign_owner: String,
    domain: String,
}

/// Upstream's labels of `http_request_duration_seconds` (`handler` is constant).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    handler: String,
    scheme: String,
    host: String,
    path: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FromCacheLabel {
    from_cache: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    revision: String,
    arch: String,
    os: String,
}

/// Registers `name` on `registry`: a gauge at 1 labelled with this build's `version`, `revision`
/// (`EXODNS_REVISION` at build time), `arch` and `os` (upstream's labels but `go_version`).
pub fn register_build_info(registry: &mut Registry, name: &str, help: &str) {
    let build: Family<BuildLabels, Gauge> = Family::default();
    build
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: option_env!("EXODNS_REVISION").unwrap_or("unknown").to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            os: std::env::consts::OS.to_owned(),
        })
        .set(1);
    registry.register(name, help, build);
}

/// The text exposition (OpenMetrics) of a registry.
pub fn encode_registry(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

/// What `/metrics` of an [`OpsServer`](crate::OpsServer) serves: [`Metrics`] in the controller,
/// other families (registered on a prometheus-client [`Registry`]) elsewhere.
pub trait MetricsText: Send + Sync {
    /// The text exposition.
    fn encode(&self) -> String;
}

/// Upstream's webhook client calls, in the order of `Metrics::webhook_client`.
const WEBHOOK_CALLS: [&str; 3] = ["records", "applychanges", "adjustendpoints"];

/// Which kind of sync a figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// Everything re-read and re-planned (start, `--interval`, recovery).
    Full,
    /// Only the names events touched.
    Incremental,
}

impl SyncKind {
    fn as_str(self) -> &'static str {
        match self {
            SyncKind::Full => "full",
            SyncKind::Incremental => "incremental",
        }
    }
}

/// The figures of one successful sync that metrics record.
#[derive(Debug, Clone, Default)]
pub struct SyncSummary {
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub rejected: u64,
    /// (record type, foreign owner, name) of creates skipped for another owner.
    pub conflicts: Vec<(String, String, String)>,
    /// Desired endpoints by record type (full syncs only).
    pub desired_by_type: Option<Vec<(String, i64)>>,
    /// Records read from the registry by record type (full syncs only).
    pub current_by_type: Option<Vec<(String, i64)>>,
    /// Desired records that exist as desired (full syncs only).
    pub verified_by_type: Option<Vec<(String, i64)>>,
}

/// Every metric exodns exports.
pub struct Metrics {
    registry: Registry,
    owner_id: String,
    last_sync: Gauge<f64, AtomicU64>,
    last_reconcile: Gauge<f64, AtomicU64>,
    no_op_runs: Counter,
    consecutive_soft_errors: Gauge,
    verified_records: Family<RecordTypeLabel, Gauge>,
    registry_endpoints: Gauge,
    registry_records: Family<RecordTypeLabel, Gauge>,
    registry_errors: Counter,
    owner_mismatch: Family<OwnerMismatchLabels, Gauge>,
    source_endpoints: Gauge,
    source_records: Family<RecordTypeLabel, Gauge>,
    source_errors: Counter,
    source_invalid: Family<InvalidLabels, Gauge>,
    sync_duration: Family<KindLabel, Histogram>,
    event_to_applied: Histogram,
    provider_requests: Family<ProviderRequestLabels, Counter>,
    /// Upstream's webhook client counters, `external_dns_webhook_provider_<call>_{requests,errors}_total`,
    /// by call: records, applychanges, adjustendpoints.
    webhook_client: [(Counter, Counter); 3],
    planned_changes: Family<KindLabel, Counter>,
    owner_conflicts: Counter,
    invalid_endpoints: Family<KindLabel, Counter>,
    leader: Gauge,
    source_synced: Family<SourceLabel, Gauge>,
    deletions_held: Family<ZoneLabel, Gauge>,
    lua_servfail: Counter,
    source_deduplicated: Family<InvalidLabels, Gauge>,
    http_duration: Family<HttpLabels, Histogram>,
    /// Counts, but gauges: upstream's counters have no `_total`, which prometheus-client would add.
    cache_records_calls: Family<FromCacheLabel, Gauge>,
    cache_apply_calls: Gauge,
    process: Option<crate::process::ProcessMetrics>,
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

impl Metrics {
    /// Registers every family. `owner_id` fills the `owner` label of the owner-mismatch gauge.
    pub fn new(owner_id: &str) -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            owner_id: owner_id.to_owned(),
            last_sync: Gauge::default(),
            last_reconcile: Gauge::default(),
            no_op_runs: Counter::default(),
            consecutive_soft_errors: Gauge::default(),
            verified_records: Family::default(),
            registry_endpoints: Gauge::default(),
            registry_records: Family::default(),
            registry_errors: Counter::default(),
            owner_mismatch: Family::default(),
            source_endpoints: Gauge::default(),
            source_records: Family::default(),
            source_errors: Counter::default(),
            source_invalid: Family::default(),
            sync_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16))),
            event_to_applied: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            provider_requests: Family::default(),
            webhook_client: Default::default(),
            planned_changes: Family::default(),
            owner_conflicts: Counter::default(),
            invalid_endpoints: Family::default(),
            leader: Gauge::default(),
            source_synced: Family::default(),
            deletions_held: Family::default(),
            lua_servfail: Counter::default(),
            source_deduplicated: Family::default(),
            http_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16))),
            cache_records_calls: Family::default(),
            cache_apply_calls: Gauge::default(),
            process: None,
        };
        // Upstream's names: `external_dns_<subsystem>_<name>`.
        let ed = registry.sub_registry_with_prefix("external_dns");
        register_build_info(ed, "build_info", "exodns build (upstream-compatible name)");
        let c = ed.sub_registry_with_prefix("controller");
        c.register(
            "last_sync_timestamp_seconds",
            "Time of the last successful sync that changed or verified records",
            m.last_sync.clone(),
        );
        c.register("last_reconcile_timestamp_seconds", "Time of the last sync attempted", m.last_reconcile.clone());
        c.register("no_op_runs", "Syncs that found nothing to change", m.no_op_runs.clone());
        c.register("consecutive_soft_errors", "Failed syncs in a row", m.consecutive_soft_errors.clone());
        c.register("verified_records", "Desired records found as desired at the provider", m.verified_records.clone());
        let r = ed.sub_registry_with_prefix("registry");
        r.register("endpoints_total", "Records read from the registry", m.registry_endpoints.clone());
        r.register("records", "Records read from the registry by type", m.registry_records.clone());
        r.register("errors", "Failed reads of the provider's records and failed applies", m.registry_errors.clone());
        r.register(
            "skipped_records_owner_mismatch_per_sync",
            "Creates skipped in the last sync because another owner holds the name",
            m.owner_mismatch.clone(),
        );
        let s = ed.sub_registry_with_prefix("source");
        s.register("endpoints_total", "Desired endpoints from the sources", m.source_endpoints.clone());
        s.register("records", "Desired endpoints by type", m.source_records.clone());
        s.register(
            "errors",
            "Failed attempts to read source objects (lists, watches, manifest files)",
            m.source_errors.clone(),
        );
        s.register(
            "invalid_endpoints",
            "Source input refused right now, by record type and source",
            m.source_invalid.clone(),
        );
        s.register(
            "deduplicated_endpoints",
            "Desired endpoints that repeat another object's record exactly, by record type and source",
            m.source_deduplicated.clone(),
        );
        ed.sub_registry_with_prefix("http").register(
            "request_duration_seconds",
            "Duration of HTTP requests to the apiserver and the DNS provider's API (upstream's is a summary)",
            m.http_duration.clone(),
        );
        let p = ed.sub_registry_with_prefix("provider");
        p.register(
            "cache_records_calls",
            "Reads of the provider's records by full syncs, from exodns's record cache or not (with --provider-cache-time)",
            m.cache_records_calls.clone(),
        );
        p.register(
            "cache_apply_changes_calls",
            "Applies to the provider (with --provider-cache-time)",
            m.cache_apply_calls.clone(),
        );
        let w = ed.sub_registry_with_prefix("webhook_provider");
        for (call, (requests, errors)) in WEBHOOK_CALLS.iter().zip(&m.webhook_client) {
            w.register(format!("{call}_requests"), format!("Webhook provider {call} requests"), requests.clone());
            w.register(format!("{call}_errors"), format!("Webhook provider {call} errors"), errors.clone());
        }
        // Ours.
        let x = registry.sub_registry_with_prefix("exodns");
        x.register("sync_duration_seconds", "Duration of successful syncs", m.sync_duration.clone());
        x.register(
            "event_to_applied_seconds",
            "From an object's change to its records applied",
            m.event_to_applied.clone(),
        );
        x.register("provider_requests", "Provider calls by operation and outcome", m.provider_requests.clone());
        x.register("planned_changes", "Changes applied, by kind", m.planned_changes.clone());
        x.register(
            "owner_conflicts",
            "Creates skipped because another owner holds the name",
            m.owner_conflicts.clone(),
        );
        x.register("invalid_endpoints", "Input refused, by kind", m.invalid_endpoints.clone());
        x.register("leader", "1 while this replica may write to the provider", m.leader.clone());
        x.register("source_synced", "1 once a source has its first full list", m.source_synced.clone());
        x.register(
            "deletions_held",
            "Deletions the deletion budget holds now, by zone (--deletion-budget)",
            m.deletions_held.clone(),
        );
        x.register(
            "lua_servfail",
            "LUA records PowerDNS answered SERVFAIL for right after they were written (--pdns-dns-server)",
            m.lua_servfail.clone(),
        );
        let process = Some(crate::process::ProcessMetrics::register(&mut registry));
        Metrics { registry, process, ..m }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        if let Some(p) = &self.process {
            p.refresh();
        }
        encode_registry(&self.registry)
    }

    /// One HTTP request exodns made (see `exodns_core::observe`), labelled as upstream labels it:
    /// the last path segment, values lowercased, no status when no answer came.
    pub fn http_request(&self, r: &exodns_core::observe::HttpRequest<'_>) {
        let labels = HttpLabels {
            handler: "instrumented_http".into(),
            scheme: r.scheme.to_lowercase(),
            host: r.host.to_lowercase(),
            path: r.path.rsplit('/').next().unwrap_or_default().to_lowercase(),
            method: r.method.to_lowercase(),
            status: r.status.map(|s| s.to_string()).unwrap_or_default(),
        };
        self.http_duration.get_or_create(&labels).observe(r.elapsed.as_secs_f64());
    }

    /// A full sync's read of the provider's records, from the record cache or not.
    pub fn provider_cache_read(&self, from_cache: bool) {
        self.cache_records_calls.get_or_create(&FromCacheLabel { from_cache: from_cache.to_string() }).inc();
    }

    /// An apply to the provider while its records are cached.
    pub fn provider_cache_apply(&self) {
        self.cache_apply_calls.inc();
    }

    /// Desired endpoints that repeat another object's exactly, by (record type, source type).
    pub fn set_deduplicated(&self, by_label: &[(String, String, usize)]) {
        self.source_deduplicated.clear();
        for (record_type, source_type, n) in by_label {
            let labels = InvalidLabels { record_type: record_type.clone(), source_type: source_type.clone() };
            self.source_deduplicated.get_or_create(&labels).set(*n as i64);
        }
    }

    pub fn sync_succeeded(&self, kind: SyncKind, took: Duration, event_latency: Option<Duration>, s: &SyncSummary) {
        let now = unix_now();
        self.last_reconcile.set(now);
        self.last_sync.set(now);
        self.consecutive_soft_errors.set(0);
        self.sync_duration.get_or_create(&KindLabel { kind: kind.as_str().into() }).observe(took.as_secs_f64());
        if let Some(l) = event_latency {
            self.event_to_applied.observe(l.as_secs_f64());
        }
        if s.creates + s.updates + s.deletes == 0 {
            self.no_op_runs.inc();
        }
        for (k, n) in [("create", s.creates), ("update", s.updates), ("delete", s.deletes), ("rejected", s.rejected)] {
            if n > 0 {
                self.planned_changes.get_or_create(&KindLabel { kind: k.into() }).inc_by(n);
            }
        }
        self.owner_conflicts.inc_by(s.conflicts.len() as u64);
        self.owner_mismatch.clear();
        for (rt, foreign, name) in &s.conflicts {
            let labels = OwnerMismatchLabels {
                record_type: rt.clone(),
                owner: self.owner_id.clone(),
                foreign_owner: foreign.clone(),
                domain: name.clone(),
            };
            self.owner_mismatch.get_or_create(&labels).inc();
        }
        let set_by_type =
            |family: &Family<RecordTypeLabel, Gauge>, values: &Option<Vec<(String, i64)>>| -> Option<i64> {
                let v = values.as_ref()?;
                family.clear();
                for (rt, n) in v {
                    family.get_or_create(&RecordTypeLabel { record_type: rt.clone() }).set(*n);
                }
                Some(v.iter().map(|(_, n)| n).sum())
            };
        if let Some(total) = set_by_type(&self.source_records, &s.desired_by_type) {
            self.source_endpoints.set(total);
        }
        if let Some(total) = set_by_type(&self.registry_records, &s.current_by_type) {
            self.registry_endpoints.set(total);
        }
        set_by_type(&self.verified_records, &s.verified_by_type);
    }

    /// A failed sync: it was attempted (upstream's `last_reconcile_timestamp_seconds` is the
    /// time of the last attempt).
    pub fn sync_failed(&self) {
        self.last_reconcile.set(unix_now());
        self.consecutive_soft_errors.inc();
    }

    pub fn provider_request(&self, provider: &str, operation: &str, status: &str) {
        let labels =
            ProviderRequestLabels { provider: provider.into(), operation: operation.into(), status: status.into() };
        self.provider_requests.get_or_create(&labels).inc();
    }

    /// Counts a call of the webhook client provider in upstream's
    /// `external_dns_webhook_provider_*` families too.
    pub fn webhook_client_request(&self, operation: &str, status: &str) {
        let call = match operation {
            "records" => 0,
            "apply" => 1,
            _ => 2,
        };
        let (requests, errors) = &self.webhook_client[call];
        requests.inc();
        if status != "ok" {
            errors.inc();
        }
    }

    /// Counts one piece of refused input by kind (`name`, `target`, `ttl`, …).
    pub fn invalid_input(&self, kind: &str) {
        self.invalid_endpoints.get_or_create(&KindLabel { kind: kind.into() }).inc();
    }

    /// Pieces of input refused right now, by (record type, source type).
    pub fn set_invalid_now(&self, by_label: &[(String, String, usize)]) {
        self.source_invalid.clear();
        for (record_type, source_type, n) in by_label {
            let labels = InvalidLabels { record_type: record_type.clone(), source_type: source_type.clone() };
            self.source_invalid.get_or_create(&labels).set(*n as i64);
        }
    }

    /// Counts failed attempts of the sources to read objects (a list, a watch, discovery, a
    /// manifest file or document).
    pub fn source_errors(&self, n: u64) {
        self.source_errors.inc_by(n);
    }

    /// Counts a failed read of the provider's records, or a failed apply.
    pub fn registry_error(&self) {
        self.registry_errors.inc();
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Deletions the deletion budget holds, by zone (zones holding none read 0).
    /// LUA records found unanswerable (SERVFAIL) right after an apply.
    pub fn lua_servfail(&self, n: u64) {
        self.lua_servfail.inc_by(n);
    }

    pub fn set_deletions_held(&self, by_zone: &[(String, usize)]) {
        for (zone, n) in by_zone {
            self.deletions_held.get_or_create(&ZoneLabel { zone: zone.clone() }).set(*n as i64);
        }
    }

    pub fn set_source_synced(&self, source: &str, synced: bool) {
        self.source_synced.get_or_create(&SourceLabel { source: source.into() }).set(i64::from(synced));
    }
}

impl MetricsText for Metrics {
    fn encode(&self) -> String {
        Metrics::encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_names_are_exported() {
        let m = Metrics::new("owner-a");
        m.sync_succeeded(
            SyncKind::Full,
            Duration::from_millis(12),
            Some(Duration::from_millis(40)),
            &SyncSummary {
                creates: 2,
                conflicts: vec![("A".into(), "owner-b".into(), "x.example.org".into())],
                desired_by_type: Some(vec![("A".into(), 3)]),
                ..SyncSummary::default()
            },
        );
        m.provider_request("pdns", "apply", "ok");
        m.webhook_client_request("apply", "transient");
        m.set_leader(true);
        m.set_invalid_now(&[("unknown".into(), "service".into(), 3), ("MX".into(), "crd".into(), 1)]);
        m.set_deletions_held(&[("example.org".into(), 80)]);
        let text = m.encode();
        for name in [
            "external_dns_controller_last_sync_timestamp_seconds ",
            "external_dns_controller_consecutive_soft_errors 0",
            "external_dns_source_endpoints_total 3",
            "external_dns_source_records{record_type=\"A\"} 3",
            "external_dns_registry_skipped_records_owner_mismatch_per_sync{record_type=\"A\",owner=\"owner-a\",foreign_owner=\"owner-b\",domain=\"x.example.org\"} 1",
            "external_dns_build_info{",
            "exodns_sync_duration_seconds_bucket{",
            "exodns_event_to_applied_seconds_count 1",
            "exodns_provider_requests_total{provider=\"pdns\",operation=\"apply\",status=\"ok\"} 1",
            "exodns_planned_changes_total{kind=\"create\"} 2",
            "external_dns_webhook_provider_applychanges_requests_total 1",
            "external_dns_webhook_provider_applychanges_errors_total 1",
            "external_dns_webhook_provider_records_requests_total 0",
            "exodns_owner_conflicts_total 1",
            "exodns_leader 1",
            "external_dns_source_invalid_endpoints{record_type=\"unknown\",source_type=\"service\"} 3",
            "external_dns_source_invalid_endpoints{record_type=\"MX\",source_type=\"crd\"} 1",
            "exodns_deletions_held{zone=\"example.org\"} 80",
        ] {
            assert!(text.contains(name), "missing {name:?} in:\n{text}");
        }
    }
}
