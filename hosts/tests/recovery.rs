//! Executions whose report was lost are settled from the chain: the assigner rebuilds the report
//! from the hub's `TaskExecuted` log and the receipt and relays it; attesters take it only from
//! the scheduler and check it like any report. Real anvil, real contracts, in-process network.

mod network;

use network::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_execution_whose_report_was_lost_is_settled_from_the_chain() {
    let mut net = start().await;
    let counter = net.devnet.addresses.counter;
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 3);
    let j = net
        .register(at_job(UNREGISTERED, net.owner(), due, counter))
        .await;
    let id = j.id;
    let task_id = Occurrence::Time { job: id, due }.task_id();
    let mute = net.selected(task_id, 0, &[]);
    let (node, engine) = net.keeper(mute);
    let mut assignments = node.subscribe(topics::ASSIGNMENTS, 16);
    net.run_performers(&[mute]);
    net.store.insert_job(&j).unwrap();
    let run = run_time_engine(&net);
    let msg = tokio::time::timeout(Duration::from_secs(30), assignments.recv())
        .await
        .expect("assignment")
        .unwrap();
    let a: Assignment = protocol::decode(&msg.payload).unwrap();
    assert_eq!(a.performer, mute);
    // The performer executes honestly through the hub, then dies before reporting.
    let outcome = engine
        .execute_task(a.hub, a.task.id, a.job.id, &a.job.action)
        .await
        .expect("executed");
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    assert_eq!(task.attempts, 1, "no backup was assigned: {task:#?}");
    assert_eq!(task.performer, Some(mute));
    assert_eq!(task.tx_hash, Some(outcome.tx_hash), "the tx from the chain");
    assert_eq!(task.block_number, Some(outcome.block_number));
    assert_eq!(counter_value(&net).await, U256::from(1), "executed once");
    let t = net.attester_totals();
    assert_eq!(
        t.recovered_reports, 2,
        "the two other keepers checked it: {t:?}"
    );
    assert_eq!(t.own_reports, 1, "the performer does not attest itself");
    assert_eq!(t.rejected, 0);
    run.abort();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_executed_task_is_settled_after_the_network_restarts() {
    // First run: no attester, so the task stays `executed` (its report seen by the assigner).
    let mut net = start_with(false).await;
    let counter = net.devnet.addresses.counter;
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 2);
    let j = net
        .register(at_job(UNREGISTERED, net.owner(), due, counter))
        .await;
    let id = j.id;
    let task_id = Occurrence::Time { job: id, due }.task_id();
    net.run_performers(&[]);
    net.store.insert_job(&j).unwrap();
    let run = run_time_engine(&net);
    let executed = wait_status(&net, task_id, TaskStatus::Executed).await;
    run.abort();
    // The whole network stops; new attesters, aggregator and assigner start over the store.
    let mut net = net.restart().await;
    net.run_performers(&[]);
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    assert_eq!(task.tx_hash, executed.tx_hash);
    assert_eq!(task.performer, executed.performer);
    assert_eq!(counter_value(&net).await, U256::from(1), "executed once");
    let t = net.attester_totals();
    assert_eq!(t.recovered_reports, 2, "{t:?}");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovered_reports_from_others_or_with_foreign_facts_are_never_approved() {
    let mut net = start().await;
    net.run_performers(&[]);
    let counter = net.devnet.addresses.counter;
    let owner = net.owner();
    // Task 1 executes and settles normally.
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 2);
    let j1 = net
        .register(at_job(UNREGISTERED, owner, due, counter))
        .await;
    net.store.insert_job(&j1).unwrap();
    let run = run_time_engine(&net);
    let t1 = net.wait_settled(j1.id).await;
    net.assert_accepted_once(&t1).await;
    run.abort();
    let before = net.attester_totals();
    let receipt = net
        .client
        .transaction_receipt(t1.tx_hash.unwrap())
        .await
        .unwrap()
        .unwrap();

    // Task 2 of another registered job, due in an hour: never executed. A relay claims the
    // execution of task 1 for it.
    let due2 = Timestamp::from_secs(Timestamp::now().as_secs() + 3600);
    let j2 = net
        .register(at_job(UNREGISTERED, owner, due2, counter))
        .await;
    let occurrence = Occurrence::Time {
        job: j2.id,
        due: due2,
    };
    let task2 = Task::new(
        occurrence,
        triggerx_core::types::Evidence::Time { due: due2 },
        Timestamp::now(),
    );
    let candidates: Vec<Candidate> = net
        .store
        .list_keepers(&KeeperFilter::SELECTABLE)
        .unwrap()
        .into_iter()
        .map(|k| Candidate {
            address: k.address,
            power: k.voting_power,
        })
        .collect();
    let performer = t1.performer.unwrap();
    // Exclude the others so the selection names task 1's performer (the tx's sender).
    let excluded: Vec<Address> = candidates
        .iter()
        .map(|c| c.address)
        .filter(|a| *a != performer)
        .collect();
    let assignment = Assignment {
        task: task2.clone(),
        job: j2.clone(),
        attempt: 0,
        performer,
        candidates,
        excluded,
        hub: net.devnet.addresses.task_hub,
        deadline: Timestamp::now().add_millis(30_000),
    };
    assert!(assignment.selection_is_valid());
    let inputs = Bytes::from(Function::parse("increment()").unwrap().selector().to_vec());
    let report = protocol::report_from_receipt(
        &task2,
        performer,
        alloy::primitives::keccak256(&inputs),
        &receipt,
        Timestamp::now(),
    );
    let forged = protocol::RecoveredReport { assignment, report };

    // (c) relayed by a keeper, not the scheduler: dropped and counted by every other attester.
    let (_, relay) = net
        .nodes
        .iter()
        .find(|(k, _)| *k != performer)
        .cloned()
        .unwrap();
    relay
        .publish(topics::RECOVERED, protocol::encode(&forged))
        .await
        .unwrap();
    // (d) relayed by the scheduler: checked against the chain and rejected (the transaction
    // executed task 1, not task 2).
    net.scheduler
        .publish(topics::RECOVERED, protocol::encode(&forged))
        .await
        .unwrap();
    let mut after = net.attester_totals();
    for _ in 0..150 {
        after = net.attester_totals();
        if after.rejected >= before.rejected + 2 && after.untrusted_recovered >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(after.untrusted_recovered >= 2, "{after:?}");
    assert_eq!(
        after.recovered_reports,
        before.recovered_reports + 2,
        "only the scheduler's relay is checked: {after:?}"
    );
    assert_eq!(after.rejected, before.rejected + 2, "{after:?}");
    assert_eq!(after.approved, before.approved, "never approved: {after:?}");
    let registry = KeeperRegistry::new(net.devnet.addresses.keeper_registry, &net.devnet.provider);
    assert_ne!(
        registry.settlement(task2.id.0).call().await.unwrap(),
        1,
        "task 2 is never accepted"
    );
    let hub = TaskHub::new(net.devnet.addresses.task_hub, &net.devnet.provider);
    assert!(!hub.executed(task2.id.0).call().await.unwrap());
    net.stop().await;
}
