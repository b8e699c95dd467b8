//! Tasks: one per trigger occurrence.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use super::Decimal;
use crate::{JobId, TaskId, Timestamp, ids::Occurrence};

/// The work created by one trigger occurrence, tracked until it is settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Derived from the occurrence: `occurrence.task_id()`.
    pub id: TaskId,
    /// The job.
    pub job_id: JobId,
    /// What fired.
    pub occurrence: Occurrence,
    /// What the scheduler saw when it fired.
    pub evidence: Evidence,
    /// Where the task is in its lifecycle.
    pub status: TaskStatus,
    /// The keeper currently assigned to perform it.
    pub performer: Option<Address>,
    /// How many times it has been assigned.
    pub attempts: u32,
    /// The execution transaction, once known.
    pub tx_hash: Option<B256>,
    /// The block the execution landed in, once known.
    pub block_number: Option<u64>,
    /// Why it failed, expired or was rejected.
    pub error: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Task {
    /// A new task in [`TaskStatus::Created`] for an occurrence.
    pub fn new(occurrence: Occurrence, evidence: Evidence, now: Timestamp) -> Self {
        Self {
            id: occurrence.task_id(),
            job_id: occurrence.job(),
            occurrence,
            evidence,
            status: TaskStatus::Created,
            performer: None,
            attempts: 0,
            tx_hash: None,
            block_number: None,
            error: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What the scheduler observed when a trigger fired, checked again by attesters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A time trigger was due.
    Time {
        /// The scheduled instant.
        due: Timestamp,
    },
    /// A matching log.
    Event {
        /// The chain.
        chain_id: u64,
        /// The block holding the log.
        block_number: u64,
        /// That block's hash (the log is checked to exist at exactly this block).
        block_hash: B256,
        /// The emitting transaction.
        tx_hash: B256,
        /// The log's index in the block.
        log_index: u64,
        /// The emitting contract.
        address: Address,
        /// The log's topics.
        topics: Vec<B256>,
        /// The log's data.
        data: Bytes,
    },
    /// A condition sample that satisfied the comparison.
    Condition {
        /// The sample round.
        round: u64,
        /// When the sample was taken.
        sampled_at: Timestamp,
        /// The sampled value.
        value: Decimal,
        /// keccak-256 of the raw source response the value was extracted from.
        source_digest: B256,
    },
}

/// A task's lifecycle state.
///
/// `created → assigned → executed → attested → accepted | rejected`, with `failed` and
/// `expired` possible from any non-final state; `assigned → assigned` is a reassignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created from an occurrence, not yet assigned.
    Created,
    /// Sent to a performer.
    Assigned,
    /// The performer reported an on-chain execution.
    Executed,
    /// Attestations are being collected.
    Attested,
    /// Settled on-chain: accepted by quorum.
    Accepted,
    /// Settled on-chain: rejected by quorum.
    Rejected,
    /// Could not be executed or settled; see `error`.
    Failed,
    /// Its deadline passed before execution.
    Expired,
}

impl TaskStatus {
    /// All states.
    pub const ALL: [Self; 8] = [
        Self::Created,
        Self::Assigned,
        Self::Executed,
        Self::Attested,
        Self::Accepted,
        Self::Rejected,
        Self::Failed,
        Self::Expired,
    ];

    /// The lower-case name used in storage and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Assigned => "assigned",
            Self::Executed => "executed",
            Self::Attested => "attested",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Parses [`as_str`](Self::as_str) output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the task is settled or ended.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Accepted | Self::Rejected | Self::Failed | Self::Expired
        )
    }

    /// Whether a task may move from `self` to `next`.
    pub const fn can_become(self, next: Self) -> bool {
        use TaskStatus::*;
        match (self, next) {
            (s, Failed | Expired) => !s.is_final(),
            (Created, Assigned) => true,
            (Assigned, Assigned | Executed) => true,
            (Executed, Attested | Accepted | Rejected) => true,
            (Attested, Accepted | Rejected) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use TaskStatus::*;
        assert!(Created.can_become(Assigned));
        assert!(Assigned.can_become(Assigned));
        assert!(Executed.can_become(Accepted));
        assert!(!Created.can_become(Executed));
        assert!(!Accepted.can_become(Failed));
        assert!(!Failed.can_become(Assigned));
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn new_task_id_is_derived() {
        let occ = Occurrence::Time {
            job: JobId::from_u64(3),
            due: Timestamp::from_secs(9),
        };
        let t = Task::new(
            occ.clone(),
            Evidence::Time {
                due: Timestamp::from_secs(9),
            },
            Timestamp::EPOCH,
        );
        assert_eq!(t.id, occ.task_id());
        assert_eq!(t.job_id, JobId::from_u64(3));
    }
}
