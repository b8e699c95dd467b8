//! A keeper restarted with transactions still in the pool continues after them: no nonce is
//! reused, none is skipped, and the tasks already sent are not sent again.

use std::time::Duration;

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use anyhow::Result;
use serde_json::json;
use triggerx_core::TaskId;
use triggerx_keeper::performer::{Config, Engine, Error, GWEI, Status};

use crate::common::{Env, known_errors};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resynchronises_from_the_pending_count() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[2].clone();
    let start = env.nonce_latest(keeper.address()).await?;
    let first: Vec<TaskId> = (0..10).map(|i| env.task(5_000 + i)).collect();
    env.control("evm_setAutomine", json!([false])).await?;

    // The first keeper process: sends ten tasks, then dies (its runtime and every background
    // task with it) before any is mined.
    let (client, signer, hub, job, action, tasks) = (
        env.client()?,
        keeper.signer.clone(),
        env.hub(),
        env.job,
        env.action.clone(),
        first.clone(),
    );
    let sent = tokio::task::spawn_blocking(move || -> Result<Vec<u64>> {
        let rt = tokio::runtime::Runtime::new()?;
        let nonces = rt.block_on(async move {
            let engine = Engine::new(client, signer, Config::default()).await?;
            let mut nonces = Vec::new();
            for task in tasks {
                nonces.push(engine.submit_task(hub, task, job, &action).await?.nonce);
            }
            anyhow::Ok(nonces)
        })?;
        drop(rt);
        Ok(nonces)
    })
    .await??;
    assert_eq!(sent, (start..start + 10).collect::<Vec<_>>());
    assert_eq!(env.nonce_pending(keeper.address()).await?, start + 10);

    // The restarted process: its nonces continue after the pool's, and the tasks the first
    // one sent fail simulation against the pending block instead of being sent twice.
    let config = Config::default().with_poll_interval(Duration::from_millis(50));
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config)
        .await?
        .with_known_errors(known_errors());
    for task in &first {
        match engine
            .submit_task(env.hub(), *task, env.job, &env.action)
            .await
        {
            Err(Error::Simulation { reason }) => {
                assert!(
                    reason.to_string().starts_with("TaskAlreadyExecuted("),
                    "{reason}"
                )
            }
            other => panic!("a task sent before the restart was sent again: {other:?}"),
        }
    }
    let second: Vec<TaskId> = (0..5).map(|i| env.task(6_000 + i)).collect();
    let mut pendings = Vec::new();
    for task in &second {
        pendings.push(
            engine
                .submit_task(env.hub(), *task, env.job, &env.action)
                .await?,
        );
    }
    let nonces: Vec<u64> = pendings.iter().map(|p| p.nonce).collect();
    assert_eq!(nonces, (start + 10..start + 15).collect::<Vec<_>>());
    env.control("evm_setAutomine", json!([true])).await?;
    env.control("evm_mine", json!([])).await?;
    for p in pendings {
        assert_eq!(p.wait().await?.status, Status::Success);
    }
    assert_eq!(env.nonce_latest(keeper.address()).await?, start + 15);
    assert_eq!(env.nonce_pending(keeper.address()).await?, start + 15);
    let all: Vec<TaskId> = first.iter().chain(&second).copied().collect();
    env.assert_each_executed_once(&all).await?;
    Ok(())
}

/// A restarted keeper whose dead predecessor left a hole: its transaction at `start + 1` is in
/// the pool but the one at `start` never reached the node. The hole is closed (by the next
/// transaction or a filler), the old transaction after it is not replaced, and all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hole_left_by_a_dead_process_is_closed() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[1].clone();
    let start = env.nonce_latest(keeper.address()).await?;
    // The old process's transaction at start + 1: a signed counter increment.
    let increment = alloy_json_abi::Function::parse("increment()")?
        .selector()
        .to_vec();
    let old = TransactionRequest::default()
        .with_to(env.devnet.addresses.counter)
        .with_input(increment)
        .with_nonce(start + 1)
        .with_chain_id(env.devnet.chain_id)
        .with_gas_limit(100_000)
        .with_max_fee_per_gas(10 * GWEI)
        .with_max_priority_fee_per_gas(GWEI);
    let wallet = EthereumWallet::from(keeper.signer.clone());
    let envelope = NetworkTransactionBuilder::build(old, &wallet).await?;
    let old_hash = *envelope.tx_hash();
    let _ = env
        .devnet
        .provider
        .send_raw_transaction(&envelope.encoded_2718())
        .await?;
    assert_eq!(
        env.nonce_latest(keeper.address()).await?,
        start,
        "the hole blocks it"
    );

    let config = Config::default()
        .with_poll_interval(Duration::from_millis(50))
        .with_stuck_after(Duration::from_millis(500));
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config)
        .await?
        .with_known_errors(known_errors());
    let task = env.task(7_000);
    let outcome = engine
        .execute_task(env.hub(), task, env.job, &env.action)
        .await?;
    assert_eq!(outcome.status, Status::Success);
    // anvil's automine seals a block only when a transaction arrives; the old transaction
    // became ready when the hole closed, so seal one more block for it.
    env.control("evm_mine", json!([])).await?;
    let latest = env.nonce_latest(keeper.address()).await?;
    assert_eq!(
        env.nonce_pending(keeper.address()).await?,
        latest,
        "a nonce is left pending"
    );
    // Either the new transaction took the hole's nonce itself (anvil's pending count stops at
    // the hole), or it came after the old one and one filler closed the hole.
    let fills = engine.stats().gap_fills;
    assert!(
        (latest == start + 2 && fills == 0) || (latest == start + 3 && fills == 1),
        "latest {latest}, start {start}, fills {fills}"
    );
    // The task once through the hub, plus the old process's direct increment.
    assert_eq!(env.executed_events().await?, vec![task.0]);
    assert_eq!(env.counter().await?, alloy_primitives::U256::from(2));
    let receipt = env
        .devnet
        .provider
        .get_transaction_receipt(old_hash)
        .await?;
    assert!(
        receipt.is_some_and(|r| r.status()),
        "the old transaction was replaced"
    );
    Ok(())
}
