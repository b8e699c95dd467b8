//! Time triggers: interval, cron with time zone, specific instants.

use chrono::TimeZone;
use croner::parser::{CronParser, Seconds};
use serde_json::Value;

use super::{ValidationContext, parse_time, unused, whole_secs};
use crate::{
    Timestamp, ValidationErrors,
    spec::model::TriggerSpec,
    types::{CatchUp, Overlap, Schedule, TimeTrigger, TriggerKind},
};

pub(super) fn validate(
    t: &TriggerSpec,
    recurring: Option<bool>,
    expires_at: Option<Timestamp>,
    ctx: &ValidationContext,
    e: &mut ValidationErrors,
) -> Option<(TimeTrigger, bool)> {
    unused(t, TriggerKind::Time, e);
    let start = t.start.as_ref().and_then(|s| match parse_time(s) {
        Ok(s) => Some(s),
        Err(m) => {
            e.push("trigger.start", m);
            None
        }
    });
    if let (Some(start), Some(exp)) = (start, expires_at)
        && exp <= start
    {
        e.push(
            "expires_at",
            format!("{exp} is before trigger.start {start}"),
        );
    }
    if t.timezone.is_some() && t.cron.is_none() {
        e.push("trigger.timezone", "only applies to a cron schedule");
    }
    let given: Vec<&str> = [
        ("every", t.every.is_some()),
        ("cron", t.cron.is_some()),
        ("at", t.at.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, p)| p.then_some(n))
    .collect();
    let from = start.map_or(ctx.now, |s| s.max(ctx.now));
    let schedule = match given.as_slice() {
        [] => {
            e.push("trigger", "a time trigger needs one of every, cron or at");
            None
        }
        [_, second, ..] => {
            e.push(
                format!("trigger.{second}"),
                format!(
                    "give only one of every, cron or at (found {})",
                    given.join(", ")
                ),
            );
            None
        }
        ["every"] => t
            .every
            .as_ref()
            .and_then(|v| whole_secs("trigger.every", v, 1, e))
            .map(|every_secs| Schedule::Interval { every_secs }),
        ["cron"] => cron(t, from, expires_at, e),
        _ => instants(
            t.at.as_deref().unwrap_or_default(),
            start,
            expires_at,
            ctx,
            e,
        ),
    };
    let catch_up = t
        .catch_up
        .as_ref()
        .map_or(Some(CatchUp::default()), |v| catch_up(v, e));
    let overlap = match t.overlap.as_deref() {
        None => Some(Overlap::default()),
        Some("skip") => Some(Overlap::Skip),
        Some("allow") => Some(Overlap::Allow),
        Some(other) => {
            e.push(
                "trigger.overlap",
                format!("expected \"skip\" or \"allow\", found {other:?}"),
            );
            None
        }
    };
    let schedule = schedule?;
    let multi = match &schedule {
        Schedule::At { instants } => instants.len() > 1,
        _ => true,
    };
    match (recurring, &schedule) {
        (Some(false), Schedule::Interval { .. } | Schedule::Cron { .. }) => {
            e.push(
                "recurring",
                "an every or cron schedule always recurs; use trigger.at for one-shot instants",
            );
        }
        (Some(false), Schedule::At { instants }) if multi => {
            e.push(
                "recurring",
                format!(
                    "false contradicts the {} instants in trigger.at",
                    instants.len()
                ),
            );
        }
        (Some(true), Schedule::At { .. }) if !multi => {
            e.push(
                "recurring",
                "a single instant in trigger.at fires once; list several instants to recur",
            );
        }
        _ => {}
    }
    Some((
        TimeTrigger {
            schedule,
            start,
            catch_up: catch_up?,
            overlap: overlap?,
        },
        multi,
    ))
}

fn cron(
    t: &TriggerSpec,
    from: Timestamp,
    expires_at: Option<Timestamp>,
    e: &mut ValidationErrors,
) -> Option<Schedule> {
    let expr = t.cron.as_deref().unwrap_or_default().trim();
    let tz_name = t.timezone.as_deref().unwrap_or("UTC").trim();
    let tz: Option<chrono_tz::Tz> = match tz_name.parse() {
        Ok(tz) => Some(tz),
        Err(_) => {
            e.push(
                "trigger.timezone",
                format!("unknown IANA time zone {tz_name:?} (e.g. \"Europe/Berlin\", \"UTC\")"),
            );
            None
        }
    };
    let fields = expr.split_whitespace().count();
    if !expr.starts_with('@') && fields != 6 {
        e.push(
            "trigger.cron",
            format!("expected 6 fields (second minute hour day-of-month month day-of-week), found {fields}"),
        );
        return None;
    }
    let parsed = match CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
    {
        Ok(c) => c,
        Err(err) => {
            e.push(
                "trigger.cron",
                format!("invalid cron expression {expr:?}: {err}"),
            );
            return None;
        }
    };
    let tz = tz?;
    let start = tz.from_utc_datetime(&from.to_datetime().naive_utc());
    match parsed.find_next_occurrence(&start, false) {
        Ok(next) => {
            let next = Timestamp::from_datetime(&next);
            if let Some(exp) = expires_at
                && next >= exp
            {
                e.push(
                    "trigger.cron",
                    format!("first occurrence {next} is not before expires_at {exp}"),
                );
                return None;
            }
        }
        Err(err) => {
            e.push(
                "trigger.cron",
                format!("{expr:?} never fires after {from}: {err}"),
            );
            return None;
        }
    }
    Some(Schedule::Cron {
        expression: expr.to_owned(),
        timezone: tz.name().to_owned(),
    })
}

fn instants(
    at: &[crate::spec::model::TimeValue],
    start: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    ctx: &ValidationContext,
    e: &mut ValidationErrors,
) -> Option<Schedule> {
    if at.is_empty() {
        e.push("trigger.at", "list at least one instant");
        return None;
    }
    let before = e.0.len();
    let mut out: Vec<(Timestamp, usize)> = Vec::with_capacity(at.len());
    for (i, v) in at.iter().enumerate() {
        let path = format!("trigger.at[{i}]");
        match parse_time(v) {
            Ok(ts) => {
                if ts <= ctx.now {
                    e.push(
                        &path,
                        format!("{ts} is not in the future (validated at {})", ctx.now),
                    );
                } else if let Some(j) = out.iter().find(|(o, _)| *o == ts).map(|(_, j)| *j) {
                    e.push(&path, format!("{ts} repeats trigger.at[{j}]"));
                } else if start.is_some_and(|s| ts < s) {
                    e.push(&path, format!("{ts} is before trigger.start"));
                } else if expires_at.is_some_and(|x| ts >= x) {
                    e.push(&path, format!("{ts} is not before expires_at"));
                }
                out.push((ts, i));
            }
            Err(m) => e.push(&path, m),
        }
    }
    if e.0.len() > before {
        return None;
    }
    let mut instants: Vec<Timestamp> = out.into_iter().map(|(t, _)| t).collect();
    instants.sort();
    Some(Schedule::At { instants })
}

fn catch_up(v: &Value, e: &mut ValidationErrors) -> Option<CatchUp> {
    let bad = |e: &mut ValidationErrors| {
        e.push(
            "trigger.catch_up",
            "expected \"skip\", \"fire_once\" or { policy = \"fire_all\", window = \"1h\" }",
        );
        None
    };
    match v {
        Value::String(s) => match s.as_str() {
            "skip" => Some(CatchUp::Skip),
            "fire_once" => Some(CatchUp::FireOnce),
            "fire_all" => {
                e.push(
                    "trigger.catch_up.window",
                    "required for fire_all: { policy = \"fire_all\", window = \"1h\" }",
                );
                None
            }
            _ => bad(e),
        },
        Value::Object(map) => {
            for k in map.keys() {
                if k != "policy" && k != "window" {
                    e.push(
                        format!("trigger.catch_up.{k}"),
                        "unknown field (expected policy, window)",
                    );
                }
            }
            match map.get("policy").and_then(Value::as_str) {
                Some("fire_all") => {
                    let Some(w) = map.get("window") else {
                        e.push("trigger.catch_up.window", "required for fire_all");
                        return None;
                    };
                    let dv: crate::spec::model::DurationValue =
                        match serde_json::from_value(w.clone()) {
                            Ok(d) => d,
                            Err(_) => {
                                e.push(
                                    "trigger.catch_up.window",
                                    "expected a duration such as \"1h\"",
                                );
                                return None;
                            }
                        };
                    whole_secs("trigger.catch_up.window", &dv, 1, e)
                        .map(|window_secs| CatchUp::FireAll { window_secs })
                }
                Some("skip") if map.len() == 1 => Some(CatchUp::Skip),
                Some("fire_once") if map.len() == 1 => Some(CatchUp::FireOnce),
                Some(p @ ("skip" | "fire_once")) => {
                    e.push(
                        "trigger.catch_up.window",
                        format!("only used by fire_all, not {p}"),
                    );
                    None
                }
                _ => {
                    e.push(
                        "trigger.catch_up.policy",
                        "expected \"skip\", \"fire_once\" or \"fire_all\"",
                    );
                    None
                }
            }
        }
        _ => bad(e),
    }
}
