//! End-to-end settlement on a real anvil with an in-process network: scheduler engines →
//! assigner → performer keepers → attesters → aggregator → on-chain verdict → store, one test
//! per trigger kind. Nothing is mocked: real contracts, real signatures, real transport frames.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, Bytes, I256, U256},
    signers::local::PrivateKeySigner,
};
use alloy_json_abi::{Event, Function};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        AlloyClient, ChainClient,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::{Counter, DemoToken, KeeperRegistry, PriceFeed, TaskHub},
    },
    clock::{Clock, SystemClock},
    ids::Occurrence,
    protocol::{self, Assignment, topics},
    selection::{Candidate, select_performer},
    spec::spec_hash,
    store::{JobStore, KeeperFilter, KeeperStore, MemoryStore, Store, TaskFilter},
    transport::{
        Members, Transport,
        inprocess::{Config as NetConfig, InProcessNetwork},
    },
    types::{
        Action, Arguments, CatchUp, Comparison, ConditionTrigger, EventTrigger, FireMode, Job,
        JobStatus, Keeper, Overlap, Schedule, Task, TaskStatus, TimeTrigger, TopicFilter, Trigger,
        ValueSource,
    },
};
use triggerx_keeper::{
    attester::{self, Attester, AttesterService},
    performer::{Config as EngineConfig, Engine, PerformerService, report_for},
};
use triggerx_scheduler::{
    aggregator::{self, Aggregator, AggregatorService},
    assign::{self, Assigner},
    condition::{self, ConditionEngine, DefaultFetcher, service::ConditionService},
    dispatch::ChannelDispatcher,
    event::{self, EventEngine, service::EventService},
    time::{self, TimeEngine, service::TimeService},
};

struct Net {
    _anvil: Anvil,
    devnet: Devnet,
    store: Arc<dyn Store>,
    client: Arc<dyn ChainClient>,
    dispatcher: Arc<ChannelDispatcher>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    aggregator: Arc<Aggregator>,
    attesters: Vec<attester::Monitor>,
    /// Performer roles, not running until [`Net::run_performers`]: (keeper, service, its
    /// transport node, a spare engine on its key for tests that act as that keeper).
    performers: Vec<(Address, PerformerService, Arc<dyn Transport>, Engine)>,
    stop_rx: tokio::sync::watch::Receiver<bool>,
    scheduler_key: PrivateKeySigner,
    /// The scheduler's transport node (tests publish through it as the scheduler).
    scheduler: Arc<dyn Transport>,
    /// Every keeper's transport node.
    nodes: Vec<(Address, Arc<dyn Transport>)>,
}

fn stopped(
    rx: &tokio::sync::watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + use<> {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// Starts a devnet and every network role over one in-process transport.
async fn start() -> Net {
    start_with(true).await
}

/// Starts a devnet and the network roles; without `attest`, no attester runs.
async fn start_with(attest: bool) -> Net {
    let anvil = Anvil::start(AnvilOptions::default()).await.expect("anvil");
    let devnet = Devnet::deploy(
        &anvil,
        DevnetOptions {
            keepers: 3,
            ..Default::default()
        },
    )
    .await
    .expect("devnet");
    let client: Arc<dyn ChainClient> = Arc::new(AlloyClient::http(&devnet.endpoint).unwrap());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    launch(
        anvil,
        devnet,
        client,
        store,
        PrivateKeySigner::random(),
        attest,
    )
    .await
}

/// Starts every network role (on a new in-process network) over an existing chain and store:
/// the first start, or a restart of the whole network.
async fn launch(
    anvil: Anvil,
    devnet: Devnet,
    client: Arc<dyn ChainClient>,
    store: Arc<dyn Store>,
    scheduler_key: PrivateKeySigner,
    attest: bool,
) -> Net {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let aggregator_key = devnet.users[5].clone();
    let mut members: HashSet<Address> = devnet.keepers.iter().map(|k| k.address()).collect();
    members.insert(scheduler_key.address());
    members.insert(aggregator_key.address());
    let members = Arc::new(Members(members));
    let net = InProcessNetwork::new(NetConfig::default());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let a = devnet.addresses;
    let mut attesters = Vec::new();
    let mut performers = Vec::new();
    let mut nodes = Vec::new();

    // Keepers: registered on-chain by the devnet; online in the store (the health service's job).
    for k in &devnet.keepers {
        let mut keeper = Keeper::new(k.address(), k.voting_power, Timestamp::now());
        keeper.online = true;
        store.upsert_keeper(&keeper).unwrap();
        let node: Arc<dyn Transport> =
            Arc::new(net.join(k.signer.clone(), members.clone(), clock.clone()));
        let engine = Engine::new(client.clone(), k.signer.clone(), EngineConfig::default())
            .await
            .expect("engine");
        let performer =
            PerformerService::new(engine, node.clone(), clock.clone(), scheduler_key.address());
        let config = attester::Config::new(
            31337,
            a.task_hub,
            a.keeper_registry,
            scheduler_key.address(),
        )
        .with_require_spec_hash(true);
        let attester = AttesterService::new(
            Attester::new(client.clone(), config),
            node.clone(),
            k.signer.clone(),
            attester::ServiceConfig::default(),
        );
        performers.push((
            k.address(),
            performer,
            node.clone(),
            engine_for_tests(&client, &k.signer).await,
        ));
        nodes.push((k.address(), node.clone()));
        if !attest {
            continue;
        }
        attesters.push(attester.monitor());
        let s = stopped(&stop_rx);
        tasks.push(tokio::spawn(async move {
            attester.run(s).await;
        }));
    }

    // Aggregator.
    let agg_node: Arc<dyn Transport> =
        Arc::new(net.join(aggregator_key.clone(), members.clone(), clock.clone()));
    let config = aggregator::Config::new(
        a.keeper_registry,
        31337,
        devnet.endpoint.clone(),
        aggregator_key,
    );
    let aggregator =
        Arc::new(Aggregator::new(config, store.clone(), clock.clone()).expect("aggregator"));
    let service = AggregatorService::new(aggregator.clone(), agg_node, 1024)
        .with_trusted_scheduler(scheduler_key.address());
    let s = stopped(&stop_rx);
    tasks.push(tokio::spawn(async move {
        service.run(s).await.expect("aggregator runs");
    }));

    // Scheduler: engines feed one dispatcher; the assigner publishes assignments.
    let sched_node: Arc<dyn Transport> =
        Arc::new(net.join(scheduler_key.clone(), members.clone(), clock.clone()));
    let (dispatcher, rx) = ChannelDispatcher::new(1024);
    // A short execution deadline so the backup test does not wait long.
    let assign_config = assign::Config {
        execution_timeout: Duration::from_secs(4),
        ..assign::Config::new(a.task_hub)
    };
    let assigner = Assigner::new(
        store.clone(),
        sched_node.clone(),
        clock.clone(),
        assign_config,
    )
    .with_chain(client.clone());
    let s = stopped(&stop_rx);
    tasks.push(tokio::spawn(async move {
        assigner
            .run(rx, Duration::from_millis(200), s)
            .await
            .expect("assigner runs");
    }));
    Net {
        _anvil: anvil,
        devnet,
        store,
        client,
        dispatcher: Arc::new(dispatcher),
        stop,
        tasks,
        aggregator,
        attesters,
        performers,
        stop_rx,
        scheduler_key,
        scheduler: sched_node,
        nodes,
    }
}

async fn engine_for_tests(client: &Arc<dyn ChainClient>, signer: &PrivateKeySigner) -> Engine {
    Engine::new(client.clone(), signer.clone(), EngineConfig::default())
        .await
        .expect("engine")
}

impl Net {
    /// Starts the performer role of every keeper except `silent` ones (they still attest).
    fn run_performers(&mut self, silent: &[Address]) {
        for (address, performer, _, _) in std::mem::take(&mut self.performers) {
            if silent.contains(&address) {
                continue;
            }
            let s = stopped(&self.stop_rx);
            self.tasks.push(tokio::spawn(async move {
                performer.run(s).await;
            }));
        }
    }

    /// The keeper the assigner will pick for attempt `attempt` of `task`.
    fn selected(&self, task: TaskId, attempt: u32, excluded: &[Address]) -> Address {
        let candidates: Vec<Candidate> = self
            .store
            .list_keepers(&KeeperFilter::SELECTABLE)
            .unwrap()
            .into_iter()
            .map(|k| Candidate {
                address: k.address,
                power: k.voting_power,
            })
            .collect();
        select_performer(task, attempt, &candidates, excluded).expect("a candidate")
    }

    /// The owner of the test jobs.
    fn owner(&self) -> Address {
        self.devnet.users[1].address()
    }

    /// Registers `job` on-chain with its spec hash (the hub requires the registration, the
    /// attesters the hash), funds its owner, and returns it with the registry's id.
    async fn register(&self, mut job: Job) -> Job {
        let owner = self.devnet.users[1].clone();
        assert_eq!(job.owner, owner.address());
        let expires = Timestamp::now().as_secs() as u64 + 3600;
        job.id = self
            .devnet
            .create_job_with_spec(&owner, job.action.target, expires, spec_hash(&job))
            .await
            .expect("createJob");
        self.devnet
            .deposit(owner.address(), U256::from(10u64).pow(U256::from(18u64)))
            .await
            .expect("deposit");
        job
    }

    async fn wait_settled(&self, job: JobId) -> Task {
        for _ in 0..300 {
            let tasks = self
                .store
                .list_tasks(&TaskFilter {
                    job_id: Some(job),
                    ..Default::default()
                })
                .unwrap()
                .items;
            if let Some(t) = tasks.iter().find(|t| t.status.is_final()) {
                return t.clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let tasks = self.store.list_tasks(&TaskFilter::default()).unwrap().items;
        let attesters: Vec<_> = self.attesters.iter().map(|m| m.stats()).collect();
        panic!(
            "no task of job {job} settled within 60 s: {tasks:#?}\naggregator: {:#?}\nattesters: {attesters:#?}",
            self.aggregator.stats()
        );
    }

    async fn assert_accepted_once(&self, task: &Task) {
        assert_eq!(task.status, TaskStatus::Accepted, "{task:#?}");
        let hub = TaskHub::new(self.devnet.addresses.task_hub, &self.devnet.provider);
        assert!(
            hub.executed(task.id.0).call().await.unwrap(),
            "executed on-chain"
        );
        let registry =
            KeeperRegistry::new(self.devnet.addresses.keeper_registry, &self.devnet.provider);
        let settlement = registry.settlement(task.id.0).call().await.unwrap();
        assert_eq!(settlement, 1, "TaskSubmitted (accepted) on-chain");
        let all = self
            .store
            .list_tasks(&TaskFilter {
                job_id: Some(task.job_id),
                ..Default::default()
            })
            .unwrap()
            .items;
        assert_eq!(all.len(), 1, "one task for one occurrence");
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    /// Stops every role and starts new ones (new attesters, aggregator, assigner and
    /// performers, a new network) over the same chain and store, attesting this time.
    async fn restart(self) -> Net {
        self.stop.send(true).unwrap();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        launch(
            self._anvil,
            self.devnet,
            self.client,
            self.store,
            self.scheduler_key,
            true,
        )
        .await
    }

    /// The attesters' counters, summed.
    fn attester_totals(&self) -> attester::Stats {
        let mut t = attester::Stats::default();
        for s in self.attesters.iter().map(|m| m.stats()) {
            t.approved += s.approved;
            t.rejected += s.rejected;
            t.recovered_reports += s.recovered_reports;
            t.untrusted_recovered += s.untrusted_recovered;
            t.own_reports += s.own_reports;
        }
        t
    }

    /// The transport node and spare engine of keeper `k`.
    fn keeper(&self, k: Address) -> (Arc<dyn Transport>, Engine) {
        self.performers
            .iter()
            .find(|p| p.0 == k)
            .map(|p| (p.2.clone(), p.3.clone()))
            .expect("a keeper")
    }
}

fn counter_action(counter: Address) -> Action {
    let function = Function::parse("increment()").unwrap();
    let calldata = Bytes::from(function.selector().to_vec());
    Action {
        chain_id: 31337,
        target: counter,
        function,
        value: U256::ZERO,
        gas_limit: Some(200_000),
        arguments: Arguments::Static {
            values: vec![],
            calldata,
        },
    }
}

/// The id of a job not registered yet (the registry assigns one).
const UNREGISTERED: JobId = JobId(U256::ZERO);

fn job(id: JobId, owner: Address, trigger: Trigger, action: Action) -> Job {
    let now = Timestamp::now();
    Job {
        id,
        owner,
        title: "e2e".into(),
        trigger,
        action,
        recurring: false,
        expires_at: Some(now.add_millis(3_600_000)),
        status: JobStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

async fn counter_value(net: &Net) -> U256 {
    Counter::new(net.devnet.addresses.counter, &net.devnet.provider)
        .count()
        .call()
        .await
        .unwrap()
}

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

fn at_job(id: JobId, owner: Address, due: Timestamp, counter: Address) -> Job {
    let trigger = Trigger::Time(TimeTrigger {
        schedule: Schedule::At {
            instants: vec![due],
        },
        start: None,
        catch_up: CatchUp::FireOnce,
        overlap: Overlap::Skip,
    });
    job(id, owner, trigger, counter_action(counter))
}

fn run_time_engine(net: &Net) -> tokio::task::JoinHandle<()> {
    let mut engine = TimeEngine::new(net.store.clone(), time::Config::default());
    engine.load().unwrap();
    let (service, _h) = TimeService::new(engine, Arc::new(SystemClock), net.dispatcher.clone());
    let s = stopped(&net.stop.subscribe());
    tokio::spawn(async move {
        let _ = service.run(s).await;
    })
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

/// Waits until `task` has status `status` in the store.
async fn wait_status(net: &Net, task: TaskId, status: TaskStatus) -> Task {
    for _ in 0..300 {
        if let Some(t) = net.store.get_task(task).unwrap()
            && t.status == status
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "task {task} not {status:?} within 60 s: {:#?}",
        net.store.get_task(task).unwrap()
    );
}

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
