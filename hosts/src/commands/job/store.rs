//! `triggerx job list|pause|resume|delete`: the jobs of a network's SQLite store, read and
//! changed through the store's job API while the network runs (SQLite in WAL mode: the CLI and
//! the running devnet each wait for the other's write lock instead of failing).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use alloy::primitives::Address;
use clap::Args;
use triggerx_core::{
    Error as StoreError, JobId, Timestamp,
    store::{JobFilter, JobStore, sqlite::SqliteOptions, sqlite::SqliteStore},
    types::{Job, JobStatus, TriggerKind},
};

use super::super::{EXIT_INVALID, EXIT_USAGE};

/// The store file inside a devnet data directory.
pub(crate) const STORE_FILE: &str = "triggerx.sqlite";
/// How long a write waits for the other process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the store is: a devnet data directory, or the SQLite file itself.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The devnet's data directory (the store is its `triggerx.sqlite`).
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
    /// The SQLite store file itself, instead of `--data-dir`.
    #[arg(long, value_name = "PATH", conflicts_with = "data_dir")]
    pub(crate) store: Option<PathBuf>,
}

impl StoreArgs {
    /// The store file.
    pub(crate) fn path(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| self.data_dir.join(STORE_FILE))
    }

    /// Opens the existing store (a missing file is an error, not a new empty store).
    pub(crate) fn open(&self) -> Result<SqliteStore, ExitCode> {
        let path = self.path();
        if !path.is_file() {
            eprintln!(
                "error: no store at {} (start `triggerx devnet` first, or pass --data-dir or --store)",
                path.display()
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
        let options = SqliteOptions {
            busy_timeout: BUSY_TIMEOUT,
            ..SqliteOptions::default()
        };
        SqliteStore::open_with(&path, options).map_err(|e| {
            eprintln!("error: opening {}: {e}", path.display());
            ExitCode::from(EXIT_USAGE)
        })
    }
}

/// Runs `f`, again while it fails with a retryable (busy) error, a few times.
pub(crate) fn retrying<T>(
    mut f: impl FnMut() -> triggerx_core::Result<T>,
) -> triggerx_core::Result<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if e.is_retryable() && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            other => return other,
        }
    }
}

/// Arguments of `triggerx job list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only jobs in this state (active, paused, completed, expired, deleted).
    #[arg(long, value_parser = parse_status)]
    status: Option<JobStatus>,
    /// Only jobs with this trigger kind (time, event, condition).
    #[arg(long, value_parser = parse_kind)]
    kind: Option<TriggerKind>,
    /// Only jobs of this owner.
    #[arg(long, value_name = "ADDRESS")]
    owner: Option<Address>,
    /// At most this many jobs (ordered by id).
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Print one JSON document per job instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_status(s: &str) -> Result<JobStatus, String> {
    JobStatus::parse(s).ok_or_else(|| {
        let all: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status `{s}` (one of {})", all.join(", "))
    })
}

fn parse_kind(s: &str) -> Result<TriggerKind, String> {
    [
        TriggerKind::Time,
        TriggerKind::Event,
        TriggerKind::Condition,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
    .ok_or_else(|| format!("unknown kind `{s}` (one of time, event, condition)"))
}

/// `triggerx job list`.
pub(crate) fn list(args: &ListArgs) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let filter = JobFilter {
        owner: args.owner,
        status: args.status,
        kind: args.kind,
        limit: Some(args.limit.max(1)),
        ..JobFilter::default()
    };
    let page = match retrying(|| store.list_jobs(&filter)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: listing jobs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        page.items
            .iter()
            .try_for_each(|j| writeln!(out, "{}", serde_json::json!(j)))
    } else {
        write!(out, "{}", table(&page.items))
    };
    if written.is_err() {
        return ExitCode::from(EXIT_USAGE);
    }
    if page.next.is_some() {
        eprintln!("(more jobs match; raise --limit to see them)");
    }
    ExitCode::SUCCESS
}

/// The jobs as an aligned text table.
pub(crate) fn table(jobs: &[Job]) -> String {
    let header = ["ID", "STATUS", "KIND", "OWNER", "TITLE"].map(str::to_owned);
    let rows: Vec<[String; 5]> = jobs
        .iter()
        .map(|j| {
            [
                j.id.to_string(),
                j.status.as_str().to_owned(),
                j.kind().as_str().to_owned(),
                j.owner.to_string(),
                j.title.clone(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    if rows.is_empty() {
        s.push_str("(no jobs)\n");
    }
    s
}

/// Arguments of `triggerx job pause|resume|delete`.
#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The job id (decimal or 0x hex, as `job list` and `job create` print it).
    #[arg(value_name = "ID")]
    id: JobId,
    #[command(flatten)]
    store: StoreArgs,
}

/// A state change asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Pause,
    Resume,
    Delete,
}

impl Change {
    fn target(self) -> JobStatus {
        match self {
            Self::Pause => JobStatus::Paused,
            Self::Resume => JobStatus::Active,
            Self::Delete => JobStatus::Deleted,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Delete => "delete",
        }
    }
}

/// Why a change cannot be made, in words.
fn refusal(id: JobId, change: Change, status: JobStatus) -> String {
    let why = match (change, status) {
        (_, s) if s == change.target() => format!("it is already {}", s.as_str()),
        (Change::Pause, s) => format!("only an active job can be paused, and it is {}", s.as_str()),
        (Change::Resume, s) => {
            format!("only a paused job can be resumed, and it is {}", s.as_str())
        }
        (Change::Delete, s) => format!("it is {}", s.as_str()),
    };
    format!("cannot {} job {id}: {why}", change.verb())
}

/// Applies `change` to the job; the new job, or an error message and exit code.
pub(crate) fn apply(
    store: &dyn JobStore,
    path: &Path,
    id: JobId,
    change: Change,
) -> Result<(JobStatus, Job), (String, u8)> {
    let to = change.target();
    // A concurrent writer (the engines completing or expiring it) may move the job between the
    // read and the compare-and-set: read again and decide again.
    for _ in 0..5 {
        let job = retrying(|| store.get_job(id))
            .map_err(|e| (format!("reading job {id}: {e}"), 1))?
            .ok_or_else(|| (format!("no job {id} in {}", path.display()), EXIT_INVALID))?;
        let from = job.status;
        if from == to || !from.can_become(to) {
            return Err((refusal(id, change, from), EXIT_INVALID));
        }
        let now = Timestamp::now().max(job.updated_at);
        match retrying(|| store.set_job_status(id, from, to, now)) {
            Ok(job) => return Ok((from, job)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err((format!("cannot {} job {id}: {e}", change.verb()), 1)),
        }
    }
    Err((
        format!("job {id} keeps changing under the command; try again"),
        1,
    ))
}

/// `triggerx job pause|resume|delete`.
pub(crate) fn transition(args: &IdArgs, change: Change) -> ExitCode {
    let store = match args.store.open() {
        Ok(s) => s,
        Err(code) => return code,
    };
    match apply(&store, &args.store.path(), args.id, change) {
        Ok((from, job)) => {
            println!(
                "job {}: {} -> {}",
                job.id,
                from.as_str(),
                job.status.as_str()
            );
            ExitCode::SUCCESS
        }
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
