//! [`AggregatorService`]: runs an [`Aggregator`] over a transport — attestations, reports and
//! assignments in, settled verdicts out on `topics::VERDICTS`.

use std::{future::Future, sync::Arc, time::Duration};

use alloy::primitives::Address;
use tokio::{sync::mpsc, task::JoinSet};
use triggerx_core::{
    protocol::{self, Assignment, RecoveredReport, topics},
    transport::{Message, Transport},
    types::{Attestation, ExecutionReport},
};

use super::{Admission, Aggregator, Error, Result, SettledVerdict, StatsSnapshot, inc};

/// Runs an [`Aggregator`] on a transport.
#[derive(Debug)]
pub struct AggregatorService {
    aggregator: Arc<Aggregator>,
    transport: Arc<dyn Transport>,
    tick: Duration,
    max_in_flight: usize,
    scheduler: Option<Address>,
    attestations: mpsc::Receiver<Message>,
    reports: mpsc::Receiver<Message>,
    assignments: mpsc::Receiver<Message>,
    recovered: mpsc::Receiver<Message>,
}

impl AggregatorService {
    /// A service ticking every second, with at most 64 attestations in flight. It subscribes
    /// to attestations, reports and assignments right away (queues of `queue` messages each),
    /// so nothing published after this call is missed.
    pub fn new(aggregator: Arc<Aggregator>, transport: Arc<dyn Transport>, queue: usize) -> Self {
        Self {
            attestations: transport.subscribe(topics::ATTESTATIONS, queue),
            reports: transport.subscribe(topics::REPORTS, queue),
            assignments: transport.subscribe(topics::ASSIGNMENTS, queue),
            recovered: transport.subscribe(topics::RECOVERED, queue),
            aggregator,
            transport,
            tick: Duration::from_secs(1),
            max_in_flight: 64,
            scheduler: None,
        }
    }

    /// Takes assignments only from `scheduler` (the verified envelope sender); others are
    /// dropped and counted. Without it, assignments from any member are used, which lets a
    /// member misname the `jobId` of a task missing from the store (the contract does not
    /// check it; see `docs/trust-model.md`).
    pub fn with_trusted_scheduler(mut self, scheduler: Address) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// Sets how often [`Aggregator::tick`] runs.
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// The aggregator (for its stats).
    pub fn aggregator(&self) -> &Arc<Aggregator> {
        &self.aggregator
    }

    /// The aggregator's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.aggregator.stats()
    }

    /// Runs until `shutdown` completes (in-flight settlements are then cancelled; they are
    /// safe to redo). Ends with [`Error::TransportClosed`] when the transport goes away.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        let mut attestations = std::mem::replace(&mut self.attestations, mpsc::channel(1).1);
        let mut reports = std::mem::replace(&mut self.reports, mpsc::channel(1).1);
        let mut assignments = std::mem::replace(&mut self.assignments, mpsc::channel(1).1);
        let mut recovered = std::mem::replace(&mut self.recovered, mpsc::channel(1).1);
        let mut ticker = tokio::time::interval(self.tick.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut work: JoinSet<Vec<SettledVerdict>> = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                msg = attestations.recv(), if work.len() < self.max_in_flight => {
                    let msg = msg.ok_or(Error::TransportClosed)?;
                    self.on_attestation(msg, &mut work);
                }
                msg = reports.recv() => {
                    let msg = msg.ok_or(Error::TransportClosed)?;
                    if let Some(r) = self.decode::<ExecutionReport>(&msg)
                        && self.aggregator.observe_report(&r)
                    {
                        self.spawn_tick(&mut work);
                    }
                }
                msg = assignments.recv() => {
                    let msg = msg.ok_or(Error::TransportClosed)?;
                    if self.scheduler.is_some_and(|s| s != msg.sender) {
                        inc(&self.aggregator.counters().untrusted_assignments);
                    } else if let Some(a) = self.decode::<Assignment>(&msg)
                        && self.aggregator.observe_assignment(&a)
                    {
                        self.spawn_tick(&mut work);
                    }
                }
                // A report the scheduler rebuilt from the chain, with its assignment: both are
                // remembered like a performer's report and an assignment.
                msg = recovered.recv() => {
                    let msg = msg.ok_or(Error::TransportClosed)?;
                    if self.scheduler.is_some_and(|s| s != msg.sender) {
                        inc(&self.aggregator.counters().untrusted_assignments);
                    } else if let Some(r) = self.decode::<RecoveredReport>(&msg) {
                        let waiting = self.aggregator.observe_assignment(&r.assignment);
                        if self.aggregator.observe_report(&r.report) || waiting {
                            self.spawn_tick(&mut work);
                        }
                    }
                }
                _ = ticker.tick() => self.spawn_tick(&mut work),
                Some(done) = work.join_next() => match done {
                    Ok(verdicts) => self.publish(verdicts).await,
                    Err(e) if e.is_panic() => tracing::error!(error = %e, "aggregator task panicked"),
                    Err(_) => {}
                },
            }
        }
    }

    fn decode<T: for<'de> serde::Deserialize<'de>>(&self, msg: &Message) -> Option<T> {
        let decoded = protocol::decode::<T>(&msg.payload);
        if decoded.is_none() {
            inc(&self.aggregator.counters().malformed);
            tracing::debug!(topic = %msg.topic, sender = %msg.sender, "malformed payload dropped");
        }
        decoded
    }

    fn on_attestation(&self, msg: Message, work: &mut JoinSet<Vec<SettledVerdict>>) {
        let Some(a) = self.decode::<Attestation>(&msg) else {
            return;
        };
        let aggregator = Arc::clone(&self.aggregator);
        work.spawn(async move {
            match aggregator.handle_attestation(a).await {
                Ok(Admission::Settled(v)) => vec![v],
                Ok(_) => Vec::new(),
                Err(e) => {
                    tracing::warn!(error = %e, "attestation not processed");
                    Vec::new()
                }
            }
        });
    }

    fn spawn_tick(&self, work: &mut JoinSet<Vec<SettledVerdict>>) {
        let aggregator = Arc::clone(&self.aggregator);
        work.spawn(async move { aggregator.tick().await });
    }

    async fn publish(&self, verdicts: Vec<SettledVerdict>) {
        for v in verdicts {
            if let Err(e) = self
                .transport
                .publish(topics::VERDICTS, protocol::encode(&v))
                .await
            {
                tracing::warn!(task = %v.task_id, error = %e, "publishing the verdict failed");
            }
        }
    }
}
