//! KeeperRegistry verdicts and keeper management; JobRegistry ids and records.

use crate::common::*;

#[tokio::test]
async fn verdict_quorums() -> TestResult {
    let (_anvil, net) = devnet(3).await;
    let registry = net.keeper_registry(&net.provider_for(&net.users[0]));
    let ks = net.sorted_keepers();
    let report = keccak256(b"report");
    let job = U256::from(42);
    // A performer outside the voting set: the quorum's base is the whole 300.
    let performer = net.users[4].address();
    let submit = |t: B256, approve: bool, sigs: Vec<Bytes>| {
        registry.submitVerdict(t, job, performer, report, approve, sigs)
    };

    // > 2/3 approves.
    let t = task("v-approve");
    let sigs: Vec<_> = ks
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();
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
    let again: Vec<_> = ks
        .iter()
        .map(|k| sign(&net, k, t, report, performer, false))
        .collect();
    let _: KeeperRegistry::TaskAlreadySettled = revert(submit(t, false, again).send().await);

    // Exactly 2/3 is not enough to approve.
    let t = task("v-two-thirds");
    let sigs: Vec<_> = ks[..2]
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();
    let e: KeeperRegistry::QuorumNotReached = revert(submit(t, true, sigs).send().await);
    assert_eq!((e.power, e.totalPower), (U256::from(200), U256::from(300)));

    // > 1/3 rejects; exactly 1/3 does not.
    let t = task("v-reject");
    let one = vec![sign(&net, ks[1], t, report, performer, false)];
    let _: KeeperRegistry::QuorumNotReached = revert(submit(t, false, one).send().await);
    let two: Vec<_> = ks[1..]
        .iter()
        .map(|k| sign(&net, k, t, report, performer, false))
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
async fn the_performer_is_outside_the_quorum() -> TestResult {
    let (_anvil, net) = devnet(3).await;
    let registry = net.keeper_registry(&net.provider_for(&net.users[0]));
    let ks = net.sorted_keepers();
    let report = keccak256(b"report");
    let performer = ks[0].address();
    let submit = |t: B256, sigs: Vec<Bytes>| {
        registry.submitVerdict(t, U256::from(7), performer, report, true, sigs)
    };
    // Its own signature is refused.
    let t = task("p-own");
    let sigs: Vec<_> = ks
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();
    let e: KeeperRegistry::PerformerCannotAttest = revert(submit(t, sigs).send().await);
    assert_eq!(e.performer, performer);
    // The other two are the whole attesting power (200 of 300 minus the performer's 100).
    let sigs: Vec<_> = ks[1..]
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();
    let r = receipt(submit(t, sigs).send().await).await;
    let ev = r
        .decoded_log::<KeeperRegistry::TaskSubmitted>()
        .expect("TaskSubmitted")
        .data;
    assert_eq!(
        (ev.power, ev.totalPower),
        (U256::from(200), U256::from(200))
    );
    // Signatures naming another performer do not recover to keepers for this one.
    let t = task("p-other");
    let other = ks[1].address();
    let sigs: Vec<_> = ks[1..]
        .iter()
        .map(|k| sign(&net, k, t, report, other, true))
        .collect();
    assert!(
        submit(t, sigs).send().await.is_err(),
        "the performer is signed"
    );
    Ok(())
}

#[tokio::test]
async fn verdict_refuses_bad_signatures_and_signer_lists() -> TestResult {
    let (_anvil, net) = devnet(3).await;
    let registry = net.keeper_registry(&net.provider_for(&net.users[0]));
    let ks = net.sorted_keepers();
    let report = keccak256(b"report");
    let t = task("bad");
    let performer = net.users[4].address();
    let submit =
        |sigs: Vec<Bytes>| registry.submitVerdict(t, U256::from(1), performer, report, true, sigs);
    let good: Vec<_> = ks
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();

    // Unregistered signer (a dev account that is not a keeper), placed in ascending order.
    let outsider = DevnetKeeper {
        signer: net.users[3].clone(),
        voting_power: U256::ZERO,
    };
    let mut signers: Vec<&DevnetKeeper> = ks.iter().copied().chain([&outsider]).collect();
    signers.sort_by_key(|k| k.address());
    let sigs = signers
        .iter()
        .map(|k| sign(&net, k, t, report, performer, true))
        .collect();
    let e: KeeperRegistry::SignerNotKeeper = revert(submit(sigs).send().await);
    assert_eq!(e.signer, outsider.address());

    // A signature over another message recovers to some other address: refused.
    let mut sigs = good.clone();
    sigs[2] = sign(&net, ks[2], t, report, performer, false);
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
    let p = net.users[4].address();
    for (t, rd, performer, approve) in [
        (task("a"), keccak256(b"r1"), p, true),
        (task("a"), keccak256(b"r1"), p, false),
        (task("a"), keccak256(b"r1"), Address::ZERO, true),
        (B256::ZERO, B256::repeat_byte(0xff), p, true),
    ] {
        let on_chain = registry
            .attestationDigest(t, rd, performer, approve)
            .call()
            .await?;
        let off_chain = attestation_digest(
            net.chain_id,
            net.addresses.keeper_registry,
            t,
            rd,
            performer,
            approve,
        );
        assert_eq!(on_chain, off_chain);
    }
    // A different verifying contract or chain gives a different digest.
    let other = attestation_digest(
        net.chain_id + 1,
        net.addresses.keeper_registry,
        task("a"),
        keccak256(b"r1"),
        p,
        true,
    );
    assert_ne!(
        registry
            .attestationDigest(task("a"), keccak256(b"r1"), p, true)
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
    let performer = gone.address();
    let sig = sign(&net, &gone, t, report, performer, true);
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
