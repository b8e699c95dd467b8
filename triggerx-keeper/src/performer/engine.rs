//! The engine: pre-flight, pricing, nonce allocation, signing and the first broadcast.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::TxEnvelope,
    eips::{BlockId, eip2718::Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Address, B256, Bytes};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use triggerx_core::{
    JobId, TaskId,
    chain::{self, ChainClient},
    types::Action,
};

use super::{
    Call, Config, Error, Fees, NonceManager, Released, RevertReason, fees::FeeOracle, monitor,
};

/// A confirmed transaction.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The nonce it used.
    pub nonce: u64,
    /// The hash of the version that was mined (the original or a replacement).
    pub tx_hash: B256,
    /// The block that includes it.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Wei per gas paid.
    pub effective_gas_price: u128,
    /// Success or revert.
    pub status: Status,
    /// How many replacements were signed for this nonce.
    pub replacements: u32,
    /// Every signed version of this nonce, oldest first: hash and fees.
    pub versions: Vec<(B256, Fees)>,
    /// The receipt.
    pub receipt: TransactionReceipt,
}

/// Whether a mined transaction succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Status 1.
    Success,
    /// Status 0, with the reason recovered by replaying the call at the parent block.
    Reverted {
        /// The decoded reason.
        reason: RevertReason,
    },
}

/// A transaction handed to the node; [`Pending::wait`] for its [`Outcome`].
///
/// The engine follows the transaction (receipts, re-broadcasts, replacements) in a background
/// task whether or not anyone waits.
#[derive(Debug)]
pub struct Pending {
    /// The nonce.
    pub nonce: u64,
    /// The hash of the first signed version.
    pub tx_hash: B256,
    rx: oneshot::Receiver<Result<Outcome, Error>>,
}

impl Pending {
    /// Waits until the transaction (or a replacement) is confirmed.
    pub async fn wait(self) -> Result<Outcome, Error> {
        self.rx.await.map_err(|_| Error::Stopped)?
    }
}

/// Counters of what the engine did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Signed versions broadcast for the first time.
    pub sent: u64,
    /// Replacements (same nonce, higher fees) signed.
    pub replacements: u64,
    /// Same-bytes re-sends after a timeout, dropped response or unknown hash.
    pub rebroadcasts: u64,
    /// Gap fillers accepted by the node (or sent without an answer).
    pub gap_fills: u64,
    /// Resynchronisations after "nonce too low".
    pub resyncs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) replacements: AtomicU64,
    pub(crate) rebroadcasts: AtomicU64,
    pub(crate) gap_fills: AtomicU64,
    pub(crate) resyncs: AtomicU64,
}

pub(crate) struct Inner {
    pub(crate) client: Arc<dyn ChainClient>,
    pub(crate) wallet: EthereumWallet,
    pub(crate) address: Address,
    pub(crate) chain_id: u64,
    pub(crate) config: Config,
    pub(crate) nonces: NonceManager,
    pub(crate) fees: FeeOracle,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) known_errors: Vec<alloy_json_abi::Error>,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("address", &self.address)
            .field("chain_id", &self.chain_id)
            .field("client", &self.client)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The performer's transaction engine for one keeper key on one chain. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// One signed version of a nonce's transaction.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub(crate) hash: B256,
    pub(crate) raw: Bytes,
    pub(crate) fees: Fees,
}

impl Engine {
    /// An engine sending from `signer`'s address through `client` (reads the chain id).
    pub async fn new(
        client: Arc<dyn ChainClient>,
        signer: PrivateKeySigner,
        config: Config,
    ) -> Result<Self, Error> {
        config.validate()?;
        let chain_id = rpc(&config, "eth_chainId", client.chain_id()).await?;
        let address = signer.address();
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                wallet: EthereumWallet::from(signer),
                address,
                chain_id,
                nonces: NonceManager::new(address),
                fees: FeeOracle::default(),
                permits: Arc::new(Semaphore::new(config.max_in_flight)),
                known_errors: Vec::new(),
                counters: Counters::default(),
                config,
            }),
        })
    }

    /// Custom errors to decode revert data with (e.g. the hub's and the targets' ABIs).
    /// Only takes effect on a fresh engine (before it is cloned).
    pub fn with_known_errors(
        mut self,
        errors: impl IntoIterator<Item = alloy_json_abi::Error>,
    ) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.known_errors.extend(errors);
        }
        self
    }

    /// The keeper's address.
    pub fn address(&self) -> Address {
        self.inner.address
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.inner.chain_id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The nonce manager.
    pub fn nonces(&self) -> &NonceManager {
        &self.inner.nonces
    }

    /// What the engine has done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            sent: c.sent.load(Ordering::Relaxed),
            replacements: c.replacements.load(Ordering::Relaxed),
            rebroadcasts: c.rebroadcasts.load(Ordering::Relaxed),
            gap_fills: c.gap_fills.load(Ordering::Relaxed),
            resyncs: c.resyncs.load(Ordering::Relaxed),
        }
    }

    /// Submits and waits for the outcome.
    pub async fn execute(&self, call: Call) -> Result<Outcome, Error> {
        self.submit(call).await?.wait().await
    }

    /// Executes task `task` of job `job` through the hub at `hub`.
    pub async fn execute_task(
        &self,
        hub: Address,
        task: TaskId,
        job: JobId,
        action: &Action,
    ) -> Result<Outcome, Error> {
        self.submit_task(hub, task, job, action).await?.wait().await
    }

    /// Submits task `task` of job `job` through the hub at `hub`.
    pub async fn submit_task(
        &self,
        hub: Address,
        task: TaskId,
        job: JobId,
        action: &Action,
    ) -> Result<Pending, Error> {
        if action.chain_id != self.inner.chain_id {
            return Err(Error::Unsupported(format!(
                "action is for chain {}, this engine sends on chain {}",
                action.chain_id, self.inner.chain_id
            )));
        }
        self.submit(Call::hub_execute(hub, task, job, action)?)
            .await
    }

    /// Simulates, prices, signs and broadcasts `call`; returns once the node has it (or, after
    /// a timeout, once it is safely recorded for re-sending).
    ///
    /// Waits while [`Config::max_in_flight`] transactions are unconfirmed. Fails without
    /// using a nonce when the simulation reverts ([`Error::Simulation`]) or the estimate is
    /// above the call's gas cap ([`Error::GasCapExceeded`]).
    pub async fn submit(&self, call: Call) -> Result<Pending, Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let permit = Arc::clone(&inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Stopped)?;
        let request = TransactionRequest::default()
            .with_from(inner.address)
            .with_to(call.to)
            .with_value(call.value)
            .with_input(call.input.clone());
        let at = if config.simulate_at_pending {
            BlockId::pending()
        } else {
            BlockId::latest()
        };
        let estimate = match rpc(
            config,
            "eth_estimateGas",
            inner.client.estimate_gas(&request, at),
        )
        .await
        {
            Ok(gas) => gas,
            Err(e) => {
                return Err(
                    match RevertReason::from_chain_error(&e, &inner.known_errors) {
                        Some(reason) => Error::Simulation { reason },
                        None => e.into(),
                    },
                );
            }
        };
        let mut gas = estimate.saturating_mul(100 + config.gas_margin_percent) / 100;
        if let Some(cap) = call.gas_cap {
            if estimate > cap {
                return Err(Error::GasCapExceeded { estimate, cap });
            }
            gas = gas.min(cap);
        }
        let request = request.with_gas_limit(gas);
        let fees = inner.fees.current(&*inner.client, config).await?;
        let mut tries = 0;
        loop {
            tries += 1;
            let nonce = inner.nonces.allocate(&*inner.client, config).await?;
            let signed = sign(inner, &request, nonce, fees).await?;
            let mut slot = monitor::Slot::new(nonce, request.clone(), signed.clone(), false);
            match send(inner, &signed.raw).await {
                Ok(()) => slot.known = true,
                Err(e) if e.is_retryable() => {
                    tracing::debug!(nonce, hash = %signed.hash, error = %e, "send unconfirmed");
                }
                Err(chain::Error::NonceTooLow { .. }) if is_known(inner, signed.hash).await => {
                    // A retried send of bytes the node had already accepted (and mined).
                    slot.known = true;
                }
                Err(chain::Error::NonceTooLow { .. }) if tries < 3 => {
                    // Someone else used this nonce: it is settled on chain, take a newer one.
                    inner.nonces.confirm(nonce).await;
                    inner.nonces.resync(&*inner.client, config).await?;
                    inner.counters.resyncs.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(chain::Error::NonceTooHigh { .. }) => {
                    fill_gaps(&self.inner, nonce).await;
                }
                Err(chain::Error::ReplacementUnderpriced { .. }) => slot.needs_bump = true,
                Err(chain::Error::FeeTooLow { .. }) => {
                    inner.fees.invalidate().await;
                    slot.needs_bump = true;
                }
                Err(e @ chain::Error::NonceTooLow { .. }) => {
                    // Used on chain by someone else, again: settled, never handed out again.
                    inner.nonces.confirm(nonce).await;
                    return Err(e.into());
                }
                Err(e) => {
                    if let Released::Gap(n) = inner.nonces.release(nonce).await {
                        spawn_filler(Arc::clone(&self.inner), n);
                    }
                    return Err(e.into());
                }
            }
            inner.counters.sent.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            let hash = signed.hash;
            tokio::spawn(monitor::run(
                Arc::clone(&self.inner),
                slot,
                Some(permit),
                tx,
            ));
            return Ok(Pending {
                nonce,
                tx_hash: hash,
                rx,
            });
        }
    }
}

/// Signs `request` with `nonce` and `fees`.
pub(crate) async fn sign(
    inner: &Inner,
    request: &TransactionRequest,
    nonce: u64,
    fees: Fees,
) -> Result<Signed, Error> {
    let tx = request
        .clone()
        .with_nonce(nonce)
        .with_chain_id(inner.chain_id)
        .with_max_fee_per_gas(fees.max_fee_per_gas)
        .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
    let envelope: TxEnvelope = tx
        .build(&inner.wallet)
        .await
        .map_err(|e| Error::Sign(e.to_string()))?;
    Ok(Signed {
        hash: *envelope.tx_hash(),
        raw: envelope.encoded_2718().into(),
        fees,
    })
}

/// Broadcasts signed bytes; "already known" counts as accepted.
pub(crate) async fn send(inner: &Inner, raw: &[u8]) -> Result<(), chain::Error> {
    match rpc(
        &inner.config,
        "eth_sendRawTransaction",
        inner.client.send_raw_transaction(raw),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.root(), chain::Error::AlreadyKnown) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether the node knows the transaction `hash` (pending or mined). Lookup failures count as
/// known: the monitor then finds out by receipts and re-sends the same bytes if needed, which
/// can never cost a second nonce.
pub(crate) async fn is_known(inner: &Inner, hash: B256) -> bool {
    match rpc(
        &inner.config,
        "eth_getTransactionByHash",
        inner.client.transaction_by_hash(hash),
    )
    .await
    {
        Ok(found) => found.is_some(),
        Err(_) => true,
    }
}

/// Runs one chain call with the engine's RPC timeout.
pub(crate) async fn rpc<T>(
    config: &Config,
    method: &'static str,
    fut: impl std::future::Future<Output = chain::Result<T>>,
) -> chain::Result<T> {
    tokio::time::timeout(config.rpc_timeout, fut)
        .await
        .map_err(|_| chain::Error::Timeout {
            method,
            after: config.rpc_timeout,
        })?
}

/// Fills every gap below `below` with a zero-value self-transfer.
pub(crate) async fn fill_gaps(inner: &Arc<Inner>, below: u64) {
    match inner
        .nonces
        .gaps(&*inner.client, &inner.config, below)
        .await
    {
        Ok(gaps) => {
            for n in gaps {
                spawn_filler(Arc::clone(inner), n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not compute nonce gaps"),
    }
}

/// Sends a zero-value self-transfer at `nonce` and follows it like any transaction.
pub(crate) fn spawn_filler(inner: Arc<Inner>, nonce: u64) {
    tokio::spawn(async move {
        inner.nonces.claim(nonce).await;
        let request = TransactionRequest::default()
            .with_from(inner.address)
            .with_to(inner.address)
            .with_gas_limit(21_000);
        let fees = match inner.fees.current(&*inner.client, &inner.config).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(nonce, error = %e, "gap filler: no fee estimate");
                return;
            }
        };
        let signed = match sign(&inner, &request, nonce, fees).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(nonce, error = %e, "gap filler: signing failed");
                return;
            }
        };
        let mut slot = monitor::Slot::new(nonce, request, signed.clone(), true);
        match send(&inner, &signed.raw).await {
            Ok(()) => slot.known = true,
            Err(chain::Error::ReplacementUnderpriced { .. } | chain::Error::NonceTooLow { .. }) => {
                // The node holds (or has mined) a transaction with this nonce: not a gap, and
                // a filler must never replace it.
                inner.nonces.confirm(nonce).await;
                return;
            }
            Err(e) => tracing::debug!(nonce, error = %e, "gap filler send unconfirmed"),
        }
        inner.counters.gap_fills.fetch_add(1, Ordering::Relaxed);
        let (tx, _rx) = oneshot::channel();
        monitor::run(inner, slot, None, tx).await;
    });
}

/// Elapsed-time helper that never panics on clock oddities.
pub(crate) fn since(at: Instant) -> Duration {
    Instant::now().saturating_duration_since(at)
}

pub(crate) type Permit = Option<OwnedSemaphorePermit>;
