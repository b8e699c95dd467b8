//! [`Aggregator`]: the collecting and settling state machine (no transport; see
//! [`AggregatorService`](super::AggregatorService) for that).

use std::{
    collections::{HashMap, VecDeque, hash_map::Entry},
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use alloy::primitives::{Address, B256, U256};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    clock::Clock,
    protocol::{Assignment, AttestationDomain, report_digest},
    store::{AsyncStore, Store},
    types::{Attestation, ExecutionReport, Verdict},
};

use super::{
    Admission, Config, Counters, Error, Result, SettledVerdict, StatsSnapshot,
    chain::{OnChain, Registry, Submitted},
    inc,
    record::{self, Bounded, Recorded},
    tally::{Decision, Tally, Vote},
};

/// Longest reject reason kept (reasons come from the network and are not signed).
const MAX_REASON: usize = 64;

#[derive(Debug)]
struct Open {
    tally: Tally,
    /// The performer every counted attestation names (signed); it never attests itself.
    performer: Address,
    /// Its voting power, excluded from the quorum's base.
    performer_power: U256,
    /// A call is settling this task right now.
    submitting: bool,
    /// A quorum was reached but settling did not finish (context missing, retryable failure):
    /// [`Aggregator::tick`] tries again.
    retry: bool,
}

#[derive(Debug)]
struct State {
    open: HashMap<TaskId, Open>,
    closed: Bounded<TaskId, ()>,
    /// Report digest → (task, performer).
    reports: Bounded<B256, (TaskId, Address)>,
    /// Task → (job, performer) of its latest assignment.
    assignments: Bounded<TaskId, (JobId, Address)>,
    /// Verdicts the store could not take yet.
    unrecorded: VecDeque<SettledVerdict>,
}

/// Collects attestations and settles each task once on the `KeeperRegistry`. Cheap to share
/// behind an `Arc`; every method takes `&self` and may be called concurrently.
#[derive(Debug)]
pub struct Aggregator {
    config: Config,
    domain: AttestationDomain,
    registry: Registry,
    store: AsyncStore,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    stats: Counters,
}

impl Aggregator {
    /// An aggregator settling on `config.registry`, recording verdicts in `store`, reading
    /// time from `clock` (timeouts and cache TTLs).
    pub fn new(config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Self> {
        let registry = Registry::new(&config)?;
        let state = State {
            open: HashMap::new(),
            closed: Bounded::new(config.max_closed_tasks),
            reports: Bounded::new(config.max_context),
            assignments: Bounded::new(config.max_context),
            unrecorded: VecDeque::new(),
        };
        Ok(Self {
            domain: AttestationDomain {
                chain_id: config.chain_id,
                registry: config.registry,
            },
            config,
            registry,
            store: AsyncStore::new(store),
            clock,
            state: Mutex::new(state),
            stats: Counters::default(),
        })
    }

    /// The signing domain attestations are verified in.
    pub fn domain(&self) -> AttestationDomain {
        self.domain
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.stats
    }

    /// Tasks being collected.
    pub fn open_tasks(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a report, so a verdict on its digest names its performer. Returns whether a
    /// quorum for that task was waiting for it (then call [`tick`](Self::tick)).
    pub fn observe_report(&self, report: &ExecutionReport) -> bool {
        let mut st = self.lock();
        st.reports
            .insert(report_digest(report), (report.task_id, report.performer));
        st.open.get(&report.task_id).is_some_and(|o| o.retry)
    }

    /// Remembers an assignment (its job and performer). Returns whether a quorum for that task
    /// was waiting for it.
    pub fn observe_assignment(&self, assignment: &Assignment) -> bool {
        let mut st = self.lock();
        let task = assignment.task.id;
        st.assignments
            .insert(task, (assignment.task.job_id, assignment.performer));
        st.open.get(&task).is_some_and(|o| o.retry)
    }

    /// Checks and counts one attestation; settles the task when it completes a quorum.
    ///
    /// Errors are RPC or store failures; the attestation is then not counted (for a failed
    /// settlement it is, and [`tick`](Self::tick) retries).
    pub async fn handle_attestation(&self, a: Attestation) -> Result<Admission> {
        inc(&self.stats.received);
        let task = a.task_id;
        if self.lock().closed.contains(&task) {
            inc(&self.stats.late);
            return Ok(Admission::Late);
        }
        // A performer never attests its own execution (the registry refuses that signature).
        if !self.domain.verify(&a) || a.attester == a.performer {
            inc(&self.stats.forged);
            tracing::debug!(%task, attester = %a.attester, "forged attestation dropped");
            return Ok(Admission::Forged);
        }
        let now = self.clock.now();
        let (power, total, performer_power) = match self.powers(a.attester, a.performer, now).await
        {
            Ok(p) => p,
            Err(e) => {
                inc(&self.stats.rpc_errors);
                return Err(e);
            }
        };
        if power.is_zero() {
            inc(&self.stats.unregistered);
            tracing::debug!(%task, attester = %a.attester, "attestation from an unregistered key dropped");
            return Ok(Admission::Unregistered);
        }
        let (approve, reason) = match a.verdict {
            Verdict::Approve => (true, None),
            Verdict::Reject { reason } => (false, Some(reason.chars().take(MAX_REASON).collect())),
        };
        let (first, decision) = {
            let mut st = self.lock();
            if st.closed.contains(&task) {
                inc(&self.stats.late);
                return Ok(Admission::Late);
            }
            let open_count = st.open.len();
            let open = match st.open.entry(task) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => {
                    if open_count >= self.config.max_open_tasks {
                        inc(&self.stats.overloaded);
                        return Ok(Admission::Overloaded);
                    }
                    v.insert(Open {
                        tally: Tally::new(now),
                        performer: a.performer,
                        performer_power,
                        submitting: false,
                        retry: false,
                    })
                }
            };
            if open.performer != a.performer {
                // Names another performer than the task's other attestations: not countable.
                inc(&self.stats.forged);
                return Ok(Admission::Forged);
            }
            let first = open.tally.len() == 0;
            match open.tally.add(
                a.attester,
                a.report_digest,
                approve,
                reason,
                power,
                a.signature,
            ) {
                Vote::Counted => inc(&self.stats.counted),
                Vote::Duplicate => {
                    inc(&self.stats.duplicates);
                    return Ok(Admission::Duplicate);
                }
                Vote::Equivocation => {
                    inc(&self.stats.equivocations);
                    tracing::warn!(%task, attester = %a.attester, "attester voted twice differently; first vote stands");
                    return Ok(Admission::Equivocation);
                }
            }
            if open.tally.impossible_since.is_none() && !open.tally.still_possible(total) {
                open.tally.impossible_since = Some(now);
            }
            let decision = if open.submitting {
                None
            } else {
                open.tally.decide(total)
            };
            if decision.is_some() {
                open.submitting = true;
            }
            (first, decision)
        };
        if first {
            self.mark_attested(task).await;
        }
        match decision {
            None => Ok(Admission::Counted),
            Some(d) => self.settle(task, d).await,
        }
    }

    /// The attester's power, the attesting total (all power minus the performer's), and the
    /// performer's power.
    async fn powers(
        &self,
        attester: Address,
        performer: Address,
        now: Timestamp,
    ) -> Result<(U256, U256, U256)> {
        let power = self
            .retrying(|| self.registry.voting_power(attester, now))
            .await?;
        if power.is_zero() {
            return Ok((power, U256::ZERO, U256::ZERO));
        }
        let total = self.retrying(|| self.registry.total_power(now)).await?;
        let performer_power = self
            .retrying(|| self.registry.voting_power(performer, now))
            .await?;
        Ok((
            power,
            total.saturating_sub(performer_power),
            performer_power,
        ))
    }

    /// Runs `f` again after retryable failures, up to [`Config::submit_attempts`] times with
    /// doubling backoff.
    async fn retrying<T, F, Fut>(&self, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let attempts = self.config.submit_attempts.max(1);
        let mut backoff = self.config.retry_backoff;
        let mut attempt = 1;
        loop {
            match f().await {
                Err(e) if e.is_retryable() && attempt < attempts => {
                    tracing::debug!(attempt, error = %e, "registry call failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Re-reads the voting power of everyone who voted on `task` and recounts its tally.
    async fn reprice(&self, task: TaskId) {
        self.registry.invalidate();
        let voters = self
            .lock()
            .open
            .get(&task)
            .map(|o| o.tally.voters())
            .unwrap_or_default();
        let now = self.clock.now();
        let mut powers = HashMap::new();
        for v in voters {
            match self.retrying(|| self.registry.voting_power(v, now)).await {
                Ok(p) => {
                    powers.insert(v, p);
                }
                Err(e) => {
                    inc(&self.stats.rpc_errors);
                    tracing::warn!(%task, voter = %v, error = %e, "re-reading voting power failed");
                }
            }
        }
        let performer = self.lock().open.get(&task).map(|o| o.performer);
        let performer_power = match performer {
            Some(p) => self
                .retrying(|| self.registry.voting_power(p, now))
                .await
                .ok(),
            None => None,
        };
        if let Some(o) = self.lock().open.get_mut(&task) {
            o.tally.reprice(&powers);
            if let Some(p) = performer_power {
                o.performer_power = p;
            }
        }
    }

    /// Settles a task whose tally reached `d`; the task is marked `submitting` by the caller.
    async fn settle(&self, task: TaskId, d: Decision) -> Result<Admission> {
        let outcome = self.try_settle(task, &d).await;
        if matches!(outcome, Err(Error::Refused { .. })) {
            // The registry counted differently (power changed, a signer was removed).
            self.reprice(task).await;
        }
        let mut st = self.lock();
        match outcome {
            Ok(Some(v)) => {
                st.open.remove(&task);
                st.closed.insert(task, ());
                Ok(Admission::Settled(v))
            }
            Ok(None) => {
                inc(&self.stats.deferred);
                if let Some(o) = st.open.get_mut(&task) {
                    o.submitting = false;
                    o.retry = true;
                }
                Ok(Admission::Deferred)
            }
            Err(e) => {
                inc(&self.stats.submit_failures);
                if let Some(o) = st.open.get_mut(&task) {
                    o.submitting = false;
                    o.retry = true;
                }
                tracing::warn!(%task, error = %e, "settling failed; will retry");
                Err(e)
            }
        }
    }

    /// `Ok(None)` when `jobId` or `performer` is not known yet.
    async fn try_settle(&self, task: TaskId, d: &Decision) -> Result<Option<SettledVerdict>> {
        let Some((job, known)) = self.context(task, d.report_digest).await? else {
            return Ok(None);
        };
        // The signatures name the performer; submit exactly that one.
        let performer = self.lock().open.get(&task).map_or(known, |o| o.performer);
        let submitted = self.submit_with_retries(task, job, performer, d).await?;
        let v = match submitted {
            Submitted::Ours { tx_hash } => {
                inc(&self.stats.verdicts_submitted);
                tracing::info!(%task, approve = d.approve, %tx_hash, power = %d.power, "verdict settled");
                SettledVerdict {
                    task_id: task,
                    approve: d.approve,
                    report_digest: d.report_digest,
                    tx_hash: Some(tx_hash),
                    reason: d.reason.clone(),
                    submitted_by_us: true,
                }
            }
            Submitted::Other(chain) => {
                let (approve, digest, tx_hash, sender) = match chain {
                    OnChain::Settled {
                        approve,
                        report_digest,
                        tx_hash,
                        sender,
                    } => (
                        approve,
                        report_digest.unwrap_or(d.report_digest),
                        tx_hash,
                        sender,
                    ),
                    OnChain::Open => (d.approve, d.report_digest, None, None),
                };
                let ours = sender == Some(self.config.signer.address());
                if ours {
                    inc(&self.stats.verdicts_submitted);
                } else {
                    inc(&self.stats.settled_by_others);
                }
                tracing::info!(%task, approve, ours, "task found settled on the registry");
                SettledVerdict {
                    task_id: task,
                    approve,
                    report_digest: digest,
                    tx_hash,
                    reason: (!approve).then(|| d.reason.clone()).flatten(),
                    submitted_by_us: ours,
                }
            }
        };
        self.record(v.clone()).await;
        Ok(Some(v))
    }

    /// Submits unless the task is already settled; every attempt first asks the registry, so
    /// a verdict whose receipt was lost is not sent twice.
    async fn submit_with_retries(
        &self,
        task: TaskId,
        job: JobId,
        performer: Address,
        d: &Decision,
    ) -> Result<Submitted> {
        self.retrying(|| async {
            match self.registry.settlement(task).await? {
                settled @ OnChain::Settled { .. } => Ok(Submitted::Other(settled)),
                OnChain::Open => {
                    self.registry
                        .submit(
                            task,
                            job,
                            performer,
                            d.report_digest,
                            d.approve,
                            d.signatures.clone(),
                        )
                        .await
                }
            }
        })
        .await
    }

    /// The `jobId` and `performer` to submit with.
    async fn context(&self, task: TaskId, digest: B256) -> Result<Option<(JobId, Address)>> {
        let (reported, assigned) = {
            let st = self.lock();
            let reported = st
                .reports
                .get(&digest)
                .filter(|(t, _)| *t == task)
                .map(|(_, p)| *p);
            (reported, st.assignments.get(&task).copied())
        };
        let stored = self.store.get_task(task).await?;
        let job = stored.as_ref().map(|t| t.job_id).or(assigned.map(|a| a.0));
        let performer = reported
            .or(assigned.map(|a| a.1))
            .or(stored.and_then(|t| t.performer));
        Ok(job.zip(performer))
    }

    async fn mark_attested(&self, task: TaskId) {
        let now = self.clock.now();
        if let Err(e) = self
            .store
            .run(move |s| record::mark_attested(s, task, now))
            .await
        {
            inc(&self.stats.record_failures);
            tracing::warn!(%task, error = %e, "could not mark task attested");
        }
    }

    /// Records a verdict in the store; queues it for [`tick`](Self::tick) when the store cannot
    /// take it yet.
    async fn record(&self, v: SettledVerdict) {
        let now = self.clock.now();
        let task = v.task_id;
        let vv = v.clone();
        let outcome = self.store.run(move |s| record::record(s, &vv, now)).await;
        let requeue = match outcome {
            Ok(Recorded::Now) => {
                inc(&self.stats.recorded);
                false
            }
            Ok(Recorded::Already) => false,
            Ok(Recorded::Unknown) => {
                inc(&self.stats.record_failures);
                tracing::warn!(%task, "settled task is not in the store");
                false
            }
            Ok(Recorded::Conflicting(status)) => {
                inc(&self.stats.record_failures);
                tracing::warn!(%task, status = status.as_str(), approve = v.approve, "settled task ended otherwise in the store");
                false
            }
            Ok(Recorded::NotYet(_)) => true,
            Err(e) => {
                inc(&self.stats.record_failures);
                tracing::warn!(%task, error = %e, "recording the verdict failed");
                e.is_retryable()
            }
        };
        if requeue {
            let mut st = self.lock();
            if st.unrecorded.len() >= self.config.max_context {
                st.unrecorded.pop_front();
            }
            st.unrecorded.push_back(v);
        }
    }

    /// Housekeeping, to call periodically: gives up tasks past their timeouts, retries quorums
    /// whose settlement is pending, and retries verdicts the store could not take. Returns the
    /// verdicts settled by this call.
    pub async fn tick(&self) -> Vec<SettledVerdict> {
        let now = self.clock.now();
        let total = match self.registry.total_power(now).await {
            Ok(t) => Some(t),
            Err(e) => {
                inc(&self.stats.rpc_errors);
                tracing::warn!(error = %e, "reading total voting power failed");
                None
            }
        };
        let elapsed = |since: Timestamp, limit: Duration| {
            let limit = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
            now.as_millis().saturating_sub(since.as_millis()) >= limit
        };
        let mut ready = Vec::new();
        let unrecorded = {
            let mut st = self.lock();
            let mut closed = Vec::new();
            for (task, open) in &mut st.open {
                if open.submitting {
                    continue;
                }
                let total = total.map(|t| t.saturating_sub(open.performer_power));
                if let Some(total) = total
                    && open.tally.impossible_since.is_none()
                    && !open.tally.still_possible(total)
                {
                    open.tally.impossible_since = Some(now);
                }
                if elapsed(open.tally.opened_at, self.config.collect_timeout) {
                    inc(&self.stats.expired);
                    closed.push(*task);
                } else if open
                    .tally
                    .impossible_since
                    .is_some_and(|s| elapsed(s, self.config.linger_after_impossible))
                {
                    inc(&self.stats.abandoned);
                    closed.push(*task);
                } else if open.retry
                    && let Some(d) = total.and_then(|t| open.tally.decide(t))
                {
                    open.submitting = true;
                    ready.push((*task, d));
                }
            }
            for task in closed {
                tracing::info!(%task, "no verdict; task given up");
                st.open.remove(&task);
                st.closed.insert(task, ());
            }
            std::mem::take(&mut st.unrecorded)
        };
        for v in unrecorded {
            self.record(v).await;
        }
        let mut settled = Vec::new();
        for (task, d) in ready {
            if let Ok(Admission::Settled(v)) = self.settle(task, d).await {
                settled.push(v);
            }
        }
        settled
    }
}
