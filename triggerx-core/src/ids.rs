//! Identifiers: [`JobId`], the trigger [`Occurrence`] and its [`OccurrenceId`], and the
//! [`TaskId`] derived from it.
//!
//! Every firing of a trigger has a stable identity derived only from *what* fired it:
//!
//! | trigger | occurrence key | across restarts | across reorgs |
//! |---|---|---|---|
//! | time | (job, scheduled instant) | the same instant gives the same id | n/a |
//! | event | (job, chain, tx hash, log index) | the same log gives the same id | a log re-included in another block keeps its id; the block hash is kept as evidence only |
//! | condition | (job, sample round on the poll-interval grid) | the same round gives the same id | n/a |
//!
//! The task id is a hash of the occurrence id, so re-processing an occurrence (after a restart,
//! or on a second scheduler) finds the existing task instead of creating a second one, and the
//! on-chain hub refuses a task id it has already executed.

use std::{fmt, str::FromStr};

use alloy_primitives::{B256, U256, keccak256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;

/// A job's identifier: an unsigned 256-bit integer, as the on-chain job registry issues it.
///
/// Serialized as a decimal string (the original TriggerX form); parsed from a decimal string,
/// a `0x` hex string, or a JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct JobId(pub U256);

impl JobId {
    /// A job id from a small integer (tests, local devnets).
    pub fn from_u64(n: u64) -> Self {
        Self(U256::from(n))
    }

    /// The id as a 32-byte big-endian word.
    pub fn to_word(self) -> B256 {
        B256::from(self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The error for text that is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a job id as a decimal or 0x-hex unsigned 256-bit integer, found {0:?}")]
pub struct ParseJobIdError(String);

impl FromStr for JobId {
    type Err = ParseJobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() => U256::from_str_radix(hex, 16),
            Some(_) => return Err(ParseJobIdError(s.to_owned())),
            None if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                U256::from_str_radix(t, 10)
            }
            None => return Err(ParseJobIdError(s.to_owned())),
        };
        parsed.map(Self).map_err(|_| ParseJobIdError(s.to_owned()))
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Int(u64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Int(n) => Ok(Self::from_u64(n)),
            Repr::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub B256);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = alloy_primitives::hex::FromHexError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }
    };
}

hash_id!(
    /// The stable identity of one trigger firing; see the [module docs](self).
    OccurrenceId
);
hash_id!(
    /// A task's identifier, derived from its [`OccurrenceId`] (see [`TaskId::for_occurrence`]).
    TaskId
);

impl TaskId {
    /// The task id for an occurrence: `keccak256("triggerx.task.v1" ‖ occurrence_id)`.
    pub fn for_occurrence(occurrence: OccurrenceId) -> Self {
        let mut buf = Vec::with_capacity(16 + 32);
        buf.extend_from_slice(b"triggerx.task.v1");
        buf.extend_from_slice(occurrence.0.as_slice());
        Self(keccak256(buf))
    }
}

/// What fired: the key fields of one trigger occurrence, from which its id is derived.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Occurrence {
    /// A time trigger due at `due`.
    Time {
        /// The job.
        job: JobId,
        /// The scheduled instant (not the instant it was noticed).
        due: Timestamp,
    },
    /// A log matched by an event trigger.
    Event {
        /// The job.
        job: JobId,
        /// The chain the log is on.
        chain_id: u64,
        /// The transaction that emitted the log.
        tx_hash: B256,
        /// The log's index in its block.
        log_index: u64,
    },
    /// A condition sample round that satisfied the condition.
    Condition {
        /// The job.
        job: JobId,
        /// The sample round: `floor(sample instant / poll interval)`.
        round: u64,
    },
}

impl Occurrence {
    /// The job this occurrence belongs to.
    pub fn job(&self) -> JobId {
        match self {
            Self::Time { job, .. } | Self::Event { job, .. } | Self::Condition { job, .. } => *job,
        }
    }

    /// The canonical byte encoding hashed into the [`OccurrenceId`]: a domain tag, the job id as
    /// a 32-byte word, then the kind's fields as fixed-width big-endian integers and hashes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(96);
        match self {
            Self::Time { job, due } => {
                buf.extend_from_slice(b"triggerx.occurrence.time.v1");
                buf.extend_from_slice(job.to_word().as_slice());
                buf.extend_from_slice(&due.as_millis().to_be_bytes());
            }
            Self::Event {
                job,
                chain_id,
                tx_hash,
                log_index,
            } => {
                buf.extend_from_slice(b"triggerx.occurrence.event.v1");
                buf.extend_from_slice(job.to_word().as_slice());
                buf.extend_from_slice(&chain_id.to_be_bytes());
                buf.extend_from_slice(tx_hash.as_slice());
                buf.extend_from_slice(&log_index.to_be_bytes());
            }
            Self::Condition { job, round } => {
                buf.extend_from_slice(b"triggerx.occurrence.condition.v1");
                buf.extend_from_slice(job.to_word().as_slice());
                buf.extend_from_slice(&round.to_be_bytes());
            }
        }
        buf
    }

    /// This occurrence's id.
    pub fn id(&self) -> OccurrenceId {
        OccurrenceId(keccak256(self.canonical_bytes()))
    }

    /// The id of the task this occurrence creates.
    pub fn task_id(&self) -> TaskId {
        TaskId::for_occurrence(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_parses_decimal_hex_and_int() {
        let a: JobId = "42".parse().unwrap();
        let b: JobId = "0x2a".parse().unwrap();
        let c: JobId = serde_json::from_str("42").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"42\"");
        let big = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(big.parse::<JobId>().unwrap().to_string(), big);
        for bad in ["", "-1", "0x", "1e3", "12a", &format!("{big}0")] {
            assert!(bad.parse::<JobId>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn occurrence_ids_are_stable_and_distinct() {
        let job = JobId::from_u64(7);
        let t1 = Occurrence::Time {
            job,
            due: Timestamp::from_secs(100),
        };
        let t2 = Occurrence::Time {
            job,
            due: Timestamp::from_secs(101),
        };
        let c = Occurrence::Condition {
            job,
            round: 100_000,
        };
        let same = Occurrence::Time {
            job,
            due: Timestamp::from_secs(100),
        };
        assert_eq!(t1.id(), same.id());
        assert_ne!(t1.id(), t2.id());
        assert_ne!(t1.id(), c.id());
        assert_ne!(t1.task_id().0, t1.id().0);
        let other_job = Occurrence::Time {
            job: JobId::from_u64(8),
            due: Timestamp::from_secs(100),
        };
        assert_ne!(t1.id(), other_job.id());
    }

    #[test]
    fn occurrence_serde_round_trip() {
        let e = Occurrence::Event {
            job: JobId::from_u64(1),
            chain_id: 31337,
            tx_hash: B256::repeat_byte(0xab),
            log_index: 3,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Occurrence>(&json).unwrap(), e);
    }
}
