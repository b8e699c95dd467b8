//! [`Attester`]: re-verifies an execution report against the chain.

use std::{future::Future, sync::Arc};

use alloy::{consensus::Transaction as _, rpc::types::TransactionReceipt};
use alloy_primitives::{Address, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent};
use triggerx_core::{
    chain::{
        self, BlockHeader, ChainClient, SpecRegistry,
        contracts::{KeeperRegistry, TaskHub},
    },
    ids::Occurrence,
    protocol::{Assignment, RejectReason, receipt_digest_of},
    types::{Evidence, ExecutionReport, Verdict},
};

use super::{Config, Error};
use crate::performer::{Call, static_calldata};

/// The outcome of a check: `Ok(())` approves, `Err(reason)` rejects.
pub type Checked = Result<(), RejectReason>;

/// Rejects with `$reason` unless `$cond` holds.
macro_rules! ensure {
    ($cond:expr, $reason:expr) => {
        if !$cond {
            return Ok(Err($reason));
        }
    };
}
pub(super) use ensure;

/// Checks execution reports against the chain (DESIGN §5).
///
/// Every claim is re-read from the node, never taken from the report: the assignment and the
/// selection are recomputed, each candidate's registration and power are read from the
/// `KeeperRegistry`, the transaction and its receipt are fetched by hash, the expected hub call
/// is rebuilt with the performer's own [`Call::hub_execute`] and compared byte for byte, and the
/// trigger evidence is re-checked with the shared core functions (schedule, event matcher,
/// comparison). The first failed check decides the [`RejectReason`].
#[derive(Debug, Clone)]
pub struct Attester {
    pub(super) client: Arc<dyn ChainClient>,
    pub(super) config: Config,
    /// The registered spec hashes (through the hub's `JobRegistry`), cached.
    specs: Arc<SpecRegistry>,
}

impl Attester {
    /// An attester reading the chain through `client`.
    pub fn new(client: Arc<dyn ChainClient>, config: Config) -> Self {
        let specs = Arc::new(SpecRegistry::new(client.clone(), config.hub));
        Self {
            client,
            config,
            specs,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The verdict on `report` for `assignment`.
    ///
    /// # Errors
    /// [`Error::Chain`] when the chain could not be read; that is never a verdict (an
    /// attester that cannot check abstains rather than rejecting an honest report).
    pub async fn check(
        &self,
        assignment: &Assignment,
        report: &ExecutionReport,
    ) -> Result<Verdict, Error> {
        Ok(match self.verify(assignment, report).await? {
            Ok(()) => Verdict::Approve,
            Err(reason) => reason.verdict(),
        })
    }

    /// Like [`check`](Self::check), with the reject reason as a [`RejectReason`].
    ///
    /// # Errors
    /// [`Error::Chain`] when the chain could not be read.
    pub async fn verify(
        &self,
        assignment: &Assignment,
        report: &ExecutionReport,
    ) -> Result<Checked, Error> {
        let a = assignment;
        let r = report;
        if let Err(reason) = consistent(&self.config, a, r) {
            return Ok(Err(reason));
        }
        if let Err(reason) = self.registered_spec(a).await? {
            return Ok(Err(reason));
        }
        if let Err(reason) = self.candidates(a).await? {
            return Ok(Err(reason));
        }
        let exec = match self.transaction(a, r).await? {
            Ok(header) => header,
            Err(reason) => return Ok(Err(reason)),
        };
        self.evidence(&a.job, &a.task.evidence, &exec).await
    }

    /// Runs one chain read with the configured timeout.
    pub(super) async fn read<T>(
        &self,
        method: &'static str,
        fut: impl Future<Output = chain::Result<T>>,
    ) -> Result<T, Error> {
        let after = self.config.rpc_timeout;
        match tokio::time::timeout(after, fut).await {
            Ok(r) => r.map_err(Error::from),
            Err(_) => Err(chain::Error::Timeout { method, after }.into()),
        }
    }

    /// Every candidate is registered in the `KeeperRegistry` with exactly its stated power.
    async fn candidates(&self, a: &Assignment) -> Result<Checked, Error> {
        let mut seen = Vec::with_capacity(a.candidates.len());
        for c in &a.candidates {
            if seen.contains(c) {
                continue;
            }
            seen.push(*c);
            let registered: bool = self
                .registry_call(KeeperRegistry::isKeeperCall { keeper: c.address })
                .await?;
            let power: U256 = self
                .registry_call(KeeperRegistry::votingPowerCall { keeper: c.address })
                .await?;
            ensure!(
                registered && power == c.power,
                RejectReason::CandidateNotRegistered
            );
        }
        Ok(Ok(()))
    }

    /// The job is the one its owner registered: the registry's `specHashOf(jobId)` equals the
    /// assignment job's spec hash (a job registered without one never matches).
    async fn registered_spec(&self, a: &Assignment) -> Result<Checked, Error> {
        if !self.config.require_spec_hash {
            return Ok(Ok(()));
        }
        let matches = self.read("eth_call", self.specs.matches(&a.job)).await?;
        ensure!(matches, RejectReason::SpecMismatch);
        Ok(Ok(()))
    }

    /// An `eth_call` of a `KeeperRegistry` view at the latest block.
    async fn registry_call<C: SolCall>(&self, call: C) -> Result<C::Return, Error> {
        self.read(
            "eth_call",
            chain::view(self.client.as_ref(), self.config.registry, call),
        )
        .await
    }

    /// The transaction and its receipt: sent by the performer to the hub, carrying exactly the
    /// expected call, succeeded with the hub's `TaskExecuted(success = true)` for this task, and
    /// the report's figures match. Returns the header of the execution block.
    async fn transaction(
        &self,
        a: &Assignment,
        r: &ExecutionReport,
    ) -> Result<Result<BlockHeader, RejectReason>, Error> {
        use RejectReason::*;
        let hub = self.config.hub;
        let tx = self
            .read(
                "eth_getTransactionByHash",
                self.client.transaction_by_hash(r.tx_hash),
            )
            .await?;
        let Some(tx) = tx.filter(|t| t.block_number.is_some()) else {
            return Ok(Err(TxNotFound));
        };
        let receipt = self
            .read(
                "eth_getTransactionReceipt",
                self.client.transaction_receipt(r.tx_hash),
            )
            .await?;
        let Some(receipt) = receipt else {
            return Ok(Err(TxNotFound));
        };
        ensure!(tx.inner.signer() == r.performer, SenderMismatch);
        ensure!(tx.to() == Some(hub), WrongHub);
        let Ok(call) = TaskHub::executeCall::abi_decode(tx.input()) else {
            return Ok(Err(NotHubExecute));
        };
        ensure!(
            call.taskId == a.task.id.0 && call.jobId == a.job.id.0,
            TaskMismatch
        );
        ensure!(call.target == a.job.action.target, WrongTarget);
        let action = &a.job.action;
        let (Ok(expected), Ok(calldata)) = (
            Call::hub_execute(hub, a.task.id, a.job.id, action),
            static_calldata(action),
        ) else {
            // Dynamic arguments: the expected bytes cannot be derived yet, so never approved.
            return Ok(Err(CalldataMismatch));
        };
        ensure!(
            expected.input == *tx.input() && expected.value == tx.value(),
            CalldataMismatch
        );
        ensure!(keccak256(&calldata) == r.inputs_digest, CalldataMismatch);
        ensure!(receipt.status(), TxFailed);
        match task_executed(&receipt, hub, a, r.performer) {
            Some(true) => {}
            Some(false) => return Ok(Err(TargetCallFailed)),
            None => return Ok(Err(TxFailed)),
        }
        ensure!(
            receipt.block_number == Some(r.block_number)
                && receipt.gas_used == r.gas_used
                && receipt_digest_of(&receipt) == r.receipt_digest,
            ReceiptMismatch
        );
        let Some(block_hash) = receipt.block_hash else {
            return Ok(Err(TxNotFound));
        };
        let header = self
            .read("eth_getBlockByHash", self.client.header_by_hash(block_hash))
            .await?;
        match header {
            Some(h) if h.number == r.block_number => Ok(Ok(h)),
            _ => Ok(Err(TxNotFound)),
        }
    }
}

/// Checks that need no chain read: the report and the assignment describe the same task and
/// evidence, the task id derives from the occurrence, the hub is ours, and the reporter is the
/// performer the deterministic selection gives.
fn consistent(config: &Config, a: &Assignment, r: &ExecutionReport) -> Checked {
    use RejectReason::*;
    let t = &a.task;
    let same_task = r.task_id == t.id
        && t.id == t.occurrence.task_id()
        && t.job_id == a.job.id
        && t.occurrence.job() == a.job.id
        && r.evidence == t.evidence
        && occurrence_matches(&t.occurrence, &t.evidence);
    if !same_task {
        return Err(EvidenceMismatch);
    }
    if a.hub != config.hub || a.job.action.chain_id != config.chain_id {
        return Err(WrongHub);
    }
    if !a.selection_is_valid() || r.performer != a.performer {
        return Err(NotSelectedPerformer);
    }
    Ok(())
}

/// Whether the occurrence's key fields are those of the evidence.
fn occurrence_matches(o: &Occurrence, e: &Evidence) -> bool {
    match (o, e) {
        (Occurrence::Time { due, .. }, Evidence::Time { due: d }) => due == d,
        (
            Occurrence::Event {
                chain_id,
                tx_hash,
                log_index,
                ..
            },
            Evidence::Event {
                chain_id: c,
                tx_hash: h,
                log_index: i,
                ..
            },
        ) => chain_id == c && tx_hash == h && log_index == i,
        (Occurrence::Condition { round, .. }, Evidence::Condition { round: r, .. }) => round == r,
        _ => false,
    }
}

/// The hub's `TaskExecuted` for this task, job and performer in the receipt: `Some(success)`,
/// or `None` when there is none.
fn task_executed(
    receipt: &TransactionReceipt,
    hub: Address,
    a: &Assignment,
    performer: Address,
) -> Option<bool> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.address() == hub)
        .filter_map(|l| TaskHub::TaskExecuted::decode_log_data(l.data()).ok())
        .find(|e| e.taskId == a.task.id.0 && e.jobId == a.job.id.0 && e.performer == performer)
        .map(|e| e.success)
}
