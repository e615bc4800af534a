//! What a provider crate declares once. The binary keeps one list of [`ProviderKind`]s and derives
//! from it `--provider`'s values, `exodns webhook`, the flags in `--help` and the error messages;
//! nothing else in exodns names a provider.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use exodns_core::{DomainFilter, Secret};

use crate::Provider;

/// Facts about a provider that other code asks for, as fields rather than name comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The `--provider` value, as upstream ExternalDNS spells it.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// `exodns webhook` can serve it to ExternalDNS (every provider but the webhook client).
    pub servable: bool,
    /// Its calls are also counted in upstream's `external_dns_webhook_provider_*` families.
    pub webhook_client: bool,
    /// Its records live only as long as the process, so `--once` prints them at the end.
    pub ephemeral: bool,
}

impl ProviderInfo {
    /// A provider with a name and a help line, servable, persistent, not a webhook client.
    pub const fn new(name: &'static str, about: &'static str) -> Self {
        ProviderInfo { name, about, servable: true, webhook_client: false, ephemeral: false }
    }
}

/// What every provider gets besides its own flags: the general flags that upstream applies to
/// all providers.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProviderContext {
    /// `--domain-filter`, `--exclude-domains`, `--regex-domain-filter`, `--regex-domain-exclusion`:
    /// zones outside it are neither read nor written.
    pub domain_filter: DomainFilter,
    /// `--zone-id-filter`: only zones with these ids (empty: every zone), for providers with
    /// zone ids.
    pub zone_id_filter: Vec<String>,
    /// `--dry-run`: the provider may be asked to read, never to write.
    pub dry_run: bool,
    /// `--tls-ca`, `--tls-client-cert`, `--tls-client-cert-key`, for providers that speak TLS
    /// to their server.
    pub tls: TlsFiles,
}

/// Upstream's general TLS flags, read by the providers that speak TLS to their server
/// (PowerDNS's API, RFC2136 over DNS-over-TLS). The binary flattens them once.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Provider TLS")]
pub struct TlsFiles {
    /// CA bundle (PEM) to trust for the provider's TLS instead of the system roots.
    #[arg(long = "tls-ca", env = "EXTERNAL_DNS_TLS_CA", global = true)]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for the provider's TLS.
    #[arg(long = "tls-client-cert", env = "EXTERNAL_DNS_TLS_CLIENT_CERT", global = true)]
    pub client_cert: Option<PathBuf>,
    /// Client key (PEM) for the provider's TLS.
    #[arg(long = "tls-client-cert-key", env = "EXTERNAL_DNS_TLS_CLIENT_CERT_KEY", global = true)]
    pub client_cert_key: Option<PathBuf>,
}

impl ProviderContext {
    pub fn new(domain_filter: DomainFilter) -> Self {
        ProviderContext { domain_filter, ..ProviderContext::default() }
    }

    pub fn with_zone_id_filter(mut self, ids: Vec<String>) -> Self {
        self.zone_id_filter = ids;
        self
    }

    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    pub fn with_tls(mut self, tls: TlsFiles) -> Self {
        self.tls = tls;
        self
    }
}

/// Why a provider could not be built from its flags.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A flag (or its env var, or the file it names) is missing or wrong.
    #[error("--{flag}: {message}")]
    Flag { flag: String, message: String },
    /// Anything else the provider's constructor reports.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl BuildError {
    pub fn flag(flag: impl Into<String>, message: impl Into<String>) -> Self {
        BuildError::Flag { flag: flag.into(), message: message.into() }
    }

    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BuildError::Other(Box::new(e))
    }
}

/// A provider as the binary sees it: its facts, its flags and its constructor.
///
/// The flags are a clap `Args` struct with upstream's flag names, each with `env =
/// "EXTERNAL_DNS_<FLAG>"` and `global = true` (so `exodns plan` and `exodns webhook` take them);
/// the binary flattens every provider's `Args` into its command line.
pub trait ProviderKind: 'static {
    const INFO: ProviderInfo;

    type Args: clap::Args + clap::FromArgMatches + Clone + std::fmt::Debug + Send + Sync + 'static;

    /// Builds the provider from its flags. Only a wrong setting is an error here: a service
    /// that cannot be reached yet is the syncs' business (they retry), never a reason to exit.
    fn build(
        args: &Self::Args,
        ctx: &ProviderContext,
    ) -> impl Future<Output = Result<Arc<dyn Provider>, BuildError>> + Send;
}

/// A secret from its flag or from the file its `-file` flag names (a mounted Secret); `None`
/// when neither is set. An empty value counts as not set.
pub fn secret_from(flag: &str, value: Option<&Secret>, file: Option<&PathBuf>) -> Result<Option<Secret>, BuildError> {
    let secret = match (value, file) {
        (Some(_), Some(_)) => {
            return Err(BuildError::flag(flag, format!("--{flag} and --{flag}-file exclude each other")));
        }
        (Some(s), None) => s.clone(),
        (None, Some(path)) => Secret::from_file(path)
            .map_err(|e| BuildError::flag(format!("{flag}-file"), format!("{}: {e}", path.display())))?,
        (None, None) => return Ok(None),
    };
    Ok((!secret.is_empty()).then_some(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_from_flag_or_file() {
        let dir = std::env::temp_dir().join(format!("exodns-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "from-file\n").unwrap();
        let flag = Secret::new("from-flag");
        assert_eq!(secret_from("k", Some(&flag), None).unwrap().unwrap().expose(), "from-flag");
        assert_eq!(secret_from("k", None, Some(&file)).unwrap().unwrap().expose(), "from-file");
        assert!(secret_from("k", None, None).unwrap().is_none());
        assert!(secret_from("k", Some(&Secret::new("")), None).unwrap().is_none());
        let both = secret_from("k", Some(&flag), Some(&file)).unwrap_err().to_string();
        assert!(both.contains("--k and --k-file"), "{both}");
        let missing = secret_from("k", None, Some(&dir.join("nope"))).unwrap_err().to_string();
        assert!(missing.starts_with("--k-file:") && !missing.contains("from-"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
