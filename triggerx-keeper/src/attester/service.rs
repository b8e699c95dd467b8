//! [`AttesterService`]: the attester on the network — assignments and reports in, signed
//! attestations out.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, B256};
use tokio::{
    sync::{Notify, Semaphore, mpsc},
    task::JoinSet,
    time::Instant,
};
use triggerx_core::{
    TaskId,
    protocol::{self, Assignment, RejectReason, report_digest, topics},
    transport::{Message, Transport},
    types::{ExecutionReport, Verdict},
};

use super::{Attester, Error};

/// How the service buffers, waits and retries.
///
/// Defaults (see [`ServiceConfig::default`]): assignments of 4096 tasks cached (8 attempts
/// each), 4096 report digests remembered, queues of 1024 messages per topic, a report waits up
/// to 5 s for its assignment, 16 checks at once, and a check that could not read the chain (or
/// did not find the transaction yet) is tried 3 more times, 500 ms apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Tasks whose assignments are kept (oldest evicted first).
    pub assignment_capacity: usize,
    /// Attempts kept per task (the lowest evicted first).
    pub attempts_per_task: usize,
    /// Report digests remembered to ignore duplicates.
    pub seen_capacity: usize,
    /// Capacity of each subscription queue.
    pub queue_capacity: usize,
    /// How long a report waits for the assignment naming its performer.
    pub assignment_wait: Duration,
    /// Checks running at once.
    pub max_concurrent: usize,
    /// Checks running or waiting to run; beyond it the service stops reading reports until
    /// some finish (the subscription queue then fills and the transport counts `lagged`).
    pub max_pending: usize,
    /// Extra tries of a check after a retryable chain error or `tx_not_found`.
    pub check_retries: u32,
    /// Pause between tries.
    pub retry_delay: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            assignment_capacity: 4096,
            attempts_per_task: 8,
            seen_capacity: 4096,
            queue_capacity: 1024,
            assignment_wait: Duration::from_secs(5),
            max_concurrent: 16,
            max_pending: 1024,
            check_retries: 3,
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Counters of what the service did, as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Assignments from the scheduler accepted into the cache.
    pub assignments: u64,
    /// Assignments dropped: not sent by the configured scheduler.
    pub untrusted_assignments: u64,
    /// Assignments dropped: the payload did not decode.
    pub malformed_assignments: u64,
    /// Reports accepted for checking.
    pub reports: u64,
    /// Reports dropped: the payload did not decode.
    pub malformed_reports: u64,
    /// Reports dropped: the transport sender is not the report's performer.
    pub forged_reports: u64,
    /// Recovered reports (rebuilt from the chain, relayed by the scheduler) accepted for
    /// checking; they are counted in `reports` too.
    pub recovered_reports: u64,
    /// Recovered reports dropped: not relayed by the configured scheduler.
    pub untrusted_recovered: u64,
    /// Reports skipped: this keeper's own.
    pub own_reports: u64,
    /// Reports skipped: already seen (same report digest).
    pub duplicate_reports: u64,
    /// Reports rejected because no assignment for the task arrived in time.
    pub unknown_tasks: u64,
    /// Verdicts: approve.
    pub approved: u64,
    /// Verdicts: reject.
    pub rejected: u64,
    /// Checks abandoned because the chain could not be read (no attestation sent).
    pub check_errors: u64,
    /// Attestations published.
    pub published: u64,
    /// Attestations the transport refused.
    pub publish_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    assignments: AtomicU64,
    untrusted_assignments: AtomicU64,
    malformed_assignments: AtomicU64,
    reports: AtomicU64,
    malformed_reports: AtomicU64,
    forged_reports: AtomicU64,
    recovered_reports: AtomicU64,
    untrusted_recovered: AtomicU64,
    own_reports: AtomicU64,
    duplicate_reports: AtomicU64,
    unknown_tasks: AtomicU64,
    approved: AtomicU64,
    rejected: AtomicU64,
    check_errors: AtomicU64,
    published: AtomicU64,
    publish_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> Stats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            assignments: g(&self.assignments),
            untrusted_assignments: g(&self.untrusted_assignments),
            malformed_assignments: g(&self.malformed_assignments),
            reports: g(&self.reports),
            malformed_reports: g(&self.malformed_reports),
            forged_reports: g(&self.forged_reports),
            recovered_reports: g(&self.recovered_reports),
            untrusted_recovered: g(&self.untrusted_recovered),
            own_reports: g(&self.own_reports),
            duplicate_reports: g(&self.duplicate_reports),
            unknown_tasks: g(&self.unknown_tasks),
            approved: g(&self.approved),
            rejected: g(&self.rejected),
            check_errors: g(&self.check_errors),
            published: g(&self.published),
            publish_errors: g(&self.publish_errors),
        }
    }
}

/// A read-only handle on a service's counters, usable while it runs.
#[derive(Debug, Clone)]
pub struct Monitor(Arc<Shared>);

impl Monitor {
    /// The current counters.
    pub fn stats(&self) -> Stats {
        self.0.counters.snapshot()
    }
}

/// Assignments by task, bounded: the oldest task is evicted first.
#[derive(Debug)]
struct Cache {
    by_task: HashMap<TaskId, Vec<Assignment>>,
    order: VecDeque<TaskId>,
    capacity: usize,
    per_task: usize,
}

impl Cache {
    fn insert(&mut self, a: Assignment) {
        let task = a.task.id;
        let attempts = match self.by_task.get_mut(&task) {
            Some(v) => v,
            None => {
                self.order.push_back(task);
                while self.order.len() > self.capacity.max(1) {
                    if let Some(old) = self.order.pop_front() {
                        self.by_task.remove(&old);
                    }
                }
                self.by_task.entry(task).or_default()
            }
        };
        attempts.retain(|x| x.attempt != a.attempt);
        attempts.push(a);
        attempts.sort_by_key(|x| x.attempt);
        let excess = attempts.len().saturating_sub(self.per_task.max(1));
        attempts.drain(..excess);
    }

    /// The latest attempt naming `performer`, with `exact = true`; otherwise the task's latest
    /// attempt.
    fn find(&self, task: TaskId, performer: Address) -> Option<(bool, Assignment)> {
        let attempts = self.by_task.get(&task)?;
        attempts
            .iter()
            .rev()
            .find(|a| a.performer == performer)
            .map(|a| (true, a.clone()))
            .or_else(|| attempts.last().map(|a| (false, a.clone())))
    }
}

/// Report digests already handled, bounded FIFO.
#[derive(Debug, Default)]
struct Seen {
    set: HashSet<B256>,
    order: VecDeque<B256>,
}

impl Seen {
    /// Whether `d` is new (and remembers it).
    fn insert(&mut self, d: B256, capacity: usize) -> bool {
        if !self.set.insert(d) {
            return false;
        }
        self.order.push_back(d);
        while self.order.len() > capacity.max(1) {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn forget(&mut self, d: B256) {
        self.set.remove(&d);
        self.order.retain(|x| *x != d);
    }
}

#[derive(Debug)]
struct Shared {
    cache: Mutex<Cache>,
    seen: Mutex<Seen>,
    arrived: Notify,
    permits: Semaphore,
    counters: Counters,
}

/// The attester on the network.
///
/// Subscribes (at construction) to [`topics::ASSIGNMENTS`] — accepting only messages whose
/// verified sender is [`Config::scheduler`](super::Config::scheduler) — and to
/// [`topics::REPORTS`]. Each report from its own performer (never this keeper's own) is checked
/// by the [`Attester`] against the assignment naming that performer (waiting up to
/// [`ServiceConfig::assignment_wait`] for it), and the signed [`Attestation`] is published on
/// [`topics::ATTESTATIONS`]. Malformed or forged messages are dropped and counted in [`Stats`].
///
/// It also follows [`topics::RECOVERED`]: reports the scheduler rebuilt from the chain for
/// executions whose performer never reported. They are taken only from the scheduler
/// (`untrusted_recovered` otherwise) and checked exactly like a performer's report, against the
/// assignment they carry.
///
/// [`Attestation`]: triggerx_core::types::Attestation
#[derive(Debug)]
pub struct AttesterService {
    attester: Arc<Attester>,
    transport: Arc<dyn Transport>,
    signer: PrivateKeySigner,
    config: ServiceConfig,
    shared: Arc<Shared>,
    assignments: mpsc::Receiver<Message>,
    reports: mpsc::Receiver<Message>,
    recovered: mpsc::Receiver<Message>,
}

impl AttesterService {
    /// A service attesting with `signer`'s key over `transport`; subscribes now, so nothing
    /// published after this returns is missed.
    pub fn new(
        attester: Attester,
        transport: Arc<dyn Transport>,
        signer: PrivateKeySigner,
        config: ServiceConfig,
    ) -> Self {
        let assignments = transport.subscribe(topics::ASSIGNMENTS, config.queue_capacity);
        let reports = transport.subscribe(topics::REPORTS, config.queue_capacity);
        let recovered = transport.subscribe(topics::RECOVERED, config.queue_capacity);
        let shared = Arc::new(Shared {
            cache: Mutex::new(Cache {
                by_task: HashMap::new(),
                order: VecDeque::new(),
                capacity: config.assignment_capacity,
                per_task: config.attempts_per_task,
            }),
            seen: Mutex::new(Seen::default()),
            arrived: Notify::new(),
            permits: Semaphore::new(config.max_concurrent.max(1)),
            counters: Counters::default(),
        });
        Self {
            attester: Arc::new(attester),
            transport,
            signer,
            config,
            shared,
            assignments,
            reports,
            recovered,
        }
    }

    /// The attester's address (the key attestations are signed with).
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The current counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// A handle on the counters that stays valid while the service runs.
    pub fn monitor(&self) -> Monitor {
        Monitor(Arc::clone(&self.shared))
    }

    /// Runs until `shutdown` completes or both subscriptions close; checks still running are
    /// then abandoned (no attestation is sent for them).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Self {
        tokio::pin!(shutdown);
        let mut checks = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(m) = self.assignments.recv() => self.on_assignment(&m),
                Some(_) = checks.join_next(), if !checks.is_empty() => {}
                Some(m) = self.reports.recv(), if checks.len() < self.config.max_pending.max(1) => {
                    if let Some((report, digest)) = self.on_report(&m) {
                        checks.spawn(self.attest(report, digest, None));
                    }
                }
                Some(m) = self.recovered.recv(), if checks.len() < self.config.max_pending.max(1) => {
                    if let Some((report, digest, a)) = self.on_recovered(&m) {
                        checks.spawn(self.attest(report, digest, Some(a)));
                    }
                }
                else => break,
            }
        }
        checks.abort_all();
        self
    }

    fn attest(
        &self,
        report: ExecutionReport,
        digest: B256,
        assignment: Option<Assignment>,
    ) -> impl Future<Output = ()> + use<> {
        attest(
            Arc::clone(&self.shared),
            Arc::clone(&self.attester),
            Arc::clone(&self.transport),
            self.signer.clone(),
            self.config.clone(),
            report,
            digest,
            assignment,
        )
    }

    fn on_assignment(&self, m: &Message) {
        let c = &self.shared.counters;
        if m.sender != self.attester.config().scheduler {
            bump(&c.untrusted_assignments);
            return;
        }
        let Some(a) = protocol::decode::<Assignment>(&m.payload) else {
            bump(&c.malformed_assignments);
            return;
        };
        bump(&c.assignments);
        if let Ok(mut cache) = self.shared.cache.lock() {
            cache.insert(a);
        }
        self.shared.arrived.notify_waiters();
    }

    fn on_report(&self, m: &Message) -> Option<(ExecutionReport, B256)> {
        let c = &self.shared.counters;
        let Some(report) = protocol::decode::<ExecutionReport>(&m.payload) else {
            bump(&c.malformed_reports);
            return None;
        };
        if m.sender != report.performer {
            bump(&c.forged_reports);
            return None;
        }
        self.admit(report)
    }

    /// A recovered report: relayed only by the scheduler, then checked exactly like a
    /// performer's report, against the assignment it carries (which the scheduler signed like
    /// any assignment, so it enters the cache too).
    fn on_recovered(&self, m: &Message) -> Option<(ExecutionReport, B256, Assignment)> {
        let c = &self.shared.counters;
        if m.sender != self.attester.config().scheduler {
            bump(&c.untrusted_recovered);
            return None;
        }
        let Some(r) = protocol::decode::<protocol::RecoveredReport>(&m.payload) else {
            bump(&c.malformed_reports);
            return None;
        };
        let (report, digest) = self.admit(r.report)?;
        bump(&c.recovered_reports);
        if let Ok(mut cache) = self.shared.cache.lock() {
            cache.insert(r.assignment.clone());
        }
        self.shared.arrived.notify_waiters();
        Some((report, digest, r.assignment))
    }

    /// Skips own and already-seen reports; counts the rest.
    fn admit(&self, report: ExecutionReport) -> Option<(ExecutionReport, B256)> {
        let c = &self.shared.counters;
        if report.performer == self.signer.address() {
            bump(&c.own_reports);
            return None;
        }
        let digest = report_digest(&report);
        let new = self
            .shared
            .seen
            .lock()
            .is_ok_and(|mut s| s.insert(digest, self.config.seen_capacity));
        if !new {
            bump(&c.duplicate_reports);
            return None;
        }
        bump(&c.reports);
        Some((report, digest))
    }
}

impl Shared {
    /// The assignment naming `performer` for `task`, waiting until `deadline` for it; at the
    /// deadline the task's latest attempt, if any.
    async fn assignment(
        &self,
        task: TaskId,
        performer: Address,
        deadline: Instant,
    ) -> Option<Assignment> {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found = self.cache.lock().ok().and_then(|c| c.find(task, performer));
            match found {
                Some((true, a)) => return Some(a),
                other => {
                    if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                        return other.map(|(_, a)| a);
                    }
                }
            }
        }
    }
}

/// Checks one report and publishes the signed verdict; `assignment` is the one a recovered
/// report came with (otherwise the cached attempt naming the performer is used).
#[allow(clippy::too_many_arguments)]
async fn attest(
    shared: Arc<Shared>,
    attester: Arc<Attester>,
    transport: Arc<dyn Transport>,
    signer: PrivateKeySigner,
    config: ServiceConfig,
    report: ExecutionReport,
    digest: B256,
    assignment: Option<Assignment>,
) {
    let c = &shared.counters;
    let Ok(_permit) = shared.permits.acquire().await else {
        return;
    };
    let deadline = Instant::now() + config.assignment_wait;
    let assignment = match assignment {
        Some(a) => Some(a),
        None => {
            shared
                .assignment(report.task_id, report.performer, deadline)
                .await
        }
    };
    let verdict = match assignment {
        None => {
            bump(&c.unknown_tasks);
            RejectReason::UnknownTask.verdict()
        }
        Some(a) => match check(&attester, &config, &a, &report).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(task = %report.task_id, error = %e, "report not checked");
                bump(&c.check_errors);
                if let Ok(mut s) = shared.seen.lock() {
                    s.forget(digest);
                }
                return;
            }
        },
    };
    if verdict == Verdict::Approve {
        bump(&c.approved);
    } else {
        bump(&c.rejected);
    }
    tracing::debug!(task = %report.task_id, ?verdict, "attesting");
    let attestation =
        attester
            .config()
            .domain()
            .sign(&signer, report.task_id, digest, report.performer, verdict);
    match transport
        .publish(topics::ATTESTATIONS, protocol::encode(&attestation))
        .await
    {
        Ok(()) => bump(&c.published),
        Err(e) => {
            tracing::warn!(task = %report.task_id, error = %e, "attestation not published");
            bump(&c.publish_errors);
        }
    }
}

/// [`Attester::check`], tried again after retryable chain errors and `tx_not_found` (the
/// report may arrive before this keeper's node has the block).
async fn check(
    attester: &Attester,
    config: &ServiceConfig,
    a: &Assignment,
    r: &ExecutionReport,
) -> Result<Verdict, Error> {
    let mut tries = 0;
    loop {
        let last = tries >= config.check_retries;
        tries += 1;
        match attester.verify(a, r).await {
            Ok(Err(RejectReason::TxNotFound)) if !last => {}
            Ok(Ok(())) => return Ok(Verdict::Approve),
            Ok(Err(reason)) => return Ok(reason.verdict()),
            Err(e) if e.is_retryable() && !last => {
                tracing::debug!(task = %r.task_id, error = %e, "retrying check");
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(config.retry_delay).await;
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;
    use triggerx_core::{
        JobId, Timestamp,
        ids::Occurrence,
        selection::Candidate,
        types::{
            Action, CatchUp, Evidence, Job, JobStatus, Overlap, Schedule, Task, TimeTrigger,
            Trigger,
        },
    };

    use super::*;

    fn assignment(task_secs: i64, attempt: u32, performer: u8) -> Assignment {
        let occurrence = Occurrence::Time {
            job: JobId::from_u64(1),
            due: Timestamp::from_secs(task_secs),
        };
        let evidence = Evidence::Time {
            due: Timestamp::from_secs(task_secs),
        };
        let task = Task::new(occurrence, evidence, Timestamp::EPOCH);
        let function = alloy_json_abi::Function::parse("increment()").expect("signature");
        let calldata = function.selector().to_vec().into();
        let job = Job {
            id: JobId::from_u64(1),
            owner: Address::ZERO,
            title: "t".into(),
            trigger: Trigger::Time(TimeTrigger {
                schedule: Schedule::Interval { every_secs: 1 },
                start: None,
                catch_up: CatchUp::Skip,
                overlap: Overlap::Allow,
            }),
            action: Action::with_calldata(1, Address::ZERO, function, vec![], calldata),
            recurring: true,
            expires_at: None,
            status: JobStatus::Active,
            created_at: Timestamp::EPOCH,
            updated_at: Timestamp::EPOCH,
        };
        Assignment {
            task,
            job,
            attempt,
            performer: Address::repeat_byte(performer),
            candidates: vec![Candidate {
                address: Address::repeat_byte(performer),
                power: U256::from(1u8),
            }],
            excluded: vec![],
            hub: Address::ZERO,
            deadline: Timestamp::EPOCH,
        }
    }

    #[test]
    fn cache_is_bounded_and_finds_the_performers_attempt() {
        let mut cache = Cache {
            by_task: HashMap::new(),
            order: VecDeque::new(),
            capacity: 2,
            per_task: 2,
        };
        let a0 = assignment(1, 0, 1);
        let task = a0.task.id;
        cache.insert(a0);
        cache.insert(assignment(1, 1, 2));
        assert_eq!(
            cache
                .find(task, Address::repeat_byte(1))
                .map(|(e, a)| (e, a.attempt)),
            Some((true, 0))
        );
        assert_eq!(
            cache
                .find(task, Address::repeat_byte(9))
                .map(|(e, a)| (e, a.attempt)),
            Some((false, 1)),
            "an unknown performer gets the latest attempt"
        );
        cache.insert(assignment(1, 2, 3));
        assert!(
            cache
                .find(task, Address::repeat_byte(1))
                .is_some_and(|(e, _)| !e),
            "attempt 0 evicted past two attempts per task"
        );
        cache.insert(assignment(2, 0, 1));
        cache.insert(assignment(3, 0, 1));
        assert!(
            cache.find(task, Address::repeat_byte(3)).is_none(),
            "oldest task evicted"
        );
        assert_eq!(cache.by_task.len(), 2);
    }

    #[test]
    fn seen_is_bounded() {
        let mut s = Seen::default();
        assert!(s.insert(B256::repeat_byte(1), 2));
        assert!(!s.insert(B256::repeat_byte(1), 2));
        assert!(s.insert(B256::repeat_byte(2), 2));
        assert!(s.insert(B256::repeat_byte(3), 2));
        assert!(s.insert(B256::repeat_byte(1), 2), "evicted, so new again");
        s.forget(B256::repeat_byte(3));
        assert!(s.insert(B256::repeat_byte(3), 2));
    }
}
