//! Atomic write batches and the one implementation of their semantics that every backend
//! shares.
//!
//! A backend opens its own transaction, wraps it in a [`Txn`] (point reads and writes of whole
//! records, keeping its indexes in step), and calls [`apply`]; it commits when `apply` returns
//! `Ok` and rolls back otherwise. Compare-and-set checks, idempotent task creation and the
//! transition rules therefore behave identically on every backend.

use alloy_primitives::{Address, B256};

use super::{Created, TaskUpdate};
use crate::{
    Error, JobId, Result, TaskId, Timestamp, ValidationErrors,
    types::{ApiKey, Job, JobStatus, Keeper, Liveness, Task, TaskStatus, User},
};

/// One write of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteOp {
    /// Insert a new job (fails the batch if the id exists).
    InsertJob(Job),
    /// Replace a job's body if its `updated_at` is still `expected_updated_at`.
    ReplaceJob {
        /// The new body.
        job: Job,
        /// The `updated_at` the stored job must have.
        expected_updated_at: Timestamp,
    },
    /// Move a job between states by compare-and-set.
    SetJobStatus {
        /// The job.
        id: JobId,
        /// The state it must be in.
        expected: JobStatus,
        /// The new state.
        to: JobStatus,
        /// The change's time (`updated_at`).
        at: Timestamp,
    },
    /// Create a task idempotently (an existing task with the same id is kept).
    CreateTask(Task),
    /// Change a task by compare-and-set.
    TransitionTask {
        /// The task.
        id: TaskId,
        /// The state it must be in.
        expected: TaskStatus,
        /// The change.
        update: TaskUpdate,
    },
    /// Insert or replace a keeper.
    UpsertKeeper(Keeper),
    /// Insert a keeper, or update the registrar-owned part of an existing one (everything but
    /// its [`Liveness`], which is kept as stored; a keeper written as not registered is also
    /// marked offline).
    PutKeeperRegistration(Keeper),
    /// Update the health-owned part of an existing keeper (not found otherwise).
    UpdateKeeperLiveness(Address, Liveness),
    /// Mark a keeper deregistered.
    DeregisterKeeper(Address),
    /// Insert or replace a user.
    UpsertUser(User),
    /// Insert or replace an API key.
    PutApiKey(ApiKey),
    /// Enable or disable an API key.
    SetApiKeyActive {
        /// The key's id.
        id: String,
        /// The new state.
        active: bool,
    },
    /// Store a checkpoint.
    PutCheckpoint {
        /// Its name.
        key: String,
        /// Its bytes.
        value: Vec<u8>,
    },
}

/// Several writes that must land together; see [`Store::commit`](super::Store::commit).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// The writes, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// How many writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends a write.
    pub fn push(&mut self, op: WriteOp) -> &mut Self {
        self.ops.push(op);
        self
    }

    /// Appends [`WriteOp::InsertJob`].
    pub fn insert_job(&mut self, job: Job) -> &mut Self {
        self.push(WriteOp::InsertJob(job))
    }

    /// Appends [`WriteOp::ReplaceJob`].
    pub fn replace_job(&mut self, job: Job, expected_updated_at: Timestamp) -> &mut Self {
        self.push(WriteOp::ReplaceJob {
            job,
            expected_updated_at,
        })
    }

    /// Appends [`WriteOp::SetJobStatus`].
    pub fn set_job_status(
        &mut self,
        id: JobId,
        expected: JobStatus,
        to: JobStatus,
        at: Timestamp,
    ) -> &mut Self {
        self.push(WriteOp::SetJobStatus {
            id,
            expected,
            to,
            at,
        })
    }

    /// Appends [`WriteOp::CreateTask`].
    pub fn create_task(&mut self, task: Task) -> &mut Self {
        self.push(WriteOp::CreateTask(task))
    }

    /// Appends [`WriteOp::TransitionTask`].
    pub fn transition_task(
        &mut self,
        id: TaskId,
        expected: TaskStatus,
        update: TaskUpdate,
    ) -> &mut Self {
        self.push(WriteOp::TransitionTask {
            id,
            expected,
            update,
        })
    }

    /// Appends [`WriteOp::UpsertKeeper`].
    pub fn upsert_keeper(&mut self, keeper: Keeper) -> &mut Self {
        self.push(WriteOp::UpsertKeeper(keeper))
    }

    /// Appends [`WriteOp::PutKeeperRegistration`].
    pub fn put_keeper_registration(&mut self, keeper: Keeper) -> &mut Self {
        self.push(WriteOp::PutKeeperRegistration(keeper))
    }

    /// Appends [`WriteOp::UpdateKeeperLiveness`].
    pub fn update_keeper_liveness(&mut self, address: Address, liveness: Liveness) -> &mut Self {
        self.push(WriteOp::UpdateKeeperLiveness(address, liveness))
    }

    /// Appends [`WriteOp::UpsertUser`].
    pub fn upsert_user(&mut self, user: User) -> &mut Self {
        self.push(WriteOp::UpsertUser(user))
    }

    /// Appends [`WriteOp::PutApiKey`].
    pub fn put_api_key(&mut self, key: ApiKey) -> &mut Self {
        self.push(WriteOp::PutApiKey(key))
    }

    /// Appends [`WriteOp::PutCheckpoint`].
    pub fn put_checkpoint(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.push(WriteOp::PutCheckpoint {
            key: key.into(),
            value: value.into(),
        })
    }
}

impl From<Vec<WriteOp>> for WriteBatch {
    fn from(ops: Vec<WriteOp>) -> Self {
        Self { ops }
    }
}

/// What one write of a committed batch produced.
#[derive(Debug, Clone, PartialEq)]
pub enum OpOutcome {
    /// The write was applied; it has no value to report.
    Done,
    /// The job as stored after a status change.
    Job(Job),
    /// The outcome of an idempotent task creation.
    Created(Created<Task>),
    /// The task as stored after a transition.
    Task(Task),
}

/// The outcomes of a committed batch, one per write, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// One outcome per write.
    pub outcomes: Vec<OpOutcome>,
}

impl BatchOutcome {
    /// How many tasks this commit inserted (not counting ones that already existed).
    pub fn tasks_inserted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, OpOutcome::Created(Created::Inserted(_))))
            .count()
    }

    /// How many task creations found the task already stored.
    pub fn tasks_existing(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, OpOutcome::Created(Created::Existing(_))))
            .count()
    }

    pub(crate) fn into_single(self) -> Result<OpOutcome> {
        self.outcomes
            .into_iter()
            .next()
            .ok_or_else(|| internal("a one-write batch had no outcome"))
    }

    pub(crate) fn into_job(self) -> Result<Job> {
        match self.into_single()? {
            OpOutcome::Job(job) => Ok(job),
            _ => Err(internal("expected a job outcome")),
        }
    }

    pub(crate) fn into_task(self) -> Result<Task> {
        match self.into_single()? {
            OpOutcome::Task(task) => Ok(task),
            _ => Err(internal("expected a task outcome")),
        }
    }

    pub(crate) fn into_created(self) -> Result<Vec<Created<Task>>> {
        self.outcomes
            .into_iter()
            .map(|o| match o {
                OpOutcome::Created(c) => Ok(c),
                _ => Err(internal("expected a task creation outcome")),
            })
            .collect()
    }
}

fn internal(message: &str) -> Error {
    Error::Storage {
        backend: "store",
        message: message.to_owned(),
        retryable: false,
    }
}

/// Record-level access to one open backend transaction, used by [`apply`].
///
/// Reads must see the writes made earlier in the same transaction. `put_*` receives the
/// previous record (as read through this transaction) so a backend can update its secondary
/// indexes; `None` means the record is new.
pub trait Txn {
    /// The job with this id.
    fn job(&mut self, id: JobId) -> Result<Option<Job>>;
    /// Writes a job, giving it the store's next job revision (see
    /// [`JobStore::job_revision`](super::JobStore::job_revision)).
    fn put_job(&mut self, job: &Job, previous: Option<&Job>) -> Result<()>;
    /// The task with this id.
    fn task(&mut self, id: TaskId) -> Result<Option<Task>>;
    /// Writes a task.
    fn put_task(&mut self, task: &Task, previous: Option<&Task>) -> Result<()>;
    /// The keeper with this address.
    fn keeper(&mut self, address: Address) -> Result<Option<Keeper>>;
    /// Writes a keeper.
    fn put_keeper(&mut self, keeper: &Keeper, previous: Option<&Keeper>) -> Result<()>;
    /// Writes a user.
    fn put_user(&mut self, user: &User) -> Result<()>;
    /// The API key with this id.
    fn api_key(&mut self, id: &str) -> Result<Option<ApiKey>>;
    /// The id of the API key with this hash.
    fn api_key_id_by_hash(&mut self, key_hash: B256) -> Result<Option<String>>;
    /// Writes an API key.
    fn put_api_key(&mut self, key: &ApiKey, previous: Option<&ApiKey>) -> Result<()>;
    /// Writes a checkpoint.
    fn put_checkpoint(&mut self, key: &str, value: &[u8]) -> Result<()>;
}

/// Applies every write of `batch` through `tx`, stopping at the first failure. The caller
/// commits its transaction on `Ok` and rolls it back on `Err`.
pub fn apply(tx: &mut dyn Txn, batch: &WriteBatch) -> Result<BatchOutcome> {
    let mut outcomes = Vec::with_capacity(batch.len());
    for op in batch.ops() {
        outcomes.push(apply_one(tx, op)?);
    }
    Ok(BatchOutcome { outcomes })
}

fn apply_one(tx: &mut dyn Txn, op: &WriteOp) -> Result<OpOutcome> {
    match op {
        WriteOp::InsertJob(job) => {
            if tx.job(job.id)?.is_some() {
                return Err(Error::AlreadyExists {
                    entity: "job",
                    id: job.id.to_string(),
                });
            }
            tx.put_job(job, None)?;
            Ok(OpOutcome::Done)
        }
        WriteOp::ReplaceJob {
            job,
            expected_updated_at,
        } => {
            let old = tx
                .job(job.id)?
                .ok_or_else(|| Error::not_found("job", job.id))?;
            if old.updated_at != *expected_updated_at {
                return Err(Error::Conflict {
                    entity: "job",
                    id: job.id.to_string(),
                    expected: format!("updated_at {expected_updated_at}"),
                    found: format!("updated_at {}", old.updated_at),
                });
            }
            if old.status != job.status && !old.status.can_become(job.status) {
                return Err(job_transition(job.id, old.status, job.status));
            }
            tx.put_job(job, Some(&old))?;
            Ok(OpOutcome::Done)
        }
        WriteOp::SetJobStatus {
            id,
            expected,
            to,
            at,
        } => {
            let old = tx.job(*id)?.ok_or_else(|| Error::not_found("job", id))?;
            if old.status != *expected {
                return Err(Error::Conflict {
                    entity: "job",
                    id: id.to_string(),
                    expected: expected.as_str().to_owned(),
                    found: old.status.as_str().to_owned(),
                });
            }
            if !expected.can_become(*to) {
                return Err(job_transition(*id, *expected, *to));
            }
            let mut job = old.clone();
            job.status = *to;
            job.updated_at = *at;
            tx.put_job(&job, Some(&old))?;
            Ok(OpOutcome::Job(job))
        }
        WriteOp::CreateTask(task) => {
            check_task_id(task)?;
            if let Some(existing) = tx.task(task.id)? {
                return Ok(OpOutcome::Created(Created::Existing(existing)));
            }
            tx.put_task(task, None)?;
            Ok(OpOutcome::Created(Created::Inserted(task.clone())))
        }
        WriteOp::TransitionTask {
            id,
            expected,
            update,
        } => {
            let old = tx.task(*id)?.ok_or_else(|| Error::not_found("task", id))?;
            let task = transitioned(&old, *expected, update)?;
            tx.put_task(&task, Some(&old))?;
            Ok(OpOutcome::Task(task))
        }
        WriteOp::UpsertKeeper(keeper) => {
            let old = tx.keeper(keeper.address)?;
            tx.put_keeper(keeper, old.as_ref())?;
            Ok(OpOutcome::Done)
        }
        WriteOp::PutKeeperRegistration(keeper) => {
            let old = tx.keeper(keeper.address)?;
            let mut keeper = keeper.clone();
            if let Some(old) = &old {
                keeper.set_liveness(old.liveness());
            }
            // A keeper that is not registered is never online.
            keeper.online &= keeper.registered;
            tx.put_keeper(&keeper, old.as_ref())?;
            Ok(OpOutcome::Done)
        }
        WriteOp::UpdateKeeperLiveness(address, liveness) => {
            let old = tx
                .keeper(*address)?
                .ok_or_else(|| Error::not_found("keeper", address))?;
            let mut keeper = old.clone();
            keeper.set_liveness(liveness.clone());
            tx.put_keeper(&keeper, Some(&old))?;
            Ok(OpOutcome::Done)
        }
        WriteOp::DeregisterKeeper(address) => {
            let old = tx
                .keeper(*address)?
                .ok_or_else(|| Error::not_found("keeper", address))?;
            let mut keeper = old.clone();
            keeper.registered = false;
            keeper.online = false;
            tx.put_keeper(&keeper, Some(&old))?;
            Ok(OpOutcome::Done)
        }
        WriteOp::UpsertUser(user) => {
            tx.put_user(user)?;
            Ok(OpOutcome::Done)
        }
        WriteOp::PutApiKey(key) => {
            if let Some(other) = tx.api_key_id_by_hash(key.key_hash)?
                && other != key.id
            {
                return Err(Error::AlreadyExists {
                    entity: "api key hash",
                    id: format!("{} (used by key {other})", key.key_hash),
                });
            }
            let old = tx.api_key(&key.id)?;
            tx.put_api_key(key, old.as_ref())?;
            Ok(OpOutcome::Done)
        }
        WriteOp::SetApiKeyActive { id, active } => {
            let old = tx
                .api_key(id)?
                .ok_or_else(|| Error::not_found("api key", id))?;
            let mut key = old.clone();
            key.active = *active;
            tx.put_api_key(&key, Some(&old))?;
            Ok(OpOutcome::Done)
        }
        WriteOp::PutCheckpoint { key, value } => {
            tx.put_checkpoint(key, value)?;
            Ok(OpOutcome::Done)
        }
    }
}

fn job_transition(id: JobId, from: JobStatus, to: JobStatus) -> Error {
    Error::InvalidTransition {
        entity: "job",
        id: id.to_string(),
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
    }
}

fn check_task_id(task: &Task) -> Result<()> {
    let mut errors = ValidationErrors::default();
    if task.id != task.occurrence.task_id() {
        errors.push(
            "id",
            format!(
                "must be the occurrence's task id {}",
                task.occurrence.task_id()
            ),
        );
    }
    if task.job_id != task.occurrence.job() {
        errors.push(
            "job_id",
            format!("must be the occurrence's job {}", task.occurrence.job()),
        );
    }
    errors.into_result(()).map_err(Error::from)
}

/// `old` after `update`, if `old` is in `expected` and the change is allowed.
pub(crate) fn transitioned(old: &Task, expected: TaskStatus, update: &TaskUpdate) -> Result<Task> {
    if old.status != expected {
        return Err(Error::Conflict {
            entity: "task",
            id: old.id.to_string(),
            expected: expected.as_str().to_owned(),
            found: old.status.as_str().to_owned(),
        });
    }
    if !expected.can_become(update.status) {
        return Err(Error::InvalidTransition {
            entity: "task",
            id: old.id.to_string(),
            from: expected.as_str().to_owned(),
            to: update.status.as_str().to_owned(),
        });
    }
    let mut task = old.clone();
    if update.status == TaskStatus::Assigned {
        if update.performer.is_none() {
            let mut errors = ValidationErrors::default();
            errors.push("performer", "an assignment must name the performer");
            return Err(errors.into());
        }
        task.attempts = task.attempts.saturating_add(1);
    }
    task.status = update.status;
    task.updated_at = update.at;
    if let Some(p) = update.performer {
        task.performer = Some(p);
    }
    if let Some(h) = update.tx_hash {
        task.tx_hash = Some(h);
    }
    if let Some(b) = update.block_number {
        task.block_number = Some(b);
    }
    if let Some(e) = &update.error {
        task.error = Some(e.clone());
    }
    Ok(task)
}

/// Builds a one-write batch.
pub(crate) fn one(op: WriteOp) -> WriteBatch {
    WriteBatch::from(vec![op])
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;

    use super::*;
    use crate::{JobId, ids::Occurrence, store::Page, types::Evidence};

    fn task() -> Task {
        let due = Timestamp::from_secs(5);
        Task::new(
            Occurrence::Time {
                job: JobId::from_u64(1),
                due,
            },
            Evidence::Time { due },
            due,
        )
    }

    #[test]
    fn assignment_counts_attempts_and_keeps_unset_fields() {
        let t = task();
        let k = Address::repeat_byte(1);
        let a = transitioned(
            &t,
            TaskStatus::Created,
            &TaskUpdate::assign(k, Timestamp::EPOCH),
        )
        .unwrap();
        assert_eq!((a.attempts, a.performer), (1, Some(k)));
        let b = transitioned(
            &a,
            TaskStatus::Assigned,
            &TaskUpdate::assign(k, Timestamp::EPOCH),
        )
        .unwrap();
        assert_eq!(b.attempts, 2);
        let f = transitioned(
            &b,
            TaskStatus::Assigned,
            &TaskUpdate::new(TaskStatus::Failed, Timestamp::EPOCH).with_error("x"),
        )
        .unwrap();
        assert_eq!(
            (f.performer, f.attempts, f.error.as_deref()),
            (Some(k), 2, Some("x"))
        );
        assert!(matches!(
            transitioned(
                &t,
                TaskStatus::Assigned,
                &TaskUpdate::assign(k, Timestamp::EPOCH)
            ),
            Err(Error::Conflict { .. })
        ));
    }

    #[test]
    fn overfetch_decides_the_next_cursor() {
        let ids = |n: u64| -> Vec<TaskId> {
            (0..n)
                .map(|i| TaskId(alloy_primitives::B256::with_last_byte(i as u8)))
                .collect()
        };
        #[derive(Clone, Debug)]
        struct K(TaskId);
        impl crate::store::Keyed for K {
            type Key = TaskId;
            fn key(&self) -> TaskId {
                self.0
            }
        }
        let page = Page::from_overfetch(ids(4).into_iter().map(K).collect(), Some(3));
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.next, Some(page.items[2].0));
        let last = Page::from_overfetch(ids(3).into_iter().map(K).collect(), Some(3));
        assert_eq!(last.next, None);
        let all = Page::from_overfetch(ids(9).into_iter().map(K).collect(), None);
        assert_eq!((all.items.len(), all.next), (9, None));
    }
}
