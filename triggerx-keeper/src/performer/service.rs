//! [`PerformerService`]: the performer role on the network. It follows the scheduler's
//! assignments, executes the ones addressed to this keeper through the task hub with the
//! transaction [`Engine`], and publishes a signed [`ExecutionReport`] for each execution.
//!
//! An assignment is acted on only when its verified sender is the configured scheduler, it
//! names this keeper, the deterministic selection recomputes to this keeper, and its deadline
//! has not passed. Each task is executed at most once by this keeper; the hub refuses a task id
//! that anyone already executed, which settles races with backup performers.

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy::primitives::{Address, keccak256};
use triggerx_core::{
    TaskId,
    chain::SpecRegistry,
    clock::Clock,
    protocol::{self, Assignment, topics},
    transport::Transport,
    types::ExecutionReport,
};

use super::{Engine, Error, Status, static_calldata};

/// How long a stopping service waits for the executions under way.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Assignments for this keeper that were executed and reported.
    pub executed: u64,
    /// Assignments ignored: malformed, not from the scheduler, for another keeper, invalid
    /// selection, past deadline, or already handled.
    pub ignored: u64,
    /// Executions that failed (reverted, refused by the hub, chain errors).
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    executed: AtomicU64,
    ignored: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ServiceStats {
        ServiceStats {
            executed: self.executed.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// A read-only handle on a [`PerformerService`]'s counters, usable while it runs.
#[derive(Debug, Clone)]
pub struct Monitor(Arc<Counters>);

impl Monitor {
    /// The current counters.
    pub fn stats(&self) -> ServiceStats {
        self.0.snapshot()
    }
}

/// The performer role; see the [module docs](self).
#[derive(Debug)]
pub struct PerformerService {
    engine: Engine,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    scheduler: Address,
    handled: HashSet<TaskId>,
    counters: Arc<Counters>,
    specs: Option<Arc<SpecRegistry>>,
}

impl PerformerService {
    /// A performer executing with `engine`, trusting assignments signed by `scheduler`.
    pub fn new(
        engine: Engine,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        scheduler: Address,
    ) -> Self {
        Self {
            engine,
            transport,
            clock,
            scheduler,
            handled: HashSet::new(),
            counters: Arc::default(),
            specs: None,
        }
    }

    /// Executes only jobs that match the spec hash their owner registered, as the attesters
    /// require: a scheduler that hands out a changed job costs this keeper no gas.
    pub fn with_spec_check(mut self, specs: Arc<SpecRegistry>) -> Self {
        self.specs = Some(specs);
        self
    }

    /// The counters.
    pub fn stats(&self) -> ServiceStats {
        self.counters.snapshot()
    }

    /// A handle on the counters that stays valid while the service runs.
    pub fn monitor(&self) -> Monitor {
        Monitor(Arc::clone(&self.counters))
    }

    /// Whether an assignment is one this keeper should execute now.
    fn accept(&self, sender: Address, a: &Assignment) -> bool {
        sender == self.scheduler
            && a.performer == self.engine.address()
            && a.selection_is_valid()
            && a.task.id == a.task.occurrence.task_id()
            && self.clock.now() < a.deadline
            && !self.handled.contains(&a.task.id)
    }

    /// Executes one assignment and publishes the report (waits for the receipt).
    pub async fn perform(&mut self, a: &Assignment) -> Result<ExecutionReport, Error> {
        self.handled.insert(a.task.id);
        perform(
            &self.engine,
            self.transport.as_ref(),
            self.clock.as_ref(),
            self.specs.as_deref(),
            a,
        )
        .await
    }

    /// Follows assignments until `shutdown` completes, then lets the executions under way
    /// finish (up to 30 s). Executions run as children of this future: dropping or
    /// aborting it (a crash) ends them too.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Self {
        let mut assignments = self.transport.subscribe(topics::ASSIGNMENTS, 1024);
        let mut executions = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    let drained = tokio::time::timeout(DRAIN, async {
                        while executions.join_next().await.is_some() {}
                    });
                    if drained.await.is_err() {
                        tracing::warn!(
                            left = executions.len(),
                            "executions still under way at shutdown are abandoned"
                        );
                    }
                    return self;
                }
                Some(_) = executions.join_next(), if !executions.is_empty() => {}
                msg = assignments.recv() => {
                    let Some(msg) = msg else { return self };
                    let Some(a) = protocol::decode::<Assignment>(&msg.payload) else {
                        self.counters.ignored.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    if !self.accept(msg.sender, &a) {
                        if a.performer == self.engine.address() {
                            self.counters.ignored.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    }
                    // Executions run concurrently; the engine pipelines their nonces.
                    self.handled.insert(a.task.id);
                    let (engine, transport, clock) =
                        (self.engine.clone(), self.transport.clone(), self.clock.clone());
                    let counters = self.counters.clone();
                    let specs = self.specs.clone();
                    executions.spawn(async move {
                        let specs = specs.as_deref();
                        match perform(&engine, transport.as_ref(), clock.as_ref(), specs, &a).await {
                            Ok(_) => counters.executed.fetch_add(1, Ordering::Relaxed),
                            Err(e) => {
                                tracing::warn!(task = %a.task.id, error = %e, "execution failed");
                                counters.failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    });
                }
            }
        }
    }
}

/// Executes one assignment through the hub and publishes its report.
async fn perform(
    engine: &Engine,
    transport: &dyn Transport,
    clock: &dyn Clock,
    specs: Option<&SpecRegistry>,
    a: &Assignment,
) -> Result<ExecutionReport, Error> {
    if let Some(specs) = specs
        && !specs.matches(&a.job).await?
    {
        return Err(Error::SpecMismatch(a.job.id));
    }
    let calldata = static_calldata(&a.job.action)?;
    let outcome = engine
        .execute_task(a.hub, a.task.id, a.job.id, &a.job.action)
        .await?;
    if let Status::Reverted { reason } = &outcome.status {
        return Err(Error::Unsupported(format!(
            "execution reverted on-chain: {reason}"
        )));
    }
    let report = report_for(a, engine.address(), &calldata, &outcome, clock.now());
    transport
        .publish(topics::REPORTS, protocol::encode(&report))
        .await
        .map_err(|e| Error::Unsupported(format!("publishing the report: {e}")))?;
    Ok(report)
}

/// The execution report for assignment `a` executed by `performer` with `calldata` in
/// `outcome`: [`protocol::report_from_receipt`], the function the scheduler also rebuilds lost
/// reports with (its receipt digest is the one the attester checks).
pub fn report_for(
    a: &Assignment,
    performer: Address,
    calldata: &[u8],
    outcome: &super::Outcome,
    at: triggerx_core::Timestamp,
) -> ExecutionReport {
    protocol::report_from_receipt(
        &a.task,
        performer,
        keccak256(calldata),
        &outcome.receipt,
        at,
    )
}
