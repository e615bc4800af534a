//! The rustls client configuration (ring provider, TLS 1.2 and 1.3 only) handed to reqwest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// TLS settings of a client (upstream's `--tls-ca`, `--tls-client-cert`, `--tls-client-cert-key`,
/// and the provider's skip-verify flag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file with the CA certificate(s) to trust instead of the system roots (`--tls-ca`).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS (`--tls-client-cert`).
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate (`--tls-client-cert-key`).
    pub client_key_file: Option<PathBuf>,
    /// Accept any server certificate (`--pdns-skip-tls-verify`). For tests only.
    pub skip_verify: bool,
}

impl TlsSettings {
    pub fn is_configured(&self) -> bool {
        self.ca_file.is_some() || self.client_cert_file.is_some() || self.client_key_file.is_some() || self.skip_verify
    }
}

/// Why [`client_config`] could not build a configuration. Callers put it in their own words
/// (which flag to use, which server is meant).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file named by the settings could not be read or holds nothing usable.
    #[error("cannot read {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The TLS material does not go together, or rustls refused the configuration.
    #[error("{0}")]
    Config(String),
    /// An `https` server, no CA file, and no system CA certificates.
    #[error("no system CA certificates found")]
    NoSystemRoots,
    /// A client certificate without its key, or a key without its certificate.
    #[error("a client certificate and its key go together")]
    CertWithoutKey,
}

/// Builds the client TLS configuration. `https` tells whether the server URL uses TLS at all:
/// without it and without a CA file, no root store is loaded (an `http://` server on the
/// loopback needs none). The given CA file replaces the system roots, like upstream. ALPN offers
/// HTTP/1.1 only: the servers spoken to (the PowerDNS webserver, webhook providers) speak it.
pub fn client_config(settings: &TlsSettings, https: bool) -> Result<ClientConfig, TlsError> {
    build(settings, https, &[&rustls::version::TLS13, &rustls::version::TLS12], b"http/1.1")
}

/// The client TLS configuration for DNS over TLS (RFC 7858, zone transfers over TLS RFC 9103):
/// TLS 1.3 only, as RFC 9103 requires and upstream's RFC2136 provider sets, ALPN `dot`.
pub fn dns_over_tls_config(settings: &TlsSettings) -> Result<ClientConfig, TlsError> {
    build(settings, true, &[&rustls::version::TLS13], b"dot")
}

fn build(
    settings: &TlsSettings,
    https: bool,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[u8],
) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;

    let builder = if settings.skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
    } else {
        builder.with_root_certificates(root_store(settings, https)?)
    };

    let mut config = match (&settings.client_cert_file, &settings.client_key_file) {
        (Some(cert_file), Some(key_file)) => {
            let certs = read_certs(cert_file)?;
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::File {
                path: key_file.clone(),
                message: format!("no usable PEM private key: {e}"),
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| TlsError::Config(format!("client certificate and key do not go together: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(TlsError::CertWithoutKey),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let file_err = |message: String| TlsError::File { path: path.to_owned(), message };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(format!("bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(file_err("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

fn root_store(settings: &TlsSettings, https: bool) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if let Some(ca) = &settings.ca_file {
        for cert in read_certs(ca)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::File { path: ca.clone(), message: format!("unusable CA certificate: {e}") })?;
        }
        return Ok(roots);
    }
    if !https {
        return Ok(roots);
    }
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "skipping a system CA location");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    if ignored > 0 {
        tracing::debug!(added, ignored, "system CA certificates loaded");
    }
    if roots.is_empty() {
        return Err(TlsError::NoSystemRoots);
    }
    Ok(roots)
}

/// `skip_verify`: any certificate is accepted; handshake signatures are still checked, so the
/// peer at least holds the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
