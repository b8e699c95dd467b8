//! Registrar integration tests on a real anvil and real SQLite files: keeper registrations,
//! removals and voting-power changes sent by the registry's owner; tasks executed through the
//! real `TaskHub` and settled on the real `KeeperRegistry` with verdicts signed by the devnet
//! keepers' keys.

use std::{path::Path, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, I256, U256, keccak256},
    providers::Provider,
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use alloy_json_abi::Function;
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        AlloyClient, ChainClient,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetKeeper, DevnetOptions, keeper_key},
        contracts::{Counter, TaskHub},
    },
    ids::Occurrence,
    protocol::AttestationDomain,
    store::{
        CheckpointStore, JobStore, KeeperStore, Store, TaskStore, TaskUpdate, UserStore,
        sqlite::SqliteStore,
    },
    types::{
        Action, CatchUp, Decimal, Evidence, Job, JobStatus, Overlap, Schedule, Task, TaskStatus,
        TimeTrigger, Trigger, Verdict,
    },
};
use triggerx_scheduler::registrar::{Config, Registrar, RegistrarService, cursor_key};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Env {
    _anvil: Anvil,
    devnet: Devnet,
    client: Arc<dyn ChainClient>,
}

async fn env(keepers: usize) -> Env {
    let anvil = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts (run scripts/setup.sh)");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers,
            ..DevnetOptions::default()
        },
    )
    .await
    .expect("devnet deploys");
    let client: Arc<dyn ChainClient> =
        Arc::new(AlloyClient::http(&devnet.endpoint).expect("client"));
    Env {
        _anvil: anvil,
        devnet,
        client,
    }
}

impl Env {
    fn config(&self, confirmations: u64) -> Config {
        Config::new(
            self.devnet.addresses.keeper_registry,
            self.devnet.addresses.task_hub,
        )
        .with_job_registry(self.devnet.addresses.job_registry)
        .with_confirmations(confirmations)
    }

    fn registrar(&self, store: &Arc<dyn Store>, confirmations: u64) -> Registrar {
        Registrar::new(
            self.devnet.chain_id,
            self.client.clone(),
            store.clone(),
            self.config(confirmations),
        )
        .expect("registrar")
    }

    async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            let _: serde_json::Value = self
                .devnet
                .provider
                .raw_request("evm_mine".into(), ())
                .await
                .expect("evm_mine");
        }
    }

    async fn head(&self) -> u64 {
        self.devnet.provider.get_block_number().await.unwrap()
    }

    async fn add_keeper(&self, k: Address, power: u64) -> u64 {
        let r = self.devnet.keeper_registry(&self.devnet.provider);
        mined(r.addKeeper(k, U256::from(power)).send().await).await
    }

    async fn remove_keeper(&self, k: Address) -> u64 {
        let r = self.devnet.keeper_registry(&self.devnet.provider);
        mined(r.removeKeeper(k).send().await).await
    }

    async fn set_power(&self, k: Address, power: u64) -> u64 {
        let r = self.devnet.keeper_registry(&self.devnet.provider);
        mined(r.setVotingPower(k, U256::from(power)).send().await).await
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

/// Sends, waits, and returns the block the transaction landed in.
async fn mined(
    pending: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> u64 {
    receipt(pending).await.block_number.expect("mined")
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).expect("sqlite opens"))
}

fn keeper_in(store: &Arc<dyn Store>, k: Address) -> Option<(bool, U256)> {
    store
        .get_keeper(k)
        .unwrap()
        .map(|k| (k.registered, k.voting_power))
}

/// Polls at every height below `block + confirmations` (asserting `before` each time), then at
/// that height (asserting `after`).
async fn within_depth(
    env: &Env,
    registrar: &mut Registrar,
    block: u64,
    confirmations: u64,
    check: impl Fn() -> bool,
) {
    while env.head().await < block + confirmations {
        registrar.poll().await.expect("poll");
        assert!(
            !check(),
            "applied at head {} before block {block} had {confirmations} confirmations",
            env.head().await
        );
        env.mine(1).await;
    }
    assert_eq!(env.head().await, block + confirmations);
    registrar.poll().await.expect("poll");
    assert!(check(), "not applied at confirmation depth {confirmations}");
}

#[tokio::test]
async fn keeper_changes_are_applied_at_their_confirmation_depth_and_not_before() -> TestResult {
    let env = env(3).await;
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("r.sqlite"));
    let depth = 3;
    let mut registrar = env.registrar(&store, depth);

    // The devnet's own registrations (from block 0 on) once they are confirmed.
    env.mine(depth).await;
    registrar.poll().await?;
    for k in &env.devnet.keepers {
        assert_eq!(
            keeper_in(&store, k.address()),
            Some((true, U256::from(100u64)))
        );
    }
    let stored = store.get_keeper(env.devnet.keepers[0].address())?.unwrap();
    let first_block = env.client.header_by_number(1u64.into()).await?.unwrap();
    assert!(stored.registered_at.as_secs() >= first_block.timestamp as i64);

    let newcomer = keeper_key(20).address();
    let b = env.add_keeper(newcomer, 42).await;
    within_depth(&env, &mut registrar, b, depth, || {
        keeper_in(&store, newcomer) == Some((true, U256::from(42u64)))
    })
    .await;
    let added = store.get_keeper(newcomer)?.unwrap();
    let block_time = env
        .client
        .header_by_number(b.into())
        .await?
        .unwrap()
        .timestamp;
    assert_eq!(added.registered_at.as_secs(), block_time as i64);

    let b = env.set_power(newcomer, 7).await;
    within_depth(&env, &mut registrar, b, depth, || {
        keeper_in(&store, newcomer) == Some((true, U256::from(7u64)))
    })
    .await;

    // Removal keeps the record (and its history), deregistered and offline.
    let mut k = store.get_keeper(newcomer)?.unwrap();
    k.online = true;
    k.points = "1.5".parse()?;
    store.upsert_keeper(&k)?;
    let b = env.remove_keeper(newcomer).await;
    within_depth(&env, &mut registrar, b, depth, || {
        keeper_in(&store, newcomer).is_some_and(|(registered, _)| !registered)
    })
    .await;
    let removed = store.get_keeper(newcomer)?.unwrap();
    assert!(!removed.online && removed.voting_power.is_zero());
    assert_eq!(removed.points.to_string(), "1.5");

    // Re-added: registered again with the new power, history and first registration kept.
    let b = env.add_keeper(newcomer, 9).await;
    within_depth(&env, &mut registrar, b, depth, || {
        keeper_in(&store, newcomer) == Some((true, U256::from(9u64)))
    })
    .await;
    let again = store.get_keeper(newcomer)?.unwrap();
    assert_eq!(again.points.to_string(), "1.5");
    assert_eq!(again.registered_at, added.registered_at);

    let s = registrar.stats();
    assert_eq!(
        (s.keepers_added, s.keepers_removed, s.power_changes),
        (3 + 2, 1, 1)
    );
    assert_eq!(s.deep_reorgs, 0);
    // The cursor is the last processed block, persisted.
    let cursor = registrar.cursor().unwrap();
    assert_eq!(cursor.number, env.head().await - depth);
    let stored: triggerx_scheduler::registrar::Cursor = serde_json::from_slice(
        &store
            .get_checkpoint(&cursor_key(env.devnet.chain_id))?
            .unwrap(),
    )?;
    assert_eq!(stored, cursor);
    Ok(())
}

#[tokio::test]
async fn a_restarted_registrar_misses_and_repeats_nothing() -> TestResult {
    let env = env(3).await;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.sqlite");
    let depth = 2;
    let x = keeper_key(30).address();
    let y = keeper_key(31).address();
    {
        let store = open(&path);
        let mut first = env.registrar(&store, depth);
        env.add_keeper(x, 5).await;
        env.mine(depth).await;
        first.poll().await?;
        assert_eq!(keeper_in(&store, x), Some((true, U256::from(5u64))));
        assert_eq!(first.stats().keepers_added, 4);
        // Killed mid-stream: changes keep happening, some of them not yet confirmed when the
        // first registrar last polled.
        env.set_power(x, 6).await;
        first.poll().await?;
    }
    env.remove_keeper(env.devnet.keepers[1].address()).await;
    env.add_keeper(y, 11).await;
    env.set_power(x, 8).await;
    env.mine(depth).await;

    let store = open(&path);
    let mut second = env.registrar(&store, depth);
    assert!(second.cursor().is_some(), "the cursor survived the restart");
    let service = RegistrarService::new(second, Duration::from_millis(20));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(service.run(async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while keeper_in(&store, y).is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "service never applied the changes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).ok();
    second = run.await??;

    assert_eq!(keeper_in(&store, x), Some((true, U256::from(8u64))));
    assert_eq!(keeper_in(&store, y), Some((true, U256::from(11u64))));
    assert_eq!(
        keeper_in(&store, env.devnet.keepers[1].address()),
        Some((false, U256::ZERO))
    );
    // Exactly the changes after the first registrar's cursor, each once.
    let s = second.stats();
    assert_eq!(
        (s.keepers_added, s.keepers_removed, s.power_changes),
        (1, 1, 2),
        "{s:?}"
    );
    Ok(())
}

// ---- settlement ----

const GAS_LIMIT: u64 = 300_000;

struct Settle<'a> {
    env: &'a Env,
    store: Arc<dyn Store>,
    domain: AttestationDomain,
    job: JobId,
    owner: PrivateKeySigner,
    performer: &'a DevnetKeeper,
    /// The other keepers, ascending by address (the order signatures must be in).
    attesters: Vec<&'a DevnetKeeper>,
}

impl Settle<'_> {
    /// A task in the store, executed on the hub by the performer and brought to `status`;
    /// returns it and the hub's charge.
    async fn executed(&self, name: &str, status: TaskStatus) -> (TaskId, U256) {
        let due = Timestamp::from_secs(1_000);
        let task = Task::new(
            Occurrence::Time {
                job: self.job,
                due: due.add_millis(i64::from(name.as_bytes()[0]) * 1000),
            },
            Evidence::Time { due },
            due,
        );
        let id = task.id;
        self.store.create_task(&task).unwrap();
        let hub = self
            .env
            .devnet
            .task_hub(&self.env.devnet.provider_for(&self.performer.signer));
        let r = receipt(
            hub.execute(
                id.0,
                self.job.0,
                self.env.devnet.addresses.counter,
                U256::ZERO,
                Counter::incrementCall {}.abi_encode().into(),
                U256::from(GAS_LIMIT),
            )
            .send()
            .await,
        )
        .await;
        let charged = r
            .decoded_log::<TaskHub::TaskExecuted>()
            .expect("TaskExecuted")
            .data
            .charged;
        let at = Timestamp::from_secs(2_000);
        let performer = self.performer.address();
        let steps: &[(TaskStatus, TaskUpdate)] = &[
            (TaskStatus::Created, TaskUpdate::assign(performer, at)),
            (
                TaskStatus::Assigned,
                TaskUpdate::new(TaskStatus::Executed, at)
                    .with_execution(r.transaction_hash, r.block_number.unwrap()),
            ),
            (
                TaskStatus::Executed,
                TaskUpdate::new(TaskStatus::Attested, at),
            ),
            (
                TaskStatus::Attested,
                TaskUpdate::new(TaskStatus::Accepted, at),
            ),
        ];
        for (from, update) in steps {
            if self.store.get_task(id).unwrap().unwrap().status == status {
                break;
            }
            self.store.transition_task(id, *from, update).unwrap();
        }
        assert_eq!(self.store.get_task(id).unwrap().unwrap().status, status);
        (id, charged)
    }

    /// Settles on the registry with the signatures of `signers` (indices into `attesters`).
    async fn settle(&self, task: TaskId, approve: bool, signers: &[usize]) {
        let report = keccak256(task.0);
        let verdict = if approve {
            Verdict::Approve
        } else {
            triggerx_core::protocol::RejectReason::TxFailed.verdict()
        };
        let performer = self.performer.address();
        let sigs: Vec<Bytes> = signers
            .iter()
            .map(|i| {
                self.domain
                    .sign(
                        &self.attesters[*i].signer,
                        task,
                        report,
                        performer,
                        verdict.clone(),
                    )
                    .signature
            })
            .collect();
        let registry = self.env.devnet.keeper_registry(&self.env.devnet.provider);
        receipt(
            registry
                .submitVerdict(task.0, self.job.0, performer, report, approve, sigs)
                .send()
                .await,
        )
        .await;
    }

    fn points(&self, k: Address) -> (String, u64, u64) {
        let k = self.store.get_keeper(k).unwrap().unwrap();
        (k.points.to_string(), k.executed_tasks, k.attested_tasks)
    }
}

fn ether(wei: U256) -> String {
    Decimal::from_u256(wei, 18).to_string()
}

#[tokio::test]
async fn settlements_are_recorded_and_credited_exactly_once_across_restarts() -> TestResult {
    let env = env(4).await;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.sqlite");
    let depth = 2;
    let store = open(&path);

    // The job on-chain and in the store, owned by user 0 with a prepaid balance.
    let owner = env.devnet.users[0].clone();
    let now = env
        .devnet
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await?
        .unwrap();
    let job = env
        .devnet
        .create_job(
            &owner,
            env.devnet.addresses.counter,
            now.header.timestamp + 3600,
        )
        .await?;
    env.devnet
        .deposit(owner.address(), U256::from(10u64).pow(U256::from(18u64)))
        .await?;
    let t = Timestamp::from_secs(1);
    store.insert_job(&Job {
        id: job,
        owner: owner.address(),
        title: "counter".into(),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        }),
        action: Action::with_calldata(
            env.devnet.chain_id,
            env.devnet.addresses.counter,
            Function::parse("increment()")?,
            vec![],
            Counter::incrementCall {}.abi_encode().into(),
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: t,
        updated_at: t,
    })?;
    let performer = &env.devnet.keepers[0];
    let mut attesters: Vec<_> = env.devnet.keepers[1..].iter().collect();
    attesters.sort_by_key(|k| k.address());
    let s = Settle {
        env: &env,
        store: store.clone(),
        domain: AttestationDomain {
            chain_id: env.devnet.chain_id,
            registry: env.devnet.addresses.keeper_registry,
        },
        job,
        owner,
        performer,
        attesters,
    };

    // A registrar has caught up with the setup; its cursor is where we rewind to later.
    let mut first = env.registrar(&store, depth);
    env.mine(depth).await;
    first.poll().await?;
    let early_cursor = first.cursor().unwrap();
    let (a, b, c) = (
        s.attesters[0].address(),
        s.attesters[1].address(),
        s.attesters[2].address(),
    );
    for k in [a, b, c, performer.address()] {
        assert_eq!(s.points(k), ("0".into(), 0, 0));
    }

    // T1: executed, accepted by all three attesters (300 of the 300 attesting power).
    // Its execution is processed in an earlier range than its settlement, so the charge is
    // looked up by task id.
    let (t1, c1) = s.executed("1", TaskStatus::Executed).await;
    env.mine(depth).await;
    first.poll().await?;
    assert_eq!(first.stats().credited, 0);
    s.settle(t1, true, &[0, 1, 2]).await;
    env.mine(depth).await;
    first.poll().await?;
    assert_eq!(
        (
            first.stats().credited,
            first.stats().accepted,
            first.stats().charges_missing
        ),
        (1, 1, 0)
    );
    assert_eq!(store.get_task(t1)?.unwrap().status, TaskStatus::Accepted);
    assert_eq!(s.points(a), (ether(c1), 0, 1));
    assert_eq!(s.points(c), (ether(c1), 0, 1));
    assert_eq!(s.points(performer.address()), (ether(c1), 1, 0));
    let user = store.get_user(s.owner.address())?.unwrap();
    assert_eq!((user.points.to_string(), user.total_tasks), (ether(c1), 1));
    drop(first);

    // While no registrar runs: T2 rejected by two attesters (200 > 100), T3 accepted and
    // already recorded as accepted in the store (by the aggregator).
    let (t2, c2) = s.executed("2", TaskStatus::Attested).await;
    s.settle(t2, false, &[0, 1]).await;
    let (t3, c3) = s.executed("3", TaskStatus::Accepted).await;
    s.settle(t3, true, &[0, 1, 2]).await;
    env.mine(depth).await;

    let store = open(&path);
    let mut second = env.registrar(&store, depth);
    let blocks = second.poll().await?;
    let st = second.stats();
    eprintln!(
        "measure registrar: {} RPC calls for {blocks} blocks holding 2 settlements",
        st.rpc_calls
    );
    // An idle poll (no new confirmed block) costs exactly one call.
    second.poll().await?;
    assert_eq!(second.stats().rpc_calls, st.rpc_calls + 1);
    assert_eq!(
        (st.credited, st.rejected, st.accepted, st.already_recorded),
        (2, 1, 0, 1),
        "{st:?}"
    );
    assert_eq!(
        (
            st.unknown_tasks,
            st.charges_missing,
            st.attesters_unknown,
            st.unknown_owners
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(store.get_task(t2)?.unwrap().status, TaskStatus::Rejected);
    assert_eq!(store.get_task(t3)?.unwrap().status, TaskStatus::Accepted);

    // The formulas, computed here in wei: attesters +cost per verdict they signed, the
    // performer +cost accepted and −cost/10 rejected, the owner +cost per task.
    let expect = |store: &Arc<dyn Store>| {
        let sum3 = c1 + c2 + c3;
        let pts = |k: Address| {
            let k = store.get_keeper(k).unwrap().unwrap();
            (k.points.to_string(), k.executed_tasks, k.attested_tasks)
        };
        assert_eq!(pts(a), (ether(sum3), 0, 3));
        assert_eq!(pts(b), (ether(sum3), 0, 3));
        assert_eq!(pts(c), (ether(c1 + c3), 0, 2), "c did not sign T2");
        let performer_tenths =
            I256::try_from((c1 + c3) * U256::from(10u64)).unwrap() - I256::try_from(c2).unwrap();
        assert_eq!(
            pts(performer.address()),
            (Decimal::from_i256(performer_tenths, 19).to_string(), 3, 0)
        );
        let user = store.get_user(s.owner.address()).unwrap().unwrap();
        assert_eq!(
            (user.points.to_string(), user.total_tasks),
            (ether(sum3), 3)
        );
    };
    expect(&store);

    // Even a registrar made to process the same blocks again (its cursor rewound) credits
    // nothing twice: each task's settlement marker is in the store.
    store.put_checkpoint(
        &cursor_key(env.devnet.chain_id),
        &serde_json::to_vec(&early_cursor)?,
    )?;
    let mut third = env.registrar(&store, depth);
    third.poll().await?;
    let st = third.stats();
    assert_eq!((st.credited, st.already_applied), (0, 3), "{st:?}");
    expect(&store);
    Ok(())
}

#[tokio::test]
async fn cancelled_jobs_become_deleted_and_unknown_tasks_are_skipped() -> TestResult {
    let env = env(4).await;
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("r.sqlite"));
    let owner = env.devnet.users[0].clone();
    let now = env
        .devnet
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await?
        .unwrap();
    let job = env
        .devnet
        .create_job(
            &owner,
            env.devnet.addresses.counter,
            now.header.timestamp + 3600,
        )
        .await?;
    env.devnet
        .deposit(owner.address(), U256::from(10u64).pow(U256::from(18u64)))
        .await?;
    // A settlement of a task the store has never seen.
    let unknown = TaskId(B256::repeat_byte(0x42));
    let performer = &env.devnet.keepers[0];
    let hub = env
        .devnet
        .task_hub(&env.devnet.provider_for(&performer.signer));
    receipt(
        hub.execute(
            unknown.0,
            job.0,
            env.devnet.addresses.counter,
            U256::ZERO,
            Counter::incrementCall {}.abi_encode().into(),
            U256::from(GAS_LIMIT),
        )
        .send()
        .await,
    )
    .await;
    let domain = AttestationDomain {
        chain_id: env.devnet.chain_id,
        registry: env.devnet.addresses.keeper_registry,
    };
    let mut others: Vec<_> = env.devnet.keepers[1..].iter().collect();
    others.sort_by_key(|k| k.address());
    let report = B256::repeat_byte(1);
    let sigs: Vec<Bytes> = others
        .iter()
        .map(|k| {
            domain
                .sign(
                    &k.signer,
                    unknown,
                    report,
                    performer.address(),
                    Verdict::Approve,
                )
                .signature
        })
        .collect();
    let registry = env.devnet.keeper_registry(&env.devnet.provider);
    receipt(
        registry
            .submitVerdict(unknown.0, job.0, performer.address(), report, true, sigs)
            .send()
            .await,
    )
    .await;

    // The job in the store (a minimal copy), then cancelled on-chain by its owner.
    let t = Timestamp::from_secs(1);
    store.insert_job(&Job {
        id: job,
        owner: owner.address(),
        title: "c".into(),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        }),
        action: Action::with_calldata(
            env.devnet.chain_id,
            env.devnet.addresses.counter,
            Function::parse("increment()")?,
            vec![],
            Counter::incrementCall {}.abi_encode().into(),
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: t,
        updated_at: t,
    })?;
    let jobs = env.devnet.job_registry(&env.devnet.provider_for(&owner));
    receipt(jobs.cancelJob(job.0).send().await).await;
    env.mine(1).await;

    let mut registrar = env.registrar(&store, 1);
    registrar.poll().await?;
    let st = registrar.stats();
    assert_eq!(
        (st.unknown_tasks, st.credited, st.jobs_cancelled),
        (1, 0, 1),
        "{st:?}"
    );
    assert_eq!(store.get_job(job)?.unwrap().status, JobStatus::Deleted);
    assert_eq!(
        store.get_keeper(performer.address())?.unwrap().points,
        Decimal::zero()
    );
    Ok(())
}

impl Env {
    async fn snapshot(&self) -> serde_json::Value {
        self.devnet
            .provider
            .raw_request("evm_snapshot".into(), ())
            .await
            .expect("evm_snapshot")
    }

    async fn revert_to(&self, id: serde_json::Value) {
        let ok: bool = self
            .devnet
            .provider
            .raw_request("evm_revert".into(), (id,))
            .await
            .expect("evm_revert");
        assert!(ok, "evm_revert");
    }
}

#[tokio::test]
async fn reorgs_shallower_than_the_depth_never_reach_the_store_and_deeper_ones_are_counted()
-> TestResult {
    let env = env(3).await;
    let dir = tempfile::tempdir()?;
    let store = open(&dir.path().join("r.sqlite"));
    let depth = 2;
    let mut registrar = env.registrar(&store, depth);
    env.mine(depth).await;
    registrar.poll().await?;

    // Shallow: the registration is orphaned before it has `depth` confirmations.
    let orphan = keeper_key(40).address();
    let snap = env.snapshot().await;
    let b = env.add_keeper(orphan, 3).await;
    env.mine(depth - 1).await;
    registrar.poll().await?;
    assert_eq!(keeper_in(&store, orphan), None);
    env.revert_to(snap).await;
    env.mine(depth + 3).await;
    assert!(env.head().await >= b + depth);
    registrar.poll().await?;
    assert_eq!(keeper_in(&store, orphan), None, "orphaned log applied");
    assert_eq!(registrar.stats().deep_reorgs, 0);
    assert_eq!(registrar.stats().keepers_added, 3);

    // Deep: a block the registrar already applied is replaced.
    let snap = env.snapshot().await;
    let applied = keeper_key(41).address();
    env.add_keeper(applied, 4).await;
    env.mine(depth).await;
    registrar.poll().await?;
    assert_eq!(keeper_in(&store, applied), Some((true, U256::from(4u64))));
    env.revert_to(snap).await;
    env.mine(depth + 3).await;
    registrar.poll().await?;
    assert_eq!(registrar.stats().deep_reorgs, 1);
    Ok(())
}
