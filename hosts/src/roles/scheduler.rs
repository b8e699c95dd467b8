//! The scheduler role: the time, event and condition engines feed one dispatcher, and the
//! assigner hands the tasks to performers and follows them to settlement. The job watcher feeds
//! the engines the jobs created, paused, resumed or deleted in the store while they run
//! (`triggerx job …`, the registrar's cancellations).

use std::{sync::Arc, time::Duration};

use alloy::primitives::Address;
use triggerx_core::{chain::ChainClient, clock::Clock, store::Store, transport::Transport};
use triggerx_scheduler::{
    assign::{self, Assigner},
    condition::{self, ConditionEngine, DefaultFetcher, service::ConditionService},
    dispatch::ChannelDispatcher,
    event::{self, EventEngine, heads, service::EventService},
    time::{self, TimeEngine, service::Handle, service::TimeService},
    watch::{self, JobWatcher, Targets},
};

use super::{Stop, Tasks, log_end};

/// Tasks buffered between the engines and the assigner.
const DISPATCH_QUEUE: usize = 1024;
/// How often the assigner checks deadlines.
const ASSIGN_TICK: Duration = Duration::from_millis(200);

/// How the scheduler watches its triggers.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The chain the jobs watch and run on.
    pub(crate) chain_id: u64,
    /// The TaskHub contract.
    pub(crate) task_hub: Address,
    /// The WebSocket endpoint for new-heads wake-ups; polling only when `None`.
    pub(crate) ws_endpoint: Option<String>,
    /// How long a performer has to report before a backup is assigned.
    pub(crate) execution_timeout: Duration,
    /// The time engine's polling interval instead of waking at each due instant (the
    /// original's behaviour, for the latency baseline).
    pub(crate) time_poll: Option<Duration>,
    /// How often the event engine polls for new blocks.
    pub(crate) event_poll: Duration,
    /// The condition engine's polling interval instead of its sample grid.
    pub(crate) condition_poll: Option<Duration>,
    /// Timeout of one condition source fetch.
    pub(crate) fetch_timeout: Duration,
    /// Largest condition source response, in bytes.
    pub(crate) fetch_limit: usize,
    /// How often the job watcher looks for jobs changed in the store.
    pub(crate) watch_interval: Duration,
}

impl Settings {
    /// The defaults for `chain_id` and `task_hub`.
    pub(crate) fn new(chain_id: u64, task_hub: Address) -> Self {
        Self {
            chain_id,
            task_hub,
            ws_endpoint: None,
            execution_timeout: assign::Config::new(task_hub).execution_timeout,
            time_poll: None,
            event_poll: Duration::from_millis(500),
            condition_poll: None,
            fetch_timeout: Duration::from_secs(5),
            fetch_limit: 1 << 20,
            watch_interval: watch::Config::default().poll_interval,
        }
    }
}

/// The engines' handles, for adding and removing jobs while they run.
#[derive(Debug, Clone)]
#[expect(dead_code, reason = "the job watcher takes these (landing next)")]
pub(crate) struct Engines {
    /// The time engine.
    pub(crate) time: Handle,
    /// The event engine.
    pub(crate) event: Handle,
    /// The condition engine.
    pub(crate) condition: Handle,
}

/// A running scheduler.
#[derive(Debug)]
pub(crate) struct SchedulerRole {
    /// The trigger engines (stopped by the earlier signal).
    pub(crate) triggers: Tasks,
    /// The assigner.
    pub(crate) services: Tasks,
    /// Tasks that only end by being aborted (the new-heads subscription).
    pub(crate) aborted: Tasks,
    /// The engines' handles.
    pub(crate) engines: Engines,
}

/// Starts the scheduler: `stop_triggers` ends the engines (no new tasks), `stop` the assigner.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start(
    client: Arc<dyn ChainClient>,
    store: Arc<dyn Store>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    stop_triggers: &Stop,
    stop: &Stop,
) -> anyhow::Result<SchedulerRole> {
    let mut services = Tasks::default();
    let (dispatcher, rx) = ChannelDispatcher::new(DISPATCH_QUEUE);
    let dispatcher = Arc::new(dispatcher);
    let mut config = assign::Config::new(settings.task_hub);
    config.execution_timeout = settings.execution_timeout;
    // With the chain client the assigner settles executions whose report was lost (a crash
    // between the hub call and the report) from the hub's logs instead of reassigning them.
    let assigner =
        Assigner::new(store.clone(), transport, clock.clone(), config).with_chain(client.clone());
    let s = stop.wait();
    services.push(
        "assigner",
        tokio::spawn(async move { log_end("assigner", assigner.run(rx, ASSIGN_TICK, s).await) }),
    );

    let mut triggers = Tasks::default();
    let mut aborted = Tasks::default();
    // The watcher starts after the feed's head as it is before the engines load: what was
    // written before is in their load, what comes after reaches them through the watcher.
    let head = watch::head(store.as_ref())?;
    let mut engine = TimeEngine::new(store.clone(), time::Config::default());
    engine.load()?;
    let (mut service, time) = TimeService::new(engine, clock.clone(), dispatcher.clone());
    if let Some(every) = settings.time_poll {
        service = service.with_poll_interval(every);
    }
    let s = stop_triggers.wait();
    triggers.push(
        "time engine",
        tokio::spawn(async move { log_end("time engine", service.run(s).await) }),
    );

    let mut engine = EventEngine::new(
        settings.chain_id,
        client.clone(),
        store.clone(),
        clock.clone(),
        event::Config::default(),
    )?;
    engine.load()?;
    let (mut service, event) = EventService::new(engine, dispatcher.clone(), settings.event_poll);
    if let Some(ws) = &settings.ws_endpoint {
        match heads::subscribe(ws).await {
            Ok((heads, task)) => {
                service = service.with_new_heads(heads);
                aborted.push("new heads", task);
            }
            Err(e) => tracing::warn!(error = %e, "no new-heads subscription; polling only"),
        }
    }
    let s = stop_triggers.wait();
    triggers.push(
        "event engine",
        tokio::spawn(async move { log_end("event engine", service.run(s).await) }),
    );

    let fetcher = DefaultFetcher::new(settings.fetch_timeout, settings.fetch_limit)?
        .with_chain(settings.chain_id, client);
    let mut engine = ConditionEngine::new(
        store.clone(),
        clock,
        Arc::new(fetcher),
        condition::Config::default(),
    );
    engine.load()?;
    let (mut service, condition) = ConditionService::new(engine, dispatcher);
    if let Some(every) = settings.condition_poll {
        service = service.with_poll_interval(every);
    }
    let s = stop_triggers.wait();
    triggers.push(
        "condition engine",
        tokio::spawn(async move { log_end("condition engine", service.run(s).await) }),
    );

    let targets = Targets::new()
        .with_time(time.clone())
        .with_event(settings.chain_id, event.clone())
        .with_condition(condition.clone());
    let config = watch::Config {
        poll_interval: settings.watch_interval,
        ..watch::Config::default()
    };
    let watcher = JobWatcher::new(store, targets, config).starting_after(head);
    let s = stop_triggers.wait();
    triggers.push(
        "job watcher",
        tokio::spawn(async move { log_end("job watcher", watcher.run(s).await) }),
    );

    Ok(SchedulerRole {
        triggers,
        services,
        aborted,
        engines: Engines {
            time,
            event,
            condition,
        },
    })
}
