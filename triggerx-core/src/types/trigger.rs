//! Triggers: when a job fires.

use std::collections::BTreeMap;

use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize};

use super::Decimal;
use crate::Timestamp;

/// What makes a job fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// On a schedule.
    Time(TimeTrigger),
    /// On a contract log.
    Event(EventTrigger),
    /// When a sampled value satisfies a comparison.
    Condition(ConditionTrigger),
}

/// The kind of a [`Trigger`], for filtering and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// [`Trigger::Time`].
    Time,
    /// [`Trigger::Event`].
    Event,
    /// [`Trigger::Condition`].
    Condition,
}

impl TriggerKind {
    /// The lower-case name used in specs, storage and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Event => "event",
            Self::Condition => "condition",
        }
    }

    /// Parses [`as_str`](Self::as_str) output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "time" => Some(Self::Time),
            "event" => Some(Self::Event),
            "condition" => Some(Self::Condition),
            _ => None,
        }
    }
}

impl Trigger {
    /// This trigger's kind.
    pub const fn kind(&self) -> TriggerKind {
        match self {
            Self::Time(_) => TriggerKind::Time,
            Self::Event(_) => TriggerKind::Event,
            Self::Condition(_) => TriggerKind::Condition,
        }
    }

    /// The chain this trigger watches, if it watches one.
    pub fn chain_id(&self) -> Option<u64> {
        match self {
            Self::Time(_) => None,
            Self::Event(e) => Some(e.chain_id),
            Self::Condition(c) => c.source.chain_id(),
        }
    }
}

/// A time trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeTrigger {
    /// When it is due.
    pub schedule: Schedule,
    /// No occurrence before this instant (default: the job's creation).
    pub start: Option<Timestamp>,
    /// What to do with occurrences missed while the scheduler was down.
    pub catch_up: CatchUp,
    /// What to do when an occurrence is due while the previous task is unsettled.
    pub overlap: Overlap,
}

/// A time schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// Every `every_secs` seconds from the start.
    Interval {
        /// The period in seconds (≥ 1).
        every_secs: u64,
    },
    /// A cron expression with a seconds field, evaluated in an IANA time zone.
    Cron {
        /// Six fields: `sec min hour day-of-month month day-of-week`.
        expression: String,
        /// IANA zone name, e.g. `Europe/Berlin`; `UTC` by default.
        timezone: String,
    },
    /// Specific instants, sorted ascending, without duplicates.
    At {
        /// The instants.
        instants: Vec<Timestamp>,
    },
}

/// Catch-up policy for occurrences missed during downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum CatchUp {
    /// Drop missed occurrences; resume at the next future one.
    Skip,
    /// Fire once for all missed occurrences (the latest one), then resume.
    #[default]
    FireOnce,
    /// Fire every missed occurrence that is at most `window_secs` old.
    FireAll {
        /// How far back, in seconds.
        window_secs: u64,
    },
}

/// Overlap policy when the job's previous task is not settled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Create the new task anyway.
    Allow,
    /// Skip this occurrence (recorded as skipped, no task).
    #[default]
    Skip,
}

/// An event trigger: a contract log matching a filter, after some confirmations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTrigger {
    /// The chain to watch.
    pub chain_id: u64,
    /// Contracts whose logs count (any of them; at least one).
    pub addresses: Vec<Address>,
    /// The event, with parameter names and `indexed` flags.
    pub event: Event,
    /// Filters on indexed parameters, one per position at most.
    pub topics: Vec<TopicFilter>,
    /// Conditions on decoded non-indexed fields; all must hold.
    pub conditions: Vec<FieldCondition>,
    /// Blocks on top of the log's block before it counts (0 = the log's block itself).
    pub confirmations: u64,
}

impl EventTrigger {
    /// `topic0`: the event selector.
    pub fn topic0(&self) -> B256 {
        self.event.selector()
    }
}

/// A filter on one indexed event parameter: the topic at `position` must be one of `any_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicFilter {
    /// Topic position, 1..=3 (topic 0 is the selector).
    pub position: u8,
    /// The parameter's name, for display.
    pub name: String,
    /// Accepted topic values (encoded 32-byte words).
    pub any_of: Vec<B256>,
}

/// A comparison on a decoded non-indexed numeric event field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCondition {
    /// The parameter's name.
    pub field: String,
    /// Index among the event's non-indexed inputs (its position in the log data).
    pub data_index: usize,
    /// The comparison the decoded value must satisfy.
    pub comparison: Comparison,
}

/// A condition trigger: sample a value on a fixed grid and compare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionTrigger {
    /// Where the value comes from.
    pub source: ValueSource,
    /// The comparison that makes it fire.
    pub comparison: Comparison,
    /// Sampling period in milliseconds; samples fall on multiples of it since the epoch.
    pub poll_interval_ms: u64,
    /// Edge- or level-triggered.
    pub mode: FireMode,
}

/// Where a condition's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ValueSource {
    /// An HTTP GET returning JSON.
    Http {
        /// The URL.
        url: String,
        /// RFC 9535 JSONPath of the value (`$.data.price`); the whole body when absent.
        json_path: Option<String>,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
    },
    /// A contract view call.
    ViewCall {
        /// The chain.
        chain_id: u64,
        /// The contract.
        address: Address,
        /// The view function.
        function: Function,
        /// The arguments as given.
        args: Vec<serde_json::Value>,
        /// The encoded call.
        calldata: Bytes,
        /// Which return value to read.
        output_index: usize,
        /// Decimal places to scale the integer result down by.
        decimals: u8,
    },
    /// A Chainlink-style price feed (`latestRoundData().answer`, scaled by `decimals`).
    PriceFeed {
        /// The chain.
        chain_id: u64,
        /// The feed contract.
        address: Address,
        /// Decimal places of the answer.
        decimals: u8,
    },
}

impl ValueSource {
    /// The chain the source reads, for chain sources.
    pub const fn chain_id(&self) -> Option<u64> {
        match self {
            Self::Http { .. } => None,
            Self::ViewCall { chain_id, .. } | Self::PriceFeed { chain_id, .. } => Some(*chain_id),
        }
    }
}

/// A comparison of a value against exact decimal limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Comparison {
    /// `v > value`.
    GreaterThan {
        /// The limit.
        value: Decimal,
    },
    /// `v < value`.
    LessThan {
        /// The limit.
        value: Decimal,
    },
    /// `lower ≤ v ≤ upper`.
    Between {
        /// Lower limit (inclusive).
        lower: Decimal,
        /// Upper limit (inclusive).
        upper: Decimal,
    },
    /// `v == value`.
    Equals {
        /// The limit.
        value: Decimal,
    },
    /// `v != value`.
    NotEquals {
        /// The limit.
        value: Decimal,
    },
    /// `v ≥ value`.
    GreaterEqual {
        /// The limit.
        value: Decimal,
    },
    /// `v ≤ value`.
    LessEqual {
        /// The limit.
        value: Decimal,
    },
}

impl Comparison {
    /// Whether `v` satisfies the comparison. This is the one evaluation function the scheduler
    /// and the attester share.
    pub fn holds(&self, v: &Decimal) -> bool {
        match self {
            Self::GreaterThan { value } => v > value,
            Self::LessThan { value } => v < value,
            Self::Between { lower, upper } => lower <= v && v <= upper,
            Self::Equals { value } => v == value,
            Self::NotEquals { value } => v != value,
            Self::GreaterEqual { value } => v >= value,
            Self::LessEqual { value } => v <= value,
        }
    }

    /// The operator's name as the original TriggerX spells it (`greater_than`, …).
    pub const fn op_name(&self) -> &'static str {
        match self {
            Self::GreaterThan { .. } => "greater_than",
            Self::LessThan { .. } => "less_than",
            Self::Between { .. } => "between",
            Self::Equals { .. } => "equals",
            Self::NotEquals { .. } => "not_equals",
            Self::GreaterEqual { .. } => "greater_equal",
            Self::LessEqual { .. } => "less_equal",
        }
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::GreaterThan { value } => write!(f, "> {value}"),
            Self::LessThan { value } => write!(f, "< {value}"),
            Self::Between { lower, upper } => write!(f, "between {lower} and {upper} (inclusive)"),
            Self::Equals { value } => write!(f, "== {value}"),
            Self::NotEquals { value } => write!(f, "!= {value}"),
            Self::GreaterEqual { value } => write!(f, ">= {value}"),
            Self::LessEqual { value } => write!(f, "<= {value}"),
        }
    }
}

/// When a condition job fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum FireMode {
    /// Fires when the condition becomes true (false → true), once per crossing.
    #[default]
    Edge,
    /// Fires on every sample while true, at most once per `cooldown_secs`.
    Level {
        /// Minimum seconds between two firings.
        cooldown_secs: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn comparisons_are_exact() {
        let v = d("100.000000000000000001");
        assert!(Comparison::GreaterThan { value: d("100") }.holds(&v));
        assert!(!Comparison::Equals { value: d("100") }.holds(&v));
        assert!(
            Comparison::Between {
                lower: d("100"),
                upper: d("100.000000000000000001")
            }
            .holds(&v)
        );
        assert!(Comparison::LessEqual { value: v.clone() }.holds(&v));
        assert!(Comparison::GreaterEqual { value: v.clone() }.holds(&v));
        assert!(!Comparison::LessThan { value: v.clone() }.holds(&v));
        assert!(Comparison::NotEquals { value: d("100") }.holds(&v));
    }
}
