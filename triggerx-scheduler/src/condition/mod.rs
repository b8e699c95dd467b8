//! The condition engine: sample sources on a fixed grid, compare exactly, fire on the edge or
//! on the level with a cooldown.
//!
//! **Rounds**: a job with poll interval `p` samples at round `r = floor(now / p)`; the
//! occurrence is (job, round), so a restart or a second scheduler within the same round cannot
//! create a second task.
//!
//! **One fetch per source per round**: due jobs are grouped by [`SourceKey`]; each distinct
//! source is fetched once (concurrently, bounded), however many jobs read it.
//!
//! **Failures** are retried with backoff inside the round, then reported (counted, logged) and
//! the round is skipped: a failed fetch or an unreadable response is never read as a value and
//! does not change the edge state.
//!
//! **Edge** mode fires when the comparison goes from false to true (the state before the first
//! sample counts as false, so a condition already true at the first sample fires once). **Level**
//! mode fires on every true sample at most once per cooldown. The state (last round, last truth,
//! last firing) is persisted in the same commit as the tasks (`condition/<job>` checkpoint).
//!
//! The value is read by [`triggerx_core::condition::extract`] and compared by
//! [`Comparison::holds`](triggerx_core::types::Comparison::holds), the same functions the
//! attester uses.

pub mod fetch;
pub mod service;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use alloy_primitives::Bytes;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use triggerx_core::{
    JobId, Timestamp,
    clock::Clock,
    condition::extract,
    ids::Occurrence,
    store::{Store, WriteBatch},
    types::{
        Comparison, Evidence, FireMode, Job, JobStatus, Task, Trigger, TriggerKind, ValueSource,
    },
};

pub use self::fetch::{DefaultFetcher, FetchError, SourceFetcher, SourceKey};
use crate::Result;

/// Condition engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most sources fetched at once (default 32).
    pub max_concurrent_fetches: usize,
    /// Attempts per source per round (default 3).
    pub attempts: u32,
    /// Backoff before the second attempt, doubled after each (default 200 ms).
    pub retry_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_concurrent_fetches: 32,
            attempts: 3,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Counters the engine keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks created.
    pub fired: u64,
    /// Occurrences whose task already existed.
    pub already_existed: u64,
    /// Source fetches made (attempts included).
    pub fetches: u64,
    /// Sources that failed every attempt of a round.
    pub fetch_failures: u64,
    /// Responses the value could not be read from.
    pub extract_failures: u64,
    /// Samples evaluated.
    pub samples: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    last_round: Option<u64>,
    was_true: bool,
    last_fire: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Watched {
    source: ValueSource,
    key: SourceKey,
    comparison: Comparison,
    poll_ms: u64,
    mode: FireMode,
    recurring: bool,
    expires_at: Option<Timestamp>,
    state: State,
}

impl Watched {
    fn round_at(&self, now: Timestamp) -> u64 {
        u64::try_from(now.as_millis()).unwrap_or(0) / self.poll_ms.max(1)
    }

    fn due(&self, now: Timestamp) -> bool {
        self.state.last_round.is_none_or(|r| self.round_at(now) > r)
    }

    fn next_round_start(&self, now: Timestamp) -> Timestamp {
        let r = self.round_at(now) + u64::from(!self.due(now));
        Timestamp::from_millis(i64::try_from(r.saturating_mul(self.poll_ms)).unwrap_or(i64::MAX))
    }
}

/// The checkpoint key of a job's state.
pub fn state_key(job: JobId) -> String {
    format!("condition/{job}")
}

/// The condition engine; see the [module docs](self).
pub struct ConditionEngine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    fetcher: Arc<dyn SourceFetcher>,
    config: Config,
    jobs: HashMap<JobId, Watched>,
    stats: Stats,
}

impl std::fmt::Debug for ConditionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionEngine")
            .field("jobs", &self.jobs.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ConditionEngine {
    /// An empty engine.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn SourceFetcher>,
        config: Config,
    ) -> Self {
        Self {
            store,
            clock,
            fetcher,
            config,
            jobs: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How many jobs are watched.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether no job is watched.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Loads every active condition job from the store; returns how many.
    pub fn load(&mut self) -> Result<usize> {
        let store = self.store.clone();
        crate::jobs::for_each_active(store.as_ref(), TriggerKind::Condition, 1000, |job| {
            self.upsert_job(job)?;
            Ok(true)
        })
    }

    /// Starts watching a job, or updates it; a job that is not an active condition job is
    /// removed.
    pub fn upsert_job(&mut self, job: &Job) -> Result<()> {
        let Trigger::Condition(trigger) = &job.trigger else {
            self.jobs.remove(&job.id);
            return Ok(());
        };
        if job.status != JobStatus::Active {
            self.jobs.remove(&job.id);
            return Ok(());
        }
        let state = match self.store.get_checkpoint(&state_key(job.id))? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                triggerx_core::Error::Corrupt(format!("condition state of job {}: {e}", job.id))
            })?,
            None => State::default(),
        };
        self.jobs.insert(
            job.id,
            Watched {
                key: SourceKey::of(&trigger.source),
                source: trigger.source.clone(),
                comparison: trigger.comparison.clone(),
                poll_ms: trigger.poll_interval_ms.max(1),
                mode: trigger.mode,
                recurring: job.recurring,
                expires_at: job.expires_at,
                state,
            },
        );
        Ok(())
    }

    /// Stops watching a job. Takes effect at once.
    pub fn remove_job(&mut self, id: JobId) {
        self.jobs.remove(&id);
    }

    /// The earliest instant at which [`tick`](Self::tick) has work.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let now = self.clock.now();
        self.jobs.values().map(|w| w.next_round_start(now)).min()
    }

    /// Samples every job whose round has come: fetches each distinct source once, evaluates,
    /// and commits the new tasks with the jobs' states. Returns the tasks newly created.
    pub async fn tick(&mut self) -> Result<Vec<Task>> {
        let now = self.clock.now();
        let mut finish: Vec<(JobId, JobStatus)> = Vec::new();
        let mut due: BTreeMap<SourceKey, Vec<JobId>> = BTreeMap::new();
        for (id, w) in &self.jobs {
            if w.expires_at.is_some_and(|e| now >= e) {
                finish.push((*id, JobStatus::Expired));
            } else if w.due(now) {
                due.entry(w.key.clone()).or_default().push(*id);
            }
        }
        let responses = self.fetch_all(due.keys().cloned().collect()).await;
        let mut tasks = Vec::new();
        let mut states = Vec::new();
        for (key, ids) in due {
            let response = responses.get(&key);
            for id in ids {
                let Some(w) = self.jobs.get(&id) else {
                    continue;
                };
                let round = w.round_at(now);
                let mut state = w.state;
                state.last_round = Some(round);
                match response {
                    Some(Ok(raw)) => match extract(&w.source, raw) {
                        Ok(reading) => {
                            self.stats.samples += 1;
                            let holds = w.comparison.holds(&reading.value);
                            let fire = holds
                                && match w.mode {
                                    FireMode::Edge => !w.state.was_true,
                                    FireMode::Level { cooldown_secs } => {
                                        w.state.last_fire.is_none_or(|l| {
                                            now.as_millis() - l.as_millis()
                                                >= i64::try_from(cooldown_secs)
                                                    .unwrap_or(i64::MAX / 1000)
                                                    .saturating_mul(1000)
                                        })
                                    }
                                };
                            state.was_true = holds;
                            if fire {
                                state.last_fire = Some(now);
                                let occurrence = Occurrence::Condition { job: id, round };
                                let evidence = Evidence::Condition {
                                    round,
                                    sampled_at: now,
                                    value: reading.value,
                                    source_digest: reading.digest,
                                };
                                tasks.push(Task::new(occurrence, evidence, now));
                                if !w.recurring {
                                    finish.push((id, JobStatus::Completed));
                                }
                            }
                        }
                        Err(e) => {
                            self.stats.extract_failures += 1;
                            tracing::warn!(job = %id, error = %e, "condition value unreadable");
                        }
                    },
                    Some(Err(e)) => {
                        tracing::warn!(job = %id, error = %e, "condition source failed");
                    }
                    None => {}
                }
                states.push((id, state));
            }
        }
        let mut batch = WriteBatch::new();
        for t in tasks {
            batch.create_task(t);
        }
        for (id, state) in &states {
            batch.put_checkpoint(
                state_key(*id),
                serde_json::to_vec(state).expect("state serializes"),
            );
        }
        for (id, status) in &finish {
            batch.set_job_status(*id, JobStatus::Active, *status, now);
        }
        let committed = crate::jobs::commit(self.store.as_ref(), &batch)?;
        for (id, state) in states {
            if let Some(w) = self.jobs.get_mut(&id) {
                w.state = state;
            }
        }
        for (id, _) in finish {
            self.jobs.remove(&id);
        }
        self.stats.fired += committed.created.len() as u64;
        self.stats.already_existed += committed.existed;
        Ok(committed.created)
    }

    /// Fetches each key once (with retries), at most `max_concurrent_fetches` at a time.
    async fn fetch_all(
        &mut self,
        keys: Vec<SourceKey>,
    ) -> HashMap<SourceKey, std::result::Result<Bytes, FetchError>> {
        let mut out = HashMap::with_capacity(keys.len());
        let mut set = JoinSet::new();
        let mut queue = keys.into_iter();
        let config = self.config;
        loop {
            while set.len() < config.max_concurrent_fetches.max(1) {
                let Some(key) = queue.next() else { break };
                let fetcher = self.fetcher.clone();
                set.spawn(async move {
                    let mut attempts = 0u64;
                    let mut backoff = config.retry_backoff;
                    loop {
                        attempts += 1;
                        match fetcher.fetch(&key).await {
                            Ok(raw) => return (key, attempts, Ok(raw)),
                            Err(e) if e.retryable && attempts < u64::from(config.attempts) => {
                                tokio::time::sleep(backoff).await;
                                backoff *= 2;
                            }
                            Err(e) => return (key, attempts, Err(e)),
                        }
                    }
                });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            if let Ok((key, attempts, result)) = joined {
                self.stats.fetches += attempts;
                if result.is_err() {
                    self.stats.fetch_failures += 1;
                }
                out.insert(key, result);
            }
        }
        out
    }
}
