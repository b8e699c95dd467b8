//! The aggregator: collects attestations, checks their signatures and the attesters' voting
//! power on-chain, decides by stake-weighted quorum and settles each task once on the
//! `KeeperRegistry`, which verifies the signatures again (DESIGN §4).
//!
//! - Every [`Attestation`] is checked with [`AttestationDomain::verify`]; forged ones (a bad
//!   signature, a verdict or digest that differs from what was signed) are dropped and counted.
//! - The attester must have non-zero `votingPower` on the registry (read by `eth_call`, cached
//!   for [`Config::power_ttl`]); unregistered keys are dropped and counted.
//! - Votes are grouped by (task, report digest, approve); each attester's first vote on a task
//!   stands (a second, different one is counted as an equivocation). A group settles the task
//!   when its power × 3 > total × 2 (approve) or its power × 3 > total (reject): exactly 2/3 or
//!   1/3 is not enough.
//! - One `submitVerdict(taskId, jobId, performer, reportDigest, approve, signatures)` per task,
//!   signatures strictly ascending by signer. The registry is asked first whether the task is
//!   already settled; a submission that loses the race to another aggregator
//!   (`TaskAlreadySettled`) is treated as settled. Retryable failures are retried.
//! - The outcome is recorded in the store by compare-and-set (`executed`/`attested` →
//!   `accepted`/`rejected`, the verdict transaction in `error`), exactly once, and returned as a
//!   [`SettledVerdict`] that [`AggregatorService`] publishes on [`topics::VERDICTS`].
//! - Attestations for a settled (or given-up) task are late: ignored and counted.
//!
//! `jobId` comes from the stored task (or the task's [`Assignment`]); `performer` from the
//! [`ExecutionReport`] whose digest the quorum signed (or the assignment, or the stored task).
//! A recovered report (`protocol::RecoveredReport` on `topics::RECOVERED`, relayed by the
//! scheduler for an execution whose performer never reported) is remembered like a report and
//! an assignment, and settled like any other.
//!
//! [`topics::VERDICTS`]: triggerx_core::protocol::topics::VERDICTS
//! [`Assignment`]: triggerx_core::protocol::Assignment
//! [`ExecutionReport`]: triggerx_core::types::ExecutionReport

mod chain;
mod collect;
mod error;
mod record;
pub mod service;
mod tally;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};
use triggerx_core::TaskId;
#[cfg(doc)]
use triggerx_core::{protocol::AttestationDomain, types::Attestation};

pub use self::{
    collect::Aggregator,
    error::{Error, Result},
    service::AggregatorService,
    tally::{approve_reached, reject_reached},
};

/// How the aggregator runs. [`Config::new`] fills in the defaults listed on each field.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `KeeperRegistry` (attestation contract).
    pub registry: Address,
    /// The settlement chain's id (part of the attestation signing domain).
    pub chain_id: u64,
    /// HTTP RPC endpoint of the settlement chain.
    pub rpc_url: String,
    /// The key that sends `submitVerdict` (needs gas; need not be a keeper).
    pub signer: PrivateKeySigner,
    /// How long a read voting power stays valid (default 2 s).
    pub power_ttl: Duration,
    /// How long a task is collected after its first attestation before it is given up
    /// (default 10 min); the dispatcher's deadline handling then fails the task.
    pub collect_timeout: Duration,
    /// How long to keep collecting once no verdict can reach the quorum any more (power may
    /// still change; default 30 s).
    pub linger_after_impossible: Duration,
    /// Tasks collected at once; attestations opening more are dropped and counted
    /// (default 10 000).
    pub max_open_tasks: usize,
    /// Settled or given-up tasks remembered to recognise late attestations (default 100 000).
    pub max_closed_tasks: usize,
    /// Execution reports and assignments remembered for `performer` / `jobId` (default 10 000
    /// each).
    pub max_context: usize,
    /// Keepers whose voting power is cached (default 10 000).
    pub max_cached_keepers: usize,
    /// Attempts for a retryable RPC failure when submitting (default 5).
    pub submit_attempts: u32,
    /// Delay before the first retry, doubled for each further one (default 200 ms).
    pub retry_backoff: Duration,
    /// How long to wait for the verdict's receipt (default 60 s).
    pub receipt_timeout: Duration,
    /// How far back to look for the settling event of a task someone else settled (default
    /// 50 000 blocks).
    pub settlement_lookback_blocks: u64,
}

impl Config {
    /// A configuration with the defaults listed on the fields.
    pub fn new(
        registry: Address,
        chain_id: u64,
        rpc_url: impl Into<String>,
        signer: PrivateKeySigner,
    ) -> Self {
        Self {
            registry,
            chain_id,
            rpc_url: rpc_url.into(),
            signer,
            power_ttl: Duration::from_secs(2),
            collect_timeout: Duration::from_secs(600),
            linger_after_impossible: Duration::from_secs(30),
            max_open_tasks: 10_000,
            max_closed_tasks: 100_000,
            max_context: 10_000,
            max_cached_keepers: 10_000,
            submit_attempts: 5,
            retry_backoff: Duration::from_millis(200),
            receipt_timeout: Duration::from_secs(60),
            settlement_lookback_blocks: 50_000,
        }
    }

    /// Sets [`Config::collect_timeout`].
    pub fn with_collect_timeout(mut self, d: Duration) -> Self {
        self.collect_timeout = d;
        self
    }

    /// Sets [`Config::linger_after_impossible`].
    pub fn with_linger_after_impossible(mut self, d: Duration) -> Self {
        self.linger_after_impossible = d;
        self
    }

    /// Sets [`Config::power_ttl`].
    pub fn with_power_ttl(mut self, d: Duration) -> Self {
        self.power_ttl = d;
        self
    }

    /// Sets [`Config::max_open_tasks`].
    pub fn with_max_open_tasks(mut self, n: usize) -> Self {
        self.max_open_tasks = n;
        self
    }
}

/// A task's settlement, as published on `topics::VERDICTS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledVerdict {
    /// The task.
    pub task_id: TaskId,
    /// Accepted (`true`) or rejected.
    pub approve: bool,
    /// The report the quorum attested (from the settling event when another aggregator
    /// settled and the event was found).
    pub report_digest: B256,
    /// The settling transaction (`None` when someone else settled and the event was not
    /// found within the lookback).
    pub tx_hash: Option<B256>,
    /// For a reject: the reason given by most rejecting power (reasons are not signed).
    pub reason: Option<String>,
    /// Whether this aggregator's transaction settled it.
    pub submitted_by_us: bool,
}

/// What became of one attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Verified and counted; no verdict yet.
    Counted,
    /// Counted, and it completed a quorum: the task is settled.
    Settled(SettledVerdict),
    /// Counted, and a quorum is reached, but the verdict waits: `jobId` or `performer` is not
    /// known yet ([`Aggregator::tick`] tries again).
    Deferred,
    /// The signature does not recover to the attester for this verdict: dropped.
    Forged,
    /// The attester has no voting power on the registry: dropped.
    Unregistered,
    /// The attester already cast this vote: ignored.
    Duplicate,
    /// The attester already voted differently on this task: ignored.
    Equivocation,
    /// The task is already settled or given up: ignored.
    Late,
    /// Too many open tasks: dropped.
    Overloaded,
}

macro_rules! stats {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The aggregator's counters, as plain numbers.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct StatsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

stats! {
    /// Attestations handled.
    received,
    /// Verified, registered and counted.
    counted,
    /// Dropped: the signature does not match.
    forged,
    /// Dropped: the attester has no voting power.
    unregistered,
    /// Ignored: the same vote again.
    duplicates,
    /// Ignored: a different vote of an attester that already voted.
    equivocations,
    /// Ignored: after the task was settled or given up.
    late,
    /// Dropped: too many open tasks.
    overloaded,
    /// Dropped by the service: payloads that did not decode.
    malformed,
    /// Dropped by the service: assignments not sent by the trusted scheduler.
    untrusted_assignments,
    /// Verdicts settled by this aggregator's transaction.
    verdicts_submitted,
    /// Tasks found settled by someone else.
    settled_by_others,
    /// Settlement attempts that failed (retried later when retryable).
    submit_failures,
    /// Quorums waiting for `jobId` / `performer`.
    deferred,
    /// Tasks given up after [`Config::collect_timeout`].
    expired,
    /// Tasks given up after [`Config::linger_after_impossible`].
    abandoned,
    /// Verdicts recorded in the store.
    recorded,
    /// Store writes that failed or found the task in a conflicting state.
    record_failures,
    /// RPC failures while checking attestations.
    rpc_errors,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
