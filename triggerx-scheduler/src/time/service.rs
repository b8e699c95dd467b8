//! [`TimeService`]: drives a [`TimeEngine`] on tokio — sleeps until the next due instant, ticks,
//! hands new tasks to the dispatcher, and applies job changes (add, pause, resume, delete) as
//! they arrive.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::sync::mpsc;
use triggerx_core::{JobId, clock::Clock, types::Job};

use super::TimeEngine;
use crate::{Result, dispatch::Dispatcher};

/// A change to the set of time jobs.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start or update watching a job (an inactive job is removed; a resumed one does not catch
    /// up what was due while it was paused, see [`TimeEngine::apply_change`]).
    Upsert(Box<Job>),
    /// Stop watching a job.
    Remove(JobId),
}

/// A handle to send [`Command`]s to a running engine service ([`TimeService`], and the event
/// and condition services, which take the same commands).
#[derive(Debug, Clone)]
pub struct Handle(mpsc::Sender<Command>);

impl Handle {
    /// A handle and the receiving end its service reads.
    pub(crate) fn channel() -> (Self, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(1024);
        (Self(tx), rx)
    }

    /// Starts or updates watching a job.
    pub async fn upsert(&self, job: Job) -> bool {
        self.0.send(Command::Upsert(Box::new(job))).await.is_ok()
    }

    /// Stops watching a job.
    pub async fn remove(&self, id: JobId) -> bool {
        self.0.send(Command::Remove(id)).await.is_ok()
    }
}

/// Drives a [`TimeEngine`].
#[derive(Debug)]
pub struct TimeService {
    engine: TimeEngine,
    clock: Arc<dyn Clock>,
    dispatcher: Arc<dyn Dispatcher>,
    commands: mpsc::Receiver<Command>,
    /// When set, tick only every this long instead of at each due instant (how a polling
    /// scheduler behaves; used as the latency benchmark's baseline).
    poll: Option<Duration>,
    /// Longest sleep between ticks, so a clock change is noticed (default 1 s).
    max_sleep: Duration,
}

impl TimeService {
    /// A service over `engine`, and the handle that controls it.
    pub fn new(
        engine: TimeEngine,
        clock: Arc<dyn Clock>,
        dispatcher: Arc<dyn Dispatcher>,
    ) -> (Self, Handle) {
        let (handle, rx) = Handle::channel();
        let service = Self {
            engine,
            clock,
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

    /// Runs until `shutdown` completes or every [`Handle`] is dropped and no job is left.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<TimeEngine> {
        tokio::pin!(shutdown);
        loop {
            let now = self.clock.now();
            for task in self.engine.tick(now)? {
                self.dispatcher.dispatch(task).await?;
            }
            let sleep = match (self.poll, self.engine.next_wakeup()) {
                (Some(every), _) => every,
                (None, Some(t)) => {
                    let ms = (t.as_millis() - self.clock.now().as_millis()).max(0);
                    Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(self.max_sleep)
                }
                (None, None) => self.max_sleep,
            };
            tokio::select! {
                () = &mut shutdown => return Ok(self.engine),
                () = tokio::time::sleep(sleep) => {}
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Upsert(job)) => self.engine.apply_change(&job, self.clock.now())?,
                    Some(Command::Remove(id)) => self.engine.remove_job(id),
                    None if self.engine.is_empty() => return Ok(self.engine),
                    None => tokio::time::sleep(sleep).await,
                },
            }
        }
    }
}
