//! Backend-specific behaviour the conformance suite cannot express generically: SQLite's
//! migrations, WAL mode and busy handling; redb's schema check and single-open lock.
#![cfg(feature = "test-utils")]

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::time::Duration;

    use triggerx_core::{
        Error, JobId,
        store::{
            CheckpointStore, JobStore, Store, WriteBatch,
            conformance::fixtures::{address, time_job},
            sqlite::{SqliteOptions, SqliteStore},
        },
    };

    #[test]
    fn creates_the_schema_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .insert_job(&time_job(JobId::from_u64(1), address(1), 1))
            .unwrap();
        drop(store);
        let raw = rusqlite::Connection::open(&path).unwrap();
        let version: u32 = raw
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SqliteStore::SCHEMA_VERSION);
        let mode: String = raw
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        let (status, kind): (String, String) = raw
            .query_row("SELECT status, kind FROM jobs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((status.as_str(), kind.as_str()), ("active", "time"));
        let indexes: i64 = raw
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' \
                 AND name LIKE 'jobs_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // The five filter indexes and the change feed's `jobs_revision`.
        assert_eq!(indexes, 6);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(SqliteStore::open(&path).unwrap());
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 1)
            .unwrap();
        drop(raw);
        match SqliteStore::open(&path) {
            Err(Error::Storage {
                backend: "sqlite",
                message,
                retryable: false,
            }) => {
                assert!(message.contains("newer"), "{message}");
            }
            other => panic!("expected a schema version error, got {other:?}"),
        }
    }

    #[test]
    fn reopening_an_up_to_date_file_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        store.put_checkpoint("k", b"v").unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get_checkpoint("k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_locked_database_is_a_retryable_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let options = SqliteOptions {
            busy_timeout: Duration::from_millis(50),
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open_with(&path, options).unwrap();
        // Another process (here: another connection) holds the write lock.
        let mut other = rusqlite::Connection::open(&path).unwrap();
        let held = other.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate);
        let held = held.unwrap();
        let mut batch = WriteBatch::new();
        batch.put_checkpoint("k", b"v".to_vec());
        let err = store.commit(&batch).unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert!(matches!(
            err,
            Error::Storage {
                backend: "sqlite",
                ..
            }
        ));
        held.rollback().unwrap();
        store.commit(&batch).unwrap();
        assert_eq!(store.get_checkpoint("k").unwrap(), Some(b"v".to_vec()));
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_shared_file {
    use std::{sync::Arc, thread};

    use triggerx_core::{
        JobId,
        store::{
            Store, TaskFilter, TaskStore,
            conformance::{fixtures::time_task, retrying},
            sqlite::SqliteStore,
        },
    };

    /// Two stores (two writer connections, as two scheduler processes would have) on one file,
    /// creating overlapping occurrences at once: still one row per occurrence.
    #[test]
    fn two_stores_on_one_file_create_each_task_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let job = JobId::from_u64(3);
        let handles: Vec<_> = [a.clone(), b, a.clone(), a.clone()]
            .into_iter()
            .enumerate()
            .map(|(n, store)| {
                thread::spawn(move || {
                    let mut inserted = 0;
                    for due in (n as i64 * 50)..(n as i64 * 50 + 150) {
                        let task = time_task(job, due);
                        let created = retrying(|| store.create_task(&task)).expect("create");
                        inserted += usize::from(created.is_inserted());
                    }
                    inserted
                })
            })
            .collect();
        let inserted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let distinct = 3 * 50 + 150;
        assert_eq!(inserted, distinct);
        let rows = a.list_tasks(&TaskFilter {
            job_id: Some(job),
            ..TaskFilter::default()
        });
        assert_eq!(rows.unwrap().items.len(), distinct);
    }
}

#[cfg(feature = "redb")]
mod redb {
    use triggerx_core::{
        Error, JobId,
        store::{
            JobStore,
            conformance::fixtures::{address, event_job},
            redb::RedbStore,
        },
    };

    #[test]
    fn a_second_open_of_the_same_file_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.redb");
        let store = RedbStore::open(&path).unwrap();
        assert!(matches!(
            RedbStore::open(&path),
            Err(Error::Storage {
                backend: "redb",
                ..
            })
        ));
        let job = event_job(JobId::from_u64(5), address(1), 10, 1);
        store.insert_job(&job).unwrap();
        drop(store);
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.get_job(job.id).unwrap(), Some(job));
    }
}
