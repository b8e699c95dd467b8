//! Live progress: a compact status panel redrawn every second on a terminal, plain log lines
//! (one per task state change, and a status line every 10 s) otherwise.

use std::{
    collections::HashMap,
    fmt::Write as _,
    io::{IsTerminal, Write},
    time::Instant,
};

use alloy::{primitives::B256, providers::Provider};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    store::{KeeperFilter, Store},
    types::{Evidence, Task, TaskStatus},
};

use super::{
    chain::Chain,
    summary::{Settlements, all_jobs, tasks_newest_first},
};

/// The progress view.
#[derive(Debug)]
pub(crate) struct Progress {
    tty: bool,
    seen: HashMap<TaskId, TaskStatus>,
    started: Instant,
    ticks: u64,
}

fn short(h: B256) -> String {
    let s = h.to_string();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

/// A job's short label: its sequence number (the id's low 64 bits; the high bits are the chain
/// id and a registry prefix).
fn job_label(id: JobId) -> String {
    format!("#{}", id.0.as_limbs()[0])
}

fn clock(t: Timestamp) -> String {
    t.to_datetime().format("%H:%M:%S%.3f").to_string()
}

fn trigger_text(t: &Task) -> String {
    match &t.evidence {
        Evidence::Time { due } => format!("due {}", clock(*due)),
        Evidence::Event {
            block_number,
            tx_hash,
            ..
        } => format!("log #{block_number} {}", short(*tx_hash)),
        Evidence::Condition {
            sampled_at, value, ..
        } => format!("{value} at {}", clock(*sampled_at)),
    }
}

fn execution_text(t: &Task) -> String {
    match (t.block_number, t.tx_hash) {
        (Some(b), Some(h)) => format!("#{b} {}", short(h)),
        _ => "-".into(),
    }
}

fn settlement_text(t: &Task, settlements: &Settlements) -> String {
    match settlements.get(t.id.0) {
        Some(s) => format!(
            "{} #{} {}",
            if s.accepted { "accepted" } else { "rejected" },
            s.block,
            short(s.tx_hash)
        ),
        None => t.status.as_str().to_owned(),
    }
}

impl Progress {
    /// A view on stdout; a panel if stdout is a terminal.
    pub(crate) fn new() -> Self {
        Self {
            tty: std::io::stdout().is_terminal(),
            seen: HashMap::new(),
            started: Instant::now(),
            ticks: 0,
        }
    }

    /// Whether the panel is drawn (logs should then stay quiet).
    pub(crate) fn is_terminal(&self) -> bool {
        self.tty
    }

    /// Refreshes once.
    pub(crate) async fn tick(
        &mut self,
        chain: &Chain,
        store: &dyn Store,
        settlements: &mut Settlements,
    ) -> anyhow::Result<()> {
        self.ticks += 1;
        if let Err(e) = settlements.update(chain).await {
            tracing::debug!(error = %e, "reading settlements");
        }
        let head = chain.provider.get_block_number().await.unwrap_or_default();
        let tasks = tasks_newest_first(store)?;
        let jobs = all_jobs(store)?;
        let kinds: HashMap<_, _> = jobs.iter().map(|j| (j.id, j.kind().as_str())).collect();
        let kind = |t: &Task| kinds.get(&t.job_id).copied().unwrap_or("?");
        let keepers = store.list_keepers(&KeeperFilter::default())?;
        let online = keepers.iter().filter(|k| k.online).count();
        let states = store.count_tasks_by_status()?;
        let states_line = TaskStatus::ALL
            .iter()
            .map(|s| format!("{} {}", s.as_str(), states.get(s).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(" · ");
        let status_line = format!(
            "block #{head} · keepers online {online}/{} · jobs {} · tasks {}: {states_line}",
            keepers.len(),
            jobs.len(),
            tasks.len()
        );
        let mut out = std::io::stdout().lock();
        if self.tty {
            let mut panel = String::new();
            let _ = writeln!(
                panel,
                "\x1b[2J\x1b[HTriggerX devnet · chain {} at {} · up {} s (Ctrl-C stops)",
                chain.chain_id,
                chain.endpoint,
                self.started.elapsed().as_secs()
            );
            let _ = writeln!(panel, "{status_line}");
            for j in &jobs {
                let n = tasks.iter().filter(|t| t.job_id == j.id).count();
                let _ = writeln!(
                    panel,
                    "  job {:>4} {:<9} {:<7} {n:>3} tasks  {}",
                    job_label(j.id),
                    j.kind().as_str(),
                    j.status.as_str(),
                    j.title
                );
            }
            let _ = writeln!(panel, "last tasks: kind · trigger → execution → settlement");
            for t in tasks.iter().take(10) {
                let _ = writeln!(
                    panel,
                    "  {:<9} job {:>4}  {} → {} → {}",
                    kind(t),
                    job_label(t.job_id),
                    trigger_text(t),
                    execution_text(t),
                    settlement_text(t, settlements)
                );
            }
            let _ = out.write_all(panel.as_bytes());
        } else {
            for t in tasks.iter().rev() {
                if self.seen.get(&t.id) != Some(&t.status) {
                    self.seen.insert(t.id, t.status);
                    let _ = writeln!(
                        out,
                        "task {} job {} ({}) {}: {} → {} → {}",
                        short(t.id.0),
                        job_label(t.job_id),
                        kind(t),
                        t.status.as_str(),
                        trigger_text(t),
                        execution_text(t),
                        settlement_text(t, settlements)
                    );
                }
            }
            if self.ticks % 10 == 1 {
                let _ = writeln!(out, "status: {status_line}");
            }
        }
        let _ = out.flush();
        Ok(())
    }
}
