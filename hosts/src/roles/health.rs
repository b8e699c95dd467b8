//! The health role: counts signed check-ins, marks keepers online and offline, sends alerts.

use std::{sync::Arc, time::Duration};

use triggerx_core::{clock::Clock, store::Store, transport::Transport};
use triggerx_scheduler::health::{AlertSink, Config, Health};

use super::{Stop, Tasks, log_end};

/// How often health re-evaluates silence.
const TICK: Duration = Duration::from_secs(1);

/// Starts health on `transport`, writing keeper state to `store`.
pub(crate) fn start(
    store: Arc<dyn Store>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    config: Config,
    sinks: Vec<Arc<dyn AlertSink>>,
    stop: &Stop,
) -> Tasks {
    let health = Health::new(store, clock, config, sinks);
    let s = stop.wait();
    let mut tasks = Tasks::default();
    tasks.push(
        "health",
        tokio::spawn(async move { log_end("health", health.run(transport, TICK, s).await) }),
    );
    tasks
}
