//! What the settlement end-to-end tests share: a devnet on anvil with every network role over
//! one in-process transport (scheduler engines, assigner, performers, attesters, aggregator), and
//! helpers to register jobs and wait for their settlement. Nothing is mocked.

#![allow(dead_code, unused_imports)]

pub(crate) use std::{collections::HashSet, sync::Arc, time::Duration};

pub(crate) use alloy::{
    primitives::{Address, Bytes, I256, U256},
    signers::local::PrivateKeySigner,
};
pub(crate) use alloy_json_abi::{Event, Function};
pub(crate) use triggerx_core::{
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
pub(crate) use triggerx_keeper::{
    attester::{self, Attester, AttesterService},
    performer::{Config as EngineConfig, Engine, PerformerService, report_for},
};
pub(crate) use triggerx_scheduler::{
    aggregator::{self, Aggregator, AggregatorService},
    assign::{self, Assigner},
    condition::{self, ConditionEngine, DefaultFetcher, service::ConditionService},
    dispatch::ChannelDispatcher,
    event::{self, EventEngine, service::EventService},
    time::{self, TimeEngine, service::TimeService},
};

pub(crate) struct Net {
    pub(crate) _anvil: Anvil,
    pub(crate) devnet: Devnet,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) client: Arc<dyn ChainClient>,
    pub(crate) dispatcher: Arc<ChannelDispatcher>,
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
    pub(crate) aggregator: Arc<Aggregator>,
    pub(crate) attesters: Vec<attester::Monitor>,
    /// Performer roles, not running until [`Net::run_performers`]: (keeper, service, its
    /// transport node, a spare engine on its key for tests that act as that keeper).
    pub(crate) performers: Vec<(Address, PerformerService, Arc<dyn Transport>, Engine)>,
    pub(crate) stop_rx: tokio::sync::watch::Receiver<bool>,
    pub(crate) scheduler_key: PrivateKeySigner,
    /// The scheduler's transport node (tests publish through it as the scheduler).
    pub(crate) scheduler: Arc<dyn Transport>,
    /// Every keeper's transport node.
    pub(crate) nodes: Vec<(Address, Arc<dyn Transport>)>,
}

pub(crate) fn stopped(
    rx: &tokio::sync::watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + use<> {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// Starts a devnet and every network role over one in-process transport.
pub(crate) async fn start() -> Net {
    start_with(true).await
}

/// Starts a devnet and the network roles; without `attest`, no attester runs.
pub(crate) async fn start_with(attest: bool) -> Net {
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
pub(crate) async fn launch(
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

pub(crate) async fn engine_for_tests(
    client: &Arc<dyn ChainClient>,
    signer: &PrivateKeySigner,
) -> Engine {
    Engine::new(client.clone(), signer.clone(), EngineConfig::default())
        .await
        .expect("engine")
}

impl Net {
    /// Starts the performer role of every keeper except `silent` ones (they still attest).
    pub(crate) fn run_performers(&mut self, silent: &[Address]) {
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
    pub(crate) fn selected(&self, task: TaskId, attempt: u32, excluded: &[Address]) -> Address {
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
    pub(crate) fn owner(&self) -> Address {
        self.devnet.users[1].address()
    }

    /// Registers `job` on-chain with its spec hash (the hub requires the registration, the
    /// attesters the hash), funds its owner, and returns it with the registry's id.
    pub(crate) async fn register(&self, mut job: Job) -> Job {
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

    pub(crate) async fn wait_settled(&self, job: JobId) -> Task {
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

    pub(crate) async fn assert_accepted_once(&self, task: &Task) {
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

    pub(crate) async fn stop(self) {
        self.stop.send(true).unwrap();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    /// Stops every role and starts new ones (new attesters, aggregator, assigner and
    /// performers, a new network) over the same chain and store, attesting this time.
    pub(crate) async fn restart(self) -> Net {
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
    pub(crate) fn attester_totals(&self) -> attester::Stats {
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
    pub(crate) fn keeper(&self, k: Address) -> (Arc<dyn Transport>, Engine) {
        self.performers
            .iter()
            .find(|p| p.0 == k)
            .map(|p| (p.2.clone(), p.3.clone()))
            .expect("a keeper")
    }
}

pub(crate) fn counter_action(counter: Address) -> Action {
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
pub(crate) const UNREGISTERED: JobId = JobId(U256::ZERO);

pub(crate) fn job(id: JobId, owner: Address, trigger: Trigger, action: Action) -> Job {
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

pub(crate) async fn counter_value(net: &Net) -> U256 {
    Counter::new(net.devnet.addresses.counter, &net.devnet.provider)
        .count()
        .call()
        .await
        .unwrap()
}

/// A one-shot time job due at `due` that increments the counter.
pub(crate) fn at_job(id: JobId, owner: Address, due: Timestamp, counter: Address) -> Job {
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

/// Runs a time engine over the network's store until the network stops.
pub(crate) fn run_time_engine(net: &Net) -> tokio::task::JoinHandle<()> {
    let mut engine = TimeEngine::new(net.store.clone(), time::Config::default());
    engine.load().unwrap();
    let (service, _h) = TimeService::new(engine, Arc::new(SystemClock), net.dispatcher.clone());
    let s = stopped(&net.stop.subscribe());
    tokio::spawn(async move {
        let _ = service.run(s).await;
    })
}

/// Waits until `task` has status `status` in the store.
pub(crate) async fn wait_status(net: &Net, task: TaskId, status: TaskStatus) -> Task {
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
