//! The native job spec: plain serde data, hand-writable in JSON or TOML with the same structure.
//!
//! Leaf values are kept loose here (strings, numbers, JSON values) so that [`validate`](super::validate)
//! can report every problem with its field path instead of stopping at the first one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::TriggerKind;

/// A job as a user writes it. See `docs/job-spec.md` for every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// A human-readable title, 3 to 100 characters.
    pub title: String,
    /// The owner's address.
    pub owner: String,
    /// The job id (decimal or 0x hex); derived from the spec's content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Whether the job keeps firing after the first occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
    /// No occurrence at or after this instant (RFC 3339, or seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<TimeValue>,
    /// Expiry relative to validation time (`30d`), instead of `expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<DurationValue>,
    /// When it fires.
    pub trigger: TriggerSpec,
    /// What it does.
    pub action: ActionSpec,
}

/// An instant: RFC 3339 text, a TOML date-time, or integer seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TimeValue {
    /// Seconds since the Unix epoch.
    Secs(i64),
    /// RFC 3339 text.
    Text(String),
    /// A TOML date-time literal.
    Toml(toml::value::Datetime),
}

/// A duration: text such as `90s`, `5m`, `2h`, `30d`, `1h30m`, `250ms`, or integer seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DurationValue {
    /// Whole seconds.
    Secs(u64),
    /// Humane text.
    Text(String),
}

impl<'de> Deserialize<'de> for TimeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TimeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 instant such as \"2030-01-01T00:00:00Z\", or integer seconds since the epoch")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TimeValue, E> {
                Ok(TimeValue::Secs(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TimeValue, E> {
                i64::try_from(v)
                    .map(TimeValue::Secs)
                    .map_err(|_| E::custom(format!("{v} seconds is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TimeValue, E> {
                Ok(TimeValue::Text(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TimeValue, A::Error> {
                toml::value::Datetime::deserialize(serde::de::value::MapAccessDeserializer::new(
                    map,
                ))
                .map(TimeValue::Toml)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a duration such as \"90s\", \"5m\", \"2h\", \"30d\", or integer seconds",
                )
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationValue, E> {
                u64::try_from(v)
                    .map(DurationValue::Secs)
                    .map_err(|_| E::custom(format!("a duration cannot be negative, found {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Secs(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The trigger: one flat table whose `kind` says which of the other fields apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// `time`, `event` or `condition`.
    pub kind: Option<TriggerKind>,

    // ---- time ----
    /// Interval schedule: the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<DurationValue>,
    /// Cron schedule: six fields, seconds first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// IANA time zone for `cron` (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Specific instants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Vec<TimeValue>>,
    /// No occurrence before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TimeValue>,
    /// `skip`, `fire_once`, `fire_all` or `{ policy = "fire_all", window = "1h" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<Value>,
    /// `skip` or `allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<String>,

    // ---- event (chain_id also for nothing else) ----
    /// The chain whose logs are watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// The contract whose logs count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Several contracts whose logs count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
    /// The event signature, with `indexed` markers and names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// ABI JSON (text, an array of items, or an artifact object) to take the event from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<Value>,
    /// The event's name (or signature) in `abi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// Blocks on top of the log's block before it counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u64>,
    /// Indexed-parameter filters: parameter name, `topicN` or `N` → a value or a list of values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<BTreeMap<String, Value>>,
    /// Conditions on non-indexed integer fields.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<WhereSpec>>,

    // ---- condition ----
    /// Where the sampled value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceSpec>,
    /// The comparison (`greater_than`, `less_than`, `between`, `equals`, `not_equals`,
    /// `greater_equal`, `less_equal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// The limit for every comparison but `between`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The lower limit for `between`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<Value>,
    /// The upper limit for `between`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<Value>,
    /// Sampling period (default `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<DurationValue>,
    /// `edge` (default) or `{ mode = "level", cooldown = "1m" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Value>,
}

/// A comparison on a decoded non-indexed event field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhereSpec {
    /// The parameter's name.
    pub field: String,
    /// The comparison.
    pub op: String,
    /// The limit (all comparisons but `between`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The lower limit for `between`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<Value>,
    /// The upper limit for `between`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<Value>,
}

/// A condition's value source: one flat table whose `type` says which fields apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `http`, `view_call` or `price_feed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `http`: the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `http`: JSONPath of the value (`$.data.price`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// `http`: extra request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// `view_call`, `price_feed`: the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// `view_call`, `price_feed`: the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `view_call`: the function signature, with its outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// `view_call`: ABI JSON to take the function from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<Value>,
    /// `view_call`: the function's name (or signature) in `abi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// `view_call`: the call's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Value>>,
    /// `view_call`: which return value to read (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<usize>,
    /// `view_call` (default 0), `price_feed` (default 8): decimal places of the integer result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
}

/// The action: a contract call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The chain to send the transaction on.
    pub chain_id: Option<u64>,
    /// The contract to call.
    pub target: Option<String>,
    /// The function signature (`incrementBy(uint256 amount)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// ABI JSON to take the function from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<Value>,
    /// The function's name (or signature) in `abi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// Static arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Value>>,
    /// Dynamic arguments: a WebAssembly script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptSpec>,
    /// Wei sent with the call (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Gas limit for the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<u64>,
}

/// A dynamic-argument script.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptSpec {
    /// Where the module is fetched from (`https://`, `http://`, `file://`, `ipfs://`).
    pub url: String,
    /// keccak-256 of the module bytes (`0x` + 64 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Fuel limit for one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}
