//! [`AsyncStore`]: the one adapter through which async code calls the synchronous storage
//! traits, on tokio's blocking pool (`spawn_blocking`), so a disk write never stalls the
//! runtime's worker threads.

use std::sync::Arc;

use super::{
    BatchOutcome, Created, JobChange, JobFilter, Page, Store, TaskFilter, TaskUpdate, WriteBatch,
};
use crate::{
    Error, JobId, Result, TaskId,
    types::{Job, Task, TaskStatus},
};

/// An async handle on a [`Store`]. Cheap to clone.
#[derive(Clone)]
pub struct AsyncStore(Arc<dyn Store>);

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AsyncStore")
            .field(&self.0.backend())
            .finish()
    }
}

impl AsyncStore {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self(store)
    }

    /// The wrapped store, for synchronous callers.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.0
    }

    /// Runs `f` against the store on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Storage {
                backend: "async",
                message: format!("storage task failed: {e}"),
                retryable: false,
            })?
    }

    /// [`Store::commit`].
    pub async fn commit(&self, batch: WriteBatch) -> Result<BatchOutcome> {
        self.run(move |s| s.commit(&batch)).await
    }

    /// [`JobStore::get_job`](super::JobStore::get_job).
    pub async fn get_job(&self, id: JobId) -> Result<Option<Job>> {
        self.run(move |s| s.get_job(id)).await
    }

    /// [`JobStore::list_jobs`](super::JobStore::list_jobs).
    pub async fn list_jobs(&self, filter: JobFilter) -> Result<Page<Job>> {
        self.run(move |s| s.list_jobs(&filter)).await
    }

    /// [`JobStore::job_revision`](super::JobStore::job_revision).
    pub async fn job_revision(&self) -> Result<u64> {
        self.run(|s| s.job_revision()).await
    }

    /// [`JobStore::list_jobs_changed`](super::JobStore::list_jobs_changed).
    pub async fn list_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>> {
        self.run(move |s| s.list_jobs_changed(after, limit)).await
    }

    /// [`TaskStore::create_task`](super::TaskStore::create_task).
    pub async fn create_task(&self, task: Task) -> Result<Created<Task>> {
        self.run(move |s| s.create_task(&task)).await
    }

    /// [`TaskStore::get_task`](super::TaskStore::get_task).
    pub async fn get_task(&self, id: TaskId) -> Result<Option<Task>> {
        self.run(move |s| s.get_task(id)).await
    }

    /// [`TaskStore::transition_task`](super::TaskStore::transition_task).
    pub async fn transition_task(
        &self,
        id: TaskId,
        expected: TaskStatus,
        update: TaskUpdate,
    ) -> Result<Task> {
        self.run(move |s| s.transition_task(id, expected, &update))
            .await
    }

    /// [`TaskStore::list_tasks`](super::TaskStore::list_tasks).
    pub async fn list_tasks(&self, filter: TaskFilter) -> Result<Page<Task>> {
        self.run(move |s| s.list_tasks(&filter)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Timestamp,
        ids::Occurrence,
        store::MemoryStore,
        types::{Evidence, TaskStatus},
    };

    #[tokio::test]
    async fn calls_run_on_the_blocking_pool() {
        let store = AsyncStore::new(Arc::new(MemoryStore::new()));
        let due = Timestamp::from_secs(10);
        let occ = Occurrence::Time {
            job: JobId::from_u64(1),
            due,
        };
        let task = Task::new(occ, Evidence::Time { due }, due);
        assert!(store.create_task(task.clone()).await.unwrap().is_inserted());
        assert!(!store.create_task(task.clone()).await.unwrap().is_inserted());
        let got = store.get_task(task.id).await.unwrap().unwrap();
        assert_eq!(got.status, TaskStatus::Created);
        let err = store
            .transition_task(
                task.id,
                TaskStatus::Assigned,
                TaskUpdate::new(TaskStatus::Executed, due),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    }
}
