//! End-to-end settlement on a real anvil with an in-process network: scheduler engines →
//! assigner → performer keepers → attesters → aggregator → on-chain verdict → store, one test
//! per trigger kind. Nothing is mocked: real contracts, real signatures, real transport frames.

mod network;

use network::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn time_job_executes_once_and_is_accepted_on_chain() {
    let mut net = start().await;
    net.run_performers(&[]);
    let owner = net.owner();
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 2);
    let trigger = Trigger::Time(TimeTrigger {
        schedule: Schedule::At {
            instants: vec![due],
        },
        start: None,
        catch_up: CatchUp::FireOnce,
        overlap: Overlap::Skip,
    });
    let j = net
        .register(job(
            UNREGISTERED,
            owner,
            trigger,
            counter_action(net.devnet.addresses.counter),
        ))
        .await;
    let id = j.id;
    net.store.insert_job(&j).unwrap();
    let mut engine = TimeEngine::new(net.store.clone(), time::Config::default());
    engine.load().unwrap();
    let (service, _h) = TimeService::new(engine, Arc::new(SystemClock), net.dispatcher.clone());
    let s = stopped(&net.stop.subscribe());
    let run = tokio::spawn(async move {
        let _ = service.run(s).await;
    });
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    assert_eq!(counter_value(&net).await, U256::from(1));
    run.abort();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_job_executes_once_and_is_accepted_on_chain() {
    let mut net = start().await;
    net.run_performers(&[]);
    let owner = net.owner();
    let alice = Address::repeat_byte(0xa1);
    let event =
        Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
            .unwrap();
    let trigger = Trigger::Event(EventTrigger {
        chain_id: 31337,
        addresses: vec![net.devnet.addresses.demo_token],
        event,
        topics: vec![TopicFilter {
            position: 2,
            name: "to".into(),
            any_of: vec![alice.into_word()],
        }],
        conditions: vec![],
        confirmations: 0,
    });
    let j = net
        .register(job(
            UNREGISTERED,
            owner,
            trigger,
            counter_action(net.devnet.addresses.counter),
        ))
        .await;
    let id = j.id;
    net.store.insert_job(&j).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut engine = EventEngine::new(
        31337,
        net.client.clone(),
        net.store.clone(),
        clock,
        event::Config::default(),
    )
    .unwrap();
    engine.load().unwrap();
    engine.poll().await.unwrap();
    let (service, _h) =
        EventService::new(engine, net.dispatcher.clone(), Duration::from_millis(300));
    let s = stopped(&net.stop.subscribe());
    let run = tokio::spawn(async move {
        let _ = service.run(s).await;
    });
    let minter = net.devnet.provider_for(&net.devnet.users[2]);
    let token = DemoToken::new(net.devnet.addresses.demo_token, &minter);
    // A transfer to someone else does not fire; one to alice does.
    token
        .mint(Address::repeat_byte(0xb0), U256::from(5))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    token
        .mint(alice, U256::from(5))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    run.abort();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn condition_job_executes_once_and_is_accepted_on_chain() {
    let mut net = start().await;
    net.run_performers(&[]);
    let owner = net.owner();
    let trigger = Trigger::Condition(ConditionTrigger {
        source: ValueSource::PriceFeed {
            chain_id: 31337,
            address: net.devnet.addresses.price_feed,
            decimals: 8,
        },
        comparison: Comparison::GreaterThan {
            value: "2500".parse().unwrap(),
        },
        poll_interval_ms: 500,
        mode: FireMode::Edge,
    });
    let j = net
        .register(job(
            UNREGISTERED,
            owner,
            trigger,
            counter_action(net.devnet.addresses.counter),
        ))
        .await;
    let id = j.id;
    net.store.insert_job(&j).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let fetcher = DefaultFetcher::new(Duration::from_secs(5), 1 << 20)
        .unwrap()
        .with_chain(31337, net.client.clone());
    let mut engine = ConditionEngine::new(
        net.store.clone(),
        clock,
        Arc::new(fetcher),
        condition::Config::default(),
    );
    engine.load().unwrap();
    let (service, _h) = ConditionService::new(engine, net.dispatcher.clone());
    let s = stopped(&net.stop.subscribe());
    let run = tokio::spawn(async move {
        let _ = service.run(s).await;
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        net.store
            .list_tasks(&TaskFilter::default())
            .unwrap()
            .items
            .is_empty(),
        "2000 is not above 2500"
    );
    let feed = PriceFeed::new(net.devnet.addresses.price_feed, &net.devnet.provider);
    feed.setPrice(I256::try_from(260_000_000_000_i64).unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    run.abort();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_performer_is_replaced_and_the_task_executes_once() {
    let mut net = start().await;
    let counter = net.devnet.addresses.counter;
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 3);
    let j = net
        .register(at_job(UNREGISTERED, net.owner(), due, counter))
        .await;
    let id = j.id;
    let task_id = Occurrence::Time { job: id, due }.task_id();
    let silent = net.selected(task_id, 0, &[]);
    net.run_performers(&[silent]);
    net.store.insert_job(&j).unwrap();
    let run = run_time_engine(&net);
    let task = net.wait_settled(id).await;
    net.assert_accepted_once(&task).await;
    assert_eq!(task.attempts, 2, "the backup took over after the deadline");
    assert_ne!(task.performer, Some(silent));
    assert_eq!(task.performer, Some(net.selected(task_id, 1, &[silent])));
    assert_eq!(
        counter_value(&net).await,
        U256::from(1),
        "executed exactly once"
    );
    run.abort();
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lying_performer_is_rejected_on_chain() {
    let mut net = start().await;
    let counter = net.devnet.addresses.counter;
    let due = Timestamp::from_secs(Timestamp::now().as_secs() + 3);
    let j = net
        .register(at_job(UNREGISTERED, net.owner(), due, counter))
        .await;
    let id = j.id;
    let task_id = Occurrence::Time { job: id, due }.task_id();
    let liar = net.selected(task_id, 0, &[]);
    let (node, engine) = net
        .performers
        .iter()
        .find(|p| p.0 == liar)
        .map(|p| (p.2.clone(), p.3.clone()))
        .unwrap();
    let mut assignments = node.subscribe(topics::ASSIGNMENTS, 16);
    net.run_performers(&[liar]);
    net.store.insert_job(&j).unwrap();
    let run = run_time_engine(&net);
    let msg = tokio::time::timeout(Duration::from_secs(30), assignments.recv())
        .await
        .expect("assignment")
        .unwrap();
    let a: Assignment = protocol::decode(&msg.payload).unwrap();
    assert_eq!(a.performer, liar);
    // The liar executes other calldata through the hub for this task: incrementBy(5).
    let by = Function::parse("incrementBy(uint256)").unwrap();
    let calldata = triggerx_core::abi::encode_call(&by, &[serde_json::json!("5")]).unwrap();
    let mut lie = a.job.action.clone();
    lie.function = by;
    lie.arguments = Arguments::Static {
        values: vec![serde_json::json!("5")],
        calldata: calldata.clone(),
    };
    let outcome = engine
        .execute_task(a.hub, a.task.id, a.job.id, &lie)
        .await
        .expect("executed");
    let report = report_for(&a, liar, &calldata, &outcome, Timestamp::now());
    node.publish(topics::REPORTS, protocol::encode(&report))
        .await
        .unwrap();
    let task = net.wait_settled(id).await;
    assert_eq!(task.status, TaskStatus::Rejected, "{task:#?}");
    assert!(
        task.error
            .as_deref()
            .unwrap_or("")
            .contains("calldata_mismatch"),
        "{task:#?}"
    );
    let registry = KeeperRegistry::new(net.devnet.addresses.keeper_registry, &net.devnet.provider);
    assert_eq!(
        registry.settlement(task.id.0).call().await.unwrap(),
        2,
        "TaskRejected on-chain"
    );
    assert_eq!(
        counter_value(&net).await,
        U256::from(5),
        "the lie did execute; it is not accepted"
    );
    run.abort();
    net.stop().await;
}
