//! EIP-1559 fees from `eth_feeHistory`, capped by the keeper's maximum, and fee bumps.

use std::time::Instant;

use alloy::{eips::BlockNumberOrTag, rpc::types::FeeHistory};
use tokio::sync::Mutex;
use triggerx_core::chain::ChainClient;

use super::{Config, Error};

/// The two EIP-1559 fee fields of a transaction, wei per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Both fees raised by `percent` (rounded up, and by at least 1 wei), then raised to at
    /// least `floor` field by field, then capped at `cap`. Returns `None` when the cap keeps
    /// either fee below the bump the node requires for a replacement.
    pub fn bumped(self, percent: u64, floor: Self, cap: u128) -> Option<Self> {
        let bump = |v: u128| {
            let raised = v.saturating_mul(100 + u128::from(percent)).div_ceil(100);
            raised.max(v.saturating_add(1))
        };
        let need_max = bump(self.max_fee_per_gas);
        let need_tip = bump(self.max_priority_fee_per_gas);
        let max_fee = need_max.max(floor.max_fee_per_gas).min(cap);
        let tip = need_tip.max(floor.max_priority_fee_per_gas).min(max_fee);
        (max_fee >= need_max && tip >= need_tip).then_some(Self {
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
        })
    }
}

/// Fees from a fee history: the next block's base fee × `base_fee_multiplier_percent` / 100
/// plus the median (over the blocks) of the configured reward percentile, at least
/// `min_priority_fee_per_gas`; both capped at `max_fee_per_gas`.
pub fn fees_from_history(history: &FeeHistory, config: &Config) -> Fees {
    let next_base = history.base_fee_per_gas.last().copied().unwrap_or(0);
    let mut rewards: Vec<u128> = history
        .reward
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.first().copied())
        .collect();
    rewards.sort_unstable();
    let median = rewards.get(rewards.len() / 2).copied().unwrap_or(0);
    let cap = config.max_fee_per_gas;
    let tip = median.max(config.min_priority_fee_per_gas).min(cap);
    let base_part = next_base.saturating_mul(u128::from(config.base_fee_multiplier_percent)) / 100;
    let max_fee = base_part.saturating_add(tip).min(cap);
    Fees {
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip.min(max_fee),
    }
}

/// A cached fee estimate, refreshed at most every [`Config::fee_refresh`].
#[derive(Debug, Default)]
pub(crate) struct FeeOracle {
    cache: Mutex<Option<(Instant, Fees)>>,
}

impl FeeOracle {
    /// The current fees, from the cache or a fresh `eth_feeHistory`.
    pub(crate) async fn current(
        &self,
        client: &dyn ChainClient,
        config: &Config,
    ) -> Result<Fees, Error> {
        let mut cache = self.cache.lock().await;
        if let Some((at, fees)) = *cache
            && at.elapsed() < config.fee_refresh
        {
            return Ok(fees);
        }
        let history = tokio::time::timeout(
            config.rpc_timeout,
            client.fee_history(
                config.fee_history_blocks,
                BlockNumberOrTag::Latest,
                &[config.priority_fee_percentile],
            ),
        )
        .await
        .map_err(|_| Error::timeout("eth_feeHistory", config.rpc_timeout))??;
        let fees = fees_from_history(&history, config);
        *cache = Some((Instant::now(), fees));
        Ok(fees)
    }

    /// Forgets the cached estimate (after the node refused a fee as too low).
    pub(crate) async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::performer::config::GWEI;

    fn history(base: &[u128], rewards: &[u128]) -> FeeHistory {
        FeeHistory {
            base_fee_per_gas: base.to_vec(),
            reward: Some(rewards.iter().map(|r| vec![*r]).collect()),
            ..FeeHistory::default()
        }
    }

    #[test]
    fn fees_follow_base_fee_and_percentile_and_respect_cap() {
        let config = Config::default();
        let f = fees_from_history(
            &history(&[10 * GWEI, 20 * GWEI], &[3 * GWEI, 2 * GWEI, 5 * GWEI]),
            &config,
        );
        assert_eq!(f.max_priority_fee_per_gas, 3 * GWEI);
        assert_eq!(f.max_fee_per_gas, 40 * GWEI + 3 * GWEI);
        let capped = fees_from_history(&history(&[1000 * GWEI], &[]), &config);
        assert_eq!(capped.max_fee_per_gas, config.max_fee_per_gas);
        assert_eq!(capped.max_priority_fee_per_gas, GWEI);
    }

    #[test]
    fn bump_is_at_least_the_percentage_and_stops_at_cap() {
        let old = Fees {
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 10,
        };
        let floor = Fees {
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
        };
        let b = old.bumped(10, floor, 1_000).unwrap();
        assert_eq!((b.max_fee_per_gas, b.max_priority_fee_per_gas), (110, 11));
        let b = old.bumped(12, floor, 1_000).unwrap();
        assert!(b.max_fee_per_gas * 100 >= 112 * 100 && b.max_priority_fee_per_gas >= 12);
        let small = Fees {
            max_fee_per_gas: 3,
            max_priority_fee_per_gas: 1,
        };
        let b = small.bumped(10, floor, 1_000).unwrap();
        assert_eq!((b.max_fee_per_gas, b.max_priority_fee_per_gas), (4, 2));
        assert_eq!(old.bumped(10, floor, 105), None);
        let high_floor = Fees {
            max_fee_per_gas: 500,
            max_priority_fee_per_gas: 50,
        };
        assert_eq!(old.bumped(10, high_floor, 1_000), Some(high_floor));
    }
}
