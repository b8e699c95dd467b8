//! The registrar role: follows the registry, hub and job registry logs into the store.

use std::{sync::Arc, time::Duration};

use triggerx_core::{chain::ChainClient, store::Store};
use triggerx_scheduler::registrar::{Config, Registrar, RegistrarService};

use super::{Stop, Tasks, log_end};

/// Starts the registrar for `chain_id`, resuming from its stored cursor.
pub(crate) fn start(
    chain_id: u64,
    client: Arc<dyn ChainClient>,
    store: Arc<dyn Store>,
    config: Config,
    poll: Duration,
    stop: &Stop,
) -> anyhow::Result<Tasks> {
    let registrar = Registrar::new(chain_id, client, store, config)?;
    let service = RegistrarService::new(registrar, poll);
    let s = stop.wait();
    let mut tasks = Tasks::default();
    tasks.push(
        "registrar",
        tokio::spawn(async move { log_end("registrar", service.run(s).await) }),
    );
    Ok(tasks)
}
