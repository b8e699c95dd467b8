//! Typed bindings for the TriggerX contracts, generated with `sol!` from the committed artifacts.
