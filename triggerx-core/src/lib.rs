//! Core of TriggerX: the domain model, job validation, and the storage and chain seams that the
//! scheduler, the keeper, the hosts and the bindings all share.
//!
//! - [`types`]: plain serde data (`Job`, `Trigger`, `Action`, `Task`, `Keeper`, …) with alloy
//!   primitives for chain values.
//! - [`ids`]: job ids, trigger occurrence ids and the task ids derived from them.
//! - [`error`]: the crate's error type, with retry semantics.
//!
//! # Feature flags
//! - `sqlite`: the SQLite storage backend (rusqlite, bundled).
//! - `redb`: the redb storage backend.
//! - `chain`: the chain client over alloy, the contract bindings, and the signed transport.
//! - `test-utils`: test helpers, the storage conformance suite, and (with `chain`) a local anvil.

pub mod abi;
#[cfg(feature = "chain")]
pub mod chain;
pub mod clock;
pub mod condition;
pub mod error;
pub mod ids;
pub mod matching;
#[cfg(feature = "chain")]
pub mod protocol;
pub mod schedule;
pub mod selection;
pub mod spec;
pub mod store;
#[cfg(all(feature = "chain", feature = "test-utils"))]
pub mod test_http;
pub mod time;
#[cfg(feature = "chain")]
pub mod transport;
pub mod types;

pub use error::{Error, FieldError, Result, ValidationErrors};
pub use ids::{JobId, OccurrenceId, TaskId};
pub use time::Timestamp;
