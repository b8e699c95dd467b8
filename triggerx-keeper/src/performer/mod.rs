//! The performer's transaction engine.
//!
//! [`Engine`] turns [`Call`]s (built from a validated action, directly or through the task
//! hub) into signed EIP-1559 transactions from one keeper key and follows each to a confirmed
//! [`Outcome`]:
//!
//! - many transactions in flight at once ([`Config::max_in_flight`]), nonces from a
//!   [`NonceManager`] that never waits for receipts and resynchronises from the chain;
//! - the signed bytes of every version of every nonce are kept: after a timeout the engine asks
//!   the node for the hash before re-sending, and only ever re-sends the same bytes;
//! - fees from `eth_feeHistory` ([`fees_from_history`]), capped by the keeper's maximum;
//!   transactions not mined after [`Config::stuck_after`] are replaced with the same nonce and
//!   both fees bumped by at least [`Config::bump_percent`] (≥ 10%), up to the cap;
//! - receipts with [`Config::confirmations`], reverts decoded into a [`RevertReason`].
//!
//! `docs/transactions.md` describes the behaviour under each fault.

mod call;
mod config;
mod engine;
mod error;
mod fees;
mod monitor;
mod nonce;
mod revert;
mod service;

pub use call::{Call, DEFAULT_CALL_GAS, HUB_GAS_OVERHEAD, static_calldata};
pub use config::{Config, GWEI};
pub use engine::{Engine, Outcome, Pending, Stats, Status};
pub use error::Error;
pub use fees::{Fees, fees_from_history};
pub use nonce::{NonceManager, Released};
pub use revert::RevertReason;
pub use service::{Monitor, PerformerService, ServiceStats, report_for};
