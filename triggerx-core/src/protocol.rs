//! The settlement protocol's messages, digests and signatures — shared by the scheduler
//! (dispatcher, aggregator) and the keeper (performer, attester) so they cannot disagree.
//!
//! Flow: the scheduler publishes an [`Assignment`] on [`topics::ASSIGNMENTS`]; the selected
//! performer executes it through the task hub and publishes an [`ExecutionReport`] on
//! [`topics::REPORTS`]; every attester checks the report against the chain and publishes a
//! signed [`Attestation`] on [`topics::ATTESTATIONS`]; the aggregator submits the verdict with
//! the quorum's signatures to the `KeeperRegistry`, which verifies them on-chain.
//!
//! Payloads are JSON (serde) inside signed transport envelopes. The digests below are ABI
//! encodings hashed with keccak-256, so contracts and other languages can recompute them.

use alloy::{
    primitives::{Address, B256, Signature, keccak256},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolValue,
};
use serde::{Deserialize, Serialize};

use crate::{
    TaskId, Timestamp,
    chain::contracts::attestation_digest,
    selection::{Candidate, select_performer},
    types::{Attestation, Evidence, ExecutionReport, Job, Task, Verdict},
};

/// Transport topics of the protocol.
pub mod topics {
    /// Scheduler → everyone: task assignments.
    pub const ASSIGNMENTS: &str = "triggerx/assignments/v1";
    /// Performer → everyone: execution reports.
    pub const REPORTS: &str = "triggerx/reports/v1";
    /// Attesters → aggregator: signed attestations.
    pub const ATTESTATIONS: &str = "triggerx/attestations/v1";
    /// Aggregator → everyone: settled verdicts.
    pub const VERDICTS: &str = "triggerx/verdicts/v1";
    /// Keepers → health: signed liveness check-ins.
    pub const CHECKINS: &str = "triggerx/checkins/v1";
    /// Scheduler → everyone: execution reports rebuilt from the chain ([`RecoveredReport`]).
    ///
    /// [`RecoveredReport`]: super::RecoveredReport
    pub const RECOVERED: &str = "triggerx/recovered/v1";
}

/// A keeper's liveness check-in. The envelope carries the signer and the signed timestamp;
/// the health service accepts a keeper's check-ins only with strictly increasing timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The keeper software's version.
    pub version: String,
    /// The keeper's transport peer id, when it has one.
    pub peer_id: Option<String>,
}

/// What the scheduler asks of a performer (published to all, so attesters can check it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The task, with its occurrence and evidence.
    pub task: Task,
    /// The job, as validated (its action is what must be executed).
    pub job: Job,
    /// 0 for the first performer, then one more per backup.
    pub attempt: u32,
    /// The selected performer.
    pub performer: Address,
    /// The candidates the selection ran over (registered, online keepers and their power).
    pub candidates: Vec<Candidate>,
    /// Performers of earlier attempts, excluded from this one.
    pub excluded: Vec<Address>,
    /// The task hub to execute through.
    pub hub: Address,
    /// Execute before this instant; afterwards a backup takes over.
    pub deadline: Timestamp,
}

impl Assignment {
    /// Whether `performer` is what the deterministic selection gives for this assignment.
    pub fn selection_is_valid(&self) -> bool {
        select_performer(self.task.id, self.attempt, &self.candidates, &self.excluded)
            == Some(self.performer)
    }
}

/// An execution report the scheduler rebuilt from the chain, relayed with the assignment it is
/// checked against: published on [`topics::RECOVERED`] when a task was executed on-chain but its
/// performer's report never arrived (the performer died after executing, or the report was
/// lost), or when the network restarted before the task was attested.
///
/// The relay adds no trust: attesters take it only from the scheduler (like an assignment) and
/// check the report exactly like a performer's, every claim against the chain. The report's
/// performer is the transaction's sender; its figures come from the receipt
/// ([`report_from_receipt`]), so an honest relay has the same [`report_digest`] as the report
/// the performer would have published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveredReport {
    /// The attempt whose performer executed the task (the latest attempt when no attempt
    /// names the executing keeper; the attesters then reject it).
    pub assignment: Assignment,
    /// The report, rebuilt from the hub's `TaskExecuted` log and the transaction's receipt.
    pub report: ExecutionReport,
}

/// The execution report for `task` executed by `performer` in the transaction of `receipt`:
/// hash, block and gas from the receipt, its [`receipt_digest_of`], and `inputs_digest` (the
/// keccak-256 of the action's calldata). Performers and the scheduler's recovery build reports
/// with this one function, so a recovered report equals the performer's own.
pub fn report_from_receipt(
    task: &Task,
    performer: Address,
    inputs_digest: B256,
    receipt: &TransactionReceipt,
    at: Timestamp,
) -> ExecutionReport {
    ExecutionReport {
        task_id: task.id,
        performer,
        evidence: task.evidence.clone(),
        inputs_digest,
        tx_hash: receipt.transaction_hash,
        block_number: receipt.block_number.unwrap_or_default(),
        receipt_digest: receipt_digest_of(receipt),
        gas_used: receipt.gas_used,
        reported_at: at,
    }
}

/// The [`receipt_digest`] of a receipt as the node returns it: its transaction and block hash,
/// status, gas used and logs. Performers, attesters and the scheduler compute it the same way.
pub fn receipt_digest_of(receipt: &TransactionReceipt) -> B256 {
    let logs: Vec<_> = receipt
        .inner
        .logs()
        .iter()
        .map(|l| (l.address(), l.topics().to_vec(), l.data().data.clone()))
        .collect();
    receipt_digest(
        receipt.transaction_hash,
        receipt.block_hash.unwrap_or_default(),
        receipt.status(),
        receipt.gas_used,
        &logs,
    )
}

/// keccak-256 of the evidence's canonical JSON (field order fixed by the types).
pub fn evidence_digest(evidence: &Evidence) -> B256 {
    keccak256(serde_json::to_vec(evidence).expect("evidence serializes"))
}

/// The digest attesters sign over: `keccak256(abi.encode(taskId, performer, txHash, blockNumber,
/// inputsDigest, receiptDigest, gasUsed, evidenceDigest))`.
pub fn report_digest(r: &ExecutionReport) -> B256 {
    keccak256(
        (
            r.task_id.0,
            r.performer,
            r.tx_hash,
            r.block_number,
            r.inputs_digest,
            r.receipt_digest,
            r.gas_used,
            evidence_digest(&r.evidence),
        )
            .abi_encode(),
    )
}

/// The receipt digest a report carries: `keccak256(abi.encode(txHash, blockHash, status,
/// gasUsed, logsHash))` where `logsHash` hashes the receipt's logs (address, topics, data).
pub fn receipt_digest(
    tx_hash: B256,
    block_hash: B256,
    success: bool,
    gas_used: u64,
    logs: &[(Address, Vec<B256>, alloy::primitives::Bytes)],
) -> B256 {
    let mut buf = Vec::new();
    for (a, topics, data) in logs {
        buf.extend_from_slice(a.as_slice());
        for t in topics {
            buf.extend_from_slice(t.as_slice());
        }
        buf.extend_from_slice(keccak256(data).as_slice());
    }
    keccak256((tx_hash, block_hash, success, gas_used, keccak256(buf)).abi_encode())
}

/// Where attestations are verified: the registry contract's EIP-712 domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationDomain {
    /// The settlement chain.
    pub chain_id: u64,
    /// The `KeeperRegistry`.
    pub registry: Address,
}

impl AttestationDomain {
    /// The digest an attester signs for a verdict on a report executed by `performer`.
    pub fn digest(
        &self,
        task: TaskId,
        report_digest: B256,
        performer: Address,
        approve: bool,
    ) -> B256 {
        attestation_digest(
            self.chain_id,
            self.registry,
            task.0,
            report_digest,
            performer,
            approve,
        )
    }

    /// Signs a verdict on a report executed by `performer`.
    pub fn sign(
        &self,
        signer: &PrivateKeySigner,
        task: TaskId,
        report_digest: B256,
        performer: Address,
        verdict: Verdict,
    ) -> Attestation {
        let approve = matches!(verdict, Verdict::Approve);
        let sig = signer
            .sign_hash_sync(&self.digest(task, report_digest, performer, approve))
            .expect("local signing cannot fail");
        Attestation {
            task_id: task,
            report_digest,
            performer,
            attester: signer.address(),
            verdict,
            signature: sig.as_bytes().to_vec().into(),
        }
    }

    /// Whether an attestation's signature recovers to its attester.
    pub fn verify(&self, a: &Attestation) -> bool {
        let Ok(sig) = Signature::try_from(a.signature.as_ref()) else {
            return false;
        };
        let approve = matches!(a.verdict, Verdict::Approve);
        sig.recover_address_from_prehash(&self.digest(
            a.task_id,
            a.report_digest,
            a.performer,
            approve,
        ))
        .is_ok_and(|signer| signer == a.attester)
    }
}

/// Machine-readable reasons an attester rejects a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// No assignment for the task was seen from the scheduler.
    UnknownTask,
    /// The report's evidence differs from the assignment's.
    EvidenceMismatch,
    /// The reporter is not the selected performer, or the selection does not recompute.
    NotSelectedPerformer,
    /// A candidate is not registered on-chain with the stated power.
    CandidateNotRegistered,
    /// The assignment's job is not the one its owner registered: its spec hash differs from
    /// `JobRegistry.specHashOf(jobId)` (or the job was registered without one).
    SpecMismatch,
    /// The transaction does not exist or is not mined.
    TxNotFound,
    /// The transaction was sent by someone other than the performer.
    SenderMismatch,
    /// The transaction did not go to the hub.
    WrongHub,
    /// The transaction is not a hub `execute` call.
    NotHubExecute,
    /// The hub call names another task or job.
    TaskMismatch,
    /// The hub call targets another contract than the job's action.
    WrongTarget,
    /// The hub call carries other calldata, value or gas than the job's action.
    CalldataMismatch,
    /// The transaction reverted.
    TxFailed,
    /// The hub's forwarded call failed.
    TargetCallFailed,
    /// The report's block, receipt or gas figures do not match the chain.
    ReceiptMismatch,
    /// The time trigger was not due (not an occurrence of the schedule, or executed early).
    NotDue,
    /// The log is not at the claimed block hash, or does not match the job's filter.
    LogNotFound,
    /// The condition does not hold for the recorded sample.
    ConditionNotMet,
    /// The execution landed outside the tolerance window.
    OutsideWindow,
}

impl RejectReason {
    /// The reason's snake_case name (as carried in [`Verdict::Reject`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTask => "unknown_task",
            Self::EvidenceMismatch => "evidence_mismatch",
            Self::NotSelectedPerformer => "not_selected_performer",
            Self::CandidateNotRegistered => "candidate_not_registered",
            Self::SpecMismatch => "spec_mismatch",
            Self::TxNotFound => "tx_not_found",
            Self::SenderMismatch => "sender_mismatch",
            Self::WrongHub => "wrong_hub",
            Self::NotHubExecute => "not_hub_execute",
            Self::TaskMismatch => "task_mismatch",
            Self::WrongTarget => "wrong_target",
            Self::CalldataMismatch => "calldata_mismatch",
            Self::TxFailed => "tx_failed",
            Self::TargetCallFailed => "target_call_failed",
            Self::ReceiptMismatch => "receipt_mismatch",
            Self::NotDue => "not_due",
            Self::LogNotFound => "log_not_found",
            Self::ConditionNotMet => "condition_not_met",
            Self::OutsideWindow => "outside_window",
        }
    }

    /// The verdict rejecting for this reason.
    pub fn verdict(self) -> Verdict {
        Verdict::Reject {
            reason: self.as_str().to_owned(),
        }
    }
}

/// Encodes a protocol message as a transport payload.
pub fn encode<T: Serialize>(msg: &T) -> alloy::primitives::Bytes {
    serde_json::to_vec(msg)
        .expect("protocol messages serialize")
        .into()
}

/// Decodes a transport payload; `None` when malformed (the caller counts and drops it).
pub fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Option<T> {
    serde_json::from_slice(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Evidence;

    #[test]
    fn attestations_sign_and_verify() {
        let d = AttestationDomain {
            chain_id: 31337,
            registry: Address::repeat_byte(7),
        };
        let k = PrivateKeySigner::from_bytes(&B256::repeat_byte(3)).unwrap();
        let t = TaskId(B256::repeat_byte(1));
        let performer = Address::repeat_byte(4);
        let a = d.sign(&k, t, B256::repeat_byte(2), performer, Verdict::Approve);
        assert!(d.verify(&a));
        let mut flipped = a.clone();
        flipped.verdict = RejectReason::TxFailed.verdict();
        assert!(!d.verify(&flipped), "the verdict is signed");
        let mut other = a.clone();
        other.attester = Address::repeat_byte(9);
        assert!(!d.verify(&other));
        let mut renamed = a.clone();
        renamed.performer = Address::repeat_byte(5);
        assert!(!d.verify(&renamed), "the performer is signed");
        let elsewhere = AttestationDomain { chain_id: 1, ..d };
        assert!(!elsewhere.verify(&a));
    }

    #[test]
    fn report_digest_covers_every_field() {
        let r = ExecutionReport {
            task_id: TaskId(B256::repeat_byte(1)),
            performer: Address::repeat_byte(2),
            evidence: Evidence::Time {
                due: Timestamp::from_secs(5),
            },
            inputs_digest: B256::repeat_byte(3),
            tx_hash: B256::repeat_byte(4),
            block_number: 5,
            receipt_digest: B256::repeat_byte(6),
            gas_used: 7,
            reported_at: Timestamp::from_secs(8),
        };
        let base = report_digest(&r);
        let mut r2 = r.clone();
        r2.gas_used = 8;
        assert_ne!(report_digest(&r2), base);
        let mut r3 = r.clone();
        r3.evidence = Evidence::Time {
            due: Timestamp::from_secs(6),
        };
        assert_ne!(report_digest(&r3), base);
        // reported_at is not part of what is attested.
        let mut r4 = r;
        r4.reported_at = Timestamp::from_secs(9);
        assert_eq!(report_digest(&r4), base);
    }
}
