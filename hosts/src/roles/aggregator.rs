//! The aggregator role: collects attestations and settles each task's verdict on-chain.

use std::sync::Arc;

use alloy::primitives::Address;
use triggerx_core::{clock::Clock, store::Store, transport::Transport};
use triggerx_scheduler::aggregator::{Aggregator, AggregatorService, Config};

use super::{Stop, Tasks, log_end};

/// Reports queued before the aggregator applies back-pressure.
const QUEUE: usize = 1024;

/// A running aggregator.
#[derive(Debug)]
pub(crate) struct AggregatorRole {
    /// The aggregator, for its counters.
    pub(crate) aggregator: Arc<Aggregator>,
    /// Its service task.
    pub(crate) tasks: Tasks,
}

/// Starts the aggregator on `transport`, trusting assignments only from `scheduler`.
pub(crate) fn start(
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    scheduler: Address,
    stop: &Stop,
) -> anyhow::Result<AggregatorRole> {
    let aggregator = Arc::new(Aggregator::new(config, store, clock)?);
    let service = AggregatorService::new(aggregator.clone(), transport, QUEUE)
        .with_trusted_scheduler(scheduler);
    let s = stop.wait();
    let mut tasks = Tasks::default();
    tasks.push(
        "aggregator",
        tokio::spawn(async move { log_end("aggregator", service.run(s).await) }),
    );
    Ok(AggregatorRole { aggregator, tasks })
}
