//! Fetching condition sources: the [`SourceFetcher`] seam and its default implementation over
//! HTTP (reqwest) and the chain clients.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{eips::BlockId, rpc::types::TransactionRequest};
use alloy_primitives::{Address, Bytes};
use triggerx_core::{chain::ChainClient, condition::source_calldata, types::ValueSource};

/// The identity of a source for de-duplication: every job reading the same source shares one
/// fetch per round. HTTP sources are keyed by URL and headers (the JSONPath is applied after
/// the fetch); chain sources by chain, contract and calldata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKey {
    /// An HTTP GET.
    Http {
        /// The URL.
        url: String,
        /// The request headers, sorted.
        headers: Vec<(String, String)>,
    },
    /// An `eth_call`.
    Call {
        /// The chain.
        chain_id: u64,
        /// The contract.
        address: Address,
        /// The calldata.
        calldata: Bytes,
    },
}

impl SourceKey {
    /// The key of a source.
    pub fn of(source: &ValueSource) -> Self {
        match source {
            ValueSource::Http { url, headers, .. } => Self::Http {
                url: url.clone(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            ValueSource::ViewCall {
                chain_id, address, ..
            }
            | ValueSource::PriceFeed {
                chain_id, address, ..
            } => Self::Call {
                chain_id: *chain_id,
                address: *address,
                calldata: source_calldata(source).unwrap_or_default(),
            },
        }
    }
}

/// Why a fetch failed. A failed fetch is never read as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    /// What failed.
    pub message: String,
    /// Whether trying again may succeed (timeouts, 5xx, 429, transport errors).
    pub retryable: bool,
}

/// Fetches the raw response of a source: an HTTP body or a call's return data. Object-safe
/// through `async_trait`; bindings plug custom sources in here.
#[async_trait::async_trait]
pub trait SourceFetcher: Send + Sync + std::fmt::Debug {
    /// Fetches one source.
    async fn fetch(&self, key: &SourceKey) -> Result<Bytes, FetchError>;
}

/// The default fetcher: reqwest for HTTP, the configured chain clients for calls.
#[derive(Debug, Clone)]
pub struct DefaultFetcher {
    http: reqwest::Client,
    chains: HashMap<u64, Arc<dyn ChainClient>>,
    max_body: usize,
}

impl DefaultFetcher {
    /// A fetcher with a per-request `timeout`, reading at most `max_body` bytes per response.
    pub fn new(timeout: Duration, max_body: usize) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| FetchError {
                message: format!("http client: {e}"),
                retryable: false,
            })?;
        Ok(Self {
            http,
            chains: HashMap::new(),
            max_body,
        })
    }

    /// Adds the client for a chain's view calls and price feeds.
    pub fn with_chain(mut self, chain_id: u64, client: Arc<dyn ChainClient>) -> Self {
        self.chains.insert(chain_id, client);
        self
    }
}

#[async_trait::async_trait]
impl SourceFetcher for DefaultFetcher {
    async fn fetch(&self, key: &SourceKey) -> Result<Bytes, FetchError> {
        match key {
            SourceKey::Http { url, headers } => {
                let mut req = self.http.get(url);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let resp = req.send().await.map_err(|e| FetchError {
                    message: format!("GET {url}: {e}"),
                    retryable: true,
                })?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(FetchError {
                        message: format!("GET {url}: HTTP {status}"),
                        retryable: status.is_server_error() || status.as_u16() == 429,
                    });
                }
                let body = resp.bytes().await.map_err(|e| FetchError {
                    message: format!("GET {url}: reading body: {e}"),
                    retryable: true,
                })?;
                if body.len() > self.max_body {
                    return Err(FetchError {
                        message: format!(
                            "GET {url}: body of {} bytes exceeds the limit",
                            body.len()
                        ),
                        retryable: false,
                    });
                }
                Ok(Bytes::from(body.to_vec()))
            }
            SourceKey::Call {
                chain_id,
                address,
                calldata,
            } => {
                let client = self.chains.get(chain_id).ok_or_else(|| FetchError {
                    message: format!("no RPC configured for chain {chain_id}"),
                    retryable: false,
                })?;
                let tx = TransactionRequest::default()
                    .to(*address)
                    .input(calldata.clone().into());
                client
                    .call(&tx, BlockId::latest())
                    .await
                    .map_err(|e| FetchError {
                        message: format!("eth_call {address} on chain {chain_id}: {e}"),
                        retryable: e.is_retryable(),
                    })
            }
        }
    }
}
