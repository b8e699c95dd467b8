//! [`RedbStore`]: one redb file (pure Rust, copy-on-write B-trees, crash-safe commits).
//!
//! Every write is one redb write transaction committed with `Durability::Immediate`; redb
//! serialises writers, and readers see the last committed snapshot. Records are JSON bodies
//! keyed by id, with index tables for the filters (see `docs/storage.md`).

mod tables;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use alloy_primitives::{Address, B256};
use redb::{Database, ReadableDatabase, ReadableTable};

use self::tables::{
    API_KEY_HASHES, API_KEY_OWNERS, API_KEYS, Bytes, CHECKPOINTS, JOB_CHANGES, JOB_INDEX, JOBS,
    KEEPERS, META, RedbTxn, SCHEMA_VERSION, TAG_CHAIN, TAG_JOB, TAG_KIND, TAG_KIND_STATUS,
    TAG_OWNER, TAG_PERFORMER, TAG_STATUS, TASK_COUNTS, TASK_INDEX, TASKS, USERS, from_json,
    get_json, job_key, job_status_code, key, kind_code, owner_prefix, task_status_code,
};
use super::{
    BatchOutcome, JobChange, JobFilter, KeeperFilter, Page, TaskFilter, WriteBatch,
    backend::{Backend, impl_store, zero_counts},
    batch::apply,
};
use crate::{
    Error, JobId, Result, TaskId,
    types::{ApiKey, Job, Keeper, Task, TaskStatus, User},
};

/// A [`Store`](super::Store) in one redb file.
pub struct RedbStore {
    path: PathBuf,
    db: Database,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Maps redb results into the crate's error.
pub(super) trait RedbResult<T> {
    fn rdb(self) -> Result<T>;
}

impl<T, E: Into<redb::Error>> RedbResult<T> for std::result::Result<T, E> {
    fn rdb(self) -> Result<T> {
        self.map_err(|e| {
            let e: redb::Error = e.into();
            Error::Storage {
                backend: "redb",
                message: e.to_string(),
                retryable: false,
            }
        })
    }
}

impl RedbStore {
    /// The schema version this build creates and understands.
    pub const SCHEMA_VERSION: u64 = SCHEMA_VERSION;

    /// Opens (creating if needed) the database at `path`. A file left by a crashed process is
    /// repaired by redb on open; the last committed transaction is the state found.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).rdb()?;
        let store = Self { path, db };
        store.init()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(&self) -> Result<()> {
        let tx = self.db.begin_write().rdb()?;
        {
            let mut meta = tx.open_table(META).rdb()?;
            let version = meta.get("schema_version").rdb()?.map(|v| v.value());
            // Creates every table, so read transactions can open them.
            let mut txn = RedbTxn::open(&tx)?;
            match version {
                None => {}
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(Error::Storage {
                        backend: "redb",
                        message: format!(
                            "the database has schema version {v}, newer than the \
                             {SCHEMA_VERSION} this build knows"
                        ),
                        retryable: false,
                    });
                }
                // 1 → 2: the job change feed.
                Some(1) => txn.backfill_revisions()?,
                Some(_) => {}
            }
            drop(txn);
            meta.insert("schema_version", SCHEMA_VERSION).rdb()?;
        }
        tx.commit().rdb()
    }
}

/// Visits the ids stored after `prefix` in an index, in order, starting after `after`.
/// `visit` returns whether to continue.
fn scan_index(
    index: &impl ReadableTable<Bytes, ()>,
    prefix: &[u8],
    after: Option<&[u8]>,
    mut visit: impl FnMut(&[u8]) -> Result<bool>,
) -> Result<()> {
    let start = match after {
        Some(a) => [prefix, a].concat(),
        None => prefix.to_vec(),
    };
    for entry in index.range(start.as_slice()..).rdb()? {
        let (k, ()) = (entry.rdb()?.0, ());
        let k = k.value();
        if !k.starts_with(prefix) {
            break;
        }
        let id = &k[prefix.len()..];
        if after == Some(id) {
            continue;
        }
        if !visit(id)? {
            break;
        }
    }
    Ok(())
}

/// Visits the records of a table in key order, starting after `after`.
fn scan_table(
    table: &impl ReadableTable<Bytes, Bytes>,
    after: Option<&[u8]>,
    mut visit: impl FnMut(&[u8]) -> Result<bool>,
) -> Result<()> {
    let start = after.unwrap_or(&[]);
    for entry in table.range(start..).rdb()? {
        let (k, v) = entry.rdb()?;
        if after == Some(k.value()) {
            continue;
        }
        if !visit(v.value())? {
            break;
        }
    }
    Ok(())
}

/// Lists records through the most selective index prefix (or the table), applying `keep` to
/// each decoded record.
fn list<T: serde::de::DeserializeOwned + super::Keyed>(
    what: &str,
    records: &impl ReadableTable<Bytes, Bytes>,
    index: &impl ReadableTable<Bytes, ()>,
    prefix: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
    limit: Option<usize>,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>> {
    let want = limit.map_or(usize::MAX, |l| l.saturating_add(1));
    let mut items = Vec::new();
    let mut take = |body: &[u8]| -> Result<bool> {
        let item: T = from_json(what, body)?;
        if keep(&item) {
            items.push(item);
        }
        Ok(items.len() < want)
    };
    match prefix {
        Some(prefix) => scan_index(index, &prefix, after.as_deref(), |id| {
            let body = records.get(id).rdb()?.ok_or_else(|| {
                Error::Corrupt(format!("redb {what} index names a missing record"))
            })?;
            take(body.value())
        })?,
        None => scan_table(records, after.as_deref(), take)?,
    }
    Ok(Page::from_overfetch(items, limit))
}

impl Backend for RedbStore {
    const NAME: &'static str = "redb";

    fn commit_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome> {
        if batch.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let tx = self.db.begin_write().rdb()?;
        let outcome = {
            let mut txn = RedbTxn::open(&tx)?;
            apply(&mut txn, batch)
        };
        match outcome {
            Ok(outcome) => {
                tx.commit().rdb()?;
                Ok(outcome)
            }
            Err(e) => {
                tx.abort().rdb()?;
                Err(e)
            }
        }
    }

    fn read_job(&self, id: JobId) -> Result<Option<Job>> {
        let rtx = self.db.begin_read().rdb()?;
        get_json(&rtx.open_table(JOBS).rdb()?, "job", &job_key(id))
    }

    fn read_jobs(&self, filter: &JobFilter) -> Result<Page<Job>> {
        let rtx = self.db.begin_read().rdb()?;
        let jobs = rtx.open_table(JOBS).rdb()?;
        let index = rtx.open_table(JOB_INDEX).rdb()?;
        let prefix = if let Some(owner) = filter.owner {
            Some(key(TAG_OWNER, &[owner.as_slice()]))
        } else if let Some(c) = filter.chain_id {
            Some(key(TAG_CHAIN, &[&c.to_be_bytes()]))
        } else if let Some(kind) = filter.kind {
            let kind = [kind_code(kind)];
            match filter.status {
                Some(s) => Some(key(TAG_KIND_STATUS, &[&kind, &[job_status_code(s)]])),
                None => Some(key(TAG_KIND, &[&kind])),
            }
        } else {
            filter
                .status
                .map(|s| key(TAG_STATUS, &[&[job_status_code(s)]]))
        };
        let after = filter.after.map(|a| job_key(a).to_vec());
        list("job", &jobs, &index, prefix, after, filter.limit, |j| {
            filter.matches(j)
        })
    }

    fn read_job_revision(&self) -> Result<u64> {
        let rtx = self.db.begin_read().rdb()?;
        let changes = rtx.open_table(JOB_CHANGES).rdb()?;
        Ok(changes.last().rdb()?.map_or(0, |(k, _)| k.value()))
    }

    fn read_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>> {
        let rtx = self.db.begin_read().rdb()?;
        let changes = rtx.open_table(JOB_CHANGES).rdb()?;
        let jobs = rtx.open_table(JOBS).rdb()?;
        let mut out = Vec::new();
        let Some(start) = after.checked_add(1) else {
            return Ok(out);
        };
        for entry in changes.range(start..).rdb()?.take(limit) {
            let (revision, id) = entry.rdb()?;
            let job = get_json(&jobs, "job", id.value())?
                .ok_or_else(|| Error::Corrupt("redb job feed names a missing job".to_owned()))?;
            out.push(JobChange {
                revision: revision.value(),
                job,
            });
        }
        Ok(out)
    }

    fn read_task(&self, id: TaskId) -> Result<Option<Task>> {
        let rtx = self.db.begin_read().rdb()?;
        get_json(&rtx.open_table(TASKS).rdb()?, "task", &id.0.0)
    }

    fn read_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>> {
        let rtx = self.db.begin_read().rdb()?;
        let tasks = rtx.open_table(TASKS).rdb()?;
        let index = rtx.open_table(TASK_INDEX).rdb()?;
        let prefix = if let Some(job) = filter.job_id {
            Some(key(TAG_JOB, &[&job_key(job)]))
        } else if let Some(p) = filter.performer {
            Some(key(TAG_PERFORMER, &[p.as_slice()]))
        } else {
            filter
                .status
                .map(|s| key(TAG_STATUS, &[&[task_status_code(s)]]))
        };
        let after = filter.after.map(|a| a.0.0.to_vec());
        list("task", &tasks, &index, prefix, after, filter.limit, |t| {
            filter.matches(t)
        })
    }

    fn read_task_counts(&self) -> Result<BTreeMap<TaskStatus, u64>> {
        let rtx = self.db.begin_read().rdb()?;
        let table = rtx.open_table(TASK_COUNTS).rdb()?;
        let mut counts = zero_counts();
        for (status, n) in &mut counts {
            *n = table.get(status.as_str()).rdb()?.map_or(0, |v| v.value());
        }
        Ok(counts)
    }

    fn read_keeper(&self, address: Address) -> Result<Option<Keeper>> {
        let rtx = self.db.begin_read().rdb()?;
        get_json(
            &rtx.open_table(KEEPERS).rdb()?,
            "keeper",
            address.as_slice(),
        )
    }

    fn read_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>> {
        let rtx = self.db.begin_read().rdb()?;
        let table = rtx.open_table(KEEPERS).rdb()?;
        let mut out = Vec::new();
        scan_table(&table, None, |body| {
            let k: Keeper = from_json("keeper", body)?;
            if filter.matches(&k) {
                out.push(k);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    fn read_user(&self, address: Address) -> Result<Option<User>> {
        let rtx = self.db.begin_read().rdb()?;
        get_json(&rtx.open_table(USERS).rdb()?, "user", address.as_slice())
    }

    fn read_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>> {
        let rtx = self.db.begin_read().rdb()?;
        let hashes = rtx.open_table(API_KEY_HASHES).rdb()?;
        let Some(id) = hashes.get(key_hash.as_slice()).rdb()? else {
            return Ok(None);
        };
        let keys = rtx.open_table(API_KEYS).rdb()?;
        let body = keys.get(id.value()).rdb()?;
        body.map(|b| from_json("api key", b.value())).transpose()
    }

    fn read_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>> {
        let rtx = self.db.begin_read().rdb()?;
        let owners = rtx.open_table(API_KEY_OWNERS).rdb()?;
        let keys = rtx.open_table(API_KEYS).rdb()?;
        let mut out = Vec::new();
        scan_index(&owners, &owner_prefix(owner), None, |id| {
            let id = std::str::from_utf8(id)
                .map_err(|_| Error::Corrupt("redb api key owner index: id not UTF-8".into()))?;
            if let Some(body) = keys.get(id).rdb()? {
                out.push(from_json("api key", body.value())?);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    fn read_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let rtx = self.db.begin_read().rdb()?;
        let table = rtx.open_table(CHECKPOINTS).rdb()?;
        Ok(table.get(key).rdb()?.map(|v| v.value().to_vec()))
    }
}

impl_store!(RedbStore);

#[cfg(all(test, feature = "test-utils"))]
mod tests {
    use super::{tables::to_json, *};
    use crate::{
        store::{
            JobStore,
            conformance::{fixtures::T0, job_set},
        },
        types::JobStatus,
    };

    #[test]
    fn schema_1_files_get_the_job_feed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        let mut jobs = job_set();
        {
            // What a schema-1 build left: the version and the job records.
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            {
                tx.open_table(META)
                    .unwrap()
                    .insert("schema_version", 1)
                    .unwrap();
                let mut table = tx.open_table(JOBS).unwrap();
                for job in &jobs {
                    table
                        .insert(job_key(job.id).as_slice(), to_json(job).unwrap().as_slice())
                        .unwrap();
                }
            }
            tx.commit().unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        jobs.sort_by_key(|j| j.id);
        let feed = store.list_jobs_changed(0, 100).unwrap();
        let revisions: Vec<u64> = feed.iter().map(|c| c.revision).collect();
        assert_eq!(revisions, (1..=jobs.len() as u64).collect::<Vec<_>>());
        assert_eq!(feed.into_iter().map(|c| c.job).collect::<Vec<_>>(), jobs);
        store
            .set_job_status(jobs[2].id, JobStatus::Active, JobStatus::Paused, T0)
            .unwrap();
        assert_eq!(store.job_revision().unwrap(), jobs.len() as u64 + 1);
        drop(store);
        let store = RedbStore::open(&path).unwrap();
        let rtx = store.db.begin_read().unwrap();
        let version = rtx.open_table(META).unwrap().get("schema_version").unwrap();
        assert_eq!(version.map(|v| v.value()), Some(SCHEMA_VERSION));
        assert_eq!(store.list_jobs_changed(0, 100).unwrap().len(), jobs.len());
    }
}
