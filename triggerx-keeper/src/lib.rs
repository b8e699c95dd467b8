//! TriggerX keeper: performer, attester, argument building, script sandbox and check-in
//! client.
//!
//! This crate depends on `triggerx-core` only and never on `triggerx-scheduler` (DESIGN §2).
//!
//! - [`checkin`]: the signed liveness heartbeat to the health service.
//! - [`performer`]: the performer's transaction engine — calldata from a validated action,
//!   a pipelined nonce manager, EIP-1559 fees from fee history, stuck-transaction replacement,
//!   receipts with confirmations and decoded revert reasons. Fault behaviour is described in
//!   `docs/transactions.md`.
//! - [`attester`]: re-verifies execution reports against the chain (trigger evidence, the
//!   selected performer, the hub call's exact calldata, success, the tolerance window) and
//!   publishes signed approve/reject attestations; see `docs/trust-model.md`.

pub mod attester;
pub mod checkin;
pub mod performer;

pub use triggerx_core as core;
