//! `--provider=rfc2136`: upstream's `--rfc2136-*` flags (v0.22.0, unchanged in v0.23.0) and the
//! constructor the binary lists.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exodns_core::Secret;
use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind, secret_from};

use crate::Rfc2136Provider;
use crate::config::{DEFAULT_BATCH_CHANGE_SIZE, Rfc2136Config, Strategy, TlsSettings};
use crate::tsig::{Algorithm, TsigKey};

/// Any DNS server that takes RFC2136 dynamic updates.
pub struct Rfc2136;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "RFC2136 provider")]
pub struct Rfc2136Args {
    /// The DNS server's host name or address; repeat for several (see
    /// --rfc2136-load-balancing-strategy).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_HOST", global = true, value_delimiter = '\n')]
    pub rfc2136_host: Vec<String>,
    /// The DNS server's port [0: 53, or 853 with --rfc2136-use-tls].
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_PORT", global = true, default_value_t = 0)]
    pub rfc2136_port: u16,
    /// A zone to manage; repeat for several.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_ZONE", global = true, value_delimiter = '\n')]
    pub rfc2136_zone: Vec<String>,
    /// Send updates and transfers without TSIG.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_INSECURE", global = true)]
    pub rfc2136_insecure: bool,
    /// Name of the TSIG key (needed unless --rfc2136-insecure).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_TSIG_KEYNAME", global = true, default_value = "")]
    pub rfc2136_tsig_keyname: String,
    /// The TSIG secret, base64 as tsig-keygen prints it.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_TSIG_SECRET", global = true, hide_env_values = true)]
    pub rfc2136_tsig_secret: Option<Secret>,
    /// Read the TSIG secret from this file instead (a mounted Secret).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_TSIG_SECRET_FILE", global = true)]
    pub rfc2136_tsig_secret_file: Option<PathBuf>,
    /// TSIG algorithm: hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1 or hmac-md5.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_TSIG_SECRET_ALG", global = true, default_value = "")]
    pub rfc2136_tsig_secret_alg: String,
    /// Read the zones by AXFR. Without it nothing can be read, so nothing is ever updated or
    /// deleted (as with --policy=create-only).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_AXFR", global = true)]
    pub rfc2136_axfr: bool,
    /// [DEPRECATED: use --rfc2136-axfr] Read the zones by AXFR.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_TSIG_AXFR", global = true)]
    pub rfc2136_tsig_axfr: bool,
    /// Smallest TTL written; records without a TTL get it too [0s: records without a TTL get 300 s].
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_MIN_TTL", global = true, default_value = "0s", value_parser = parse_go_duration)]
    pub rfc2136_min_ttl: Duration,
    /// GSS-TSIG (Kerberos, RFC 3645): not supported; refused at start.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_GSS_TSIG", global = true)]
    pub rfc2136_gss_tsig: bool,
    /// Kerberos user for GSS-TSIG (not supported).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_KERBEROS_USERNAME", global = true, default_value = "")]
    pub rfc2136_kerberos_username: String,
    /// Kerberos password for GSS-TSIG (not supported).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_KERBEROS_PASSWORD", global = true, hide_env_values = true)]
    pub rfc2136_kerberos_password: Option<Secret>,
    /// Kerberos realm for GSS-TSIG (not supported).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_KERBEROS_REALM", global = true, default_value = "")]
    pub rfc2136_kerberos_realm: String,
    /// Record sets per UPDATE message at most (a message also stays under 64 KB).
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_BATCH_CHANGE_SIZE", global = true, default_value_t = DEFAULT_BATCH_CHANGE_SIZE)]
    pub rfc2136_batch_change_size: usize,
    /// Speak DNS over TLS (RFC 7858, 9103) for transfers and updates.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_USE_TLS", global = true)]
    pub rfc2136_use_tls: bool,
    /// With --rfc2136-use-tls: accept any server certificate.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_SKIP_TLS_VERIFY", global = true)]
    pub rfc2136_skip_tls_verify: bool,
    /// With several hosts: disabled (the first until it fails), round-robin or random.
    #[arg(long, env = "EXTERNAL_DNS_RFC2136_LOAD_BALANCING_STRATEGY", global = true, value_enum, default_value_t = Strategy::Disabled)]
    pub rfc2136_load_balancing_strategy: Strategy,
}

impl ProviderKind for Rfc2136 {
    const INFO: ProviderInfo =
        ProviderInfo::new("rfc2136", "Any DNS server that takes RFC2136 dynamic updates (BIND, Knot, …), with TSIG");
    type Args = Rfc2136Args;

    async fn build(args: &Rfc2136Args, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(args, ctx)?))
    }
}

/// The provider of these flags, with nothing sent yet.
pub fn provider(args: &Rfc2136Args, ctx: &ProviderContext) -> Result<Rfc2136Provider, BuildError> {
    Rfc2136Provider::new(config(args, ctx)?).map_err(BuildError::other)
}

/// The settings of these flags.
pub fn config(args: &Rfc2136Args, ctx: &ProviderContext) -> Result<Rfc2136Config, BuildError> {
    if args.rfc2136_gss_tsig {
        return Err(BuildError::flag(
            "rfc2136-gss-tsig",
            "GSS-TSIG (Kerberos, RFC 3645) is not supported by exodns; give the zone a TSIG key \
             (--rfc2136-tsig-keyname, --rfc2136-tsig-secret, --rfc2136-tsig-secret-alg)",
        ));
    }
    if args.rfc2136_tsig_axfr {
        tracing::warn!("--rfc2136-tsig-axfr is deprecated, use --rfc2136-axfr instead");
    }
    let axfr = args.rfc2136_axfr || args.rfc2136_tsig_axfr;
    if !axfr {
        tracing::warn!(
            "--rfc2136-axfr is not set: exodns cannot read the zones, so it only creates records and never updates or deletes them"
        );
    }
    let tsig = if args.rfc2136_insecure { None } else { Some(tsig_key(args)?) };
    let tls = args.rfc2136_use_tls.then(|| TlsSettings {
        ca_file: ctx.tls.ca.clone(),
        client_cert_file: ctx.tls.client_cert.clone(),
        client_key_file: ctx.tls.client_cert_key.clone(),
        skip_verify: args.rfc2136_skip_tls_verify,
    });
    let hosts: Vec<String> = args
        .rfc2136_host
        .iter()
        .flat_map(|h| h.split(','))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    let mut cfg = Rfc2136Config::new(hosts, args.rfc2136_zone.iter().map(|z| z.trim().to_owned()).collect(), tsig);
    cfg.port = args.rfc2136_port;
    cfg.axfr = axfr;
    cfg.min_ttl = args.rfc2136_min_ttl;
    cfg.batch_change_size = args.rfc2136_batch_change_size;
    cfg.tls = tls;
    cfg.strategy = args.rfc2136_load_balancing_strategy;
    Ok(cfg)
}

fn tsig_key(args: &Rfc2136Args) -> Result<TsigKey, BuildError> {
    let needed = |flag: &str| {
        BuildError::flag(flag, "needed for TSIG (or --rfc2136-insecure to send updates unsigned)".to_string())
    };
    let name = args.rfc2136_tsig_keyname.trim();
    if name.is_empty() {
        return Err(needed("rfc2136-tsig-keyname"));
    }
    let secret =
        secret_from("rfc2136-tsig-secret", args.rfc2136_tsig_secret.as_ref(), args.rfc2136_tsig_secret_file.as_ref())?
            .ok_or_else(|| needed("rfc2136-tsig-secret"))?;
    let names = Algorithm::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ");
    let alg_text = args.rfc2136_tsig_secret_alg.trim();
    let algorithm = Algorithm::parse(alg_text).ok_or_else(|| {
        let what = if alg_text.is_empty() {
            "needed".to_owned()
        } else {
            format!("{alg_text:?} is not a supported TSIG algorithm")
        };
        BuildError::flag("rfc2136-tsig-secret-alg", format!("{what} ({names})"))
    })?;
    if algorithm == Algorithm::HmacMd5 {
        tracing::warn!(
            "--rfc2136-tsig-secret-alg=hmac-md5 is deprecated by RFC 8945; use hmac-sha256 where the server allows it"
        );
    }
    TsigKey::new(name, algorithm, secret.expose()).map_err(|e| {
        let flag =
            if matches!(e, crate::tsig::KeyError::Name(_)) { "rfc2136-tsig-keyname" } else { "rfc2136-tsig-secret" };
        BuildError::flag(flag, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Rfc2136Args,
    }

    fn build(flags: &[&str]) -> Result<Rfc2136Config, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("exodns").chain(flags.iter().copied())).map_err(|e| e.to_string())?;
        config(&cli.args, &ProviderContext::default()).map_err(|e| e.to_string())
    }

    const KEY: [&str; 3] = [
        "--rfc2136-tsig-keyname=k",
        "--rfc2136-tsig-secret=c2VjcmV0LXZhbHVlLXRoYXQtc2hvdWxkLW5ldmVyLXNob3c=",
        "--rfc2136-tsig-secret-alg=hmac-sha256",
    ];

    #[test]
    fn upstream_flags_make_the_settings() {
        let mut flags = vec![
            "--rfc2136-host=ns1",
            "--rfc2136-host=ns2",
            "--rfc2136-port=5353",
            "--rfc2136-zone=example.test",
            "--rfc2136-zone=other.test",
            "--rfc2136-tsig-axfr",
            "--rfc2136-min-ttl=1m",
            "--rfc2136-batch-change-size=100",
            "--rfc2136-load-balancing-strategy=round-robin",
            "--rfc2136-use-tls",
            "--rfc2136-skip-tls-verify",
        ];
        flags.extend(KEY);
        let cfg = build(&flags).unwrap();
        assert_eq!(cfg.hosts, ["ns1", "ns2"]);
        assert_eq!(cfg.zones, ["example.test", "other.test"]);
        assert_eq!(
            (cfg.port, cfg.axfr, cfg.min_ttl, cfg.batch_change_size),
            (5353, true, Duration::from_secs(60), 100)
        );
        assert_eq!(cfg.strategy, Strategy::RoundRobin);
        assert!(cfg.tls.as_ref().unwrap().skip_verify);
        let key = cfg.tsig.unwrap();
        assert_eq!((key.name().as_str(), key.algorithm()), ("k.", Algorithm::HmacSha256));
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let base = ["--rfc2136-host=ns1", "--rfc2136-zone=example.test"];
        let err = |extra: &[&str]| build(&[&base[..], extra].concat()).unwrap_err();
        assert!(err(&[]).starts_with("--rfc2136-tsig-keyname: needed"), "{}", err(&[]));
        assert!(err(&["--rfc2136-tsig-keyname=k"]).starts_with("--rfc2136-tsig-secret: needed"));
        let no_alg = err(&KEY[..2]);
        assert!(no_alg.starts_with("--rfc2136-tsig-secret-alg: needed (hmac-md5, hmac-sha1"), "{no_alg}");
        let bad = err(&[KEY[0], KEY[1], "--rfc2136-tsig-secret-alg=hmac-sha999"]);
        assert!(bad.contains("\"hmac-sha999\" is not a supported TSIG algorithm"), "{bad}");
        let gss = err(&["--rfc2136-gss-tsig"]);
        assert!(gss.starts_with("--rfc2136-gss-tsig: GSS-TSIG (Kerberos, RFC 3645) is not supported"), "{gss}");
        let bad_secret = err(&[KEY[0], "--rfc2136-tsig-secret=not*base64!", KEY[2]]);
        assert!(
            bad_secret.starts_with("--rfc2136-tsig-secret: the secret is not base64")
                && !bad_secret.contains("not*base64")
        );
        let insecure = build(&[&base[..], &["--rfc2136-insecure"]].concat()).unwrap();
        assert!(insecure.tsig.is_none() && !insecure.axfr);
        assert!(
            build(&["--rfc2136-zone=example.test", "--rfc2136-insecure"]).is_ok(),
            "hosts are checked by the provider"
        );
        let no_host = Rfc2136Provider::new(build(&["--rfc2136-zone=example.test", "--rfc2136-insecure"]).unwrap());
        assert!(no_host.unwrap_err().to_string().starts_with("--rfc2136-host"));
    }
}
