//! Event triggers: a contract log matching indexed-topic filters and field conditions.

use alloy_dyn_abi::{DynSolType, Specifier};
use alloy_json_abi::Event;
use alloy_primitives::Address;
use serde_json::Value;

use super::{comparison, unused};
use crate::{
    ValidationErrors, abi,
    spec::model::TriggerSpec,
    types::{EventTrigger, FieldCondition, TopicFilter, TriggerKind},
};

/// Most confirmations a job may ask for.
const MAX_CONFIRMATIONS: u64 = 1_000;

pub(super) fn validate(t: &TriggerSpec, e: &mut ValidationErrors) -> Option<EventTrigger> {
    unused(t, TriggerKind::Event, e);
    let chain_id = chain_id("trigger.chain_id", t.chain_id, e);
    let addresses = addresses(t, e);
    let event = event(t, e);
    let confirmations = t.confirmations.unwrap_or(0);
    if confirmations > MAX_CONFIRMATIONS {
        e.push(
            "trigger.confirmations",
            format!("at most {MAX_CONFIRMATIONS}, found {confirmations}"),
        );
    }
    let (topics, conditions) = match &event {
        Some(ev) => (filters(ev, t, e), wheres(ev, t, e)),
        None => (None, None),
    };
    Some(EventTrigger {
        chain_id: chain_id?,
        addresses: addresses?,
        event: event?,
        topics: topics?,
        conditions: conditions?,
        confirmations,
    })
}

pub(super) fn chain_id(path: &str, v: Option<u64>, e: &mut ValidationErrors) -> Option<u64> {
    match v {
        None => {
            e.push(path, "required (e.g. 31337 for a local devnet)");
            None
        }
        Some(0) => {
            e.push(path, "0 is not a chain id");
            None
        }
        Some(id) => Some(id),
    }
}

fn addresses(t: &TriggerSpec, e: &mut ValidationErrors) -> Option<Vec<Address>> {
    match (&t.address, &t.addresses) {
        (Some(_), Some(_)) => {
            e.push(
                "trigger.addresses",
                "give either address or addresses, not both",
            );
            None
        }
        (None, None) => {
            e.push(
                "trigger.address",
                "required: the contract whose logs are watched",
            );
            None
        }
        (Some(a), None) => match abi::parse_address(a) {
            Ok(a) => Some(vec![a]),
            Err(m) => {
                e.push("trigger.address", m);
                None
            }
        },
        (None, Some(list)) => {
            if list.is_empty() {
                e.push("trigger.addresses", "list at least one address");
                return None;
            }
            let before = e.0.len();
            let mut out: Vec<Address> = Vec::new();
            for (i, a) in list.iter().enumerate() {
                match abi::parse_address(a) {
                    Ok(a) if out.contains(&a) => e.push(
                        format!("trigger.addresses[{i}]"),
                        format!("{a} is listed twice"),
                    ),
                    Ok(a) => out.push(a),
                    Err(m) => e.push(format!("trigger.addresses[{i}]"), m),
                }
            }
            (e.0.len() == before).then_some(out)
        }
    }
}

fn event(t: &TriggerSpec, e: &mut ValidationErrors) -> Option<Event> {
    let ev = match (&t.event, &t.abi, &t.event_name) {
        (Some(_), Some(_), _) => {
            e.push(
                "trigger.abi",
                "give either event (a signature) or abi with event_name, not both",
            );
            return None;
        }
        (Some(sig), None, name) => {
            if name.is_some() {
                e.push("trigger.event_name", "only used with trigger.abi");
            }
            abi::parse_event(sig)
                .map_err(|m| e.push("trigger.event", m))
                .ok()?
        }
        (None, Some(json), Some(name)) => {
            let parsed = abi::load_abi(json)
                .map_err(|m| e.push("trigger.abi", m))
                .ok()?;
            abi::select_event(&parsed, name)
                .map_err(|m| e.push("trigger.event_name", m))
                .ok()?
        }
        (None, Some(_), None) => {
            e.push(
                "trigger.event_name",
                "required with trigger.abi: the event's name or signature",
            );
            return None;
        }
        (None, None, _) => {
            e.push("trigger.event", "required: the event signature, e.g. \"Transfer(address indexed from, address indexed to, uint256 value)\"");
            return None;
        }
    };
    if ev.anonymous {
        e.push(
            "trigger.event",
            "anonymous events have no selector topic and cannot be watched",
        );
        return None;
    }
    Some(ev)
}

/// Resolves a filter key to (topic position, parameter index if declared indexed there).
fn position(ev: &Event, key: &str) -> Result<(u8, Option<usize>), String> {
    let names = || {
        ev.inputs
            .iter()
            .map(|p| p.name.as_str())
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let numeric = key.strip_prefix("topic").unwrap_or(key);
    if let Ok(n) = numeric.parse::<u8>()
        && !ev.inputs.iter().any(|p| p.name == key)
    {
        return match n {
            0 => Err(
                "topic0 is the event selector and always matches the event; filter topics 1 to 3"
                    .into(),
            ),
            1..=3 => Ok((
                n,
                (0..ev.inputs.len()).find(|&i| abi::indexed_position(ev, i) == Some(n)),
            )),
            _ => Err(format!(
                "topic {n} does not exist (topics 1 to 3 carry indexed parameters)"
            )),
        };
    }
    let Some(index) = ev.inputs.iter().position(|p| p.name == key) else {
        return Err(format!(
            "{} has no parameter {key:?} (parameters: {})",
            ev.name,
            names()
        ));
    };
    match abi::indexed_position(ev, index) {
        Some(pos) => Ok((pos, Some(index))),
        None => Err(format!(
            "parameter {key:?} is not indexed (use trigger.where)"
        )),
    }
}

fn filters(ev: &Event, t: &TriggerSpec, e: &mut ValidationErrors) -> Option<Vec<TopicFilter>> {
    let Some(map) = &t.filter else {
        return Some(Vec::new());
    };
    let before = e.0.len();
    let mut out: Vec<(TopicFilter, String)> = Vec::new();
    for (key, value) in map {
        let path = format!("trigger.filter.{key}");
        let (pos, index) = match position(ev, key) {
            Ok(p) => p,
            Err(m) => {
                e.push(&path, m);
                continue;
            }
        };
        if let Some((_, other)) = out.iter().find(|(f, _)| f.position == pos) {
            e.push(
                &path,
                format!("filters the same topic as trigger.filter.{other}"),
            );
            continue;
        }
        let param = index.map(|i| &ev.inputs[i]);
        let values: Vec<(String, &Value)> = match (value, param) {
            (Value::Array(items), Some(p))
                if is_compound(p)
                    && !items
                        .iter()
                        .all(|v| v.is_array() || v.is_object() || is_word(v)) =>
            {
                vec![(path.clone(), value)]
            }
            (Value::Array(items), _) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{path}[{i}]"), v))
                .collect(),
            _ => vec![(path.clone(), value)],
        };
        if values.is_empty() {
            e.push(&path, "list at least one value");
            continue;
        }
        let mut any_of = Vec::with_capacity(values.len());
        for (p, v) in values {
            match param {
                Some(param) => match abi::encode_topic(param, v, &p) {
                    Ok(w) => any_of.push(w),
                    Err(errs) => e.0.extend(errs.0),
                },
                None => match v.as_str().and_then(|s| s.strip_prefix("0x")).filter(|h| h.len() == 64).and_then(|h| h.parse().ok()) {
                    Some(w) => any_of.push(w),
                    None => e.push(
                        &p,
                        format!(
                            "{} declares no indexed parameter at topic {pos}; only a raw 32-byte topic (0x + 64 hex digits) can be matched there",
                            ev.name
                        ),
                    ),
                },
            }
        }
        let name = param.map_or_else(
            || format!("topic{pos}"),
            |p| {
                if p.name.is_empty() {
                    format!("topic{pos}")
                } else {
                    p.name.clone()
                }
            },
        );
        out.push((
            TopicFilter {
                position: pos,
                name,
                any_of,
            },
            key.clone(),
        ));
    }
    if e.0.len() > before {
        return None;
    }
    let mut filters: Vec<TopicFilter> = out.into_iter().map(|(f, _)| f).collect();
    filters.sort_by_key(|f| f.position);
    Some(filters)
}

fn is_word(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_compound(p: &alloy_json_abi::EventParam) -> bool {
    p.ty.ends_with(']') || p.ty.starts_with("tuple")
}

fn wheres(ev: &Event, t: &TriggerSpec, e: &mut ValidationErrors) -> Option<Vec<FieldCondition>> {
    let Some(list) = &t.conditions else {
        return Some(Vec::new());
    };
    let before = e.0.len();
    let mut out = Vec::with_capacity(list.len());
    for (i, w) in list.iter().enumerate() {
        let base = format!("trigger.where[{i}]");
        let field = w.field.trim();
        let cmp = comparison(
            &base,
            Some(w.op.as_str()),
            w.value.as_ref(),
            w.lower.as_ref(),
            w.upper.as_ref(),
            e,
        );
        let Some(index) = ev.inputs.iter().position(|p| p.name == field) else {
            let names: Vec<&str> = ev
                .inputs
                .iter()
                .filter(|p| !p.indexed)
                .map(|p| p.name.as_str())
                .collect();
            e.push(
                format!("{base}.field"),
                format!(
                    "{} has no parameter {field:?} (non-indexed parameters: {})",
                    ev.name,
                    names.join(", ")
                ),
            );
            continue;
        };
        let param = &ev.inputs[index];
        if param.indexed {
            e.push(
                format!("{base}.field"),
                format!("parameter {field:?} is indexed (use trigger.filter)"),
            );
            continue;
        }
        match param.resolve() {
            Ok(DynSolType::Uint(_) | DynSolType::Int(_)) => {}
            _ => {
                e.push(
                    format!("{base}.field"),
                    format!(
                        "parameter {field:?} has type {}; only integer fields can be compared",
                        param.ty
                    ),
                );
                continue;
            }
        }
        let data_index = ev.inputs[..index].iter().filter(|p| !p.indexed).count();
        if let Some(comparison) = cmp {
            out.push(FieldCondition {
                field: field.to_owned(),
                data_index,
                comparison,
            });
        }
    }
    (e.0.len() == before).then_some(out)
}
