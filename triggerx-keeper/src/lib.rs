//! TriggerX keeper: performer, attester, argument building, script sandbox and check-in
//! client.
//!
//! This crate depends on `triggerx-core` only and never on `triggerx-scheduler` (DESIGN §2).

pub use triggerx_core as core;
