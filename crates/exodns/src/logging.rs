//! Logs as text or JSON on stderr, at upstream's level names.

use anyhow::{Context, bail};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Maps upstream's logrus levels onto tracing's; `panic` and `fatal` become `error`.
fn level(name: &str) -> anyhow::Result<&'static str> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "fatal" | "panic" => "error",
        other => bail!("--log-level: {other:?} is not one of trace, debug, info, warning, error, fatal, panic"),
    })
}

pub fn init(format: LogFormat, level_name: &str) -> anyhow::Result<()> {
    let level = level(level_name)?;
    // RUST_LOG, when set, refines per module (e.g. `exodns_pdns=debug`); the flag sets the base.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},hyper=warn,reqwest=warn,rustls=warn,h2=warn,tower=warn,kube=warn,kube_client::client::builder=off")))
        .context("log filter")?;
    // Colours only on a terminal: log files and collectors want plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    }
    .map_err(|e| anyhow::anyhow!("logging: {e}"))
}
