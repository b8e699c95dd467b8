//! Job specs: the native format (JSON/TOML), the original TriggerX `CreateJobData`, and
//! validation into a typed [`Job`](crate::types::Job).
