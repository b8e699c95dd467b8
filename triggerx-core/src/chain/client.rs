//! The narrow chain client trait and its implementation over an alloy [`DynProvider`].

use std::fmt;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    network::Ethereum,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{
        Block, FeeHistory, Filter, Log, Transaction, TransactionReceipt, TransactionRequest,
    },
};
use alloy_primitives::{Address, B256, Bytes};
use async_trait::async_trait;

use super::{Error, Result};

/// The fields of a block header that TriggerX uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockHeader {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
    /// EIP-1559 base fee, wei per gas (absent before London).
    pub base_fee_per_gas: Option<u64>,
}

impl From<&Block> for BlockHeader {
    fn from(block: &Block) -> Self {
        let h = &block.header;
        Self {
            number: h.number,
            hash: h.hash,
            parent_hash: h.parent_hash,
            timestamp: h.timestamp,
            base_fee_per_gas: h.base_fee_per_gas,
        }
    }
}

/// A narrow, object-safe async client for one chain (DESIGN §3).
///
/// Async methods use [`async_trait`] (boxed futures) so the trait can be used as
/// `Arc<dyn ChainClient>`. Arguments and results are alloy primitives and RPC types only; no
/// transport type appears here. Errors are the typed chain [`Error`].
#[async_trait]
pub trait ChainClient: Send + Sync + fmt::Debug {
    /// The chain id (`eth_chainId`).
    async fn chain_id(&self) -> Result<u64>;

    /// The latest block number (`eth_blockNumber`).
    async fn block_number(&self) -> Result<u64>;

    /// The header of a block by number or tag, `None` when the node has no such block.
    async fn header_by_number(&self, number: BlockNumberOrTag) -> Result<Option<BlockHeader>>;

    /// The header of a block by hash, `None` when the node has no such block.
    async fn header_by_hash(&self, hash: B256) -> Result<Option<BlockHeader>>;

    /// Logs matching a filter (`eth_getLogs`).
    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>>;

    /// Executes a call without a transaction (`eth_call`) at `block`.
    async fn call(&self, tx: &TransactionRequest, block: BlockId) -> Result<Bytes>;

    /// Estimates the gas a transaction needs (`eth_estimateGas`) at `block`.
    async fn estimate_gas(&self, tx: &TransactionRequest, block: BlockId) -> Result<u64>;

    /// Fee history over `block_count` blocks ending at `newest` (`eth_feeHistory`), with the
    /// priority-fee rewards at the given percentiles.
    async fn fee_history(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        reward_percentiles: &[f64],
    ) -> Result<FeeHistory>;

    /// The legacy gas price (`eth_gasPrice`).
    async fn gas_price(&self) -> Result<u128>;

    /// The account's transaction count at `block` (`BlockId::pending()` includes the pool).
    async fn transaction_count(&self, address: Address, block: BlockId) -> Result<u64>;

    /// Broadcasts a signed, EIP-2718 encoded transaction; returns its hash.
    async fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256>;

    /// A transaction's receipt, `None` while it is not mined.
    async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>>;

    /// A transaction by hash (pending or mined), `None` when the node does not know it.
    async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>>;

    /// The latest block's header.
    async fn head(&self) -> Result<BlockHeader> {
        self.header_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| Error::InvalidResponse {
                message: "no latest block".into(),
            })
    }
}

/// A [`ChainClient`] over one alloy [`DynProvider`] (one endpoint, no retries or timeouts of
/// its own; wrap endpoints in a [`FailoverClient`](super::FailoverClient) for those).
#[derive(Clone)]
pub struct AlloyClient {
    url: String,
    provider: DynProvider<Ethereum>,
}

impl fmt::Debug for AlloyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlloyClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl AlloyClient {
    /// A client over an existing provider; `url` is only used for display.
    pub fn new(url: impl Into<String>, provider: DynProvider<Ethereum>) -> Self {
        Self {
            url: url.into(),
            provider,
        }
    }

    /// A client over HTTP (`http://…`), without fillers: the caller signs and sends raw bytes.
    pub fn http(url: &str) -> Result<Self> {
        let parsed = url.parse().map_err(|e| Error::Local {
            message: format!("{url}: {e}"),
        })?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(parsed)
            .erased();
        Ok(Self::new(url, provider))
    }

    /// A client over any alloy connection string (`http://`, `ws://`), connecting now.
    pub async fn connect(url: &str) -> Result<Self> {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect(url)
            .await?
            .erased();
        Ok(Self::new(url, provider))
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying provider, for calls outside the narrow trait (tests, node controls).
    pub fn provider(&self) -> &DynProvider<Ethereum> {
        &self.provider
    }
}

#[async_trait]
impl ChainClient for AlloyClient {
    async fn chain_id(&self) -> Result<u64> {
        Ok(self.provider.get_chain_id().await?)
    }

    async fn block_number(&self) -> Result<u64> {
        Ok(self.provider.get_block_number().await?)
    }

    async fn header_by_number(&self, number: BlockNumberOrTag) -> Result<Option<BlockHeader>> {
        let block = self.provider.get_block_by_number(number).hashes().await?;
        Ok(block.as_ref().map(BlockHeader::from))
    }

    async fn header_by_hash(&self, hash: B256) -> Result<Option<BlockHeader>> {
        let block = self.provider.get_block_by_hash(hash).hashes().await?;
        Ok(block.as_ref().map(BlockHeader::from))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        Ok(self.provider.get_logs(filter).await?)
    }

    async fn call(&self, tx: &TransactionRequest, block: BlockId) -> Result<Bytes> {
        Ok(self.provider.call(tx.clone()).block(block).await?)
    }

    async fn estimate_gas(&self, tx: &TransactionRequest, block: BlockId) -> Result<u64> {
        Ok(self.provider.estimate_gas(tx.clone()).block(block).await?)
    }

    async fn fee_history(
        &self,
        block_count: u64,
        newest: BlockNumberOrTag,
        reward_percentiles: &[f64],
    ) -> Result<FeeHistory> {
        Ok(self
            .provider
            .get_fee_history(block_count, newest, reward_percentiles)
            .await?)
    }

    async fn gas_price(&self) -> Result<u128> {
        Ok(self.provider.get_gas_price().await?)
    }

    async fn transaction_count(&self, address: Address, block: BlockId) -> Result<u64> {
        Ok(self
            .provider
            .get_transaction_count(address)
            .block_id(block)
            .await?)
    }

    async fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256> {
        Ok(*self.provider.send_raw_transaction(raw).await?.tx_hash())
    }

    async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        Ok(self.provider.get_transaction_receipt(hash).await?)
    }

    async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>> {
        Ok(self.provider.get_transaction_by_hash(hash).await?)
    }
}
