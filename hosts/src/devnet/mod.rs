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
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;
use triggerx_core::store::{Store, sqlite::SqliteStore};

use self::{
    chain::{Chain, State},
    demo::DriveLog,
    network::Network,
    progress::Progress,
    summary::Settlements,
};

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
    /// How long a performer has to report an execution before a backup is assigned.
    pub(crate) execution_timeout: Duration,
    /// The fault drill: kill one keeper this long after the start.
    pub(crate) kill_keeper_after: Option<Duration>,
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

/// Opens (or, with `--reset`, recreates) the data directory's store; `--reset` also deletes the
/// chain the devnet's own anvil kept there.
fn open_store(options: &Options) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating {}", options.data_dir.display()))?;
    let path = options.data_dir.join("triggerx.sqlite");
    if options.reset {
        let store_files = ["", "-wal", "-shm"].map(|suffix| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            PathBuf::from(p)
        });
        for p in store_files
            .iter()
            .chain(&chain::anvil_files(&options.data_dir))
        {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
            }
        }
    }
    SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))
}

/// Sets up the chain: resumes the data directory's chain, or starts a new one.
async fn chain(
    options: &Options,
    state: Option<&State>,
    store: &dyn Store,
) -> anyhow::Result<Chain> {
    if let Some(s) = state
        && s.keepers != options.keepers
    {
        tracing::warn!(
            recorded = s.keepers,
            asked = options.keepers,
            "resuming with the data directory's keepers"
        );
    }
    let data_dir = &options.data_dir;
    match (&options.rpc, state) {
        (Some(rpc), state) => {
            let ws = options
                .ws
                .clone()
                .unwrap_or_else(|| rpc.replacen("http", "ws", 1));
            match state {
                Some(s) => Chain::resume(rpc, &ws, s, store).await,
                None => Chain::deploy_at(rpc, &ws, options.keepers).await,
            }
        }
        (None, Some(s)) if s.own_anvil => {
            Chain::resume_own(options.block_time, data_dir, s, store).await
        }
        (None, Some(s)) => bail!(
            "{}",
            chain::mismatch_own_anvil(s, &data_dir.display().to_string())
        ),
        (None, None) => Chain::start(options.block_time, options.keepers, data_dir).await,
    }
}

/// SIGINT (Ctrl-C) and SIGTERM.
struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    /// Completes on the next SIGINT or SIGTERM.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Runs the devnet until Ctrl-C (SIGINT), SIGTERM or `--exit-after`, then shuts down in order
/// and writes the summary. A second signal during the shutdown skips the waits.
pub(crate) async fn run(options: Options) -> anyhow::Result<()> {
    let mut progress = Progress::new();
    init_logs(progress.is_terminal());
    let mut signals = Signals::new()?;
    let store: Arc<dyn Store> = Arc::new(open_store(&options)?);
    let state = State::load(store.as_ref())?;
    // A signal while the chain is set up abandons it (an anvil already started is stopped
    // gracefully when dropped).
    let chain = tokio::select! {
        chain = chain(&options, state.as_ref(), store.as_ref()) => Arc::new(chain?),
        () = signals.recv() => bail!("interrupted while setting up the chain"),
    };
    let result = run_on(
        &options,
        &chain,
        store.clone(),
        state,
        &mut progress,
        &mut signals,
    )
    .await;
    // Whatever happened, the devnet's own anvil is stopped gracefully: it writes the chain.
    let stopped = chain.stop(&options.data_dir).await;
    result?;
    stopped?;
    if options.rpc.is_none() {
        println!(
            "stopped; the chain is kept in {}: the same command resumes it (--reset starts over)",
            options.data_dir.display()
        );
    } else {
        println!(
            "stopped; the data directory {} resumes with --rpc {} while that chain runs",
            options.data_dir.display(),
            chain.endpoint
        );
    }
    Ok(())
}

/// Runs the network on `chain` until a signal or `--exit-after`, then stops it and writes the
/// summary.
async fn run_on(
    options: &Options,
    chain: &Arc<Chain>,
    store: Arc<dyn Store>,
    state: Option<State>,
    progress: &mut Progress,
    signals: &mut Signals,
) -> anyhow::Result<()> {
    let mut demo_jobs = state.as_ref().and_then(|s| s.demo);
    chain.state(demo_jobs).save(store.as_ref())?;
    chain.record_head(store.as_ref()).await?;
    tracing::info!(
        rpc = %chain.endpoint,
        chain_id = chain.chain_id,
        task_hub = %chain.contracts.task_hub,
        resumed = state.is_some(),
        "chain ready"
    );
    if options.demo && demo_jobs.is_none() {
        let jobs = demo::create(chain, store.as_ref())
            .await
            .context("creating the demo jobs")?;
        demo_jobs = Some(jobs);
        chain.state(demo_jobs).save(store.as_ref())?;
        tracing::info!(?jobs, "demo jobs created");
    }
    let start = Network::start(
        chain,
        store.clone(),
        options.execution_timeout,
        options.baseline_polling,
    );
    let mut network = tokio::select! {
        network = start => network?,
        () = signals.recv() => bail!("interrupted while starting the network"),
    };
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
    let started = tokio::time::Instant::now();
    let deadline = options.exit_after.map(|d| started + d);
    let mut kill_at = options.kill_keeper_after.map(|d| started + d);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let tick = async |progress: &mut Progress, settlements: &mut Settlements| {
        if let Err(e) = progress.tick(chain, store.as_ref(), settlements).await {
            tracing::warn!(error = %e, "progress");
        }
        if let Err(e) = chain.record_head(store.as_ref()).await {
            tracing::warn!(error = %e, "recording the head");
        }
    };
    let signalled = loop {
        tokio::select! {
            () = signals.recv() => break true,
            () = until(deadline) => break false,
            () = until(kill_at) => {
                kill_at = None;
                if let Err(e) = fault_drill(chain, store.as_ref(), demo_jobs.as_ref(), &mut network) {
                    tracing::error!(error = %e, "fault drill");
                }
            }
            _ = ticker.tick() => tick(progress, &mut settlements).await,
        }
    };
    if signalled {
        tracing::info!("signal received: stopping (a second signal stops at once)");
    }

    // The driver stops first and the engines a few blocks later, so that every mint and price
    // move it made is seen by them; then what was triggered may settle, so that nothing is left
    // in flight (the summary shows finished tasks, and a resumed run starts clean). A second
    // signal skips both waits: what is in flight then stays in the store as it is.
    let _ = stop_drive.send(true);
    for d in drivers {
        let _ = tokio::time::timeout(Duration::from_secs(10), d).await;
    }
    let mut hurry = false;
    if options.demo {
        let until = tokio::time::Instant::now() + options.block_time * 3 + Duration::from_secs(1);
        while tokio::time::Instant::now() < until && !hurry {
            tokio::select! {
                () = signals.recv() => hurry = true,
                _ = ticker.tick() => tick(progress, &mut settlements).await,
            }
        }
    }
    network.stop_triggers().await;
    if !hurry {
        tracing::info!(drain = ?options.drain, "triggers stopped; waiting for tasks to settle");
        let until = tokio::time::Instant::now() + options.drain;
        while tokio::time::Instant::now() < until && open_tasks(store.as_ref())? > 0 {
            tokio::select! {
                () = signals.recv() => break,
                _ = ticker.tick() => tick(progress, &mut settlements).await,
            }
        }
    }
    tick(progress, &mut settlements).await;
    let aggregator = network.aggregator.stats();
    network.stop().await;
    tracing::info!(?aggregator, open = open_tasks(store.as_ref())?, "stopped");
    if let Some(path) = &options.summary {
        let summary = summary::build(chain, store.as_ref(), &mut settlements, log.entries())
            .await
            .context("building the summary")?;
        let json = serde_json::to_vec_pretty(&summary)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        println!("summary written to {}", path.display());
    }
    Ok(())
}

/// How far ahead the fault drill looks for the victim's tasks: less than health's silence minus
/// the check-in interval, so that the killed keeper is still online (and selected) when they are
/// due.
const DRILL_WINDOW: Duration = Duration::from_secs(12);

/// The fault drill (`--kill-keeper-after`): kills one keeper at once, as a crash would. With
/// `--demo` the victim is the keeper selected for the next time-job instants (so backups have
/// tasks to take over); otherwise keeper 0.
fn fault_drill(
    chain: &Chain,
    store: &dyn Store,
    demo_jobs: Option<&demo::DemoJobs>,
    network: &mut Network,
) -> anyhow::Result<()> {
    // Instants due from 2 s on: not fired yet, so assigned after the kill.
    let from = triggerx_core::Timestamp::now().add_millis(2_000);
    let victim = match demo_jobs {
        Some(jobs) => demo::drill_victim(chain, store, jobs, from, DRILL_WINDOW)?,
        None => None,
    };
    let (index, tasks) = victim.map_or((0, Vec::new()), |v| (v.index, v.tasks));
    let Some(keeper) = network.kill_keeper(index) else {
        tracing::warn!(index, "fault drill: no such keeper");
        return Ok(());
    };
    let ids: Vec<String> = tasks.iter().map(|(id, _)| id.to_string()).collect();
    tracing::warn!(%keeper, ?ids, "fault drill: keeper killed");
    println!(
        "fault drill: keeper {keeper} killed; due to perform: {}",
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.join(" ")
        }
    );
    Ok(())
}

/// Completes at `at`, never when `None`.
async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
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
