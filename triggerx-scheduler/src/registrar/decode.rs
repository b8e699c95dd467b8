//! From the followed logs to [`Change`]s: the chain-derived facts of one block range, read
//! once (headers for block times, verdict transactions for the signers, the hub's charge) so
//! that planning the store writes can be repeated without further RPC calls.

use std::collections::HashMap;

use alloy::{
    consensus::Transaction as _,
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Signature, U256},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent},
};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        self, ChainClient,
        contracts::{JobRegistry, KeeperRegistry, TaskHub},
    },
    protocol::AttestationDomain,
    types::Decimal,
};

use super::{Config, points};
use crate::Result;

/// One fact the registrar applies to the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    KeeperAdded {
        keeper: Address,
        power: U256,
        at: Timestamp,
    },
    KeeperRemoved {
        keeper: Address,
        at: Timestamp,
    },
    PowerChanged {
        keeper: Address,
        power: U256,
        at: Timestamp,
    },
    Settled(Box<Settlement>),
    JobCancelled {
        job: JobId,
        at: Timestamp,
    },
}

/// A `TaskSubmitted` / `TaskRejected` with what the points need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settlement {
    pub(crate) task: TaskId,
    pub(crate) performer: Address,
    pub(crate) accepted: bool,
    /// `charged / 1e18`; zero when no `TaskExecuted` was found.
    pub(crate) cost: Decimal,
    pub(crate) charge_found: bool,
    /// The verdict's signers, `None` when the settling transaction could not be decoded.
    pub(crate) attesters: Option<Vec<Address>>,
    pub(crate) tx_hash: B256,
    pub(crate) block: u64,
    pub(crate) at: Timestamp,
}

/// The topics 0 the registrar follows.
pub(crate) fn topics() -> Vec<B256> {
    vec![
        KeeperRegistry::KeeperAdded::SIGNATURE_HASH,
        KeeperRegistry::KeeperRemoved::SIGNATURE_HASH,
        KeeperRegistry::VotingPowerChanged::SIGNATURE_HASH,
        KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
        KeeperRegistry::TaskRejected::SIGNATURE_HASH,
        TaskHub::TaskExecuted::SIGNATURE_HASH,
        JobRegistry::JobCancelled::SIGNATURE_HASH,
    ]
}

/// Reads what the logs of one range need from the chain and returns their changes in log order.
pub(crate) struct Decoder<'a> {
    pub(crate) client: &'a dyn ChainClient,
    pub(crate) config: &'a Config,
    pub(crate) chain_id: u64,
    pub(crate) rpc_calls: &'a mut u64,
    pub(crate) times: HashMap<u64, Timestamp>,
}

impl Decoder<'_> {
    pub(crate) async fn changes(&mut self, logs: &[Log]) -> Result<Vec<Change>> {
        // Charges of tasks executed in this range.
        let mut charges: HashMap<B256, U256> = HashMap::new();
        for log in logs {
            if log.address() == self.config.task_hub
                && let Ok(e) = TaskHub::TaskExecuted::decode_log_data(log.data())
            {
                charges.insert(e.taskId, e.charged);
            }
        }
        let mut out = Vec::new();
        for log in logs {
            if log.removed {
                continue;
            }
            let Some(block) = log.block_number else {
                continue;
            };
            let address = log.address();
            let data = log.data();
            if address == self.config.keeper_registry {
                if let Ok(e) = KeeperRegistry::KeeperAdded::decode_log_data(data) {
                    let at = self.time(block).await?;
                    out.push(Change::KeeperAdded {
                        keeper: e.keeper,
                        power: e.votingPower,
                        at,
                    });
                } else if let Ok(e) = KeeperRegistry::KeeperRemoved::decode_log_data(data) {
                    let at = self.time(block).await?;
                    out.push(Change::KeeperRemoved {
                        keeper: e.keeper,
                        at,
                    });
                } else if let Ok(e) = KeeperRegistry::VotingPowerChanged::decode_log_data(data) {
                    let at = self.time(block).await?;
                    out.push(Change::PowerChanged {
                        keeper: e.keeper,
                        power: e.newPower,
                        at,
                    });
                } else if let Ok(e) = KeeperRegistry::TaskSubmitted::decode_log_data(data) {
                    let s = self
                        .settlement(
                            log,
                            block,
                            e.taskId,
                            e.performer,
                            e.reportDigest,
                            true,
                            &charges,
                        )
                        .await?;
                    out.push(Change::Settled(Box::new(s)));
                } else if let Ok(e) = KeeperRegistry::TaskRejected::decode_log_data(data) {
                    let s = self
                        .settlement(
                            log,
                            block,
                            e.taskId,
                            e.performer,
                            e.reportDigest,
                            false,
                            &charges,
                        )
                        .await?;
                    out.push(Change::Settled(Box::new(s)));
                }
            } else if Some(address) == self.config.job_registry
                && let Ok(e) = JobRegistry::JobCancelled::decode_log_data(data)
            {
                let at = self.time(block).await?;
                out.push(Change::JobCancelled {
                    job: JobId(e.jobId),
                    at,
                });
            }
        }
        Ok(out)
    }

    /// The timestamp of a block (one header read per block, cached for the range).
    pub(crate) async fn time(&mut self, block: u64) -> Result<Timestamp> {
        if let Some(t) = self.times.get(&block) {
            return Ok(*t);
        }
        *self.rpc_calls += 1;
        let header = self
            .client
            .header_by_number(BlockNumberOrTag::Number(block))
            .await?
            .ok_or_else(|| missing(format!("header of block {block}")))?;
        let t = Timestamp::from_secs(i64::try_from(header.timestamp).unwrap_or(i64::MAX));
        self.times.insert(block, t);
        Ok(t)
    }

    #[allow(clippy::too_many_arguments)]
    async fn settlement(
        &mut self,
        log: &Log,
        block: u64,
        task: B256,
        performer: Address,
        report_digest: B256,
        accepted: bool,
        charges: &HashMap<B256, U256>,
    ) -> Result<Settlement> {
        let at = self.time(block).await?;
        let tx_hash = log.transaction_hash.unwrap_or_default();
        let charged = match charges.get(&task) {
            Some(c) => Some(*c),
            None => self.charge(task, block).await?,
        };
        let attesters = self
            .signers(tx_hash, TaskId(task), report_digest, performer, accepted)
            .await?;
        Ok(Settlement {
            task: TaskId(task),
            performer,
            accepted,
            cost: charged.map_or_else(Decimal::zero, points::cost),
            charge_found: charged.is_some(),
            attesters,
            tx_hash,
            block,
            at,
        })
    }

    /// The hub's charge for `task`, from its `TaskExecuted` within `charge_lookback` blocks
    /// before the settlement (one `eth_getLogs` filtered by the indexed task id).
    async fn charge(&mut self, task: B256, block: u64) -> Result<Option<U256>> {
        let filter = Filter::new()
            .address(self.config.task_hub)
            .event_signature(TaskHub::TaskExecuted::SIGNATURE_HASH)
            .topic1(task)
            .from_block(block.saturating_sub(self.config.charge_lookback))
            .to_block(block);
        *self.rpc_calls += 1;
        let logs = self.client.logs(&filter).await?;
        Ok(logs
            .iter()
            .filter(|l| !l.removed)
            .find_map(|l| TaskHub::TaskExecuted::decode_log_data(l.data()).ok())
            .map(|e| e.charged))
    }

    /// The signers of the verdict in the settling transaction: its input decoded as
    /// `submitVerdict`, each signature recovered over the attestation digest.
    async fn signers(
        &mut self,
        tx_hash: B256,
        task: TaskId,
        report_digest: B256,
        performer: Address,
        approve: bool,
    ) -> Result<Option<Vec<Address>>> {
        *self.rpc_calls += 1;
        let Some(tx) = self.client.transaction_by_hash(tx_hash).await? else {
            return Ok(None);
        };
        if tx.to() != Some(self.config.keeper_registry) {
            return Ok(None);
        }
        let Ok(call) = KeeperRegistry::submitVerdictCall::abi_decode(tx.input()) else {
            return Ok(None);
        };
        if call.taskId != task.0 || call.approve != approve || call.performer != performer {
            return Ok(None);
        }
        let domain = AttestationDomain {
            chain_id: self.chain_id,
            registry: self.config.keeper_registry,
        };
        let digest = domain.digest(task, report_digest, performer, approve);
        let mut signers = Vec::with_capacity(call.signatures.len());
        for sig in &call.signatures {
            let Ok(sig) = Signature::try_from(sig.as_ref()) else {
                return Ok(None);
            };
            let Ok(signer) = sig.recover_address_from_prehash(&digest) else {
                return Ok(None);
            };
            signers.push(signer);
        }
        Ok(Some(signers))
    }
}

fn missing(what: String) -> chain::Error {
    chain::Error::InvalidResponse {
        message: format!("the node returned no {what}"),
    }
}
