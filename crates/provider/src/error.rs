use std::time::Duration;

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// Worth retrying: a timeout, a refused connection, a 5xx, a rate limit.
    #[error("{provider}: {message}")]
    Transient { provider: String, message: String, retry_after: Option<Duration> },
    /// Retrying the same call will not help: bad credentials, a missing server id, a bad setting.
    #[error("{provider}: {message}")]
    Permanent { provider: String, message: String },
}

impl ProviderError {
    pub fn transient(provider: &str, message: impl Into<String>) -> Self {
        ProviderError::Transient { provider: provider.to_owned(), message: message.into(), retry_after: None }
    }

    pub fn permanent(provider: &str, message: impl Into<String>) -> Self {
        ProviderError::Permanent { provider: provider.to_owned(), message: message.into() }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient { .. })
    }

    /// Label for the `error` dimension of metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ProviderError::Transient { .. } => "transient",
            ProviderError::Permanent { .. } => "permanent",
        }
    }
}
