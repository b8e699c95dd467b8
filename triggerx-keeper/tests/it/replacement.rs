//! A stuck transaction is replaced with a fee bump of at least 10%; exactly one version lands.

use std::time::Duration;

use alloy::providers::Provider;
use alloy_primitives::U256;
use anyhow::Result;
use serde_json::json;
use triggerx_keeper::performer::{Call, Config, Engine, Status};

use crate::common::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_transaction_is_replaced_and_exactly_one_lands() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[1].clone();
    let config = Config::default()
        .with_poll_interval(Duration::from_millis(50))
        .with_stuck_after(Duration::from_millis(300))
        .with_bump_percent(10);
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config).await?;
    let start = env.nonce_latest(keeper.address()).await?;

    env.control("evm_setAutomine", json!([false])).await?;
    let increment = alloy_json_abi::Function::parse("increment()")?
        .selector()
        .to_vec();
    let pending = engine
        .submit(Call::new(env.devnet.addresses.counter, increment))
        .await?;
    // Wait (bounded by polls, not by a clock assertion) until two replacements were signed.
    let mut polls = 0;
    while engine.stats().replacements < 2 {
        polls += 1;
        assert!(polls < 600, "no replacement signed: {:?}", engine.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.control("evm_setAutomine", json!([true])).await?;
    env.control("evm_mine", json!([])).await?;
    let outcome = pending.wait().await?;

    assert_eq!(outcome.status, Status::Success);
    assert!(outcome.versions.len() >= 3, "{:?}", outcome.versions);
    for pair in outcome.versions.windows(2) {
        let (old, new) = (pair[0].1, pair[1].1);
        assert!(
            new.max_fee_per_gas * 100 >= old.max_fee_per_gas * 110,
            "{old:?} -> {new:?}"
        );
        assert!(
            new.max_priority_fee_per_gas * 100 >= old.max_priority_fee_per_gas * 110,
            "{old:?} -> {new:?}"
        );
    }
    let mut landed = 0;
    for (hash, _) in &outcome.versions {
        if env
            .devnet
            .provider
            .get_transaction_receipt(*hash)
            .await?
            .is_some()
        {
            landed += 1;
            assert_eq!(*hash, outcome.tx_hash);
        }
    }
    assert_eq!(landed, 1, "exactly one version must be mined");
    assert_eq!(env.nonce_latest(keeper.address()).await?, start + 1);
    assert_eq!(env.nonce_pending(keeper.address()).await?, start + 1);
    assert_eq!(env.counter().await?, U256::from(1));
    Ok(())
}

/// The node forgets a pending transaction (`anvil_dropTransaction`, like a pool eviction): the
/// nonce is re-priced and re-sent, and the later nonces waiting behind it land too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_from_the_pool_is_sent_again() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[2].clone();
    let config = Config::default()
        .with_poll_interval(Duration::from_millis(50))
        .with_stuck_after(Duration::from_millis(400));
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config).await?;
    let start = env.nonce_latest(keeper.address()).await?;
    env.control("evm_setAutomine", json!([false])).await?;
    let increment = alloy_json_abi::Function::parse("increment()")?
        .selector()
        .to_vec();
    let mut pendings = Vec::new();
    for _ in 0..3 {
        pendings.push(
            engine
                .submit(Call::new(env.devnet.addresses.counter, increment.clone()))
                .await?,
        );
    }
    let dropped = pendings[0].tx_hash;
    env.control("anvil_dropTransaction", json!([dropped]))
        .await?;
    assert!(
        env.devnet
            .provider
            .get_transaction_by_hash(dropped)
            .await?
            .is_none()
    );
    env.control("evm_setAutomine", json!([true])).await?;
    env.control("evm_mine", json!([])).await?;
    let mut nonces = Vec::new();
    for p in pendings {
        let outcome = p.wait().await?;
        assert_eq!(outcome.status, Status::Success);
        nonces.push(outcome.nonce);
    }
    assert_eq!(nonces, vec![start, start + 1, start + 2]);
    assert_eq!(env.nonce_pending(keeper.address()).await?, start + 3);
    assert_eq!(env.counter().await?, U256::from(3));
    Ok(())
}

/// With `confirmations = 3` the outcome is reported only once two more blocks exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_waits_for_confirmations() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[0].clone();
    let config = Config::default()
        .with_confirmations(3)
        .with_poll_interval(Duration::from_millis(50));
    let engine = Engine::new(env.client()?, keeper.signer.clone(), config).await?;
    let increment = alloy_json_abi::Function::parse("increment()")?
        .selector()
        .to_vec();
    let pending = engine
        .submit(Call::new(env.devnet.addresses.counter, increment))
        .await?;
    let waiter = tokio::spawn(pending.wait());
    // Mine the two confirming blocks one poll at a time; the waiter must still be waiting
    // before the last one.
    let mut mined = 0;
    while mined < 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "reported before {} confirmations", 3);
        env.control("evm_mine", json!([])).await?;
        mined += 1;
    }
    let outcome = waiter.await??;
    let head = env.devnet.provider.get_block_number().await?;
    assert!(
        head >= outcome.block_number + 2,
        "head {head}, mined in {}",
        outcome.block_number
    );
    Ok(())
}
