//! A [`ChainClient`] over several endpoints of one chain, with per-attempt timeouts, failover
//! on retryable errors only, and backoff between rounds.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    rpc::types::{FeeHistory, Filter, Log, Transaction, TransactionReceipt, TransactionRequest},
};
use alloy_primitives::{Address, B256, Bytes};
use async_trait::async_trait;

use super::{AlloyClient, BlockHeader, ChainClient, Error, Result};

/// How a [`FailoverClient`] retries.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverConfig {
    /// Time allowed for one attempt on one endpoint. Default 5 s.
    pub attempt_timeout: Duration,
    /// How many times every endpoint is tried before giving up. Default 3.
    pub rounds: u32,
    /// Pause before the second round; doubled each further round. Default 50 ms.
    pub initial_backoff: Duration,
    /// Upper bound on the pause between rounds. Default 2 s.
    pub max_backoff: Duration,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(5),
            rounds: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl FailoverConfig {
    /// Sets [`FailoverConfig::attempt_timeout`].
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets [`FailoverConfig::rounds`] (at least 1).
    pub fn with_rounds(mut self, rounds: u32) -> Self {
        self.rounds = rounds.max(1);
        self
    }

    fn backoff(&self, round: u32) -> Duration {
        let factor = 1u32
            .checked_shl(round.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Endpoints of one chain tried in order.
///
/// Each call starts at the endpoint that last answered, gives each attempt
/// [`FailoverConfig::attempt_timeout`], and moves to the next endpoint only when the error
/// [`is_retryable`](Error::is_retryable) (transport, timeout, 5xx, 429, undecodable
/// response). A node's verdict on the request — a revert, a nonce conflict, insufficient funds —
/// is returned at once without trying other endpoints. After every endpoint failed in every
/// round the call fails with [`Error::Exhausted`] holding the last error.
///
/// A failed-over `send_raw_transaction` sends the same signed bytes again, which is safe: the
/// node answers with the hash or with "already known".
#[derive(Clone)]
pub struct FailoverClient {
    endpoints: Arc<[Arc<dyn ChainClient>]>,
    config: FailoverConfig,
    preferred: Arc<AtomicUsize>,
}

impl fmt::Debug for FailoverClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailoverClient")
            .field("endpoints", &self.endpoints)
            .field("config", &self.config)
            .field("preferred", &self.preferred.load(Ordering::Relaxed))
            .finish()
    }
}

impl FailoverClient {
    /// A client over the given endpoints, tried in this order.
    ///
    /// # Errors
    /// [`Error::Local`] when `endpoints` is empty.
    pub fn new(endpoints: Vec<Arc<dyn ChainClient>>, config: FailoverConfig) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(Error::Local {
                message: "a failover client needs an endpoint".into(),
            });
        }
        Ok(Self {
            endpoints: endpoints.into(),
            config,
            preferred: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// A client over HTTP endpoints given by URL.
    pub fn http<S: AsRef<str>>(urls: &[S], config: FailoverConfig) -> Result<Self> {
        let endpoints = urls
            .iter()
            .map(|u| AlloyClient::http(u.as_ref()).map(|c| Arc::new(c) as Arc<dyn ChainClient>))
            .collect::<Result<Vec<_>>>()?;
        Self::new(endpoints, config)
    }

    /// The retry configuration.
    pub fn config(&self) -> &FailoverConfig {
        &self.config
    }

    /// The index of the endpoint the next call starts with.
    pub fn preferred(&self) -> usize {
        self.preferred.load(Ordering::Relaxed)
    }

    fn order(&self) -> impl Iterator<Item = (usize, &Arc<dyn ChainClient>)> {
        let n = self.endpoints.len();
        let start = self.preferred() % n;
        (0..n).map(move |k| {
            let i = (start + k) % n;
            (i, &self.endpoints[i])
        })
    }
}

/// Runs `$call` (an expression over `$c: &dyn ChainClient`) with failover; returns from the
/// enclosing async fn.
macro_rules! failover {
    ($self:ident, $method:literal, |$c:ident| $call:expr) => {{
        let mut attempts = 0u32;
        let mut last: Option<Error> = None;
        for round in 0..$self.config.rounds.max(1) {
            if round > 0 {
                let mut pause = $self.config.backoff(round);
                if let Some(Error::RateLimited {
                    retry_after: Some(after),
                }) = &last
                {
                    pause = pause.max(*after);
                }
                tokio::time::sleep(pause).await;
            }
            for (i, endpoint) in $self.order() {
                let $c: &dyn ChainClient = &**endpoint;
                attempts += 1;
                match tokio::time::timeout($self.config.attempt_timeout, $call).await {
                    Ok(Ok(value)) => {
                        $self.preferred.store(i, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Ok(Err(e)) if !e.is_retryable() => return Err(e),
                    Ok(Err(e)) => last = Some(e),
                    Err(_) => {
                        last = Some(Error::Timeout {
                            method: $method,
                            after: $self.config.attempt_timeout,
                        })
                    }
                }
            }
        }
        let last = last.unwrap_or(Error::Local {
            message: "no attempt made".into(),
        });
        Err(Error::Exhausted {
            method: $method,
            attempts,
            last: Box::new(last),
        })
    }};
}

#[async_trait]
impl ChainClient for FailoverClient {
    async fn chain_id(&self) -> Result<u64> {
        failover!(self, "eth_chainId", |c| c.chain_id())
    }

    async fn block_number(&self) -> Result<u64> {
        failover!(self, "eth_blockNumber", |c| c.block_number())
    }

    async fn header_by_number(&self, number: BlockNumberOrTag) -> Result<Option<BlockHeader>> {
        failover!(self, "eth_getBlockByNumber", |c| c.header_by_number(number))
    }

    async fn header_by_hash(&self, hash: B256) -> Result<Option<BlockHeader>> {
        failover!(self, "eth_getBlockByHash", |c| c.header_by_hash(hash))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        failover!(self, "eth_getLogs", |c| c.logs(filter))
    }

    async fn call(&self, tx: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        failover!(self, "eth_call", |c| c.call(tx, block))
    }

    async fn estimate_gas(&self, tx: &TransactionRequest, block: BlockId) -> Result<u64> {
        failover!(self, "eth_estimateGas", |c| c.estimate_gas(tx, block))
    }

    async fn fee_history(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        reward_percentiles: &[f64],
    ) -> Result<FeeHistory> {
        failover!(self, "eth_feeHistory", |c| c.fee_history(
            block_count,
            newest,
            reward_percentiles
        ))
    }

    async fn gas_price(&self) -> Result<u128> {
        failover!(self, "eth_gasPrice", |c| c.gas_price())
    }

    async fn transaction_count(&self, address: Address, block: BlockId) -> Result<u64> {
        failover!(self, "eth_getTransactionCount", |c| c
            .transaction_count(address, block))
    }

    async fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256> {
        failover!(self, "eth_sendRawTransaction", |c| c
            .send_raw_transaction(raw))
    }

    async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        failover!(self, "eth_getTransactionReceipt", |c| c
            .transaction_receipt(hash))
    }

    async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>> {
        failover!(self, "eth_getTransactionByHash", |c| c
            .transaction_by_hash(hash))
    }
}
