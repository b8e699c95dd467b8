//! One keeper's transactions per second to anvil (automine): the pipelined engine (many
//! transactions in flight) versus a send-and-wait-for-receipt loop, both with the same engine,
//! client and receipt poll interval.
//!
//! Run: `cargo bench -p triggerx-keeper --bench throughput`

use std::{sync::Arc, time::Instant};

use alloy_primitives::U256;
use anyhow::{Context, Result};
use triggerx_core::{
    Timestamp,
    chain::{
        ChainClient, FailoverClient, FailoverConfig,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
    },
    ids::Occurrence,
    types::{Action, Arguments},
};
use triggerx_keeper::performer::{Config, Engine, Status};

const PIPELINED: u64 = 400;
const SEQUENTIAL: u64 = 40;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let anvil = Anvil::start(AnvilOptions::default())
        .await
        .context("start anvil")?;
    let devnet = Devnet::deploy(&anvil, DevnetOptions::default()).await?;
    let owner = devnet.users[0].clone();
    let job = devnet
        .create_job(&owner, devnet.addresses.counter, 4_000_000_000)
        .await?;
    let ether = U256::from(10u64).pow(U256::from(18u64));
    devnet
        .deposit(owner.address(), U256::from(1_000u64) * ether)
        .await?;
    let function = alloy_json_abi::Function::parse("increment()")?;
    let action = Action {
        chain_id: devnet.chain_id,
        target: devnet.addresses.counter,
        value: U256::ZERO,
        gas_limit: Some(100_000),
        arguments: Arguments::Static {
            values: vec![],
            calldata: function.selector().to_vec().into(),
        },
        function,
    };
    let client: Arc<dyn ChainClient> = Arc::new(FailoverClient::http(
        &[devnet.endpoint.as_str()],
        FailoverConfig::default(),
    )?);
    let hub = devnet.addresses.task_hub;
    let task = |i: u64| {
        Occurrence::Time {
            job,
            due: Timestamp::from_secs(i as i64),
        }
        .task_id()
    };

    let config = Config::default();
    let poll = config.poll_interval;
    let engine = Engine::new(
        Arc::clone(&client),
        devnet.keepers[0].signer.clone(),
        config,
    )
    .await?;

    // Pipelined: every task submitted at once, up to `max_in_flight` unconfirmed.
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..PIPELINED {
        let (engine, action, task) = (engine.clone(), action.clone(), task(i));
        handles.push(tokio::spawn(async move {
            engine.execute_task(hub, task, job, &action).await
        }));
    }
    for h in handles {
        anyhow::ensure!(
            h.await??.status == Status::Success,
            "a pipelined task reverted"
        );
    }
    let pipelined = PIPELINED as f64 / started.elapsed().as_secs_f64();

    // Baseline: send one, wait for its receipt, send the next.
    let started = Instant::now();
    for i in 0..SEQUENTIAL {
        let outcome = engine
            .execute_task(hub, task(1_000_000 + i), job, &action)
            .await?;
        anyhow::ensure!(
            outcome.status == Status::Success,
            "a sequential task reverted"
        );
    }
    let sequential = SEQUENTIAL as f64 / started.elapsed().as_secs_f64();

    println!(
        "pipelined: {PIPELINED} tasks, sequential: {SEQUENTIAL} tasks, receipt poll {poll:?}, \
         max in flight {}",
        engine.config().max_in_flight
    );
    println!(
        "bench keeper_tx_throughput: {pipelined:.1} tx/s (baseline {sequential:.1} tx/s, ratio {:.1})",
        pipelined / sequential
    );
    Ok(())
}
