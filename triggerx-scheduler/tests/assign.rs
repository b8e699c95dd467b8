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
