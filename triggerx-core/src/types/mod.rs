//! The domain model: plain serde data, validated once at the edge (see `spec`), with alloy
//! primitives for chain values.

mod action;
mod decimal;
mod job;
mod keeper;
mod report;
mod task;
mod trigger;
mod user;

pub use action::{Action, Arguments, ScriptRef};
pub use decimal::{Decimal, ParseDecimalError};
pub use job::{Job, JobStatus};
pub use keeper::{Keeper, Liveness};
pub use report::{Attestation, ExecutionReport, Verdict};
pub use task::{Evidence, Task, TaskStatus};
pub use trigger::{
    CatchUp, Comparison, ConditionTrigger, EventTrigger, FieldCondition, FireMode, Overlap,
    Schedule, TimeTrigger, TopicFilter, Trigger, TriggerKind, ValueSource,
};
pub use user::{ApiKey, User};
