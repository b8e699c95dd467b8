//! TriggerX scheduler: trigger engines, task creation, performer selection, dispatch,
//! aggregation, registrar and health.
//!
//! - [`time`]: the time engine — one timer heap for every time job, catch-up and overlap
//!   policies, expiry, and a persisted per-job cursor so a restart misses and repeats nothing.
//! - [`event`]: the event engine — one block follower per chain, one `eth_getLogs` per new
//!   block range for all jobs, confirmations, reorg handling, a persisted cursor.
//! - [`condition`]: the condition engine — fixed sampling grid, one fetch per source per
//!   round, exact comparison, edge or level with cooldown.
//! - [`assign`]: performer selection, dispatch over the transport, reassignment to backups,
//!   deadlines and task tracking.
//! - [`health`]: signed check-ins, online/offline, uptime, offline and recovery alerts
//!   (webhook, Telegram).
//! - [`dispatch`]: the interface the engines hand new tasks to.
//! - [`aggregator`]: collects attestations, checks signatures and on-chain voting power,
//!   decides by stake-weighted quorum and settles each task once on the `KeeperRegistry`.
//! - [`registrar`]: follows the registry contracts' confirmed logs (keepers, voting power,
//!   settlements, job cancellations) into the store, and credits points once per task.
//! - [`watch`]: the job watcher — follows the store's job change feed so running engines pick
//!   up jobs created, paused, resumed, edited or deleted while they run.
//!
//! This crate depends on `triggerx-core` only and never on `triggerx-keeper` (DESIGN §2).

pub mod aggregator;
pub mod assign;
pub mod condition;
pub mod dispatch;
pub mod error;
pub mod event;
pub mod health;
mod jobs;
pub mod registrar;
pub mod time;
pub mod watch;

pub use error::{Error, Result};
