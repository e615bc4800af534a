//! exodns: keeps DNS in step with a Kubernetes cluster.

mod cli;
mod cmd_plan;
mod cmd_run;
mod cmd_webhook;
mod health;
mod logging;
mod output;
mod providers;
mod shutdown;
mod sources;
#[cfg(test)]
mod upstream_metrics;
#[cfg(test)]
mod upstream_module;
mod wiring;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(cli.config.general.log_format, &cli.config.general.log_level) {
        eprintln!("exodns: {e:#}");
        return std::process::ExitCode::from(2);
    }
    let result = match cli.command {
        Some(cli::Command::Plan(args)) => cmd_plan::run(&cli.config, &args).await,
        Some(cli::Command::Webhook(_)) => cmd_webhook::run(&cli.config).await,
        None if cli.config.providers.webhook.webhook_server => cmd_webhook::run(&cli.config).await,
        None => cmd_run::run(&cli.config).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
