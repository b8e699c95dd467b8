//! Chain access: the narrow chain client trait over alloy, contract bindings, and a local
//! anvil for tests.
//!
//! - [`ChainClient`]: an object-safe async trait (via `async_trait`) with alloy primitive and
//!   RPC types in its signatures; [`AlloyClient`] implements it over one alloy
//!   `DynProvider`, [`FailoverClient`] over several endpoints with timeouts and failover.
//! - [`Error`]: typed chain errors (nonce too low/high, replacement underpriced, already known,
//!   insufficient funds, reverted, timeout, transport, …) with [`Error::is_retryable`].
//! - [`RegistryMembership`]: transport membership from the `KeeperRegistry` plus fixed services.
//! - [`SpecRegistry`]: the spec hashes jobs were registered with, cached.
//! - `fault_proxy` (with `test-utils`): a local HTTP forwarder that drops or delays responses.

mod client;
mod error;
mod failover;

#[cfg(feature = "test-utils")]
pub mod anvil;
pub mod contracts;
#[cfg(feature = "test-utils")]
pub mod fault_proxy;
pub mod membership;
pub mod specs;

pub use client::{AlloyClient, BlockHeader, ChainClient};
pub use error::{Error, Result};
pub use failover::{FailoverClient, FailoverConfig};
pub use membership::RegistryMembership;
pub use specs::{SpecRegistry, view};
