//! [`SqliteStore`]: one SQLite file in WAL mode (rusqlite, bundled SQLite).
//!
//! One writer connection behind a mutex runs every write as a `BEGIN IMMEDIATE` transaction
//! (so a second process waits for `busy_timeout` instead of failing mid-transaction); a small
//! pool of read connections serves reads concurrently with the writer (WAL readers see the
//! last committed state). The schema is versioned by `PRAGMA user_version`; see
//! [`SqliteStore::SCHEMA_VERSION`] and `docs/storage.md` for the tables.

mod schema;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use alloy_primitives::{Address, B256};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, types::Value};

use self::schema::{SqliteTxn, addr, chain, from_json, job_key, migrate};
use super::{
    BatchOutcome, JobChange, JobFilter, KeeperFilter, Page, TaskFilter, WriteBatch,
    backend::{Backend, impl_store, zero_counts},
    batch::apply,
};
use crate::{
    Error, JobId, Result, TaskId,
    types::{ApiKey, Job, Keeper, Task, TaskStatus, User},
};

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `synchronous = FULL`: a commit is on disk when `commit` returns, even across power
    /// loss. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: commits survive a process crash (SIGKILL) but the last ones
    /// may be lost on power loss; much faster for many small commits.
    Normal,
}

/// Options for [`SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a write waits for another connection's lock before failing with a retryable
    /// error. Default 5 s.
    pub busy_timeout: Duration,
    /// Durability of commits. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// Read connections kept open for reuse. Default 4.
    pub max_readers: usize,
    /// Page cache per connection, in KiB (`PRAGMA cache_size = -n`). Default 32 MiB.
    pub cache_kib: u32,
    /// Bytes of the file read through memory mapping (`PRAGMA mmap_size`); 0 turns it off.
    /// Default 256 MiB.
    pub mmap_bytes: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            max_readers: 4,
            cache_kib: 32 * 1024,
            mmap_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A [`Store`](super::Store) in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// Maps rusqlite results into the crate's error; busy and locked are retryable.
pub(super) trait SqlResult<T> {
    fn db(self) -> Result<T>;
}

impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(|e| {
            let retryable = matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
            Error::Storage {
                backend: "sqlite",
                message: e.to_string(),
                retryable,
            }
        })
    }
}

fn poisoned() -> Error {
    Error::Storage {
        backend: "sqlite",
        message: "connection lock poisoned by a panic in another thread".to_owned(),
        retryable: false,
    }
}

impl SqliteStore {
    /// The schema version this build creates and understands (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: u32 = schema::MIGRATIONS.len() as u32;

    /// Opens (creating if needed) the database at `path` with default options, applying any
    /// pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the database at `path`, applying any pending migrations.
    /// Fails if the file has a schema version newer than [`Self::SCHEMA_VERSION`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).db()?;
        writer.busy_timeout(options.busy_timeout).db()?;
        tune(&writer, &options)?;
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Storage {
                backend: "sqlite",
                message: format!("could not enable WAL mode (journal_mode is {mode})"),
                retryable: false,
            });
        }
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        writer.pragma_update(None, "synchronous", sync).db()?;
        writer.set_prepared_statement_cache_capacity(64);
        migrate(&mut writer)?;
        Ok(Self {
            path,
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_reader(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).db()?;
        conn.busy_timeout(self.options.busy_timeout).db()?;
        tune(&conn, &self.options)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn pool(&self) -> Result<MutexGuard<'_, Vec<Connection>>> {
        self.readers.lock().map_err(|_| poisoned())
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.pool()?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let out = f(&conn);
        let mut pool = self.pool()?;
        if pool.len() < self.options.max_readers {
            pool.push(conn);
        }
        out
    }

    fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        args: Vec<Value>,
    ) -> Result<Vec<T>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql).db()?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))
                .db()?;
            rows.map(|body| from_json(what, &body.db()?)).collect()
        })
    }

    fn body<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        key: Value,
    ) -> Result<Option<T>> {
        Ok(self.bodies(what, sql, vec![key])?.pop())
    }
}

/// Per-connection cache and memory-mapping settings.
fn tune(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))
        .db()?;
    let mmap = i64::try_from(options.mmap_bytes).unwrap_or(i64::MAX);
    // `PRAGMA mmap_size` answers with the size it set.
    let _: i64 = conn
        .query_row(&format!("PRAGMA mmap_size = {mmap}"), [], |r| r.get(0))
        .db()?;
    Ok(())
}

fn blob(bytes: &[u8]) -> Value {
    Value::Blob(bytes.to_vec())
}

fn limit_clause(sql: &mut String, args: &mut Vec<Value>, limit: Option<usize>) {
    if let Some(limit) = limit {
        sql.push_str(" LIMIT ?");
        args.push(Value::Integer(
            i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
    }
}

impl Backend for SqliteStore {
    const NAME: &'static str = "sqlite";

    fn commit_batch(&self, batch: &WriteBatch) -> Result<BatchOutcome> {
        if batch.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let mut conn = self.writer.lock().map_err(|_| poisoned())?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        // On error the transaction is dropped, which rolls it back.
        let outcome = apply(&mut SqliteTxn { conn: &tx }, batch)?;
        tx.commit().db()?;
        Ok(outcome)
    }

    fn read_job(&self, id: JobId) -> Result<Option<Job>> {
        self.body(
            "job",
            "SELECT body FROM jobs WHERE id = ?1",
            blob(&job_key(id)),
        )
    }

    fn read_jobs(&self, filter: &JobFilter) -> Result<Page<Job>> {
        let mut sql = String::from("SELECT body FROM jobs WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(owner) = filter.owner {
            sql.push_str(" AND owner = ?");
            args.push(blob(&addr(owner)));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(kind) = filter.kind {
            sql.push_str(" AND kind = ?");
            args.push(Value::Text(kind.as_str().to_owned()));
        }
        if let Some(c) = filter.chain_id {
            sql.push_str(" AND (trigger_chain = ? OR action_chain = ?)");
            args.push(Value::Integer(chain(c)));
            args.push(Value::Integer(chain(c)));
        }
        if let Some(after) = filter.after {
            sql.push_str(" AND id > ?");
            args.push(blob(&job_key(after)));
        }
        sql.push_str(" ORDER BY id");
        limit_clause(&mut sql, &mut args, filter.limit);
        Ok(Page::from_overfetch(
            self.bodies("job", &sql, args)?,
            filter.limit,
        ))
    }

    fn read_job_revision(&self) -> Result<u64> {
        self.read(|conn| {
            let head: i64 = conn
                .prepare_cached("SELECT COALESCE(MAX(revision), 0) FROM jobs")
                .db()?
                .query_row([], |r| r.get(0))
                .db()?;
            Ok(u64::try_from(head).unwrap_or(0))
        })
    }

    fn read_jobs_changed(&self, after: u64, limit: usize) -> Result<Vec<JobChange>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT revision, body FROM jobs WHERE revision > ?1
                     ORDER BY revision LIMIT ?2",
                )
                .db()?;
            let rows = stmt
                .query_map(rusqlite::params![after, limit], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .db()?;
            rows.map(|row| {
                let (revision, body) = row.db()?;
                Ok(JobChange {
                    revision: u64::try_from(revision).unwrap_or(0),
                    job: from_json("job", &body)?,
                })
            })
            .collect()
        })
    }

    fn read_task(&self, id: TaskId) -> Result<Option<Task>> {
        self.body(
            "task",
            "SELECT body FROM tasks WHERE id = ?1",
            blob(&id.0.0),
        )
    }

    fn read_tasks(&self, filter: &TaskFilter) -> Result<Page<Task>> {
        let mut sql = String::from("SELECT body FROM tasks WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(job) = filter.job_id {
            sql.push_str(" AND job_id = ?");
            args.push(blob(&job_key(job)));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(p) = filter.performer {
            sql.push_str(" AND performer = ?");
            args.push(blob(&addr(p)));
        }
        if let Some(after) = filter.after {
            sql.push_str(" AND id > ?");
            args.push(blob(&after.0.0));
        }
        sql.push_str(" ORDER BY id");
        limit_clause(&mut sql, &mut args, filter.limit);
        Ok(Page::from_overfetch(
            self.bodies("task", &sql, args)?,
            filter.limit,
        ))
    }

    fn read_task_counts(&self) -> Result<BTreeMap<TaskStatus, u64>> {
        self.read(|conn| {
            let mut counts = zero_counts();
            let mut stmt = conn
                .prepare_cached("SELECT status, COUNT(*) FROM tasks GROUP BY status")
                .db()?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .db()?;
            for row in rows {
                let (status, n) = row.db()?;
                let status = TaskStatus::parse(&status).ok_or_else(|| {
                    Error::Corrupt(format!("sqlite tasks: unknown status {status:?}"))
                })?;
                counts.insert(status, u64::try_from(n).unwrap_or(0));
            }
            Ok(counts)
        })
    }

    fn read_keeper(&self, address: Address) -> Result<Option<Keeper>> {
        self.body(
            "keeper",
            "SELECT body FROM keepers WHERE address = ?1",
            blob(&addr(address)),
        )
    }

    fn read_keepers(&self, filter: &KeeperFilter) -> Result<Vec<Keeper>> {
        let mut sql = String::from("SELECT body FROM keepers WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(r) = filter.registered {
            sql.push_str(" AND registered = ?");
            args.push(Value::Integer(i64::from(r)));
        }
        if let Some(o) = filter.online {
            sql.push_str(" AND online = ?");
            args.push(Value::Integer(i64::from(o)));
        }
        sql.push_str(" ORDER BY address");
        self.bodies("keeper", &sql, args)
    }

    fn read_user(&self, address: Address) -> Result<Option<User>> {
        self.body(
            "user",
            "SELECT body FROM users WHERE address = ?1",
            blob(&addr(address)),
        )
    }

    fn read_api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>> {
        self.body(
            "api key",
            "SELECT body FROM api_keys WHERE key_hash = ?1",
            blob(&key_hash.0),
        )
    }

    fn read_api_keys(&self, owner: &str) -> Result<Vec<ApiKey>> {
        self.bodies(
            "api key",
            "SELECT body FROM api_keys WHERE owner = ?1 ORDER BY id",
            vec![Value::Text(owner.to_owned())],
        )
    }

    fn read_checkpoint(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            use rusqlite::OptionalExtension as _;
            conn.prepare_cached("SELECT value FROM checkpoints WHERE key = ?1")
                .db()?
                .query_row([key], |r| r.get(0))
                .optional()
                .db()
        })
    }
}

impl_store!(SqliteStore);
