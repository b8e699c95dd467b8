//! One task's tally of verified attestations and the stake-weighted quorum rule the
//! `KeeperRegistry` applies: approve when `power * 3 > total * 2`, reject when
//! `power * 3 > total` (exactly 2/3, or exactly 1/3, is not enough).

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, B256, Bytes, U256};

use triggerx_core::Timestamp;

/// Whether `power` of `total` approves: strictly more than two thirds.
pub fn approve_reached(power: U256, total: U256) -> bool {
    power.saturating_mul(U256::from(3u8)) > total.saturating_mul(U256::from(2u8))
}

/// Whether `power` of `total` rejects: strictly more than one third.
pub fn reject_reached(power: U256, total: U256) -> bool {
    power.saturating_mul(U256::from(3u8)) > total
}

/// Whether `power` of `total` reaches the quorum for `approve`.
pub(crate) fn reached(approve: bool, power: U256, total: U256) -> bool {
    if approve {
        approve_reached(power, total)
    } else {
        reject_reached(power, total)
    }
}

/// What adding one verified attestation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vote {
    /// A new vote, counted.
    Counted,
    /// The attester already cast this very vote.
    Duplicate,
    /// The attester already voted differently on this task (its first vote stands).
    Equivocation,
}

/// A verdict the tally supports, ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The report the quorum attested.
    pub(crate) report_digest: B256,
    /// Approve or reject.
    pub(crate) approve: bool,
    /// The quorum's signatures, strictly ascending by signer address.
    pub(crate) signatures: Vec<Bytes>,
    /// Their summed voting power (as cached when each vote arrived).
    pub(crate) power: U256,
    /// For a reject: the reason carried by the most rejecting power.
    pub(crate) reason: Option<String>,
}

#[derive(Debug)]
struct Signed {
    power: U256,
    signature: Bytes,
    /// Reject reason (not signed; informational).
    reason: Option<String>,
}

#[derive(Debug, Default)]
struct Group {
    /// Signer → vote; a `BTreeMap` iterates in ascending address order, which is the numeric
    /// order of the `address` values the contract compares.
    signers: BTreeMap<Address, Signed>,
    power: U256,
}

/// The verified votes on one task.
#[derive(Debug)]
pub(crate) struct Tally {
    votes: HashMap<Address, (B256, bool)>,
    groups: HashMap<(B256, bool), Group>,
    voted_power: U256,
    /// When the first vote arrived.
    pub(crate) opened_at: Timestamp,
    /// Since when no verdict can reach the quorum any more, if so.
    pub(crate) impossible_since: Option<Timestamp>,
}

impl Tally {
    /// An empty tally opened at `now`.
    pub(crate) fn new(now: Timestamp) -> Self {
        Self {
            votes: HashMap::new(),
            groups: HashMap::new(),
            voted_power: U256::ZERO,
            opened_at: now,
            impossible_since: None,
        }
    }

    /// Adds a verified vote of an attester with `power`.
    pub(crate) fn add(
        &mut self,
        attester: Address,
        report_digest: B256,
        approve: bool,
        reason: Option<String>,
        power: U256,
        signature: Bytes,
    ) -> Vote {
        if let Some(&previous) = self.votes.get(&attester) {
            return if previous == (report_digest, approve) {
                Vote::Duplicate
            } else {
                Vote::Equivocation
            };
        }
        self.votes.insert(attester, (report_digest, approve));
        self.voted_power = self.voted_power.saturating_add(power);
        let group = self.groups.entry((report_digest, approve)).or_default();
        group.signers.insert(
            attester,
            Signed {
                power,
                signature,
                reason,
            },
        );
        group.power = group.power.saturating_add(power);
        Vote::Counted
    }

    /// The verdict that reaches the quorum of `total`, if any (the one with most power when
    /// several do, which only stale powers can cause).
    pub(crate) fn decide(&self, total: U256) -> Option<Decision> {
        let ((report_digest, approve), group) = self
            .groups
            .iter()
            .filter(|((_, approve), g)| reached(*approve, g.power, total))
            .max_by_key(|((digest, approve), g)| (g.power, *approve, *digest))?;
        let mut reasons: BTreeMap<&str, U256> = BTreeMap::new();
        for v in group.signers.values() {
            if let Some(r) = v.reason.as_deref() {
                let p = reasons.entry(r).or_default();
                *p = p.saturating_add(v.power);
            }
        }
        // Most power first; ties go to the alphabetically first reason.
        let reason = reasons
            .iter()
            .max_by_key(|(reason, power)| (**power, std::cmp::Reverse(**reason)))
            .map(|(reason, _)| (*reason).to_owned());
        Some(Decision {
            report_digest: *report_digest,
            approve: *approve,
            // Signers without power add nothing and may no longer be keepers at all.
            signatures: group
                .signers
                .values()
                .filter(|v| !v.power.is_zero())
                .map(|v| v.signature.clone())
                .collect(),
            power: group.power,
            reason: if *approve { None } else { reason },
        })
    }

    /// The attesters that voted.
    pub(crate) fn voters(&self) -> Vec<Address> {
        self.votes.keys().copied().collect()
    }

    /// Replaces the voters' powers with fresh ones (after the registry disagreed with the
    /// count); voters missing from `powers` keep theirs.
    pub(crate) fn reprice(&mut self, powers: &HashMap<Address, U256>) {
        self.voted_power = U256::ZERO;
        for group in self.groups.values_mut() {
            group.power = U256::ZERO;
            for (address, vote) in &mut group.signers {
                if let Some(p) = powers.get(address) {
                    vote.power = *p;
                }
                group.power = group.power.saturating_add(vote.power);
            }
            self.voted_power = self.voted_power.saturating_add(group.power);
        }
    }

    /// Whether some verdict can still reach the quorum of `total` with the power that has not
    /// voted yet.
    pub(crate) fn still_possible(&self, total: U256) -> bool {
        let remaining = total.saturating_sub(self.voted_power);
        reject_reached(remaining, total)
            || self.groups.iter().any(|((_, approve), g)| {
                reached(*approve, g.power.saturating_add(remaining), total)
            })
    }

    /// Number of counted votes.
    pub(crate) fn len(&self) -> usize {
        self.votes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> U256 {
        U256::from(n)
    }

    #[test]
    fn thresholds_are_strict() {
        assert!(!approve_reached(p(200), p(300)), "exactly 2/3");
        assert!(approve_reached(p(201), p(300)));
        assert!(!reject_reached(p(100), p(300)), "exactly 1/3");
        assert!(reject_reached(p(101), p(300)));
        assert!(!approve_reached(p(0), p(0)) && !reject_reached(p(0), p(0)));
        let huge = U256::MAX;
        assert!(
            !approve_reached(huge, huge),
            "saturation never passes silently"
        );
    }

    #[test]
    fn signatures_come_out_ascending_and_votes_count_once() {
        let d = B256::repeat_byte(1);
        let mut t = Tally::new(Timestamp::EPOCH);
        for b in [9u8, 3, 7] {
            let a = Address::repeat_byte(b);
            assert_eq!(
                t.add(a, d, true, None, p(100), Bytes::from(vec![b])),
                Vote::Counted
            );
        }
        assert_eq!(
            t.add(Address::repeat_byte(3), d, true, None, p(100), Bytes::new()),
            Vote::Duplicate
        );
        assert_eq!(
            t.add(
                Address::repeat_byte(3),
                d,
                false,
                None,
                p(100),
                Bytes::new()
            ),
            Vote::Equivocation
        );
        assert_eq!(t.len(), 3);
        let decision = t.decide(p(400)).expect("300 of 400 approves");
        assert_eq!(
            decision.signatures,
            vec![
                Bytes::from(vec![3]),
                Bytes::from(vec![7]),
                Bytes::from(vec![9])
            ]
        );
        assert!(t.decide(p(450)).is_none(), "300 of 450 is exactly 2/3");
    }

    #[test]
    fn reject_reason_and_impossibility() {
        let d = B256::repeat_byte(1);
        let mut t = Tally::new(Timestamp::EPOCH);
        t.add(
            Address::repeat_byte(1),
            d,
            false,
            Some("b".into()),
            p(50),
            Bytes::new(),
        );
        t.add(
            Address::repeat_byte(2),
            d,
            false,
            Some("a".into()),
            p(60),
            Bytes::new(),
        );
        let decision = t.decide(p(300)).expect("110 of 300 rejects");
        assert!(!decision.approve);
        assert_eq!(decision.reason.as_deref(), Some("a"));

        let mut split = Tally::new(Timestamp::EPOCH);
        split.add(Address::repeat_byte(1), d, true, None, p(100), Bytes::new());
        split.add(
            Address::repeat_byte(2),
            B256::repeat_byte(2),
            true,
            None,
            p(100),
            Bytes::new(),
        );
        assert!(
            split.still_possible(p(400)),
            "the other 200 can still join one group"
        );
        split.add(
            Address::repeat_byte(3),
            B256::repeat_byte(3),
            true,
            None,
            p(100),
            Bytes::new(),
        );
        assert!(
            !split.still_possible(p(400)),
            "three digests, 100 left: no group can pass"
        );
        assert!(split.decide(p(400)).is_none());
    }
}
