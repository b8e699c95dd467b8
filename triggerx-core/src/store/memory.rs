//! [`MemoryStore`]: everything in process memory, behind one lock. For tests, embedded
//! devnets and as the reference behaviour of the conformance suite; nothing survives the
//! process.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Bound,
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use alloy_primitives::{Address, B256};

use super::{
    BatchOutcome, JobChange, JobFilter, KeeperFilter, Page, TaskFilter, WriteBatch,
    backend::{Backend, impl_store, zero_counts},
    batch::{Txn, apply},
};
use crate::{
    Error, JobId, Result, TaskId,
    types::{ApiKey, Job, Keeper, Task, TaskStatus, User},
};

#[derive(Debug, Default, Clone)]
struct State {
    jobs: BTreeMap<JobId, Job>,
    /// The revision of the last job write.
    job_revision: u64,
    /// Each job's revision, and the change feed (revision → job).
    job_revisions: HashMap<JobId, u64>,
    changes: BTreeMap<u64, JobId>,
    tasks: BTreeMap<TaskId, Task>,
    keepers: BTreeMap<Address, Keeper>,
    users: BTreeMap<Address, User>,
    api_keys: BTreeMap<String, ApiKey>,
    api_key_ids: HashMap<B256, String>,
    checkpoints: BTreeMap<String, Vec<u8>>,
}

/// An in-memory [`Store`](super::Store).
///
/// Batches are atomic: writes are staged and merged into the state only when every write of
/// the batch succeeded, under one write lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, State>> {
        self.state.read().map_err(|_| poisoned())
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, State>> {
        self.state.write().map_err(|_| poisoned())
    }
}

fn poisoned() -> Error {
    Error::Storage {
        backend: "memory",
        message: "lock poisoned by a panic in another thread".to_owned(),
        retryable: false,
    }
}

/// Staged writes over a borrowed state; reads look at the staged writes first.
struct MemTxn<'a> {
    base: &'a State,
    staged: Staged,
}

#[derive(Default)]
struct Staged {
    jobs: BTreeMap<JobId, Job>,
    /// The last revision this batch gave out, and each staged job's revision.
    job_revision: Option<u64>,
    job_revisions: HashMap<JobId, u64>,
    tasks: BTreeMap<TaskId, Task>,
    keepers: BTreeMap<Address, Keeper>,
    users: BTreeMap<Address, User>,
    api_keys: BTreeMap<String, ApiKey>,
    api_key_ids: HashMap<B256, Option<String>>,
    checkpoints: BTreeMap<String, Vec<u8>>,
}

impl Staged {
    fn merge_into(self, state: &mut State) {
        state.jobs.extend(self.jobs);
        if let Some(head) = self.job_revision {
            state.job_revision = head;
        }
        for (id, revision) in self.job_revisions {
            if let Some(old) = state.job_revisions.insert(id, revision) {
                state.changes.remove(&old);
            }
            state.changes.insert(revision, id);
        }
        state.tasks.extend(self.tasks);
        state.keepers.extend(self.keepers);
        state.users.extend(self.users);
        state.api_keys.extend(self.api_keys);
        for (hash, id) in self.api_key_ids {
            match id {
                Some(id) => state.api_key_ids.insert(hash, id),
                None => state.api_key_ids.remove(&hash),
            };
        }
        state.checkpoints.extend(self.checkpoints);
    }
}

impl Txn for MemTxn<'_> {
    fn job(&mut self, id: JobId) -> Result<Option<Job>> {
        Ok(self
            .staged
            .jobs
            .get(&id)
            .or_else(|| self.base.jobs.get(&id))
            .cloned())
    }

    fn put_job(&mut self, job: &Job, _previous: Option<&Job>) -> Result<()> {
        let revision = self
            .staged
            .job_revision
            .unwrap_or(self.base.job_revision)
            .saturating_add(1);
        self.staged.job_revision = Some(revision);
        self.staged.job_revisions.insert(job.id, revision);
        self.staged.jobs.insert(job.id, job.clone());
        Ok(())
    }

    fn task(&mut self, id: TaskId) -> Result<Option<Task>> {
        Ok(self
            .staged
            .tasks
            .get(&id)
            .or_else(|| self.base.tasks.get(&id))
            .cloned())
    }

    fn put_task(&mut self, task: &Task, _previous: Option<&Task>) -> Result<()> {
        self.staged.tasks.insert(task.id, task.clone());
        Ok(())
    }

    fn keeper(&mut self, address: Address) -> Result<Option<Keeper>> {
        Ok(self
            .staged
            .keepers
            .get(&address)
            .or_else(|| self.base.keepers.get(&address))
            .cloned())
    }

    fn put_keeper(&mut self, keeper: &Keeper, _previous: Option<&Keeper>) -> Result<()> {
        self.staged.keepers.insert(keeper.address, keeper.clone());
        Ok(())
    }

    fn put_user(&mut self, user: &User) -> Result<()> {
        self.staged.users.insert(user.address, user.clone());
        Ok(())
    }

    fn api_key(&mut self, id: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .staged
            .api_keys
            .get(id)
            .or_else(|| self.base.api_keys.get(id))
            .cloned())
    }

    fn api_key_id_by_hash(&mut self, key_hash: B256) -> Result<Option<String>> {
        Ok(match self.staged.api_key_ids.get(&key_hash) {
            Some(staged) => staged.clone(),
            None => self.base.api_key_ids.get(&key_hash).cloned(),
        })
    }

    fn put_api_key(&mut self, key: &ApiKey, previous: Option<&ApiKey>) -> Result<()> {
        if let Some(prev) = previous
            && prev.key_hash != key.key_hash
        {
            self.staged.api_key_ids.insert(prev.key_hash, None);
        }
        self.staged
            .api_key_ids
            .insert(key.key_hash, Some(key.id.clone()));
        self.staged.api_keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    fn put_checkpoint(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.staged
            .checkpoints
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}

fn page<K: Ord + Copy, T: super::Keyed + Clone>(
    map: &BTreeMap<K, T>,
    after: Option<K>,
    limit: Option<usize>,
    keep: impl Fn(&T) -> bool,
) -> Page<T> {
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    let items = map
        .range((lower, Bound::Unbounded))
        .map(|(_, v)| v)
        .filter(|v| keep(v))
        .take(limit.map_or(usize::MAX, |l| l.saturating_add(1)))
        .cloned()
        .collect();
    Page::from_overfetch(items, limit)
}

impl Backend for MemoryStore {
    const NAME: &'static str = "memory";

    fn commit_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome> {
        let mut state = self.write()?;
        let mut tx = MemTxn {
            base: &state,
            staged: Staged::default(),
        };
        let outcome = apply(&mut tx, batch)?;
        let staged = tx.staged;
        staged.merge_into(&mut state);
        Ok(outcome)
    }

    fn read_job(&self, id: JobId) -> Result<Option<Job>> {
        Ok(self.read()?.jobs.get(&id).cloned())
    }

    fn read_jobs(&self, filter: &JobFilter) -> Result<Page<Job>> {
        let state = self.read()?;
        Ok(page(&state.jobs, filter.after, filter.limit, |j| {
            filter.matches(j)
        }))
    }

    fn read_job_revision(&self) -> Result<u64> {
        Ok(self.read()?.job_revision)
    }

    fn read_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>> {
        let state = self.read()?;
        state
            .changes
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .map(|(revision, id)| {
                let job = state.jobs.get(id).cloned().ok_or_else(|| {
                    Error::Corrupt(format!("memory job feed names a missing job {id}"))
                })?;
                Ok(JobChange {
                    revision: *revision,
                    job,
                })
            })
            .collect()
    }

    fn read_task(&self, id: TaskId) -> Result<Option<Task>> {
        Ok(self.read()?.tasks.get(&id).cloned())
    }

    fn read_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>> {
        let state = self.read()?;
        Ok(page(&state.tasks, filter.after, filter.limit, |t| {
            filter.matches(t)
        }))
    }

    fn read_task_counts(&self) -> Result<BTreeMap<TaskStatus, u64>> {
        let mut counts = zero_counts();
        for task in self.read()?.tasks.values() {
            *counts.entry(task.status).or_default() += 1;
        }
        Ok(counts)
    }

    fn read_keeper(&self, address: Address) -> Result<Option<Keeper>> {
        Ok(self.read()?.keepers.get(&address).cloned())
    }

    fn read_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>> {
        Ok(self
            .read()?
            .keepers
            .values()
            .filter(|k| filter.matches(k))
            .cloned()
            .collect())
    }

    fn read_user(&self, address: Address) -> Result<Option<User>> {
        Ok(self.read()?.users.get(&address).cloned())
    }

    fn read_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>> {
        let state = self.read()?;
        Ok(state
            .api_key_ids
            .get(&key_hash)
            .and_then(|id| state.api_keys.get(id))
            .cloned())
    }

    fn read_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>> {
        Ok(self
            .read()?
            .api_keys
            .values()
            .filter(|k| k.owner == owner)
            .cloned()
            .collect())
    }

    fn read_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.read()?.checkpoints.get(key).cloned())
    }
}

impl_store!(MemoryStore);
