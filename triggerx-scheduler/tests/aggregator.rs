//! Aggregator integration tests on a real anvil: four registered keepers with voting power
//! 100, 100, 100 and 300 (total 600), attestations signed with their keys, verdicts settled on
//! the real `KeeperRegistry`, outcomes recorded in a `MemoryStore`.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use alloy_json_abi::Function;
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::KeeperRegistry,
    },
    clock::{Clock, ManualClock, SystemClock},
    ids::Occurrence,
    protocol::{
        Assignment, AttestationDomain, RejectReason, decode, encode, report_digest, topics,
    },
    store::{MemoryStore, Store, TaskStore, TaskUpdate},
    transport::{AllowAll, Transport, inprocess::InProcessNetwork},
    types::{
        Action, Arguments, Attestation, CatchUp, Evidence, ExecutionReport, Job, JobStatus,
        Overlap, Schedule, Task, TaskStatus, TimeTrigger, Trigger, Verdict,
    },
};
use triggerx_scheduler::aggregator::{
    Admission, Aggregator, AggregatorService, Config, SettledVerdict,
};

const POWERS: [u64; 4] = [100, 100, 100, 300];

struct Env {
    _anvil: Anvil,
    devnet: Devnet,
    domain: AttestationDomain,
}

async fn env() -> Env {
    let anvil = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: POWERS.len(),
            voting_power: U256::from(100u64),
            ..Default::default()
        },
    )
    .await
    .expect("devnet deploys");
    let registry = devnet.keeper_registry(&devnet.provider);
    registry
        .setVotingPower(devnet.keepers[3].address(), U256::from(POWERS[3]))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(
        registry.totalVotingPower().call().await.unwrap(),
        U256::from(600u64)
    );
    let domain = AttestationDomain {
        chain_id: devnet.chain_id,
        registry: devnet.addresses.keeper_registry,
    };
    Env {
        _anvil: anvil,
        devnet,
        domain,
    }
}

/// A task in state `executed`, performed by a keeper key outside the registry (so its power,
/// which the quorum's base excludes, is zero), and the report attested on.
struct Fixture {
    task: TaskId,
    job: JobId,
    report: ExecutionReport,
    digest: B256,
}

fn fixture(n: u64, store: &dyn Store) -> Fixture {
    fixture_by(
        n,
        store,
        triggerx_core::chain::anvil::keeper_key(9).address(),
    )
}

fn fixture_by(n: u64, store: &dyn Store, performer: Address) -> Fixture {
    let job = JobId::from_u64(7);
    let due = Timestamp::from_secs(1_000 + n as i64);
    let task = Task::new(
        Occurrence::Time { job, due },
        Evidence::Time { due },
        Timestamp::from_secs(1),
    );
    let id = task.id;
    store.create_task(&task).unwrap();
    store
        .transition_task(
            id,
            TaskStatus::Created,
            &TaskUpdate::assign(performer, Timestamp::from_secs(2)),
        )
        .unwrap();
    let tx = B256::repeat_byte(0xee);
    store
        .transition_task(
            id,
            TaskStatus::Assigned,
            &TaskUpdate::new(TaskStatus::Executed, Timestamp::from_secs(3)).with_execution(tx, 9),
        )
        .unwrap();
    let report = ExecutionReport {
        task_id: id,
        performer,
        evidence: Evidence::Time { due },
        inputs_digest: B256::repeat_byte(1),
        tx_hash: tx,
        block_number: 9,
        receipt_digest: B256::repeat_byte(2),
        gas_used: 50_000,
        reported_at: Timestamp::from_secs(4),
    };
    Fixture {
        task: id,
        job,
        digest: report_digest(&report),
        report,
    }
}

impl Env {
    fn keeper(&self, i: usize) -> &PrivateKeySigner {
        &self.devnet.keepers[i].signer
    }

    fn approve(&self, i: usize, f: &Fixture) -> Attestation {
        self.domain.sign(
            self.keeper(i),
            f.task,
            f.digest,
            f.report.performer,
            Verdict::Approve,
        )
    }

    fn reject(&self, i: usize, f: &Fixture, reason: RejectReason) -> Attestation {
        self.domain.sign(
            self.keeper(i),
            f.task,
            f.digest,
            f.report.performer,
            reason.verdict(),
        )
    }

    fn aggregator(
        &self,
        submitter: usize,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Aggregator {
        let config = Config::new(
            self.devnet.addresses.keeper_registry,
            self.devnet.chain_id,
            self.devnet.endpoint.clone(),
            self.devnet.users[submitter].clone(),
        )
        .with_collect_timeout(Duration::from_secs(60));
        Aggregator::new(config, store, clock).expect("aggregator")
    }

    /// 0 none, 1 submitted, 2 rejected.
    async fn settlement(&self, task: TaskId) -> u8 {
        self.devnet
            .keeper_registry(&self.devnet.provider)
            .settlement(task.0)
            .call()
            .await
            .unwrap()
    }

    /// The registry's settling events for a task: (approve, performer, job id, tx hash).
    async fn settling_events(&self, task: TaskId) -> Vec<(bool, Address, U256, B256)> {
        let filter = Filter::new()
            .address(self.devnet.addresses.keeper_registry)
            .event_signature(vec![
                KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
                KeeperRegistry::TaskRejected::SIGNATURE_HASH,
            ])
            .topic1(task.0)
            .from_block(0);
        let logs = self.devnet.provider.get_logs(&filter).await.unwrap();
        logs.iter()
            .map(|log| {
                let tx = log.transaction_hash.unwrap();
                if let Ok(e) = log.log_decode::<KeeperRegistry::TaskSubmitted>() {
                    let e = e.inner.data;
                    (true, e.performer, e.jobId, tx)
                } else {
                    let e = log
                        .log_decode::<KeeperRegistry::TaskRejected>()
                        .unwrap()
                        .inner
                        .data;
                    (false, e.performer, e.jobId, tx)
                }
            })
            .collect()
    }
}

fn assignment(env: &Env, f: &Fixture, task: Task) -> Assignment {
    let t = Timestamp::from_secs(1);
    let function = Function::parse("increment()").unwrap();
    let job = Job {
        id: f.job,
        owner: Address::repeat_byte(0x11),
        title: "j".into(),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        }),
        action: Action {
            chain_id: env.devnet.chain_id,
            target: env.devnet.addresses.counter,
            arguments: Arguments::Static {
                values: vec![],
                calldata: Bytes::from(function.selector().to_vec()),
            },
            function,
            value: U256::ZERO,
            gas_limit: None,
        },
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: t,
        updated_at: t,
    };
    Assignment {
        task,
        job,
        attempt: 0,
        performer: f.report.performer,
        candidates: vec![],
        excluded: vec![],
        hub: env.devnet.addresses.task_hub,
        deadline: Timestamp::from_secs(100),
    }
}

fn manual_clock() -> (ManualClock, Arc<dyn Clock>) {
    let c = ManualClock::new(Timestamp::from_secs(10_000));
    (c.clone(), Arc::new(c))
}

fn settled(a: Admission) -> SettledVerdict {
    match a {
        Admission::Settled(v) => v,
        other => panic!("expected a settled verdict, got {other:?}"),
    }
}

#[tokio::test]
async fn approvals_above_two_thirds_settle_once_and_are_recorded() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(1, store.as_ref());
    let (_, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    agg.observe_report(&f.report);

    assert_eq!(
        agg.handle_attestation(env.approve(0, &f)).await.unwrap(),
        Admission::Counted
    );
    assert_eq!(
        store.get_task(f.task).unwrap().unwrap().status,
        TaskStatus::Attested,
        "collecting moves the task to attested"
    );
    assert_eq!(
        agg.handle_attestation(env.approve(0, &f)).await.unwrap(),
        Admission::Duplicate
    );
    // 100 + 300 = 400 of 600: exactly two thirds is not a quorum.
    assert_eq!(
        agg.handle_attestation(env.approve(3, &f)).await.unwrap(),
        Admission::Counted
    );
    assert_eq!(env.settlement(f.task).await, 0);
    // + 100 = 500 of 600.
    let v = settled(agg.handle_attestation(env.approve(1, &f)).await.unwrap());
    assert!(v.approve && v.submitted_by_us);
    assert_eq!(v.report_digest, f.digest);
    let tx = v.tx_hash.expect("our transaction");

    assert_eq!(env.settlement(f.task).await, 1, "TaskSubmitted settlement");
    let events = env.settling_events(f.task).await;
    assert_eq!(events, vec![(true, f.report.performer, f.job.0, tx)]);
    let stored = store.get_task(f.task).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Accepted);
    assert!(stored.error.unwrap().contains(&tx.to_string()));

    // Late and repeated attestations after the verdict change nothing.
    assert_eq!(
        agg.handle_attestation(env.approve(2, &f)).await.unwrap(),
        Admission::Late
    );
    assert_eq!(
        agg.handle_attestation(env.approve(1, &f)).await.unwrap(),
        Admission::Late
    );
    assert!(agg.tick().await.is_empty());
    assert_eq!(env.settling_events(f.task).await.len(), 1);
    let s = agg.stats();
    assert_eq!((s.counted, s.duplicates, s.late), (3, 1, 2));
    assert_eq!((s.verdicts_submitted, s.recorded), (1, 1));
}

#[tokio::test]
async fn exactly_two_thirds_never_settles_and_expires() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(2, store.as_ref());
    let (manual, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    agg.observe_report(&f.report);
    // Approvals 100 + 300 = 400 of 600 (exactly two thirds), rejects 100 + 100 = 200 (exactly
    // one third): neither side has a quorum, and nobody is left to vote.
    for i in [0, 3] {
        assert_eq!(
            agg.handle_attestation(env.approve(i, &f)).await.unwrap(),
            Admission::Counted
        );
    }
    for i in [1, 2] {
        let reject = env.reject(i, &f, RejectReason::TxFailed);
        assert_eq!(
            agg.handle_attestation(reject).await.unwrap(),
            Admission::Counted
        );
    }
    assert!(agg.tick().await.is_empty());
    assert_eq!(env.settlement(f.task).await, 0);

    manual.advance_millis(61_000);
    assert!(agg.tick().await.is_empty());
    assert_eq!(agg.open_tasks(), 0);
    assert_eq!(
        agg.handle_attestation(env.approve(1, &f)).await.unwrap(),
        Admission::Late
    );
    assert_eq!(env.settlement(f.task).await, 0);
    assert!(env.settling_events(f.task).await.is_empty());
    assert_eq!(
        store.get_task(f.task).unwrap().unwrap().status,
        TaskStatus::Attested
    );
    let s = agg.stats();
    assert_eq!(s.verdicts_submitted + s.settled_by_others, 0);
    assert_eq!(s.abandoned + s.expired, 1);
}

#[tokio::test]
async fn rejections_above_one_third_reject() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(3, store.as_ref());
    let (_, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    agg.observe_report(&f.report);
    let r0 = env.reject(0, &f, RejectReason::CalldataMismatch);
    let r1 = env.reject(1, &f, RejectReason::WrongTarget);
    assert_eq!(
        agg.handle_attestation(r0).await.unwrap(),
        Admission::Counted
    );
    // 200 of 600: exactly one third is not enough to reject.
    assert_eq!(
        agg.handle_attestation(r1).await.unwrap(),
        Admission::Counted
    );
    assert_eq!(env.settlement(f.task).await, 0);
    let r2 = env.reject(2, &f, RejectReason::CalldataMismatch);
    let v = settled(agg.handle_attestation(r2).await.unwrap());
    assert!(!v.approve);
    assert_eq!(v.reason.as_deref(), Some("calldata_mismatch"));

    assert_eq!(env.settlement(f.task).await, 2, "TaskRejected settlement");
    let events = env.settling_events(f.task).await;
    assert_eq!(events.len(), 1);
    assert!(!events[0].0);
    assert_eq!(Some(events[0].3), v.tx_hash);
    let stored = store.get_task(f.task).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Rejected);
    assert!(stored.error.unwrap().starts_with("calldata_mismatch"));
}

#[tokio::test]
async fn forged_and_unregistered_attestations_never_count() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(4, store.as_ref());
    let (_, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    agg.observe_report(&f.report);

    // Keeper 3 signed a reject; the verdict was flipped to approve on the way.
    let mut tampered = env.reject(3, &f, RejectReason::TxFailed);
    tampered.verdict = Verdict::Approve;
    // Keeper 1's approval with a damaged signature.
    let mut damaged = env.approve(1, &f);
    let mut sig = damaged.signature.to_vec();
    sig[10] ^= 0xff;
    damaged.signature = Bytes::from(sig);
    // An outsider's signature claiming to be keeper 2.
    let outsider = PrivateKeySigner::random();
    let mut impersonated = env.domain.sign(
        &outsider,
        f.task,
        f.digest,
        f.report.performer,
        Verdict::Approve,
    );
    impersonated.attester = env.keeper(2).address();
    // Keeper 2 signed another report; the digest was swapped.
    let mut swapped = env.domain.sign(
        env.keeper(2),
        f.task,
        B256::repeat_byte(9),
        f.report.performer,
        Verdict::Approve,
    );
    swapped.report_digest = f.digest;
    for forged in [tampered, damaged, impersonated, swapped] {
        assert_eq!(
            agg.handle_attestation(forged).await.unwrap(),
            Admission::Forged
        );
    }
    // A valid signature from a key the registry does not know.
    let stranger = env.domain.sign(
        &outsider,
        f.task,
        f.digest,
        f.report.performer,
        Verdict::Approve,
    );
    assert_eq!(
        agg.handle_attestation(stranger).await.unwrap(),
        Admission::Unregistered
    );
    assert_eq!(
        agg.handle_attestation(env.approve(0, &f)).await.unwrap(),
        Admission::Counted
    );
    assert!(agg.tick().await.is_empty());
    assert_eq!(
        env.settlement(f.task).await,
        0,
        "100 honest of 600 settles nothing"
    );
    let s = agg.stats();
    assert_eq!((s.forged, s.unregistered, s.counted), (4, 1, 1));

    // The forged copies took no one's place: the real votes of keepers 3 and 1 count.
    assert_eq!(
        agg.handle_attestation(env.approve(3, &f)).await.unwrap(),
        Admission::Counted
    );
    let v = settled(agg.handle_attestation(env.approve(1, &f)).await.unwrap());
    assert!(v.approve);
    assert_eq!(env.settlement(f.task).await, 1);
}

#[tokio::test]
async fn two_aggregators_racing_settle_once() {
    let env = env().await;
    let (_, clock) = manual_clock();
    let s1: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let s2: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(5, s1.as_ref());
    fixture(5, s2.as_ref());
    let a1 = env.aggregator(0, Arc::clone(&s1), Arc::clone(&clock));
    let a2 = env.aggregator(1, Arc::clone(&s2), clock);
    for agg in [&a1, &a2] {
        agg.observe_report(&f.report);
        for i in [0, 3] {
            assert_eq!(
                agg.handle_attestation(env.approve(i, &f)).await.unwrap(),
                Admission::Counted
            );
        }
    }
    let (r1, r2) = tokio::join!(
        a1.handle_attestation(env.approve(1, &f)),
        a2.handle_attestation(env.approve(1, &f))
    );
    let (v1, v2) = (settled(r1.unwrap()), settled(r2.unwrap()));
    assert!(
        v1.submitted_by_us ^ v2.submitted_by_us,
        "exactly one transaction settled it"
    );
    let events = env.settling_events(f.task).await;
    assert_eq!(events.len(), 1);
    assert_eq!(v1.tx_hash, Some(events[0].3));
    assert_eq!(v2.tx_hash, Some(events[0].3));
    assert!(v1.approve && v2.approve);
    for s in [&s1, &s2] {
        assert_eq!(
            s.get_task(f.task).unwrap().unwrap().status,
            TaskStatus::Accepted
        );
    }
}

#[tokio::test]
async fn service_settles_from_the_transport_once() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(6, store.as_ref());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let net = InProcessNetwork::new(triggerx_core::transport::inprocess::Config {
        chain_id: env.devnet.chain_id,
        ..Default::default()
    });
    let join = |k: PrivateKeySigner| -> Arc<dyn Transport> {
        Arc::new(net.join(k, Arc::new(AllowAll), Arc::clone(&clock)))
    };
    let keepers: Vec<_> = (0..4).map(|i| join(env.keeper(i).clone())).collect();
    let observer = join(PrivateKeySigner::random());
    let mut verdicts = observer.subscribe(topics::VERDICTS, 16);

    let agg = Arc::new(env.aggregator(0, Arc::clone(&store), Arc::clone(&clock)));
    let scheduler = PrivateKeySigner::random().address();
    let service = AggregatorService::new(Arc::clone(&agg), join(PrivateKeySigner::random()), 64)
        .with_tick(Duration::from_millis(100))
        .with_trusted_scheduler(scheduler);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(service.run(async {
        let _ = stopped.await;
    }));

    keepers[0]
        .publish(
            topics::ATTESTATIONS,
            Bytes::from_static(b"{not an attestation"),
        )
        .await
        .unwrap();
    keepers[0]
        .publish(topics::REPORTS, encode(&f.report))
        .await
        .unwrap();
    // A keeper posing as the scheduler: its assignment is not used.
    let task = store.get_task(f.task).unwrap().unwrap();
    keepers[0]
        .publish(topics::ASSIGNMENTS, encode(&assignment(&env, &f, task)))
        .await
        .unwrap();
    for i in [0, 1, 3] {
        keepers[i]
            .publish(topics::ATTESTATIONS, encode(&env.approve(i, &f)))
            .await
            .unwrap();
    }
    let msg = tokio::time::timeout(Duration::from_secs(30), verdicts.recv())
        .await
        .expect("a verdict within the safety timeout")
        .expect("observer subscribed");
    let v: SettledVerdict = decode(&msg.payload).expect("verdict decodes");
    assert!(v.approve);
    assert_eq!((v.task_id, v.report_digest), (f.task, f.digest));

    for i in [0, 2] {
        keepers[i]
            .publish(topics::ATTESTATIONS, encode(&env.approve(i, &f)))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while agg.stats().received < 5 || agg.stats().untrusted_assignments < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "attestations not processed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = agg.stats();
    assert_eq!((s.malformed, s.counted, s.late), (1, 3, 2));
    assert_eq!(s.untrusted_assignments, 1);
    assert_eq!(s.verdicts_submitted, 1);
    assert_eq!(env.settling_events(f.task).await.len(), 1);
    assert_eq!(env.settlement(f.task).await, 1);
    assert_eq!(
        store.get_task(f.task).unwrap().unwrap().status,
        TaskStatus::Accepted
    );
    assert!(verdicts.try_recv().is_err(), "one verdict published");

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_removed_signer_is_recounted_before_settling() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(7, store.as_ref());
    // The manual clock never expires the power cache: only the registry's refusal refreshes it.
    let (_, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    agg.observe_report(&f.report);
    for i in [0, 3] {
        assert_eq!(
            agg.handle_attestation(env.approve(i, &f)).await.unwrap(),
            Admission::Counted
        );
    }
    let equivocation = env.reject(0, &f, RejectReason::TxFailed);
    assert_eq!(
        agg.handle_attestation(equivocation).await.unwrap(),
        Admission::Equivocation
    );
    // Keeper 3 (300) leaves the registry; total 300, and its signature would now revert.
    env.devnet
        .keeper_registry(&env.devnet.provider)
        .removeKeeper(env.keeper(3).address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    // Cached: 500 of 600. The registry refuses; the recount gives 200 of 300 (exactly 2/3).
    let err = agg
        .handle_attestation(env.approve(1, &f))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(env.settlement(f.task).await, 0);
    assert!(
        agg.tick().await.is_empty(),
        "the recounted tally has no quorum"
    );
    // Keeper 2 makes it 300 of 300, submitted without keeper 3's signature.
    let v = settled(agg.handle_attestation(env.approve(2, &f)).await.unwrap());
    assert!(v.approve && v.submitted_by_us);
    assert_eq!(env.settlement(f.task).await, 1);
    let s = agg.stats();
    assert_eq!(
        (s.equivocations, s.submit_failures, s.verdicts_submitted),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn retryable_rpc_failures_are_retried_and_settle_once() {
    use triggerx_core::chain::fault_proxy::{FaultConfig, FaultProxy};
    let env = env().await;
    let upstream = env
        .devnet
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = FaultProxy::start(
        upstream,
        FaultConfig {
            drop_share: 0.3,
            seed: 7,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let f = fixture(8, store.as_ref());
    let (_, clock) = manual_clock();
    let mut config = Config::new(
        env.devnet.addresses.keeper_registry,
        env.devnet.chain_id,
        proxy.url(),
        env.devnet.users[0].clone(),
    );
    config.submit_attempts = 20;
    config.retry_backoff = Duration::from_millis(10);
    config.receipt_timeout = Duration::from_secs(5);
    let agg = Aggregator::new(config, Arc::clone(&store), clock).unwrap();
    agg.observe_report(&f.report);
    let mut last = None;
    for i in [0, 1, 3] {
        last = Some(agg.handle_attestation(env.approve(i, &f)).await.unwrap());
    }
    let v = settled(last.unwrap());
    assert!(v.approve);
    assert!(proxy.stats().dropped > 0, "faults were injected");
    let events = env.settling_events(f.task).await;
    assert_eq!(events.len(), 1, "settled exactly once");
    assert_eq!(v.tx_hash, Some(events[0].3));
    assert!(
        v.submitted_by_us,
        "a lost receipt is still recognised as ours"
    );
    assert_eq!(
        store.get_task(f.task).unwrap().unwrap().status,
        TaskStatus::Accepted
    );
}

#[tokio::test]
async fn a_quorum_waits_for_the_job_and_performer() {
    let env = env().await;
    // The task is in another scheduler's store: this one knows nothing about it.
    let elsewhere = MemoryStore::new();
    let f = fixture(9, &elsewhere);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (_, clock) = manual_clock();
    let agg = env.aggregator(0, Arc::clone(&store), clock);
    for i in [0, 3] {
        assert_eq!(
            agg.handle_attestation(env.approve(i, &f)).await.unwrap(),
            Admission::Counted
        );
    }
    assert_eq!(
        agg.handle_attestation(env.approve(1, &f)).await.unwrap(),
        Admission::Deferred
    );
    assert!(agg.tick().await.is_empty(), "still nothing to submit with");
    assert_eq!(env.settlement(f.task).await, 0);

    let assignment = assignment(&env, &f, elsewhere.get_task(f.task).unwrap().unwrap());
    assert!(
        agg.observe_assignment(&assignment),
        "the waiting quorum is told"
    );
    let verdicts = agg.tick().await;
    assert_eq!(verdicts.len(), 1);
    let events = env.settling_events(f.task).await;
    assert_eq!(
        events,
        vec![(
            true,
            f.report.performer,
            f.job.0,
            verdicts[0].tx_hash.unwrap()
        )]
    );
    let s = agg.stats();
    // Deferred by the attestation and by the first tick; not in this store: counted, not fatal.
    assert_eq!((s.deferred, s.record_failures), (2, 1));
}

#[tokio::test]
async fn the_performers_power_is_excluded_and_its_own_vote_refused() {
    let env = env().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // Performed by keeper 3 (power 300 of 600): the attesting base is the other 300.
    let f = fixture_by(40, store.as_ref(), env.keeper(3).address());
    let agg = env.aggregator(0, store.clone(), Arc::new(SystemClock));
    agg.observe_report(&f.report);
    assert_eq!(
        agg.handle_attestation(env.approve(3, &f)).await.unwrap(),
        Admission::Forged,
        "a performer never attests its own execution"
    );
    for i in [0, 1] {
        assert_eq!(
            agg.handle_attestation(env.approve(i, &f)).await.unwrap(),
            Admission::Counted,
            "200 of 300 is exactly 2/3"
        );
    }
    assert_eq!(env.settlement(f.task).await, 0);
    let v = settled(agg.handle_attestation(env.approve(2, &f)).await.unwrap());
    assert!(v.approve);
    assert_eq!(
        env.settlement(f.task).await,
        1,
        "the registry agrees: 300 of 300"
    );
}
