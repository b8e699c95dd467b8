//! The values the storage traits take and return: filters, pages, creation outcomes and task
//! updates.

use alloy_primitives::{Address, B256};

use crate::{
    JobId, TaskId, Timestamp,
    types::{Job, JobStatus, Keeper, Task, TaskStatus, TriggerKind},
};

/// Something listed in pages ordered by a key; the key of the last item is the next page's
/// cursor.
pub trait Keyed {
    /// The ordering key, used as the page cursor.
    type Key: Clone + Ord + std::fmt::Debug;

    /// This item's key.
    fn key(&self) -> Self::Key;
}

impl Keyed for Job {
    type Key = JobId;

    fn key(&self) -> JobId {
        self.id
    }
}

impl Keyed for Task {
    type Key = TaskId;

    fn key(&self) -> TaskId {
        self.id
    }
}

impl Keyed for Keeper {
    type Key = Address;

    fn key(&self) -> Address {
        self.address
    }
}

/// One page of a listing, ordered by key ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T: Keyed> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor to pass as `after` for the next page; `None` when this is the last page.
    pub next: Option<T::Key>,
}

impl<T: Keyed> Page<T> {
    /// Builds a page from up to `limit + 1` matching items in key order: the extra item, when
    /// present, only proves that another page exists.
    pub fn from_overfetch(mut items: Vec<T>, limit: Option<usize>) -> Self {
        match limit {
            Some(limit) if items.len() > limit => {
                items.truncate(limit);
                let next = items.last().map(Keyed::key);
                Self { items, next }
            }
            _ => Self { items, next: None },
        }
    }
}

/// Which jobs to list. Every set field must match; the result is ordered by job id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs of this owner.
    pub owner: Option<Address>,
    /// Only jobs in this state.
    pub status: Option<JobStatus>,
    /// Only jobs with this trigger kind.
    pub kind: Option<TriggerKind>,
    /// Only jobs whose trigger watches this chain **or** whose action runs on it.
    pub chain_id: Option<u64>,
    /// At most this many items (all when `None`).
    pub limit: Option<usize>,
    /// Only jobs with an id greater than this (the previous page's `next`).
    pub after: Option<JobId>,
}

impl JobFilter {
    /// The active jobs of one trigger kind: what an engine loads at start-up.
    pub fn active(kind: TriggerKind) -> Self {
        Self {
            status: Some(JobStatus::Active),
            kind: Some(kind),
            ..Self::default()
        }
    }

    /// Whether `job` matches every set field except the paging ones.
    pub fn matches(&self, job: &Job) -> bool {
        self.owner.is_none_or(|o| job.owner == o)
            && self.status.is_none_or(|s| job.status == s)
            && self.kind.is_none_or(|k| job.kind() == k)
            && self
                .chain_id
                .is_none_or(|c| job.trigger.chain_id() == Some(c) || job.action.chain_id == c)
    }
}

/// One entry of the job change feed ([`JobStore::list_jobs_changed`]): a job as stored now,
/// with the revision of its last write.
///
/// [`JobStore::list_jobs_changed`]: super::JobStore::list_jobs_changed
#[derive(Debug, Clone, PartialEq)]
pub struct JobChange {
    /// The store-wide revision of the job's last write.
    pub revision: u64,
    /// The job as stored.
    pub job: Job,
}

/// Which tasks to list. Every set field must match; the result is ordered by task id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks of this job.
    pub job_id: Option<JobId>,
    /// Only tasks in this state.
    pub status: Option<TaskStatus>,
    /// Only tasks currently assigned to this keeper.
    pub performer: Option<Address>,
    /// At most this many items (all when `None`).
    pub limit: Option<usize>,
    /// Only tasks with an id greater than this (the previous page's `next`).
    pub after: Option<TaskId>,
}

impl TaskFilter {
    /// Whether `task` matches every set field except the paging ones.
    pub fn matches(&self, task: &Task) -> bool {
        self.job_id.is_none_or(|j| task.job_id == j)
            && self.status.is_none_or(|s| task.status == s)
            && self.performer.is_none_or(|p| task.performer == Some(p))
    }
}

/// Which keepers to list, ordered by address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeeperFilter {
    /// Only keepers with this registration state.
    pub registered: Option<bool>,
    /// Only keepers with this health state.
    pub online: Option<bool>,
}

impl KeeperFilter {
    /// Keepers that may be selected as performers: registered and online.
    pub const SELECTABLE: Self = Self {
        registered: Some(true),
        online: Some(true),
    };

    /// Whether `keeper` matches.
    pub fn matches(&self, keeper: &Keeper) -> bool {
        self.registered.is_none_or(|r| keeper.registered == r)
            && self.online.is_none_or(|o| keeper.online == o)
    }
}

/// The outcome of an idempotent create: either this call inserted the value, or an equal-keyed
/// value already existed and is returned unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// Inserted by this call.
    Inserted(T),
    /// Already stored (returned as stored; the caller's value was discarded).
    Existing(T),
}

impl<T> Created<T> {
    /// Whether this call inserted the value.
    pub fn is_inserted(&self) -> bool {
        matches!(self, Self::Inserted(_))
    }

    /// The stored value.
    pub fn into_inner(self) -> T {
        match self {
            Self::Inserted(v) | Self::Existing(v) => v,
        }
    }

    /// The stored value, borrowed.
    pub fn get(&self) -> &T {
        match self {
            Self::Inserted(v) | Self::Existing(v) => v,
        }
    }
}

/// A task state change, applied by compare-and-set with
/// [`TaskStore::transition_task`](super::TaskStore::transition_task).
///
/// `status` and `at` (stored as `updated_at`) are always written; every `Some` field replaces
/// the stored one and every `None` field keeps it. Moving to [`TaskStatus::Assigned`] (first
/// assignment or reassignment) requires a performer and increments `attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUpdate {
    /// The new state.
    pub status: TaskStatus,
    /// When the change happened.
    pub at: Timestamp,
    /// The performer (required when assigning).
    pub performer: Option<Address>,
    /// The execution transaction.
    pub tx_hash: Option<B256>,
    /// The block the execution landed in.
    pub block_number: Option<u64>,
    /// Why it failed, expired or was rejected.
    pub error: Option<String>,
}

impl TaskUpdate {
    /// A change to `status` at `at`, keeping every other field.
    pub fn new(status: TaskStatus, at: Timestamp) -> Self {
        Self {
            status,
            at,
            performer: None,
            tx_hash: None,
            block_number: None,
            error: None,
        }
    }

    /// An assignment (or reassignment) to `performer`.
    pub fn assign(performer: Address, at: Timestamp) -> Self {
        Self::new(TaskStatus::Assigned, at).with_performer(performer)
    }

    /// Sets the performer.
    pub fn with_performer(mut self, performer: Address) -> Self {
        self.performer = Some(performer);
        self
    }

    /// Sets the execution transaction and its block.
    pub fn with_execution(mut self, tx_hash: B256, block_number: u64) -> Self {
        self.tx_hash = Some(tx_hash);
        self.block_number = Some(block_number);
        self
    }

    /// Sets the error text.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}
