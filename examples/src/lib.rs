//! Runnable TriggerX examples; see `examples/` in this crate.
