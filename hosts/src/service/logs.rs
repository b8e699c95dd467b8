//! Structured logs to stderr: text or one JSON object per line (`log.format`), filtered by
//! `RUST_LOG` when it is set, else by `log.level`.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use super::config::{Log, LogFormat};

/// Installs the global subscriber (once per process).
pub(crate) fn init(config: &Log) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(&v).with_context(|| format!("RUST_LOG={v:?} is not a filter"))?
        }
        _ => EnvFilter::try_new(&config.level)
            .with_context(|| format!("log.level = {:?} is not a filter", config.level))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let r = match config.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    r.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}
