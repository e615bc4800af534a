use std::path::PathBuf;

/// What can go wrong in this crate outside of the [`exodns_provider::Provider`] calls (which
/// answer with [`exodns_provider::ProviderError`]). No variant ever carries a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudflareError {
    /// A setting is wrong; `setting` is the flag or environment variable.
    #[error("{setting}: {message}")]
    Config { setting: &'static str, message: String },
    /// A file named by a setting could not be read.
    #[error("cannot read {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// A call to Cloudflare's API failed.
    #[error("Cloudflare API: {0}")]
    Api(#[from] exodns_http::ApiError),
}
