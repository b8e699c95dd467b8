//! The job watcher against a real SQLite file: jobs created, paused, resumed and deleted through a
//! second connection (as `triggerx job …` in another process does) while a time service runs
//! start and stop firing; start-up neither misses nor doubles a job; a restart continues from the
//! persisted cursor.
//!
//! Time is a `ManualClock`. A probe job, active from the start and due at the same instants as
//! the job under test, tells when the service has ticked an instant: once the probe's task for
//! instant k is dispatched, every task of that tick is committed (one atomic commit per tick).
//! A change reaches the engine as a command; the instant right after the change was delivered
//! may be ticked before or after the engine applies it, so the checks that a job does *not*
//! fire look at the instant after that one.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use alloy_json_abi::Function;
use alloy_primitives::{Address, Bytes, U256};
use tokio::sync::{mpsc, oneshot};
use triggerx_core::{
    JobId, Timestamp,
    clock::ManualClock,
    ids::Occurrence,
    store::{JobStore, Store, TaskFilter, TaskStore, sqlite::SqliteStore},
    types::{
        Action, Arguments, CatchUp, Job, JobStatus, Overlap, Schedule, Task, TimeTrigger, Trigger,
    },
};
use triggerx_scheduler::{
    dispatch::ChannelDispatcher,
    time::{Config as TimeConfig, TimeEngine, service::TimeService},
    watch::{self, Config, JobWatcher, Stats, Targets},
};

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);
const PERIOD: i64 = 10;
const WAIT: Duration = Duration::from_secs(30);

fn job(id: u64) -> Job {
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    Job {
        id: JobId::from_u64(id),
        owner: Address::repeat_byte(0x11),
        title: format!("job {id}"),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval {
                every_secs: PERIOD as u64,
            },
            start: None,
            // A resumed job must not catch up what was due while it was paused.
            catch_up: CatchUp::Skip,
            // Tasks are never settled here; every instant must still fire.
            overlap: Overlap::Allow,
        }),
        action: Action {
            chain_id: 31337,
            target: Address::repeat_byte(0x22),
            function,
            value: U256::ZERO,
            gas_limit: None,
            arguments: Arguments::Static {
                values: vec![],
                calldata,
            },
        },
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: T0,
        updated_at: T0,
    }
}

fn instant(k: i64) -> Timestamp {
    T0.add_millis(k * PERIOD * 1000)
}

fn due(task: &Task) -> Timestamp {
    match task.occurrence {
        Occurrence::Time { due, .. } => due,
        _ => panic!("not a time task"),
    }
}

/// A time service and a watcher over one SQLite file, plus a second connection to write with.
struct Rig {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<dyn Store>,
    /// The other writer (another process in real use).
    cli: SqliteStore,
    clock: Arc<ManualClock>,
    fired: mpsc::Receiver<Task>,
    /// Tasks dispatched so far, per job and instant.
    seen: BTreeMap<(JobId, Timestamp), usize>,
    progress: tokio::sync::watch::Receiver<u64>,
    stop: Vec<oneshot::Sender<()>>,
    watcher: tokio::task::JoinHandle<Stats>,
    now: i64,
}

const PROBE: u64 = 1_000;

impl Rig {
    /// Starts everything; `before_head` jobs are stored before the watcher's head is read and
    /// `before_load` between that and the engine's load.
    async fn start(before_head: &[Job], before_load: &[Job]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triggerx.sqlite");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let cli = SqliteStore::open(&path).unwrap();
        store.insert_job(&job(PROBE)).unwrap();
        store.insert_jobs(before_head).unwrap();
        let head = watch::head(store.as_ref()).unwrap();
        cli.insert_jobs(before_load).unwrap();

        let clock = Arc::new(ManualClock::new(T0));
        let mut engine = TimeEngine::new(store.clone(), TimeConfig::default());
        engine.load().unwrap();
        let (dispatcher, fired) = ChannelDispatcher::new(256);
        let (service, handle) = TimeService::new(engine, clock.clone(), Arc::new(dispatcher));
        let (stop_service, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            service
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap()
        });
        let config = Config {
            poll_interval: Duration::from_millis(20),
            ..Config::default()
        };
        let watcher = JobWatcher::new(store.clone(), Targets::new().with_time(handle), config)
            .starting_after(head);
        let progress = watcher.progress();
        let (stop_watcher, rx) = oneshot::channel::<()>();
        let watcher = tokio::spawn(async move {
            watcher
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap()
        });
        Self {
            _dir: dir,
            path,
            store,
            cli,
            clock,
            fired,
            seen: BTreeMap::new(),
            progress,
            stop: vec![stop_service, stop_watcher],
            watcher,
            now: 0,
        }
    }

    /// Waits until the watcher has handed every job write so far to the engine.
    async fn delivered(&mut self) {
        let head = self.cli.job_revision().unwrap();
        tokio::time::timeout(WAIT, self.progress.wait_for(|r| *r >= head))
            .await
            .expect("the watcher delivers the change")
            .unwrap();
    }

    /// Reads dispatched tasks until `pred` holds for what was seen.
    async fn until(
        &mut self,
        what: &str,
        pred: impl Fn(&BTreeMap<(JobId, Timestamp), usize>) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !pred(&self.seen) {
            let task = tokio::time::timeout_at(deadline, self.fired.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen {:?}", self.seen))
                .expect("the service runs");
            *self.seen.entry((task.job_id, due(&task))).or_default() += 1;
        }
    }

    /// Moves the clock to the next instant and waits until the service has ticked it.
    async fn step(&mut self) -> i64 {
        self.now += 1;
        let k = self.now;
        self.clock.set(instant(k));
        let probe = (JobId::from_u64(PROBE), instant(k));
        self.until(&format!("the probe at instant {k}"), |s| {
            s.contains_key(&probe)
        })
        .await;
        k
    }

    /// Waits until job `id` has fired at instant `k`.
    async fn fires(&mut self, id: u64, k: i64) {
        let key = (JobId::from_u64(id), instant(k));
        self.until(&format!("job {id} at instant {k}"), |s| {
            s.contains_key(&key)
        })
        .await;
    }

    /// The instants at which job `id` has a task in the store.
    fn stored(&self, id: u64) -> Vec<i64> {
        let filter = TaskFilter {
            job_id: Some(JobId::from_u64(id)),
            ..TaskFilter::default()
        };
        let mut ks: Vec<i64> = self
            .store
            .list_tasks(&filter)
            .unwrap()
            .items
            .iter()
            .map(|t| (due(t).as_millis() - T0.as_millis()) / (PERIOD * 1000))
            .collect();
        ks.sort();
        ks
    }

    fn set_status(&self, id: u64, from: JobStatus, to: JobStatus) {
        self.cli
            .set_job_status(JobId::from_u64(id), from, to, instant(self.now))
            .unwrap();
    }

    async fn stop(mut self) -> (Stats, std::path::PathBuf, tempfile::TempDir) {
        for s in self.stop.drain(..) {
            let _ = s.send(());
        }
        let stats = self.watcher.await.unwrap();
        // Each task was dispatched once.
        assert!(self.seen.values().all(|n| *n == 1), "{:?}", self.seen);
        (stats, self.path, self._dir)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_pause_resume_delete_while_the_service_runs() {
    let mut rig = Rig::start(&[], &[]).await;
    let j = 7;
    rig.step().await; // 1: the job does not exist yet.

    // Created at instant 1: its first instant is one period later.
    let mut created = job(j);
    (created.created_at, created.updated_at) = (instant(1), instant(1));
    rig.cli.insert_job(&created).unwrap();
    rig.delivered().await;
    let k = rig.step().await; // 2
    rig.fires(j, k).await;
    let k = rig.step().await; // 3
    rig.fires(j, k).await;

    rig.set_status(j, JobStatus::Active, JobStatus::Paused);
    rig.delivered().await;
    rig.step().await; // 4: may still fire (the pause lands around this tick).
    let paused_from = rig.step().await; // 5
    rig.step().await; // 6
    let stored = rig.stored(j);
    assert!(
        !stored.contains(&paused_from) && !stored.contains(&6),
        "a paused job stops firing: {stored:?}"
    );

    // Resume more than 5 s after instant 6, so `skip` has dropped it: nothing due while paused
    // may fire.
    rig.clock.set(instant(6).add_millis(6_000));
    rig.set_status(j, JobStatus::Paused, JobStatus::Active);
    rig.delivered().await;
    let k = rig.step().await; // 7
    rig.fires(j, k).await;
    let stored = rig.stored(j);
    assert!(
        !stored.contains(&5) && !stored.contains(&6),
        "resuming does not catch up what was due while paused: {stored:?}"
    );

    rig.set_status(j, JobStatus::Active, JobStatus::Deleted);
    rig.delivered().await;
    rig.step().await; // 8: may still fire.
    rig.step().await; // 9
    rig.step().await; // 10
    let stored = rig.stored(j);
    assert!(
        !stored.contains(&9) && !stored.contains(&10),
        "a deleted job stops firing: {stored:?}"
    );
    assert_eq!(stored.first(), Some(&2));
    assert_eq!(rig.stored(PROBE), (1..=10).collect::<Vec<_>>());

    let (stats, _, _) = rig.stop().await;
    assert_eq!(stats.changes, 4, "create, pause, resume, delete: {stats:?}");
    assert_eq!((stats.upserts, stats.removals), (2, 2), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_neither_misses_nor_doubles_a_job() {
    // 11 is loaded by the engine only; 12 is written after the head but before the load, so
    // both the load and the watcher see it; 13 comes after the start, through the watcher only.
    let mut rig = Rig::start(&[job(11)], &[job(12)]).await;
    rig.cli.insert_job(&job(13)).unwrap();
    rig.delivered().await;
    for _ in 0..3 {
        rig.step().await;
    }
    for id in [11, 12, 13] {
        rig.fires(id, 3).await;
        assert!(
            rig.stored(id).ends_with(&[2, 3]),
            "job {id}: {:?}",
            rig.stored(id)
        );
    }
    let (stats, _, _) = rig.stop().await;
    assert_eq!(stats.changes, 2, "12 and 13, not 11: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_watcher_continues_from_its_checkpoint() {
    let mut rig = Rig::start(&[], &[]).await;
    for id in 21..24 {
        rig.cli.insert_job(&job(id)).unwrap();
    }
    rig.delivered().await;
    let (stats, path, _dir) = rig.stop().await;
    assert_eq!(stats.changes, 3);

    // Another process, another connection: the watcher starts from the checkpoint, with no
    // head given, and replays nothing.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let mut watcher = JobWatcher::new(store.clone(), Targets::new(), Config::default());
    assert_eq!(watcher.poll().await.unwrap(), 0);
    store
        .set_job_status(
            JobId::from_u64(22),
            JobStatus::Active,
            JobStatus::Paused,
            T0,
        )
        .unwrap();
    assert_eq!(watcher.poll().await.unwrap(), 1);
    assert_eq!(watcher.stats().cursor, store.job_revision().unwrap());
}

/// What one watcher poll costs on a store of a million jobs, against the scan it replaces.
/// A measurement, run by hand:
/// `cargo test --workspace --all-features --test watch -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: builds a store of a million jobs"]
async fn poll_cost_at_a_million_jobs() {
    use std::time::Instant;
    const JOBS: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.sqlite");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let started = Instant::now();
    for chunk in (1..=JOBS).collect::<Vec<_>>().chunks(10_000) {
        let jobs: Vec<Job> = chunk.iter().map(|i| job(*i)).collect();
        store.insert_jobs(&jobs).unwrap();
    }
    eprintln!("inserted {JOBS} jobs in {:?}", started.elapsed());
    let mut watcher = JobWatcher::new(store.clone(), Targets::new(), Config::default())
        .starting_after(watch::head(store.as_ref()).unwrap());
    assert_eq!(watcher.poll().await.unwrap(), 0);
    let n = 100u32;
    let t = Instant::now();
    for _ in 0..n {
        assert_eq!(watcher.poll().await.unwrap(), 0);
    }
    let idle = t.elapsed() / n;
    store
        .set_job_status(
            JobId::from_u64(JOBS / 2),
            JobStatus::Active,
            JobStatus::Paused,
            T0,
        )
        .unwrap();
    let t = Instant::now();
    assert_eq!(watcher.poll().await.unwrap(), 1);
    let one = t.elapsed();
    let t = Instant::now();
    let page = store.list_jobs_changed(0, 1000).unwrap();
    let first_page = t.elapsed();
    assert_eq!(page.len(), 1000);
    // The naive watcher: read every active job and compare.
    let t = Instant::now();
    let mut filter = triggerx_core::store::JobFilter {
        limit: Some(10_000),
        ..Default::default()
    };
    let mut seen = 0;
    loop {
        let p = store.list_jobs(&filter).unwrap();
        seen += p.items.len();
        match p.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    let scan = t.elapsed();
    assert_eq!(seen as u64, JOBS);
    eprintln!(
        "idle poll {idle:?}; poll finding one change {one:?}; a 1000-change page {first_page:?}; \
         full scan {scan:?}"
    );
    eprintln!(
        "bench watch_idle_poll_1m: {} us (baseline {} us full scan, ratio {:.0}x)",
        idle.as_micros(),
        scan.as_micros(),
        scan.as_secs_f64() / idle.as_secs_f64()
    );
}
