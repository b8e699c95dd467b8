//! The attester: re-verifies every execution report against the chain itself and signs
//! approve or reject with a machine-readable reason (DESIGN §5).
//!
//! [`Attester`] checks one report against the scheduler's assignment:
//!
//! - the report and the assignment name the same task and evidence, the task id derives from
//!   the occurrence, and the performer is the one the deterministic stake-weighted selection
//!   gives ([`Assignment::selection_is_valid`]);
//! - every candidate of that selection is registered in the `KeeperRegistry` with exactly the
//!   stated voting power;
//! - the transaction is mined, was sent by the performer to the hub, decodes as
//!   `TaskHub.execute` for this task and job, and its input is byte for byte what the
//!   performer's engine builds from the job's action ([`Call::hub_execute`]); it succeeded, the
//!   hub's `TaskExecuted` for this task says the target call succeeded, and the report's block,
//!   gas and receipt digest match the chain;
//! - the trigger evidence holds, with the shared core functions: the due instant is an
//!   occurrence of the schedule ([`CompiledSchedule`]); the log is in the canonical block with
//!   that hash, at that index, with those contents, and matches the trigger
//!   ([`EventMatcher`]); the condition's sample satisfies the comparison
//!   ([`Comparison::holds`]); and the execution block lies in the [`Config`]'s window.
//!
//! [`AttesterService`] runs it on the network. `docs/trust-model.md` ("Attester") describes
//! what a lying performer can and cannot get past these checks.
//!
//! [`Assignment::selection_is_valid`]: triggerx_core::protocol::Assignment::selection_is_valid
//! [`Call::hub_execute`]: crate::performer::Call::hub_execute
//! [`CompiledSchedule`]: triggerx_core::schedule::CompiledSchedule
//! [`EventMatcher`]: triggerx_core::matching::EventMatcher
//! [`Comparison::holds`]: triggerx_core::types::Comparison::holds

mod check;
mod config;
mod error;
mod evidence;
mod service;

pub use check::{Attester, Checked};
pub use config::Config;
pub use error::Error;
pub use service::{AttesterService, Monitor, ServiceConfig, Stats};
/// Moved to core ([`triggerx_core::protocol::receipt_digest_of`]); re-exported here.
pub use triggerx_core::protocol::receipt_digest_of;
