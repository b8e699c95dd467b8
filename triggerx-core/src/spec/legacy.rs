//! The original TriggerX `CreateJobData` JSON, converted into the same validated [`Job`].
//!
//! The conversion builds a native [`JobSpec`] and validates it with [`validate`]; errors are
//! reported under the original field names (`time_interval`, `arguments[1]`, …). Every
//! interpretation is documented in `docs/job-spec.md` ("The original format").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    model::{ActionSpec, DurationValue, JobSpec, ScriptSpec, SourceSpec, TimeValue, TriggerSpec},
    validate::{ValidationContext, validate as validate_native},
};
use crate::{
    ValidationErrors, abi,
    types::{Decimal, Job, TriggerKind},
};

/// One element of the original `POST /api/jobs` body, with its field names.
///
/// Fields the original only stored (balances, cost prediction, `custom`, `language`,
/// `created_chain_id`, `arg_type`, `safe_name`, `is_imua`, `schedule_type` where it agrees with
/// the fields given) are accepted and have no effect; see `docs/job-spec.md`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreateJobData {
    pub job_id: Option<Value>,
    pub user_address: Option<String>,
    pub ether_balance: Option<Value>,
    pub token_balance: Option<Value>,
    pub job_title: Option<String>,
    pub task_definition_id: Option<i64>,
    pub custom: Option<bool>,
    pub language: Option<String>,
    pub time_frame: Option<i64>,
    pub recurring: Option<bool>,
    pub job_cost_prediction: Option<Value>,
    pub timezone: Option<String>,
    pub created_chain_id: Option<Value>,
    pub is_safe: Option<bool>,
    pub safe_address: Option<String>,
    pub safe_name: Option<String>,
    pub schedule_type: Option<String>,
    pub time_interval: Option<i64>,
    pub cron_expression: Option<String>,
    pub specific_schedule: Option<String>,
    pub trigger_chain_id: Option<Value>,
    pub trigger_contract_address: Option<String>,
    pub trigger_event: Option<String>,
    pub event_filter_para_name: Option<String>,
    pub event_filter_value: Option<String>,
    pub condition_type: Option<String>,
    pub upper_limit: Option<Value>,
    pub lower_limit: Option<Value>,
    pub value_source_type: Option<String>,
    pub value_source_url: Option<String>,
    pub selected_key_route: Option<String>,
    pub target_chain_id: Option<Value>,
    pub target_contract_address: Option<String>,
    pub target_function: Option<String>,
    pub abi: Option<Value>,
    pub arg_type: Option<i64>,
    pub arguments: Option<Vec<Value>>,
    pub dynamic_arguments_script_url: Option<String>,
    pub is_imua: Option<bool>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn chain(path: &str, v: &Option<Value>, e: &mut ValidationErrors) -> Option<u64> {
    match v {
        None => None,
        Some(Value::Number(n)) => n.as_u64().filter(|&c| c > 0).or_else(|| {
            e.push(path, format!("{n} is not a chain id"));
            None
        }),
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => s.trim().parse::<u64>().ok().filter(|&c| c > 0).or_else(|| {
            e.push(
                path,
                format!("{s:?} is not a chain id (expected a decimal number such as \"31337\")"),
            );
            None
        }),
        Some(_) => {
            e.push(path, "expected a chain id as a decimal string");
            None
        }
    }
}

/// A limit as an exact decimal string: floats (the original's `float64`) go through their
/// shortest round-trip text.
fn limit(path: &str, v: &Option<Value>, e: &mut ValidationErrors) -> Option<Decimal> {
    let v = v.as_ref()?;
    let d = match v {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            n.as_f64().and_then(Decimal::from_f64)
        }
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if d.is_none() {
        e.push(path, format!("{v} is not a number"));
    }
    d
}

/// Converts a dotted key route (`data.prices.0.usd`) into RFC 9535 JSONPath (`$.data.prices[0].usd`).
/// A route that already starts with `$` is taken as JSONPath.
///
/// # Errors
/// An empty segment.
pub fn key_route_to_json_path(route: &str) -> Result<String, String> {
    let route = route.trim();
    if route.starts_with('$') {
        return Ok(route.to_owned());
    }
    let mut out = String::from("$");
    for seg in route.split('.') {
        if seg.is_empty() {
            return Err(format!("{route:?} has an empty segment"));
        }
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else if seg.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push('.');
            out.push_str(seg);
        } else {
            out.push_str(&format!(
                "['{}']",
                seg.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    Ok(out)
}

/// The limit field the original **scheduler** compared against for each condition type (the
/// attester of the original used `upper_limit` for several of them; the scheduler decided what
/// actually fired, so its choice is kept).
pub fn scheduler_limit(condition_type: &str) -> Option<&'static str> {
    match condition_type {
        "greater_than" | "equals" | "not_equals" | "greater_equal" => Some("lower_limit"),
        "less_than" | "less_equal" => Some("upper_limit"),
        _ => None,
    }
}

/// Converts the original string arguments the way the original keeper did for the types where
/// a string is not already our input form: arrays and tuples given as JSON text are parsed;
/// `bool` accepts numbers (non-zero is true); `bytes` that are not `0x` hex are UTF-8 text.
fn legacy_args(d: &CreateJobData, args: Vec<Value>) -> Vec<Value> {
    let function = d
        .abi
        .as_ref()
        .and_then(|a| abi::load_abi(a).ok())
        .and_then(|parsed| {
            nonempty(&d.target_function)
                .and_then(|n| abi::select_function(&parsed, n, Some(args.len())).ok())
        });
    let Some(f) = function else { return args };
    args.into_iter()
        .zip(f.inputs.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(arg, input)| {
            let (Some(input), Value::String(s)) = (input, &arg) else {
                return arg;
            };
            let ty = input.ty.as_str();
            if ty.ends_with(']') || ty.starts_with("tuple") {
                serde_json::from_str(s).unwrap_or(arg)
            } else if ty == "bool" {
                match s.trim() {
                    "true" | "false" => arg,
                    t => t
                        .parse::<f64>()
                        .map(|n| Value::Bool(n != 0.0))
                        .unwrap_or(arg),
                }
            } else if ty == "bytes" && !s.starts_with("0x") {
                Value::String(format!("0x{}", alloy_primitives::hex::encode(s.as_bytes())))
            } else {
                arg
            }
        })
        .collect()
}

/// Builds the native spec; problems that only the original fields can explain go to `e`.
/// Returns the spec and the name of the limit field used for `trigger.value`.
fn to_native(d: &CreateJobData, e: &mut ValidationErrors) -> (JobSpec, &'static str) {
    let tdid = d.task_definition_id;
    let (kind, dynamic) = match tdid {
        Some(1) => (Some(TriggerKind::Time), false),
        Some(2) => (Some(TriggerKind::Time), true),
        Some(3) => (Some(TriggerKind::Event), false),
        Some(4) => (Some(TriggerKind::Event), true),
        Some(5) => (Some(TriggerKind::Condition), false),
        Some(6) => (Some(TriggerKind::Condition), true),
        Some(7) => {
            e.push(
                "task_definition_id",
                "7 (custom-script jobs, whose script picks target and calldata) is not supported: use a time job (1/2) with a WebAssembly argument script",
            );
            (None, false)
        }
        Some(n) => {
            e.push("task_definition_id", format!("expected 1 to 7, found {n}"));
            (None, false)
        }
        None => {
            e.push("task_definition_id", "required (1..7)");
            (None, false)
        }
    };
    let mut t = TriggerSpec {
        kind,
        ..TriggerSpec::default()
    };
    let mut limit_field = "lower_limit";
    match kind {
        Some(TriggerKind::Time) => {
            let explicit = nonempty(&d.schedule_type);
            let which = explicit.unwrap_or(if nonempty(&d.cron_expression).is_some() {
                "cron"
            } else if nonempty(&d.specific_schedule).is_some() {
                "specific"
            } else {
                "interval"
            });
            match which {
                "interval" => match d.time_interval {
                    Some(n) if n >= 1 => t.every = Some(DurationValue::Secs(n.unsigned_abs())),
                    Some(n) => e.push(
                        "time_interval",
                        format!("must be at least 1 second, found {n}"),
                    ),
                    None => e.push("time_interval", "required for an interval schedule"),
                },
                "cron" => match nonempty(&d.cron_expression) {
                    Some(c) => {
                        t.cron = Some(c.to_owned());
                        t.timezone = nonempty(&d.timezone).map(str::to_owned);
                    }
                    None => e.push("cron_expression", "required for schedule_type \"cron\""),
                },
                "specific" => match nonempty(&d.specific_schedule) {
                    Some(s) => {
                        t.at = Some(
                            s.split(',')
                                .map(str::trim)
                                .map(|p| {
                                    p.parse::<i64>().map_or_else(
                                        |_| TimeValue::Text(p.to_owned()),
                                        TimeValue::Secs,
                                    )
                                })
                                .collect(),
                        );
                    }
                    None => e.push(
                        "specific_schedule",
                        "required for schedule_type \"specific\"",
                    ),
                },
                other => e.push(
                    "schedule_type",
                    format!("expected interval, cron or specific, found {other:?}"),
                ),
            }
        }
        Some(TriggerKind::Event) => {
            t.chain_id = chain("trigger_chain_id", &d.trigger_chain_id, e);
            if t.chain_id.is_none() && d.trigger_chain_id.is_none() {
                e.push("trigger_chain_id", "required for an event job");
            }
            t.address = nonempty(&d.trigger_contract_address).map(str::to_owned);
            t.event = nonempty(&d.trigger_event).map(str::to_owned);
            match (
                nonempty(&d.event_filter_para_name),
                nonempty(&d.event_filter_value),
            ) {
                (None, None) => {}
                (Some(_), None) => {
                    e.push("event_filter_value", "required with event_filter_para_name")
                }
                (None, Some(_)) => {
                    e.push("event_filter_para_name", "required with event_filter_value")
                }
                (Some(name), Some(value)) => {
                    // An address given for a topic position is padded to the topic word.
                    let positional = name
                        .strip_prefix("topic")
                        .unwrap_or(name)
                        .parse::<u8>()
                        .is_ok();
                    let v = match abi::parse_address(value) {
                        Ok(a) if positional => a.into_word().to_string(),
                        _ => value.to_owned(),
                    };
                    t.filter = Some(BTreeMap::from([(name.to_owned(), Value::String(v))]));
                }
            }
        }
        Some(TriggerKind::Condition) => {
            match nonempty(&d.value_source_type).unwrap_or("api") {
                "api" | "oracle" => {
                    let json_path = match nonempty(&d.selected_key_route).map(key_route_to_json_path) {
                        Some(Ok(p)) => Some(p),
                        Some(Err(m)) => {
                            e.push("selected_key_route", m);
                            None
                        }
                        None => None,
                    };
                    t.source = Some(SourceSpec {
                        kind: "http".into(),
                        url: d.value_source_url.clone(),
                        json_path,
                        ..SourceSpec::default()
                    });
                }
                "static" => e.push("value_source_type", "\"static\" (a constant for testing) is not supported; use an http source"),
                "websocket" => e.push("value_source_type", "\"websocket\" sources are not supported; use an http source polled at an interval"),
                other => e.push("value_source_type", format!("unknown source type {other:?} (expected api or oracle)")),
            }
            let op = nonempty(&d.condition_type).map(str::to_owned);
            let lower = limit("lower_limit", &d.lower_limit, e);
            let upper = limit("upper_limit", &d.upper_limit, e);
            match op.as_deref() {
                Some("between") => {
                    t.lower = lower.map(|v| json!(v.to_string()));
                    t.upper = upper.map(|v| json!(v.to_string()));
                }
                Some(o) => {
                    if let Some(field) = scheduler_limit(o) {
                        limit_field = field;
                        let (chosen, other, other_name) = if field == "lower_limit" {
                            (&lower, &upper, "upper_limit")
                        } else {
                            (&upper, &lower, "lower_limit")
                        };
                        let zero =
                            |d: &Option<Decimal>| d.as_ref().is_none_or(|v| *v == Decimal::zero());
                        if zero(chosen) && !zero(other) {
                            e.push(
                                field,
                                format!(
                                    "{o} compares against {field} (as the original scheduler did), but {field} is {} while {other_name} is {}; set {field}",
                                    chosen.as_ref().map_or_else(|| "missing".to_owned(), ToString::to_string),
                                    other.as_ref().map_or_else(String::new, ToString::to_string),
                                ),
                            );
                        } else {
                            t.value = Some(json!(chosen.clone().unwrap_or_default().to_string()));
                        }
                    }
                }
                None => {}
            }
            t.op = op;
        }
        None => {}
    }
    if d.is_safe == Some(true) {
        match nonempty(&d.safe_address) {
            None => e.push("safe_address", "required when is_safe is true"),
            Some(a) => {
                if let Err(m) = abi::parse_address(a) {
                    e.push("safe_address", m);
                }
            }
        }
    }
    let script_url = nonempty(&d.dynamic_arguments_script_url);
    let (args, script) = match (dynamic, script_url) {
        (true, Some(url)) => (
            None,
            Some(ScriptSpec {
                url: url.to_owned(),
                digest: None,
                fuel: None,
            }),
        ),
        (true, None) => {
            if tdid.is_some() {
                e.push(
                    "dynamic_arguments_script_url",
                    format!(
                        "required for task_definition_id {}",
                        tdid.unwrap_or_default()
                    ),
                );
            }
            (None, None)
        }
        (false, Some(_)) => {
            e.push(
                "dynamic_arguments_script_url",
                format!(
                    "set, but task_definition_id {} takes static arguments (use {})",
                    tdid.unwrap_or_default(),
                    tdid.unwrap_or_default() + 1
                ),
            );
            (None, None)
        }
        (false, None) => (
            Some(legacy_args(d, d.arguments.clone().unwrap_or_default())),
            None,
        ),
    };
    let target_chain = chain("target_chain_id", &d.target_chain_id, e);
    if target_chain.is_none() && d.target_chain_id.is_none() {
        e.push("target_chain_id", "required");
    }
    if d.abi.is_none() {
        e.push("abi", "required: the target contract's ABI JSON");
    }
    if nonempty(&d.target_function).is_none() {
        e.push("target_function", "required: the function's name in abi");
    }
    let action = ActionSpec {
        chain_id: target_chain,
        target: d.target_contract_address.clone(),
        function: None,
        abi: d.abi.clone(),
        function_name: nonempty(&d.target_function).map(str::to_owned),
        args,
        script,
        value: None,
        gas_limit: None,
    };
    let expires_in = match d.time_frame {
        Some(n) if n >= 1 => Some(DurationValue::Secs(n.unsigned_abs())),
        Some(n) => {
            e.push(
                "time_frame",
                format!("must be at least 1 second, found {n}"),
            );
            None
        }
        None => {
            e.push("time_frame", "required: seconds until the job expires");
            None
        }
    };
    if d.job_id.is_none() {
        e.push("job_id", "required: the decimal on-chain job id");
    }
    if d.user_address.is_none() {
        e.push("user_address", "required");
    }
    let recurring = match kind {
        Some(TriggerKind::Event | TriggerKind::Condition) => Some(d.recurring.unwrap_or(false)),
        _ => None, // ignored for time jobs, as in the original
    };
    let spec = JobSpec {
        title: d.job_title.clone().unwrap_or_default(),
        owner: d.user_address.clone().unwrap_or_default(),
        id: d.job_id.clone(),
        recurring,
        expires_at: None,
        expires_in,
        trigger: t,
        action,
    };
    (spec, limit_field)
}

const FILTER_NAME_HINTS: [&str; 4] = [
    "has no parameter",
    "is not indexed",
    "is the event selector",
    "does not exist",
];

/// Maps a native field path back to the original field it came from.
fn original_path(path: &str, message: &str, limit_field: &str) -> String {
    let table: [(&str, &str); 27] = [
        ("title", "job_title"),
        ("owner", "user_address"),
        ("id", "job_id"),
        ("expires_in", "time_frame"),
        ("expires_at", "time_frame"),
        ("recurring", "recurring"),
        ("trigger.every", "time_interval"),
        ("trigger.cron", "cron_expression"),
        ("trigger.timezone", "timezone"),
        ("trigger.at", "specific_schedule"),
        ("trigger.chain_id", "trigger_chain_id"),
        ("trigger.address", "trigger_contract_address"),
        ("trigger.event", "trigger_event"),
        ("trigger.source.url", "value_source_url"),
        ("trigger.source.json_path", "selected_key_route"),
        ("trigger.source", "value_source_type"),
        ("trigger.op", "condition_type"),
        ("trigger.value", limit_field),
        ("trigger.lower", "lower_limit"),
        ("trigger.upper", "upper_limit"),
        ("action.chain_id", "target_chain_id"),
        ("action.target", "target_contract_address"),
        ("action.function_name", "target_function"),
        ("action.function", "target_function"),
        ("action.abi", "abi"),
        ("action.args", "arguments"),
        ("action.script", "dynamic_arguments_script_url"),
    ];
    if path.starts_with("trigger.filter") {
        return if FILTER_NAME_HINTS.iter().any(|h| message.contains(h)) {
            "event_filter_para_name".into()
        } else {
            "event_filter_value".into()
        };
    }
    for (native, original) in table {
        if let Some(rest) = path.strip_prefix(native) {
            if rest.is_empty() || rest.starts_with('[') {
                return format!("{original}{rest}");
            }
            if rest.starts_with('.') {
                return original.to_owned();
            }
        }
    }
    if path == "trigger" {
        // Only the time validator reports on the trigger as a whole (no schedule given).
        return "time_interval".into();
    }
    path.to_owned()
}

/// Validates an original-format `CreateJobData` into a job.
///
/// # Errors
/// Every problem, under the original field names.
pub fn validate(d: &CreateJobData, ctx: &ValidationContext) -> Result<Job, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let (spec, limit_field) = to_native(d, &mut e);
    match validate_native(&spec, ctx) {
        Ok(job) if e.is_empty() => Ok(job),
        Ok(_) => Err(e),
        Err(native) => {
            for mut fe in native.0 {
                fe.path = original_path(&fe.path, &fe.message, limit_field);
                fe.message = fe.message.replace(
                    "(use trigger.where)",
                    "(only indexed parameters can be filtered in the original format)",
                );
                // The conversion already explained this field.
                if !e.0.iter().any(|x| x.path == fe.path) {
                    e.0.push(fe);
                }
            }
            Err(e)
        }
    }
}

/// Parses original-format JSON: one `CreateJobData` object or the API's array of them.
///
/// # Errors
/// The first structural problem, with its path and line.
pub fn parse(text: &str) -> Result<Vec<CreateJobData>, ValidationErrors> {
    match super::file::parse_document(text, super::file::Format::Json)? {
        super::file::Document::Legacy(items) => Ok(items),
        super::file::Document::Native(_) => {
            let mut e = ValidationErrors::default();
            e.push(
                "task_definition_id",
                "required: this is not an original-format CreateJobData document",
            );
            Err(e)
        }
    }
}
