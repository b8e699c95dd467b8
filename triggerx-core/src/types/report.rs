//! Execution reports and attestations (the settlement protocol's payloads).

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::Evidence;
use crate::{TaskId, Timestamp};

/// A performer's claim that it executed a task on-chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionReport {
    /// The task.
    pub task_id: TaskId,
    /// The performer.
    pub performer: Address,
    /// The trigger evidence the task carried.
    pub evidence: Evidence,
    /// keccak-256 of the calldata the performer sent to the target.
    pub inputs_digest: B256,
    /// The execution transaction.
    pub tx_hash: B256,
    /// The block it landed in.
    pub block_number: u64,
    /// keccak-256 of the receipt's canonical encoding.
    pub receipt_digest: B256,
    /// Gas used by the transaction.
    pub gas_used: u64,
    /// When the performer produced the report.
    pub reported_at: Timestamp,
}

/// An attester's decision on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Verdict {
    /// Everything the report claims checks out.
    Approve,
    /// Something does not; `reason` is machine-readable (`calldata_mismatch`, …).
    Reject {
        /// Why.
        reason: String,
    },
}

/// An attester's signed verdict on one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The task.
    pub task_id: TaskId,
    /// Digest of the report attested.
    pub report_digest: B256,
    /// The performer whose execution is attested (signed, so a verdict cannot name another).
    pub performer: Address,
    /// The attester.
    pub attester: Address,
    /// The decision.
    pub verdict: Verdict,
    /// 65-byte secp256k1 signature over the attestation's typed-data hash.
    pub signature: alloy_primitives::Bytes,
}
