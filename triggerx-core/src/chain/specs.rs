//! [`SpecRegistry`]: the spec hashes jobs were registered with (`JobRegistry.specHashOf`), read
//! through the hub's job registry, so a keeper can check that the job a scheduler hands it is the
//! one its owner registered ([`spec_hash`]).

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use alloy::{eips::BlockId, rpc::types::TransactionRequest, sol_types::SolCall};
use alloy_primitives::{Address, B256};

use super::{
    ChainClient, Error, Result,
    contracts::{JobRegistry, TaskHub},
};
use crate::{JobId, spec::spec_hash, types::Job};

/// Reads and caches registered spec hashes. A job's hash is fixed when it is created, so a
/// non-zero hash is cached for good; zero (not registered, or registered without a hash) is
/// re-read every time.
#[derive(Debug)]
pub struct SpecRegistry {
    client: Arc<dyn ChainClient>,
    hub: Address,
    registry: tokio::sync::OnceCell<Address>,
    known: Mutex<HashMap<JobId, B256>>,
}

impl SpecRegistry {
    /// Reads the registry the `TaskHub` at `hub` uses.
    pub fn new(client: Arc<dyn ChainClient>, hub: Address) -> Self {
        Self {
            client,
            hub,
            registry: tokio::sync::OnceCell::new(),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The spec hash `job` was registered with; zero when none.
    pub async fn registered(&self, job: JobId) -> Result<B256> {
        if let Some(h) = self.known.lock().expect("spec cache lock").get(&job) {
            return Ok(*h);
        }
        let registry = *self
            .registry
            .get_or_try_init(|| view(self.client.as_ref(), self.hub, TaskHub::jobRegistryCall {}))
            .await?;
        let hash = view(
            self.client.as_ref(),
            registry,
            JobRegistry::specHashOfCall { jobId: job.0 },
        )
        .await?;
        if hash != B256::ZERO {
            self.known
                .lock()
                .expect("spec cache lock")
                .insert(job, hash);
        }
        Ok(hash)
    }

    /// Whether `job` is the job its owner registered: a non-zero registered hash equal to
    /// [`spec_hash`] of `job`.
    pub async fn matches(&self, job: &Job) -> Result<bool> {
        let registered = self.registered(job.id).await?;
        Ok(registered != B256::ZERO && registered == spec_hash(job))
    }
}

/// An `eth_call` of a contract view at the latest block, decoded.
pub async fn view<C: SolCall>(client: &dyn ChainClient, to: Address, call: C) -> Result<C::Return> {
    let request = TransactionRequest::default()
        .to(to)
        .input(call.abi_encode().into());
    let out = client.call(&request, BlockId::latest()).await?;
    C::abi_decode_returns(&out).map_err(|e| Error::InvalidResponse {
        message: format!("{to} {}: {e}", C::SIGNATURE),
    })
}
