//! Assigner tests over the in-process transport: test code plays the keepers with real keys
//! and signed messages.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy_json_abi::Function;
use alloy_primitives::{Address, B256, Bytes, U256};
use triggerx_core::{
    JobId, Timestamp,
    clock::{Clock, ManualClock},
    ids::Occurrence,
    protocol::{self, Assignment, topics},
    store::{JobStore, KeeperStore, MemoryStore, Store, TaskStore},
    transport::{
        Members, Transport,
        conformance::key,
        inprocess::{Config as NetConfig, InProcessNetwork},
    },
    types::{
        Action, CatchUp, Evidence, ExecutionReport, Job, JobStatus, Keeper, Overlap, Schedule,
        Task, TaskStatus, TimeTrigger, Trigger,
    },
};
use triggerx_scheduler::assign::{Assigner, Config};

const T0: i64 = 1_800_000_000;

struct Env {
    store: Arc<dyn Store>,
    clock: ManualClock,
    keepers: Vec<Arc<dyn Transport>>,
    assigner: Assigner,
    _scheduler: Arc<dyn Transport>,
}

fn job() -> Job {
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    let t = Timestamp::from_secs(T0);
    Job {
        id: JobId::from_u64(1),
        owner: Address::repeat_byte(0x11),
        title: "j".into(),
        trigger: Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        }),
        action: Action::with_calldata(
            31337,
            Address::repeat_byte(0x22),
            function,
            vec![],
            calldata,
        ),
        recurring: true,
        expires_at: None,
        status: JobStatus::Active,
        created_at: t,
        updated_at: t,
    }
}

fn task(n: i64) -> Task {
    let due = Timestamp::from_secs(T0 + 60 * n);
    Task::new(
        Occurrence::Time {
            job: JobId::from_u64(1),
            due,
        },
        Evidence::Time { due },
        due,
    )
}

async fn env(keepers: u8) -> Env {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store.insert_job(&job()).unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let net = InProcessNetwork::new(NetConfig::default());
    let scheduler_key = key(100);
    let keys: Vec<_> = (1..=keepers).map(key).collect();
    let mut members: HashSet<Address> = keys.iter().map(|k| k.address()).collect();
    members.insert(scheduler_key.address());
    let members = Arc::new(Members(members));
    // Signatures are checked against the system clock's skew window: keep the network on it.
    let sys: Arc<dyn Clock> = Arc::new(triggerx_core::clock::SystemClock);
    let scheduler: Arc<dyn Transport> =
        Arc::new(net.join(scheduler_key, members.clone(), sys.clone()));
    let keeper_nodes: Vec<Arc<dyn Transport>> = keys
        .iter()
        .map(|k| Arc::new(net.join(k.clone(), members.clone(), sys.clone())) as Arc<dyn Transport>)
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let mut keeper = Keeper::new(
            k.address(),
            U256::from(100 * (i as u64 + 1)),
            Timestamp::from_secs(T0),
        );
        keeper.online = true;
        store.upsert_keeper(&keeper).unwrap();
    }
    let config = Config {
        execution_timeout: Duration::from_secs(30),
        ..Config::new(Address::repeat_byte(0x77))
    };
    let assigner = Assigner::new(store.clone(), scheduler.clone(), shared, config);
    Env {
        store,
        clock,
        keepers: keeper_nodes,
        assigner,
        _scheduler: scheduler,
    }
}

async fn next_assignment(
    rx: &mut tokio::sync::mpsc::Receiver<triggerx_core::transport::Message>,
) -> Assignment {
    let msg = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    protocol::decode(&msg.payload).expect("assignment decodes")
}

fn report_for(a: &Assignment, performer: Address) -> ExecutionReport {
    ExecutionReport {
        task_id: a.task.id,
        performer,
        evidence: a.task.evidence.clone(),
        inputs_digest: B256::repeat_byte(1),
        tx_hash: B256::repeat_byte(2),
        block_number: 10,
        receipt_digest: B256::repeat_byte(3),
        gas_used: 50_000,
        reported_at: Timestamp::from_secs(T0),
    }
}

#[tokio::test]
async fn assigns_a_selected_performer_and_follows_its_report() {
    let mut env = env(3).await;
    let mut rx = env.keepers[0].subscribe(topics::ASSIGNMENTS, 16);
    let t = task(1);
    env.store.create_task(&t).unwrap();
    env.assigner.assign(t.clone()).await.unwrap();
    let a = next_assignment(&mut rx).await;
    assert!(a.selection_is_valid());
    assert_eq!(a.attempt, 0);
    assert_eq!(a.candidates.len(), 3);
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Assigned);
    assert_eq!(stored.performer, Some(a.performer));
    // A report from a keeper that was not assigned is ignored.
    let idx = |addr: Address| (1..=3).position(|i| key(i).address() == addr).unwrap();
    let other = (idx(a.performer) + 1) % 3;
    let fake = report_for(&a, env.keepers[other].local_address());
    let wrong_sender = triggerx_core::transport::Message {
        topic: topics::REPORTS.into(),
        sender: env.keepers[other].local_address(),
        payload: protocol::encode(&fake),
        timestamp: Timestamp::now(),
    };
    env.assigner.on_report(&wrong_sender).unwrap();
    assert_eq!(
        env.store.get_task(t.id).unwrap().unwrap().status,
        TaskStatus::Assigned
    );
    // The performer's report moves it to executed.
    let real = triggerx_core::transport::Message {
        topic: topics::REPORTS.into(),
        sender: a.performer,
        payload: protocol::encode(&report_for(&a, a.performer)),
        timestamp: Timestamp::now(),
    };
    env.assigner.on_report(&real).unwrap();
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Executed);
    assert_eq!(stored.tx_hash, Some(B256::repeat_byte(2)));
    assert_eq!(env.assigner.stats().reports_ignored, 1);
}

#[tokio::test]
async fn a_task_handed_over_twice_is_assigned_once() {
    // Start-up recovery assigns the stored `created` tasks while an engine may already have
    // queued the same task: the second hand-over is skipped, not an error.
    let mut env = env(3).await;
    let mut rx = env.keepers[0].subscribe(topics::ASSIGNMENTS, 16);
    let t = task(7);
    env.store.create_task(&t).unwrap();
    env.assigner.assign(t.clone()).await.unwrap();
    let a = next_assignment(&mut rx).await;
    env.assigner.assign(t.clone()).await.unwrap();
    let stats = env.assigner.stats();
    assert_eq!((stats.assigned, stats.stale), (1, 1), "{stats:?}");
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Assigned);
    assert_eq!(stored.performer, Some(a.performer));
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "no second assignment is published"
    );
}

#[tokio::test]
async fn silent_performers_are_replaced_then_the_task_fails_with_a_reason() {
    let mut env = env(3).await;
    let mut rx = env.keepers[0].subscribe(topics::ASSIGNMENTS, 16);
    let t = task(1);
    env.store.create_task(&t).unwrap();
    env.assigner.assign(t.clone()).await.unwrap();
    let first = next_assignment(&mut rx).await;
    env.clock.advance_millis(31_000);
    env.assigner.check_deadlines().await.unwrap();
    let second = next_assignment(&mut rx).await;
    assert_eq!(second.attempt, 1);
    assert_ne!(
        second.performer, first.performer,
        "a backup, not the silent one"
    );
    assert_eq!(second.excluded, vec![first.performer]);
    assert!(second.selection_is_valid());
    env.clock.advance_millis(31_000);
    env.assigner.check_deadlines().await.unwrap();
    let third = next_assignment(&mut rx).await;
    assert_eq!(third.attempt, 2);
    assert!(!third.excluded.contains(&third.performer));
    env.clock.advance_millis(31_000);
    env.assigner.check_deadlines().await.unwrap();
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Failed);
    assert!(stored.error.unwrap().contains("after 3 assignment(s)"));
    assert_eq!(env.assigner.stats().reassigned, 2);
}

#[tokio::test]
async fn no_keeper_or_no_verdict_ends_failed() {
    let mut env = env(0).await;
    let t = task(1);
    env.store.create_task(&t).unwrap();
    env.assigner.assign(t.clone()).await.unwrap();
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Failed);
    assert!(
        stored
            .error
            .unwrap()
            .contains("no registered, online keeper")
    );

    let mut env = env_with_one().await;
    let mut rx = env.keepers[0].subscribe(topics::ASSIGNMENTS, 16);
    let t = task(2);
    env.store.create_task(&t).unwrap();
    env.assigner.assign(t.clone()).await.unwrap();
    // The only keeper is the publisher's peer; it receives its assignment.
    let a = next_assignment(&mut rx).await;
    let real = triggerx_core::transport::Message {
        topic: topics::REPORTS.into(),
        sender: a.performer,
        payload: protocol::encode(&report_for(&a, a.performer)),
        timestamp: Timestamp::now(),
    };
    env.assigner.on_report(&real).unwrap();
    env.clock.advance_millis(301_000);
    env.assigner.check_deadlines().await.unwrap();
    let stored = env.store.get_task(t.id).unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Failed);
    assert!(
        stored.error.unwrap().contains("not settled"),
        "the user can see why"
    );
}

async fn env_with_one() -> Env {
    env(1).await
}

/// Against a real anvil: tasks executed through the hub whose performer never reported are not
/// reassigned; their reports are rebuilt from the chain and relayed, also after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_without_a_report_are_relayed_from_the_chain() {
    use alloy::primitives::keccak256;
    use triggerx_core::{
        chain::{
            AlloyClient, ChainClient,
            anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        },
        protocol::RecoveredReport,
    };

    let anvil = Anvil::start(AnvilOptions::default()).await.expect("anvil");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 2,
            ..Default::default()
        },
    )
    .await
    .expect("devnet");
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&devnet.endpoint).unwrap());
    let hub = devnet.addresses.task_hub;
    let counter = devnet.addresses.counter;
    let owner = devnet.users[1].clone();
    let job_id = devnet
        .create_job(&owner, counter, (T0 + 86_400) as u64)
        .await
        .unwrap();
    devnet
        .deposit(owner.address(), U256::from(10u64).pow(U256::from(18u64)))
        .await
        .unwrap();
    let mut j = job();
    j.id = job_id;
    j.owner = owner.address();
    j.action.target = counter;
    let calldata = Bytes::from(j.action.selector().to_vec());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store.insert_job(&j).unwrap();
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let sys: Arc<dyn Clock> = Arc::new(triggerx_core::clock::SystemClock);
    let net = InProcessNetwork::new(NetConfig::default());
    let scheduler_key = key(100);
    let mut members: HashSet<Address> = devnet.keepers.iter().map(|k| k.address()).collect();
    members.insert(scheduler_key.address());
    let members = Arc::new(Members(members));
    let scheduler: Arc<dyn Transport> =
        Arc::new(net.join(scheduler_key, members.clone(), sys.clone()));
    let watcher: Arc<dyn Transport> = Arc::new(net.join(
        devnet.keepers[0].signer.clone(),
        members.clone(),
        sys.clone(),
    ));
    for k in &devnet.keepers {
        let mut keeper = Keeper::new(k.address(), k.voting_power, Timestamp::from_secs(T0));
        keeper.online = true;
        store.upsert_keeper(&keeper).unwrap();
    }
    let config = Config {
        execution_timeout: Duration::from_secs(30),
        ..Config::new(hub)
    };
    let assigner = |store: &Arc<dyn Store>| {
        Assigner::new(
            store.clone(),
            scheduler.clone(),
            Arc::new(clock.clone()),
            config,
        )
        .with_chain(client.clone())
    };
    let mut first = assigner(&store);
    let mut assignments = watcher.subscribe(topics::ASSIGNMENTS, 16);
    let mut recovered = watcher.subscribe(topics::RECOVERED, 16);
    let task_of = |n: i64| {
        let mut t = task(n);
        let due = Timestamp::from_secs(T0 + 60 * n);
        t.occurrence = Occurrence::Time { job: job_id, due };
        t.id = t.occurrence.task_id();
        t.job_id = job_id;
        t
    };
    // Task 1 executed by its performer, task 2 by the other keeper, task 3 by nobody.
    let tasks = [task_of(1), task_of(2), task_of(3)];
    let mut published = Vec::new();
    for t in &tasks {
        store.create_task(t).unwrap();
        first.assign(t.clone()).await.unwrap();
        published.push(next_assignment(&mut assignments).await);
    }
    let signer_of = |a: Address| {
        devnet
            .keepers
            .iter()
            .find(|k| k.address() == a)
            .unwrap()
            .signer
            .clone()
    };
    let other = |a: Address| {
        devnet
            .keepers
            .iter()
            .map(|k| k.address())
            .find(|k| *k != a)
            .unwrap()
    };
    let mut receipts = Vec::new();
    for (a, by) in [
        (&published[0], published[0].performer),
        (&published[1], other(published[1].performer)),
    ] {
        let receipt = devnet
            .task_hub(&devnet.provider_for(&signer_of(by)))
            .execute(
                a.task.id.0,
                job_id.0,
                counter,
                U256::ZERO,
                calldata.clone(),
                U256::from(1_000_000u64),
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        receipts.push((by, receipt));
    }
    clock.advance_millis(31_000);
    first.check_deadlines().await.unwrap();
    let stats = first.stats();
    assert_eq!(stats.recovered, 2, "{stats:?}");
    assert_eq!(stats.reassigned, 1, "only the unexecuted task 3: {stats:?}");
    let mut relayed = Vec::new();
    for _ in 0..2 {
        let msg = tokio::time::timeout(Duration::from_secs(5), recovered.recv())
            .await
            .unwrap()
            .unwrap();
        relayed.push(protocol::decode::<RecoveredReport>(&msg.payload).unwrap());
    }
    for (i, ((by, receipt), a)) in receipts.iter().zip(&published).enumerate() {
        let r = relayed
            .iter()
            .find(|r| r.report.task_id == a.task.id)
            .unwrap_or_else(|| panic!("task {} relayed", i + 1));
        assert_eq!(r.report.performer, *by, "the tx's sender");
        assert_eq!(r.report.tx_hash, receipt.transaction_hash);
        assert_eq!(r.report.block_number, receipt.block_number.unwrap());
        assert_eq!(r.report.gas_used, receipt.gas_used);
        assert_eq!(
            r.report.receipt_digest,
            protocol::receipt_digest_of(receipt)
        );
        assert_eq!(r.report.inputs_digest, keccak256(&calldata));
        assert_eq!(
            r.assignment, *a,
            "relayed with the attempt the scheduler published"
        );
        let stored = store.get_task(a.task.id).unwrap().unwrap();
        assert_eq!(stored.status, TaskStatus::Executed);
        assert_eq!(stored.performer, Some(*by));
        assert_eq!(stored.tx_hash, Some(receipt.transaction_hash));
    }
    // Task 2's executor was never assigned: relayed with the attempt that names someone else
    // (the attesters reject it).
    assert_ne!(published[1].performer, receipts[1].0);
    assert_eq!(
        store.get_task(tasks[2].id).unwrap().unwrap().attempts,
        2,
        "task 3 went to a backup"
    );

    // A restart: a new assigner over the same store relays both again, with the kept attempts.
    drop(first);
    let mut second = assigner(&store);
    second.recover().await.unwrap();
    assert_eq!(second.stats().recovered, 2, "{:?}", second.stats());
    for _ in 0..2 {
        let msg = tokio::time::timeout(Duration::from_secs(5), recovered.recv())
            .await
            .unwrap()
            .unwrap();
        let r: RecoveredReport = protocol::decode(&msg.payload).unwrap();
        let original = relayed
            .iter()
            .find(|x| x.report.task_id == r.report.task_id)
            .unwrap();
        assert_eq!(r.assignment, original.assignment);
        assert_eq!(
            protocol::report_digest(&r.report),
            protocol::report_digest(&original.report)
        );
    }
    // Not settled within the settle timeout: relayed once more, then failed.
    clock.advance_millis(301_000);
    second.check_deadlines().await.unwrap();
    assert_eq!(second.stats().recovered, 4, "{:?}", second.stats());
    assert_eq!(
        store.get_task(tasks[0].id).unwrap().unwrap().status,
        TaskStatus::Executed
    );
    clock.advance_millis(301_000);
    second.check_deadlines().await.unwrap();
    assert_eq!(second.stats().recovered, 4, "relayed again only once");
    let t1 = store.get_task(tasks[0].id).unwrap().unwrap();
    assert_eq!(t1.status, TaskStatus::Failed, "{t1:#?}");
    assert!(t1.error.unwrap().contains("not settled"));
}
