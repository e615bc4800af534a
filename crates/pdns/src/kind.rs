//! `--provider=pdns`: upstream's flags and the constructor the binary lists.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exodns_core::Secret;
use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind, secret_from};

use crate::{PdnsConfig, PdnsProvider, TlsSettings};

/// PowerDNS Authoritative over its REST API.
pub struct Pdns;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "PowerDNS provider")]
pub struct PdnsArgs {
    /// PowerDNS API base URL (a path prefix is kept).
    #[arg(long, env = "EXTERNAL_DNS_PDNS_SERVER", global = true, default_value = crate::DEFAULT_SERVER)]
    pub pdns_server: String,
    /// PowerDNS API key.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_API_KEY", global = true, hide_env_values = true)]
    pub pdns_api_key: Option<Secret>,
    /// Read the PowerDNS API key from this file instead.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_API_KEY_FILE", global = true)]
    pub pdns_api_key_file: Option<PathBuf>,
    /// PowerDNS server id.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_SERVER_ID", global = true, default_value = crate::DEFAULT_SERVER_ID)]
    pub pdns_server_id: String,
    /// Skip TLS verification of the PowerDNS API.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_SKIP_TLS_VERIFY", global = true)]
    pub pdns_skip_tls_verify: bool,
    /// Largest request body sent to PowerDNS (its webserver-max-bodysize); bigger change sets
    /// are split.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_MAX_BODY_SIZE", global = true, default_value_t = crate::DEFAULT_MAX_BODY_BYTES)]
    pub pdns_max_body_size: usize,
    /// Timeout of one PowerDNS API request.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_TIMEOUT", global = true, default_value = "30s", value_parser = parse_go_duration)]
    pub pdns_timeout: Duration,
    /// `host:port` of PowerDNS's DNS listener: each LUA record set written is asked once, and a
    /// SERVFAIL (Lua PowerDNS accepted but cannot run) is reported as a Warning Event and in
    /// `exodns_lua_servfail_total`. exodns's own flag.
    #[arg(long, env = "EXTERNAL_DNS_PDNS_DNS_SERVER", global = true)]
    pub pdns_dns_server: Option<String>,
}

impl ProviderKind for Pdns {
    const INFO: ProviderInfo = ProviderInfo::new("pdns", "PowerDNS Authoritative, over its REST API");
    type Args = PdnsArgs;

    async fn build(args: &PdnsArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(args, ctx)?))
    }
}

/// The provider of these flags, with nothing sent yet.
pub fn provider(args: &PdnsArgs, ctx: &ProviderContext) -> Result<PdnsProvider, BuildError> {
    let key = secret_from("pdns-api-key", args.pdns_api_key.as_ref(), args.pdns_api_key_file.as_ref())?;
    let Some(key) = key else {
        return Err(BuildError::flag(
            "pdns-api-key",
            "--provider=pdns needs an API key (--pdns-api-key, EXTERNAL_DNS_PDNS_API_KEY or --pdns-api-key-file)",
        ));
    };
    let mut pc = PdnsConfig::parse(&args.pdns_server, key).map_err(BuildError::other)?;
    pc.server_id = args.pdns_server_id.clone();
    pc.domain_filter = ctx.domain_filter.clone();
    pc.tls = TlsSettings {
        ca_file: ctx.tls.ca.clone(),
        client_cert_file: ctx.tls.client_cert.clone(),
        client_key_file: ctx.tls.client_cert_key.clone(),
        skip_verify: args.pdns_skip_tls_verify,
    };
    pc.max_body_bytes = args.pdns_max_body_size;
    pc.timeout = args.pdns_timeout;
    if let Some(server) = args.pdns_dns_server.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let port = server.rsplit_once(':').and_then(|(host, port)| (!host.is_empty()).then_some(port));
        if port.and_then(|p| p.parse::<u16>().ok()).is_none_or(|p| p == 0) {
            return Err(BuildError::flag(
                "pdns-dns-server",
                format!("{server:?} is not host:port (127.0.0.1:53, pdns.dns.svc:53, [::1]:53)"),
            ));
        }
        pc.dns_server = Some(server.to_owned());
    }
    PdnsProvider::new(pc).map_err(BuildError::other)
}
