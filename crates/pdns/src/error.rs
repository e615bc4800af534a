use std::path::PathBuf;

/// What can go wrong in this crate outside of the [`exodns_provider::Provider`] calls (which
/// answer with [`exodns_provider::ProviderError`]). No variant ever carries the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdnsError {
    /// A setting is wrong; `setting` is the flag name.
    #[error("{setting}: {message}")]
    Config { setting: &'static str, message: String },
    /// A file named by a setting could not be read.
    #[error("cannot read {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// TLS material could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// A call to the PowerDNS API failed.
    #[error("PowerDNS API: {0}")]
    Api(#[from] crate::client::ApiError),
}

impl From<exodns_http::TlsError> for PdnsError {
    /// The TLS settings' failures, in the words of PowerDNS's flags.
    fn from(e: exodns_http::TlsError) -> Self {
        use exodns_http::TlsError;
        match e {
            TlsError::File { path, message } => PdnsError::File { path, message },
            TlsError::NoSystemRoots => {
                PdnsError::Tls("no system CA certificates found; give the PowerDNS server's CA with --tls-ca".into())
            }
            TlsError::CertWithoutKey => PdnsError::Config {
                setting: "--tls-client-cert",
                message: "--tls-client-cert and --tls-client-cert-key go together".into(),
            },
            other => PdnsError::Tls(other.to_string()),
        }
    }
}
