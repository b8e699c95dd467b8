//! The registrar ("sentinel"): follows the registry contracts' logs and applies them to the
//! store — keeper records (added, removed, voting power), task outcomes (`TaskSubmitted` →
//! `accepted`, `TaskRejected` → `rejected`), and points (see [`points`]); optionally job
//! cancellations on the `JobRegistry`. See `docs/registrar.md`.
//!
//! **Confirmed only**: a poll processes blocks up to `head - confirmations` and never a newer
//! one, so a reorg shallower than the depth never reaches the store and nothing has to be
//! undone. (The event engine keeps unconfirmed logs in memory and rewinds on reorgs; the
//! registrar has no per-job depth, so it simply does not look at unconfirmed blocks.)
//!
//! **One `eth_getLogs` per range** of at most `max_block_range` blocks, for the registry, the
//! hub and (when configured) the job registry together. Per range, one header read (the
//! cursor's hash) plus one per block holding a keeper or settlement log (its timestamp), and per
//! settlement the verdict transaction (the signers) and, when the task's `TaskExecuted` is not
//! in the same range, one filtered `eth_getLogs` for its charge.
//!
//! **Cursor**: the `registrar/<chain>` checkpoint holds the last processed block and its hash,
//! committed in the same [`Store::commit`] batch as every write of that range. A restart
//! resumes at the next block: nothing is missed, and nothing committed is applied again. Each
//! settlement also writes a `registrar/<chain>/settled/<task>` marker in that batch, and a
//! settlement whose marker exists is skipped, so points are credited at most once per task
//! even if the same range were processed twice. On every poll that has new blocks, the
//! cursor's block is checked to still carry the stored hash; a mismatch is a reorg deeper than
//! the confirmation depth, which is counted and logged (what was applied stays applied).

pub(crate) mod decode;
pub(crate) mod plan;
pub mod points;
pub mod service;

use std::{collections::HashMap, sync::Arc};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256},
    rpc::types::Filter,
};
use serde::{Deserialize, Serialize};
use triggerx_core::{chain::ChainClient, store::Store};

pub use self::plan::settled_key;
pub use self::service::RegistrarService;
use self::{decode::Decoder, plan::plan};
use crate::Result;

/// Registrar settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `KeeperRegistry` (keeper and settlement events).
    pub keeper_registry: Address,
    /// The `TaskHub` (`TaskExecuted`, for the charged amount).
    pub task_hub: Address,
    /// The `JobRegistry`, when job cancellations should mark jobs `deleted`.
    pub job_registry: Option<Address>,
    /// Blocks a log must be buried under before it is applied (default 2).
    pub confirmations: u64,
    /// Most blocks per `eth_getLogs` call (default 1000).
    pub max_block_range: u64,
    /// Where a registrar without a cursor starts (default 0; set it to the registry's
    /// deployment block). Every keeper event since then is replayed, so the store learns every
    /// registered keeper.
    pub start_block: u64,
    /// How many blocks before a settlement its `TaskExecuted` is looked for when it is not in
    /// the same range (default 100 000).
    pub charge_lookback: u64,
}

impl Config {
    /// Settings for these contracts with the defaults listed on each field.
    pub fn new(keeper_registry: Address, task_hub: Address) -> Self {
        Self {
            keeper_registry,
            task_hub,
            job_registry: None,
            confirmations: 2,
            max_block_range: 1000,
            start_block: 0,
            charge_lookback: 100_000,
        }
    }

    /// Also follows `JobCancelled` on this job registry.
    pub fn with_job_registry(mut self, job_registry: Address) -> Self {
        self.job_registry = Some(job_registry);
        self
    }

    /// Sets the confirmation depth.
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Sets the first block of a registrar without a cursor.
    pub fn with_start_block(mut self, start_block: u64) -> Self {
        self.start_block = start_block;
        self
    }
}

/// Counters the registrar keeps (since it was created).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// `KeeperAdded` logs applied.
    pub keepers_added: u64,
    /// `KeeperRemoved` logs applied.
    pub keepers_removed: u64,
    /// `VotingPowerChanged` logs applied.
    pub power_changes: u64,
    /// Tasks this registrar moved to `accepted`.
    pub accepted: u64,
    /// Tasks this registrar moved to `rejected`.
    pub rejected: u64,
    /// Settlements whose task already had that outcome (recorded by the aggregator).
    pub already_recorded: u64,
    /// Settlements whose task was in a state that cannot take the outcome (left alone; the
    /// points are still credited).
    pub status_conflicts: u64,
    /// Settlements whose task is not in the store (skipped, no points).
    pub unknown_tasks: u64,
    /// Settlements whose points were credited.
    pub credited: u64,
    /// Settlements skipped because their marker existed (applied before).
    pub already_applied: u64,
    /// Settlements without a `TaskExecuted` within the lookback (cost 0).
    pub charges_missing: u64,
    /// Settlements whose verdict transaction could not be decoded (no attester points).
    pub attesters_unknown: u64,
    /// Settlements whose job is not in the store (no owner points).
    pub unknown_owners: u64,
    /// Jobs marked `deleted` after `JobCancelled`.
    pub jobs_cancelled: u64,
    /// `JobCancelled` for jobs not in the store.
    pub unknown_jobs: u64,
    /// Block ranges committed.
    pub ranges: u64,
    /// Batches planned again after a compare-and-set conflict.
    pub replans: u64,
    /// Reorgs deeper than the confirmation depth (the cursor's block changed).
    pub deep_reorgs: u64,
    /// RPC calls made.
    pub rpc_calls: u64,
}

impl Stats {
    fn absorb(&mut self, o: &Self) {
        self.keepers_added += o.keepers_added;
        self.keepers_removed += o.keepers_removed;
        self.power_changes += o.power_changes;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.already_recorded += o.already_recorded;
        self.status_conflicts += o.status_conflicts;
        self.unknown_tasks += o.unknown_tasks;
        self.credited += o.credited;
        self.already_applied += o.already_applied;
        self.charges_missing += o.charges_missing;
        self.attesters_unknown += o.attesters_unknown;
        self.unknown_owners += o.unknown_owners;
        self.jobs_cancelled += o.jobs_cancelled;
        self.unknown_jobs += o.unknown_jobs;
    }
}

/// The last processed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
}

/// The checkpoint key of a chain's registrar cursor.
pub fn cursor_key(chain_id: u64) -> String {
    format!("registrar/{chain_id}")
}

/// How many times a batch refused by a compare-and-set conflict is planned again in one poll.
const MAX_REPLANS: u32 = 3;

/// The registrar for one chain; see the [module docs](self).
pub struct Registrar {
    chain_id: u64,
    client: Arc<dyn ChainClient>,
    store: Arc<dyn Store>,
    config: Config,
    cursor: Option<Cursor>,
    stats: Stats,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("chain_id", &self.chain_id)
            .field("cursor", &self.cursor)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Registrar {
    /// A registrar for `chain_id`, resuming from the stored cursor when there is one.
    pub fn new(
        chain_id: u64,
        client: Arc<dyn ChainClient>,
        store: Arc<dyn Store>,
        config: Config,
    ) -> Result<Self> {
        let cursor = match store.get_checkpoint(&cursor_key(chain_id))? {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                triggerx_core::Error::Corrupt(format!("registrar cursor of chain {chain_id}: {e}"))
            })?),
            None => None,
        };
        Ok(Self {
            chain_id,
            client,
            store,
            config,
            cursor,
            stats: Stats::default(),
        })
    }

    /// The chain this registrar follows.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The last processed block, `None` before the first range.
    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor
    }

    /// The registrar's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Processes every confirmed block after the cursor, one committed range at a time.
    /// Returns how many blocks were processed.
    pub async fn poll(&mut self) -> Result<u64> {
        self.stats.rpc_calls += 1;
        let head = self.client.block_number().await?;
        let Some(target) = head.checked_sub(self.config.confirmations) else {
            return Ok(0);
        };
        let mut next = match self.cursor {
            Some(c) if c.number >= target => return Ok(0),
            Some(c) => {
                self.check_cursor(c).await?;
                c.number + 1
            }
            None if self.config.start_block > target => return Ok(0),
            None => self.config.start_block,
        };
        let first = next;
        let range = self.config.max_block_range.max(1);
        while next <= target {
            let to = target.min(next.saturating_add(range - 1));
            self.process(next, to).await?;
            next = to + 1;
        }
        Ok(next - first)
    }

    /// Whether the cursor's block is still canonical; counts a deep reorg when it is not.
    async fn check_cursor(&mut self, c: Cursor) -> Result<()> {
        self.stats.rpc_calls += 1;
        let canonical = self
            .client
            .header_by_number(BlockNumberOrTag::Number(c.number))
            .await?;
        if canonical.is_none_or(|h| h.hash != c.hash) {
            self.stats.deep_reorgs += 1;
            tracing::error!(
                chain = self.chain_id,
                block = c.number,
                "registrar: block already applied was reorganised away (deeper than the confirmation depth)"
            );
        }
        Ok(())
    }

    async fn process(&mut self, from: u64, to: u64) -> Result<()> {
        let mut addresses = vec![self.config.keeper_registry, self.config.task_hub];
        addresses.extend(self.config.job_registry);
        let filter = Filter::new()
            .from_block(BlockNumberOrTag::Number(from))
            .to_block(BlockNumberOrTag::Number(to))
            .address(addresses)
            .event_signature(decode::topics());
        self.stats.rpc_calls += 1;
        let mut logs = self.client.logs(&filter).await?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut calls = 0;
        let mut decoder = Decoder {
            client: self.client.as_ref(),
            config: &self.config,
            chain_id: self.chain_id,
            rpc_calls: &mut calls,
            times: HashMap::new(),
        };
        let changes = decoder.changes(&logs).await?;
        let hash = {
            self.stats.rpc_calls += 1;
            self.client
                .header_by_number(BlockNumberOrTag::Number(to))
                .await?
                .ok_or_else(|| triggerx_core::chain::Error::InvalidResponse {
                    message: format!("the node returned no header of block {to}"),
                })?
                .hash
        };
        self.stats.rpc_calls += calls;
        let cursor = Cursor { number: to, hash };
        let mut replans = 0;
        loop {
            let mut planned = plan(self.store.as_ref(), self.chain_id, &changes)?;
            planned.batch.put_checkpoint(
                cursor_key(self.chain_id),
                serde_json::to_vec(&cursor).expect("cursor serializes"),
            );
            match self.store.commit(&planned.batch) {
                Ok(_) => {
                    self.stats.absorb(&planned.stats);
                    self.stats.ranges += 1;
                    self.cursor = Some(cursor);
                    return Ok(());
                }
                // A task or job changed between planning and committing (the aggregator
                // recorded a verdict): plan again from fresh reads.
                Err(triggerx_core::Error::Conflict { .. }) if replans < MAX_REPLANS => {
                    replans += 1;
                    self.stats.replans += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
