//! Forwarding implementations so `&S`, `Box<S>` and `Arc<S>` (including `Arc<dyn Store>` and
//! `Box<dyn Store>`) can be used wherever a storage trait is expected.

use std::{collections::BTreeMap, sync::Arc};

use alloy_primitives::{Address, B256};

use super::{
    BatchOutcome, CheckpointStore, Created, JobChange, JobFilter, JobStore, KeeperFilter,
    KeeperStore, Page, Store, TaskFilter, TaskStore, TaskUpdate, UserStore, WriteBatch,
};
use crate::{
    JobId, Result, TaskId, Timestamp,
    types::{ApiKey, Job, JobStatus, Keeper, Liveness, Task, TaskStatus, User},
};

macro_rules! forward {
    ($($ptr:ty),+) => {$(
        impl<S: JobStore + ?Sized> JobStore for $ptr {
            fn insert_job(&self, job: &Job) -> Result<()> {
                (**self).insert_job(job)
            }
            fn insert_jobs(&self, jobs: &[Job]) -> Result<()> {
                (**self).insert_jobs(jobs)
            }
            fn get_job(&self, id: JobId) -> Result<Option<Job>> {
                (**self).get_job(id)
            }
            fn set_job_status(
                &self,
                id: JobId,
                expected: JobStatus,
                to: JobStatus,
                at: Timestamp,
            ) -> Result<Job> {
                (**self).set_job_status(id, expected, to, at)
            }
            fn replace_job(&self, job: &Job, expected_updated_at: Timestamp) -> Result<()> {
                (**self).replace_job(job, expected_updated_at)
            }
            fn list_jobs(&self, filter: &JobFilter) -> Result<Page<Job>> {
                (**self).list_jobs(filter)
            }
            fn job_revision(&self) -> Result<u64> {
                (**self).job_revision()
            }
            fn list_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>> {
                (**self).list_jobs_changed(after, limit)
            }
        }

        impl<S: TaskStore + ?Sized> TaskStore for $ptr {
            fn create_task(&self, task: &Task) -> Result<Created<Task>> {
                (**self).create_task(task)
            }
            fn create_tasks(&self, tasks: &[Task]) -> Result<Vec<Created<Task>>> {
                (**self).create_tasks(tasks)
            }
            fn get_task(&self, id: TaskId) -> Result<Option<Task>> {
                (**self).get_task(id)
            }
            fn transition_task(
                &self,
                id: TaskId,
                expected: TaskStatus,
                update: &TaskUpdate,
            ) -> Result<Task> {
                (**self).transition_task(id, expected, update)
            }
            fn list_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>> {
                (**self).list_tasks(filter)
            }
            fn count_tasks_by_status(&self) -> Result<BTreeMap<TaskStatus, u64>> {
                (**self).count_tasks_by_status()
            }
        }

        impl<S: KeeperStore + ?Sized> KeeperStore for $ptr {
            fn upsert_keeper(&self, keeper: &Keeper) -> Result<()> {
                (**self).upsert_keeper(keeper)
            }
            fn get_keeper(&self, address: Address) -> Result<Option<Keeper>> {
                (**self).get_keeper(address)
            }
            fn list_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>> {
                (**self).list_keepers(filter)
            }
            fn deregister_keeper(&self, address: Address) -> Result<()> {
                (**self).deregister_keeper(address)
            }
            fn update_keeper_liveness(&self, address: Address, liveness: &Liveness) -> Result<()> {
                (**self).update_keeper_liveness(address, liveness)
            }
        }

        impl<S: UserStore + ?Sized> UserStore for $ptr {
            fn upsert_user(&self, user: &User) -> Result<()> {
                (**self).upsert_user(user)
            }
            fn get_user(&self, address: Address) -> Result<Option<User>> {
                (**self).get_user(address)
            }
            fn put_api_key(&self, key: &ApiKey) -> Result<()> {
                (**self).put_api_key(key)
            }
            fn get_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>> {
                (**self).get_api_key_by_hash(key_hash)
            }
            fn list_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>> {
                (**self).list_api_keys(owner)
            }
            fn set_api_key_active(&self, id: &str, active: bool) -> Result<()> {
                (**self).set_api_key_active(id, active)
            }
        }

        impl<S: CheckpointStore + ?Sized> CheckpointStore for $ptr {
            fn get_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>> {
                (**self).get_checkpoint(key)
            }
            fn put_checkpoint(&self, key: &str, value: &[u8]) -> Result<()> {
                (**self).put_checkpoint(key, value)
            }
        }

        impl<S: Store + ?Sized> Store for $ptr {
            fn commit(&self, batch: &WriteBatch) -> Result<BatchOutcome> {
                (**self).commit(batch)
            }
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
        }
    )+};
}

forward!(&S, Box<S>, Arc<S>);
