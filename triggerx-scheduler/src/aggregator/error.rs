//! The aggregator's error type.

use alloy::primitives::B256;
use triggerx_core::TaskId;

/// Result with the aggregator [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong collecting attestations and settling verdicts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable (a bad RPC URL).
    #[error("aggregator config: {0}")]
    Config(String),
    /// A chain RPC failed (reads, sends, receipts).
    #[error(transparent)]
    Chain(#[from] triggerx_core::chain::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] triggerx_core::Error),
    /// The registry refused the verdict and the task is not settled (for instance
    /// `QuorumNotReached` because voting power changed since the votes were counted).
    #[error("task {task}: registry refused the verdict: {reason}")]
    Refused {
        /// The task.
        task: TaskId,
        /// The decoded contract error.
        reason: String,
    },
    /// The verdict transaction was mined but reverted, and the task is not settled.
    #[error("task {task}: verdict transaction {tx_hash} reverted")]
    Reverted {
        /// The task.
        task: TaskId,
        /// The transaction.
        tx_hash: B256,
    },
    /// The transport was shut down.
    #[error("transport closed")]
    TransportClosed,
}

impl Error {
    /// Whether trying the same operation again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_retryable(),
            Self::Store(e) => e.is_retryable(),
            // A reverted receipt on an open task: a race or a fee problem, worth another try.
            Self::Reverted { .. } => true,
            Self::Config(_) | Self::Refused { .. } | Self::TransportClosed => false,
        }
    }
}
