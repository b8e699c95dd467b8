//! The keeper role: a performer executing its assignments, an attester checking the others'
//! reports against the chain, and a check-in client, all under one key.

use std::{sync::Arc, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use anyhow::Context;
use triggerx_core::{
    chain::{ChainClient, SpecRegistry},
    clock::Clock,
    transport::Transport,
};
use triggerx_keeper::{
    attester::{self, Attester, AttesterService},
    checkin,
    performer::{self, Engine, PerformerService},
};

use super::{Stop, Tasks};

/// What a keeper needs besides its transport and key.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The chain the keeper executes on.
    pub(crate) chain_id: u64,
    /// The TaskHub contract.
    pub(crate) task_hub: Address,
    /// The KeeperRegistry contract.
    pub(crate) keeper_registry: Address,
    /// The scheduler whose assignments are trusted.
    pub(crate) scheduler: Address,
    /// Transaction engine settings.
    pub(crate) engine: performer::Config,
    /// Attester buffering and retries.
    pub(crate) attester: attester::ServiceConfig,
    /// Check-in settings.
    pub(crate) checkin: checkin::Config,
}

/// What the attester checks beyond what [`Settings`] names: the slack it gives an execution and
/// whether jobs must match their registered spec hash (see `attester::Config`); the defaults
/// are the library's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    /// Time tasks: due instant → execution block timestamp.
    pub(crate) time: Duration,
    /// Event tasks: confirming block → execution.
    pub(crate) event: Duration,
    /// Condition tasks: sample → execution.
    pub(crate) condition: Duration,
    /// Accepted clock difference between the scheduler and the chain.
    pub(crate) clock_skew: Duration,
    /// Require the job to match the spec hash its owner registered in the `JobRegistry`.
    pub(crate) require_spec_hash: bool,
}

impl Default for Checks {
    fn default() -> Self {
        let c = attester::Config::default();
        Self {
            time: c.time_window,
            event: c.event_window,
            condition: c.condition_window,
            clock_skew: c.clock_skew,
            require_spec_hash: c.require_spec_hash,
        }
    }
}

/// Read-only handles on a running keeper's counters.
#[derive(Debug, Clone)]
pub(crate) struct Monitors {
    /// The transaction engine (a clone sharing its counters).
    pub(crate) engine: Engine,
    /// The performer service.
    pub(crate) performer: performer::Monitor,
    /// The attester service.
    pub(crate) attester: attester::Monitor,
}

/// A running keeper.
#[derive(Debug)]
pub(crate) struct KeeperRole {
    /// The keeper's address.
    pub(crate) address: Address,
    /// Its performer, attester and check-in tasks.
    pub(crate) tasks: Tasks,
    /// Its counters.
    pub(crate) monitors: Monitors,
}

impl KeeperRole {
    /// Ends the keeper at once, as a crash would: no goodbye, and what it sent stays sent.
    pub(crate) fn kill(&mut self) {
        self.tasks.abort();
    }
}

/// Starts a keeper signing with `signer` on `transport`, with the attester's default checks.
pub(crate) async fn start(
    client: Arc<dyn ChainClient>,
    signer: PrivateKeySigner,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    stop: &Stop,
) -> anyhow::Result<KeeperRole> {
    start_with_checks(
        client,
        signer,
        transport,
        clock,
        settings,
        Checks::default(),
        stop,
    )
    .await
}

/// Starts a keeper signing with `signer` on `transport`, its attester checking `checks`.
pub(crate) async fn start_with_checks(
    client: Arc<dyn ChainClient>,
    signer: PrivateKeySigner,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    checks: Checks,
    stop: &Stop,
) -> anyhow::Result<KeeperRole> {
    let address = signer.address();
    let engine = Engine::new(client.clone(), signer.clone(), settings.engine)
        .await
        .with_context(|| format!("keeper {address} engine"))?;
    let mut performer =
        PerformerService::new(engine.clone(), transport.clone(), clock, settings.scheduler);
    if checks.require_spec_hash {
        // The performer refuses what the attesters would reject, before paying gas for it.
        let specs = Arc::new(SpecRegistry::new(client.clone(), settings.task_hub));
        performer = performer.with_spec_check(specs);
    }
    let mut config = attester::Config::new(
        settings.chain_id,
        settings.task_hub,
        settings.keeper_registry,
        settings.scheduler,
    );
    config.time_window = checks.time;
    config.event_window = checks.event;
    config.condition_window = checks.condition;
    config.clock_skew = checks.clock_skew;
    config.require_spec_hash = checks.require_spec_hash;
    let attester = AttesterService::new(
        Attester::new(client, config),
        transport.clone(),
        signer,
        settings.attester,
    );
    let monitors = Monitors {
        engine,
        performer: performer.monitor(),
        attester: attester.monitor(),
    };
    let mut tasks = Tasks::default();
    let s = stop.wait();
    tasks.push(
        "performer",
        tokio::spawn(async move {
            performer.run(s).await;
        }),
    );
    let s = stop.wait();
    tasks.push(
        "attester",
        tokio::spawn(async move {
            attester.run(s).await;
        }),
    );
    tasks.push(
        "check-in",
        tokio::spawn(checkin::run(transport, settings.checkin, stop.wait())),
    );
    Ok(KeeperRole {
        address,
        tasks,
        monitors,
    })
}
