//! TriggerX scheduler: trigger engines, task creation, performer selection, dispatch,
//! aggregation, registrar and health.
//!
//! The engines land with their issues; this crate depends on `triggerx-core` only and never
//! on `triggerx-keeper` (DESIGN §2).

pub use triggerx_core as core;
