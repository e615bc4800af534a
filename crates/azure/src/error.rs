/// What can go wrong in this crate outside of the [`exodns_provider::Provider`] calls (which
/// answer with [`exodns_provider::ProviderError`]). No variant ever carries a secret or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzureError {
    /// A setting is wrong; `setting` is the flag name (without `--`).
    #[error("--{setting}: {message}")]
    Config { setting: &'static str, message: String },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(exodns_http::TlsError),
}

impl AzureError {
    pub(crate) fn config(setting: &'static str, message: impl Into<String>) -> Self {
        AzureError::Config { setting, message: message.into() }
    }
}
