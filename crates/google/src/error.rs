use std::path::{Path, PathBuf};

/// What can go wrong in this crate outside of the [`exodns_provider::Provider`] calls (which
/// answer with [`exodns_provider::ProviderError`]). No variant ever carries a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GoogleError {
    /// A setting is wrong; `setting` is the flag name.
    #[error("{setting}: {message}")]
    Config { setting: &'static str, message: String },
    /// A credentials file cannot be used.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(exodns_http::TlsError),
}

impl GoogleError {
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        GoogleError::File { path: path.to_owned(), message: message.into() }
    }
}
