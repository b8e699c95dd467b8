//! Dropped and delayed responses, a paused chain and an endpoint that goes down: every task
//! still executes exactly once and no nonce is left stuck.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Result, bail};
use serde_json::json;
use triggerx_core::{
    TaskId,
    chain::{
        ChainClient, FailoverClient, FailoverConfig,
        fault_proxy::{FaultConfig, FaultProxy},
    },
};
use triggerx_keeper::performer::{Config, Engine, Error, Status};

use crate::common::{Env, known_errors};

/// Executes `task`, re-submitting only while the failure says nothing was sent. Every task
/// must end in one successful execution: a revert (such as the hub refusing a replayed task
/// id) would mean the engine sent the task twice.
async fn execute_until_done(
    engine: Engine,
    hub: alloy_primitives::Address,
    job: triggerx_core::JobId,
    action: triggerx_core::types::Action,
    task: TaskId,
) -> Result<()> {
    for _ in 0..20 {
        match engine.execute_task(hub, task, job, &action).await {
            Ok(outcome) => match outcome.status {
                Status::Success => return Ok(()),
                Status::Reverted { reason } => bail!("task {task} reverted: {reason}"),
            },
            Err(e) if e.is_retryable() && !matches!(e, Error::NonceTakenElsewhere { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => bail!("task {task}: {e}"),
        }
    }
    bail!("task {task}: gave up")
}

fn anvil_addr(env: &Env) -> Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], env.anvil.port())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_and_delayed_responses_and_a_paused_chain() -> Result<()> {
    scenario(4, 0.15, 0).await
}

/// Without client-side retries every fault reaches the engine itself: sends that time out
/// are followed by hash and receipt, never re-signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reach_the_engine_when_the_client_does_not_retry() -> Result<()> {
    scenario(1, 0.25, 10_000).await
}

/// `rounds` failover rounds, `share` of responses dropped and as many delayed; task ids from
/// `first_task`.
async fn scenario(rounds: u32, share: f64, first_task: u64) -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[0].clone();
    // Two endpoints to the same node: a faulty one first, and one that goes down and up.
    let faulty = FaultProxy::start(
        anvil_addr(&env)?,
        FaultConfig {
            drop_share: share,
            delay_share: share,
            delay: Duration::from_millis(1500),
            seed: fault_seed(),
        },
    )
    .await?;
    let flaky = FaultProxy::start(anvil_addr(&env)?, FaultConfig::default()).await?;
    let failover = FailoverConfig::default()
        .with_attempt_timeout(Duration::from_millis(700))
        .with_rounds(rounds);
    let client: Arc<dyn ChainClient> = Arc::new(FailoverClient::http(
        &[faulty.url(), flaky.url()],
        failover,
    )?);
    let config = Config::default()
        .with_poll_interval(Duration::from_millis(50))
        .with_stuck_after(Duration::from_secs(2))
        .with_rebroadcast_after(Duration::from_millis(500))
        .with_rpc_timeout(Duration::from_secs(20))
        .with_max_in_flight(16);
    let engine = Engine::new(client, keeper.signer.clone(), config)
        .await?
        .with_known_errors(known_errors());
    let start = env.nonce_latest(keeper.address()).await?;

    let tasks: Vec<TaskId> = (0..60).map(|i| env.task(first_task + i)).collect();
    let mut handles = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        if i == 20 {
            // Pause the chain while transactions are in flight; stuck ones get replaced.
            env.control("evm_setAutomine", json!([false])).await?;
            flaky.set_down(true);
        }
        if i == 40 {
            tokio::time::sleep(Duration::from_secs(3)).await;
            flaky.set_down(false);
            env.control("evm_setAutomine", json!([true])).await?;
            env.control("evm_mine", json!([])).await?;
        }
        let (engine, action, task, hub, job) = (
            engine.clone(),
            env.action.clone(),
            *task,
            env.hub(),
            env.job,
        );
        handles.push(tokio::spawn(execute_until_done(
            engine, hub, job, action, task,
        )));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for h in handles {
        h.await??;
    }
    // Everything the keeper signed is mined: nothing pending, no gap.
    let latest = env.nonce_latest(keeper.address()).await?;
    assert_eq!(
        env.nonce_pending(keeper.address()).await?,
        latest,
        "a nonce is left pending"
    );
    assert_eq!(
        latest,
        start + 60 + engine.stats().gap_fills,
        "nonces used by duplicates"
    );
    env.assert_each_executed_once(&tasks).await?;
    assert_eq!(engine.nonces().in_flight().await, 0);
    let stats = faulty.stats();
    assert!(
        stats.dropped > 0 && stats.delayed > 0,
        "the proxy injected no faults: {stats:?}"
    );
    eprintln!("proxy {stats:?}, engine {:?}", engine.stats());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_moves_past_a_down_endpoint_but_not_past_a_revert() -> Result<()> {
    let env = Env::start().await?;
    let down = FaultProxy::start(anvil_addr(&env)?, FaultConfig::default()).await?;
    down.set_down(true);
    let client = FailoverClient::http(
        &[down.url(), env.devnet.endpoint.clone()],
        FailoverConfig::default(),
    )?;
    assert_eq!(client.chain_id().await?, env.devnet.chain_id);
    assert_eq!(
        client.preferred(),
        1,
        "the healthy endpoint is preferred after failover"
    );
    assert!(down.stats().refused >= 1);

    // A revert is the node's verdict: surfaced at once, not retried on the other endpoint.
    let up = FaultProxy::start(anvil_addr(&env)?, FaultConfig::default()).await?;
    let client = FailoverClient::http(
        &[up.url(), env.devnet.endpoint.clone()],
        FailoverConfig::default(),
    )?;
    let fail = alloy::rpc::types::TransactionRequest::default()
        .to(env.devnet.addresses.counter)
        .input(
            alloy::sol_types::SolCall::abi_encode(
                &triggerx_core::chain::contracts::Counter::failCall {},
            )
            .into(),
        );
    let before = up.stats().forwarded;
    let err = client
        .call(&fail, alloy::eips::BlockId::latest())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            triggerx_core::chain::Error::Reverted { data: Some(_), .. }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        up.stats().forwarded,
        before + 1,
        "a revert must not be retried"
    );
    assert_eq!(client.preferred(), 0);
    Ok(())
}

/// The fault generator's seed: `TRIGGERX_FAULT_SEED`, or 7.
fn fault_seed() -> u64 {
    std::env::var("TRIGGERX_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}
