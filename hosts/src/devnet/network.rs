//! Wiring: every network role in one process over the in-process transport — the trigger
//! engines feed a dispatcher, the assigner hands tasks to performers, attesters check their
//! reports, the aggregator settles on-chain, the registrar applies the registry's logs to the
//! store, and health marks keepers online from check-ins.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy::primitives::Address;
use anyhow::{Context, bail};
use tokio::{sync::watch, task::JoinHandle};
use triggerx_core::{
    clock::{Clock, SystemClock},
    store::{KeeperFilter, Store},
    transport::{
        Members, Transport,
        inprocess::{Config as NetConfig, InProcessNetwork},
    },
};
use triggerx_keeper::{
    attester::{self, Attester, AttesterService},
    checkin,
    performer::{Config as EngineConfig, Engine, PerformerService},
};
use triggerx_scheduler::{
    aggregator::{self, Aggregator, AggregatorService},
    assign::{self, Assigner},
    condition::{self, ConditionEngine, DefaultFetcher, service::ConditionService},
    dispatch::ChannelDispatcher,
    event::{self, EventEngine, heads, service::EventService},
    health::{self, Health},
    registrar::{self, Registrar, RegistrarService},
    time::{self, TimeEngine, service::TimeService},
};

use super::chain::{Chain, role_key};

/// How often keepers check in, and after how much silence health marks them offline.
const CHECKIN_INTERVAL: Duration = Duration::from_secs(5);
/// The original TriggerX's polling intervals (`original-behaviour.md` §7), used by
/// `--baseline-polling`: the time scheduler polls every 30 s, the event monitor and the condition
/// workers every 1 s (and nothing wakes them on a new block).
const ORIGINAL_TIME_POLL: Duration = Duration::from_secs(30);
const ORIGINAL_EVENT_POLL: Duration = Duration::from_secs(1);
const ORIGINAL_CONDITION_POLL: Duration = Duration::from_secs(1);
const SILENCE: Duration = Duration::from_secs(20);
/// How long the registrar may take to record the keepers' registration.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A future that completes once `rx` turns true.
pub(crate) fn stopped(rx: &watch::Receiver<bool>) -> impl Future<Output = ()> + use<> {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// The running services, in two groups stopped in order: triggers first, then the rest.
#[derive(Debug)]
pub(crate) struct Network {
    stop_triggers: watch::Sender<bool>,
    stop_all: watch::Sender<bool>,
    triggers: Vec<JoinHandle<()>>,
    services: Vec<JoinHandle<()>>,
    /// Tasks that only end by being aborted (the new-heads subscription).
    aborted: Vec<JoinHandle<()>>,
    /// The aggregator, for its counters.
    pub(crate) aggregator: Arc<Aggregator>,
}

fn log_end<E: std::fmt::Display>(what: &'static str, r: Result<impl Sized, E>) {
    if let Err(e) = r {
        tracing::error!(service = what, error = %e, "service stopped with an error");
    }
}

/// Waits until the store knows every devnet keeper as registered (the registrar's work).
async fn wait_registered(store: &dyn Store, chain: &Chain) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + REGISTRATION_TIMEOUT;
    loop {
        let registered = store.list_keepers(&KeeperFilter {
            registered: Some(true),
            online: None,
        })?;
        let missing = chain
            .keepers
            .iter()
            .filter(|k| !registered.iter().any(|r| r.address == k.address()))
            .count();
        if missing == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "the registrar has not recorded {missing} of {} keepers after {REGISTRATION_TIMEOUT:?}",
                chain.keepers.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Network {
    /// Starts every role. The keepers must be registered on-chain; the registrar records them
    /// in the store and they come online by checking in.
    pub(crate) async fn start(
        chain: &Chain,
        store: Arc<dyn Store>,
        execution_timeout: Duration,
        baseline_polling: bool,
    ) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let client = chain.client.clone();
        let a = chain.contracts;
        let scheduler = role_key("scheduler");
        let aggregator_key = chain.users[4].clone();
        let mut members: HashSet<Address> = chain.keepers.iter().map(|k| k.address()).collect();
        members.insert(scheduler.address());
        members.insert(aggregator_key.address());
        let health_key = role_key("health");
        members.insert(health_key.address());
        let members = Arc::new(Members(members));
        let net = InProcessNetwork::new(NetConfig::default());
        let (stop_triggers, triggers_rx) = watch::channel(false);
        let (stop_all, all_rx) = watch::channel(false);
        let mut services = Vec::new();

        // Health first, so the first check-ins are counted.
        let health_node: Arc<dyn Transport> =
            Arc::new(net.join(health_key, members.clone(), clock.clone()));
        let health = Health::new(
            store.clone(),
            clock.clone(),
            health::Config {
                silence: SILENCE,
                ..health::Config::default()
            },
            Vec::new(),
        );
        let s = stopped(&all_rx);
        services.push(tokio::spawn(async move {
            log_end(
                "health",
                health.run(health_node, Duration::from_secs(1), s).await,
            );
        }));

        // The registrar records the keepers from the registry's `KeeperAdded` logs (and task
        // outcomes and points from the settlement logs); wait until it has seen them all.
        let config =
            registrar::Config::new(a.keeper_registry, a.task_hub).with_job_registry(a.job_registry);
        let registrar = Registrar::new(chain.chain_id, client.clone(), store.clone(), config)?;
        let service = RegistrarService::new(registrar, Duration::from_millis(500));
        let s = stopped(&all_rx);
        services.push(tokio::spawn(async move {
            log_end("registrar", service.run(s).await);
        }));
        wait_registered(store.as_ref(), chain).await?;

        // Keepers: performer, attester and check-in client each.
        for k in &chain.keepers {
            let node: Arc<dyn Transport> =
                Arc::new(net.join(k.signer.clone(), members.clone(), clock.clone()));
            let engine = Engine::new(client.clone(), k.signer.clone(), EngineConfig::default())
                .await
                .with_context(|| format!("keeper {} engine", k.address()))?;
            let performer =
                PerformerService::new(engine, node.clone(), clock.clone(), scheduler.address());
            let config = attester::Config::new(
                chain.chain_id,
                a.task_hub,
                a.keeper_registry,
                scheduler.address(),
            );
            let attester = AttesterService::new(
                Attester::new(client.clone(), config),
                node.clone(),
                k.signer.clone(),
                attester::ServiceConfig::default(),
            );
            let s = stopped(&all_rx);
            services.push(tokio::spawn(async move {
                performer.run(s).await;
            }));
            let s = stopped(&all_rx);
            services.push(tokio::spawn(async move {
                attester.run(s).await;
            }));
            let s = stopped(&all_rx);
            let config = checkin::Config {
                interval: CHECKIN_INTERVAL,
                ..checkin::Config::default()
            };
            services.push(tokio::spawn(checkin::run(node, config, s)));
        }

        // Aggregator.
        let agg_node: Arc<dyn Transport> =
            Arc::new(net.join(aggregator_key.clone(), members.clone(), clock.clone()));
        let config = aggregator::Config::new(
            a.keeper_registry,
            chain.chain_id,
            chain.endpoint.clone(),
            aggregator_key,
        );
        let aggregator = Arc::new(Aggregator::new(config, store.clone(), clock.clone())?);
        let service = AggregatorService::new(aggregator.clone(), agg_node, 1024)
            .with_trusted_scheduler(scheduler.address());
        let s = stopped(&all_rx);
        services.push(tokio::spawn(async move {
            log_end("aggregator", service.run(s).await);
        }));

        // Scheduler: the engines feed one dispatcher; the assigner publishes assignments.
        let sched_node: Arc<dyn Transport> =
            Arc::new(net.join(scheduler, members.clone(), clock.clone()));
        let (dispatcher, rx) = ChannelDispatcher::new(1024);
        let dispatcher = Arc::new(dispatcher);
        let mut config = assign::Config::new(a.task_hub);
        config.execution_timeout = execution_timeout;
        let assigner = Assigner::new(store.clone(), sched_node, clock.clone(), config);
        let s = stopped(&all_rx);
        services.push(tokio::spawn(async move {
            log_end(
                "assigner",
                assigner.run(rx, Duration::from_millis(200), s).await,
            );
        }));

        let mut triggers = Vec::new();
        let mut aborted = Vec::new();
        let mut time_engine = TimeEngine::new(store.clone(), time::Config::default());
        time_engine.load()?;
        let (mut service, _handle) =
            TimeService::new(time_engine, clock.clone(), dispatcher.clone());
        if baseline_polling {
            service = service.with_poll_interval(ORIGINAL_TIME_POLL);
        }
        let s = stopped(&triggers_rx);
        triggers.push(tokio::spawn(async move {
            log_end("time engine", service.run(s).await);
        }));

        let mut event_engine = EventEngine::new(
            chain.chain_id,
            client.clone(),
            store.clone(),
            clock.clone(),
            event::Config::default(),
        )?;
        event_engine.load()?;
        let event_poll = if baseline_polling {
            ORIGINAL_EVENT_POLL
        } else {
            Duration::from_millis(500)
        };
        let (mut service, _handle) =
            EventService::new(event_engine, dispatcher.clone(), event_poll);
        if !baseline_polling {
            match heads::subscribe(&chain.ws_endpoint).await {
                Ok((heads, task)) => {
                    service = service.with_new_heads(heads);
                    aborted.push(task);
                }
                Err(e) => tracing::warn!(error = %e, "no new-heads subscription; polling only"),
            }
        }
        let s = stopped(&triggers_rx);
        triggers.push(tokio::spawn(async move {
            log_end("event engine", service.run(s).await);
        }));

        let fetcher = DefaultFetcher::new(Duration::from_secs(5), 1 << 20)?
            .with_chain(chain.chain_id, client.clone());
        let mut condition_engine = ConditionEngine::new(
            store.clone(),
            clock.clone(),
            Arc::new(fetcher),
            condition::Config::default(),
        );
        condition_engine.load()?;
        let (mut service, _handle) = ConditionService::new(condition_engine, dispatcher);
        if baseline_polling {
            service = service.with_poll_interval(ORIGINAL_CONDITION_POLL);
        }
        let s = stopped(&triggers_rx);
        triggers.push(tokio::spawn(async move {
            log_end("condition engine", service.run(s).await);
        }));

        Ok(Self {
            stop_triggers,
            stop_all,
            triggers,
            services,
            aborted,
            aggregator,
        })
    }

    /// Stops the trigger engines: no new tasks from here on.
    pub(crate) async fn stop_triggers(&mut self) {
        let _ = self.stop_triggers.send(true);
        for t in self.triggers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        for t in self.aborted.drain(..) {
            t.abort();
        }
    }

    /// Stops everything.
    pub(crate) async fn stop(mut self) {
        self.stop_triggers().await;
        let _ = self.stop_all.send(true);
        for t in self.services.drain(..) {
            if let Err(e) = tokio::time::timeout(Duration::from_secs(10), t).await {
                tracing::warn!(error = %e, "a service did not stop in time");
            }
        }
    }
}
