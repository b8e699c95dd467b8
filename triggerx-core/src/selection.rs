//! Performer selection: stake-weighted and deterministic from the task id, so every attester
//! can recompute who should have performed a task.
//!
//! For attempt `a` of task `t`, over the candidates with non-zero power sorted by address:
//! `r = keccak256("triggerx.performer.v1" ‖ t ‖ a as u32 BE) mod Σ power`, and the performer is
//! the candidate whose cumulative power range contains `r`. A backup (attempt `a + 1`) excludes
//! the performers of earlier attempts, so a keeper that failed to execute is not chosen again.

use alloy_primitives::{Address, U256, keccak256};

use crate::TaskId;

/// A keeper that may perform tasks, with its voting power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    /// The keeper.
    pub address: Address,
    /// Its voting power (its weight).
    pub power: U256,
}

/// The selection seed of an attempt.
pub fn seed(task: TaskId, attempt: u32) -> U256 {
    let mut buf = Vec::with_capacity(21 + 32 + 4);
    buf.extend_from_slice(b"triggerx.performer.v1");
    buf.extend_from_slice(task.0.as_slice());
    buf.extend_from_slice(&attempt.to_be_bytes());
    U256::from_be_bytes(keccak256(buf).0)
}

/// The performer of `attempt` (0 for the first) of `task`, excluding `exclude`; `None` when no
/// candidate has power.
pub fn select_performer(
    task: TaskId,
    attempt: u32,
    candidates: &[Candidate],
    exclude: &[Address],
) -> Option<Address> {
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !c.power.is_zero() && !exclude.contains(&c.address))
        .collect();
    eligible.sort_by_key(|c| c.address);
    eligible.dedup_by_key(|c| c.address);
    let total = eligible
        .iter()
        .fold(U256::ZERO, |acc, c| acc.saturating_add(c.power));
    if total.is_zero() {
        return None;
    }
    let mut r = seed(task, attempt) % total;
    for c in eligible {
        if r < c.power {
            return Some(c.address);
        }
        r -= c.power;
    }
    None
}

#[cfg(test)]
mod tests {
    use alloy_primitives::B256;

    use super::*;

    fn cand(i: u8, power: u64) -> Candidate {
        Candidate {
            address: Address::repeat_byte(i),
            power: U256::from(power),
        }
    }

    #[test]
    fn deterministic_and_order_independent() {
        let t = TaskId(B256::repeat_byte(9));
        let a = [cand(1, 10), cand(2, 20), cand(3, 30)];
        let b = [cand(3, 30), cand(1, 10), cand(2, 20)];
        assert_eq!(
            select_performer(t, 0, &a, &[]),
            select_performer(t, 0, &b, &[])
        );
        assert!(select_performer(t, 0, &[cand(1, 0)], &[]).is_none());
        let first = select_performer(t, 0, &a, &[]).unwrap();
        let backup = select_performer(t, 1, &a, &[first]).unwrap();
        assert_ne!(first, backup);
    }

    #[test]
    fn stake_weighted() {
        let c = [cand(1, 100), cand(2, 300)];
        let mut heavy = 0;
        for i in 0..4000u32 {
            let t = TaskId(keccak256(i.to_be_bytes()));
            if select_performer(t, 0, &c, &[]) == Some(Address::repeat_byte(2)) {
                heavy += 1;
            }
        }
        // Expect ~3000 of 4000; a wide band keeps the test exact-free but meaningful.
        assert!((2800..3200).contains(&heavy), "{heavy}");
    }
}
