//! The nonce manager: hands out consecutive nonces to transactions in flight at once.

use std::collections::BTreeSet;

use alloy::eips::BlockId;
use alloy_primitives::Address;
use tokio::sync::Mutex;
use triggerx_core::chain::ChainClient;

use super::{Config, Error};

/// Consecutive nonces for one account, without waiting for receipts.
///
/// The first allocation (and every [`NonceManager::resync`]) reads the account's *pending*
/// transaction count, so after a restart nonces continue after everything the node already
/// holds. Each allocated nonce is *live* until its transaction is confirmed or the nonce is
/// released; a released nonce that is not the last one is a gap the engine fills.
#[derive(Debug)]
pub struct NonceManager {
    address: Address,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: Option<u64>,
    live: BTreeSet<u64>,
}

/// What releasing an unused nonce left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// It was the newest nonce: the next allocation reuses it.
    Reusable,
    /// Later nonces are in flight: this one must be filled or they never mine.
    Gap(u64),
}

impl NonceManager {
    /// A manager for `address`, synchronised from the chain on first use.
    pub fn new(address: Address) -> Self {
        Self {
            address,
            state: Mutex::new(State::default()),
        }
    }

    /// The next nonce, reading the pending count from the chain when not yet synchronised.
    pub async fn allocate(&self, client: &dyn ChainClient, config: &Config) -> Result<u64, Error> {
        let mut state = self.state.lock().await;
        let next = match state.next {
            Some(n) => n,
            None => self.pending_count(client, config).await?,
        };
        state.next = Some(next + 1);
        state.live.insert(next);
        Ok(next)
    }

    /// Marks `nonce` as settled (its transaction, or a replacement, was confirmed).
    pub async fn confirm(&self, nonce: u64) {
        self.state.lock().await.live.remove(&nonce);
    }

    /// Gives back a nonce whose transaction was never accepted by the node.
    pub async fn release(&self, nonce: u64) -> Released {
        let mut state = self.state.lock().await;
        if state.next == Some(nonce + 1) {
            state.live.remove(&nonce);
            state.next = Some(nonce);
            Released::Reusable
        } else {
            Released::Gap(nonce)
        }
    }

    /// Moves the next nonce up to the chain's pending count (after "nonce too low": someone
    /// else used nonces). Never moves it down, so nonces in flight are never handed out twice.
    pub async fn resync(&self, client: &dyn ChainClient, config: &Config) -> Result<u64, Error> {
        let chain = self.pending_count(client, config).await?;
        let mut state = self.state.lock().await;
        let next = state.next.map_or(chain, |n| n.max(chain));
        state.next = Some(next);
        Ok(next)
    }

    /// Nonces below `below` and at or above the chain's *latest* count that are not in flight:
    /// gaps that block later transactions (after "nonce too high").
    pub async fn gaps(
        &self,
        client: &dyn ChainClient,
        config: &Config,
        below: u64,
    ) -> Result<Vec<u64>, Error> {
        let mined = count(client, config, self.address, BlockId::latest()).await?;
        let state = self.state.lock().await;
        Ok((mined..below).filter(|n| !state.live.contains(n)).collect())
    }

    /// Marks `nonce` live again (a gap about to be filled).
    pub async fn claim(&self, nonce: u64) {
        self.state.lock().await.live.insert(nonce);
    }

    /// How many nonces are in flight.
    pub async fn in_flight(&self) -> usize {
        self.state.lock().await.live.len()
    }

    async fn pending_count(&self, client: &dyn ChainClient, config: &Config) -> Result<u64, Error> {
        count(client, config, self.address, BlockId::pending()).await
    }
}

pub(crate) async fn count(
    client: &dyn ChainClient,
    config: &Config,
    address: Address,
    block: BlockId,
) -> Result<u64, Error> {
    tokio::time::timeout(config.rpc_timeout, client.transaction_count(address, block))
        .await
        .map_err(|_| Error::timeout("eth_getTransactionCount", config.rpc_timeout))?
        .map_err(Error::from)
}
