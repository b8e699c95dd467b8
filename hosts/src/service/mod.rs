//! The per-service hosts (`triggerx keeper | scheduler | aggregator | registrar | health`):
//! each loads its [`config`], installs [`logs`], serves [`metrics`], starts ONE role over
//! libp2p with the same wiring functions the devnet uses (`crate::roles`), and on SIGINT or
//! SIGTERM stops it in order ([`shutdown`]). Hosts only parse, wire and run.

pub(crate) mod config;
mod host;
mod logs;
pub(crate) mod metrics;
pub(crate) mod run;
mod shutdown;

use std::{path::Path, process::ExitCode};

use self::{config::Config, host::Host, metrics::Metrics};

/// Exit code when the configuration is invalid.
const EXIT_CONFIG: u8 = 2;

/// One of the network's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Role {
    /// Performer, attester and check-in client under one key.
    Keeper,
    /// Trigger engines and the assigner.
    Scheduler,
    /// Collects attestations, settles verdicts on-chain.
    Aggregator,
    /// Follows the registry logs into the store.
    Registrar,
    /// Check-ins, online/offline, alerts.
    Health,
}

impl Role {
    /// The subcommand's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Keeper => "keeper",
            Self::Scheduler => "scheduler",
            Self::Aggregator => "aggregator",
            Self::Registrar => "registrar",
            Self::Health => "health",
        }
    }
}

/// Runs `role` with the configuration `file` (and the environment's overrides) until a
/// signal; exit code 0 after a graceful stop.
pub(crate) fn main(role: Role, file: Option<&Path>) -> ExitCode {
    let config = match Config::load(file, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(e) = run::check(role, &config) {
        eprintln!("error: {e:#}");
        return ExitCode::from(EXIT_CONFIG);
    }
    if let Err(e) = logs::init(&config.log) {
        eprintln!("error: {e:#}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "starting the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(role, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(
                service = role.name(),
                error = format!("{e:#}"),
                "service failed"
            );
            ExitCode::FAILURE
        }
    }
}

async fn serve(role: Role, config: Config) -> anyhow::Result<()> {
    // Handlers first, so a signal during start-up stops the service instead of killing it.
    let mut signal = tokio::spawn(shutdown::Signals::install()?.first());
    let metrics = Metrics::default();
    let version = env!("CARGO_PKG_VERSION");
    metrics.add(move |out| {
        out.push(
            "triggerx_service_info",
            "The service and its version (always 1)",
            metrics::Kind::Gauge,
            vec![
                ("service".into(), role.name().into()),
                ("version".into(), version.into()),
            ],
            1.0,
        );
    });
    let server = if config.metrics.enabled {
        let (addr, task) = metrics.serve(config.metrics.listen).await?;
        tracing::info!(%addr, "serving /metrics and /healthz");
        Some(task)
    } else {
        None
    };
    tracing::info!(service = role.name(), "starting");
    let started = async {
        let host = Host::connect(role, config, metrics).await?;
        let running = run::start(&host).await?;
        anyhow::Ok((host, running))
    };
    let (host, running) = tokio::select! {
        r = started => r?,
        s = &mut signal => {
            tracing::info!(signal = s?, "signal during start-up: exiting");
            return Ok(());
        }
    };
    tracing::info!(
        service = role.name(),
        chain_id = host.chain_id,
        "running; SIGINT or SIGTERM stops it"
    );
    let name = signal.await?;
    tracing::info!(signal = name, "stopping (a second signal exits at once)");
    running.stop().await;
    if let Some(s) = server {
        s.abort();
    }
    tracing::info!(service = role.name(), "stopped");
    Ok(())
}

/// A minimal HTTP/1.0 GET on 127.0.0.1 for tests: (status, body).
#[cfg(test)]
pub(crate) fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
