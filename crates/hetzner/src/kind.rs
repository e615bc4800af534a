//! `--provider=hetzner`: its flags and environment variables (`HETZNER_TOKEN` or `HCLOUD_TOKEN`,
//! `HCLOUD_ENDPOINT`, as Hetzner's SDKs read them), and the constructor the binary lists.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use exodns_core::Secret;
use exodns_core::duration::parse_go_duration;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};
use url::Url;

use crate::provider::{HetznerConfig, HetznerProvider};

/// Hetzner DNS over the Hetzner Cloud API.
pub struct Hetzner;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Hetzner provider (credentials: HETZNER_TOKEN or HCLOUD_TOKEN)")]
pub struct HetznerArgs {
    /// Read the Hetzner Cloud API token from this file (a mounted Secret) instead of
    /// HETZNER_TOKEN / HCLOUD_TOKEN.
    #[arg(long, env = "EXTERNAL_DNS_HETZNER_TOKEN_FILE", global = true)]
    pub hetzner_token_file: Option<PathBuf>,
    /// Zones and rrsets listed per page.
    #[arg(long, env = "EXTERNAL_DNS_HETZNER_PAGE_SIZE", global = true, default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub hetzner_page_size: u32,
    /// Longest wait for one change (a Hetzner action) to finish; longer is reported as failed.
    #[arg(long, env = "EXTERNAL_DNS_HETZNER_ACTION_TIMEOUT", global = true, default_value = "60s",
          value_parser = parse_go_duration)]
    pub hetzner_action_timeout: Duration,
}

impl ProviderKind for Hetzner {
    const INFO: ProviderInfo = ProviderInfo::new("hetzner", "Hetzner DNS, over the Hetzner Cloud API");
    type Args = HetznerArgs;

    async fn build(args: &HetznerArgs, ctx: &ProviderContext) -> Result<Arc<dyn Provider>, BuildError> {
        Ok(Arc::new(provider(args, ctx, |k| std::env::var(k).ok())?))
    }
}

/// The token: the file of `--hetzner-token-file`, else `HETZNER_TOKEN`, else `HCLOUD_TOKEN`.
pub fn token(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Secret, BuildError> {
    let env = |k: &str| env(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let value = match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| BuildError::flag("hetzner-token-file", format!("{}: {e}", path.display())))?,
        None => env("HETZNER_TOKEN").or_else(|| env("HCLOUD_TOKEN")).unwrap_or_default(),
    };
    if value.is_empty() {
        return Err(BuildError::flag(
            "hetzner-token-file",
            "--provider=hetzner needs a Hetzner Cloud API token: HETZNER_TOKEN, HCLOUD_TOKEN or --hetzner-token-file",
        ));
    }
    Ok(Secret::new(value))
}

/// The provider of these flags and of the environment `env`, with nothing sent yet.
pub fn provider(
    args: &HetznerArgs,
    ctx: &ProviderContext,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HetznerProvider, BuildError> {
    let mut cfg = HetznerConfig::new(token(args.hetzner_token_file.as_deref(), &env)?);
    if let Some(raw) = env("HCLOUD_ENDPOINT").filter(|u| !u.trim().is_empty()) {
        let url = Url::parse(raw.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                BuildError::flag("hetzner-token-file", format!("HCLOUD_ENDPOINT {raw:?} is not an http(s) URL"))
            })?;
        cfg.endpoint = url;
    }
    cfg.domain_filter = ctx.domain_filter.clone();
    cfg.zone_id_filter = ctx.zone_id_filter.clone();
    cfg.dry_run = ctx.dry_run;
    cfg.page_size = args.hetzner_page_size;
    cfg.action_timeout = args.hetzner_action_timeout;
    HetznerProvider::new(cfg).map_err(|m| BuildError::flag("hetzner-token-file", m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_file_or_either_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(token(None, env(&[("HCLOUD_TOKEN", "h")])).unwrap().expose(), "h");
        assert_eq!(token(None, env(&[("HETZNER_TOKEN", "z"), ("HCLOUD_TOKEN", "h")])).unwrap().expose(), "z");
        let dir = std::env::temp_dir().join(format!("exodns-hz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t"), "file-token\n").unwrap();
        assert_eq!(token(Some(&dir.join("t")), env(&[])).unwrap().expose(), "file-token");
        let none = token(None, env(&[])).unwrap_err().to_string();
        assert!(none.contains("HETZNER_TOKEN") && none.contains("HCLOUD_TOKEN"), "{none}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
