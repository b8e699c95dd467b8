//! The redb tables, their key encodings, and the [`Txn`] over one write transaction.
//!
//! Records are JSON bodies keyed by their id bytes. Secondary indexes are tables of empty
//! values whose keys are `tag ‖ indexed value ‖ record id`, so a filter is a prefix range scan
//! returning ids in id order (which is also the pagination order).

use alloy_primitives::{Address, B256};
use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::RedbResult;
use crate::{
    Error, JobId, Result, TaskId,
    store::batch::Txn,
    types::{ApiKey, Job, JobStatus, Keeper, Task, TaskStatus, TriggerKind, User},
};

pub(super) type Bytes = &'static [u8];

pub(super) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
pub(super) const JOBS: TableDefinition<'_, Bytes, Bytes> = TableDefinition::new("jobs");
pub(super) const JOB_INDEX: TableDefinition<'_, Bytes, ()> = TableDefinition::new("job_index");
pub(super) const TASKS: TableDefinition<'_, Bytes, Bytes> = TableDefinition::new("tasks");
pub(super) const TASK_INDEX: TableDefinition<'_, Bytes, ()> = TableDefinition::new("task_index");
pub(super) const TASK_COUNTS: TableDefinition<'_, &str, u64> = TableDefinition::new("task_counts");
pub(super) const KEEPERS: TableDefinition<'_, Bytes, Bytes> = TableDefinition::new("keepers");
pub(super) const USERS: TableDefinition<'_, Bytes, Bytes> = TableDefinition::new("users");
pub(super) const API_KEYS: TableDefinition<'_, &str, Bytes> = TableDefinition::new("api_keys");
pub(super) const API_KEY_HASHES: TableDefinition<'_, Bytes, &str> =
    TableDefinition::new("api_key_hashes");
pub(super) const API_KEY_OWNERS: TableDefinition<'_, Bytes, ()> =
    TableDefinition::new("api_key_owners");
pub(super) const CHECKPOINTS: TableDefinition<'_, &str, Bytes> =
    TableDefinition::new("checkpoints");
/// The job change feed: revision → job id (one entry per job, at its last write).
pub(super) const JOB_CHANGES: TableDefinition<'_, u64, Bytes> = TableDefinition::new("job_changes");
/// Each job's revision: job id → revision.
pub(super) const JOB_REVISIONS: TableDefinition<'_, Bytes, u64> =
    TableDefinition::new("job_revisions");

/// The schema version stored under `META["schema_version"]`: 1 the initial tables, 2 the job
/// change feed.
pub(super) const SCHEMA_VERSION: u64 = 2;

pub(super) const TAG_OWNER: u8 = b'o';
pub(super) const TAG_STATUS: u8 = b's';
pub(super) const TAG_KIND: u8 = b'k';
pub(super) const TAG_KIND_STATUS: u8 = b'K';
pub(super) const TAG_CHAIN: u8 = b'c';
pub(super) const TAG_JOB: u8 = b'j';
pub(super) const TAG_PERFORMER: u8 = b'p';

pub(super) fn job_key(id: JobId) -> [u8; 32] {
    id.0.to_be_bytes::<32>()
}

pub(super) fn job_status_code(s: JobStatus) -> u8 {
    JobStatus::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(u8::MAX, |i| i as u8)
}

pub(super) fn task_status_code(s: TaskStatus) -> u8 {
    TaskStatus::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(u8::MAX, |i| i as u8)
}

pub(super) fn kind_code(k: TriggerKind) -> u8 {
    match k {
        TriggerKind::Time => 0,
        TriggerKind::Event => 1,
        TriggerKind::Condition => 2,
    }
}

/// `tag ‖ parts…`.
pub(super) fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(tag);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// Every index key of a job.
fn job_index_keys(job: &Job) -> Vec<Vec<u8>> {
    let id = job_key(job.id);
    let status = [job_status_code(job.status)];
    let kind = [kind_code(job.kind())];
    let mut keys = vec![
        key(TAG_OWNER, &[job.owner.as_slice(), &id]),
        key(TAG_STATUS, &[&status, &id]),
        key(TAG_KIND, &[&kind, &id]),
        key(TAG_KIND_STATUS, &[&kind, &status, &id]),
        key(TAG_CHAIN, &[&job.action.chain_id.to_be_bytes(), &id]),
    ];
    if let Some(c) = job.trigger.chain_id()
        && c != job.action.chain_id
    {
        keys.push(key(TAG_CHAIN, &[&c.to_be_bytes(), &id]));
    }
    keys
}

/// Every index key of a task.
fn task_index_keys(task: &Task) -> Vec<Vec<u8>> {
    let id = task.id.0.0;
    let mut keys = vec![
        key(TAG_JOB, &[&job_key(task.job_id), &id]),
        key(TAG_STATUS, &[&[task_status_code(task.status)], &id]),
    ];
    if let Some(p) = task.performer {
        keys.push(key(TAG_PERFORMER, &[p.as_slice(), &id]));
    }
    keys
}

/// The owner index key of an API key: `len(owner) ‖ owner ‖ id`.
pub(super) fn owner_prefix(owner: &str) -> Vec<u8> {
    let len = u32::try_from(owner.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut k = Vec::with_capacity(4 + owner.len());
    k.extend_from_slice(&len);
    k.extend_from_slice(owner.as_bytes());
    k
}

fn api_key_owner_key(key: &ApiKey) -> Vec<u8> {
    let mut k = owner_prefix(&key.owner);
    k.extend_from_slice(key.id.as_bytes());
    k
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Storage {
        backend: "redb",
        message: format!("encoding a record: {e}"),
        retryable: false,
    })
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Corrupt(format!("redb {what} record: {e}")))
}

pub(super) fn get_json<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<Bytes, Bytes>,
    what: &str,
    k: &[u8],
) -> Result<Option<T>> {
    match table.get(k).rdb()? {
        Some(body) => from_json(what, body.value()).map(Some),
        None => Ok(None),
    }
}

/// [`Txn`] over an open write transaction, with every table open.
pub(super) struct RedbTxn<'t> {
    jobs: Table<'t, Bytes, Bytes>,
    job_index: Table<'t, Bytes, ()>,
    tasks: Table<'t, Bytes, Bytes>,
    task_index: Table<'t, Bytes, ()>,
    task_counts: Table<'t, &'static str, u64>,
    keepers: Table<'t, Bytes, Bytes>,
    users: Table<'t, Bytes, Bytes>,
    api_keys: Table<'t, &'static str, Bytes>,
    api_key_hashes: Table<'t, Bytes, &'static str>,
    api_key_owners: Table<'t, Bytes, ()>,
    checkpoints: Table<'t, &'static str, Bytes>,
    job_changes: Table<'t, u64, Bytes>,
    job_revisions: Table<'t, Bytes, u64>,
}

impl<'t> RedbTxn<'t> {
    pub(super) fn open(tx: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            jobs: tx.open_table(JOBS).rdb()?,
            job_index: tx.open_table(JOB_INDEX).rdb()?,
            tasks: tx.open_table(TASKS).rdb()?,
            task_index: tx.open_table(TASK_INDEX).rdb()?,
            task_counts: tx.open_table(TASK_COUNTS).rdb()?,
            keepers: tx.open_table(KEEPERS).rdb()?,
            users: tx.open_table(USERS).rdb()?,
            api_keys: tx.open_table(API_KEYS).rdb()?,
            api_key_hashes: tx.open_table(API_KEY_HASHES).rdb()?,
            api_key_owners: tx.open_table(API_KEY_OWNERS).rdb()?,
            checkpoints: tx.open_table(CHECKPOINTS).rdb()?,
            job_changes: tx.open_table(JOB_CHANGES).rdb()?,
            job_revisions: tx.open_table(JOB_REVISIONS).rdb()?,
        })
    }

    /// Gives job `id` the next revision, moving its feed entry to the end.
    pub(super) fn bump_revision(&mut self, id: &[u8]) -> Result<()> {
        let next = self
            .job_changes
            .last()
            .rdb()?
            .map_or(0, |(k, _)| k.value())
            .saturating_add(1);
        let old = self
            .job_revisions
            .insert(id, next)
            .rdb()?
            .map(|v| v.value());
        if let Some(old) = old {
            self.job_changes.remove(old).rdb()?;
        }
        self.job_changes.insert(next, id).rdb()?;
        Ok(())
    }

    /// Migration 1 → 2: numbers the existing jobs 1..n in id order.
    pub(super) fn backfill_revisions(&mut self) -> Result<()> {
        let ids: Vec<Vec<u8>> = self
            .jobs
            .iter()
            .rdb()?
            .map(|e| e.rdb().map(|(k, _)| k.value().to_vec()))
            .collect::<Result<_>>()?;
        for id in ids {
            self.bump_revision(&id)?;
        }
        Ok(())
    }

    fn bump_count(&mut self, status: TaskStatus, up: bool) -> Result<()> {
        let current = self
            .task_counts
            .get(status.as_str())
            .rdb()?
            .map_or(0, |v| v.value());
        let next = if up {
            current.saturating_add(1)
        } else {
            current.saturating_sub(1)
        };
        self.task_counts.insert(status.as_str(), next).rdb()?;
        Ok(())
    }
}

/// Removes the index keys of `old` that `new` does not have and inserts the new ones.
fn reindex(table: &mut Table<'_, Bytes, ()>, old: Vec<Vec<u8>>, new: Vec<Vec<u8>>) -> Result<()> {
    for k in old.iter().filter(|k| !new.contains(k)) {
        table.remove(k.as_slice()).rdb()?;
    }
    for k in new.iter().filter(|k| !old.contains(k)) {
        table.insert(k.as_slice(), ()).rdb()?;
    }
    Ok(())
}

impl Txn for RedbTxn<'_> {
    fn job(&mut self, id: JobId) -> Result<Option<Job>> {
        get_json(&self.jobs, "job", &job_key(id))
    }

    fn put_job(&mut self, job: &Job, previous: Option<&Job>) -> Result<()> {
        self.jobs
            .insert(job_key(job.id).as_slice(), to_json(job)?.as_slice())
            .rdb()?;
        let old = previous.map(job_index_keys).unwrap_or_default();
        reindex(&mut self.job_index, old, job_index_keys(job))?;
        self.bump_revision(job_key(job.id).as_slice())
    }

    fn task(&mut self, id: TaskId) -> Result<Option<Task>> {
        get_json(&self.tasks, "task", &id.0.0)
    }

    fn put_task(&mut self, task: &Task, previous: Option<&Task>) -> Result<()> {
        self.tasks
            .insert(task.id.0.0.as_slice(), to_json(task)?.as_slice())
            .rdb()?;
        let old = previous.map(task_index_keys).unwrap_or_default();
        reindex(&mut self.task_index, old, task_index_keys(task))?;
        match previous {
            Some(p) if p.status == task.status => {}
            Some(p) => {
                self.bump_count(p.status, false)?;
                self.bump_count(task.status, true)?;
            }
            None => self.bump_count(task.status, true)?,
        }
        Ok(())
    }

    fn keeper(&mut self, address: Address) -> Result<Option<Keeper>> {
        get_json(&self.keepers, "keeper", address.as_slice())
    }

    fn put_keeper(&mut self, keeper: &Keeper, _previous: Option<&Keeper>) -> Result<()> {
        self.keepers
            .insert(keeper.address.as_slice(), to_json(keeper)?.as_slice())
            .rdb()?;
        Ok(())
    }

    fn put_user(&mut self, user: &User) -> Result<()> {
        self.users
            .insert(user.address.as_slice(), to_json(user)?.as_slice())
            .rdb()?;
        Ok(())
    }

    fn api_key(&mut self, id: &str) -> Result<Option<ApiKey>> {
        match self.api_keys.get(id).rdb()? {
            Some(body) => from_json("api key", body.value()).map(Some),
            None => Ok(None),
        }
    }

    fn api_key_id_by_hash(&mut self, key_hash: B256) -> Result<Option<String>> {
        Ok(self
            .api_key_hashes
            .get(key_hash.as_slice())
            .rdb()?
            .map(|v| v.value().to_owned()))
    }

    fn put_api_key(&mut self, key: &ApiKey, previous: Option<&ApiKey>) -> Result<()> {
        if let Some(prev) = previous {
            if prev.key_hash != key.key_hash {
                self.api_key_hashes.remove(prev.key_hash.as_slice()).rdb()?;
            }
            self.api_key_owners
                .remove(api_key_owner_key(prev).as_slice())
                .rdb()?;
        }
        self.api_keys
            .insert(key.id.as_str(), to_json(key)?.as_slice())
            .rdb()?;
        self.api_key_hashes
            .insert(key.key_hash.as_slice(), key.id.as_str())
            .rdb()?;
        self.api_key_owners
            .insert(api_key_owner_key(key).as_slice(), ())
            .rdb()?;
        Ok(())
    }

    fn put_checkpoint(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.checkpoints.insert(key, value).rdb()?;
        Ok(())
    }
}
