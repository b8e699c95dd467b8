//! Event engine integration tests on a real anvil: confirmations, restarts, reorgs, new jobs,
//! and the RPC cost of following many jobs.

use std::sync::Arc;

use alloy::{providers::Provider, signers::local::PrivateKeySigner};
use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, Bytes, U256};
use triggerx_core::{
    JobId, Timestamp,
    chain::{
        AlloyClient, ChainClient,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::DemoToken,
    },
    clock::{Clock, SystemClock},
    ids::Occurrence,
    store::{JobStore, MemoryStore, Store, sqlite::SqliteStore},
    types::{
        Action, Comparison, EventTrigger, Evidence, FieldCondition, Job, JobStatus, TopicFilter,
        Trigger,
    },
};
use triggerx_scheduler::event::{Config, EventEngine};

struct Env {
    _anvil: Anvil,
    devnet: Devnet,
    client: Arc<dyn ChainClient>,
    minter: PrivateKeySigner,
}

async fn env() -> Env {
    let anvil = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 1,
            ..Default::default()
        },
    )
    .await
    .expect("devnet deploys");
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&devnet.endpoint).unwrap());
    let minter = devnet.users[0].clone();
    Env {
        _anvil: anvil,
        devnet,
        client,
        minter,
    }
}

impl Env {
    fn token(&self) -> Address {
        self.devnet.addresses.demo_token
    }

    async fn mint(&self, to: Address, amount: u64) -> u64 {
        let provider = self.devnet.provider_for(&self.minter);
        let token = DemoToken::new(self.token(), &provider);
        let receipt = token
            .mint(to, U256::from(amount))
            .send()
            .await
            .expect("mint sent")
            .get_receipt()
            .await
            .expect("mint mined");
        receipt.block_number.expect("mined in a block")
    }

    async fn rpc(&self, method: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.devnet
            .provider
            .raw_request(method.into(), params)
            .await
            .expect(method)
    }

    async fn mine(&self, blocks: u64) {
        self.rpc("anvil_mine", serde_json::json!([blocks])).await;
    }

    fn engine(&self, store: &Arc<dyn Store>) -> EventEngine {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut e = EventEngine::new(
            31337,
            self.client.clone(),
            store.clone(),
            clock,
            Config::default(),
        )
        .expect("engine");
        e.load().expect("load");
        e
    }
}

fn transfer_job(id: u64, token: Address, to: Address, confirmations: u64, min: Option<u64>) -> Job {
    let event =
        Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
            .unwrap();
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    let now = Timestamp::now();
    Job {
        id: JobId::from_u64(id),
        owner: Address::repeat_byte(0x11),
        title: format!("transfer watcher {id}"),
        trigger: Trigger::Event(EventTrigger {
            chain_id: 31337,
            addresses: vec![token],
            event,
            topics: vec![TopicFilter {
                position: 2,
                name: "to".into(),
                any_of: vec![to.into_word()],
            }],
            conditions: min
                .map(|m| FieldCondition {
                    field: "value".into(),
                    data_index: 0,
                    comparison: Comparison::GreaterEqual { value: m.into() },
                })
                .into_iter()
                .collect(),
            confirmations,
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

fn alice() -> Address {
    Address::repeat_byte(0xa1)
}

fn bob() -> Address {
    Address::repeat_byte(0xb0)
}

fn block_of(task: &triggerx_core::types::Task) -> u64 {
    match &task.evidence {
        Evidence::Event { block_number, .. } => *block_number,
        other => panic!("not event evidence: {other:?}"),
    }
}

#[tokio::test]
async fn fires_once_per_matching_log_after_confirmations() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&transfer_job(1, env.token(), alice(), 3, Some(100)))
        .unwrap();
    let mut engine = env.engine(&store);
    assert!(
        engine.poll().await.unwrap().is_empty(),
        "a fresh follower starts at the head"
    );

    let block = env.mint(alice(), 500).await;
    env.mint(bob(), 500).await; // other recipient: no match
    env.mint(alice(), 50).await; // below the decoded-field condition: no match
    let early = engine.poll().await.unwrap();
    let head = env.client.block_number().await.unwrap();
    assert!(
        early.is_empty(),
        "not confirmed yet: head {head}, mint block {block}: {early:?}"
    );
    // The first mint's block has 2 blocks on top after the other two mints; one more makes 3.
    env.mine(1).await;
    let tasks = engine.poll().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(block_of(&tasks[0]), block);
    let Occurrence::Event {
        tx_hash, log_index, ..
    } = tasks[0].occurrence
    else {
        panic!()
    };
    let Evidence::Event {
        tx_hash: ev_tx,
        log_index: ev_index,
        block_hash,
        ..
    } = tasks[0].evidence
    else {
        panic!()
    };
    assert_eq!((tx_hash, log_index), (ev_tx, ev_index));
    let header = env
        .client
        .header_by_number(block.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header.hash, block_hash);
    env.mine(5).await;
    assert!(engine.poll().await.unwrap().is_empty(), "never twice");
    assert_eq!(engine.stats().fired, 1);
}

#[tokio::test]
async fn restart_misses_nothing_and_repeats_nothing() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        store
            .insert_job(&transfer_job(1, env.token(), alice(), 1, None))
            .unwrap();
        let mut engine = env.engine(&store);
        engine.poll().await.unwrap();
        env.mint(alice(), 1).await;
        env.mint(alice(), 2).await;
        // The first is confirmed (one block on top), the second is pending.
        assert_eq!(engine.poll().await.unwrap().len(), 1);
        // While "down": two more matching logs.
        env.mint(alice(), 3).await;
        env.mint(alice(), 4).await;
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let mut engine = env.engine(&store);
    env.mine(1).await;
    let tasks = engine.poll().await.unwrap();
    assert_eq!(
        tasks.len(),
        3,
        "the pending one and the two from the downtime"
    );
    assert_eq!(engine.stats().already_existed, 0);
    let all = store
        .list_tasks(&triggerx_core::store::TaskFilter::default())
        .unwrap()
        .items;
    assert_eq!(all.len(), 4);
    let mut ids: Vec<_> = all.iter().map(|t| t.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn reorg_shallower_than_confirmations_creates_no_task() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&transfer_job(1, env.token(), alice(), 3, None))
        .unwrap();
    let mut engine = env.engine(&store);
    engine.poll().await.unwrap();
    let snapshot = env.rpc("evm_snapshot", serde_json::json!([])).await;
    env.mint(alice(), 7).await;
    env.mine(1).await;
    assert!(
        engine.poll().await.unwrap().is_empty(),
        "pending, 1 of 3 confirmations"
    );
    // Drop the two blocks and build a longer chain without the transfer.
    env.rpc("evm_revert", serde_json::json!([snapshot])).await;
    env.mine(5).await;
    assert!(
        engine.poll().await.unwrap().is_empty(),
        "orphaned log must not fire"
    );
    env.mine(5).await;
    assert!(engine.poll().await.unwrap().is_empty());
    let stats = engine.stats();
    assert!(stats.reorgs >= 1, "{stats:?}");
    assert_eq!(stats.orphaned, 1, "{stats:?}");
    assert_eq!(stats.fired, 0);
    // A transfer on the new chain still fires normally.
    env.mint(alice(), 8).await;
    env.mine(3).await;
    assert_eq!(engine.poll().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_job_never_fires_on_older_logs_and_one_shot_completes() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut engine = env.engine(&store);
    engine.poll().await.unwrap();
    env.mint(alice(), 1).await;
    engine.poll().await.unwrap();
    let mut job = transfer_job(9, env.token(), alice(), 0, None);
    job.recurring = false;
    store.insert_job(&job).unwrap();
    engine.upsert_job(&job).unwrap();
    env.mine(2).await;
    assert!(
        engine.poll().await.unwrap().is_empty(),
        "log from before the job existed"
    );
    env.mint(alice(), 2).await;
    env.mint(alice(), 3).await;
    let tasks = engine.poll().await.unwrap();
    assert_eq!(tasks.len(), 1, "one-shot fires once");
    assert_eq!(
        store.get_job(job.id).unwrap().unwrap().status,
        JobStatus::Completed
    );
    assert!(engine.is_empty());
}

#[tokio::test]
async fn many_jobs_cost_two_calls_per_new_block() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for i in 0..200u64 {
        let to = Address::from_word(alloy_primitives::B256::from(U256::from(i + 1)));
        store
            .insert_job(&transfer_job(i + 1, env.token(), to, 0, None))
            .unwrap();
    }
    let mut engine = env.engine(&store);
    assert_eq!(engine.len(), 200);
    engine.poll().await.unwrap();
    let before = engine.stats().rpc_calls;
    let to = Address::from_word(alloy_primitives::B256::from(U256::from(5)));
    env.mint(to, 1).await;
    let tasks = engine.poll().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].job_id, JobId::from_u64(5));
    assert_eq!(
        engine.stats().rpc_calls - before,
        2,
        "head + one getLogs for 200 jobs"
    );
}

#[tokio::test]
async fn service_polls_on_new_heads_over_websocket() {
    use std::time::Duration;

    use triggerx_scheduler::{
        dispatch::ChannelDispatcher,
        event::{heads, service::EventService},
    };

    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store
        .insert_job(&transfer_job(1, env.token(), alice(), 0, None))
        .unwrap();
    let engine = env.engine(&store);
    let (dispatcher, mut tasks) = ChannelDispatcher::new(16);
    // With an hour between polls, only a new-heads notification can deliver the task promptly.
    let (service, _handle) =
        EventService::new(engine, Arc::new(dispatcher), Duration::from_secs(3600));
    let (heads, _sub) = heads::subscribe(&env.devnet.ws_endpoint)
        .await
        .expect("ws subscription");
    let service = service.with_new_heads(heads);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(service.run(async move {
        let _ = stop_rx.await;
    }));
    // Let the first poll settle at the current head.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let block = env.mint(alice(), 9).await;
    let task = tokio::time::timeout(Duration::from_secs(20), tasks.recv())
        .await
        .expect("a new head triggers a poll")
        .expect("dispatcher open");
    assert_eq!(block_of(&task), block);
    stop_tx.send(()).unwrap();
    let engine = run.await.unwrap().unwrap();
    assert_eq!(engine.stats().fired, 1);
}

#[tokio::test]
async fn removing_a_job_takes_effect_at_once() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let j = transfer_job(1, env.token(), alice(), 2, None);
    store.insert_job(&j).unwrap();
    let mut engine = env.engine(&store);
    engine.poll().await.unwrap();
    env.mint(alice(), 1).await;
    assert!(
        engine.poll().await.unwrap().is_empty(),
        "pending its confirmations"
    );
    // Paused (or deleted) now: its pending match is dropped and nothing fires later.
    engine.remove_job(j.id);
    env.mine(5).await;
    assert!(engine.poll().await.unwrap().is_empty());
    assert!(engine.is_empty());
    // Resumed: only logs after it came back count.
    engine.upsert_job(&j).unwrap();
    env.mint(alice(), 2).await;
    env.mine(2).await;
    assert_eq!(engine.poll().await.unwrap().len(), 1);
}
