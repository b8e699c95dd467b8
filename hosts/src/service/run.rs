//! Each service: parse its sections, wire ONE role with the same `crate::roles` functions the
//! devnet uses, run until a signal, stop in order.

use std::{path::Path, sync::Arc, time::Duration};

use alloy::primitives::Address;

use tokio::task::JoinHandle;
use triggerx_core::transport::{Transport, p2p::P2pTransport};
use triggerx_keeper::{attester, checkin};
use triggerx_scheduler::{
    aggregator,
    health::{self, AlertSink, TelegramSink, WebhookSink},
    registrar,
};

use super::{
    Role,
    config::{Config, Secret},
    host::{Host, Joined, load_key, required},
    metrics::stat_counters,
};
use crate::roles::{self, Stop, StopSender, Tasks, keeper, scheduler};

/// How long each task may take to stop after its signal.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// A running service.
#[derive(Debug)]
pub(crate) struct Running {
    stop_triggers: StopSender,
    stop: StopSender,
    /// Tasks that create work (the scheduler's trigger engines): stopped first.
    triggers: Tasks,
    /// Everything else.
    services: Tasks,
    /// Tasks that end only by being aborted.
    aborted: Tasks,
    transport: Option<Arc<P2pTransport>>,
    refresh: Option<JoinHandle<()>>,
}

impl Running {
    fn new() -> (Self, Stop, Stop) {
        let (stop_triggers, triggers_rx) = StopSender::new();
        let (stop, rx) = StopSender::new();
        (
            Self {
                stop_triggers,
                stop,
                triggers: Tasks::default(),
                services: Tasks::default(),
                aborted: Tasks::default(),
                transport: None,
                refresh: None,
            },
            triggers_rx,
            rx,
        )
    }

    fn joined(&mut self, joined: &Joined) {
        self.transport = Some(joined.transport.clone());
    }

    /// Stops in order: the triggers (no new work), then every other task, then the transport.
    pub(crate) async fn stop(mut self) {
        self.stop_triggers.fire();
        self.triggers.join(STOP_LIMIT).await;
        self.aborted.abort();
        self.stop.fire();
        self.services.join(STOP_LIMIT).await;
        if let Some(r) = self.refresh.take() {
            r.abort();
        }
        if let Some(t) = self.transport.take() {
            t.shutdown().await;
        }
    }
}

/// Starts `host.role`.
pub(crate) async fn start(host: &Host) -> anyhow::Result<Running> {
    match host.role {
        Role::Keeper => keeper(host).await,
        Role::Scheduler => scheduler(host).await,
        Role::Aggregator => aggregator(host).await,
        Role::Registrar => registrar(host),
        Role::Health => health(host).await,
    }
}

async fn join(
    host: &Host,
    running: &mut Running,
    signer: &alloy::signers::local::PrivateKeySigner,
) -> anyhow::Result<Arc<dyn Transport>> {
    let joined = host.join(signer).await?;
    running.joined(&joined);
    running.refresh = Some(joined.refresh);
    Ok(joined.transport)
}

async fn keeper(host: &Host) -> anyhow::Result<Running> {
    let c = &host.config;
    let k = &c.keeper;
    let signer = load_key("keeper", k.key.as_ref(), k.key_file.as_deref())?;
    let settings = keeper::Settings {
        chain_id: host.chain_id,
        task_hub: host.contract("task_hub", c.chain.task_hub)?,
        keeper_registry: host.contract("keeper_registry", c.chain.keeper_registry)?,
        scheduler: host.member("scheduler", c.network.scheduler)?,
        engine: k.engine.to_library(),
        attester: attester::ServiceConfig {
            assignment_wait: k.attester.assignment_wait,
            max_concurrent: k.attester.max_concurrent,
            ..attester::ServiceConfig::default()
        },
        checkin: checkin::Config {
            interval: k.checkin_interval,
            ..checkin::Config::default()
        },
    };
    let checks = keeper::Checks {
        time: k.attester.time_window,
        event: k.attester.event_window,
        condition: k.attester.condition_window,
        clock_skew: k.attester.clock_skew,
        require_spec_hash: k.attester.require_spec_hash,
    };
    let (mut running, _, stop) = Running::new();
    let transport = join(host, &mut running, &signer).await?;
    let mut settings = settings;
    settings.checkin.peer_id = running.transport.as_ref().map(|t| t.peer_id());
    let role = keeper::start_with_checks(
        host.client.clone(),
        signer,
        transport,
        host.clock.clone(),
        settings,
        checks,
        &stop,
    )
    .await?;
    let m = role.monitors.clone();
    host.metrics.add(move |out| {
        stat_counters!(
            out,
            "triggerx_engine",
            "Transaction engine",
            m.engine.stats(),
            [sent, replacements, rebroadcasts, gap_fills, resyncs]
        );
        stat_counters!(
            out,
            "triggerx_performer",
            "Performer",
            m.performer.stats(),
            [executed, ignored, failed]
        );
        stat_counters!(
            out,
            "triggerx_attester",
            "Attester",
            m.attester.stats(),
            [
                assignments,
                untrusted_assignments,
                malformed_assignments,
                reports,
                malformed_reports,
                forged_reports,
                own_reports,
                duplicate_reports,
                unknown_tasks,
                approved,
                rejected,
                check_errors,
                published,
                publish_errors,
            ]
        );
    });
    tracing::info!(keeper = %role.address, "keeper running: performer, attester, check-ins");
    running.services.extend(role.tasks);
    Ok(running)
}

async fn scheduler(host: &Host) -> anyhow::Result<Running> {
    let c = &host.config;
    let s = &c.scheduler;
    let signer = load_key("scheduler", s.key.as_ref(), s.key_file.as_deref())?;
    let mut settings =
        scheduler::Settings::new(host.chain_id, host.contract("task_hub", c.chain.task_hub)?);
    settings.execution_timeout = s.execution_timeout;
    settings.event_poll = s.event_poll;
    settings.ws_endpoint = s.new_heads.then(|| host.ws_url());
    settings.fetch_timeout = s.fetch_timeout;
    settings.fetch_limit = s.max_response_bytes;
    let store = host.store()?;
    let (mut running, stop_triggers, stop) = Running::new();
    let transport = join(host, &mut running, &signer).await?;
    let role = scheduler::start(
        host.client.clone(),
        store,
        transport,
        host.clock.clone(),
        settings,
        &stop_triggers,
        &stop,
    )
    .await?;
    tracing::info!(scheduler = %signer.address(), "scheduler running: time, event and condition engines, assigner");
    running.triggers.extend(role.triggers);
    running.services.extend(role.services);
    running.aborted.extend(role.aborted);
    Ok(running)
}

async fn aggregator(host: &Host) -> anyhow::Result<Running> {
    let c = &host.config;
    let a = &c.aggregator;
    let signer = load_key("aggregator", a.key.as_ref(), a.key_file.as_deref())?;
    let registry = host.contract("keeper_registry", c.chain.keeper_registry)?;
    let scheduler = host.member("scheduler", c.network.scheduler)?;
    let mut config = aggregator::Config::new(
        registry,
        host.chain_id,
        c.chain.rpc_urls[0].clone(),
        signer.clone(),
    );
    config.collect_timeout = a.collect_timeout;
    config.linger_after_impossible = a.linger_after_impossible;
    config.receipt_timeout = a.receipt_timeout;
    config.power_ttl = a.power_ttl;
    let store = host.store()?;
    let (mut running, _, stop) = Running::new();
    let transport = join(host, &mut running, &signer).await?;
    let role = roles::aggregator::start(
        config,
        store,
        host.clock.clone(),
        transport,
        scheduler,
        &stop,
    )?;
    let agg = role.aggregator.clone();
    host.metrics.add(move |out| {
        stat_counters!(
            out,
            "triggerx_aggregator",
            "Aggregator",
            agg.stats(),
            [
                received,
                counted,
                forged,
                unregistered,
                duplicates,
                equivocations,
                late,
                overloaded,
                malformed,
                untrusted_assignments,
                verdicts_submitted,
                settled_by_others,
                submit_failures,
                deferred,
                expired,
                abandoned,
                recorded,
                record_failures,
            ]
        );
    });
    tracing::info!(aggregator = %signer.address(), "aggregator running");
    running.services.extend(role.tasks);
    Ok(running)
}

fn registrar(host: &Host) -> anyhow::Result<Running> {
    let c = &host.config;
    let r = &c.registrar;
    let mut config = registrar::Config::new(
        host.contract("keeper_registry", c.chain.keeper_registry)?,
        host.contract("task_hub", c.chain.task_hub)?,
    )
    .with_confirmations(r.confirmations)
    .with_start_block(r.start_block);
    config.max_block_range = r.max_block_range;
    if let Some(j) = c.chain.job_registry {
        config = config.with_job_registry(j);
    }
    let store = host.store()?;
    let (mut running, _, stop) = Running::new();
    let tasks = roles::registrar::start(
        host.chain_id,
        host.client.clone(),
        store,
        config,
        r.poll_interval,
        &stop,
    )?;
    tracing::info!("registrar running");
    running.services.extend(tasks);
    Ok(running)
}

async fn health(host: &Host) -> anyhow::Result<Running> {
    let c = &host.config;
    let h = &c.health;
    let signer = load_key("health", h.key.as_ref(), h.key_file.as_deref())?;
    let mut sinks: Vec<Arc<dyn AlertSink>> = Vec::new();
    if let Some(url) = &h.webhook_url {
        sinks.push(Arc::new(WebhookSink::new(url.expose())));
    }
    if let Some(t) = &h.telegram {
        sinks.push(Arc::new(TelegramSink::new(
            &t.base_url,
            t.token.expose(),
            &t.chat_id,
        )));
    }
    let config = health::Config {
        silence: h.silence,
        alert_after: h.alert_after,
    };
    let store = host.store()?;
    let (mut running, _, stop) = Running::new();
    let transport = join(host, &mut running, &signer).await?;
    let n = sinks.len();
    let tasks = roles::health::start(store, transport, host.clock.clone(), config, sinks, &stop);
    tracing::info!(health = %signer.address(), alert_sinks = n, "health running");
    running.services.extend(tasks);
    Ok(running)
}

/// Checks, without touching the chain or the network, that `config` has what `role` needs:
/// its key loads, its contracts and service addresses are set and consistent.
pub(crate) fn check(role: Role, config: &Config) -> anyhow::Result<()> {
    let c = &config.chain;
    let n = &config.network;
    let need = |field: &str, v: Option<Address>| required(role, field, v).map(drop);
    if c.rpc_urls.is_empty() {
        anyhow::bail!("chain.rpc_urls is empty: give at least one HTTP RPC endpoint");
    }
    // Every libp2p service needs the registry (its members); the registrar follows it.
    need("chain.keeper_registry", c.keeper_registry)?;
    let own =
        |section: &str, key: Option<&Secret>, file: Option<&Path>, member: Option<Address>| {
            let signer = load_key(section, key, file)?;
            if let Some(m) = member
                && m != signer.address()
            {
                anyhow::bail!(
                    "{section}.key belongs to {} but network.{section} is {m}: the other services \
                 would not recognise it",
                    signer.address()
                );
            }
            Ok(())
        };
    match role {
        Role::Keeper => {
            let k = &config.keeper;
            load_key("keeper", k.key.as_ref(), k.key_file.as_deref())?;
            need("chain.task_hub", c.task_hub)?;
            need("network.scheduler", n.scheduler)?;
        }
        Role::Scheduler => {
            let s = &config.scheduler;
            own(
                "scheduler",
                s.key.as_ref(),
                s.key_file.as_deref(),
                n.scheduler,
            )?;
            need("chain.task_hub", c.task_hub)?;
        }
        Role::Aggregator => {
            let a = &config.aggregator;
            own(
                "aggregator",
                a.key.as_ref(),
                a.key_file.as_deref(),
                n.aggregator,
            )?;
            need("network.scheduler", n.scheduler)?;
        }
        Role::Registrar => need("chain.task_hub", c.task_hub)?,
        Role::Health => {
            let h = &config.health;
            own("health", h.key.as_ref(), h.key_file.as_deref(), n.health)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    const REGISTRY: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    const KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    fn config(env: &[(&str, &str)]) -> Config {
        let mut vars = vec![
            ("TRIGGERX__CHAIN__TASK_HUB".to_owned(), HUB.to_owned()),
            (
                "TRIGGERX__CHAIN__KEEPER_REGISTRY".to_owned(),
                REGISTRY.to_owned(),
            ),
        ];
        vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Config::from_parts(None, None, vars).unwrap()
    }

    fn err(role: Role, c: &Config) -> String {
        format!("{:#}", check(role, c).unwrap_err())
    }

    #[test]
    fn each_service_is_checked_for_what_it_needs() {
        // The registrar needs only the contracts.
        check(Role::Registrar, &config(&[])).unwrap();
        let bare = Config::default();
        assert!(err(Role::Registrar, &bare).contains("TRIGGERX__CHAIN__KEEPER_REGISTRY"));

        // A keeper needs its key and the scheduler's address.
        assert!(err(Role::Keeper, &config(&[])).contains("keeper.key_file"));
        let c = config(&[("TRIGGERX__KEEPER__KEY", KEY)]);
        assert!(err(Role::Keeper, &c).contains("network.scheduler"));
        let scheduler = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let c = config(&[
            ("TRIGGERX__KEEPER__KEY", KEY),
            ("TRIGGERX__NETWORK__SCHEDULER", scheduler),
        ]);
        check(Role::Keeper, &c).unwrap();

        // A service's key must be the address the others know it by.
        let c = config(&[
            ("TRIGGERX__SCHEDULER__KEY", KEY),
            (
                "TRIGGERX__NETWORK__SCHEDULER",
                "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            ),
        ]);
        assert!(err(Role::Scheduler, &c).contains("network.scheduler"));
        let c = config(&[
            ("TRIGGERX__SCHEDULER__KEY", KEY),
            ("TRIGGERX__NETWORK__SCHEDULER", scheduler),
        ]);
        check(Role::Scheduler, &c).unwrap();
        let c = config(&[("TRIGGERX__HEALTH__KEY", KEY)]);
        check(Role::Health, &c).unwrap();
        let c = config(&[("TRIGGERX__AGGREGATOR__KEY", KEY)]);
        assert!(err(Role::Aggregator, &c).contains("network.scheduler"));
    }
}
