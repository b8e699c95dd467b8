//! The internal shape of the bundled backends: each implements [`Backend`] (one commit
//! function plus its reads) and [`impl_store!`] derives the public traits from it, so every
//! single write goes through the same [`apply`](super::apply) path as a batch.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};

use super::{BatchOutcome, JobChange, JobFilter, KeeperFilter, Page, TaskFilter, WriteBatch};
use crate::{
    JobId, Result, TaskId,
    types::{ApiKey, Job, Keeper, Task, TaskStatus, User},
};

/// Reads and the atomic commit of one backend.
pub(crate) trait Backend: Send + Sync {
    /// The backend's name.
    const NAME: &'static str;
    /// Runs [`apply`](super::apply) in one transaction; commits on `Ok`, rolls back on `Err`.
    fn commit_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome>;
    fn read_job(&self, id: JobId) -> Result<Option<Job>>;
    fn read_jobs(&self, filter: &JobFilter) -> Result<Page<Job>>;
    /// The revision of the last job write (0 when none).
    fn read_job_revision(&self) -> Result<u64>;
    /// Jobs whose last write is after revision `after`, in revision order, at most `limit`.
    fn read_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>>;
    fn read_task(&self, id: TaskId) -> Result<Option<Task>>;
    fn read_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>>;
    fn read_task_counts(&self) -> Result<BTreeMap<TaskStatus, u64>>;
    fn read_keeper(&self, address: Address) -> Result<Option<Keeper>>;
    fn read_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>>;
    fn read_user(&self, address: Address) -> Result<Option<User>>;
    fn read_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>>;
    fn read_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>>;
    fn read_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>>;
}

/// Every state with a zero count.
pub(crate) fn zero_counts() -> BTreeMap<TaskStatus, u64> {
    TaskStatus::ALL.into_iter().map(|s| (s, 0)).collect()
}

/// Implements `JobStore`, `TaskStore`, `KeeperStore`, `UserStore`, `CheckpointStore` and
/// `Store` for a [`Backend`].
macro_rules! impl_store {
    ($ty:ty) => {
        impl $crate::store::JobStore for $ty {
            fn insert_job(&self, job: &$crate::types::Job) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::InsertJob(job.clone()),
                ))
                .map(drop)
            }

            fn insert_jobs(&self, jobs: &[$crate::types::Job]) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                let ops: Vec<$crate::store::WriteOp> = jobs
                    .iter()
                    .cloned()
                    .map($crate::store::WriteOp::InsertJob)
                    .collect();
                self.commit_batch(&$crate::store::WriteBatch::from(ops))
                    .map(drop)
            }

            fn get_job(&self, id: $crate::JobId) -> $crate::Result<Option<$crate::types::Job>> {
                $crate::store::backend::Backend::read_job(self, id)
            }

            fn set_job_status(
                &self,
                id: $crate::JobId,
                expected: $crate::types::JobStatus,
                to: $crate::types::JobStatus,
                at: $crate::Timestamp,
            ) -> $crate::Result<$crate::types::Job> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::SetJobStatus {
                        id,
                        expected,
                        to,
                        at,
                    },
                ))?
                .into_job()
            }

            fn replace_job(
                &self,
                job: &$crate::types::Job,
                expected_updated_at: $crate::Timestamp,
            ) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::ReplaceJob {
                        job: job.clone(),
                        expected_updated_at,
                    },
                ))
                .map(drop)
            }

            fn list_jobs(
                &self,
                filter: &$crate::store::JobFilter,
            ) -> $crate::Result<$crate::store::Page<$crate::types::Job>> {
                $crate::store::backend::Backend::read_jobs(self, filter)
            }

            fn job_revision(&self) -> $crate::Result<u64> {
                $crate::store::backend::Backend::read_job_revision(self)
            }

            fn list_jobs_changed(
                &self,
                after: u64,
                limit: usize,
            ) -> $crate::Result<Vec<$crate::store::JobChange>> {
                $crate::store::backend::Backend::read_jobs_changed(self, after, limit)
            }
        }

        impl $crate::store::TaskStore for $ty {
            fn create_task(
                &self,
                task: &$crate::types::Task,
            ) -> $crate::Result<$crate::store::Created<$crate::types::Task>> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::CreateTask(task.clone()),
                ))?
                .into_created()?
                .pop()
                .ok_or_else(|| $crate::Error::Storage {
                    backend: <$ty as $crate::store::backend::Backend>::NAME,
                    message: "task creation produced no outcome".to_owned(),
                    retryable: false,
                })
            }

            fn create_tasks(
                &self,
                tasks: &[$crate::types::Task],
            ) -> $crate::Result<Vec<$crate::store::Created<$crate::types::Task>>> {
                use $crate::store::backend::Backend as _;
                let ops: Vec<$crate::store::WriteOp> = tasks
                    .iter()
                    .cloned()
                    .map($crate::store::WriteOp::CreateTask)
                    .collect();
                self.commit_batch(&$crate::store::WriteBatch::from(ops))?
                    .into_created()
            }

            fn get_task(&self, id: $crate::TaskId) -> $crate::Result<Option<$crate::types::Task>> {
                $crate::store::backend::Backend::read_task(self, id)
            }

            fn transition_task(
                &self,
                id: $crate::TaskId,
                expected: $crate::types::TaskStatus,
                update: &$crate::store::TaskUpdate,
            ) -> $crate::Result<$crate::types::Task> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::TransitionTask {
                        id,
                        expected,
                        update: update.clone(),
                    },
                ))?
                .into_task()
            }

            fn list_tasks(
                &self,
                filter: &$crate::store::TaskFilter,
            ) -> $crate::Result<$crate::store::Page<$crate::types::Task>> {
                $crate::store::backend::Backend::read_tasks(self, filter)
            }

            fn count_tasks_by_status(
                &self,
            ) -> $crate::Result<std::collections::BTreeMap<$crate::types::TaskStatus, u64>> {
                $crate::store::backend::Backend::read_task_counts(self)
            }
        }

        impl $crate::store::KeeperStore for $ty {
            fn upsert_keeper(&self, keeper: &$crate::types::Keeper) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::UpsertKeeper(keeper.clone()),
                ))
                .map(drop)
            }

            fn get_keeper(
                &self,
                address: alloy_primitives::Address,
            ) -> $crate::Result<Option<$crate::types::Keeper>> {
                $crate::store::backend::Backend::read_keeper(self, address)
            }

            fn list_keepers(
                &self,
                filter: &$crate::store::KeeperFilter,
            ) -> $crate::Result<Vec<$crate::types::Keeper>> {
                $crate::store::backend::Backend::read_keepers(self, filter)
            }

            fn deregister_keeper(&self, address: alloy_primitives::Address) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::DeregisterKeeper(address),
                ))
                .map(drop)
            }

            fn update_keeper_liveness(
                &self,
                address: alloy_primitives::Address,
                liveness: &$crate::types::Liveness,
            ) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::UpdateKeeperLiveness(address, liveness.clone()),
                ))
                .map(drop)
            }
        }

        impl $crate::store::UserStore for $ty {
            fn upsert_user(&self, user: &$crate::types::User) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::UpsertUser(user.clone()),
                ))
                .map(drop)
            }

            fn get_user(
                &self,
                address: alloy_primitives::Address,
            ) -> $crate::Result<Option<$crate::types::User>> {
                $crate::store::backend::Backend::read_user(self, address)
            }

            fn put_api_key(&self, key: &$crate::types::ApiKey) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::PutApiKey(key.clone()),
                ))
                .map(drop)
            }

            fn get_api_key_by_hash(
                &self,
                key_hash: alloy_primitives::B256,
            ) -> $crate::Result<Option<$crate::types::ApiKey>> {
                $crate::store::backend::Backend::read_api_key_by_hash(self, key_hash)
            }

            fn list_api_keys(&self, owner: &str) -> $crate::Result<Vec<$crate::types::ApiKey>> {
                $crate::store::backend::Backend::read_api_keys(self, owner)
            }

            fn set_api_key_active(&self, id: &str, active: bool) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::SetApiKeyActive {
                        id: id.to_owned(),
                        active,
                    },
                ))
                .map(drop)
            }
        }

        impl $crate::store::CheckpointStore for $ty {
            fn get_checkpoint(&self, key: &str) -> $crate::Result<Option<Vec<u8>>> {
                $crate::store::backend::Backend::read_checkpoint(self, key)
            }

            fn put_checkpoint(&self, key: &str, value: &[u8]) -> $crate::Result<()> {
                use $crate::store::backend::Backend as _;
                self.commit_batch(&$crate::store::batch::one(
                    $crate::store::WriteOp::PutCheckpoint {
                        key: key.to_owned(),
                        value: value.to_vec(),
                    },
                ))
                .map(drop)
            }
        }

        impl $crate::store::Store for $ty {
            fn commit(
                &self,
                batch: &$crate::store::WriteBatch,
            ) -> $crate::Result<$crate::store::BatchOutcome> {
                $crate::store::backend::Backend::commit_batch(self, batch)
            }

            fn backend(&self) -> &'static str {
                <$ty as $crate::store::backend::Backend>::NAME
            }
        }
    };
}

pub(crate) use impl_store;
