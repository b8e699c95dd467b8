//! Event engine benchmark: RPC calls per new block while following 10,000 event jobs on one
//! chain, against the naive approach of one `eth_getLogs` poll per job per block, both measured
//! in the same run on a local anvil.
//!
//! `cargo bench -p triggerx-scheduler --bench event_engine` (env `EVENT_BENCH_JOBS`, default
//! 10,000; `EVENT_BENCH_BLOCKS`, default 10).

use std::{sync::Arc, time::Instant};

use alloy::{eips::BlockNumberOrTag, rpc::types::Filter};
use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, B256, Bytes, U256};
use triggerx_core::{
    JobId, Timestamp,
    chain::{
        AlloyClient, ChainClient,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::DemoToken,
    },
    clock::{Clock, SystemClock},
    store::{JobStore, MemoryStore, Store},
    types::{Action, EventTrigger, Job, JobStatus, TopicFilter, Trigger},
};
use triggerx_scheduler::event::{Config, EventEngine};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn recipient(i: u64) -> Address {
    Address::from_word(B256::from(U256::from(i + 1)))
}

fn job(i: u64, token: Address, event: &Event, function: &Function) -> Job {
    let now = Timestamp::now();
    Job {
        id: JobId::from_u64(i + 1),
        owner: Address::ZERO,
        title: String::new(),
        trigger: Trigger::Event(EventTrigger {
            chain_id: 31337,
            addresses: vec![token],
            event: event.clone(),
            topics: vec![TopicFilter {
                position: 2,
                name: "to".into(),
                any_of: vec![recipient(i).into_word()],
            }],
            conditions: vec![],
            confirmations: 0,
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
    let jobs = env_or("EVENT_BENCH_JOBS", 10_000);
    let blocks = env_or("EVENT_BENCH_BLOCKS", 10);
    let anvil = Anvil::start(AnvilOptions::default()).await.expect("anvil");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 1,
            ..Default::default()
        },
    )
    .await
    .expect("devnet");
    let token = devnet.addresses.demo_token;
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&devnet.endpoint).unwrap());
    let event =
        Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
            .unwrap();
    let function = Function::parse("increment()").unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for i in 0..jobs {
        store.insert_job(&job(i, token, &event, &function)).unwrap();
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut engine = EventEngine::new(
        31337,
        client.clone(),
        store.clone(),
        clock,
        Config::default(),
    )
    .unwrap();
    engine.load().unwrap();
    engine.poll().await.unwrap();

    let minter = devnet.provider_for(&devnet.users[0]);
    let demo = DemoToken::new(token, &minter);
    let mut engine_calls = 0;
    let mut engine_time = 0.0;
    let mut naive_calls = 0u64;
    let mut naive_time = 0.0;
    let mut fired = 0;
    for b in 0..blocks {
        // Each block carries one matching transfer.
        demo.mint(recipient(b * 7 % jobs), U256::from(1u64))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let head = client.block_number().await.unwrap();
        let before = engine.stats().rpc_calls;
        let t = Instant::now();
        fired += engine.poll().await.unwrap().len();
        engine_time += t.elapsed().as_secs_f64();
        engine_calls += engine.stats().rpc_calls - before;
        // The naive follower: every job polls its own filter for the new block.
        if b == 0 {
            let t = Instant::now();
            for i in 0..jobs {
                let filter = Filter::new()
                    .from_block(BlockNumberOrTag::Number(head))
                    .to_block(BlockNumberOrTag::Number(head))
                    .address(token)
                    .event_signature(event.selector())
                    .topic2(recipient(i).into_word());
                client.logs(&filter).await.unwrap();
                naive_calls += 1;
            }
            naive_time += t.elapsed().as_secs_f64();
        }
    }
    assert_eq!(fired as u64, blocks, "one task per matching transfer");
    let engine_per_block = engine_calls as f64 / blocks as f64;
    let naive_per_block = naive_calls as f64; // measured over one block
    println!("event engine: {jobs} jobs on one chain, {blocks} new blocks, {fired} tasks");
    println!(
        "bench event_rpc_calls_per_block: {:.1} calls (baseline {:.0} calls, ratio {:.5})",
        engine_per_block,
        naive_per_block,
        engine_per_block / naive_per_block
    );
    println!(
        "bench event_follow_ms_per_block: {:.2} ms (baseline {:.2} ms, ratio {:.5})",
        engine_time * 1000.0 / blocks as f64,
        naive_time * 1000.0,
        (engine_time / blocks as f64) / naive_time
    );
}
