//! Integration tests of the performer's transaction engine against a real anvil.

mod attester;
mod common;
mod faults;
mod pipeline;
mod replacement;
mod restart;
mod revert;
mod spec_binding;
