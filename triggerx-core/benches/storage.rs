//! Storage throughput: job inserts and task transitions (over a working set of 10,000 tasks)
//! per second, one write per transaction ("single") and 1000 writes per commit ("batched"), for the memory, SQLite
//! (synchronous FULL and NORMAL) and redb backends on temporary files.
//!
//! ```text
//! cargo bench -p triggerx-core --bench storage --features sqlite,redb,test-utils
//! ```
//!
//! Each measurement runs until it reaches its operation cap or its time budget, whichever
//! comes first. Baselines (measured in the same run): for `*_batched`, the same backend's
//! `*_single` figure; for `*_single`, the memory backend's `*_single` figure (the cost of the
//! store logic without any I/O).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use triggerx_core::{
    JobId,
    store::{
        MemoryStore, Store, TaskUpdate, WriteBatch,
        conformance::fixtures::{T0, address, time_job, time_task},
        redb::RedbStore,
        sqlite::{SqliteOptions, SqliteStore, Synchronous},
    },
    types::TaskStatus,
};

/// Opens a backend at a path.
type Opener = dyn Fn(&Path) -> Box<dyn Store>;

const BUDGET: Duration = Duration::from_millis(1500);
const SINGLE_CAP: u64 = 20_000;
const TASKS: u64 = 10_000;
const BATCH: u64 = 1000;
const BATCHED_CAP: u64 = 100_000;

/// Runs `op(i)` for i = 0, 1, … until `cap` operations or the budget; returns ops/s.
fn measure(cap: u64, per_call: u64, mut op: impl FnMut(u64)) -> (f64, u64) {
    let start = Instant::now();
    let mut done = 0;
    while done < cap && start.elapsed() < BUDGET {
        op(done);
        done += per_call;
    }
    (done as f64 / start.elapsed().as_secs_f64(), done)
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    insert_single: f64,
    insert_batched: f64,
    transition_single: f64,
    transition_batched: f64,
}

fn run(store: &dyn Store) -> Figures {
    let mut f = Figures::default();
    let job = |i: u64| time_job(JobId::from_u64(i + 1), address(i % 16), 1);

    (f.insert_single, _) = measure(SINGLE_CAP, 1, |i| {
        store.insert_job(&job(i)).expect("insert job");
    });
    (f.insert_batched, _) = measure(BATCHED_CAP, BATCH, |i| {
        let mut b = WriteBatch::new();
        for k in 0..BATCH {
            b.insert_job(job(1_000_000 + i + k));
        }
        store.commit(&b).expect("commit jobs");
    });

    // A working set of tasks, created up front (not timed). Single transitions assign them
    // (created → assigned); batched transitions then cycle over the set, reassigning
    // (assigned → assigned) or assigning what is still created.
    let owner = JobId::from_u64(9);
    for chunk in (0..TASKS).collect::<Vec<_>>().chunks(BATCH as usize) {
        let mut b = WriteBatch::new();
        for i in chunk {
            b.create_task(time_task(owner, *i as i64));
        }
        store.commit(&b).expect("create tasks");
    }
    let ids: Vec<_> = (0..TASKS).map(|i| time_task(owner, i as i64).id).collect();
    let mut status = vec![TaskStatus::Created; TASKS as usize];
    let single;
    (f.transition_single, single) = measure(TASKS, 1, |i| {
        let update = TaskUpdate::assign(address(0x77), T0);
        store
            .transition_task(ids[i as usize], TaskStatus::Created, &update)
            .expect("transition");
    });
    status[..single as usize].fill(TaskStatus::Assigned);
    (f.transition_batched, _) = measure(BATCHED_CAP, BATCH, |i| {
        let mut b = WriteBatch::new();
        for k in 0..BATCH {
            let n = ((i + k) % TASKS) as usize;
            let update = TaskUpdate::assign(address(0x78 + (i + k) % 2), T0);
            b.transition_task(ids[n], status[n], update);
            status[n] = TaskStatus::Assigned;
        }
        store.commit(&b).expect("commit transitions");
    });
    f
}

fn line(name: &str, value: f64, baseline: f64) {
    let ratio = if baseline > 0.0 {
        value / baseline
    } else {
        0.0
    };
    println!("bench {name}: {value:.0} ops/s (baseline {baseline:.0} ops/s, ratio {ratio:.2})");
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name);
    let normal = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    let backends: Vec<(&str, Box<Opener>)> = vec![
        ("memory", Box::new(|_| Box::new(MemoryStore::new()))),
        (
            "sqlite",
            Box::new(|p| Box::new(SqliteStore::open(p).expect("open sqlite"))),
        ),
        (
            "sqlite_normal",
            Box::new(move |p| Box::new(SqliteStore::open_with(p, normal.clone()).expect("open"))),
        ),
        (
            "redb",
            Box::new(|p| Box::new(RedbStore::open(p).expect("open redb"))),
        ),
    ];

    let mut results = Vec::new();
    for (name, open) in &backends {
        let store = open(&path(&format!("{name}.db")));
        let figures = run(&*store);
        eprintln!("measured {name}");
        results.push((*name, figures));
    }

    println!();
    println!(
        "| backend | job insert single | job insert batched ({BATCH}/commit) | task transition single | task transition batched ({BATCH}/commit) |"
    );
    println!("|---|---|---|---|---|");
    for (name, f) in &results {
        println!(
            "| {name} | {:.0} ops/s | {:.0} ops/s | {:.0} ops/s | {:.0} ops/s |",
            f.insert_single, f.insert_batched, f.transition_single, f.transition_batched
        );
    }
    println!();

    let memory = results[0].1;
    for (name, f) in &results {
        line(
            &format!("storage_{name}_job_insert_single"),
            f.insert_single,
            memory.insert_single,
        );
        line(
            &format!("storage_{name}_job_insert_batched"),
            f.insert_batched,
            f.insert_single,
        );
        line(
            &format!("storage_{name}_task_transition_single"),
            f.transition_single,
            memory.transition_single,
        );
        line(
            &format!("storage_{name}_task_transition_batched"),
            f.transition_batched,
            f.transition_single,
        );
    }
}
