//! Job specs: the native format (JSON/TOML), the original TriggerX `CreateJobData`, and
//! validation into a typed [`Job`](crate::types::Job).
//!
//! - [`JobSpec`]: what a user writes, in JSON or TOML with the same structure
//!   (`docs/job-spec.md` documents every field).
//! - [`parse_json`], [`parse_toml`], [`load`]: text or a file into a spec, with serde errors
//!   carrying the field path and line.
//! - [`validate`]: a spec into a [`Job`](crate::types::Job), collecting **every** problem with
//!   its field path (`trigger.cron: expected 6 fields …`, `action.args[1]: 300 does not fit uint8`).
//! - [`to_spec`]: a job back into its normalized spec, for display and round trips.
//! - [`legacy`]: the original `CreateJobData` JSON, converted into the same validated job.
//! - [`Document`], [`validate_file`]: any of these formats, detected from the file.

mod duration;
mod file;
mod hash;
pub mod legacy;
mod model;
mod normalize;
mod validate;

pub use duration::{format_duration, parse_duration};
pub use file::{
    Document, FileError, Format, load, parse_document, parse_json, parse_toml, validate_document,
    validate_file,
};
pub use hash::{SPEC_HASH_DOMAIN, spec_hash};
pub use model::{
    ActionSpec, DurationValue, JobSpec, ScriptSpec, SourceSpec, TimeValue, TriggerSpec, WhereSpec,
};
pub use normalize::to_spec;
pub use validate::{ValidationContext, validate};
