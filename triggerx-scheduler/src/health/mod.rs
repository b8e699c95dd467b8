//! The health service ("pulse"): verifies keepers' signed check-ins, marks them online or
//! offline, records uptime, and alerts operators.
//!
//! - **Check-ins** arrive on [`topics::CHECKINS`] as signed transport envelopes (forged,
//!   unsigned, stale and replayed envelopes never reach this service; the transport counts
//!   them). A check-in counts only from a **registered** keeper and only with a signed timestamp
//!   **later** than that keeper's previous check-in (so an old check-in replayed after a restart
//!   is rejected too).
//! - **Online/offline**: a keeper is online from a valid check-in until `silence` passes
//!   without one (default 180 s = three missed 60 s check-ins); the store's `online` flag is what
//!   performer selection reads, so an offline keeper is not selected.
//! - **Uptime**: the time between consecutive check-ins of an online keeper, each gap counted at
//!   most up to `silence`, accumulated in `Keeper::uptime_secs`.
//! - **Alerts**: after `alert_after` offline (default 10 min) every sink gets one offline
//!   notice; when the keeper checks in again, a recovery notice. Failed deliveries are retried on
//!   later ticks until each sink has it.

pub mod alert;

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy_primitives::Address;
use triggerx_core::{
    Timestamp,
    clock::Clock,
    protocol::{self, CheckIn, topics},
    store::{KeeperFilter, Store},
    transport::{Message, Transport},
    types::Keeper,
};

pub use self::alert::{Alert, AlertError, AlertKind, AlertSink, TelegramSink, WebhookSink};
use crate::Result;

/// Health settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Silence after which a keeper is offline (default 180 s).
    pub silence: Duration,
    /// Offline time after which operators are alerted (default 10 min).
    pub alert_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            silence: Duration::from_secs(180),
            alert_after: Duration::from_secs(600),
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Check-ins accepted.
    pub checkins: u64,
    /// Check-ins rejected: unknown or deregistered keeper.
    pub unknown_keeper: u64,
    /// Check-ins rejected: not later than the keeper's previous one.
    pub replayed: u64,
    /// Check-ins rejected: malformed payload.
    pub malformed: u64,
    /// Keepers marked offline.
    pub went_offline: u64,
    /// Alerts delivered (per sink).
    pub alerts_sent: u64,
    /// Alert deliveries that failed (retried later).
    pub alert_failures: u64,
}

#[derive(Debug, Default)]
struct Outage {
    since: Timestamp,
    /// Sinks (by index) that have the offline notice.
    offline_sent: Vec<bool>,
    /// Sinks that still need the recovery notice (after the keeper came back).
    recovery_pending: Vec<bool>,
}

/// The health service; see the [module docs](self).
pub struct Health {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: Config,
    sinks: Vec<Arc<dyn AlertSink>>,
    outages: HashMap<Address, Outage>,
    stats: Stats,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("config", &self.config)
            .field(
                "sinks",
                &self.sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Health {
    /// A health service alerting `sinks`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
        sinks: Vec<Arc<dyn AlertSink>>,
    ) -> Self {
        Self {
            store,
            clock,
            config,
            sinks,
            outages: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Handles a verified message on [`topics::CHECKINS`].
    pub async fn on_checkin(&mut self, msg: &Message) -> Result<bool> {
        let Some(checkin) = protocol::decode::<CheckIn>(&msg.payload) else {
            self.stats.malformed += 1;
            return Ok(false);
        };
        let Some(mut keeper) = self.store.get_keeper(msg.sender)?.filter(|k| k.registered) else {
            self.stats.unknown_keeper += 1;
            return Ok(false);
        };
        if keeper
            .last_checkin
            .is_some_and(|last| msg.timestamp <= last)
        {
            self.stats.replayed += 1;
            return Ok(false);
        }
        let now = self.clock.now();
        if keeper.online
            && let Some(last) = keeper.last_checkin
        {
            let gap =
                (msg.timestamp.as_millis() - last.as_millis()).clamp(0, ms(self.config.silence));
            keeper.uptime_secs += u64::try_from(gap / 1000).unwrap_or(0);
        }
        let was_offline = !keeper.online;
        keeper.online = true;
        keeper.last_checkin = Some(msg.timestamp);
        keeper.version = Some(checkin.version);
        if checkin.peer_id.is_some() {
            keeper.peer_id = checkin.peer_id;
        }
        self.store
            .update_keeper_liveness(keeper.address, &keeper.liveness())?;
        self.stats.checkins += 1;
        if was_offline && let Some(outage) = self.outages.get_mut(&keeper.address) {
            // Only keepers whose offline notice went out get a recovery notice.
            outage.recovery_pending = outage.offline_sent.clone();
            if !outage.recovery_pending.iter().any(|p| *p) {
                self.outages.remove(&keeper.address);
            }
        }
        self.deliver_recoveries(&keeper, now).await;
        Ok(true)
    }

    /// Marks silent keepers offline and sends due alerts.
    pub async fn tick(&mut self) -> Result<()> {
        let now = self.clock.now();
        let keepers = self.store.list_keepers(&KeeperFilter {
            registered: Some(true),
            online: None,
        })?;
        for mut keeper in keepers {
            let last = keeper.last_checkin.unwrap_or(keeper.registered_at);
            let silent = now.as_millis() - last.as_millis() > ms(self.config.silence);
            if keeper.online && silent {
                keeper.online = false;
                self.store
                    .update_keeper_liveness(keeper.address, &keeper.liveness())?;
                self.stats.went_offline += 1;
            }
            if !keeper.online {
                let sinks = self.sinks.len();
                let outage = self
                    .outages
                    .entry(keeper.address)
                    .or_insert_with(|| Outage {
                        since: last.add_millis(ms(self.config.silence)),
                        offline_sent: vec![false; sinks],
                        recovery_pending: vec![false; sinks],
                    });
                if now.as_millis() - outage.since.as_millis() >= ms(self.config.alert_after) {
                    self.deliver_offline(&keeper, now).await;
                }
            } else {
                self.deliver_recoveries(&keeper, now).await;
            }
        }
        Ok(())
    }

    async fn deliver_offline(&mut self, keeper: &Keeper, now: Timestamp) {
        let Some(outage) = self.outages.get(&keeper.address) else {
            return;
        };
        let minutes = (now.as_millis() - outage.since.as_millis()) / 60_000;
        let alert = Alert {
            kind: AlertKind::Offline,
            keeper: keeper.address,
            name: keeper.name.clone(),
            last_checkin: keeper.last_checkin,
            at: now,
            message: format!(
                "TriggerX keeper {} {} is OFFLINE: no check-in for {} min (last check-in {}).",
                display_name(keeper),
                keeper.address,
                minutes + ms(self.config.silence) / 60_000,
                keeper
                    .last_checkin
                    .map_or_else(|| "never".to_owned(), |t| t.to_string())
            ),
        };
        let pending: Vec<usize> = outage
            .offline_sent
            .iter()
            .enumerate()
            .filter(|(_, sent)| !**sent)
            .map(|(i, _)| i)
            .collect();
        for i in pending {
            let ok = self.send(i, &alert).await;
            if ok && let Some(o) = self.outages.get_mut(&keeper.address) {
                o.offline_sent[i] = true;
            }
        }
    }

    async fn deliver_recoveries(&mut self, keeper: &Keeper, now: Timestamp) {
        let Some(outage) = self.outages.get(&keeper.address) else {
            return;
        };
        if !keeper.online {
            return;
        }
        let alert = Alert {
            kind: AlertKind::Recovered,
            keeper: keeper.address,
            name: keeper.name.clone(),
            last_checkin: keeper.last_checkin,
            at: now,
            message: format!(
                "TriggerX keeper {} {} is back ONLINE (check-in at {}).",
                display_name(keeper),
                keeper.address,
                keeper
                    .last_checkin
                    .map_or_else(|| "?".to_owned(), |t| t.to_string())
            ),
        };
        let pending: Vec<usize> = outage
            .recovery_pending
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| i)
            .collect();
        for i in pending {
            if self.send(i, &alert).await
                && let Some(o) = self.outages.get_mut(&keeper.address)
            {
                o.recovery_pending[i] = false;
            }
        }
        if self
            .outages
            .get(&keeper.address)
            .is_some_and(|o| !o.recovery_pending.iter().any(|p| *p))
        {
            self.outages.remove(&keeper.address);
        }
    }

    async fn send(&mut self, sink: usize, alert: &Alert) -> bool {
        let Some(s) = self.sinks.get(sink).cloned() else {
            return false;
        };
        match s.send(alert).await {
            Ok(()) => {
                self.stats.alerts_sent += 1;
                true
            }
            Err(e) => {
                self.stats.alert_failures += 1;
                tracing::warn!(sink = s.name(), error = %e, "alert delivery failed; will retry");
                false
            }
        }
    }

    /// Runs: follows check-ins on `transport`, ticks every `tick`, until `shutdown`.
    pub async fn run(
        mut self,
        transport: Arc<dyn Transport>,
        tick: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<Self> {
        let mut checkins = transport.subscribe(topics::CHECKINS, 1024);
        let mut interval = tokio::time::interval(tick);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(self),
                Some(msg) = checkins.recv() => { self.on_checkin(&msg).await?; }
                _ = interval.tick() => self.tick().await?,
            }
        }
    }
}

fn display_name(k: &Keeper) -> String {
    if k.name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        format!("\"{}\"", k.name)
    }
}
