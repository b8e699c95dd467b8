//! The dispatcher interface: where engines hand the tasks they create.
//!
//! A task is first committed to the store (idempotently, by occurrence), then handed over. If
//! the process stops between the two, the task is in the store in state `created`; a dispatcher
//! starting up picks such tasks up from the store (`TaskFilter { status: Created }`), so nothing
//! is lost.

use tokio::sync::mpsc;
use triggerx_core::types::Task;

use crate::{Error, Result};

/// Receives newly created tasks. Object-safe through `async_trait` (engines hold an
/// `Arc<dyn Dispatcher>`).
#[async_trait::async_trait]
pub trait Dispatcher: Send + Sync + std::fmt::Debug {
    /// Hands over a task, waiting while the dispatcher is busy (back-pressure); fails when the
    /// dispatcher is gone.
    async fn dispatch(&self, task: Task) -> Result<()>;
}

/// A dispatcher that forwards tasks over a bounded channel.
#[derive(Debug, Clone)]
pub struct ChannelDispatcher(mpsc::Sender<Task>);

impl ChannelDispatcher {
    /// A dispatcher and the receiving end of its channel, holding at most `capacity` tasks.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Task>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self(tx), rx)
    }
}

#[async_trait::async_trait]
impl Dispatcher for ChannelDispatcher {
    async fn dispatch(&self, task: Task) -> Result<()> {
        self.0.send(task).await.map_err(|_| Error::DispatcherClosed)
    }
}
