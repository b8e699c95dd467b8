//! Performer selection, dispatch and task tracking: the scheduler side of settlement.
//!
//! For each new task the [`Assigner`] picks the performer from the registered, online keepers
//! with [`select_performer`] (stake-weighted, deterministic from the task id and attempt, so
//! attesters can recompute it), moves the task `created → assigned` (compare-and-set), and
//! publishes a signed [`Assignment`] on [`topics::ASSIGNMENTS`]. It then tracks the task:
//!
//! - an [`ExecutionReport`] from a performer of the task moves it `assigned → executed`;
//! - no report before the assignment's deadline: the task is reassigned to a backup performer
//!   (earlier performers excluded) — the hub executes a task id at most once, so a late first
//!   performer and the backup cannot both execute it;
//! - after `max_attempts` assignments without a report, or when no keeper is available, the task
//!   ends `failed` with the reason;
//! - an executed task not settled (accepted/rejected by the aggregator) within `settle_timeout`
//!   ends `failed` with the reason (with a chain client, its report is first relayed from the
//!   chain once more and it gets a second `settle_timeout`).
//!
//! With a chain client ([`Assigner::with_chain`]) nothing executed on-chain is lost
//! ([`recovery`]): before reassigning a task whose deadline passed, and at start-up for tasks
//! left `assigned` or `executed`, the assigner asks the hub whether the task was executed. If it
//! was, it rebuilds the report from the hub's `TaskExecuted` log and the receipt and relays it
//! with the assignment as a [`RecoveredReport`] on [`topics::RECOVERED`]; the attesters check it
//! like any report and the task settles. Every assignment is also kept in the store's
//! checkpoints, so the attempt the attesters need survives a restart.
//!
//! Every transition is persisted through the store before anything is published.
//!
//! [`RecoveredReport`]: triggerx_core::protocol::RecoveredReport

pub mod recovery;

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy_primitives::Address;
use tokio::sync::mpsc;
use triggerx_core::{
    TaskId, Timestamp,
    chain::ChainClient,
    clock::Clock,
    protocol::{self, Assignment, topics},
    selection::{Candidate, select_performer},
    store::{KeeperFilter, Store, TaskFilter, TaskUpdate},
    transport::{Message, Transport},
    types::{ExecutionReport, Task, TaskStatus},
};

use crate::{Error, Result};

/// Assigner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The task hub performers execute through.
    pub hub: Address,
    /// How long a performer has to report an execution (default 30 s).
    pub execution_timeout: Duration,
    /// Most assignments of one task (default 3: the performer and two backups).
    pub max_attempts: u32,
    /// How long an executed task may wait for its verdict (default 5 min).
    pub settle_timeout: Duration,
    /// The first block searched for a task's `TaskExecuted` log when recovering a lost report
    /// (default 0; set it to the hub's deployment block on a long chain).
    pub recovery_from_block: u64,
}

impl Config {
    /// Defaults for a hub.
    pub fn new(hub: Address) -> Self {
        Self {
            hub,
            execution_timeout: Duration::from_secs(30),
            max_attempts: 3,
            settle_timeout: Duration::from_secs(300),
            recovery_from_block: 0,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Assignments published (first and backups).
    pub assigned: u64,
    /// Reassignments to a backup.
    pub reassigned: u64,
    /// Reports accepted (task moved to executed).
    pub executed: u64,
    /// Reports ignored: malformed, from a keeper that was never assigned, or late.
    pub reports_ignored: u64,
    /// Tasks that ended failed.
    pub failed: u64,
    /// Reports rebuilt from the chain and relayed (a task executed on-chain without its
    /// performer's report, or not attested before a restart).
    pub recovered: u64,
    /// Hub look-ups that failed (the task was then handled as if not executed).
    pub recovery_errors: u64,
    /// Tasks handed over again after they had moved on (already assigned by start-up
    /// recovery, or settled meanwhile): skipped.
    pub stale: u64,
}

#[derive(Debug, Default)]
struct Tracked {
    /// Every attempt published for the task, oldest first.
    assignments: Vec<Assignment>,
    deadline: Timestamp,
    /// Whether the settle deadline was already extended once by relaying the report again.
    relayed_again: bool,
}

impl Tracked {
    fn performers(&self) -> impl Iterator<Item = Address> + '_ {
        self.assignments.iter().map(|a| a.performer)
    }
}

/// The scheduler's dispatcher and task tracker; see the [module docs](self).
pub struct Assigner {
    store: Arc<dyn Store>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    config: Config,
    chain: Option<Arc<dyn ChainClient>>,
    tracked: HashMap<TaskId, Tracked>,
    stats: Stats,
}

impl std::fmt::Debug for Assigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assigner")
            .field("tracked", &self.tracked.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Assigner {
    /// An assigner publishing through `transport`.
    pub fn new(
        store: Arc<dyn Store>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Self {
        Self {
            store,
            transport,
            clock,
            config,
            chain: None,
            tracked: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// Reads the hub through `client` to recover executions whose report was lost (see the
    /// [module docs](self)). Without it, such a task is reassigned and ends `failed`.
    pub fn with_chain(mut self, client: Arc<dyn ChainClient>) -> Self {
        self.chain = Some(client);
        self
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The current candidates: registered, online keepers with voting power.
    fn candidates(&self) -> Result<Vec<Candidate>> {
        Ok(self
            .store
            .list_keepers(&KeeperFilter::SELECTABLE)?
            .into_iter()
            .map(|k| Candidate {
                address: k.address,
                power: k.voting_power,
            })
            .collect())
    }

    /// Picks up tasks left `created` or `assigned` by a previous run, so nothing is lost.
    pub async fn recover(&mut self) -> Result<usize> {
        let mut n = 0;
        for status in [
            TaskStatus::Created,
            TaskStatus::Assigned,
            TaskStatus::Executed,
        ] {
            let mut filter = TaskFilter {
                status: Some(status),
                limit: Some(500),
                ..Default::default()
            };
            loop {
                let page = self.store.list_tasks(&filter)?;
                for task in page.items {
                    n += 1;
                    match status {
                        TaskStatus::Created => self.assign(task).await?,
                        // After a restart the old deadline is unknown, and the attesters may
                        // have lost the assignment and the report: ask the chain first.
                        _ => self.resume(task).await?,
                    }
                }
                match page.next {
                    Some(next) => filter.after = Some(next),
                    None => break,
                }
            }
        }
        Ok(n)
    }

    /// Assigns a new task (state `created`) and publishes the assignment.
    pub async fn assign(&mut self, task: Task) -> Result<()> {
        self.assign_attempt(task, Vec::new()).await
    }

    async fn assign_attempt(&mut self, task: Task, excluded: Vec<Address>) -> Result<()> {
        let now = self.clock.now();
        let attempt = task.attempts;
        let candidates = self.candidates()?;
        let Some(performer) = select_performer(task.id, attempt, &candidates, &excluded) else {
            return self.fail(
                task.id,
                task.status,
                "no registered, online keeper can perform it",
            );
        };
        let Some(job) = self.store.get_job(task.job_id)? else {
            return self.fail(task.id, task.status, "its job no longer exists");
        };
        let stored = match self.store.transition_task(
            task.id,
            task.status,
            &TaskUpdate::assign(performer, now),
        ) {
            Ok(stored) => stored,
            // The task moved on since it was handed over: an engine's task that start-up
            // recovery already assigned, or one settled meanwhile. Nothing to do.
            Err(triggerx_core::Error::Conflict { .. }) => {
                self.stats.stale += 1;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let deadline = now.add_millis(ms(self.config.execution_timeout));
        let assignment = Assignment {
            task: stored,
            job,
            attempt,
            performer,
            candidates,
            excluded,
            hub: self.config.hub,
            deadline,
        };
        let tracked = self.tracked.entry(task.id).or_default();
        tracked.assignments.push(assignment.clone());
        tracked.deadline = deadline;
        recovery::persist(self.store.as_ref(), task.id, &tracked.assignments)?;
        self.transport
            .publish(topics::ASSIGNMENTS, protocol::encode(&assignment))
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        self.stats.assigned += 1;
        if attempt > 0 {
            self.stats.reassigned += 1;
        }
        Ok(())
    }

    fn fail(&mut self, id: TaskId, from: TaskStatus, reason: &str) -> Result<()> {
        let mut update = TaskUpdate::new(TaskStatus::Failed, self.clock.now());
        update.error = Some(reason.to_owned());
        match self.store.transition_task(id, from, &update) {
            Ok(_) => {
                self.stats.failed += 1;
                self.forget(id)
            }
            // Settled or changed meanwhile: nothing to fail.
            Err(triggerx_core::Error::Conflict { .. }) => self.forget(id),
            Err(e) => Err(e.into()),
        }
    }

    /// Handles a message on [`topics::REPORTS`]: a report from one of the task's performers
    /// moves it to `executed`.
    pub fn on_report(&mut self, msg: &Message) -> Result<()> {
        let Some(report) = protocol::decode::<ExecutionReport>(&msg.payload) else {
            self.stats.reports_ignored += 1;
            return Ok(());
        };
        let known = self
            .tracked
            .get(&report.task_id)
            .is_some_and(|t| t.performers().any(|p| p == msg.sender));
        if !known || report.performer != msg.sender {
            self.stats.reports_ignored += 1;
            return Ok(());
        }
        match self.mark_executed(&report) {
            Ok(()) => {
                self.stats.executed += 1;
                Ok(())
            }
            Err(triggerx_core::Error::Conflict { .. }) => {
                self.stats.reports_ignored += 1;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the task `assigned → executed` with the report's performer and transaction, and
    /// gives it the settle deadline.
    fn mark_executed(&mut self, report: &ExecutionReport) -> triggerx_core::Result<()> {
        let update = TaskUpdate::new(TaskStatus::Executed, self.clock.now())
            .with_performer(report.performer)
            .with_execution(report.tx_hash, report.block_number);
        self.store
            .transition_task(report.task_id, TaskStatus::Assigned, &update)?;
        let deadline = self.clock.now().add_millis(ms(self.config.settle_timeout));
        self.tracked.entry(report.task_id).or_default().deadline = deadline;
        Ok(())
    }

    /// Reassigns or fails the tasks whose deadline has passed; forgets settled ones.
    pub async fn check_deadlines(&mut self) -> Result<()> {
        let now = self.clock.now();
        let due: Vec<TaskId> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(task) = self.store.get_task(id)? else {
                self.tracked.remove(&id);
                continue;
            };
            match task.status {
                // Executed on-chain, but the report never came: settle it from the chain.
                TaskStatus::Assigned if self.recover_execution(&task).await? => {}
                TaskStatus::Assigned if task.attempts < self.config.max_attempts => {
                    let excluded = self
                        .tracked
                        .get(&id)
                        .map(|t| t.performers().collect())
                        .unwrap_or_default();
                    self.assign_attempt(task, excluded).await?;
                }
                TaskStatus::Assigned => {
                    let reason = format!(
                        "no performer reported an execution after {} assignment(s)",
                        task.attempts
                    );
                    self.fail(id, TaskStatus::Assigned, &reason)?;
                }
                // Not settled in time: attesters may have restarted and lost the report. Relay it
                // from the chain once more (attesters that attested it skip the duplicate).
                TaskStatus::Executed | TaskStatus::Attested
                    if !self.tracked.get(&id).is_some_and(|t| t.relayed_again)
                        && self.recover_execution(&task).await? =>
                {
                    let deadline = self.clock.now().add_millis(ms(self.config.settle_timeout));
                    if let Some(t) = self.tracked.get_mut(&id) {
                        t.relayed_again = true;
                        t.deadline = deadline;
                    }
                }
                TaskStatus::Executed | TaskStatus::Attested => {
                    let reason = format!(
                        "not settled within {} s of its execution",
                        self.config.settle_timeout.as_secs()
                    );
                    self.fail(id, task.status, &reason)?;
                }
                _ => self.forget(id)?,
            }
        }
        Ok(())
    }

    /// Runs: assigns tasks from `tasks`, follows reports, checks deadlines every `tick`, until
    /// `shutdown` completes.
    pub async fn run(
        mut self,
        mut tasks: mpsc::Receiver<Task>,
        tick: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<Self> {
        let mut reports = self.transport.subscribe(topics::REPORTS, 1024);
        self.recover().await?;
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(self),
                Some(task) = tasks.recv() => self.assign(task).await?,
                Some(msg) = reports.recv() => self.on_report(&msg)?,
                _ = interval.tick() => self.check_deadlines().await?,
            }
        }
    }
}
