//! The run's summary (`--summary FILE.json`) and the chain facts the progress view shares with
//! it: settlement transactions (from the registry's logs) and block timestamps.

use std::collections::{BTreeMap, HashMap};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde::Serialize;
use triggerx_core::{
    Timestamp,
    chain::contracts::{Counter, KeeperRegistry, TaskHub},
    store::{JobFilter, KeeperFilter, Store, TaskFilter},
    types::{Evidence, Job, Task},
};

use super::{chain::Chain, demo::Drive};

/// A task's settlement as the registry logged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Settlement {
    pub(crate) tx_hash: B256,
    pub(crate) block: u64,
    pub(crate) accepted: bool,
}

/// Settlements seen so far, read incrementally from `TaskSubmitted` / `TaskRejected` logs.
#[derive(Debug, Default)]
pub(crate) struct Settlements {
    by_task: HashMap<B256, Settlement>,
    next_block: u64,
}

impl Settlements {
    /// Reads the logs of the blocks not read yet.
    pub(crate) async fn update(&mut self, chain: &Chain) -> anyhow::Result<()> {
        let head = chain.provider.get_block_number().await?;
        if head < self.next_block {
            return Ok(());
        }
        let filter = Filter::new()
            .address(chain.contracts.keeper_registry)
            .event_signature(vec![
                KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
                KeeperRegistry::TaskRejected::SIGNATURE_HASH,
            ])
            .from_block(self.next_block)
            .to_block(head);
        for log in chain.provider.get_logs(&filter).await? {
            let (Some(topic0), Some(task)) = (log.topics().first(), log.topics().get(1)) else {
                continue;
            };
            self.by_task.insert(
                *task,
                Settlement {
                    tx_hash: log.transaction_hash.unwrap_or_default(),
                    block: log.block_number.unwrap_or_default(),
                    accepted: *topic0 == KeeperRegistry::TaskSubmitted::SIGNATURE_HASH,
                },
            );
        }
        self.next_block = head + 1;
        Ok(())
    }

    /// The settlement of a task, if logged.
    pub(crate) fn get(&self, task: B256) -> Option<Settlement> {
        self.by_task.get(&task).copied()
    }
}

/// Block timestamps, cached.
#[derive(Debug, Default)]
struct Blocks(HashMap<u64, u64>);

impl Blocks {
    async fn timestamp(&mut self, chain: &Chain, n: u64) -> anyhow::Result<u64> {
        if let Some(t) = self.0.get(&n) {
            return Ok(*t);
        }
        let h = chain
            .client
            .header_by_number(alloy::eips::BlockNumberOrTag::Number(n))
            .await?
            .ok_or_else(|| anyhow::anyhow!("block {n} not found"))?;
        self.0.insert(n, h.timestamp);
        Ok(h.timestamp)
    }

    /// The last block at or before `hi` whose timestamp is at most `secs` (the head when the
    /// instant passed).
    async fn at(&mut self, chain: &Chain, secs: u64, hi: u64) -> anyhow::Result<u64> {
        let (mut lo, mut hi) = (0u64, hi);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.timestamp(chain, mid).await? <= secs {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }
}

/// Where a task's trigger happened.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TriggerPoint {
    /// When (time: the due instant; condition: the sample; event: the log's block time), ms.
    at_ms: i64,
    /// The block (event: the log's; time and condition: the head at that instant).
    block: u64,
    /// The emitting transaction (event).
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_hash: Option<B256>,
    /// The sampled value (condition).
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

/// An execution transaction.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Execution {
    tx_hash: B256,
    block: u64,
    block_timestamp_ms: i64,
}

/// One task.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskSummary {
    id: B256,
    job_id: String,
    kind: &'static str,
    status: &'static str,
    performer: Option<Address>,
    attempts: u32,
    error: Option<String>,
    trigger: Option<TriggerPoint>,
    execution: Option<Execution>,
    settlement: Option<Settlement>,
    /// `TaskHub.executed(id)` read at the end.
    executed_on_chain: bool,
    /// `KeeperRegistry.settlement(id)` read at the end: 0 none, 1 submitted, 2 rejected.
    settlement_on_chain: u8,
    /// Execution block − trigger block.
    latency_blocks: Option<i64>,
    /// Execution block time − trigger time (block times have 1 s resolution).
    latency_ms: Option<i64>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// One job.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JobSummary {
    id: String,
    title: String,
    kind: &'static str,
    status: String,
    tasks: usize,
    accepted: usize,
}

/// One keeper.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KeeperSummary {
    address: Address,
    registered: bool,
    online: bool,
    last_checkin_ms: Option<i64>,
}

/// The summary file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    rpc: String,
    chain_id: u64,
    genesis_hash: B256,
    contracts: super::chain::Contracts,
    head_block: u64,
    /// `Counter.count()` at the end.
    counter: String,
    written_at_ms: i64,
    task_states: BTreeMap<&'static str, u64>,
    keepers: Vec<KeeperSummary>,
    jobs: Vec<JobSummary>,
    tasks: Vec<TaskSummary>,
    /// What the demo driver did on-chain.
    driver: Vec<Drive>,
}

fn all_tasks(store: &dyn Store) -> anyhow::Result<Vec<Task>> {
    let mut out = Vec::new();
    let mut filter = TaskFilter {
        limit: Some(1000),
        ..TaskFilter::default()
    };
    loop {
        let page = store.list_tasks(&filter)?;
        out.extend(page.items);
        match page.next {
            Some(n) => filter.after = Some(n),
            None => return Ok(out),
        }
    }
}

/// Every job in the store.
pub(crate) fn all_jobs(store: &dyn Store) -> anyhow::Result<Vec<Job>> {
    Ok(store.list_jobs(&JobFilter::default())?.items)
}

/// Every task, newest first by creation.
pub(crate) fn tasks_newest_first(store: &dyn Store) -> anyhow::Result<Vec<Task>> {
    let mut t = all_tasks(store)?;
    t.sort_by_key(|t| std::cmp::Reverse(t.created_at.as_millis()));
    Ok(t)
}

async fn task_summary(
    chain: &Chain,
    blocks: &mut Blocks,
    settlements: &Settlements,
    job_kind: &'static str,
    t: &Task,
    head: u64,
) -> anyhow::Result<TaskSummary> {
    let hub = TaskHub::new(chain.contracts.task_hub, &chain.provider);
    let registry = KeeperRegistry::new(chain.contracts.keeper_registry, &chain.provider);
    let execution = match (t.tx_hash, t.block_number) {
        (Some(tx_hash), Some(block)) => Some(Execution {
            tx_hash,
            block,
            block_timestamp_ms: blocks.timestamp(chain, block).await? as i64 * 1000,
        }),
        _ => None,
    };
    let trigger = match &t.evidence {
        Evidence::Time { due } => Some(TriggerPoint {
            at_ms: due.as_millis(),
            block: blocks.at(chain, due.as_secs().max(0) as u64, head).await?,
            tx_hash: None,
            value: None,
        }),
        Evidence::Condition {
            sampled_at, value, ..
        } => Some(TriggerPoint {
            at_ms: sampled_at.as_millis(),
            block: blocks
                .at(chain, sampled_at.as_secs().max(0) as u64, head)
                .await?,
            tx_hash: None,
            value: Some(value.to_string()),
        }),
        Evidence::Event {
            block_number,
            tx_hash,
            ..
        } => Some(TriggerPoint {
            at_ms: blocks.timestamp(chain, *block_number).await? as i64 * 1000,
            block: *block_number,
            tx_hash: Some(*tx_hash),
            value: None,
        }),
    };
    let (latency_blocks, latency_ms) = match (&trigger, &execution) {
        (Some(tr), Some(ex)) => (
            Some(ex.block as i64 - tr.block as i64),
            Some(ex.block_timestamp_ms - tr.at_ms),
        ),
        _ => (None, None),
    };
    Ok(TaskSummary {
        id: t.id.0,
        job_id: t.job_id.to_string(),
        kind: job_kind,
        status: t.status.as_str(),
        performer: t.performer,
        attempts: t.attempts,
        error: t.error.clone(),
        trigger,
        execution,
        settlement: settlements.get(t.id.0),
        executed_on_chain: hub.executed(t.id.0).call().await?,
        settlement_on_chain: registry.settlement(t.id.0).call().await?,
        latency_blocks,
        latency_ms,
        created_at_ms: t.created_at.as_millis(),
        updated_at_ms: t.updated_at.as_millis(),
    })
}

/// Builds the summary from the store and the chain.
pub(crate) async fn build(
    chain: &Chain,
    store: &dyn Store,
    settlements: &mut Settlements,
    driver: Vec<Drive>,
) -> anyhow::Result<Summary> {
    settlements.update(chain).await?;
    let head = chain.provider.get_block_number().await?;
    let jobs = all_jobs(store)?;
    let kinds: HashMap<_, _> = jobs.iter().map(|j| (j.id, j.kind().as_str())).collect();
    let mut tasks = all_tasks(store)?;
    tasks.sort_by_key(|t| t.created_at.as_millis());
    let mut blocks = Blocks::default();
    let mut task_summaries = Vec::with_capacity(tasks.len());
    for t in &tasks {
        let kind = kinds.get(&t.job_id).copied().unwrap_or("unknown");
        task_summaries.push(task_summary(chain, &mut blocks, settlements, kind, t, head).await?);
    }
    let mut task_states = BTreeMap::new();
    for (s, n) in store.count_tasks_by_status()? {
        task_states.insert(s.as_str(), n);
    }
    let counter = Counter::new(chain.contracts.counter, &chain.provider)
        .count()
        .call()
        .await?;
    Ok(Summary {
        rpc: chain.endpoint.clone(),
        chain_id: chain.chain_id,
        genesis_hash: chain.genesis_hash,
        contracts: chain.contracts,
        head_block: head,
        counter: counter.to_string(),
        written_at_ms: Timestamp::now().as_millis(),
        task_states,
        keepers: store
            .list_keepers(&KeeperFilter::default())?
            .into_iter()
            .map(|k| KeeperSummary {
                address: k.address,
                registered: k.registered,
                online: k.online,
                last_checkin_ms: k.last_checkin.map(Timestamp::as_millis),
            })
            .collect(),
        jobs: jobs
            .iter()
            .map(|j| {
                let mine = tasks.iter().filter(|t| t.job_id == j.id);
                JobSummary {
                    id: j.id.to_string(),
                    title: j.title.clone(),
                    kind: j.kind().as_str(),
                    status: format!("{:?}", j.status).to_lowercase(),
                    tasks: mine.clone().count(),
                    accepted: mine
                        .filter(|t| t.status == triggerx_core::types::TaskStatus::Accepted)
                        .count(),
                }
            })
            .collect(),
        tasks: task_summaries,
        driver,
    })
}
