//! Wiring: every network role in one process over the in-process transport — the trigger
//! engines feed a dispatcher, the assigner hands tasks to performers, attesters check their
//! reports, the aggregator settles on-chain, the registrar applies the registry's logs to the
//! store, and health marks keepers online from check-ins.

use std::{collections::HashSet, sync::Arc, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use anyhow::bail;
use triggerx_core::{
    clock::{Clock, SystemClock},
    store::{KeeperFilter, Store},
    transport::{
        Members, Transport,
        inprocess::{Config as NetConfig, InProcessNetwork},
    },
};
use triggerx_keeper::{attester, checkin, performer::Config as EngineConfig};
use triggerx_scheduler::{aggregator, aggregator::Aggregator, health, registrar};

use super::chain::{Chain, role_key};
use crate::roles::{
    self, StopSender, Tasks,
    keeper::{self, KeeperRole},
    scheduler::{self, Engines},
};

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

/// The running services, in two groups stopped in order: triggers first, then the rest.
#[derive(Debug)]
pub(crate) struct Network {
    stop_triggers: StopSender,
    stop_all: StopSender,
    triggers: Tasks,
    services: Tasks,
    /// Tasks that only end by being aborted (the new-heads subscription).
    aborted: Tasks,
    /// The keepers, each killable on its own.
    keepers: Vec<KeeperRole>,
    /// The scheduler's engine handles, for jobs added while the network runs.
    #[expect(dead_code, reason = "the job watcher takes these (landing next)")]
    pub(crate) engines: Engines,
    /// The aggregator, for its counters.
    pub(crate) aggregator: Arc<Aggregator>,
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
        let scheduler_key = role_key("scheduler");
        let aggregator_key = chain.users[4].clone();
        let health_key = role_key("health");
        let mut members: HashSet<Address> = chain.keepers.iter().map(|k| k.address()).collect();
        members.extend([
            scheduler_key.address(),
            aggregator_key.address(),
            health_key.address(),
        ]);
        let members = Arc::new(Members(members));
        let net = InProcessNetwork::new(NetConfig::default());
        let join = |key: PrivateKeySigner| -> Arc<dyn Transport> {
            Arc::new(net.join(key, members.clone(), clock.clone()))
        };
        let (stop_triggers, triggers_rx) = StopSender::new();
        let (stop_all, all_rx) = StopSender::new();
        let mut services = Tasks::default();

        // Health first, so the first check-ins are counted.
        let config = health::Config {
            silence: SILENCE,
            ..health::Config::default()
        };
        services.extend(roles::health::start(
            store.clone(),
            join(health_key),
            clock.clone(),
            config,
            Vec::new(),
            &all_rx,
        ));

        // The registrar records the keepers from the registry's `KeeperAdded` logs (and task
        // outcomes and points from the settlement logs); wait until it has seen them all.
        let config =
            registrar::Config::new(a.keeper_registry, a.task_hub).with_job_registry(a.job_registry);
        services.extend(roles::registrar::start(
            chain.chain_id,
            client.clone(),
            store.clone(),
            config,
            Duration::from_millis(500),
            &all_rx,
        )?);
        wait_registered(store.as_ref(), chain).await?;

        let settings = keeper::Settings {
            chain_id: chain.chain_id,
            task_hub: a.task_hub,
            keeper_registry: a.keeper_registry,
            scheduler: scheduler_key.address(),
            engine: EngineConfig::default(),
            attester: attester::ServiceConfig::default(),
            checkin: checkin::Config {
                interval: CHECKIN_INTERVAL,
                ..checkin::Config::default()
            },
        };
        let mut keepers = Vec::new();
        for k in &chain.keepers {
            keepers.push(
                keeper::start(
                    client.clone(),
                    k.signer.clone(),
                    join(k.signer.clone()),
                    clock.clone(),
                    settings.clone(),
                    &all_rx,
                )
                .await?,
            );
        }

        let config = aggregator::Config::new(
            a.keeper_registry,
            chain.chain_id,
            chain.endpoint.clone(),
            aggregator_key.clone(),
        );
        let role = roles::aggregator::start(
            config,
            store.clone(),
            clock.clone(),
            join(aggregator_key),
            scheduler_key.address(),
            &all_rx,
        )?;
        let aggregator = role.aggregator;
        services.extend(role.tasks);

        let mut settings = scheduler::Settings::new(chain.chain_id, a.task_hub);
        settings.execution_timeout = execution_timeout;
        if baseline_polling {
            settings.time_poll = Some(ORIGINAL_TIME_POLL);
            settings.event_poll = ORIGINAL_EVENT_POLL;
            settings.condition_poll = Some(ORIGINAL_CONDITION_POLL);
        } else {
            settings.ws_endpoint = Some(chain.ws_endpoint.clone());
        }
        let role = scheduler::start(
            client,
            store,
            join(scheduler_key),
            clock,
            settings,
            &triggers_rx,
            &all_rx,
        )
        .await?;
        services.extend(role.services);

        Ok(Self {
            stop_triggers,
            stop_all,
            triggers: role.triggers,
            services,
            aborted: role.aborted,
            keepers,
            engines: role.engines,
            aggregator,
        })
    }

    /// Kills keeper `index` at once, as a crash would; `None` when there is no such keeper.
    pub(crate) fn kill_keeper(&mut self, index: usize) -> Option<Address> {
        let k = self.keepers.get_mut(index)?;
        k.kill();
        Some(k.address)
    }

    /// Stops the trigger engines: no new tasks from here on.
    pub(crate) async fn stop_triggers(&mut self) {
        self.stop_triggers.fire();
        self.triggers.join(Duration::from_secs(10)).await;
        self.aborted.abort();
    }

    /// Stops everything.
    pub(crate) async fn stop(mut self) {
        self.stop_triggers().await;
        self.stop_all.fire();
        self.services.join(Duration::from_secs(10)).await;
        for k in &mut self.keepers {
            k.tasks.join(Duration::from_secs(10)).await;
        }
    }
}
