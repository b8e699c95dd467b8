//! Concurrency, reopen and crash cases.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::{
        Arc, Barrier,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use super::{Opener, fixtures::*, fresh};
use crate::{
    Error, JobId, Result,
    store::{JobFilter, KeeperFilter, Store, TaskFilter, TaskUpdate, WriteBatch},
    types::{JobStatus, TaskStatus},
};

/// Retries `f` while it fails with a retryable error (a busy database), a bounded number of
/// times.
pub fn retrying<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if e.is_retryable() && attempt < 100 => {
                attempt += 1;
                thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// 8 writer threads × 200 tasks, neighbouring threads sharing half their occurrences, mixing
/// single creates and batches, with a reader running alongside: exactly one row per
/// occurrence, every insert reported once; then 8 threads race one compare-and-set.
pub fn concurrent_writers(open: &Opener<'_>) {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 200;
    let (_dir, store) = fresh(open);
    let store: Arc<dyn Store> = Arc::from(store);
    let job = JobId::from_u64(77);
    let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (store, barrier, done) = (store.clone(), barrier.clone(), done.clone());
        thread::spawn(move || {
            barrier.wait();
            let mut last = 0;
            while !done.load(Ordering::SeqCst) {
                let n = retrying(|| {
                    store.list_tasks(&TaskFilter {
                        job_id: Some(job),
                        ..TaskFilter::default()
                    })
                })
                .expect("concurrent read")
                .items
                .len();
                assert!(
                    n >= last,
                    "a reader saw the task count go back from {last} to {n}"
                );
                last = n;
            }
        })
    };

    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let dues: Vec<i64> = (t * 100..t * 100 + PER_THREAD).map(|d| d as i64).collect();
                let mut inserted = 0usize;
                for (c, chunk) in dues.chunks(10).enumerate() {
                    if c % 2 == 0 {
                        for due in chunk {
                            let created = retrying(|| store.create_task(&time_task(job, *due)))
                                .expect("create_task");
                            inserted += usize::from(created.is_inserted());
                        }
                    } else {
                        let mut b = WriteBatch::new();
                        for due in chunk {
                            b.create_task(time_task(job, *due));
                        }
                        b.put_checkpoint(format!("writer/{t}"), (c as u64).to_be_bytes());
                        inserted += retrying(|| store.commit(&b))
                            .expect("commit")
                            .tasks_inserted();
                    }
                }
                inserted
            })
        })
        .collect();
    let inserted: usize = writers
        .into_iter()
        .map(|h| h.join().expect("writer thread"))
        .sum();
    done.store(true, Ordering::SeqCst);
    reader.join().expect("reader thread");

    let distinct = (THREADS - 1) * 100 + PER_THREAD;
    assert_eq!(
        inserted as u64, distinct,
        "each occurrence reported inserted exactly once"
    );
    let tasks = store.list_tasks(&TaskFilter {
        job_id: Some(job),
        ..TaskFilter::default()
    });
    let tasks = tasks.unwrap().items;
    assert_eq!(tasks.len() as u64, distinct, "one row per occurrence");
    for due in 0..distinct as i64 {
        assert!(
            store.get_task(time_task(job, due).id).unwrap().is_some(),
            "due {due} stored"
        );
    }
    assert_eq!(
        store.count_tasks_by_status().unwrap()[&TaskStatus::Created],
        distinct
    );
    for t in 0..THREADS {
        assert_eq!(
            store.get_checkpoint(&format!("writer/{t}")).unwrap(),
            Some(19u64.to_be_bytes().to_vec())
        );
    }

    // Eight schedulers race to assign the same task: exactly one wins.
    let target = time_task(job, 0).id;
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let racers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                retrying(|| {
                    store.transition_task(
                        target,
                        TaskStatus::Created,
                        &TaskUpdate::assign(address(0x700 + t), T0),
                    )
                })
            })
        })
        .collect();
    let results: Vec<_> = racers
        .into_iter()
        .map(|h| h.join().expect("racer thread"))
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Conflict { .. })))
        .count();
    assert_eq!(
        (winners, conflicts),
        (1, THREADS as usize - 1),
        "{results:?}"
    );
    let stored = store.get_task(target).unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (TaskStatus::Assigned, 1));
}

/// A file backend keeps everything across close and reopen.
pub fn reopen_keeps_everything(open: &Opener<'_>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let snapshot = |store: &dyn Store| {
        (
            store.list_jobs(&JobFilter::default()).unwrap(),
            store.list_tasks(&TaskFilter::default()).unwrap(),
            store.count_tasks_by_status().unwrap(),
            store.list_keepers(&KeeperFilter::default()).unwrap(),
            store.get_user(user(1).address).unwrap(),
            store.list_api_keys("alice").unwrap(),
            store
                .get_api_key_by_hash(api_key("k1", "alice").key_hash)
                .unwrap(),
            store.get_checkpoint("events/1").unwrap(),
            store.job_revision().unwrap(),
            store.list_jobs_changed(0, usize::MAX).unwrap(),
        )
    };
    let before = {
        let store = open(&path);
        let jobs = super::jobs::job_set();
        store.insert_jobs(&jobs).unwrap();
        store
            .set_job_status(jobs[0].id, JobStatus::Active, JobStatus::Paused, T0)
            .unwrap();
        for due in 0..50 {
            store.create_task(&time_task(jobs[1].id, due)).unwrap();
        }
        store
            .transition_task(
                time_task(jobs[1].id, 3).id,
                TaskStatus::Created,
                &TaskUpdate::assign(address(5), T0),
            )
            .unwrap();
        store.upsert_keeper(&keeper(1)).unwrap();
        store.upsert_user(&user(1)).unwrap();
        store.put_api_key(&api_key("k1", "alice")).unwrap();
        store.put_checkpoint("events/1", b"cursor").unwrap();
        snapshot(&*store)
    };
    assert_eq!(before.0.items.len(), 24);
    let store = open(&path);
    assert_eq!(snapshot(&*store), before, "everything survives a reopen");
    // The job feed continues after the reopened head.
    let head = store.job_revision().unwrap();
    let added = time_job(JobId::from_u64(12_345), address(1), 1);
    store.insert_job(&added).unwrap();
    let tail = store.list_jobs_changed(head, 10).unwrap();
    assert_eq!((tail.len(), tail[0].job.id), (1, added.id));
    assert!(tail[0].revision > head);
    // The reopened store is fully writable, and indexes still work.
    store
        .create_task(&time_task(JobId::from_u64(1), 1))
        .unwrap();
    assert!(
        !store
            .create_task(&time_task(super::jobs::job_set()[1].id, 3))
            .unwrap()
            .is_inserted()
    );
    drop(store);
    let store = open(&path);
    assert_eq!(
        store
            .list_tasks(&TaskFilter::default())
            .unwrap()
            .items
            .len(),
        51
    );
    let paused = store.list_jobs(&JobFilter {
        status: Some(JobStatus::Paused),
        ..JobFilter::default()
    });
    assert_eq!(paused.unwrap().items.len(), 1);
}

/// The environment variable naming the database a [`crash_child`] writes to.
pub const CRASH_ENV: &str = "TRIGGERX_STORE_CRASH_DB";
/// Tasks per batch in the crash test.
pub const CRASH_BATCH: u64 = 300;
const CRASH_JOB: JobId = JobId(alloy_primitives::U256::from_limbs([1, 0, 0, 0]));

/// The child side of [`sigkill_mid_batch`]: commits batches of [`CRASH_BATCH`] tasks, each
/// with a checkpoint naming the batch, forever, printing `committed <n>` after each commit.
/// Resumes after the last committed batch.
pub fn crash_child(open: &Opener<'_>) {
    let path = std::env::var_os(CRASH_ENV).unwrap_or_else(|| {
        panic!("crash_child is run by sigkill_mid_batch, which sets {CRASH_ENV}")
    });
    let store = open(Path::new(&path));
    let start = match store.get_checkpoint("crash/last").expect("read checkpoint") {
        Some(b) => u64::from_be_bytes(b.try_into().expect("8-byte checkpoint")) + 1,
        None => 0,
    };
    for i in start.. {
        let mut b = WriteBatch::new();
        for k in 0..CRASH_BATCH {
            b.create_task(time_task(CRASH_JOB, (i * CRASH_BATCH + k) as i64));
        }
        b.put_checkpoint("crash/last", i.to_be_bytes());
        store.commit(&b).expect("commit");
        println!("committed {i}");
    }
}

/// Runs the test binary's `child_test` (a `#[ignore]`d test calling [`crash_child`]) as a
/// child process, SIGKILLs it while it is committing, reopens the database and checks that
/// every batch is complete or absent and that every batch the child saw committed is there.
/// Five rounds, each resuming where the last one stopped and killing at a different point of
/// the commit period.
pub fn sigkill_mid_batch(open: &Opener<'_>, child_test: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.db");
    let exe = std::env::current_exe().expect("current test binary");
    let mut seen_committed: Option<u64> = None;
    // The kill lands at a different fraction of a batch's commit period in each round.
    for (round, fraction) in [0.0, 0.25, 0.5, 0.75, 0.95].into_iter().enumerate() {
        let more = 2 + round as u64 % 2;
        let stderr = std::fs::File::create(dir.path().join(format!("child{round}.stderr")))
            .expect("stderr file");
        let mut child = Command::new(&exe)
            .args([
                child_test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the crash child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut first = None;
        let mut last = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.expect("child output");
            if let Some(n) = line
                .strip_prefix("committed ")
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                let (n0, t0) = *first.get_or_insert((n, Instant::now()));
                last = Some(n);
                if n >= n0 + more {
                    // Wait part of one batch's period so the kill falls inside the next commit.
                    let period = t0.elapsed() / u32::try_from(n - n0).unwrap_or(1);
                    thread::sleep(period.mul_f64(fraction));
                    break;
                }
            }
        }
        // SIGKILL on Unix: no destructor, no flush, mid-commit of the next batch.
        child.kill().expect("kill the child");
        let status = child.wait().expect("reap the child");
        let stderr = std::fs::read_to_string(dir.path().join(format!("child{round}.stderr")));
        let last = last.unwrap_or_else(|| {
            panic!("the child committed nothing (status {status}); stderr: {stderr:?}")
        });
        if let Some(prev) = seen_committed {
            assert!(
                first.is_some_and(|(f, _)| f > prev),
                "the child resumed after batch {prev}"
            );
        }
        seen_committed = Some(last);

        let store = open(&path);
        let cp = store
            .get_checkpoint("crash/last")
            .expect("checkpoint")
            .expect("a checkpoint");
        let cp = u64::from_be_bytes(cp.try_into().expect("8-byte checkpoint"));
        assert!(
            cp >= last,
            "batch {last} was reported committed but the checkpoint is {cp}"
        );
        let listed = store
            .list_tasks(&TaskFilter {
                job_id: Some(CRASH_JOB),
                ..TaskFilter::default()
            })
            .expect("list tasks")
            .items
            .len() as u64;
        assert_eq!(
            listed,
            (cp + 1) * CRASH_BATCH,
            "no partial batch after SIGKILL (round {round})"
        );
        assert_eq!(
            store.count_tasks_by_status().unwrap()[&TaskStatus::Created],
            listed
        );
        for batch in [0, cp / 2, cp] {
            for k in [0, CRASH_BATCH / 2, CRASH_BATCH - 1] {
                let id = time_task(CRASH_JOB, (batch * CRASH_BATCH + k) as i64).id;
                assert!(
                    store.get_task(id).unwrap().is_some(),
                    "batch {batch} item {k} present"
                );
            }
        }
        for k in [0, CRASH_BATCH - 1] {
            let id = time_task(CRASH_JOB, ((cp + 1) * CRASH_BATCH + k) as i64).id;
            assert_eq!(
                store.get_task(id).unwrap(),
                None,
                "nothing of the interrupted batch"
            );
        }
    }
}
