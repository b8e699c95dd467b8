//! The spec hash: what a job's on-chain record commits to (`JobRegistry.specHashOf`), so that
//! keepers can check that the job a scheduler hands them is the one its owner registered.

use alloy_primitives::{B256, keccak256};

use super::to_spec;
use crate::types::Job;

/// The domain tag prefixed to the hashed bytes.
pub const SPEC_HASH_DOMAIN: &[u8] = b"triggerx.spec.v1";

/// `keccak256("triggerx.spec.v1" ‖ JSON of the job's normalized spec without its id)`.
///
/// The normalized spec ([`to_spec`]) is a pure function of the validated [`Job`], and its JSON
/// has a fixed field order (objects inside it are sorted maps), so the owner who registers the job
/// and every keeper that checks it compute the same bytes. The id is left out because the
/// registry assigns it when the hash is already given; status and timestamps are not part of a
/// spec at all, so pausing or resuming a job does not change its hash.
pub fn spec_hash(job: &Job) -> B256 {
    let mut spec = to_spec(job);
    spec.id = None;
    let json = serde_json::to_vec(&spec).expect("a normalized spec serializes");
    let mut bytes = Vec::with_capacity(SPEC_HASH_DOMAIN.len() + json.len());
    bytes.extend_from_slice(SPEC_HASH_DOMAIN);
    bytes.extend_from_slice(&json);
    keccak256(bytes)
}

#[cfg(test)]
mod tests {
    use alloy_json_abi::Function;
    use alloy_primitives::Address;

    use super::*;
    use crate::{
        JobId, Timestamp,
        types::{Action, CatchUp, JobStatus, Overlap, Schedule, TimeTrigger, Trigger},
    };

    fn job() -> Job {
        let trigger = Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 60 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        });
        let action = Action::without_arguments(
            31337,
            Address::repeat_byte(0x22),
            Function::parse("increment()").unwrap(),
        );
        let mut job = Job::new(
            JobId::from_u64(1),
            Address::repeat_byte(0x11),
            trigger,
            action,
            Timestamp::from_secs(1_700_000_000),
        );
        job.title = "every minute".into();
        job
    }

    #[test]
    fn the_hash_ignores_id_and_lifecycle_but_not_the_action() {
        let a = job();
        let mut b = a.clone();
        b.id = JobId::from_u64(99);
        b.status = JobStatus::Paused;
        b.updated_at = Timestamp::from_secs(1_800_000_000);
        assert_eq!(spec_hash(&a), spec_hash(&b));
        let mut c = a.clone();
        c.action.target = Address::repeat_byte(0x23);
        assert_ne!(spec_hash(&a), spec_hash(&c));
        let mut d = a.clone();
        d.trigger = Trigger::Time(TimeTrigger {
            schedule: Schedule::Interval { every_secs: 61 },
            start: None,
            catch_up: CatchUp::FireOnce,
            overlap: Overlap::Allow,
        });
        assert_ne!(spec_hash(&a), spec_hash(&d));
    }

    #[test]
    fn the_hash_survives_a_store_round_trip() {
        let a = job();
        let back: Job = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        assert_eq!(spec_hash(&a), spec_hash(&back));
    }
}
