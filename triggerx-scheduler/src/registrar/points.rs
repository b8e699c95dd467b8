//! The points formulas (`original-behaviour.md` §3.6, adapted; see `docs/registrar.md`), in
//! exact decimal arithmetic.
//!
//! For a task settled with `cost = charged / 1e18` (the hub's charge in wei, as ether):
//! - every attester whose signature is on the verdict: `+booster × cost`, `attested_tasks + 1`;
//! - the performer: `+booster × cost` when accepted, `−0.1 × booster × cost` when rejected,
//!   `executed_tasks + 1` either way;
//! - the job owner: `+cost`, `total_tasks + 1`.
//!
//! `booster` is [`BOOSTER`] (1): the store keeps no per-keeper rewards booster.

use alloy_primitives::U256;
use triggerx_core::types::Decimal;

/// The rewards booster applied to every keeper.
pub const BOOSTER: u64 = 1;

/// `charged` wei as ether, exactly.
pub fn cost(charged_wei: U256) -> Decimal {
    Decimal::from_u256(charged_wei, 18)
}

/// What an attester of the verdict gains.
pub fn attester_reward(cost: &Decimal) -> Decimal {
    mul(&Decimal::from(BOOSTER), cost)
}

/// What the performer gains (accepted) or loses (rejected, negative).
pub fn performer_reward(cost: &Decimal, accepted: bool) -> Decimal {
    let base = mul(&Decimal::from(BOOSTER), cost);
    if accepted {
        base
    } else {
        neg(&mul(&tenth(), &base))
    }
}

/// What the job owner gains.
pub fn owner_reward(cost: &Decimal) -> Decimal {
    cost.clone()
}

/// `a + b`.
pub fn add(a: &Decimal, b: &Decimal) -> Decimal {
    parse((a.as_big() + b.as_big()).to_plain_string())
}

fn mul(a: &Decimal, b: &Decimal) -> Decimal {
    parse((a.as_big() * b.as_big()).to_plain_string())
}

fn neg(a: &Decimal) -> Decimal {
    parse((Decimal::zero().as_big() - a.as_big()).to_plain_string())
}

fn tenth() -> Decimal {
    parse("0.1".to_owned())
}

/// Back from a big decimal's plain (never exponent) text.
fn parse(plain: String) -> Decimal {
    plain
        .parse()
        .expect("plain big-decimal text is a decimal number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_exact() {
        // 1234567 wei = 0.000000000001234567 ether.
        let c = cost(U256::from(1_234_567u64));
        assert_eq!(c.to_string(), "0.000000000001234567");
        assert_eq!(attester_reward(&c), c);
        assert_eq!(performer_reward(&c, true), c);
        assert_eq!(
            performer_reward(&c, false).to_string(),
            "-0.0000000000001234567"
        );
        assert_eq!(owner_reward(&c), c);
        let back = add(&performer_reward(&c, false), &performer_reward(&c, true));
        assert_eq!(back.to_string(), "0.0000000000011111103");
        assert_eq!(add(&Decimal::zero(), &Decimal::zero()), Decimal::zero());
    }
}
