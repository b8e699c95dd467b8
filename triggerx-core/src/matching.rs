//! Whether a log matches an event trigger: the one implementation the scheduler's event engine
//! and the attester share, so they cannot disagree.

use alloy_dyn_abi::{DynSolType, DynSolValue, Specifier};
use alloy_primitives::{Address, B256};

use crate::{
    abi::to_decimal,
    types::{EventTrigger, FieldCondition},
};

/// The parts of a log a match looks at.
#[derive(Debug, Clone, Copy)]
pub struct LogView<'a> {
    /// The emitting contract.
    pub address: Address,
    /// The topics (topic 0 is the selector for non-anonymous events).
    pub topics: &'a [B256],
    /// The non-indexed data.
    pub data: &'a [u8],
}

/// Why a trigger cannot be compiled into a matcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event}: cannot resolve parameter types: {reason}")]
pub struct MatcherError {
    /// The event's signature.
    pub event: String,
    /// The resolver's reason.
    pub reason: String,
}

/// An event trigger compiled for matching many logs.
#[derive(Debug, Clone)]
pub struct EventMatcher {
    addresses: Vec<Address>,
    topic0: B256,
    anonymous: bool,
    indexed: usize,
    topics: Vec<(usize, Vec<B256>)>,
    data_type: DynSolType,
    conditions: Vec<FieldCondition>,
}

/// The outcome of matching one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The log satisfies the trigger.
    Yes,
    /// It does not; the reason names the first failed check (for logs and attester verdicts).
    No(&'static str),
}

impl Match {
    /// Whether it matched.
    pub fn is_yes(&self) -> bool {
        matches!(self, Self::Yes)
    }
}

impl EventMatcher {
    /// Compiles a trigger.
    pub fn new(trigger: &EventTrigger) -> Result<Self, MatcherError> {
        let err = |reason: String| MatcherError {
            event: trigger.event.signature(),
            reason,
        };
        let data_types = trigger
            .event
            .inputs
            .iter()
            .filter(|p| !p.indexed)
            .map(|p| p.resolve())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        let mut addresses = trigger.addresses.clone();
        addresses.sort_unstable();
        addresses.dedup();
        Ok(Self {
            addresses,
            topic0: trigger.event.selector(),
            anonymous: trigger.event.anonymous,
            indexed: trigger.event.inputs.iter().filter(|p| p.indexed).count(),
            topics: trigger
                .topics
                .iter()
                .map(|f| (usize::from(f.position), f.any_of.clone()))
                .collect(),
            data_type: DynSolType::Tuple(data_types),
            conditions: trigger.conditions.clone(),
        })
    }

    /// The contracts whose logs can match.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// The event selector (topic 0).
    pub fn topic0(&self) -> B256 {
        self.topic0
    }

    /// Matches one log.
    pub fn matches(&self, log: LogView<'_>) -> Match {
        if self.addresses.binary_search(&log.address).is_err() {
            return Match::No("address");
        }
        if !self.anonymous && log.topics.first() != Some(&self.topic0) {
            return Match::No("topic0");
        }
        let expected_topics = self.indexed + usize::from(!self.anonymous);
        if log.topics.len() != expected_topics {
            return Match::No("topic_count");
        }
        for (position, any_of) in &self.topics {
            match log.topics.get(*position) {
                Some(t) if any_of.contains(t) => {}
                _ => return Match::No("topic_filter"),
            }
        }
        if self.conditions.is_empty() {
            return Match::Yes;
        }
        let Ok(DynSolValue::Tuple(fields)) = self.data_type.abi_decode_params(log.data) else {
            return Match::No("data_decode");
        };
        for c in &self.conditions {
            let Some(value) = fields.get(c.data_index).and_then(to_decimal) else {
                return Match::No("field_type");
            };
            if !c.comparison.holds(&value) {
                return Match::No("field_condition");
            }
        }
        Match::Yes
    }
}

#[cfg(test)]
mod tests {
    use alloy_json_abi::Event;
    use alloy_primitives::{U256, address};

    use super::*;
    use crate::types::{Comparison, TopicFilter};

    fn transfer_trigger(to: Option<Address>, min: Option<u64>) -> EventTrigger {
        let event =
            Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
                .unwrap();
        EventTrigger {
            chain_id: 31337,
            addresses: vec![address!("0x00000000000000000000000000000000000000aa")],
            event,
            topics: to
                .map(|a| TopicFilter {
                    position: 2,
                    name: "to".into(),
                    any_of: vec![a.into_word()],
                })
                .into_iter()
                .collect(),
            conditions: min
                .map(|m| FieldCondition {
                    field: "value".into(),
                    data_index: 0,
                    comparison: Comparison::GreaterEqual { value: m.into() },
                })
                .into_iter()
                .collect(),
            confirmations: 0,
        }
    }

    #[test]
    fn matches_address_topics_and_fields() {
        let to = address!("0x00000000000000000000000000000000000000bb");
        let m = EventMatcher::new(&transfer_trigger(Some(to), Some(100))).unwrap();
        let topics = [m.topic0(), Address::ZERO.into_word(), to.into_word()];
        let data = U256::from(150).to_be_bytes::<32>();
        let log = LogView {
            address: m.addresses()[0],
            topics: &topics,
            data: &data,
        };
        assert_eq!(m.matches(log), Match::Yes);
        let small = U256::from(99).to_be_bytes::<32>();
        assert_eq!(
            m.matches(LogView {
                data: &small,
                ..log
            }),
            Match::No("field_condition")
        );
        let other = [
            m.topic0(),
            Address::ZERO.into_word(),
            Address::ZERO.into_word(),
        ];
        assert_eq!(
            m.matches(LogView {
                topics: &other,
                ..log
            }),
            Match::No("topic_filter")
        );
        assert_eq!(
            m.matches(LogView { address: to, ..log }),
            Match::No("address")
        );
        assert_eq!(
            m.matches(LogView {
                data: &[1, 2],
                ..log
            }),
            Match::No("data_decode")
        );
        let short = [m.topic0()];
        assert_eq!(
            m.matches(LogView {
                topics: &short,
                ..log
            }),
            Match::No("topic_count")
        );
    }
}
