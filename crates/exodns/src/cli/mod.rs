//! Command line: upstream ExternalDNS's flag names, each also read from `EXTERNAL_DNS_<FLAG>`.
//!
//! List flags take the flag several times, or one env var with values on separate lines (as
//! upstream's kingpin does); domain lists also take commas, as upstream's filter does.

mod config;
#[cfg(test)]
mod upstream_flags;
mod webhook;

use clap::{Parser, Subcommand, ValueEnum};

pub use config::*;
pub use webhook::*;

#[derive(Debug, Parser)]
#[command(
    name = "exodns",
    version,
    about = "Keeps DNS in step with a Kubernetes cluster (ExternalDNS-compatible flags and records)",
    after_help = "Every flag can also be set as an env var: --txt-owner-id → EXTERNAL_DNS_TXT_OWNER_ID."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the changes exodns would make, without making them.
    Plan(PlanArgs),
    /// Serve --provider to ExternalDNS over the webhook protocol (upstream's --webhook-server).
    Webhook(WebhookArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// How to print the plan: a readable diff, or JSON in the webhook `Changes` shape.
    #[arg(long, value_enum, default_value_t = PlanOutput::Diff)]
    pub output: PlanOutput,
    /// Read the current records from this JSON file (an array of webhook `Endpoint`s, labels
    /// included, as the registry returns them) instead of asking the provider.
    #[arg(long, value_name = "FILE")]
    pub current_endpoints: Option<std::path::PathBuf>,
    /// Colour the diff: auto (on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    Diff,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
