//! The storage traits, one per capability, and [`Store`] which combines them with atomic
//! multi-write commits.
//!
//! Every trait is synchronous and object-safe; call them from async code through
//! `tokio::task::spawn_blocking` (the calls may wait for disk or for another writer).

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};

use super::{
    BatchOutcome, Created, JobChange, JobFilter, KeeperFilter, Page, TaskFilter, TaskUpdate,
    WriteBatch,
};
use crate::{
    JobId, Result, TaskId, Timestamp,
    types::{ApiKey, Job, JobStatus, Keeper, Liveness, Task, TaskStatus, User},
};

/// Jobs: insert, read, change by compare-and-set, list.
pub trait JobStore: Send + Sync {
    /// Inserts a new job; [`Error::AlreadyExists`](crate::Error::AlreadyExists) if its id is
    /// taken.
    fn insert_job(&self, job: &Job) -> Result<()>;

    /// Inserts several new jobs atomically: all of them, or none when any id is taken.
    fn insert_jobs(&self, jobs: &[Job]) -> Result<()>;

    /// The job with this id.
    fn get_job(&self, id: JobId) -> Result<Option<Job>>;

    /// Moves a job from `expected` to `to` and sets its `updated_at` to `at`; returns the
    /// stored job.
    ///
    /// Fails with [`Error::NotFound`](crate::Error::NotFound), with
    /// [`Error::Conflict`](crate::Error::Conflict) when the stored state is not `expected`,
    /// and with [`Error::InvalidTransition`](crate::Error::InvalidTransition) when
    /// `expected.can_become(to)` is false.
    fn set_job_status(
        &self,
        id: JobId,
        expected: JobStatus,
        to: JobStatus,
        at: Timestamp,
    ) -> Result<Job>;

    /// Replaces a job's body (an edit) if the stored job's `updated_at` is still
    /// `expected_updated_at` ([`Error::Conflict`](crate::Error::Conflict) otherwise). The new
    /// body should carry a later `updated_at`; a status change in it must be allowed by
    /// [`JobStatus::can_become`].
    fn replace_job(&self, job: &Job, expected_updated_at: Timestamp) -> Result<()>;

    /// One page of the jobs matching `filter`, ordered by id.
    fn list_jobs(&self, filter: &JobFilter) -> Result<Page<Job>>;

    /// The head of the job change feed: the revision of the last job write, 0 when no job was
    /// ever written.
    ///
    /// Every job write (insert, status change, replace; alone or in a batch) takes the next
    /// store-wide revision inside its transaction, so revisions grow in commit order: once a
    /// reader sees revision `r`, every write with a lower revision is visible too.
    fn job_revision(&self) -> Result<u64>;

    /// The change feed: up to `limit` jobs whose last write has a revision greater than
    /// `after`, in revision order, each once, as stored now (a job written several times since
    /// `after` appears once, at its latest revision). Pass the last entry's revision as the next
    /// `after`. Revisions may have gaps.
    fn list_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>>;
}

/// Tasks: idempotent creation by occurrence, compare-and-set transitions, listing, counts.
pub trait TaskStore: Send + Sync {
    /// Creates the task for an occurrence, or returns the task already stored under the same
    /// id (which is derived from the occurrence), unchanged. Never creates a second row.
    ///
    /// The task's id must be `task.occurrence.task_id()`
    /// ([`Error::Invalid`](crate::Error::Invalid) otherwise).
    fn create_task(&self, task: &Task) -> Result<Created<Task>>;

    /// [`create_task`](Self::create_task) for several tasks in one atomic write; the outcomes
    /// are in input order.
    fn create_tasks(&self, tasks: &[Task]) -> Result<Vec<Created<Task>>>;

    /// The task with this id.
    fn get_task(&self, id: TaskId) -> Result<Option<Task>>;

    /// Applies `update` if the task is still in `expected`; returns the stored task.
    ///
    /// Fails with [`Error::NotFound`](crate::Error::NotFound), with
    /// [`Error::Conflict`](crate::Error::Conflict) when the stored state is not `expected`,
    /// and with [`Error::InvalidTransition`](crate::Error::InvalidTransition) when
    /// `expected.can_become(update.status)` is false.
    fn transition_task(
        &self,
        id: TaskId,
        expected: TaskStatus,
        update: &TaskUpdate,
    ) -> Result<Task>;

    /// One page of the tasks matching `filter`, ordered by id.
    fn list_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>>;

    /// How many tasks are in each state (every state present, zeros included).
    fn count_tasks_by_status(&self) -> Result<BTreeMap<TaskStatus, u64>>;
}

/// Keepers.
pub trait KeeperStore: Send + Sync {
    /// Inserts or replaces a keeper, keyed by address.
    fn upsert_keeper(&self, keeper: &Keeper) -> Result<()>;

    /// The keeper with this address.
    fn get_keeper(&self, address: Address) -> Result<Option<Keeper>>;

    /// The keepers matching `filter`, ordered by address.
    fn list_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>>;

    /// Marks a keeper as deregistered (`registered = false`, `online = false`), keeping its
    /// record; [`Error::NotFound`](crate::Error::NotFound) if unknown.
    fn deregister_keeper(&self, address: Address) -> Result<()>;

    /// Replaces only the health-owned part of a keeper's record ([`Liveness`]), in one atomic
    /// read-modify-write, so a registrar writing the same keeper at the same time loses nothing;
    /// [`Error::NotFound`](crate::Error::NotFound) if unknown.
    fn update_keeper_liveness(&self, address: Address, liveness: &Liveness) -> Result<()>;
}

/// Users and their API keys.
pub trait UserStore: Send + Sync {
    /// Inserts or replaces a user, keyed by address.
    fn upsert_user(&self, user: &User) -> Result<()>;

    /// The user with this address.
    fn get_user(&self, address: Address) -> Result<Option<User>>;

    /// Inserts or replaces an API key, keyed by its `id`. A `key_hash` already used by a key
    /// with another id fails with [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    fn put_api_key(&self, key: &ApiKey) -> Result<()>;

    /// The API key whose secret hashes to `key_hash` (the authentication lookup).
    fn get_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>>;

    /// The API keys of one owner, ordered by id.
    fn list_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>>;

    /// Enables or disables an API key; [`Error::NotFound`](crate::Error::NotFound) if unknown.
    fn set_api_key_active(&self, id: &str, active: bool) -> Result<()>;
}

/// Named byte checkpoints: block-follower cursors and other progress markers. Callers encode
/// the bytes.
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint stored under `key`.
    fn get_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Stores `value` under `key`, replacing any previous value.
    fn put_checkpoint(&self, key: &str, value: &[u8]) -> Result<()>;
}

/// A complete store: every capability plus atomic multi-write commits.
pub trait Store: JobStore + TaskStore + KeeperStore + UserStore + CheckpointStore {
    /// Applies every write of `batch` in one transaction: all of them land, or none does (a
    /// failed compare-and-set, a duplicate insert or an I/O error aborts the whole batch).
    /// Later writes see earlier ones of the same batch.
    fn commit(&self, batch: &WriteBatch) -> Result<BatchOutcome>;

    /// The backend's name (`memory`, `sqlite`, `redb`), for logs and metrics.
    fn backend(&self) -> &'static str;
}
