//! Chain access: the narrow chain client trait over alloy, contract bindings, and a local
//! anvil for tests.

pub mod contracts;
#[cfg(feature = "test-utils")]
pub mod anvil;
