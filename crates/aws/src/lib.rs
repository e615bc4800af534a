//! AWS Route 53 provider of exodns (`--provider=aws`), with upstream ExternalDNS's flags,
//! annotations and records.
//!
//! - [`AwsProvider`] implements [`exodns_provider::Provider`]: hosted zones filtered by domain,
//!   id, type and tags; record sets with alias records and routing policies as upstream's
//!   `aws/*` properties; changes in batches under Route 53's limits, a refused batch split until
//!   the refused change is found (reported per endpoint, the rest applied).
//! - [`Route53Client`] is our own REST/XML client (reqwest + rustls/ring, quick-xml), signed
//!   with `aws-sigv4`; throttling and 5xx are retried with backoff.
//! - [`creds`]: the AWS credential chain (env, shared files, web identity, container endpoint,
//!   IMDSv2, assume role), refreshed before expiry; secrets never logged.
//! - [`dynamodb`]: the DynamoDB table of `--registry=dynamodb` (upstream's DynamoDB registry).
//! - The endpoint follows the AWS SDK convention: `AWS_ENDPOINT_URL_ROUTE_53`, then
//!   `AWS_ENDPOINT_URL` (STS: `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`).

mod alias_zones;
pub mod batch;
mod client;
pub mod convert;
pub mod creds;
pub mod dynamodb;
mod kind;
pub mod model;
mod provider;
mod sign;

pub use client::{ApiError, Call, Endpoint, RequestCounter, RetryPolicy, Route53Client};
pub use kind::{Aws, AwsArgs, dynamodb_store, provider};
pub use provider::{AwsConfig, AwsProvider, ManagedZone, ZoneType};
pub use sign::sign_request;

/// A plain-HTTP client for unit tests (rustls needs its provider chosen).
#[cfg(test)]
pub(crate) fn test_http() -> reqwest::Client {
    let tls = exodns_http::client_config(&exodns_http::TlsSettings::default(), false).expect("TLS config");
    exodns_http::client_builder(tls).build().expect("client")
}
