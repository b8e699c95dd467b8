//! The aggregator's view of the `KeeperRegistry`: voting power (cached for a short TTL),
//! settlement state, the settling event, and `submitVerdict` sent from the submitter's wallet.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use alloy::{
    contract::Error as ContractError,
    network::{EthereumWallet, TransactionResponse},
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, PendingTransactionError, Provider, ProviderBuilder, WatchTxError},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        self,
        contracts::KeeperRegistry::{self, KeeperRegistryErrors, KeeperRegistryInstance},
    },
};

use super::{Config, Error, Result};

/// How a task stands on the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnChain {
    /// Not settled.
    Open,
    /// Settled; the settling event, when it was found within the lookback.
    Settled {
        approve: bool,
        report_digest: Option<B256>,
        tx_hash: Option<B256>,
        /// Who sent the settling transaction (so a verdict of ours whose receipt was lost is
        /// still known as ours).
        sender: Option<Address>,
    },
}

/// What submitting a verdict led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// Our transaction settled the task.
    Ours { tx_hash: B256 },
    /// Someone else settled it first.
    Other(OnChain),
}

/// Maps a contract-call error to the chain error kinds (with their retry semantics).
pub(crate) fn chain_error(e: ContractError, method: &'static str, after: Duration) -> chain::Error {
    match e {
        ContractError::TransportError(rpc) => rpc.into(),
        ContractError::PendingTransactionError(PendingTransactionError::TransportError(rpc)) => {
            rpc.into()
        }
        ContractError::PendingTransactionError(PendingTransactionError::TxWatcher(
            WatchTxError::Timeout,
        )) => chain::Error::Timeout { method, after },
        ContractError::AbiError(e) => chain::Error::InvalidResponse {
            message: format!("{method}: {e}"),
        },
        other => chain::Error::Local {
            message: format!("{method}: {other}"),
        },
    }
}

#[derive(Debug, Default)]
struct PowerCache {
    keepers: HashMap<Address, (U256, Timestamp)>,
    total: Option<(U256, Timestamp)>,
}

/// Registry reads and verdict submission.
#[derive(Debug)]
pub(crate) struct Registry {
    registry: KeeperRegistryInstance<DynProvider>,
    provider: DynProvider,
    ttl_ms: i64,
    max_cached: usize,
    receipt_timeout: Duration,
    lookback: u64,
    cache: Mutex<PowerCache>,
    /// Held while a transaction is being signed and broadcast, so that concurrent settlements
    /// read distinct pending nonces.
    send_lock: tokio::sync::Mutex<()>,
}

impl Registry {
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let url = config
            .rpc_url
            .parse()
            .map_err(|e| Error::Config(format!("rpc url {:?}: {e}", config.rpc_url)))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .with_chain_id(config.chain_id)
            .wallet(EthereumWallet::from(config.signer.clone()))
            .connect_http(url)
            .erased();
        Ok(Self {
            registry: KeeperRegistry::new(config.registry, provider.clone()),
            provider,
            ttl_ms: i64::try_from(config.power_ttl.as_millis()).unwrap_or(i64::MAX),
            max_cached: config.max_cached_keepers.max(1),
            receipt_timeout: config.receipt_timeout,
            lookback: config.settlement_lookback_blocks,
            cache: Mutex::new(PowerCache::default()),
            send_lock: tokio::sync::Mutex::new(()),
        })
    }

    fn fresh(&self, at: Timestamp, now: Timestamp) -> bool {
        now.as_millis().saturating_sub(at.as_millis()) < self.ttl_ms
    }

    /// A keeper's voting power (zero when not registered), cached for the TTL.
    pub(crate) async fn voting_power(&self, keeper: Address, now: Timestamp) -> Result<U256> {
        if let Some(&(p, at)) = self.lock().keepers.get(&keeper)
            && self.fresh(at, now)
        {
            return Ok(p);
        }
        let t = self.receipt_timeout;
        let power = self
            .registry
            .votingPower(keeper)
            .call()
            .await
            .map_err(|e| chain_error(e, "votingPower", t))?;
        let mut cache = self.lock();
        if cache.keepers.len() >= self.max_cached {
            let ttl = self.ttl_ms;
            cache
                .keepers
                .retain(|_, (_, at)| now.as_millis().saturating_sub(at.as_millis()) < ttl);
            if cache.keepers.len() >= self.max_cached {
                cache.keepers.clear();
            }
        }
        cache.keepers.insert(keeper, (power, now));
        Ok(power)
    }

    /// The registry's total voting power, cached for the TTL.
    pub(crate) async fn total_power(&self, now: Timestamp) -> Result<U256> {
        if let Some((p, at)) = self.lock().total
            && self.fresh(at, now)
        {
            return Ok(p);
        }
        let t = self.receipt_timeout;
        let total = self
            .registry
            .totalVotingPower()
            .call()
            .await
            .map_err(|e| chain_error(e, "totalVotingPower", t))?;
        self.lock().total = Some((total, now));
        Ok(total)
    }

    /// Forgets every cached power (after the contract disagreed with our count).
    pub(crate) fn invalidate(&self) {
        *self.lock() = PowerCache::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PowerCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How the task stands on-chain; for a settled task, looks up the settling event.
    pub(crate) async fn settlement(&self, task: TaskId) -> Result<OnChain> {
        let t = self.receipt_timeout;
        let state = self
            .registry
            .settlement(task.0)
            .call()
            .await
            .map_err(|e| chain_error(e, "settlement", t))?;
        let approve = match state {
            0 => return Ok(OnChain::Open),
            1 => true,
            _ => false,
        };
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(chain::Error::from)?;
        let filter = Filter::new()
            .address(*self.registry.address())
            .event_signature(vec![
                KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
                KeeperRegistry::TaskRejected::SIGNATURE_HASH,
            ])
            .topic1(task.0)
            .from_block(head.saturating_sub(self.lookback))
            .to_block(head);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(chain::Error::from)?;
        let found = logs.iter().find_map(|log| {
            let digest = if let Ok(e) = log.log_decode::<KeeperRegistry::TaskSubmitted>() {
                e.inner.data.reportDigest
            } else {
                log.log_decode::<KeeperRegistry::TaskRejected>()
                    .ok()?
                    .inner
                    .data
                    .reportDigest
            };
            Some((digest, log.transaction_hash))
        });
        let tx_hash = found.and_then(|(_, h)| h);
        let sender = match tx_hash {
            Some(h) => self
                .provider
                .get_transaction_by_hash(h)
                .await
                .map_err(chain::Error::from)?
                .map(|tx| tx.from()),
            None => None,
        };
        Ok(OnChain::Settled {
            approve,
            report_digest: found.map(|(d, _)| d),
            tx_hash,
            sender,
        })
    }

    /// Sends `submitVerdict` and waits for its receipt. A verdict that loses the race to
    /// another submitter (`TaskAlreadySettled`, or a reverted receipt on a settled task) comes
    /// back as [`Submitted::Other`].
    pub(crate) async fn submit(
        &self,
        task: TaskId,
        job: JobId,
        performer: Address,
        report_digest: B256,
        approve: bool,
        signatures: Vec<Bytes>,
    ) -> Result<Submitted> {
        let t = self.receipt_timeout;
        let call = self.registry.submitVerdict(
            task.0,
            job.0,
            performer,
            report_digest,
            approve,
            signatures,
        );
        let sent = {
            let _guard = self.send_lock.lock().await;
            call.send().await
        };
        let pending = match sent {
            Ok(p) => p,
            Err(e) => return self.refused(task, e).await,
        };
        let receipt = pending
            .with_timeout(Some(t))
            .get_receipt()
            .await
            .map_err(|e| chain_error(e.into(), "eth_getTransactionReceipt", t))?;
        if receipt.status() {
            return Ok(Submitted::Ours {
                tx_hash: receipt.transaction_hash,
            });
        }
        match self.settlement(task).await? {
            OnChain::Open => Err(Error::Reverted {
                task,
                tx_hash: receipt.transaction_hash,
            }),
            settled => Ok(Submitted::Other(settled)),
        }
    }

    /// Classifies a failed send (usually a revert found by gas estimation).
    async fn refused(&self, task: TaskId, e: ContractError) -> Result<Submitted> {
        match e.as_decoded_interface_error::<KeeperRegistryErrors>() {
            Some(KeeperRegistryErrors::TaskAlreadySettled(_)) => {
                return Ok(Submitted::Other(self.settlement(task).await?));
            }
            Some(decoded) => {
                return Err(Error::Refused {
                    task,
                    reason: format!("{decoded:?}"),
                });
            }
            None => {}
        }
        let err = chain_error(e, "submitVerdict", self.receipt_timeout);
        // A revert we could not decode may still be a lost race.
        if matches!(err.root(), chain::Error::Reverted { .. })
            && let settled @ OnChain::Settled { .. } = self.settlement(task).await?
        {
            return Ok(Submitted::Other(settled));
        }
        Err(err.into())
    }
}
