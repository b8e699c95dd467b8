//! The performer's error type.

use std::time::Duration;

use alloy_primitives::B256;
use triggerx_core::chain;

use super::RevertReason;

/// Errors from the transaction engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A chain call failed (see [`chain::Error`] for its kinds).
    #[error(transparent)]
    Chain(#[from] chain::Error),
    /// The job does not match the spec hash its owner registered (`JobRegistry.specHashOf`):
    /// nothing was sent.
    #[error("job {0} does not match the spec hash registered for it; not executed")]
    SpecMismatch(triggerx_core::JobId),
    /// The configuration breaks an invariant.
    #[error("invalid performer config: {0}")]
    Config(String),
    /// The action cannot be executed by this engine (e.g. dynamic arguments without a script
    /// runner).
    #[error("unsupported action: {0}")]
    Unsupported(String),
    /// The transaction could not be signed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The pre-flight gas estimate reverted; nothing was sent and no nonce was used.
    #[error("simulation reverted: {reason}")]
    Simulation {
        /// The decoded revert reason.
        reason: RevertReason,
    },
    /// The gas estimate is above the job's gas limit; nothing was sent.
    #[error("gas estimate {estimate} exceeds the job's gas limit {cap}")]
    GasCapExceeded {
        /// The node's estimate.
        estimate: u64,
        /// The job's cap.
        cap: u64,
    },
    /// No receipt arrived in time; the transaction may still land, and its nonce stays used.
    #[error("nonce {nonce}: not mined after {after:?} ({} signed versions)", hashes.len())]
    NotMined {
        /// The nonce.
        nonce: u64,
        /// Every signed version's hash.
        hashes: Vec<B256>,
        /// How long the engine waited.
        after: Duration,
    },
    /// The nonce was used by a transaction this engine did not sign; the call did not run.
    #[error("nonce {nonce} was used by another transaction")]
    NonceTakenElsewhere {
        /// The nonce.
        nonce: u64,
    },
    /// The engine's background task ended before reporting.
    #[error("transaction engine stopped")]
    Stopped,
}

impl Error {
    /// Whether submitting the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_retryable(),
            Self::NonceTakenElsewhere { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn timeout(method: &'static str, after: Duration) -> Self {
        Self::Chain(chain::Error::Timeout { method, after })
    }
}
