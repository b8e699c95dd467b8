//! The attester's error type: failures to check, never verdicts.

use triggerx_core::chain;

/// Why a report could not be checked (as opposed to being rejected).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A chain read failed or timed out.
    #[error("reading the chain: {0}")]
    Chain(#[from] chain::Error),
}

impl Error {
    /// Whether checking again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_retryable(),
        }
    }
}
