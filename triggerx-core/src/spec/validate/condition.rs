//! Condition triggers: a sampled value compared against exact limits.

use alloy_dyn_abi::{DynSolType, Specifier};
use serde_json::Value;

use super::{comparison, duration_at, event::chain_id, unused, whole_secs};
use crate::{
    ValidationErrors, abi,
    spec::model::{DurationValue, SourceSpec, TriggerSpec},
    types::{ConditionTrigger, FireMode, TriggerKind, ValueSource},
};

/// Default sampling period.
pub(crate) const DEFAULT_POLL_MS: u64 = 1_000;
/// Shortest sampling period.
const MIN_POLL_MS: u64 = 100;

pub(super) fn validate(t: &TriggerSpec, e: &mut ValidationErrors) -> Option<ConditionTrigger> {
    unused(t, TriggerKind::Condition, e);
    let source = match &t.source {
        Some(s) => source(s, e),
        None => {
            e.push(
                "trigger.source",
                "required: { type = \"http\" | \"view_call\" | \"price_feed\", ... }",
            );
            None
        }
    };
    let cmp = comparison(
        "trigger",
        t.op.as_deref(),
        t.value.as_ref(),
        t.lower.as_ref(),
        t.upper.as_ref(),
        e,
    );
    let poll = t.poll_interval.as_ref().map_or(Some(DEFAULT_POLL_MS), |v| {
        duration_at("trigger.poll_interval", v, MIN_POLL_MS, e)
    });
    let mode = t.mode.as_ref().map_or(Some(FireMode::Edge), |m| mode(m, e));
    Some(ConditionTrigger {
        source: source?,
        comparison: cmp?,
        poll_interval_ms: poll?,
        mode: mode?,
    })
}

fn mode(v: &Value, e: &mut ValidationErrors) -> Option<FireMode> {
    const HINT: &str = "expected \"edge\" or { mode = \"level\", cooldown = \"1m\" }";
    match v {
        Value::String(s) if s == "edge" => Some(FireMode::Edge),
        Value::String(s) if s == "level" => {
            e.push(
                "trigger.mode.cooldown",
                "level mode needs a cooldown: { mode = \"level\", cooldown = \"1m\" }",
            );
            None
        }
        Value::Object(map) => {
            for k in map.keys() {
                if k != "mode" && k != "cooldown" {
                    e.push(
                        format!("trigger.mode.{k}"),
                        "unknown field (expected mode, cooldown)",
                    );
                }
            }
            match map.get("mode").and_then(Value::as_str) {
                Some("edge") if map.len() == 1 => Some(FireMode::Edge),
                Some("edge") => {
                    e.push("trigger.mode.cooldown", "only used by level mode");
                    None
                }
                Some("level") => {
                    let Some(c) = map.get("cooldown") else {
                        e.push(
                            "trigger.mode.cooldown",
                            "required for level mode, e.g. \"1m\"",
                        );
                        return None;
                    };
                    match serde_json::from_value::<DurationValue>(c.clone()) {
                        Ok(d) => whole_secs("trigger.mode.cooldown", &d, 1, e)
                            .map(|cooldown_secs| FireMode::Level { cooldown_secs }),
                        Err(_) => {
                            e.push(
                                "trigger.mode.cooldown",
                                "expected a duration such as \"1m\"",
                            );
                            None
                        }
                    }
                }
                _ => {
                    e.push("trigger.mode.mode", HINT);
                    None
                }
            }
        }
        _ => {
            e.push("trigger.mode", HINT);
            None
        }
    }
}

fn source(s: &SourceSpec, e: &mut ValidationErrors) -> Option<ValueSource> {
    let p = |f: &str| format!("trigger.source.{f}");
    let present: [(&str, bool); 11] = [
        ("url", s.url.is_some()),
        ("json_path", s.json_path.is_some()),
        ("headers", s.headers.is_some()),
        ("chain_id", s.chain_id.is_some()),
        ("address", s.address.is_some()),
        ("function", s.function.is_some()),
        ("abi", s.abi.is_some()),
        ("function_name", s.function_name.is_some()),
        ("args", s.args.is_some()),
        ("output", s.output.is_some()),
        ("decimals", s.decimals.is_some()),
    ];
    let allowed: &[&str] = match s.kind.as_str() {
        "http" => &["url", "json_path", "headers"],
        "view_call" => &[
            "chain_id",
            "address",
            "function",
            "abi",
            "function_name",
            "args",
            "output",
            "decimals",
        ],
        "price_feed" => &["chain_id", "address", "decimals"],
        other => {
            e.push(
                p("type"),
                format!("unknown source type {other:?} (expected http, view_call or price_feed)"),
            );
            return None;
        }
    };
    for (name, is) in present {
        if is && !allowed.contains(&name) {
            e.push(
                p(name),
                format!(
                    "not used by {} {} source",
                    if s.kind == "http" { "an" } else { "a" },
                    s.kind
                ),
            );
        }
    }
    match s.kind.as_str() {
        "http" => http(s, e),
        "view_call" => view_call(s, e),
        _ => {
            let chain_id = chain_id(&p("chain_id"), s.chain_id, e);
            let address = address(&p("address"), s.address.as_deref(), e);
            let decimals = decimals(s.decimals.unwrap_or(8), e)?;
            Some(ValueSource::PriceFeed {
                chain_id: chain_id?,
                address: address?,
                decimals,
            })
        }
    }
}

fn decimals(d: u8, e: &mut ValidationErrors) -> Option<u8> {
    if d > 77 {
        e.push(
            "trigger.source.decimals",
            format!("at most 77 (a uint256 has 78 digits), found {d}"),
        );
        return None;
    }
    Some(d)
}

pub(super) fn address(
    path: &str,
    a: Option<&str>,
    e: &mut ValidationErrors,
) -> Option<alloy_primitives::Address> {
    match a {
        None => {
            e.push(path, "required");
            None
        }
        Some(a) => match abi::parse_address(a) {
            Ok(a) if a.is_zero() => {
                e.push(path, "the zero address is not a contract");
                None
            }
            Ok(a) => Some(a),
            Err(m) => {
                e.push(path, m);
                None
            }
        },
    }
}

/// Checks that `url` is an absolute http(s) URL with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_only = host.rsplit('@').next().unwrap_or_default();
    if host_only.is_empty() || host_only.starts_with(':') {
        return Err(format!("{url:?} has no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} contains whitespace"));
    }
    Ok(())
}

fn http(s: &SourceSpec, e: &mut ValidationErrors) -> Option<ValueSource> {
    let url = match s.url.as_deref().map(str::trim) {
        None | Some("") => {
            e.push(
                "trigger.source.url",
                "required: the http(s) URL returning JSON",
            );
            None
        }
        Some(u) => match check_http_url(u) {
            Ok(()) => Some(u.to_owned()),
            Err(m) => {
                e.push("trigger.source.url", m);
                None
            }
        },
    };
    let json_path = match s.json_path.as_deref().map(str::trim) {
        None => Some(None),
        Some(jp) => {
            match serde_json_path::JsonPath::parse(jp) {
                Ok(_) => Some(Some(jp.to_owned())),
                Err(err) => {
                    e.push("trigger.source.json_path", format!("{jp:?} is not a valid JSONPath (RFC 9535, e.g. \"$.data.price\"): {err}"));
                    None
                }
            }
        }
    };
    let headers = s.headers.clone().unwrap_or_default();
    for (name, value) in &headers {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            e.push(
                format!("trigger.source.headers.{name}"),
                "is not a valid HTTP header name",
            );
        } else if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            e.push(
                format!("trigger.source.headers.{name}"),
                "header values cannot contain line breaks",
            );
        }
    }
    Some(ValueSource::Http {
        url: url?,
        json_path: json_path?,
        headers,
    })
}

fn view_call(s: &SourceSpec, e: &mut ValidationErrors) -> Option<ValueSource> {
    let chain_id = chain_id("trigger.source.chain_id", s.chain_id, e);
    let address = address("trigger.source.address", s.address.as_deref(), e);
    let args = s.args.clone().unwrap_or_default();
    let function = super::action::function(
        "trigger.source",
        s.function.as_deref(),
        s.abi.as_ref(),
        s.function_name.as_deref(),
        args.len(),
        e,
    );
    let decimals = decimals(s.decimals.unwrap_or(0), e);
    let function = function?;
    let calldata = match abi::encode_call_at(&function, &args, "trigger.source.args") {
        Ok(c) => Some(c),
        Err(errs) => {
            e.0.extend(errs.0);
            None
        }
    };
    let output_index = s.output.unwrap_or(0);
    match function.outputs.get(output_index) {
        None if function.outputs.is_empty() => {
            e.push(
                "trigger.source.function",
                format!(
                    "{} declares no outputs; add returns (uint256) to the signature",
                    function.name
                ),
            );
            return None;
        }
        None => {
            e.push(
                "trigger.source.output",
                format!(
                    "{} has {} outputs; output {output_index} does not exist",
                    function.name,
                    function.outputs.len()
                ),
            );
            return None;
        }
        Some(out) => {
            match out.resolve() {
                Ok(DynSolType::Uint(_) | DynSolType::Int(_)) => {}
                _ => {
                    e.push("trigger.source.output", format!("output {output_index} of {} is {}; only integer outputs can be compared", function.name, out.ty));
                    return None;
                }
            }
        }
    }
    Some(ValueSource::ViewCall {
        chain_id: chain_id?,
        address: address?,
        function,
        args,
        calldata: calldata?,
        output_index,
        decimals: decimals?,
    })
}
