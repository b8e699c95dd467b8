//! The contract artifacts are in sync with their sources, and the contracts behave as documented
//! in `docs/contracts.md`, checked against a real anvil.
//!
//! Run: `cargo test -p triggerx-core --features chain,test-utils --test contracts`
//! (needs `scripts/setup.sh` for node_modules: solc and anvil).

use std::{path::Path, process::Command};

/// `node scripts/contracts.mjs check` recompiles every source with the pinned solc and compares
/// with the committed artifacts.
#[test]
fn artifacts_match_sources() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate is inside the repo");
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED artifacts_match_sources: node is not installed, cannot recompile contracts"
        );
        return;
    }
    let out = Command::new("node")
        .args(["scripts/contracts.mjs", "check"])
        .current_dir(repo)
        .output()
        .expect("run node scripts/contracts.mjs check");
    assert!(
        out.status.success(),
        "contract artifacts are stale (run `node scripts/contracts.mjs build`):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(all(feature = "chain", feature = "test-utils"))]
mod chain {
    use std::{fmt::Debug, time::Duration};

    use alloy::{
        eips::BlockNumberOrTag,
        primitives::{Address, B256, Bytes, I256, U256, keccak256},
        providers::{DynProvider, Provider},
        rpc::types::TransactionReceipt,
        signers::{SignerSync, local::PrivateKeySigner},
        sol_types::{SolCall, SolError},
    };
    use triggerx_core::{
        JobId,
        chain::{
            anvil::{Anvil, AnvilOptions, Devnet, DevnetKeeper, DevnetOptions},
            contracts::{
                ArgsProbe, Counter, DemoToken, JobRegistry, KeeperRegistry, PriceFeed, TaskHub,
                attestation_digest, attestation_domain,
            },
        },
    };

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const ETHER: u128 = 1_000_000_000_000_000_000;
    const GAS_LIMIT: u64 = 300_000;

    async fn devnet(keepers: usize) -> (Anvil, Devnet) {
        let anvil = Anvil::start(AnvilOptions::default())
            .await
            .unwrap_or_else(|e| panic!("start anvil (run scripts/setup.sh): {e}"));
        let net = Devnet::deploy(
            &anvil,
            DevnetOptions {
                keepers,
                ..DevnetOptions::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("deploy devnet: {e}"));
        (anvil, net)
    }

    /// The decoded custom error `E` of a failed call or send, or a panic naming what happened.
    fn revert<E: SolError + Debug, T: Debug>(result: Result<T, alloy::contract::Error>) -> E {
        match result {
            Ok(v) => panic!("expected revert {}, call succeeded: {v:?}", E::SIGNATURE),
            Err(e) => e
                .as_decoded_error::<E>()
                .unwrap_or_else(|| panic!("expected revert {}, got: {e}", E::SIGNATURE)),
        }
    }

    async fn receipt(
        pending: Result<
            alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
            alloy::contract::Error,
        >,
    ) -> TransactionReceipt {
        let r = pending.expect("send").get_receipt().await.expect("receipt");
        assert!(r.status(), "transaction reverted: {r:?}");
        r
    }

    async fn chain_now(p: &DynProvider) -> u64 {
        p.get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("latest block")
            .expect("a latest block")
            .header
            .timestamp
    }

    async fn advance_time(p: &DynProvider, secs: u64) {
        let _: serde_json::Value = p
            .raw_request("evm_increaseTime".into(), (secs,))
            .await
            .expect("evm_increaseTime");
        let _: serde_json::Value = p
            .raw_request("evm_mine".into(), ())
            .await
            .expect("evm_mine");
    }

    fn task(name: &str) -> B256 {
        keccak256(name.as_bytes())
    }

    fn increment() -> Bytes {
        Counter::incrementCall {}.abi_encode().into()
    }

    /// A job on the counter owned by user 0, with 1 ether deposited.
    async fn counter_job(net: &Devnet) -> (PrivateKeySigner, JobId) {
        let owner = net.users[0].clone();
        let now = chain_now(&net.provider).await;
        let job = net
            .create_job(&owner, net.addresses.counter, now + 3600)
            .await
            .expect("job");
        net.deposit(owner.address(), U256::from(ETHER))
            .await
            .expect("deposit");
        (owner, job)
    }

    fn sign(net: &Devnet, k: &DevnetKeeper, task: B256, report: B256, approve: bool) -> Bytes {
        let digest = attestation_digest(
            net.chain_id,
            net.addresses.keeper_registry,
            task,
            report,
            approve,
        );
        Bytes::from(
            k.signer
                .sign_hash_sync(&digest)
                .expect("sign")
                .as_bytes()
                .to_vec(),
        )
    }

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
    async fn verdict_quorums() -> TestResult {
        let (_anvil, net) = devnet(3).await;
        let registry = net.keeper_registry(&net.provider_for(&net.users[0]));
        let ks = net.sorted_keepers();
        let report = keccak256(b"report");
        let job = U256::from(42);
        let performer = ks[0].address();
        let submit = |t: B256, approve: bool, sigs: Vec<Bytes>| {
            registry.submitVerdict(t, job, performer, report, approve, sigs)
        };

        // > 2/3 approves.
        let t = task("v-approve");
        let sigs: Vec<_> = ks.iter().map(|k| sign(&net, k, t, report, true)).collect();
        let r = receipt(submit(t, true, sigs).send().await).await;
        let ev = r
            .decoded_log::<KeeperRegistry::TaskSubmitted>()
            .expect("TaskSubmitted")
            .data;
        assert_eq!(
            (ev.taskId, ev.jobId, ev.performer, ev.reportDigest),
            (t, job, performer, report)
        );
        assert_eq!(
            (ev.power, ev.totalPower),
            (U256::from(300), U256::from(300))
        );
        assert_eq!(registry.settlement(t).call().await?, 1);

        // Settles once: neither approve nor reject again.
        let again: Vec<_> = ks.iter().map(|k| sign(&net, k, t, report, false)).collect();
        let _: KeeperRegistry::TaskAlreadySettled = revert(submit(t, false, again).send().await);

        // Exactly 2/3 is not enough to approve.
        let t = task("v-two-thirds");
        let sigs: Vec<_> = ks[..2]
            .iter()
            .map(|k| sign(&net, k, t, report, true))
            .collect();
        let e: KeeperRegistry::QuorumNotReached = revert(submit(t, true, sigs).send().await);
        assert_eq!((e.power, e.totalPower), (U256::from(200), U256::from(300)));

        // > 1/3 rejects; exactly 1/3 does not.
        let t = task("v-reject");
        let one = vec![sign(&net, ks[1], t, report, false)];
        let _: KeeperRegistry::QuorumNotReached = revert(submit(t, false, one).send().await);
        let two: Vec<_> = ks[1..]
            .iter()
            .map(|k| sign(&net, k, t, report, false))
            .collect();
        let r = receipt(submit(t, false, two).send().await).await;
        let ev = r
            .decoded_log::<KeeperRegistry::TaskRejected>()
            .expect("TaskRejected")
            .data;
        assert_eq!((ev.taskId, ev.power), (t, U256::from(200)));
        assert!(r.decoded_log::<KeeperRegistry::TaskSubmitted>().is_none());
        assert_eq!(registry.settlement(t).call().await?, 2);
        Ok(())
    }

    #[tokio::test]
    async fn verdict_refuses_bad_signatures_and_signer_lists() -> TestResult {
        let (_anvil, net) = devnet(3).await;
        let registry = net.keeper_registry(&net.provider_for(&net.users[0]));
        let ks = net.sorted_keepers();
        let report = keccak256(b"report");
        let t = task("bad");
        let submit = |sigs: Vec<Bytes>| {
            registry.submitVerdict(t, U256::from(1), ks[0].address(), report, true, sigs)
        };
        let good: Vec<_> = ks.iter().map(|k| sign(&net, k, t, report, true)).collect();

        // Unregistered signer (a dev account that is not a keeper), placed in ascending order.
        let outsider = DevnetKeeper {
            signer: net.users[3].clone(),
            voting_power: U256::ZERO,
        };
        let mut signers: Vec<&DevnetKeeper> = ks.iter().copied().chain([&outsider]).collect();
        signers.sort_by_key(|k| k.address());
        let sigs = signers
            .iter()
            .map(|k| sign(&net, k, t, report, true))
            .collect();
        let e: KeeperRegistry::SignerNotKeeper = revert(submit(sigs).send().await);
        assert_eq!(e.signer, outsider.address());

        // A signature over another message recovers to some other address: refused.
        let mut sigs = good.clone();
        sigs[2] = sign(&net, ks[2], t, report, false);
        let err = submit(sigs)
            .send()
            .await
            .expect_err("forged signature accepted");
        assert!(
            err.as_decoded_error::<KeeperRegistry::SignerNotKeeper>()
                .is_some()
                || err
                    .as_decoded_error::<KeeperRegistry::SignersNotAscending>()
                    .is_some(),
            "{err}"
        );
        // A tampered r: recovers to another address or to none.
        let mut sigs = good.clone();
        let mut raw = sigs[0].to_vec();
        raw[5] ^= 0x40;
        sigs[0] = raw.into();
        let err = submit(sigs)
            .send()
            .await
            .expect_err("tampered signature accepted");
        assert!(
            err.as_decoded_error::<KeeperRegistry::SignerNotKeeper>()
                .is_some()
                || err
                    .as_decoded_error::<KeeperRegistry::SignersNotAscending>()
                    .is_some()
                || err
                    .as_decoded_error::<KeeperRegistry::InvalidSignature>()
                    .is_some(),
            "{err}"
        );

        // Duplicate and unsorted signer lists.
        let dup = vec![good[0].clone(), good[0].clone(), good[1].clone()];
        let e: KeeperRegistry::SignersNotAscending = revert(submit(dup).send().await);
        assert_eq!(e.index, U256::from(1));
        let unsorted = vec![good[1].clone(), good[0].clone(), good[2].clone()];
        let _: KeeperRegistry::SignersNotAscending = revert(submit(unsorted).send().await);

        // Malleable (high-s) twin of a valid signature, bad v, bad length.
        let n = U256::from_str_radix(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
            16,
        )?;
        let mut raw = good[0].to_vec();
        let s = U256::from_be_slice(&raw[32..64]);
        raw[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        raw[64] = if raw[64] == 27 { 28 } else { 27 };
        let mut sigs = good.clone();
        sigs[0] = raw.into();
        let _: KeeperRegistry::MalleableSignature = revert(submit(sigs).send().await);
        let mut raw = good[0].to_vec();
        raw[64] = 1;
        let mut sigs = good.clone();
        sigs[0] = raw.into();
        let e: KeeperRegistry::InvalidSignatureV = revert(submit(sigs).send().await);
        assert_eq!(e.v, 1);
        let mut sigs = good.clone();
        sigs[1] = Bytes::from(good[1][..64].to_vec());
        let _: KeeperRegistry::InvalidSignatureLength = revert(submit(sigs).send().await);
        let _: KeeperRegistry::QuorumNotReached = revert(submit(vec![]).send().await);

        // None of the refusals settled it: the good list still does.
        assert_eq!(registry.settlement(t).call().await?, 0);
        receipt(submit(good).send().await).await;
        Ok(())
    }

    #[tokio::test]
    async fn attestation_digest_matches_off_chain_eip712() -> TestResult {
        let (_anvil, net) = devnet(1).await;
        let registry = net.keeper_registry(&net.provider);
        let domain = attestation_domain(net.chain_id, net.addresses.keeper_registry);
        assert_eq!(registry.domainSeparator().call().await?, domain.separator());
        for (t, rd, approve) in [
            (task("a"), keccak256(b"r1"), true),
            (task("a"), keccak256(b"r1"), false),
            (B256::ZERO, B256::repeat_byte(0xff), true),
        ] {
            let on_chain = registry.attestationDigest(t, rd, approve).call().await?;
            let off_chain =
                attestation_digest(net.chain_id, net.addresses.keeper_registry, t, rd, approve);
            assert_eq!(on_chain, off_chain);
        }
        // A different verifying contract or chain gives a different digest.
        let other = attestation_digest(
            net.chain_id + 1,
            net.addresses.keeper_registry,
            task("a"),
            keccak256(b"r1"),
            true,
        );
        assert_ne!(
            registry
                .attestationDigest(task("a"), keccak256(b"r1"), true)
                .call()
                .await?,
            other
        );
        Ok(())
    }

    #[tokio::test]
    async fn registry_manages_keepers_and_power() -> TestResult {
        let (_anvil, net) = devnet(2).await;
        let owner_reg = net.keeper_registry(&net.provider);
        assert_eq!(owner_reg.totalVotingPower().call().await?, U256::from(200));
        assert_eq!(owner_reg.keeperCount().call().await?, U256::from(2));
        let new = net.users[2].address();
        let _: KeeperRegistry::NotOwner = revert(
            net.keeper_registry(&net.provider_for(&net.users[2]))
                .addKeeper(new, U256::from(5))
                .send()
                .await,
        );

        let r = receipt(owner_reg.addKeeper(new, U256::from(50)).send().await).await;
        let ev = r
            .decoded_log::<KeeperRegistry::KeeperAdded>()
            .expect("KeeperAdded")
            .data;
        assert_eq!((ev.keeper, ev.votingPower), (new, U256::from(50)));
        let _: KeeperRegistry::KeeperAlreadyRegistered =
            revert(owner_reg.addKeeper(new, U256::from(1)).send().await);
        let r = receipt(owner_reg.setVotingPower(new, U256::from(80)).send().await).await;
        let ev = r
            .decoded_log::<KeeperRegistry::VotingPowerChanged>()
            .expect("VotingPowerChanged")
            .data;
        assert_eq!((ev.oldPower, ev.newPower), (U256::from(50), U256::from(80)));
        assert_eq!(owner_reg.totalVotingPower().call().await?, U256::from(280));
        assert_eq!(owner_reg.votingPower(new).call().await?, U256::from(80));

        // A removed keeper can neither execute nor vote.
        let gone = net.keepers[0].clone();
        let r = receipt(owner_reg.removeKeeper(gone.address()).send().await).await;
        assert_eq!(
            r.decoded_log::<KeeperRegistry::KeeperRemoved>()
                .expect("KeeperRemoved")
                .data
                .keeper,
            gone.address()
        );
        assert!(!owner_reg.isKeeper(gone.address()).call().await?);
        assert_eq!(owner_reg.totalVotingPower().call().await?, U256::from(180));
        let mut listed = owner_reg.keepers().call().await?;
        listed.sort();
        let mut expect = vec![net.keepers[1].address(), new];
        expect.sort();
        assert_eq!(listed, expect);
        let (_owner, job) = counter_job(&net).await;
        let hub = net.task_hub(&net.provider_for(&gone.signer));
        let _: TaskHub::NotKeeper = revert(
            hub.execute(
                task("x"),
                job.0,
                net.addresses.counter,
                U256::ZERO,
                increment(),
                U256::from(GAS_LIMIT),
            )
            .send()
            .await,
        );
        let t = task("vote");
        let report = keccak256(b"rep");
        let sig = sign(&net, &gone, t, report, true);
        let e: KeeperRegistry::SignerNotKeeper = revert(
            net.keeper_registry(&net.provider)
                .submitVerdict(t, job.0, gone.address(), report, true, vec![sig])
                .send()
                .await,
        );
        assert_eq!(e.signer, gone.address());
        let _: KeeperRegistry::VotingPowerTooLarge =
            revert(owner_reg.setVotingPower(new, U256::MAX).send().await);
        Ok(())
    }

    #[tokio::test]
    async fn job_ids_pack_chain_time_and_counter() -> TestResult {
        let (_anvil, net) = devnet(0).await;
        let owner = &net.users[0];
        let jobs = net.job_registry(&net.provider_for(owner));
        let now = chain_now(&net.provider).await;
        let a = net
            .create_job_with_spec(owner, net.addresses.counter, now + 60, keccak256(b"spec"))
            .await?;
        let b = net
            .create_job(owner, net.addresses.price_feed, u64::MAX)
            .await?;
        let block_time = chain_now(&net.provider).await;
        let mask64 = (U256::from(1) << 64) - U256::from(1);
        assert_eq!(a.0 >> 224, U256::from(net.chain_id));
        assert_eq!(
            b.0 & ((U256::from(1) << 160) - U256::from(1)),
            U256::from(2)
        );
        let ts = (b.0 >> 160) & mask64;
        assert!(ts > U256::from(now) - U256::from(1) && ts <= U256::from(block_time));
        let got = jobs.getJob(a.0).call().await?;
        assert_eq!(
            (got.owner, got.target, got.expiresAt, got.active),
            (owner.address(), net.addresses.counter, now + 60, true)
        );
        assert_eq!(jobs.specHashOf(a.0).call().await?, keccak256(b"spec"));
        assert_eq!(jobs.jobCount().call().await?, U256::from(2));
        let missing = jobs.getJob(U256::from(12345)).call().await?;
        assert_eq!(missing.owner, Address::ZERO);
        let _: JobRegistry::ExpiryNotInFuture = revert(
            jobs.createJob(net.addresses.counter, now.saturating_sub(1), B256::ZERO)
                .send()
                .await,
        );
        let _: JobRegistry::ZeroTarget = revert(
            jobs.createJob(Address::ZERO, u64::MAX, B256::ZERO)
                .send()
                .await,
        );
        Ok(())
    }

    #[tokio::test]
    async fn demo_targets_basics() -> TestResult {
        let (_anvil, net) = devnet(0).await;
        let user = &net.users[0];
        let up = net.provider_for(user);

        let counter = Counter::new(net.addresses.counter, up.clone());
        let r = receipt(counter.incrementBy(U256::from(5)).send().await).await;
        let ev = r
            .decoded_log::<Counter::Incremented>()
            .expect("Incremented")
            .data;
        assert_eq!((ev.caller, ev.newCount), (user.address(), U256::from(5)));
        receipt(counter.increment().send().await).await;
        assert_eq!(counter.count().call().await?, U256::from(6));
        let _: Counter::ZeroIncrement = revert(counter.incrementBy(U256::ZERO).send().await);

        let feed_owner = PriceFeed::new(net.addresses.price_feed, net.provider.clone());
        let first = feed_owner.latestRoundData().call().await?;
        assert_eq!(
            (first.roundId.to::<u64>(), first.answer),
            (1, I256::try_from(2_000i64 * 100_000_000)?)
        );
        assert_eq!(feed_owner.decimals().call().await?, 8);
        let price = I256::try_from(-1_234i64)?;
        let r = receipt(feed_owner.setPrice(price).send().await).await;
        let ev = r
            .decoded_log::<PriceFeed::AnswerUpdated>()
            .expect("AnswerUpdated")
            .data;
        assert_eq!((ev.current, ev.roundId), (price, U256::from(2)));
        let latest = feed_owner.latestRoundData().call().await?;
        assert_eq!(
            (
                latest.roundId.to::<u64>(),
                latest.answer,
                latest.answeredInRound.to::<u64>()
            ),
            (2, price, 2)
        );
        assert_eq!(latest.updatedAt, ev.updatedAt);
        let _: PriceFeed::NotOwner = revert(
            PriceFeed::new(net.addresses.price_feed, up.clone())
                .setPrice(price)
                .send()
                .await,
        );

        let token = DemoToken::new(net.addresses.demo_token, up.clone());
        assert_eq!(token.symbol().call().await?, "TXD");
        let amount = U256::from(1_000u64);
        let r = receipt(token.mint(user.address(), amount).send().await).await;
        let ev = r
            .decoded_log::<DemoToken::Transfer>()
            .expect("Transfer")
            .data;
        assert_eq!(
            (ev.from, ev.to, ev.value),
            (Address::ZERO, user.address(), amount)
        );
        let other = net.users[1].address();
        receipt(token.transfer(other, U256::from(400)).send().await).await;
        assert_eq!(
            token.balanceOf(user.address()).call().await?,
            U256::from(600)
        );
        assert_eq!(token.balanceOf(other).call().await?, U256::from(400));
        assert_eq!(token.totalSupply().call().await?, amount);
        let _: DemoToken::InsufficientBalance =
            revert(token.transfer(other, U256::from(601)).send().await);
        let r = receipt(token.approve(other, U256::from(100)).send().await).await;
        assert_eq!(
            r.decoded_log::<DemoToken::Approval>()
                .expect("Approval")
                .data
                .value,
            U256::from(100)
        );
        let spender = DemoToken::new(net.addresses.demo_token, net.provider_for(&net.users[1]));
        let _: DemoToken::InsufficientAllowance = revert(
            spender
                .transferFrom(user.address(), other, U256::from(101))
                .send()
                .await,
        );
        receipt(
            spender
                .transferFrom(user.address(), other, U256::from(100))
                .send()
                .await,
        )
        .await;
        assert_eq!(
            token.allowance(user.address(), other).call().await?,
            U256::ZERO
        );
        Ok(())
    }

    #[tokio::test]
    async fn args_probe_echoes_static_arguments() -> TestResult {
        let (_anvil, net) = devnet(0).await;
        let probe = ArgsProbe::new(net.addresses.args_probe, net.provider_for(&net.users[0]));
        let order = ArgsProbe::Order {
            id: U256::from(7),
            leg: ArgsProbe::Leg {
                token: net.addresses.demo_token,
                amounts: vec![U256::from(1), U256::MAX, U256::ZERO],
            },
            memo: "nested ✓".into(),
        };
        let r = receipt(probe.probeTuple(order.clone()).send().await).await;
        assert_eq!(
            r.decoded_log::<ArgsProbe::Tuple>()
                .expect("Tuple")
                .data
                .order,
            order
        );

        let r = receipt(
            probe
                .probeIntegers(255, I256::MINUS_ONE, U256::MAX)
                .send()
                .await,
        )
        .await;
        let ev = r
            .decoded_log::<ArgsProbe::Integers>()
            .expect("Integers")
            .data;
        assert_eq!(
            (ev.small, ev.signed, ev.big),
            (255, I256::MINUS_ONE, U256::MAX)
        );

        let blob = Bytes::from(vec![0u8, 1, 2, 3, 255]);
        let r = receipt(
            probe
                .probeBlobs(B256::repeat_byte(0xab), blob.clone(), "hi".into())
                .send()
                .await,
        )
        .await;
        let ev = r.decoded_log::<ArgsProbe::Blobs>().expect("Blobs").data;
        assert_eq!(
            (ev.word, ev.data, ev.text),
            (B256::repeat_byte(0xab), blob, "hi".to_string())
        );

        let r = receipt(
            probe
                .probeAddressBool(net.users[1].address(), true)
                .send()
                .await,
        )
        .await;
        let ev = r
            .decoded_log::<ArgsProbe::AddressBool>()
            .expect("AddressBool")
            .data;
        assert_eq!((ev.account, ev.flag), (net.users[1].address(), true));

        let values = vec![U256::from(3), U256::from(1) << 200];
        let r = receipt(probe.probeArray(values.clone()).send().await).await;
        assert_eq!(
            r.decoded_log::<ArgsProbe::Array>()
                .expect("Array")
                .data
                .values,
            values
        );

        let r = receipt(
            probe
                .probeMixed(Address::ZERO, U256::from(9), String::new(), false)
                .send()
                .await,
        )
        .await;
        let ev = r.decoded_log::<ArgsProbe::Mixed>().expect("Mixed").data;
        assert_eq!(
            (ev.account, ev.amount, ev.text, ev.flag),
            (Address::ZERO, U256::from(9), String::new(), false)
        );

        // Any other calldata is recorded raw by the fallback.
        let raw = Bytes::from(alloy::hex::decode(
            "12345678000000000000000000000000000000000000000000000000000000000000002a",
        )?);
        let tx = alloy::rpc::types::TransactionRequest::default()
            .to(net.addresses.args_probe)
            .input(raw.clone().into());
        let r = net
            .provider
            .send_transaction(tx)
            .await?
            .get_receipt()
            .await?;
        assert!(r.status());
        assert_eq!(
            r.decoded_log::<ArgsProbe::Called>()
                .expect("Called")
                .data
                .data,
            raw
        );
        assert_eq!(probe.calls().call().await?, U256::from(7));
        Ok(())
    }

    #[tokio::test]
    async fn devnet_deploys_under_interval_mining() -> TestResult {
        let anvil = Anvil::start(AnvilOptions {
            block_time: Some(Duration::from_millis(500)),
            ..AnvilOptions::default()
        })
        .await?;
        let start = anvil.provider()?.get_block_number().await?;
        let net = Devnet::deploy(
            &anvil,
            DevnetOptions {
                keepers: 4,
                ..DevnetOptions::default()
            },
        )
        .await?;
        let end = net.provider.get_block_number().await?;
        // Two phases (contracts, then keepers), each sent in one go.
        assert!(end - start <= 4, "deploy took {} blocks", end - start);
        let registry = net.keeper_registry(&net.provider);
        assert_eq!(registry.keeperCount().call().await?, U256::from(4));
        for k in &net.keepers {
            assert!(registry.isKeeper(k.address()).call().await?);
            assert_eq!(
                net.provider.get_balance(k.address()).await?,
                DevnetOptions::default().keeper_funding
            );
        }
        let port = anvil.port();
        drop(anvil);
        // Killed on drop: the port no longer answers.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        Ok(())
    }
}
