//! Validation of a [`JobSpec`] into a typed [`Job`], collecting every problem with its field path.

mod action;
mod condition;
mod event;
mod time;

use alloy_primitives::{U256, keccak256};
use serde::Serialize;
use serde_json::Value;

use super::{
    duration::parse_duration,
    model::{JobSpec, TimeValue, TriggerSpec},
};
use crate::{
    JobId, Timestamp, ValidationErrors,
    types::{Comparison, Decimal, Job, JobStatus, Trigger, TriggerKind},
};

/// What validation needs from outside the spec.
///
/// Construct it with [`ValidationContext::new`] or as a literal (`ValidationContext { now }`).
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// The instant validation happens at: `expires_in` counts from it, `expires_at` and
    /// one-shot instants must lie after it, and it becomes the job's `created_at`.
    pub now: Timestamp,
}

impl ValidationContext {
    /// A context at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self { now }
    }
}

/// Validates a spec into a job, reporting every problem found (not just the first).
///
/// # Errors
/// Every problem, each with its field path (`trigger.cron`, `action.args[1]`, …).
pub fn validate(spec: &JobSpec, ctx: &ValidationContext) -> Result<Job, ValidationErrors> {
    let mut e = ValidationErrors::default();

    let title = spec.title.trim();
    let len = title.chars().count();
    if !(3..=100).contains(&len) {
        e.push("title", format!("must be 3 to 100 characters, found {len}"));
    }
    let owner = match crate::abi::parse_address(&spec.owner) {
        Ok(a) if a.is_zero() => {
            e.push("owner", "the zero address cannot own a job");
            None
        }
        Ok(a) => Some(a),
        Err(m) => {
            e.push("owner", m);
            None
        }
    };
    let id = spec.id.as_ref().and_then(|v| match job_id(v) {
        Ok(id) => Some(id),
        Err(m) => {
            e.push("id", m);
            None
        }
    });

    let expires_at = match (&spec.expires_at, &spec.expires_in) {
        (Some(_), Some(_)) => {
            e.push(
                "expires_in",
                "give either expires_at or expires_in, not both",
            );
            None
        }
        (Some(t), None) => match parse_time(t) {
            Ok(t) if t <= ctx.now => {
                e.push(
                    "expires_at",
                    format!("{t} is not in the future (validated at {})", ctx.now),
                );
                None
            }
            Ok(t) => Some(t),
            Err(m) => {
                e.push("expires_at", m);
                None
            }
        },
        (None, Some(d)) => match parse_duration(d) {
            Ok(0) => {
                e.push("expires_in", "must be longer than 0s");
                None
            }
            Ok(ms) => i64::try_from(ms).ok().map(|ms| ctx.now.add_millis(ms)),
            Err(m) => {
                e.push("expires_in", m);
                None
            }
        },
        (None, None) => None,
    };

    let t = &spec.trigger;
    let (trigger, recurring) = match t.kind {
        None => {
            e.push("trigger.kind", "required: time, event or condition");
            (None, None)
        }
        Some(TriggerKind::Time) => match time::validate(t, spec.recurring, expires_at, ctx, &mut e)
        {
            Some((tt, r)) => (Some(Trigger::Time(tt)), Some(r)),
            None => (None, None),
        },
        Some(TriggerKind::Event) => (
            event::validate(t, &mut e).map(Trigger::Event),
            Some(spec.recurring.unwrap_or(false)),
        ),
        Some(TriggerKind::Condition) => (
            condition::validate(t, &mut e).map(Trigger::Condition),
            Some(spec.recurring.unwrap_or(false)),
        ),
    };
    let action = action::validate(&spec.action, &mut e);

    match (owner, trigger, recurring, action) {
        (Some(owner), Some(trigger), Some(recurring), Some(action)) if e.is_empty() => {
            let id =
                id.unwrap_or_else(|| derive_id(owner, title, &trigger, &action, recurring, spec));
            Ok(Job {
                id,
                owner,
                title: title.to_owned(),
                trigger,
                action,
                recurring,
                expires_at,
                status: JobStatus::Active,
                created_at: ctx.now,
                updated_at: ctx.now,
            })
        }
        _ => {
            if e.is_empty() {
                e.push("", "invalid job spec");
            }
            Err(e)
        }
    }
}

/// The id of a spec that names none: `keccak256("triggerx.job.v1" ‖ canonical JSON)` of the
/// validated content (owner, title, trigger, action, recurrence, and the expiry *as written*),
/// so validating or submitting the same spec twice gives the same id.
fn derive_id(
    owner: alloy_primitives::Address,
    title: &str,
    trigger: &Trigger,
    action: &crate::types::Action,
    recurring: bool,
    spec: &JobSpec,
) -> JobId {
    #[derive(Serialize)]
    struct Preimage<'a> {
        owner: alloy_primitives::Address,
        title: &'a str,
        trigger: &'a Trigger,
        action: &'a crate::types::Action,
        recurring: bool,
        expires_at: Option<String>,
        expires_in_ms: Option<u64>,
    }
    let pre = Preimage {
        owner,
        title,
        trigger,
        action,
        recurring,
        expires_at: spec
            .expires_at
            .as_ref()
            .and_then(|t| parse_time(t).ok())
            .map(|t| t.to_string()),
        expires_in_ms: spec
            .expires_in
            .as_ref()
            .and_then(|d| parse_duration(d).ok()),
    };
    let mut buf = b"triggerx.job.v1".to_vec();
    // Serializing plain data with derived impls cannot fail.
    buf.extend(serde_json::to_vec(&pre).unwrap_or_default());
    JobId(U256::from_be_bytes(keccak256(buf).0))
}

fn job_id(v: &Value) -> Result<JobId, String> {
    match v {
        Value::String(s) => s
            .parse()
            .map_err(|e: crate::ids::ParseJobIdError| e.to_string()),
        Value::Number(n) => n.as_u64().map(JobId::from_u64).ok_or_else(|| {
            format!("{n} is not an exact unsigned integer here; quote it as a string")
        }),
        other => Err(format!(
            "expected a decimal or 0x-hex string, found {}",
            crate::abi::describe_value(other)
        )),
    }
}

pub(crate) fn parse_time(v: &TimeValue) -> Result<Timestamp, String> {
    match v {
        TimeValue::Secs(s) => Ok(Timestamp::from_secs(*s)),
        TimeValue::Text(t) => t
            .parse()
            .map_err(|e: crate::time::ParseTimestampError| e.to_string()),
        TimeValue::Toml(dt) => {
            let text = dt.to_string();
            if dt.offset.is_none() || dt.date.is_none() || dt.time.is_none() {
                return Err(format!(
                    "{text} has no time zone offset: write a full instant such as 2027-01-01T00:00:00Z"
                ));
            }
            text.parse()
                .map_err(|e: crate::time::ParseTimestampError| e.to_string())
        }
    }
}

/// An exact decimal from a string or JSON integer; floats are refused.
pub(crate) fn decimal(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::String(s) => s
            .parse()
            .map_err(|e: crate::types::ParseDecimalError| e.to_string()),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(u.into())
            } else if let Some(i) = n.as_i64() {
                Ok(i.into())
            } else {
                Err(format!(
                    "{n} is a floating-point number; write exact decimals as strings, e.g. \"{n}\""
                ))
            }
        }
        other => Err(format!(
            "expected a decimal number as a string or an integer, found {}",
            crate::abi::describe_value(other)
        )),
    }
}

/// The seven comparison operators.
pub(crate) const OPS: [&str; 7] = [
    "greater_than",
    "less_than",
    "between",
    "equals",
    "not_equals",
    "greater_equal",
    "less_equal",
];

/// A comparison from `op` with `value` or `lower`/`upper`, errors under `base` (`trigger`, `trigger.where[0]`).
pub(crate) fn comparison(
    base: &str,
    op: Option<&str>,
    value: Option<&Value>,
    lower: Option<&Value>,
    upper: Option<&Value>,
    e: &mut ValidationErrors,
) -> Option<Comparison> {
    let join = |f: &str| {
        if base.is_empty() {
            f.to_owned()
        } else {
            format!("{base}.{f}")
        }
    };
    let Some(op) = op else {
        e.push(join("op"), format!("required: one of {}", OPS.join(", ")));
        return None;
    };
    if !OPS.contains(&op) {
        e.push(
            join("op"),
            format!(
                "unknown comparison {op:?} (expected one of {})",
                OPS.join(", ")
            ),
        );
        return None;
    }
    let get = |name: &str, v: Option<&Value>, e: &mut ValidationErrors| -> Option<Decimal> {
        match v {
            None => {
                e.push(join(name), format!("required for {op}"));
                None
            }
            Some(v) => match decimal(v) {
                Ok(d) => Some(d),
                Err(m) => {
                    e.push(join(name), m);
                    None
                }
            },
        }
    };
    if op == "between" {
        if value.is_some() {
            e.push(join("value"), "not used by between (give lower and upper)");
        }
        let lo = get("lower", lower, e);
        let hi = get("upper", upper, e);
        let (lo, hi) = (lo?, hi?);
        if lo > hi {
            e.push(join("upper"), format!("{hi} is below lower {lo}"));
            return None;
        }
        return Some(Comparison::Between {
            lower: lo,
            upper: hi,
        });
    }
    for (name, v) in [("lower", lower), ("upper", upper)] {
        if v.is_some() {
            e.push(
                join(name),
                format!("only used by between; {op} takes value"),
            );
        }
    }
    let value = get("value", value, e)?;
    Some(match op {
        "greater_than" => Comparison::GreaterThan { value },
        "less_than" => Comparison::LessThan { value },
        "equals" => Comparison::Equals { value },
        "not_equals" => Comparison::NotEquals { value },
        "greater_equal" => Comparison::GreaterEqual { value },
        _ => Comparison::LessEqual { value },
    })
}

/// Reports fields of `t` that the trigger kind does not use.
fn unused(t: &TriggerSpec, kind: TriggerKind, e: &mut ValidationErrors) {
    let fields: [(&str, bool, &[TriggerKind]); 23] = {
        use TriggerKind::{Condition as C, Event as E, Time as T};
        [
            ("every", t.every.is_some(), &[T]),
            ("cron", t.cron.is_some(), &[T]),
            ("timezone", t.timezone.is_some(), &[T]),
            ("at", t.at.is_some(), &[T]),
            ("start", t.start.is_some(), &[T]),
            ("catch_up", t.catch_up.is_some(), &[T]),
            ("overlap", t.overlap.is_some(), &[T]),
            ("chain_id", t.chain_id.is_some(), &[E]),
            ("address", t.address.is_some(), &[E]),
            ("addresses", t.addresses.is_some(), &[E]),
            ("event", t.event.is_some(), &[E]),
            ("abi", t.abi.is_some(), &[E]),
            ("event_name", t.event_name.is_some(), &[E]),
            ("confirmations", t.confirmations.is_some(), &[E]),
            ("filter", t.filter.is_some(), &[E]),
            ("where", t.conditions.is_some(), &[E]),
            ("source", t.source.is_some(), &[C]),
            ("op", t.op.is_some(), &[C]),
            ("value", t.value.is_some(), &[C]),
            ("lower", t.lower.is_some(), &[C]),
            ("upper", t.upper.is_some(), &[C]),
            ("poll_interval", t.poll_interval.is_some(), &[C]),
            ("mode", t.mode.is_some(), &[C]),
        ]
    };
    for (name, present, kinds) in fields {
        if present && !kinds.contains(&kind) {
            e.push(
                format!("trigger.{name}"),
                format!(
                    "not used by {} {} trigger",
                    if kind == TriggerKind::Event {
                        "an"
                    } else {
                        "a"
                    },
                    kind.as_str()
                ),
            );
        }
    }
}

/// Reads `v` as a duration in ms at `path`, with a minimum.
fn duration_at(
    path: &str,
    v: &super::model::DurationValue,
    min_ms: u64,
    e: &mut ValidationErrors,
) -> Option<u64> {
    match parse_duration(v) {
        Ok(ms) if ms < min_ms => {
            e.push(
                path,
                format!(
                    "must be at least {}",
                    super::duration::format_duration(min_ms)
                ),
            );
            None
        }
        Ok(ms) => Some(ms),
        Err(m) => {
            e.push(path, m);
            None
        }
    }
}

/// Reads a whole number of seconds at `path`.
fn whole_secs(
    path: &str,
    v: &super::model::DurationValue,
    min_secs: u64,
    e: &mut ValidationErrors,
) -> Option<u64> {
    let ms = duration_at(path, v, min_secs * 1000, e)?;
    if ms % 1000 != 0 {
        e.push(
            path,
            format!(
                "must be a whole number of seconds, found {}",
                super::duration::format_duration(ms)
            ),
        );
        return None;
    }
    Some(ms / 1000)
}
