//! Condition engine benchmark: source fetches per round with 10,000 condition jobs over 100
//! distinct HTTP sources on a local server, against one fetch per job per round (the naive
//! approach, measured in the same run against the same server).
//!
//! `cargo bench -p triggerx-scheduler --bench condition_engine` (env `COND_BENCH_JOBS`,
//! default 10,000; `COND_BENCH_SOURCES`, default 100; `COND_BENCH_ROUNDS`, default 5).

use std::{collections::BTreeMap, sync::Arc, time::Duration, time::Instant};

use alloy_json_abi::Function;
use alloy_primitives::{Address, Bytes};
use triggerx_core::{
    JobId, Timestamp,
    clock::{Clock, ManualClock},
    condition::extract,
    store::{JobStore, MemoryStore, Store},
    test_http::TestServer,
    types::{Action, Comparison, ConditionTrigger, FireMode, Job, JobStatus, Trigger, ValueSource},
};
use triggerx_scheduler::condition::{
    ConditionEngine, Config, DefaultFetcher, SourceFetcher, SourceKey,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn job(i: u64, source: ValueSource) -> Job {
    let function = Function::parse("increment()").unwrap();
    let now = Timestamp::from_secs(1_800_000_000);
    Job {
        id: JobId::from_u64(i + 1),
        owner: Address::ZERO,
        title: String::new(),
        trigger: Trigger::Condition(ConditionTrigger {
            source,
            comparison: Comparison::GreaterThan {
                value: (i % 1000).into(),
            },
            poll_interval_ms: 1000,
            mode: FireMode::Edge,
        }),
        action: Action::with_calldata(
            31337,
            Address::ZERO,
            function.clone(),
            vec![],
            Bytes::from(function.selector().to_vec()),
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::main]
async fn main() {
    let jobs = env_or("COND_BENCH_JOBS", 10_000);
    let sources = env_or("COND_BENCH_SOURCES", 100);
    let rounds = env_or("COND_BENCH_ROUNDS", 5);
    let server = TestServer::start().await.unwrap();
    let source = |i: u64| ValueSource::Http {
        url: server.url(&format!("/price/{}", i % sources)),
        json_path: Some("$.price".into()),
        headers: BTreeMap::new(),
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let all: Vec<Job> = (0..jobs).map(|i| job(i, source(i))).collect();
    store.insert_jobs(&all).unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let fetcher: Arc<dyn SourceFetcher> =
        Arc::new(DefaultFetcher::new(Duration::from_secs(5), 1 << 20).unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut engine =
        ConditionEngine::new(store.clone(), shared, fetcher.clone(), Config::default());
    engine.load().unwrap();

    let mut engine_secs = 0.0;
    for r in 0..rounds {
        for s in 0..sources {
            server.set(
                &format!("/price/{s}"),
                200,
                format!(r#"{{"price":{}}}"#, (r * 397 + s) % 1000),
            );
        }
        let before = server.total_hits();
        let t = Instant::now();
        engine.tick().await.unwrap();
        engine_secs += t.elapsed().as_secs_f64();
        assert_eq!(
            server.total_hits() - before,
            sources,
            "one fetch per source per round"
        );
        clock.advance_millis(1000);
    }
    let engine_per_round = engine.stats().fetches as f64 / rounds as f64;

    // The naive approach: every job fetches its own source every round (one round measured).
    let before = server.total_hits();
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(32));
    for j in &all {
        let Trigger::Condition(c) = &j.trigger else {
            unreachable!()
        };
        let src = c.source.clone();
        let (fetcher, sem) = (fetcher.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let raw = fetcher.fetch(&SourceKey::of(&src)).await.unwrap();
            extract(&src, &raw).unwrap();
        });
    }
    while set.join_next().await.is_some() {}
    let naive_secs = t.elapsed().as_secs_f64();
    let naive_per_round = (server.total_hits() - before) as f64;

    println!("condition engine: {jobs} jobs over {sources} sources, {rounds} rounds");
    println!(
        "bench condition_fetches_per_round: {:.0} fetches (baseline {:.0} fetches, ratio {:.4})",
        engine_per_round,
        naive_per_round,
        engine_per_round / naive_per_round
    );
    println!(
        "bench condition_round_ms: {:.1} ms (baseline {:.1} ms, ratio {:.4})",
        engine_secs * 1000.0 / rounds as f64,
        naive_secs * 1000.0,
        (engine_secs / rounds as f64) / naive_secs
    );
}
