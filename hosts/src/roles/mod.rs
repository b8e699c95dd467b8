//! The network's roles, each wired from library parts onto a transport, a store and a chain
//! client. `triggerx devnet` starts every role in one process over the in-process transport; a
//! service host (`triggerx keeper`, `triggerx scheduler`, …) starts one role over libp2p. Both
//! call the same functions, so the process layout is the same.
//!
//! Every role stops when its [`Stop`] signal fires; the scheduler has a second, earlier signal
//! for its trigger engines (no new tasks), so in-flight work can finish first.

pub(crate) mod aggregator;
pub(crate) mod health;
pub(crate) mod keeper;
pub(crate) mod registrar;
pub(crate) mod scheduler;

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};

/// A stop signal: cheap to clone into every service, fired once.
#[derive(Debug, Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

/// The sending side of a [`Stop`].
#[derive(Debug)]
pub(crate) struct StopSender(watch::Sender<bool>);

impl StopSender {
    /// A new signal, not fired.
    pub(crate) fn new() -> (Self, Stop) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), Stop(rx))
    }

    /// Fires the signal.
    pub(crate) fn fire(&self) {
        let _ = self.0.send(true);
    }
}

impl Stop {
    /// A future that completes once the signal fires.
    pub(crate) fn wait(&self) -> impl Future<Output = ()> + use<> {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }
}

/// Logs a service's end when it was an error.
pub(crate) fn log_end<E: std::fmt::Display>(what: &'static str, r: Result<impl Sized, E>) {
    if let Err(e) = r {
        tracing::error!(service = what, error = %e, "service stopped with an error");
    }
}

/// The tasks of a running role.
#[derive(Debug, Default)]
pub(crate) struct Tasks(Vec<(&'static str, JoinHandle<()>)>);

impl Tasks {
    /// Adds a task.
    pub(crate) fn push(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.0.push((name, task));
    }

    /// Moves `other`'s tasks into this one.
    pub(crate) fn extend(&mut self, other: Tasks) {
        self.0.extend(other.0);
    }

    /// Waits for every task to end (after its stop signal), each up to `limit`.
    pub(crate) async fn join(&mut self, limit: Duration) {
        for (name, t) in self.0.drain(..) {
            if tokio::time::timeout(limit, t).await.is_err() {
                tracing::warn!(service = name, "a service did not stop in time");
            }
        }
    }

    /// Aborts every task at once, as a crash would.
    pub(crate) fn abort(&mut self) {
        for (_, t) in self.0.drain(..) {
            t.abort();
        }
    }
}
