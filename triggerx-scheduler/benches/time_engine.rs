//! Time engine benchmark: memory per job and fire jitter with many jobs, against a
//! task-per-job tokio baseline holding the same jobs at the same fire rate.
//!
//! `cargo bench -p triggerx-scheduler --bench time_engine` (env `TIME_BENCH_JOBS`, default
//! 1,000,000; `TIME_BENCH_SECS`, default 10). Jobs have a 100 s interval with evenly spread
//! phases, so N jobs fire N/100 times per second (10,000/s at one million).

use std::{sync::Arc, time::Duration};

use alloy_json_abi::Function;
use alloy_primitives::{Address, Bytes};
use tokio::sync::mpsc;
use triggerx_core::{
    JobId, Timestamp,
    clock::{Clock, SystemClock},
    ids::Occurrence,
    store::{MemoryStore, Store},
    types::{Action, CatchUp, Job, JobStatus, Overlap, Schedule, TimeTrigger, Trigger},
};
use triggerx_scheduler::{
    dispatch::ChannelDispatcher,
    time::{Config, TimeEngine, service::TimeService},
};

const PERIOD_SECS: u64 = 100;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn job(i: u64, start: Timestamp, function: &Function, calldata: &Bytes) -> Job {
    Job {
        id: JobId::from_u64(i + 1),
        owner: Address::ZERO,
        title: String::new(),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval {
                every_secs: PERIOD_SECS,
            },
            start: Some(start),
            catch_up: CatchUp::Skip,
            overlap: Overlap::Allow,
        }),
        action: Action::with_calldata(
            31337,
            Address::ZERO,
            function.clone(),
            vec![],
            calldata.clone(),
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: start,
        updated_at: start,
    }
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

struct Run {
    per_job_bytes: f64,
    p50_ms: f64,
    p99_ms: f64,
    fires: usize,
    secs: f64,
}

/// Phase of job i: spread N jobs evenly over one period starting at `t0`.
fn start_of(i: u64, n: u64, t0: Timestamp) -> Timestamp {
    let period_us = PERIOD_SECS * 1_000_000;
    let offset_ms = (i * period_us / n) / 1000;
    t0.add_millis(offset_ms as i64)
}

/// When the first job is due: far enough ahead that loading all jobs finishes first
/// (generously 10 µs per job, plus 2 s).
fn first_due(n: u64) -> Timestamp {
    Timestamp::now().add_millis(2000 + (n / 100) as i64)
}

fn engine_run(rt: &tokio::runtime::Runtime, n: u64, secs: u64) -> Run {
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let before = rss_bytes();
    let mut engine = TimeEngine::new(store, Config::default());
    let t0 = first_due(n);
    for i in 0..n {
        engine
            .upsert_job(&job(i, start_of(i, n, t0), &function, &calldata))
            .unwrap();
    }
    let per_job_bytes = (rss_bytes().saturating_sub(before)) as f64 / n as f64;
    let (dispatcher, mut rx) = ChannelDispatcher::new(65_536);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (service, _handle) = TimeService::new(engine, clock, Arc::new(dispatcher));
    assert!(
        Timestamp::now() < t0,
        "loading took longer than the head start"
    );
    let end = t0.add_millis(secs as i64 * 1000);
    let run_for = (end.as_millis() - Timestamp::now().as_millis()) as u64 + 200;
    rt.block_on(async move {
        let run = tokio::spawn(service.run(async move {
            tokio::time::sleep(Duration::from_millis(run_for)).await;
        }));
        let mut jitter_us = Vec::new();
        while let Some(task) = rx.recv().await {
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros() as i64;
            if let Occurrence::Time { due, .. } = task.occurrence
                && due < end
            {
                jitter_us.push((now_us - due.as_millis() * 1000).abs());
            }
            if Timestamp::now() > end.add_millis(100) {
                break;
            }
        }
        drop(rx);
        let _ = run.await;
        jitter_us.sort_unstable();
        Run {
            per_job_bytes,
            p50_ms: percentile(&jitter_us, 0.50),
            p99_ms: percentile(&jitter_us, 0.99),
            fires: jitter_us.len(),
            secs: secs as f64,
        }
    })
}

/// tokio-cron-scheduler holding `n` one-shot jobs due over `secs` seconds (the same fire rate as
/// the others when `n = rate × secs`).
fn tokio_cron_scheduler_run(rt: &tokio::runtime::Runtime, n: u64, secs: u64) -> Run {
    use tokio_cron_scheduler::{Job as TcsJob, JobScheduler};
    rt.block_on(async move {
        let sched = JobScheduler::new().await.expect("scheduler");
        let before = rss_bytes();
        // Adding jobs to tokio-cron-scheduler is slow: give it 150 µs per job of head start.
        let t0 = Timestamp::now().add_millis(2000 + (n * 150 / 1000) as i64);
        let (tx, mut rx) = mpsc::channel::<(Timestamp, i64)>(65_536);
        let base = std::time::Instant::now();
        let now_ms = Timestamp::now().as_millis();
        for i in 0..n {
            let due = t0.add_millis((i * secs * 1000 / n) as i64);
            let at = base + Duration::from_millis((due.as_millis() - now_ms).max(0) as u64);
            let tx = tx.clone();
            let job = TcsJob::new_one_shot_at_instant_async(at, move |_, _| {
                let tx = tx.clone();
                Box::pin(async move {
                    let now_us = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_micros() as i64;
                    let _ = tx.send((due, now_us)).await;
                })
            })
            .expect("job");
            sched.add(job).await.expect("add");
        }
        drop(tx);
        let per_job_bytes = (rss_bytes().saturating_sub(before)) as f64 / n as f64;
        assert!(
            Timestamp::now() < t0,
            "adding jobs took longer than the head start"
        );
        sched.start().await.expect("start");
        let end = t0.add_millis(secs as i64 * 1000);
        let mut jitter_us = Vec::new();
        while let Ok(Some((due, at_us))) =
            tokio::time::timeout(Duration::from_secs(secs + 5), rx.recv()).await
        {
            jitter_us.push((at_us - due.as_millis() * 1000).abs());
            if jitter_us.len() as u64 == n || Timestamp::now() > end.add_millis(2_000) {
                break;
            }
        }
        let mut sched = sched;
        let _ = sched.shutdown().await;
        let fires = jitter_us.len();
        jitter_us.sort_unstable();
        Run {
            per_job_bytes,
            p50_ms: percentile(&jitter_us, 0.50),
            p99_ms: percentile(&jitter_us, 0.99),
            fires,
            secs: secs as f64,
        }
    })
}

/// The naive approach: one tokio task per job sleeping until each due instant.
fn task_per_job_run(rt: &tokio::runtime::Runtime, n: u64, secs: u64) -> Run {
    let before = rss_bytes();
    let t0 = first_due(n);
    let (tx, mut rx) = mpsc::channel::<(Timestamp, i64)>(65_536);
    let end = t0.add_millis(secs as i64 * 1000);
    let handles: Vec<_> = rt.block_on(async {
        (0..n)
            .map(|i| {
                let tx = tx.clone();
                let start = start_of(i, n, t0);
                tokio::spawn(async move {
                    let mut due = start;
                    loop {
                        let wait = (due.as_millis() - Timestamp::now().as_millis()).max(0);
                        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
                        let now_us = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_micros() as i64;
                        if tx.send((due, now_us)).await.is_err() {
                            return;
                        }
                        due = due.add_millis(PERIOD_SECS as i64 * 1000);
                    }
                })
            })
            .collect()
    });
    drop(tx);
    let per_job_bytes = (rss_bytes().saturating_sub(before)) as f64 / n as f64;
    let mut jitter_us = Vec::new();
    rt.block_on(async {
        while let Some((due, at_us)) = rx.recv().await {
            if due < end {
                jitter_us.push((at_us - due.as_millis() * 1000).abs());
            }
            if Timestamp::now() > end.add_millis(100) {
                break;
            }
        }
    });
    for h in handles {
        h.abort();
    }
    jitter_us.sort_unstable();
    Run {
        per_job_bytes,
        p50_ms: percentile(&jitter_us, 0.50),
        p99_ms: percentile(&jitter_us, 0.99),
        fires: jitter_us.len(),
        secs: secs as f64,
    }
}

/// Runs one variant in this process and prints its figures on one machine-readable line.
fn run_variant(variant: &str, n: u64, secs: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = match variant {
        "engine" => engine_run(&rt, n, secs),
        "tasks" => task_per_job_run(&rt, n, secs),
        "tcs" => tokio_cron_scheduler_run(&rt, n, secs),
        other => panic!("unknown variant {other}"),
    };
    println!(
        "RESULT {} {} {} {} {}",
        r.per_job_bytes, r.p50_ms, r.p99_ms, r.fires, r.secs
    );
}

/// Runs a variant in a fresh child process, so its memory is measured alone.
fn child(variant: &str, n: u64, secs: u64) -> Run {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("TIME_BENCH_VARIANT", variant)
        .env("TIME_BENCH_N", n.to_string())
        .env("TIME_BENCH_SECS", secs.to_string())
        .output()
        .expect("bench child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "{variant} child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    Run {
        per_job_bytes: f[0],
        p50_ms: f[1],
        p99_ms: f[2],
        fires: f[3] as usize,
        secs: f[4],
    }
}

fn main() {
    let secs = env_or("TIME_BENCH_SECS", 10);
    if let Ok(variant) = std::env::var("TIME_BENCH_VARIANT") {
        return run_variant(&variant, env_or("TIME_BENCH_N", 0), secs);
    }
    let n = env_or("TIME_BENCH_JOBS", 1_000_000);
    println!(
        "time engine: {n} jobs, period {PERIOD_SECS} s, {secs} s measured; jitter = |fire - due|"
    );
    let e = child("engine", n, secs);
    println!(
        "  engine:       {:>8.1} B/job  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>7.0} fires/s",
        e.per_job_bytes,
        e.p50_ms,
        e.p99_ms,
        e.fires as f64 / e.secs
    );
    let b = child("tasks", n, secs);
    println!(
        "  task-per-job: {:>8.1} B/job  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>7.0} fires/s",
        b.per_job_bytes,
        b.p50_ms,
        b.p99_ms,
        b.fires as f64 / b.secs
    );
    let tcs_jobs = env_or("TIME_BENCH_TCS_JOBS", 10_000 * secs);
    let c = child("tcs", tcs_jobs, secs);
    println!(
        "  tokio-cron-scheduler ({tcs_jobs} one-shot jobs): {:>8.1} B/job  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>7.0} fires/s",
        c.per_job_bytes,
        c.p50_ms,
        c.p99_ms,
        c.fires as f64 / c.secs
    );
    println!(
        "bench time_engine_jitter_p99_vs_tokio_cron_scheduler: {:.2} ms (baseline {:.2} ms, ratio {:.3})",
        e.p99_ms,
        c.p99_ms,
        e.p99_ms / c.p99_ms
    );
    println!(
        "bench time_engine_memory_per_job_vs_tokio_cron_scheduler: {:.0} bytes (baseline {:.0} bytes, ratio {:.3})",
        e.per_job_bytes,
        c.per_job_bytes,
        e.per_job_bytes / c.per_job_bytes
    );
    println!(
        "bench time_engine_memory_per_job: {:.0} bytes (baseline {:.0} bytes, ratio {:.2})",
        e.per_job_bytes,
        b.per_job_bytes,
        e.per_job_bytes / b.per_job_bytes
    );
    println!(
        "bench time_engine_jitter_p50: {:.2} ms (baseline {:.2} ms, ratio {:.2})",
        e.p50_ms,
        b.p50_ms,
        e.p50_ms / b.p50_ms
    );
    println!(
        "bench time_engine_jitter_p99: {:.2} ms (baseline {:.2} ms, ratio {:.2})",
        e.p99_ms,
        b.p99_ms,
        e.p99_ms / b.p99_ms
    );
    println!(
        "bench time_engine_fires_per_sec: {:.0} fires/s (baseline {:.0} fires/s, ratio {:.2})",
        e.fires as f64 / e.secs,
        b.fires as f64 / b.secs,
        (e.fires as f64) / (b.fires as f64).max(1.0)
    );
}
