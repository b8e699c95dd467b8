//! Storage: object-safe, synchronous traits split by capability, and their backends.
//!
//! - [`JobStore`], [`TaskStore`], [`KeeperStore`], [`UserStore`], [`CheckpointStore`]: one
//!   trait per capability, so a component asks only for what it uses.
//! - [`Store`]: all of them plus [`Store::commit`], an atomic [`WriteBatch`] of several writes
//!   (e.g. the tasks of a block range together with the follower's cursor).
//! - Backends: [`memory::MemoryStore`] (always), `sqlite::SqliteStore` (feature `sqlite`),
//!   `redb::RedbStore` (feature `redb`).
//! - `conformance` (feature `test-utils`): the suite every backend must pass.
//!
//! All traits are synchronous and `Send + Sync`; `&S`, `Box<S>` and `Arc<S>` (so also
//! `Arc<dyn Store>`) implement them too. Async code calls them through
//! `tokio::task::spawn_blocking`. Compare-and-set failures are [`Error::Conflict`], forbidden
//! state changes [`Error::InvalidTransition`], and backend failures [`Error::Storage`] (with
//! `retryable` set for a busy or locked database). See `docs/storage.md`.
//!
//! [`Error::Conflict`]: crate::Error::Conflict
//! [`Error::InvalidTransition`]: crate::Error::InvalidTransition
//! [`Error::Storage`]: crate::Error::Storage

#[cfg(feature = "async")]
pub mod asynchronous;
pub(crate) mod backend;
pub(crate) mod batch;
mod forward;
pub mod memory;
mod model;
mod traits;

#[cfg(feature = "test-utils")]
pub mod conformance;
#[cfg(feature = "redb")]
pub mod redb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "async")]
pub use asynchronous::AsyncStore;
pub use batch::{BatchOutcome, OpOutcome, Txn, WriteBatch, WriteOp, apply};
pub use memory::MemoryStore;
pub use model::{Created, JobChange, JobFilter, KeeperFilter, Keyed, Page, TaskFilter, TaskUpdate};
pub use traits::{CheckpointStore, JobStore, KeeperStore, Store, TaskStore, UserStore};
