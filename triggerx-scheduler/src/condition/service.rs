//! [`ConditionService`]: drives a [`ConditionEngine`] on tokio — ticks at each job's next round,
//! hands new tasks to the dispatcher, and applies job changes as they arrive.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::sync::mpsc;

use super::ConditionEngine;
pub use crate::time::service::Handle;
use crate::{Result, dispatch::Dispatcher, time::service::Command};

/// Drives a [`ConditionEngine`].
#[derive(Debug)]
pub struct ConditionService {
    engine: ConditionEngine,
    dispatcher: Arc<dyn Dispatcher>,
    commands: mpsc::Receiver<Command>,
    /// When set, tick only every this long instead of at each due instant (how a polling
    /// scheduler behaves; used as the latency benchmark's baseline).
    poll: Option<Duration>,
    /// Longest sleep between ticks (default 1 s).
    max_sleep: Duration,
}

impl ConditionService {
    /// A service over `engine`, and the handle that controls it.
    pub fn new(engine: ConditionEngine, dispatcher: Arc<dyn Dispatcher>) -> (Self, Handle) {
        let (handle, rx) = Handle::channel();
        let service = Self {
            engine,
            dispatcher,
            commands: rx,
            poll: None,
            max_sleep: Duration::from_secs(1),
        };
        (service, handle)
    }

    /// Ticks only every `every` (a polling scheduler) instead of at each due instant.
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll = Some(every);
        self
    }

    /// Runs until `shutdown` completes.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<ConditionEngine> {
        tokio::pin!(shutdown);
        loop {
            for task in self.engine.tick().await? {
                self.dispatcher.dispatch(task).await?;
            }
            let now = self.engine.clock.now();
            let sleep = self
                .engine
                .next_wakeup()
                .map(|t| {
                    let ms = (t.as_millis() - now.as_millis()).max(0);
                    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
                })
                .unwrap_or(self.max_sleep)
                .min(self.max_sleep);
            let sleep = self.poll.unwrap_or(sleep);
            tokio::select! {
                () = &mut shutdown => return Ok(self.engine),
                () = tokio::time::sleep(sleep) => {}
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Upsert(job)) => self.engine.upsert_job(&job)?,
                    Some(Command::Remove(id)) => self.engine.remove_job(id),
                    None => tokio::time::sleep(sleep).await,
                },
            }
        }
    }
}
