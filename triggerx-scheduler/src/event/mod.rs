//! The event engine: one block follower per chain, one `eth_getLogs` per new block range for the
//! union of every event job on that chain, matched locally through an [index](index).
//!
//! **Occurrence**: a log (job, chain, tx hash, log index); the block hash is kept as evidence.
//!
//! **Confirmations**: a log in block `b` fires a job with `confirmations = c` once the head is at
//! `b + c` and block `b` is still canonical. Logs wait in memory until then.
//!
//! **Reorgs**: every poll checks that the new head extends the last block seen (its parent hash,
//! or — after several blocks — the canonical hash at the last seen height). On a mismatch the
//! follower walks back through the blocks it has seen to the fork point, drops the pending logs
//! of the orphaned blocks and fetches the new canonical blocks' logs. So a log from an orphaned
//! block never produces a task once its confirmations are met, and a reorg shallower than a job's
//! confirmation depth causes no task at all for that job.
//!
//! **Cursor**: per chain (`event/<chain>` checkpoint) the highest block whose logs are fully
//! handled (`settled`: nothing pending at or below it) and the last head seen. It is committed in
//! the same atomic batch as the tasks it accounts for. After a restart the follower fetches logs
//! again from `settled + 1`, rebuilding what was pending; logs already turned into tasks find
//! their task existing (idempotent by occurrence), so nothing is missed or repeated.
//!
//! **New jobs** start at the block after the last one fetched when they are added (persisted as
//! `event/<chain>/start/<job>`), so a job never fires on logs from before it existed. A fresh
//! follower with no cursor starts at the current head.
//!
//! **RPC cost**: a poll with one new block costs two calls (head, logs); a poll that skipped
//! blocks costs three (head, the header at the last seen height, logs) — independent of the
//! number of jobs.

pub mod heads;
pub(crate) mod index;
pub mod service;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use alloy::{eips::BlockNumberOrTag, rpc::types::Filter};
use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};
use triggerx_core::{
    JobId, Timestamp,
    chain::ChainClient,
    clock::Clock,
    ids::Occurrence,
    matching::{EventMatcher, LogView},
    store::{Store, WriteBatch},
    types::{Evidence, Job, JobStatus, Task, Trigger, TriggerKind},
};

use self::index::{Index, Watched};
use crate::Result;

/// Event engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most blocks per `eth_getLogs` call (default 1000).
    pub max_block_range: u64,
    /// How many recent block hashes are kept for reorg detection (default 256).
    pub reorg_window: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_block_range: 1000,
            reorg_window: 256,
        }
    }
}

/// Counters the engine keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks created.
    pub fired: u64,
    /// Occurrences whose task already existed (re-processing after a restart).
    pub already_existed: u64,
    /// Logs received from the node.
    pub logs_seen: u64,
    /// Logs that matched a job and wait for confirmations.
    pub logs_matched: u64,
    /// Reorgs detected.
    pub reorgs: u64,
    /// Pending (unconfirmed) matches dropped because their block was orphaned.
    pub orphaned: u64,
    /// Reorgs deeper than the remembered window or than tasks already created.
    pub deep_reorgs: u64,
    /// RPC calls made.
    pub rpc_calls: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    settled: u64,
    tip_number: u64,
    tip_hash: B256,
}

#[derive(Debug, Clone)]
struct Pending {
    job: JobId,
    evidence: Evidence,
    tx_hash: B256,
    log_index: u64,
}

/// The checkpoint key of a chain's cursor.
pub fn cursor_key(chain_id: u64) -> String {
    format!("event/{chain_id}")
}

fn start_key(chain_id: u64, job: JobId) -> String {
    format!("event/{chain_id}/start/{job}")
}

/// The event engine for one chain; see the [module docs](self).
pub struct EventEngine {
    chain_id: u64,
    client: Arc<dyn ChainClient>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: Config,
    index: Index,
    /// Hashes of recent blocks seen (heads and blocks with logs), by number.
    seen: BTreeMap<u64, B256>,
    /// Highest block whose logs were fetched.
    fetched_to: Option<u64>,
    /// Highest block with nothing pending at or below it.
    settled: u64,
    /// Matched logs waiting for confirmations, by block number.
    pending: BTreeMap<u64, Vec<Pending>>,
    stats: Stats,
}

impl std::fmt::Debug for EventEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventEngine")
            .field("chain_id", &self.chain_id)
            .field("jobs", &self.index.len())
            .field("fetched_to", &self.fetched_to)
            .field("settled", &self.settled)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl EventEngine {
    /// An engine for `chain_id`, resuming from the stored cursor when there is one.
    pub fn new(
        chain_id: u64,
        client: Arc<dyn ChainClient>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Result<Self> {
        let mut engine = Self {
            chain_id,
            client,
            store,
            clock,
            config,
            index: Index::default(),
            seen: BTreeMap::new(),
            fetched_to: None,
            settled: 0,
            pending: BTreeMap::new(),
            stats: Stats::default(),
        };
        if let Some(bytes) = engine.store.get_checkpoint(&cursor_key(chain_id))? {
            let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|e| {
                triggerx_core::Error::Corrupt(format!("event cursor of chain {chain_id}: {e}"))
            })?;
            engine.settled = cursor.settled;
            engine.fetched_to = Some(cursor.settled);
            engine.seen.insert(cursor.tip_number, cursor.tip_hash);
        }
        Ok(engine)
    }

    /// The chain this engine follows.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How many jobs are watched.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no job is watched.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// The highest block whose logs are fully handled.
    pub fn settled(&self) -> u64 {
        self.settled
    }

    /// Loads every active event job on this chain from the store; returns how many.
    pub fn load(&mut self) -> Result<usize> {
        let store = self.store.clone();
        crate::jobs::for_each_active(store.as_ref(), TriggerKind::Event, 1000, |job| {
            if job.trigger.chain_id() == Some(self.chain_id) {
                self.upsert_job(job)?;
                Ok(true)
            } else {
                Ok(false)
            }
        })
    }

    /// Starts watching a job, or updates it; a job that is not an active event job on this
    /// chain is removed. A job seen for the first time starts at the next block to be fetched.
    pub fn upsert_job(&mut self, job: &Job) -> Result<()> {
        let Trigger::Event(trigger) = &job.trigger else {
            self.remove_job(job.id);
            return Ok(());
        };
        if job.status != JobStatus::Active || trigger.chain_id != self.chain_id {
            self.remove_job(job.id);
            return Ok(());
        }
        let matcher = EventMatcher::new(trigger).map_err(|e| {
            triggerx_core::Error::Invalid(triggerx_core::ValidationErrors(vec![
                triggerx_core::FieldError::new("trigger.event", e.to_string()),
            ]))
        })?;
        let key = start_key(self.chain_id, job.id);
        let start_block = match self.store.get_checkpoint(&key)? {
            Some(b) if b.len() == 8 => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            _ => {
                let start = self.fetched_to.map_or(0, |f| f + 1);
                // A start of 0 means "from the first block this follower fetches".
                if start > 0 {
                    self.store.put_checkpoint(&key, &start.to_be_bytes())?;
                }
                start
            }
        };
        self.index.insert(
            job.id,
            Watched {
                matcher,
                confirmations: trigger.confirmations,
                recurring: job.recurring,
                expires_at: job.expires_at,
                start_block,
            },
        );
        Ok(())
    }

    /// Stops watching a job (paused, deleted); its pending matches are dropped at once.
    pub fn remove_job(&mut self, id: JobId) {
        if self.index.remove(id).is_some() {
            for list in self.pending.values_mut() {
                list.retain(|p| p.job != id);
            }
            self.pending.retain(|_, l| !l.is_empty());
        }
    }

    /// Follows the chain one step: reads the head, handles a reorg if there was one, fetches the
    /// new blocks' logs with one call per `max_block_range` blocks, and creates the tasks whose
    /// confirmations are now met (with the advanced cursor, in one atomic commit). Returns the
    /// tasks newly created.
    pub async fn poll(&mut self) -> Result<Vec<Task>> {
        let head = self.counted().head().await?;
        let Some(fetched_to) = self.fetched_to else {
            // A fresh follower starts at the head.
            self.fetched_to = Some(head.number);
            self.settled = head.number;
            self.remember(head.number, head.hash);
            self.fix_start_blocks(head.number + 1)?;
            self.commit(Vec::new(), Vec::new(), head.number, head.hash)?;
            return Ok(Vec::new());
        };
        if let Some((&tip_n, &tip_h)) = self.seen.last_key_value() {
            if head.number == tip_n && head.hash == tip_h {
                return Ok(Vec::new());
            }
            let extends = if head.number == tip_n + 1 {
                head.parent_hash == tip_h
            } else if head.number > tip_n {
                let canonical = self.counted().header_by_number(tip_n.into()).await?;
                canonical.is_some_and(|h| h.hash == tip_h)
            } else {
                false
            };
            if !extends {
                self.rewind().await?;
            }
        }
        let fetched_to = self.fetched_to.unwrap_or(fetched_to);
        let mut from = fetched_to + 1;
        while from <= head.number && !self.index.is_empty_index() {
            let to = head.number.min(from + self.config.max_block_range - 1);
            self.fetch(from, to).await?;
            from = to + 1;
        }
        self.fetched_to = Some(head.number);
        self.remember(head.number, head.hash);
        self.confirm(head.number, head.hash)
    }

    /// The client, counting one RPC call.
    fn counted(&mut self) -> Arc<dyn ChainClient> {
        self.stats.rpc_calls += 1;
        self.client.clone()
    }

    fn remember(&mut self, number: u64, hash: B256) {
        self.seen.insert(number, hash);
        while self.seen.len() > self.config.reorg_window.max(2) {
            self.seen.pop_first();
        }
    }

    /// Walks back to the highest remembered block that is still canonical.
    async fn rewind(&mut self) -> Result<()> {
        self.stats.reorgs += 1;
        let remembered: Vec<(u64, B256)> = self.seen.iter().rev().map(|(n, h)| (*n, *h)).collect();
        let mut fork = None;
        for (n, h) in remembered {
            let canonical = self.counted().header_by_number(n.into()).await?;
            if canonical.is_some_and(|c| c.hash == h) {
                fork = Some(n);
                break;
            }
            self.seen.remove(&n);
        }
        let fork = match fork {
            Some(f) => f,
            None => {
                // Deeper than we remember: re-fetch from the settled block's successor.
                self.stats.deep_reorgs += 1;
                self.settled
            }
        };
        if fork < self.settled {
            // Tasks were already created for blocks above the fork point.
            self.stats.deep_reorgs += 1;
        }
        let orphaned = self.pending.split_off(&(fork + 1));
        self.stats.orphaned += orphaned.values().map(|v| v.len() as u64).sum::<u64>();
        self.fetched_to = Some(self.fetched_to.unwrap_or(fork).min(fork.max(self.settled)));
        Ok(())
    }

    async fn fetch(&mut self, from: u64, to: u64) -> Result<()> {
        let (addresses, topics) = self.index.union();
        let filter = Filter::new()
            .from_block(BlockNumberOrTag::Number(from))
            .to_block(BlockNumberOrTag::Number(to))
            .address(addresses)
            .event_signature(topics);
        let logs = self.counted().logs(&filter).await?;
        for log in logs {
            self.stats.logs_seen += 1;
            if log.removed {
                continue;
            }
            let (Some(number), Some(block_hash), Some(tx_hash), Some(log_index)) = (
                log.block_number,
                log.block_hash,
                log.transaction_hash,
                log.log_index,
            ) else {
                continue;
            };
            let address: Address = log.address();
            let topics = log.topics();
            let data: &Bytes = &log.data().data;
            let view = LogView {
                address,
                topics,
                data,
            };
            let candidates = self
                .index
                .candidates(address, topics.first().copied())
                .to_vec();
            for job in candidates {
                let Some(w) = self.index.get(job) else {
                    continue;
                };
                if number < w.start_block || !w.matcher.matches(view).is_yes() {
                    continue;
                }
                self.stats.logs_matched += 1;
                self.pending.entry(number).or_default().push(Pending {
                    job,
                    tx_hash,
                    log_index,
                    evidence: Evidence::Event {
                        chain_id: self.chain_id,
                        block_number: number,
                        block_hash,
                        tx_hash,
                        log_index,
                        address,
                        topics: topics.to_vec(),
                        data: data.clone(),
                    },
                });
            }
            self.seen.entry(number).or_insert(block_hash);
        }
        while self.seen.len() > self.config.reorg_window.max(2) {
            self.seen.pop_first();
        }
        Ok(())
    }

    fn confirm(&mut self, head: u64, head_hash: B256) -> Result<Vec<Task>> {
        let now = self.clock.now();
        let mut tasks = Vec::new();
        let mut finish = Vec::new();
        let mut fired_once: HashMap<JobId, ()> = HashMap::new();
        // Expired jobs stop at once.
        let expired: Vec<JobId> = self
            .index
            .iter()
            .filter(|(_, w)| w.expires_at.is_some_and(|e| now >= e))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.remove_job(id);
            finish.push((id, JobStatus::Expired));
        }
        let blocks: Vec<u64> = self.pending.range(..=head).map(|(b, _)| *b).collect();
        for b in blocks {
            let Some(list) = self.pending.remove(&b) else {
                continue;
            };
            let mut keep = Vec::new();
            for p in list {
                let Some(w) = self.index.get(p.job) else {
                    continue;
                };
                if fired_once.contains_key(&p.job) {
                    continue;
                }
                // A log whose block hash is not the one seen at that height is from a fork.
                if let Evidence::Event { block_hash, .. } = &p.evidence
                    && self.seen.get(&b).is_some_and(|h| h != block_hash)
                {
                    self.stats.orphaned += 1;
                    continue;
                }
                if b + w.confirmations > head {
                    keep.push(p);
                    continue;
                }
                let occurrence = Occurrence::Event {
                    job: p.job,
                    chain_id: self.chain_id,
                    tx_hash: p.tx_hash,
                    log_index: p.log_index,
                };
                if !w.recurring {
                    fired_once.insert(p.job, ());
                    finish.push((p.job, JobStatus::Completed));
                }
                tasks.push(Task::new(occurrence, p.evidence, now));
            }
            if !keep.is_empty() {
                self.pending.insert(b, keep);
            }
        }
        for (id, _) in &finish {
            self.remove_job(*id);
        }
        let settled = self.pending.keys().next().map_or(head, |b| b - 1);
        self.commit(tasks, finish, settled, head_hash)
    }

    fn commit(
        &mut self,
        tasks: Vec<Task>,
        finish: Vec<(JobId, JobStatus)>,
        settled: u64,
        tip_hash: B256,
    ) -> Result<Vec<Task>> {
        let now = self.clock.now();
        let tip_number = self.fetched_to.unwrap_or(settled);
        let cursor = Cursor {
            settled,
            tip_number,
            tip_hash,
        };
        let mut batch = WriteBatch::new();
        for t in tasks {
            batch.create_task(t);
        }
        for (id, status) in &finish {
            batch.set_job_status(*id, JobStatus::Active, *status, now);
        }
        batch.put_checkpoint(
            cursor_key(self.chain_id),
            serde_json::to_vec(&cursor).expect("cursor serializes"),
        );
        let committed = crate::jobs::commit(self.store.as_ref(), &batch)?;
        self.settled = settled;
        self.stats.fired += committed.created.len() as u64;
        self.stats.already_existed += committed.existed;
        Ok(committed.created)
    }

    /// Jobs loaded before the first head was known start at the block after it.
    fn fix_start_blocks(&mut self, start: u64) -> Result<()> {
        let ids: Vec<JobId> = self
            .index
            .iter()
            .filter(|(_, w)| w.start_block == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.store
                .put_checkpoint(&start_key(self.chain_id, id), &start.to_be_bytes())?;
            if let Some(mut w) = self.index.remove(id) {
                w.start_block = start;
                self.index.insert(id, w);
            }
        }
        Ok(())
    }

    /// The instant used for expiry checks.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
