//! 200 tasks from one keeper, all in flight at once.

use std::collections::{BTreeSet, HashSet};

use alloy::providers::Provider;
use anyhow::Result;
use triggerx_keeper::performer::{Config, Engine, Status};

use crate::common::{Env, known_errors};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_tasks_land_without_gaps_or_duplicates() -> Result<()> {
    let env = Env::start().await?;
    let keeper = env.devnet.keepers[0].clone();
    let engine = Engine::new(env.client()?, keeper.signer.clone(), Config::default())
        .await?
        .with_known_errors(known_errors());
    let start = env.nonce_latest(keeper.address()).await?;
    let tasks: Vec<_> = (0..200).map(|i| env.task(i)).collect();

    let mut handles = Vec::new();
    for task in &tasks {
        let (engine, action, task, hub, job) = (
            engine.clone(),
            env.action.clone(),
            *task,
            env.hub(),
            env.job,
        );
        handles.push(tokio::spawn(async move {
            engine.execute_task(hub, task, job, &action).await
        }));
    }
    let mut nonces = BTreeSet::new();
    let mut hashes = HashSet::new();
    for h in handles {
        let outcome = h.await??;
        assert_eq!(outcome.status, Status::Success);
        assert!(
            nonces.insert(outcome.nonce),
            "nonce {} reported twice",
            outcome.nonce
        );
        assert!(hashes.insert(outcome.tx_hash));
        // One mined transaction per nonce, and it is the reported one.
        let tx = env
            .devnet
            .provider
            .get_transaction_by_hash(outcome.tx_hash)
            .await?;
        let tx = tx.expect("reported transaction is known");
        assert_eq!(alloy::consensus::Transaction::nonce(&tx), outcome.nonce);
        assert!(
            env.devnet
                .provider
                .get_transaction_receipt(outcome.tx_hash)
                .await?
                .is_some()
        );
    }
    let expected: BTreeSet<u64> = (start..start + 200).collect();
    assert_eq!(nonces, expected, "nonces are not exactly start..start+200");
    assert_eq!(env.nonce_latest(keeper.address()).await?, start + 200);
    assert_eq!(env.nonce_pending(keeper.address()).await?, start + 200);
    env.assert_each_executed_once(&tasks).await?;
    assert_eq!(engine.stats().gap_fills, 0);
    assert_eq!(engine.nonces().in_flight().await, 0);
    Ok(())
}
