//! Revert reasons: refused in simulation, and mined reverts recovered by replay.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use triggerx_keeper::performer::{Call, Config, Engine, Error, RevertReason, Status};

use crate::common::{Env, known_errors};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_reverts_are_decoded_and_use_no_nonce() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[0].clone();
    let engine = Engine::new(env.client()?, keeper.signer.clone(), Config::default())
        .await?
        .with_known_errors(known_errors());
    let task = env.task(7);
    let first = engine
        .execute_task(env.hub(), task, env.job, &env.action)
        .await?;
    assert_eq!(first.status, Status::Success);
    let before = env.nonce_pending(keeper.address()).await?;

    // Replayed task id: the hub's custom error, decoded with its arguments.
    match engine
        .execute_task(env.hub(), task, env.job, &env.action)
        .await
    {
        Err(Error::Simulation {
            reason:
                RevertReason::Custom {
                    signature: Some(sig),
                    ..
                },
        }) => {
            assert!(sig.starts_with("TaskAlreadyExecuted("), "{sig}");
        }
        other => panic!("expected TaskAlreadyExecuted, got {other:?}"),
    }
    // An unregistered keeper is refused by the hub.
    let stranger = Engine::new(
        env.client()?,
        env.devnet.users[3].clone(),
        Config::default(),
    )
    .await?
    .with_known_errors(known_errors());
    match stranger
        .execute_task(env.hub(), env.task(8), env.job, &env.action)
        .await
    {
        Err(Error::Simulation { reason }) => {
            assert!(reason.to_string().starts_with("NotKeeper("), "{reason}")
        }
        other => panic!("expected NotKeeper, got {other:?}"),
    }
    // A direct call that reverts with a custom error of the target.
    let fail = alloy_json_abi::Function::parse("fail()")?
        .selector()
        .to_vec();
    match engine
        .execute(Call::new(env.devnet.addresses.counter, fail))
        .await
    {
        Err(Error::Simulation { reason }) => assert_eq!(reason.to_string(), "AlwaysFails()"),
        other => panic!("expected AlwaysFails, got {other:?}"),
    }
    // The job's gas cap is honoured: an estimate above it is refused before sending.
    let tight = Call::new(
        env.devnet.addresses.counter,
        alloy_json_abi::Function::parse("increment()")?
            .selector()
            .to_vec(),
    )
    .with_gas_cap(Some(21_500));
    assert!(matches!(
        engine.execute(tight).await,
        Err(Error::GasCapExceeded { cap: 21_500, .. })
    ));
    assert_eq!(
        env.nonce_pending(keeper.address()).await?,
        before,
        "a refused call used a nonce"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mined_revert_reason_is_recovered() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[0].clone();
    // Simulating at the latest block lets a duplicate through while the first is unmined.
    let config = Config::default()
        .with_simulate_at_pending(false)
        .with_poll_interval(Duration::from_millis(50));
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config)
        .await?
        .with_known_errors(known_errors());
    let task = env.task(9);
    env.control("evm_setAutomine", json!([false])).await?;
    let a = engine
        .submit_task(env.hub(), task, env.job, &env.action)
        .await?;
    let b = engine
        .submit_task(env.hub(), task, env.job, &env.action)
        .await?;
    env.control("evm_mine", json!([])).await?;
    env.control("evm_setAutomine", json!([true])).await?;
    let (a, b) = (a.wait().await?, b.wait().await?);
    assert_eq!(a.status, Status::Success);
    match b.status {
        Status::Reverted { reason } => {
            assert!(
                reason.to_string().starts_with("TaskAlreadyExecuted("),
                "{reason}"
            )
        }
        other => panic!("expected a mined revert, got {other:?}"),
    }
    env.assert_each_executed_once(&[task]).await?;
    Ok(())
}
