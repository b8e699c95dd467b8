//! [`RegistrarService`]: polls a [`Registrar`] on an interval. Retryable RPC or store failures
//! are retried on the next poll with backoff (the cursor has not moved, so the same blocks are
//! processed again); other errors end the run.

use std::{future::Future, time::Duration};

use super::Registrar;
use crate::Result;

/// Drives a [`Registrar`].
#[derive(Debug)]
pub struct RegistrarService {
    registrar: Registrar,
    poll_interval: Duration,
}

impl RegistrarService {
    /// A service polling every `poll_interval`.
    pub fn new(registrar: Registrar, poll_interval: Duration) -> Self {
        Self {
            registrar,
            poll_interval,
        }
    }

    /// Runs until `shutdown` completes, then returns the registrar (its cursor is already
    /// persisted after every range). Non-retryable errors end the run.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<Registrar> {
        tokio::pin!(shutdown);
        let mut backoff = self.poll_interval;
        loop {
            let wait = tokio::select! {
                () = &mut shutdown => return Ok(self.registrar),
                polled = self.registrar.poll() => match polled {
                    Ok(_) => {
                        backoff = self.poll_interval;
                        self.poll_interval
                    }
                    Err(e) if e.is_retryable() => {
                        tracing::warn!(chain = self.registrar.chain_id(), error = %e, "registrar poll failed; retrying");
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        backoff
                    }
                    Err(e) => return Err(e),
                },
            };
            tokio::select! {
                () = &mut shutdown => return Ok(self.registrar),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
