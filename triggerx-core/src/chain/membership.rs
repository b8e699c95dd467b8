//! Network membership from the chain: the keepers registered in the `KeeperRegistry` plus a
//! fixed set of service addresses (scheduler, aggregator, health, …), as a
//! [`Membership`] the transports check every sender against.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
    time::Duration,
};

use alloy_primitives::Address;

use super::{ChainClient, Result, contracts::KeeperRegistry, view};
use crate::transport::Membership;

/// Members = keepers registered in the `KeeperRegistry` on-chain + a fixed set of service
/// addresses. Starts with only the services; [`refresh`](Self::refresh) reads the registry's
/// `keepers()` view (the current list, so a removed keeper stops being a member) and
/// [`spawn_refresh`](Self::spawn_refresh) keeps doing so.
#[derive(Debug)]
pub struct RegistryMembership {
    client: Arc<dyn ChainClient>,
    registry: Address,
    services: HashSet<Address>,
    keepers: RwLock<HashSet<Address>>,
}

impl RegistryMembership {
    /// Membership of the keepers in the registry at `registry` and of `services`.
    pub fn new(
        client: Arc<dyn ChainClient>,
        registry: Address,
        services: HashSet<Address>,
    ) -> Self {
        Self {
            client,
            registry,
            services,
            keepers: RwLock::new(HashSet::new()),
        }
    }

    /// Re-reads the registered keepers at the latest block; returns the member count (keepers
    /// and services, each address once). On error the previous keepers stay members.
    pub async fn refresh(&self) -> Result<usize> {
        let keepers = view(
            self.client.as_ref(),
            self.registry,
            KeeperRegistry::keepersCall {},
        )
        .await?;
        let keepers: HashSet<Address> = keepers.into_iter().collect();
        let count = keepers.union(&self.services).count();
        *self.keepers.write().expect("members lock") = keepers;
        Ok(count)
    }

    /// Refreshes now and then every `every` until the handle is aborted; after a failure the
    /// previous members stay and the next tick tries again.
    pub fn spawn_refresh(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let _ = me.refresh().await;
            }
        })
    }

    /// The registered keepers as of the last refresh.
    pub fn keepers(&self) -> HashSet<Address> {
        self.keepers.read().expect("members lock").clone()
    }
}

impl Membership for RegistryMembership {
    fn is_member(&self, address: Address) -> bool {
        self.services.contains(&address)
            || self
                .keepers
                .read()
                .expect("members lock")
                .contains(&address)
    }
}
