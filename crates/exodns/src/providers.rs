//! The list of providers: the one place in exodns that names them. `--provider`'s values, its
//! help, the flags of every provider, `exodns webhook` and the error messages come from here.
//!
//! Adding a provider: a crate with a `ProviderKind` (its `INFO`, its clap `Args` with upstream's
//! flag names, its `build`), and one line in the list below. A kind that shares the flags of
//! another (upstream's `azure-dns` and `azure-private-dns` read the `--azure-*` flags of `azure`)
//! goes after the `;`, naming the field of the kind whose flags it reads.

use std::sync::Arc;

use clap::builder::PossibleValue;
use exodns_provider::{BuildError, Provider, ProviderContext, ProviderInfo, ProviderKind};

macro_rules! providers {
    (
        $($variant:ident($field:ident) => $kind:ty,)+
        // Kinds that read the flags of a kind above (upstream's aliases and siblings).
        $(; $($svariant:ident($sfield:ident) => $skind:ty,)+)?
    ) => {
        /// A `--provider` value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProviderName {
            $($variant,)+
            $($($svariant,)+)?
        }

        impl ProviderName {
            /// Every provider, in the order of `--help`.
            pub const ALL: &[ProviderName] = &[$(ProviderName::$variant,)+ $($(ProviderName::$svariant,)+)?];

            pub fn info(self) -> &'static ProviderInfo {
                match self {
                    $(ProviderName::$variant => &<$kind as ProviderKind>::INFO,)+
                    $($(ProviderName::$svariant => &<$skind as ProviderKind>::INFO,)+)?
                }
            }
        }

        /// The flags of every provider, flattened into the command line.
        #[derive(Debug, Clone, clap::Args)]
        pub struct ProviderFlags {
            $(
                #[command(flatten)]
                pub $field: <$kind as ProviderKind>::Args,
            )+
        }

        /// Builds the provider `name` from its flags.
        pub async fn build(
            name: ProviderName,
            flags: &ProviderFlags,
            ctx: &ProviderContext,
        ) -> Result<Arc<dyn Provider>, BuildError> {
            match name {
                $(ProviderName::$variant => <$kind as ProviderKind>::build(&flags.$field, ctx).await,)+
                $($(ProviderName::$svariant => <$skind as ProviderKind>::build(&flags.$sfield, ctx).await,)+)?
            }
        }
    };
}

providers! {
    InMemory(inmemory) => exodns_provider::inmemory::InMemory,
    Pdns(pdns) => exodns_pdns::Pdns,
    Aws(aws) => exodns_aws::Aws,
    Rfc2136(rfc2136) => exodns_rfc2136::Rfc2136,
    Cloudflare(cloudflare) => exodns_cloudflare::Cloudflare,
    Hetzner(hetzner) => exodns_hetzner::Hetzner,
    Webhook(webhook) => exodns_webhook::Webhook,
    Google(google) => exodns_google::Google,
    Azure(azure) => exodns_azure::Azure,
    ;
    AzureDns(azure) => exodns_azure::AzureDns,
    AzurePrivateDns(azure) => exodns_azure::AzurePrivateDns,
}

impl ProviderName {
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The names, comma-separated, for messages.
    pub fn list(filter: impl Fn(&ProviderInfo) -> bool) -> String {
        Self::ALL.iter().map(|p| p.info()).filter(|i| filter(i)).map(|i| i.name).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for ProviderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl clap::ValueEnum for ProviderName {
    fn value_variants<'a>() -> &'a [Self] {
        Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let info = self.info();
        Some(PossibleValue::new(info.name).help(info.about))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    fn names() -> Vec<&'static str> {
        ProviderName::ALL.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn provider_accepts_exactly_the_listed_names() {
        for p in ProviderName::ALL {
            let cli = Cli::try_parse_from(["exodns", "--provider", p.name()]).unwrap();
            assert_eq!(cli.config.general.provider, Some(*p));
        }
        let err = Cli::try_parse_from(["exodns", "--provider", "route66"]).unwrap_err().to_string();
        for name in names() {
            assert!(err.contains(name), "the refusal lists {name}: {err}");
        }
        let help = Cli::command().render_long_help().to_string();
        for p in ProviderName::ALL {
            assert!(help.contains(p.name()) && help.contains(p.info().about), "--help names {p}");
        }
    }

    #[test]
    fn webhook_serves_every_servable_provider() {
        for p in ProviderName::ALL {
            let guard = crate::cmd_webhook::check_servable(Some(*p));
            assert_eq!(guard.is_ok(), p.info().servable, "{p}: {guard:?}");
            if let Err(e) = guard {
                let msg = e.to_string();
                for q in ProviderName::ALL.iter().filter(|q| q.info().servable) {
                    assert!(msg.contains(q.name()), "the refusal of {p} lists {q}: {msg}");
                }
            }
        }
        assert!(ProviderName::ALL.iter().any(|p| p.info().servable));
    }

    #[test]
    fn chart_schema_lists_the_same_providers() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/helm/exodns/values.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let listed: Vec<&str> = schema["$defs"]["providerName"]["enum"]
            .as_array()
            .expect("$defs.providerName.enum in the chart's values schema")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, names(), "values.schema.json's provider names follow ProviderName::ALL");
    }

    #[test]
    fn every_provider_flag_is_global_with_its_env_var() {
        let cmd = Cli::command();
        let provider_ids: Vec<String> = {
            let mut group = clap::Command::new("providers");
            group = <ProviderFlags as clap::Args>::augment_args(group);
            group.get_arguments().map(|a| a.get_id().to_string()).collect()
        };
        assert!(!provider_ids.is_empty());
        for arg in cmd.get_arguments().filter(|a| provider_ids.iter().any(|id| id == a.get_id())) {
            let long = arg.get_long().expect("provider flags are long flags");
            assert!(arg.is_global_set(), "--{long} is global, so `exodns plan` and `exodns webhook` take it");
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            let upstream = format!("EXTERNAL_DNS_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(env, upstream, "--{long} is also read from {upstream}");
        }
    }
}
