//! Condition engine tests: a local HTTP server as the source, a manual clock, real stores, and
//! a price feed on anvil.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use alloy_json_abi::Function;
use alloy_primitives::{Address, Bytes};
use triggerx_core::{
    JobId, Timestamp,
    chain::{
        AlloyClient, ChainClient,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::PriceFeed,
    },
    clock::{Clock, ManualClock},
    ids::Occurrence,
    store::{JobStore, MemoryStore, Store, sqlite::SqliteStore},
    test_http::TestServer,
    types::{
        Action, Comparison, ConditionTrigger, Decimal, Evidence, FireMode, Job, JobStatus, Trigger,
        ValueSource,
    },
};
use triggerx_scheduler::condition::{ConditionEngine, Config, DefaultFetcher};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn job(id: u64, source: ValueSource, comparison: Comparison, mode: FireMode) -> Job {
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    let now = Timestamp::from_secs(1_800_000_000);
    Job {
        id: JobId::from_u64(id),
        owner: Address::repeat_byte(0x11),
        title: format!("condition {id}"),
        trigger: Trigger::Condition(ConditionTrigger {
            source,
            comparison,
            poll_interval_ms: 1000,
            mode,
        }),
        action: Action::with_calldata(
            31337,
            Address::repeat_byte(0x22),
            function,
            vec![],
            calldata,
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

fn http(server: &TestServer, path: &str) -> ValueSource {
    ValueSource::Http {
        url: server.url(path),
        json_path: Some("$.data.price".into()),
        headers: BTreeMap::new(),
    }
}

fn above(v: &str) -> Comparison {
    Comparison::GreaterThan { value: d(v) }
}

fn price(server: &TestServer, path: &str, p: &str) {
    server.set(path, 200, format!(r#"{{"data":{{"price":{p}}}}}"#));
}

fn engine(store: &Arc<dyn Store>, clock: &ManualClock) -> ConditionEngine {
    let fetcher = DefaultFetcher::new(Duration::from_secs(5), 1 << 20).unwrap();
    let config = Config {
        retry_backoff: Duration::from_millis(5),
        ..Config::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut e = ConditionEngine::new(store.clone(), clock, Arc::new(fetcher), config);
    e.load().unwrap();
    e
}

#[tokio::test]
async fn edge_fires_on_each_crossing_only() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, http(&server, "/p"), above("2500"), FireMode::Edge))
        .unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    let mut fired = Vec::new();
    // The threshold is exact: 2500.000000000000000001 is above 2500, 2500 is not.
    for p in [
        "2400",
        "2500",
        "2500.000000000000000001",
        "2600",
        "2400",
        "2601",
    ] {
        price(&server, "/p", p);
        fired.push(e.tick().await.unwrap().len());
        clock.advance_millis(1000);
    }
    assert_eq!(fired, vec![0, 0, 1, 0, 0, 1]);
    let tasks = store.list_tasks(&Default::default()).unwrap().items;
    let values: Vec<_> = tasks
        .iter()
        .map(|t| match &t.evidence {
            Evidence::Condition { value, .. } => value.to_string(),
            _ => unreachable!(),
        })
        .collect();
    assert!(
        values.contains(&"2500.000000000000000001".to_string()),
        "{values:?}"
    );
    // A new round samples once (still true after 2601: no edge); a second tick in the same
    // round fetches nothing.
    price(&server, "/p", "3000");
    let hits = server.hits("/p");
    assert!(
        e.tick().await.unwrap().is_empty(),
        "still true: no new edge"
    );
    assert!(e.tick().await.unwrap().is_empty());
    assert_eq!(server.hits("/p"), hits + 1);
}

#[tokio::test]
async fn level_fires_while_true_with_cooldown() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let level = FireMode::Level { cooldown_secs: 3 };
    store
        .insert_job(&job(1, http(&server, "/p"), above("10"), level))
        .unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    price(&server, "/p", "11");
    let mut fired = Vec::new();
    for _ in 0..7 {
        fired.push(e.tick().await.unwrap().len());
        clock.advance_millis(1000);
    }
    assert_eq!(fired, vec![1, 0, 0, 1, 0, 0, 1]);
}

#[tokio::test]
async fn each_source_is_fetched_once_per_round() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for i in 0..300u64 {
        let path = format!("/s{}", i % 3);
        price(&server, &path, "5");
        let c = Comparison::Between {
            lower: d("1"),
            upper: Decimal::from(i),
        };
        store
            .insert_job(&job(i + 1, http(&server, &path), c, FireMode::Edge))
            .unwrap();
    }
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    let fired = e.tick().await.unwrap();
    assert_eq!(server.total_hits(), 3, "300 jobs over 3 sources");
    assert_eq!(fired.len(), 295, "jobs with upper >= 5");
    clock.advance_millis(1000);
    e.tick().await.unwrap();
    assert_eq!(server.total_hits(), 6);
    assert_eq!(e.stats().fetches, 6);
}

#[tokio::test]
async fn failures_are_retried_then_skipped_never_read_as_values() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, http(&server, "/down"), above("0"), FireMode::Edge))
        .unwrap();
    store
        .insert_job(&job(
            2,
            http(&server, "/missing"),
            above("0"),
            FireMode::Edge,
        ))
        .unwrap();
    store
        .insert_job(&job(
            3,
            http(&server, "/garbage"),
            above("0"),
            FireMode::Edge,
        ))
        .unwrap();
    server.set("/down", 503, "{}");
    server.set("/garbage", 200, r#"{"data":{"price":"n/a"}}"#);
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    assert!(e.tick().await.unwrap().is_empty());
    assert_eq!(server.hits("/down"), 3, "503 is retried");
    assert_eq!(server.hits("/missing"), 1, "404 is not");
    let s = e.stats();
    assert_eq!((s.fetch_failures, s.extract_failures, s.samples), (2, 1, 0));
    // Once the source recovers, the job fires.
    price(&server, "/down", "1");
    clock.advance_millis(1000);
    let fired = e.tick().await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].job_id, JobId::from_u64(1));
}

#[tokio::test]
async fn restart_keeps_edge_state_and_rounds() {
    let server = TestServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    price(&server, "/p", "100");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        store
            .insert_job(&job(1, http(&server, "/p"), above("50"), FireMode::Edge))
            .unwrap();
        let mut e = engine(&store, &clock);
        assert_eq!(e.tick().await.unwrap().len(), 1);
    }
    // Restarted in the same round, and in the next one while still true: no second task.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let mut e = engine(&store, &clock);
    assert!(e.tick().await.unwrap().is_empty());
    clock.advance_millis(1000);
    assert!(e.tick().await.unwrap().is_empty());
    assert_eq!(
        store.list_tasks(&Default::default()).unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn one_shot_completes_and_expiry_stops() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut once = job(
        1,
        http(&server, "/p"),
        above("1"),
        FireMode::Level { cooldown_secs: 0 },
    );
    once.recurring = false;
    let mut expiring = job(2, http(&server, "/p"), above("1000"), FireMode::Edge);
    expiring.expires_at = Some(Timestamp::from_secs(1_800_000_002));
    store.insert_jobs(&[once, expiring]).unwrap();
    price(&server, "/p", "5");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    assert_eq!(e.tick().await.unwrap().len(), 1);
    clock.advance_millis(1000);
    assert!(e.tick().await.unwrap().is_empty());
    assert_eq!(
        store.get_job(JobId::from_u64(1)).unwrap().unwrap().status,
        JobStatus::Completed
    );
    price(&server, "/p", "5000");
    clock.advance_millis(1000);
    assert!(
        e.tick().await.unwrap().is_empty(),
        "expired at 1_800_000_002"
    );
    assert_eq!(
        store.get_job(JobId::from_u64(2)).unwrap().unwrap().status,
        JobStatus::Expired
    );
    assert!(e.is_empty());
}

#[tokio::test]
async fn price_feed_crossing_on_anvil() {
    let anvil = Anvil::start(AnvilOptions::default()).await.unwrap();
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&devnet.endpoint).unwrap());
    let feed = devnet.addresses.price_feed;
    let source = ValueSource::PriceFeed {
        chain_id: 31337,
        address: feed,
        decimals: 8,
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&job(1, source, above("2100.5"), FireMode::Edge))
        .unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let fetcher = DefaultFetcher::new(Duration::from_secs(5), 1 << 20)
        .unwrap()
        .with_chain(31337, client);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut e = ConditionEngine::new(store.clone(), shared, Arc::new(fetcher), Config::default());
    e.load().unwrap();
    assert!(e.tick().await.unwrap().is_empty(), "initial price 2000");
    let pf = PriceFeed::new(feed, &devnet.provider);
    for (answer, expect) in [
        (210_050_000_000_i64, 0),
        (210_050_000_001, 1),
        (220_000_000_000, 0),
    ] {
        pf.setPrice(alloy_primitives::I256::try_from(answer).unwrap())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        clock.advance_millis(1000);
        let fired = e.tick().await.unwrap();
        assert_eq!(fired.len(), expect, "answer {answer}");
        if let Some(t) = fired.first() {
            let Occurrence::Condition { round, .. } = t.occurrence else {
                panic!()
            };
            assert_eq!(round, 1_800_000_002, "the second sample round");
            let Evidence::Condition { value, .. } = &t.evidence else {
                panic!()
            };
            assert_eq!(value.to_string(), "2100.50000001");
        }
    }
}

#[tokio::test]
async fn removing_a_job_takes_effect_at_once() {
    let server = TestServer::start().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let j = job(
        1,
        http(&server, "/p"),
        above("10"),
        FireMode::Level { cooldown_secs: 0 },
    );
    store.insert_job(&j).unwrap();
    price(&server, "/p", "11");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let mut e = engine(&store, &clock);
    assert_eq!(e.tick().await.unwrap().len(), 1);
    e.remove_job(j.id);
    clock.advance_millis(1000);
    let hits = server.hits("/p");
    assert!(e.tick().await.unwrap().is_empty());
    assert_eq!(server.hits("/p"), hits, "a removed job is not even sampled");
    e.upsert_job(&j).unwrap();
    clock.advance_millis(1000);
    assert_eq!(e.tick().await.unwrap().len(), 1);
}
