//! Settings of the RFC2136 provider. A plain struct: `kind.rs` maps upstream's `--rfc2136-*`
//! flags onto it.

use std::time::Duration;

pub use exodns_http::TlsSettings;

use crate::error::Rfc2136Error;
use crate::tsig::TsigKey;

/// Upstream's `--rfc2136-batch-change-size` default.
pub const DEFAULT_BATCH_CHANGE_SIZE: usize = 50;
/// TTL written for a record that has none and no `--rfc2136-min-ttl` (upstream writes 0, which
/// no resolver caches).
pub const DEFAULT_TTL: u32 = 300;
/// Largest DNS message: TCP frames it with a 16-bit length.
pub const MAX_MESSAGE: usize = 65_535;

/// Which host serves an operation when there are several (`--rfc2136-load-balancing-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Strategy {
    /// The first host until it fails, then the next (upstream's default).
    #[default]
    Disabled,
    /// Each operation on the next host.
    RoundRobin,
    /// Each operation on a host picked at random, never the last one used.
    Random,
}

/// Everything the provider needs.
#[derive(Debug, Clone)]
pub struct Rfc2136Config {
    /// Servers (`--rfc2136-host`), names or addresses, tried as [`Strategy`] says.
    pub hosts: Vec<String>,
    /// `--rfc2136-port`; 0 means the standard port: 53, or 853 with TLS.
    pub port: u16,
    /// Zones (`--rfc2136-zone`), without the trailing dot.
    pub zones: Vec<String>,
    /// `None` with `--rfc2136-insecure`.
    pub tsig: Option<TsigKey>,
    /// Read the zones by AXFR (`--rfc2136-axfr`); without it nothing can be read, and only what
    /// this process wrote is known.
    pub axfr: bool,
    /// Records get at least this TTL (`--rfc2136-min-ttl`).
    pub min_ttl: Duration,
    /// Record sets per UPDATE message at most (`--rfc2136-batch-change-size`); a message also
    /// stays under 64 KB.
    pub batch_change_size: usize,
    /// DNS over TLS (`--rfc2136-use-tls`) with these settings; `None`: plain TCP.
    pub tls: Option<TlsSettings>,
    pub strategy: Strategy,
    /// Connecting, and waiting for each answer.
    pub timeout: Duration,
    /// TTL for records without one (and above `min_ttl`).
    pub default_ttl: u32,
}

impl Rfc2136Config {
    pub fn new(hosts: Vec<String>, zones: Vec<String>, tsig: Option<TsigKey>) -> Self {
        Rfc2136Config {
            hosts,
            port: 0,
            zones,
            tsig,
            axfr: true,
            min_ttl: Duration::ZERO,
            batch_change_size: DEFAULT_BATCH_CHANGE_SIZE,
            tls: None,
            strategy: Strategy::Disabled,
            timeout: Duration::from_secs(10),
            default_ttl: DEFAULT_TTL,
        }
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        match (self.port, &self.tls) {
            (0, Some(_)) => 853,
            (0, None) => 53,
            (p, _) => p,
        }
    }

    /// The TTL written for a record asking for `ttl` (0: none): at least `--rfc2136-min-ttl`,
    /// which is also what a record without a TTL gets, as upstream documents it; without it,
    /// [`DEFAULT_TTL`] where upstream writes 0.
    pub fn ttl_for(&self, ttl: u32) -> u32 {
        let min = u32::try_from(self.min_ttl.as_secs()).unwrap_or(u32::MAX);
        match (ttl, min) {
            (0, 0) => self.default_ttl,
            (t, m) => t.max(m),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Rfc2136Error> {
        let cfg = |setting: &'static str, message: String| Err(Rfc2136Error::Config { setting, message });
        if self.hosts.is_empty() || self.hosts.iter().any(|h| h.trim().is_empty()) {
            return cfg("--rfc2136-host", "the DNS server's name or address is needed".into());
        }
        if self.zones.is_empty() {
            return cfg("--rfc2136-zone", "at least one zone is needed".into());
        }
        for z in &self.zones {
            if z.is_empty() || exodns_core::DnsName::parse(z).is_err() {
                return cfg("--rfc2136-zone", format!("{z:?} is not a zone name"));
            }
        }
        if self.batch_change_size == 0 {
            return cfg("--rfc2136-batch-change-size", "must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return cfg("timeout", "must be above zero".into());
        }
        if let Some(tls) = &self.tls
            && tls.client_cert_file.is_some() != tls.client_key_file.is_some()
        {
            return cfg("--tls-client-cert", "--tls-client-cert and --tls-client-cert-key go together".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_the_record_s_at_least_the_minimum() {
        let mut c = Rfc2136Config::new(vec!["h".into()], vec!["example.test".into()], None);
        assert_eq!(c.ttl_for(0), DEFAULT_TTL);
        assert_eq!(c.ttl_for(60), 60);
        c.min_ttl = Duration::from_secs(120);
        assert_eq!(c.ttl_for(60), 120);
        assert_eq!(c.ttl_for(600), 600);
        assert_eq!(c.ttl_for(0), 120, "upstream's documented default TTL flag");
    }

    #[test]
    fn port_defaults_by_transport() {
        let mut c = Rfc2136Config::new(vec!["h".into()], vec!["example.test".into()], None);
        assert_eq!(c.effective_port(), 53);
        c.tls = Some(TlsSettings::default());
        assert_eq!(c.effective_port(), 853);
        c.port = 5353;
        assert_eq!(c.effective_port(), 5353);
    }

    #[test]
    fn validation_names_the_flag() {
        let ok = Rfc2136Config::new(vec!["h".into()], vec!["example.test".into()], None);
        assert!(ok.validate().is_ok());
        let err = |c: Rfc2136Config| c.validate().unwrap_err().to_string();
        assert!(err(Rfc2136Config { hosts: vec![], ..ok.clone() }).starts_with("--rfc2136-host"));
        assert!(err(Rfc2136Config { zones: vec![], ..ok.clone() }).starts_with("--rfc2136-zone"));
        assert!(err(Rfc2136Config { zones: vec!["a..b".into()], ..ok.clone() }).starts_with("--rfc2136-zone"));
        assert!(err(Rfc2136Config { batch_change_size: 0, ..ok }).starts_with("--rfc2136-batch-change-size"));
    }
}
