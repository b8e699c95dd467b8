//! TaskHub: who may execute, replay protection, job checks, payment.

use crate::common::*;

#[tokio::test]
async fn hub_refuses_unregistered_keeper_and_replayed_task() -> TestResult {
    let (_anvil, net) = devnet(2).await;
    let (_owner, job) = counter_job(&net).await;
    let counter = Counter::new(net.addresses.counter, net.provider.clone());

    let outsider = net.task_hub(&net.provider_for(&net.users[1]));
    let err: TaskHub::NotKeeper = revert(
        outsider
            .execute(
                task("t1"),
                job.0,
                net.addresses.counter,
                U256::ZERO,
                increment(),
                U256::from(GAS_LIMIT),
            )
            .send()
            .await,
    );
    assert_eq!(err.caller, net.users[1].address());

    let hub = net.task_hub(&net.provider_for(&net.keepers[0].signer));
    let exec = |id: B256| {
        hub.execute(
            id,
            job.0,
            net.addresses.counter,
            U256::ZERO,
            increment(),
            U256::from(GAS_LIMIT),
        )
    };
    let r = receipt(exec(task("t1")).send().await).await;
    let ev = r
        .decoded_log::<TaskHub::TaskExecuted>()
        .expect("TaskExecuted")
        .data;
    assert!(ev.success);
    assert_eq!(ev.taskId, task("t1"));
    assert_eq!(ev.jobId, job.0);
    assert_eq!(ev.performer, net.keepers[0].address());
    assert_eq!(ev.calldataHash, keccak256(increment()));
    assert_eq!(counter.count().call().await?, U256::from(1));
    assert!(hub.executed(task("t1")).call().await?);
    assert!(!hub.executed(task("t2")).call().await?);

    let replay: TaskHub::TaskAlreadyExecuted = revert(exec(task("t1")).send().await);
    assert_eq!(replay.taskId, task("t1"));
    // The other keeper cannot replay it either.
    let hub2 = net.task_hub(&net.provider_for(&net.keepers[1].signer));
    let _: TaskHub::TaskAlreadyExecuted = revert(
        hub2.execute(
            task("t1"),
            job.0,
            net.addresses.counter,
            U256::ZERO,
            increment(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    );
    assert_eq!(counter.count().call().await?, U256::from(1));
    Ok(())
}

#[tokio::test]
async fn owner_is_charged_performer_credited_and_claim_pays_out() -> TestResult {
    let (_anvil, net) = devnet(1).await;
    let (owner, job) = counter_job(&net).await;
    let keeper = &net.keepers[0];
    let kp = net.provider_for(&keeper.signer);
    let hub = net.task_hub(&kp);
    let fee = hub.feePerExecution().call().await?;
    assert_eq!(fee, DevnetOptions::default().fee_per_execution);

    let before = hub.balanceOf(owner.address()).call().await?;
    assert_eq!(before, U256::from(ETHER));
    let r = receipt(
        hub.execute(
            task("pay"),
            job.0,
            net.addresses.counter,
            U256::ZERO,
            increment(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    )
    .await;
    let ev = r
        .decoded_log::<TaskHub::TaskExecuted>()
        .expect("TaskExecuted")
        .data;
    let gas_price = U256::from(r.effective_gas_price);
    assert_eq!(ev.charged, ev.gasUsed * gas_price + fee, "charge formula");
    let after = hub.balanceOf(owner.address()).call().await?;
    assert_eq!(before - after, ev.charged, "owner pays exactly the charge");
    assert_eq!(hub.earnings(keeper.address()).call().await?, ev.charged);
    // The estimate (measured gas + fixed overhead) is close to what the transaction really used.
    let real = r.gas_used as f64;
    let estimated: f64 = ev.gasUsed.to::<u64>() as f64;
    eprintln!(
        "measure hub gas: receipt {real}, charged for {estimated} ({:+.1}%)",
        (estimated / real - 1.0) * 100.0
    );
    assert!(
        (estimated / real - 1.0).abs() < 0.25,
        "charged gas {estimated} vs real {real}"
    );

    // Value is forwarded from the owner's balance: a payable call to the probe's fallback.
    let probe_job = net
        .create_job(
            &owner,
            net.addresses.args_probe,
            chain_now(&net.provider).await + 600,
        )
        .await?;
    let value = U256::from(12_345u64);
    let before = hub.balanceOf(owner.address()).call().await?;
    let data = Bytes::from_static(b"\xde\xad\xbe\xef-raw");
    let r = receipt(
        hub.execute(
            task("value"),
            probe_job.0,
            net.addresses.args_probe,
            value,
            data.clone(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    )
    .await;
    let ev = r
        .decoded_log::<TaskHub::TaskExecuted>()
        .expect("TaskExecuted")
        .data;
    assert!(ev.success);
    eprintln!(
        "measure hub gas (repeat performer): receipt {}, charged for {}",
        r.gas_used, ev.gasUsed
    );
    let called = r.decoded_log::<ArgsProbe::Called>().expect("Called").data;
    assert_eq!(called.data, data);
    assert_eq!(
        net.provider.get_balance(net.addresses.args_probe).await?,
        value
    );
    let after = hub.balanceOf(owner.address()).call().await?;
    assert_eq!(before - after, value + ev.charged);

    // Claim pays the earnings out and zeroes them.
    let earned = hub.earnings(keeper.address()).call().await?;
    let eth_before = kp.get_balance(keeper.address()).await?;
    let r = receipt(hub.claim().send().await).await;
    let claimed = r.decoded_log::<TaskHub::Claimed>().expect("Claimed").data;
    assert_eq!(claimed.amount, earned);
    let tx_cost = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    let eth_after = kp.get_balance(keeper.address()).await?;
    assert_eq!(eth_after, eth_before + earned - tx_cost);
    assert_eq!(hub.earnings(keeper.address()).call().await?, U256::ZERO);

    // The owner withdraws the rest; overdrawing is refused.
    let owner_hub = net.task_hub(&net.provider_for(&owner));
    let left = owner_hub.balanceOf(owner.address()).call().await?;
    let e: TaskHub::InsufficientBalance =
        revert(owner_hub.withdraw(left + U256::from(1)).send().await);
    assert_eq!(e.available, left);
    receipt(owner_hub.withdraw(left).send().await).await;
    assert_eq!(
        owner_hub.balanceOf(owner.address()).call().await?,
        U256::ZERO
    );
    Ok(())
}

#[tokio::test]
async fn hub_refuses_wrong_target_expired_cancelled_unknown_and_unfunded_jobs() -> TestResult {
    let (_anvil, net) = devnet(1).await;
    let (owner, job) = counter_job(&net).await;
    let hub = net.task_hub(&net.provider_for(&net.keepers[0].signer));
    let gas = U256::from(GAS_LIMIT);
    let c = net.addresses.counter;

    let e: TaskHub::TargetMismatch = revert(
        hub.execute(
            task("m"),
            job.0,
            net.addresses.demo_token,
            U256::ZERO,
            increment(),
            gas,
        )
        .send()
        .await,
    );
    assert_eq!((e.expected, e.given), (c, net.addresses.demo_token));

    let unknown = job.0 + U256::from(1000);
    let _: TaskHub::JobNotFound = revert(
        hub.execute(task("u"), unknown, c, U256::ZERO, increment(), gas)
            .send()
            .await,
    );

    // Unfunded: a job of user 1, who deposited nothing.
    let poor = &net.users[1];
    let poor_job = net
        .create_job(poor, c, chain_now(&net.provider).await + 3600)
        .await?;
    let e: TaskHub::InsufficientBalance = revert(
        hub.execute(task("p"), poor_job.0, c, U256::ZERO, increment(), gas)
            .send()
            .await,
    );
    assert_eq!((e.owner, e.available), (poor.address(), U256::ZERO));

    // Cancelled: only the owner may cancel, and then the hub refuses it.
    let jobs_as_other = net.job_registry(&net.provider_for(poor));
    let _: JobRegistry::NotJobOwner = revert(jobs_as_other.cancelJob(job.0).send().await);
    let jobs = net.job_registry(&net.provider_for(&owner));
    let r = receipt(jobs.cancelJob(job.0).send().await).await;
    let ev = r
        .decoded_log::<JobRegistry::JobCancelled>()
        .expect("JobCancelled")
        .data;
    assert_eq!((ev.jobId, ev.owner), (job.0, owner.address()));
    assert!(!jobs.getJob(job.0).call().await?.active);
    let _: JobRegistry::JobNotActive = revert(jobs.cancelJob(job.0).send().await);
    let _: TaskHub::JobNotActive = revert(
        hub.execute(task("c"), job.0, c, U256::ZERO, increment(), gas)
            .send()
            .await,
    );

    // Expired: a job expiring in 100 s, then time moves 200 s on.
    let short = net
        .create_job(&owner, c, chain_now(&net.provider).await + 100)
        .await?;
    receipt(
        hub.execute(task("before"), short.0, c, U256::ZERO, increment(), gas)
            .send()
            .await,
    )
    .await;
    advance_time(&net.provider, 200).await;
    let e: TaskHub::JobExpired = revert(
        hub.execute(task("after"), short.0, c, U256::ZERO, increment(), gas)
            .send()
            .await,
    );
    assert_eq!(e.jobId, short.0);
    // Refused executions consumed nothing.
    for t in ["m", "u", "p", "c", "after"] {
        assert!(
            !hub.executed(task(t)).call().await?,
            "{t} must not be consumed"
        );
    }
    Ok(())
}

#[tokio::test]
async fn failing_target_consumes_the_task_with_success_false() -> TestResult {
    let (_anvil, net) = devnet(1).await;
    let (owner, job) = counter_job(&net).await;
    let hub = net.task_hub(&net.provider_for(&net.keepers[0].signer));
    let fail: Bytes = Counter::failCall {}.abi_encode().into();
    let before = hub.balanceOf(owner.address()).call().await?;
    let value = U256::from(777u64);
    let r = receipt(
        hub.execute(
            task("f"),
            job.0,
            net.addresses.counter,
            value,
            fail.clone(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    )
    .await;
    let ev = r
        .decoded_log::<TaskHub::TaskExecuted>()
        .expect("TaskExecuted")
        .data;
    assert!(!ev.success);
    assert!(hub.executed(task("f")).call().await?);
    // The forwarded value came back; only the charge was taken.
    assert_eq!(
        before - hub.balanceOf(owner.address()).call().await?,
        ev.charged
    );
    let _: TaskHub::TaskAlreadyExecuted = revert(
        hub.execute(
            task("f"),
            job.0,
            net.addresses.counter,
            U256::ZERO,
            increment(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    );
    // A call starved of gas fails inside, too: gas limit 100 cannot run anything.
    let r = receipt(
        hub.execute(
            task("g"),
            job.0,
            net.addresses.counter,
            U256::ZERO,
            increment(),
            U256::from(100),
        )
        .send()
        .await,
    )
    .await;
    assert!(
        !r.decoded_log::<TaskHub::TaskExecuted>()
            .expect("TaskExecuted")
            .data
            .success
    );
    let counter = Counter::new(net.addresses.counter, net.provider.clone());
    assert_eq!(counter.count().call().await?, U256::ZERO);
    Ok(())
}

#[tokio::test]
async fn starving_the_target_call_is_refused_not_consumed() -> TestResult {
    let (_anvil, net) = devnet(1).await;
    let (owner, job) = counter_job(&net).await;
    let hub = net.task_hub(&net.provider_for(&net.keepers[0].signer));
    let burn: Bytes = Counter::exhaustCall {}.abi_encode().into();
    let gas_limit = U256::from(1_000_000u64);
    let c = net.addresses.counter;

    // The keeper's transaction carries far less gas than the job's limit: the call gets only
    // 63/64 of what is left, burns it, and the hub refuses rather than consume the task.
    let e: TaskHub::InsufficientGas = revert(
        hub.execute(
            task("starve"),
            job.0,
            c,
            U256::ZERO,
            burn.clone(),
            gas_limit,
        )
        .gas(400_000)
        .call()
        .await,
    );
    assert_eq!(e.gasLimit, gas_limit);
    let pending = hub
        .execute(
            task("starve"),
            job.0,
            c,
            U256::ZERO,
            burn.clone(),
            gas_limit,
        )
        .gas(400_000)
        .send()
        .await?;
    let r = pending.get_receipt().await?;
    assert!(!r.status(), "a starved call must revert the execution");
    assert!(!hub.executed(task("starve")).call().await?);

    // With enough gas, the same call fails inside: consumed, success = false, owner charged
    // for the whole limit it burned.
    let before = hub.balanceOf(owner.address()).call().await?;
    let r = receipt(
        hub.execute(task("starve"), job.0, c, U256::ZERO, burn, gas_limit)
            .gas(1_300_000)
            .send()
            .await,
    )
    .await;
    let ev = r
        .decoded_log::<TaskHub::TaskExecuted>()
        .expect("TaskExecuted")
        .data;
    assert!(!ev.success);
    assert!(ev.gasUsed > gas_limit);
    assert_eq!(
        before - hub.balanceOf(owner.address()).call().await?,
        ev.charged
    );
    Ok(())
}

#[tokio::test]
async fn reentering_the_hub_from_the_target_fails_the_call() -> TestResult {
    let (_anvil, net) = devnet(1).await;
    let owner = net.users[0].clone();
    let now = chain_now(&net.provider).await;
    // A job whose target is the hub itself: the forwarded call re-enters it.
    let job = net
        .create_job(&owner, net.addresses.task_hub, now + 3600)
        .await?;
    net.deposit(owner.address(), U256::from(ETHER)).await?;
    let hub = net.task_hub(&net.provider_for(&net.keepers[0].signer));
    for (name, data) in [
        (
            "withdraw",
            Bytes::from(TaskHub::withdrawCall { amount: U256::ZERO }.abi_encode()),
        ),
        ("claim", Bytes::from(TaskHub::claimCall {}.abi_encode())),
    ] {
        let r = receipt(
            hub.execute(
                task(name),
                job.0,
                net.addresses.task_hub,
                U256::ZERO,
                data,
                U256::from(GAS_LIMIT),
            )
            .send()
            .await,
        )
        .await;
        let ev = r
            .decoded_log::<TaskHub::TaskExecuted>()
            .expect("TaskExecuted")
            .data;
        assert!(!ev.success, "re-entering {name} must fail");
        assert!(r.decoded_log::<TaskHub::Withdrawn>().is_none());
        assert!(r.decoded_log::<TaskHub::Claimed>().is_none());
    }
    Ok(())
}
