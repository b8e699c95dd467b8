//! The keeper role: a performer executing its assignments, an attester checking the others'
//! reports against the chain, and a check-in client, all under one key.

use std::sync::Arc;

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use anyhow::Context;
use triggerx_core::{chain::ChainClient, clock::Clock, transport::Transport};
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

/// A running keeper.
#[derive(Debug)]
pub(crate) struct KeeperRole {
    /// The keeper's address.
    pub(crate) address: Address,
    /// Its performer, attester and check-in tasks.
    pub(crate) tasks: Tasks,
}

impl KeeperRole {
    /// Ends the keeper at once, as a crash would: no goodbye, and what it sent stays sent.
    pub(crate) fn kill(&mut self) {
        self.tasks.abort();
    }
}

/// Starts a keeper signing with `signer` on `transport`.
pub(crate) async fn start(
    client: Arc<dyn ChainClient>,
    signer: PrivateKeySigner,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    stop: &Stop,
) -> anyhow::Result<KeeperRole> {
    let address = signer.address();
    let engine = Engine::new(client.clone(), signer.clone(), settings.engine)
        .await
        .with_context(|| format!("keeper {address} engine"))?;
    let performer = PerformerService::new(engine, transport.clone(), clock, settings.scheduler);
    let config = attester::Config::new(
        settings.chain_id,
        settings.task_hub,
        settings.keeper_registry,
        settings.scheduler,
    );
    let attester = AttesterService::new(
        Attester::new(client, config),
        transport.clone(),
        signer,
        settings.attester,
    );
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
    Ok(KeeperRole { address, tasks })
}
