//! A provider wrapper that counts calls by operation and outcome.

use std::sync::Arc;

use async_trait::async_trait;
use exodns_core::zones::ZoneIndex;
use exodns_core::{Changes, DomainFilter, Endpoint};
use exodns_provider::{ApplyReport, Provider, ProviderError, ProviderInfo, Records};
use exodns_telemetry::Metrics;

/// Counts each provider call in `exodns_provider_requests_total{provider,operation,status}`.
/// Calls of a provider whose `ProviderInfo::webhook_client` is set are also counted in
/// upstream's `external_dns_webhook_provider_*` families.
pub struct MeteredProvider {
    inner: Arc<dyn Provider>,
    metrics: Arc<Metrics>,
    webhook_client: bool,
}

impl MeteredProvider {
    pub fn new(inner: Arc<dyn Provider>, info: &ProviderInfo, metrics: Arc<Metrics>) -> Self {
        MeteredProvider { inner, metrics, webhook_client: info.webhook_client }
    }

    fn count<T>(&self, operation: &str, result: &Result<T, ProviderError>) {
        let status = match result {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        self.metrics.provider_request(self.inner.name(), operation, status);
        if self.webhook_client {
            self.metrics.webhook_client_request(operation, status);
        }
    }
}

#[async_trait]
impl Provider for MeteredProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn domain_filter(&self) -> DomainFilter {
        self.inner.domain_filter()
    }

    fn zones(&self) -> Option<ZoneIndex> {
        self.inner.zones()
    }

    fn routing_policies(&self) -> bool {
        self.inner.routing_policies()
    }

    async fn records(&self) -> Result<Records, ProviderError> {
        let r = self.inner.records().await;
        self.count("records", &r);
        r
    }

    async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ProviderError> {
        let r = self.inner.apply_changes(changes).await;
        self.count("apply", &r);
        r
    }

    async fn adjust_endpoints(&self, endpoints: Vec<Endpoint>) -> Result<Vec<Endpoint>, ProviderError> {
        let r = self.inner.adjust_endpoints(endpoints).await;
        self.count("adjust", &r);
        r
    }
}
