//! A validated [`Job`] back into its normalized [`JobSpec`]: every default written out,
//! addresses checksummed, durations in humane units, instants in RFC 3339 UTC, filters as raw
//! topic words. Validating the result at the same instant gives the same job.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    duration::format_duration,
    model::{
        ActionSpec, DurationValue, JobSpec, ScriptSpec, SourceSpec, TimeValue, TriggerSpec,
        WhereSpec,
    },
};
use crate::{
    abi::{display_event, display_function},
    types::{
        Arguments, CatchUp, Comparison, FireMode, Job, Overlap, Schedule, Trigger, TriggerKind,
        ValueSource,
    },
};

fn text(t: crate::Timestamp) -> TimeValue {
    TimeValue::Text(t.to_string())
}

fn dur(ms: u64) -> DurationValue {
    DurationValue::Text(format_duration(ms))
}

/// The comparison as (op, value, lower, upper).
fn cmp(c: &Comparison) -> (String, Option<Value>, Option<Value>, Option<Value>) {
    let s = |d: &crate::types::Decimal| Some(Value::String(d.to_string()));
    match c {
        Comparison::Between { lower, upper } => (c.op_name().into(), None, s(lower), s(upper)),
        Comparison::GreaterThan { value }
        | Comparison::LessThan { value }
        | Comparison::Equals { value }
        | Comparison::NotEquals { value }
        | Comparison::GreaterEqual { value }
        | Comparison::LessEqual { value } => (c.op_name().into(), s(value), None, None),
    }
}

/// The normalized spec of a job.
pub fn to_spec(job: &Job) -> JobSpec {
    let mut t = TriggerSpec {
        kind: Some(job.trigger.kind()),
        ..TriggerSpec::default()
    };
    match &job.trigger {
        Trigger::Time(tt) => {
            match &tt.schedule {
                Schedule::Interval { every_secs } => {
                    t.every = Some(dur(every_secs.saturating_mul(1000)))
                }
                Schedule::Cron {
                    expression,
                    timezone,
                } => {
                    t.cron = Some(expression.clone());
                    t.timezone = Some(timezone.clone());
                }
                Schedule::At { instants } => {
                    t.at = Some(instants.iter().copied().map(text).collect())
                }
            }
            t.start = tt.start.map(text);
            t.catch_up = Some(match tt.catch_up {
                CatchUp::Skip => json!("skip"),
                CatchUp::FireOnce => json!("fire_once"),
                CatchUp::FireAll { window_secs } => {
                    json!({"policy": "fire_all", "window": format_duration(window_secs.saturating_mul(1000))})
                }
            });
            t.overlap = Some(match tt.overlap {
                Overlap::Skip => "skip".into(),
                Overlap::Allow => "allow".into(),
            });
        }
        Trigger::Event(ev) => {
            t.chain_id = Some(ev.chain_id);
            match ev.addresses.as_slice() {
                [one] => t.address = Some(one.to_checksum(None)),
                many => t.addresses = Some(many.iter().map(|a| a.to_checksum(None)).collect()),
            }
            t.event = Some(display_event(&ev.event));
            t.confirmations = Some(ev.confirmations);
            if !ev.topics.is_empty() {
                let mut map = BTreeMap::new();
                for f in &ev.topics {
                    // A name resolves to the same position; positional keys for unnamed/raw topics.
                    let named = ev
                        .event
                        .inputs
                        .iter()
                        .any(|p| p.indexed && p.name == f.name);
                    let key = if named {
                        f.name.clone()
                    } else {
                        format!("topic{}", f.position)
                    };
                    let words: Vec<Value> = f
                        .any_of
                        .iter()
                        .map(|w| Value::String(w.to_string()))
                        .collect();
                    map.insert(key, Value::Array(words));
                }
                t.filter = Some(map);
            }
            if !ev.conditions.is_empty() {
                t.conditions = Some(
                    ev.conditions
                        .iter()
                        .map(|c| {
                            let (op, value, lower, upper) = cmp(&c.comparison);
                            WhereSpec {
                                field: c.field.clone(),
                                op,
                                value,
                                lower,
                                upper,
                            }
                        })
                        .collect(),
                );
            }
        }
        Trigger::Condition(c) => {
            t.source = Some(match &c.source {
                ValueSource::Http {
                    url,
                    json_path,
                    headers,
                } => SourceSpec {
                    kind: "http".into(),
                    url: Some(url.clone()),
                    json_path: json_path.clone(),
                    headers: (!headers.is_empty()).then(|| headers.clone()),
                    ..SourceSpec::default()
                },
                ValueSource::ViewCall {
                    chain_id,
                    address,
                    function,
                    args,
                    output_index,
                    decimals,
                    ..
                } => SourceSpec {
                    kind: "view_call".into(),
                    chain_id: Some(*chain_id),
                    address: Some(address.to_checksum(None)),
                    function: Some(display_function(function)),
                    args: Some(args.clone()),
                    output: Some(*output_index),
                    decimals: Some(*decimals),
                    ..SourceSpec::default()
                },
                ValueSource::PriceFeed {
                    chain_id,
                    address,
                    decimals,
                } => SourceSpec {
                    kind: "price_feed".into(),
                    chain_id: Some(*chain_id),
                    address: Some(address.to_checksum(None)),
                    decimals: Some(*decimals),
                    ..SourceSpec::default()
                },
            });
            let (op, value, lower, upper) = cmp(&c.comparison);
            t.op = Some(op);
            t.value = value;
            t.lower = lower;
            t.upper = upper;
            t.poll_interval = Some(dur(c.poll_interval_ms));
            t.mode = Some(match c.mode {
                FireMode::Edge => json!("edge"),
                FireMode::Level { cooldown_secs } => {
                    json!({"mode": "level", "cooldown": format_duration(cooldown_secs.saturating_mul(1000))})
                }
            });
        }
    }
    let a = &job.action;
    let (args, script) = match &a.arguments {
        Arguments::Static { values, .. } => (Some(values.clone()), None),
        Arguments::Dynamic { script } => (
            None,
            Some(ScriptSpec {
                url: script.url.clone(),
                digest: script.digest.map(|d| d.to_string()),
                fuel: script.fuel,
            }),
        ),
    };
    let action = ActionSpec {
        chain_id: Some(a.chain_id),
        target: Some(a.target.to_checksum(None)),
        function: Some(display_function(&a.function)),
        abi: None,
        function_name: None,
        args,
        script,
        value: Some(Value::String(a.value.to_string())),
        gas_limit: a.gas_limit,
    };
    let time_recurs = job.kind() == TriggerKind::Time;
    JobSpec {
        title: job.title.clone(),
        owner: job.owner.to_checksum(None),
        id: Some(Value::String(job.id.to_string())),
        // Time jobs' recurrence follows from the schedule; writing it would be redundant.
        recurring: if time_recurs {
            None
        } else {
            Some(job.recurring)
        },
        expires_at: job.expires_at.map(text),
        expires_in: None,
        trigger: t,
        action,
    }
}
