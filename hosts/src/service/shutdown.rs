//! Graceful shutdown: the first SIGINT or SIGTERM asks the service to stop in order; a second
//! one ends the process at once (exit code 130).

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Exit code after a forced (second-signal) exit.
pub(crate) const FORCED_EXIT: i32 = 130;

/// Installed SIGINT and SIGTERM handlers.
#[derive(Debug)]
pub(crate) struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    /// Installs the handlers now: from here on the signals no longer kill the process.
    pub(crate) fn install() -> anyhow::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// Waits for the first signal and returns its name; the next one exits the process.
    pub(crate) async fn first(mut self) -> &'static str {
        let name = self.next().await;
        tokio::spawn(async move {
            let name = self.next().await;
            tracing::warn!(signal = name, "second signal: exiting now");
            std::process::exit(FORCED_EXIT);
        });
        name
    }
}
