//! `--demo`: one job of each trigger kind on the demo contracts, and a driver that keeps the
//! event and condition jobs firing (token mints, price moves).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::primitives::{Address, B256, Bytes, I256, U256};
use alloy_json_abi::{Event, Function};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::contracts::{DemoToken, JobRegistry, PriceFeed, TaskHub},
    ids::Occurrence,
    schedule::CompiledSchedule,
    selection::{Candidate, select_performer},
    spec::spec_hash,
    store::{KeeperFilter, Store},
    types::{
        Action, Arguments, CatchUp, Comparison, ConditionTrigger, EventTrigger, FireMode, Job,
        JobStatus, Overlap, Schedule, TimeTrigger, TopicFilter, Trigger, ValueSource,
    },
};

use super::chain::{Chain, ether};

/// The address whose incoming transfers fire the event job.
pub(crate) const WATCHED: Address = Address::repeat_byte(0xa1);
/// An address whose incoming transfers must not fire it.
pub(crate) const OTHER: Address = Address::repeat_byte(0xb0);
/// The condition job's threshold (PriceFeed units, 8 decimals: 2500.00000000).
const THRESHOLD: &str = "2500";
/// The threshold in PriceFeed units.
const THRESHOLD_UNITS: i64 = 250_000_000_000;
/// The prices the driver alternates between.
const HIGH: i64 = 260_000_000_000;
const LOW: i64 = 240_000_000_000;
/// The checkpoint key of the driver's log.
const DRIVER_KEY: &str = "devnet/driver";

/// The demo jobs' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DemoJobs {
    pub(crate) interval: JobId,
    pub(crate) cron: JobId,
    pub(crate) event: JobId,
    pub(crate) condition: JobId,
}

/// One thing the driver did on-chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Drive {
    /// Minted DemoToken to `to`; `matching` says whether the event job's filter matches.
    Mint {
        to: Address,
        matching: bool,
        tx_hash: B256,
        block: u64,
        at_ms: i64,
    },
    /// Set the PriceFeed's answer (8 decimals); `above` says whether it is over the threshold.
    Price {
        price: String,
        above: bool,
        tx_hash: B256,
        block: u64,
        at_ms: i64,
    },
}

/// The driver's log, shared with the summary and kept in the store across runs.
#[derive(Clone)]
pub(crate) struct DriveLog {
    entries: Arc<Mutex<Vec<Drive>>>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for DriveLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriveLog")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl DriveLog {
    /// The log so far (from earlier runs too).
    pub(crate) fn load(store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let entries = match store.get_checkpoint(DRIVER_KEY)? {
            Some(b) => serde_json::from_slice(&b).context("reading the demo driver's log")?,
            None => Vec::new(),
        };
        Ok(Self {
            entries: Arc::new(Mutex::new(entries)),
            store,
        })
    }

    fn push(&self, d: Drive) {
        let bytes = {
            let mut e = self.entries.lock().expect("driver log lock");
            e.push(d);
            serde_json::to_vec(&*e).expect("serializable")
        };
        if let Err(e) = self.store.put_checkpoint(DRIVER_KEY, &bytes) {
            tracing::warn!(error = %e, "saving the demo driver's log");
        }
    }

    /// A copy of the entries.
    pub(crate) fn entries(&self) -> Vec<Drive> {
        self.entries.lock().expect("driver log lock").clone()
    }
}

fn counter_action(chain_id: u64, counter: Address) -> Action {
    let function = Function::parse("increment()").expect("valid signature");
    let calldata = Bytes::from(function.selector().to_vec());
    Action {
        chain_id,
        target: counter,
        function,
        value: U256::ZERO,
        gas_limit: Some(200_000),
        arguments: Arguments::Static {
            values: vec![],
            calldata,
        },
    }
}

fn time(schedule: Schedule) -> Trigger {
    Trigger::Time(TimeTrigger {
        schedule,
        start: None,
        catch_up: CatchUp::FireOnce,
        overlap: Overlap::Skip,
    })
}

/// Creates the four demo jobs on-chain (job registry, funded owner) and in the store.
pub(crate) async fn create(chain: &Chain, store: &dyn Store) -> anyhow::Result<DemoJobs> {
    let owner = &chain.users[0];
    let jobs_contract = JobRegistry::new(chain.contracts.job_registry, chain.provider_for(owner)?);
    let hub = TaskHub::new(
        chain.contracts.task_hub,
        chain.provider_for(&chain.deployer)?,
    );
    hub.deposit(owner.address())
        .value(ether() * U256::from(10u64))
        .send()
        .await?
        .get_receipt()
        .await
        .context("funding the demo jobs' owner")?;
    let a = chain.contracts;
    let transfer =
        Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")?;
    let specs = [
        (
            "demo: every 5 s",
            time(Schedule::Interval { every_secs: 5 }),
        ),
        (
            "demo: cron */10 * * * * *",
            time(Schedule::Cron {
                expression: "*/10 * * * * *".into(),
                timezone: "UTC".into(),
            }),
        ),
        (
            "demo: DemoToken Transfer to 0xa1a1…",
            Trigger::Event(EventTrigger {
                chain_id: chain.chain_id,
                addresses: vec![a.demo_token],
                event: transfer,
                topics: vec![TopicFilter {
                    position: 2,
                    name: "to".into(),
                    any_of: vec![WATCHED.into_word()],
                }],
                conditions: vec![],
                confirmations: 0,
            }),
        ),
        (
            "demo: PriceFeed > 2500 (edge)",
            Trigger::Condition(ConditionTrigger {
                source: ValueSource::PriceFeed {
                    chain_id: chain.chain_id,
                    address: a.price_feed,
                    decimals: 8,
                },
                comparison: Comparison::GreaterThan {
                    value: THRESHOLD.parse()?,
                },
                poll_interval_ms: 500,
                mode: FireMode::Edge,
            }),
        ),
    ];
    let now = Timestamp::now();
    let expires = now.add_millis(24 * 3_600_000);
    let mut ids = Vec::new();
    for (title, trigger) in specs {
        let mut job = Job {
            // The registry assigns the id; the spec hash leaves it out.
            id: JobId(U256::ZERO),
            owner: owner.address(),
            title: title.into(),
            trigger,
            action: counter_action(chain.chain_id, a.counter),
            recurring: true,
            expires_at: Some(expires),
            status: JobStatus::Active,
            created_at: now,
            updated_at: now,
        };
        // Registered with its spec hash, so attesters can check the job they are handed.
        let receipt = jobs_contract
            .createJob(a.counter, expires.as_secs() as u64, spec_hash(&job))
            .send()
            .await?
            .get_receipt()
            .await
            .context("createJob")?;
        let created = receipt
            .decoded_log::<JobRegistry::JobCreated>()
            .context("createJob emitted no JobCreated")?;
        let id = JobId(created.jobId);
        job.id = id;
        store.insert_job(&job)?;
        ids.push(id);
    }
    Ok(DemoJobs {
        interval: ids[0],
        cron: ids[1],
        event: ids[2],
        condition: ids[3],
    })
}

/// Mints DemoToken every `period`, alternating between [`WATCHED`] and [`OTHER`], until `stop`.
pub(crate) async fn mint_loop(
    chain: Arc<Chain>,
    log: DriveLog,
    period: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(p) = chain.provider_for(&chain.users[1]) else {
        return;
    };
    let token = DemoToken::new(chain.contracts.demo_token, p);
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(period) => {}
        }
        let to = if n.is_multiple_of(2) { WATCHED } else { OTHER };
        n += 1;
        let sent =
            async { anyhow::Ok(token.mint(to, ether()).send().await?.get_receipt().await?) }.await;
        match sent {
            Ok(r) if r.status() => log.push(Drive::Mint {
                to,
                matching: to == WATCHED,
                tx_hash: r.transaction_hash,
                block: r.block_number.unwrap_or_default(),
                at_ms: Timestamp::now().as_millis(),
            }),
            Ok(r) => tracing::warn!(tx = %r.transaction_hash, "demo mint reverted"),
            Err(e) => tracing::warn!(error = %e, "demo mint failed"),
        }
    }
}

/// Moves the PriceFeed across the threshold every `period` (first up, then down, …), until
/// `stop`.
pub(crate) async fn price_loop(
    chain: Arc<Chain>,
    log: DriveLog,
    period: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(p) = chain.provider_for(&chain.deployer) else {
        return;
    };
    let feed = PriceFeed::new(chain.contracts.price_feed, p);
    // Start by crossing: up when below (a fresh chain is at 2000), down when above (a resumed
    // run may have stopped high).
    let mut high = match feed.latestAnswer().call().await {
        Ok(answer) => answer <= I256::try_from(THRESHOLD_UNITS).expect("fits"),
        Err(_) => true,
    };
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(period) => {}
        }
        let price = if high { HIGH } else { LOW };
        let sent = async {
            anyhow::Ok(
                feed.setPrice(I256::try_from(price).expect("fits"))
                    .send()
                    .await?
                    .get_receipt()
                    .await?,
            )
        }
        .await;
        match sent {
            Ok(r) if r.status() => {
                log.push(Drive::Price {
                    price: price.to_string(),
                    above: high,
                    tx_hash: r.transaction_hash,
                    block: r.block_number.unwrap_or_default(),
                    at_ms: Timestamp::now().as_millis(),
                });
                high = !high;
            }
            Ok(r) => tracing::warn!(tx = %r.transaction_hash, "demo setPrice reverted"),
            Err(e) => tracing::warn!(error = %e, "demo setPrice failed"),
        }
    }
}

/// The fault drill's victim: the keeper selected to perform the next demo time-job instants
/// (first attempts, with the keepers online now), so that killing it leaves tasks for backups to
/// take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Victim {
    /// Its index among the chain's keepers.
    pub(crate) index: usize,
    /// The tasks it was selected for: the time-job instants due in the window.
    pub(crate) tasks: Vec<(TaskId, Timestamp)>,
}

/// Picks the [`Victim`] for the time-job instants due in `[from, from + window]`: the keeper
/// selected for the earliest of them. `window` should end before a killed keeper is marked
/// offline (health's silence), or the assigner no longer selects it.
pub(crate) fn drill_victim(
    chain: &Chain,
    store: &dyn Store,
    jobs: &DemoJobs,
    from: Timestamp,
    window: Duration,
) -> anyhow::Result<Option<Victim>> {
    let candidates: Vec<Candidate> = store
        .list_keepers(&KeeperFilter::SELECTABLE)?
        .into_iter()
        .map(|k| Candidate {
            address: k.address,
            power: k.voting_power,
        })
        .collect();
    let until = from.add_millis(i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2));
    let mut due = Vec::new();
    for id in [jobs.interval, jobs.cron] {
        let Some(job) = store.get_job(id)? else {
            continue;
        };
        let Trigger::Time(trigger) = &job.trigger else {
            continue;
        };
        let schedule = CompiledSchedule::compile(trigger, job.created_at)?;
        let mut next = schedule.first_at_or_after(from);
        while let Some(at) = next.filter(|at| *at <= until) {
            let task = Occurrence::Time { job: id, due: at }.task_id();
            if let Some(performer) = select_performer(task, 0, &candidates, &[]) {
                due.push((at, task, performer));
            }
            next = schedule.next_after(at);
        }
    }
    due.sort_by_key(|(at, ..)| *at);
    let Some(&(_, _, victim)) = due.first() else {
        return Ok(None);
    };
    let Some(index) = chain.keepers.iter().position(|k| k.address() == victim) else {
        return Ok(None);
    };
    let tasks = due
        .into_iter()
        .filter(|(.., p)| *p == victim)
        .map(|(at, task, _)| (task, at))
        .collect();
    Ok(Some(Victim { index, tasks }))
}
