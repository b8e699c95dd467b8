//! `triggerx devnet`: the whole network in one process on a local anvil (see docs/devnet.md).
//!
//! - [`chain`]: the anvil it starts (or `--rpc`), the deployed contracts, registered keepers,
//!   and the checkpoint tying the data directory to its chain;
//! - [`network`]: the wiring of every role over the in-process transport;
//! - [`demo`]: the demo jobs and the driver that keeps them firing;
//! - [`progress`] and [`summary`]: what a person and a script see.

mod chain;
mod demo;
mod network;
mod progress;
mod summary;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use tracing_subscriber::EnvFilter;
use triggerx_core::store::{Store, sqlite::SqliteStore};

use self::{
    chain::{Chain, State},
    demo::DriveLog,
    network::Network,
    progress::Progress,
    summary::Settlements,
};

/// How long a performer has to report an execution before a backup is assigned: generous, so
/// a loaded machine does not reassign tasks that are merely slow.
const EXECUTION_TIMEOUT: Duration = Duration::from_secs(60);

/// What `triggerx devnet` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) rpc: Option<String>,
    pub(crate) ws: Option<String>,
    pub(crate) keepers: usize,
    pub(crate) block_time: Duration,
    pub(crate) data_dir: PathBuf,
    pub(crate) reset: bool,
    pub(crate) demo: bool,
    pub(crate) exit_after: Option<Duration>,
    pub(crate) drain: Duration,
    pub(crate) summary: Option<PathBuf>,
    pub(crate) baseline_polling: bool,
}

fn init_logs(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: piped output stays plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Opens (or, with `--reset`, recreates) the data directory's store.
fn open_store(options: &Options) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating {}", options.data_dir.display()))?;
    let path = options.data_dir.join("triggerx.sqlite");
    if options.reset {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {p:?}")),
            }
        }
    }
    SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))
}

/// Sets up the chain: resumes the data directory's chain, or starts a new one.
async fn chain(options: &Options, state: Option<&State>) -> anyhow::Result<Chain> {
    match (&options.rpc, state) {
        (Some(rpc), state) => {
            let ws = options
                .ws
                .clone()
                .unwrap_or_else(|| rpc.replacen("http", "ws", 1));
            match state {
                Some(s) => {
                    if s.keepers != options.keepers {
                        tracing::warn!(
                            recorded = s.keepers,
                            asked = options.keepers,
                            "resuming with the data directory's keepers"
                        );
                    }
                    Chain::resume(rpc, &ws, s).await
                }
                None => Chain::deploy_at(rpc, &ws, options.keepers).await,
            }
        }
        (None, Some(s)) => bail!(
            "{}",
            chain::mismatch_new_anvil(s, &options.data_dir.display().to_string())
        ),
        (None, None) => Chain::start(options.block_time, options.keepers).await,
    }
}

/// Runs the devnet until Ctrl-C or `--exit-after`, then writes the summary.
pub(crate) async fn run(options: Options) -> anyhow::Result<()> {
    let mut progress = Progress::new();
    init_logs(progress.is_terminal());
    let store: Arc<dyn Store> = Arc::new(open_store(&options)?);
    let state = State::load(store.as_ref())?;
    let chain = Arc::new(chain(&options, state.as_ref()).await?);
    let mut demo_jobs = state.as_ref().and_then(|s| s.demo);
    chain.state(demo_jobs).save(store.as_ref())?;
    tracing::info!(
        rpc = %chain.endpoint,
        chain_id = chain.chain_id,
        task_hub = %chain.contracts.task_hub,
        resumed = state.is_some(),
        "chain ready"
    );
    if options.demo && demo_jobs.is_none() {
        let jobs = demo::create(&chain, store.as_ref())
            .await
            .context("creating the demo jobs")?;
        demo_jobs = Some(jobs);
        chain.state(demo_jobs).save(store.as_ref())?;
        tracing::info!(?jobs, "demo jobs created");
    }
    let mut network = Network::start(
        &chain,
        store.clone(),
        EXECUTION_TIMEOUT,
        options.baseline_polling,
    )
    .await?;
    let log = DriveLog::load(store.clone())?;
    let mut drivers = Vec::new();
    let (stop_drive, drive_rx) = tokio::sync::watch::channel(false);
    if options.demo {
        let bt = options.block_time.max(Duration::from_millis(200));
        drivers.push(tokio::spawn(demo::mint_loop(
            chain.clone(),
            log.clone(),
            bt * 3,
            drive_rx.clone(),
        )));
        drivers.push(tokio::spawn(demo::price_loop(
            chain.clone(),
            log.clone(),
            bt * 8,
            drive_rx,
        )));
    }

    let mut settlements = Settlements::default();
    let deadline = options.exit_after.map(|d| tokio::time::Instant::now() + d);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let interrupted = loop {
        tokio::select! {
            _ = &mut ctrl_c => break true,
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => break false,
            _ = ticker.tick() => {
                if let Err(e) = progress.tick(&chain, store.as_ref(), &mut settlements).await {
                    tracing::warn!(error = %e, "progress");
                }
            }
        }
    };

    // The driver stops first and the engines a few blocks later, so that every mint and price
    // move it made is seen by them.
    let _ = stop_drive.send(true);
    for d in drivers {
        let _ = tokio::time::timeout(Duration::from_secs(10), d).await;
    }
    if !interrupted && options.demo {
        let until = tokio::time::Instant::now() + options.block_time * 3 + Duration::from_secs(1);
        while tokio::time::Instant::now() < until {
            ticker.tick().await;
            let _ = progress
                .tick(&chain, store.as_ref(), &mut settlements)
                .await;
        }
    }
    network.stop_triggers().await;
    if !interrupted {
        // Let what was triggered settle, so the summary shows finished tasks.
        tracing::info!(drain = ?options.drain, "triggers stopped; waiting for tasks to settle");
        let until = tokio::time::Instant::now() + options.drain;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        while tokio::time::Instant::now() < until && open_tasks(store.as_ref())? > 0 {
            tokio::select! {
                _ = &mut ctrl_c => break,
                _ = ticker.tick() => {
                    let _ = progress.tick(&chain, store.as_ref(), &mut settlements).await;
                }
            }
        }
    }
    let _ = progress
        .tick(&chain, store.as_ref(), &mut settlements)
        .await;
    let aggregator = network.aggregator.stats();
    network.stop().await;
    tracing::info!(?aggregator, "stopped");
    if let Some(path) = &options.summary {
        let summary = summary::build(&chain, store.as_ref(), &mut settlements, log.entries())
            .await
            .context("building the summary")?;
        let json = serde_json::to_vec_pretty(&summary)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        println!("summary written to {}", path.display());
    }
    println!(
        "stopped; the data directory {} resumes with --rpc {} while that chain runs",
        options.data_dir.display(),
        chain.endpoint
    );
    Ok(())
}

/// Tasks not in a final state.
fn open_tasks(store: &dyn Store) -> anyhow::Result<u64> {
    Ok(store
        .count_tasks_by_status()?
        .into_iter()
        .filter(|(s, _)| !s.is_final())
        .map(|(_, n)| n)
        .sum())
}
