//! The scheduler's error type.

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from the scheduler's engines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or validation error from the core.
    #[error(transparent)]
    Core(#[from] triggerx_core::Error),
    /// A job's schedule cannot be evaluated.
    #[error("job {job}: {source}")]
    Schedule {
        /// The job.
        job: triggerx_core::JobId,
        /// Why.
        source: triggerx_core::schedule::ScheduleError,
    },
    /// A chain RPC failed.
    #[error(transparent)]
    Chain(#[from] triggerx_core::chain::Error),
    /// Publishing on the transport failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The dispatcher is gone or refuses new tasks.
    #[error("dispatcher closed")]
    DispatcherClosed,
}

impl Error {
    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Core(e) => e.is_retryable(),
            Self::Chain(e) => e.is_retryable(),
            Self::Transport(_) => true,
            Self::Schedule { .. } | Self::DispatcherClosed => false,
        }
    }
}
