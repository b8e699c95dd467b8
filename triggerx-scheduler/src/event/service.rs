//! [`EventService`]: polls an [`EventEngine`] on an interval, hands new tasks to the
//! dispatcher, and applies job changes as they arrive. Retryable RPC failures are retried on the
//! next poll (with backoff); nothing is read as "no logs".

use std::{future::Future, sync::Arc, time::Duration};

use tokio::sync::mpsc;

use super::EventEngine;
pub use crate::time::service::Handle;
use crate::{Result, dispatch::Dispatcher, time::service::Command};

/// Drives an [`EventEngine`].
#[derive(Debug)]
pub struct EventService {
    engine: EventEngine,
    dispatcher: Arc<dyn Dispatcher>,
    commands: mpsc::Receiver<Command>,
    poll_interval: Duration,
    heads: Option<mpsc::Receiver<u64>>,
}

impl EventService {
    /// A service polling every `poll_interval`, and the handle that controls it.
    pub fn new(
        engine: EventEngine,
        dispatcher: Arc<dyn Dispatcher>,
        poll_interval: Duration,
    ) -> (Self, Handle) {
        let (handle, rx) = Handle::channel();
        (
            Self {
                engine,
                dispatcher,
                commands: rx,
                poll_interval,
                heads: None,
            },
            handle,
        )
    }

    /// Also polls as soon as a new head is announced on `heads` (see
    /// [`heads::subscribe`](super::heads::subscribe)); the interval remains the fallback.
    pub fn with_new_heads(mut self, heads: mpsc::Receiver<u64>) -> Self {
        self.heads = Some(heads);
        self
    }

    /// Runs until `shutdown` completes. Non-retryable errors end the run.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<EventEngine> {
        tokio::pin!(shutdown);
        let mut backoff = self.poll_interval;
        loop {
            let wait = match self.engine.poll().await {
                Ok(tasks) => {
                    backoff = self.poll_interval;
                    for task in tasks {
                        self.dispatcher.dispatch(task).await?;
                    }
                    self.poll_interval
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(chain = self.engine.chain_id(), error = %e, "event poll failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    backoff
                }
                Err(e) => return Err(e),
            };
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut shutdown => return Ok(self.engine),
                    () = &mut sleep => break,
                    head = next_head(&mut self.heads) => {
                        if head.is_none() {
                            tracing::warn!(chain = self.engine.chain_id(), "new-heads subscription ended; polling only");
                            self.heads = None;
                            continue;
                        }
                        break;
                    }
                    cmd = self.commands.recv() => match cmd {
                        Some(Command::Upsert(job)) => self.engine.upsert_job(&job)?,
                        Some(Command::Remove(id)) => self.engine.remove_job(id),
                        None => {
                            (&mut sleep).await;
                            break;
                        }
                    },
                }
            }
        }
    }
}

/// The next announced head, or never when there is no subscription.
async fn next_head(heads: &mut Option<mpsc::Receiver<u64>>) -> Option<u64> {
    match heads {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
