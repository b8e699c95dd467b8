//! The transaction engine's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Error;

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// How the performer's transaction engine sends and follows transactions.
///
/// Defaults: 1 confirmation, receipts polled every 100 ms, a transaction is stuck after 30 s
/// unmined and then replaced with a 12% fee bump (at most 5 times), fees capped at
/// 500 gwei, base fee × 2 plus the 50th-percentile priority fee of the last 10 blocks (at least
/// 1 gwei, refreshed at most every 500 ms), 20% gas margin over the estimate, 64 transactions
/// in flight, 5 s per RPC call, unconfirmed broadcasts re-sent every 2 s, 10 minutes before
/// waiting for a receipt gives up, and simulation against the pending block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Blocks that must include the transaction (1 = its own block) before it is reported.
    pub confirmations: u64,
    /// How often receipts are polled.
    pub poll_interval: Duration,
    /// A transaction not mined this long after its last (re)pricing is replaced.
    pub stuck_after: Duration,
    /// Fee bump per replacement, in percent of both fees; at least 10.
    pub bump_percent: u64,
    /// Replacements per nonce before the engine stops bumping and only waits.
    pub max_replacements: u32,
    /// The keeper's maximum `maxFeePerGas`, wei.
    pub max_fee_per_gas: u128,
    /// The lowest priority fee offered, wei.
    pub min_priority_fee_per_gas: u128,
    /// `maxFeePerGas` = next base fee × this / 100 + priority fee.
    pub base_fee_multiplier_percent: u64,
    /// The fee-history reward percentile used for the priority fee.
    pub priority_fee_percentile: f64,
    /// Blocks of fee history consulted.
    pub fee_history_blocks: u64,
    /// How long a fee estimate is reused.
    pub fee_refresh: Duration,
    /// Gas limit = estimate × (100 + this) / 100, then capped by the job's gas limit.
    pub gas_margin_percent: u64,
    /// Transactions from this keeper in flight at once (sent, not yet confirmed).
    pub max_in_flight: usize,
    /// Time allowed for one RPC call made by the engine.
    pub rpc_timeout: Duration,
    /// An unconfirmed broadcast (timed-out or unknown to the node) is re-sent this often.
    pub rebroadcast_after: Duration,
    /// Waiting for a receipt gives up after this long.
    pub receipt_timeout: Duration,
    /// Simulate (estimate gas) against the pending block, which includes this keeper's
    /// unmined transactions (so a task already sent but unmined fails simulation); `false`
    /// uses the latest block.
    pub simulate_at_pending: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            confirmations: 1,
            poll_interval: Duration::from_millis(100),
            stuck_after: Duration::from_secs(30),
            bump_percent: 12,
            max_replacements: 5,
            max_fee_per_gas: 500 * GWEI,
            min_priority_fee_per_gas: GWEI,
            base_fee_multiplier_percent: 200,
            priority_fee_percentile: 50.0,
            fee_history_blocks: 10,
            fee_refresh: Duration::from_millis(500),
            gas_margin_percent: 20,
            max_in_flight: 64,
            rpc_timeout: Duration::from_secs(5),
            rebroadcast_after: Duration::from_secs(2),
            receipt_timeout: Duration::from_secs(600),
            simulate_at_pending: true,
        }
    }
}

impl Config {
    /// Checks the invariants: `bump_percent >= 10`, `max_in_flight >= 1`,
    /// `confirmations >= 1`, `max_fee_per_gas >= min_priority_fee_per_gas`, a percentile in
    /// 0–100 and at least one block of fee history.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.bump_percent < 10 {
            problems.push("bump_percent must be at least 10");
        }
        if self.max_in_flight == 0 {
            problems.push("max_in_flight must be at least 1");
        }
        if self.confirmations == 0 {
            problems.push("confirmations must be at least 1");
        }
        if self.max_fee_per_gas < self.min_priority_fee_per_gas {
            problems.push("max_fee_per_gas must be at least min_priority_fee_per_gas");
        }
        if !(0.0..=100.0).contains(&self.priority_fee_percentile) {
            problems.push("priority_fee_percentile must be within 0..=100");
        }
        if self.fee_history_blocks == 0 {
            problems.push("fee_history_blocks must be at least 1");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }

    /// Sets [`Config::confirmations`].
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Sets [`Config::stuck_after`].
    pub fn with_stuck_after(mut self, stuck_after: Duration) -> Self {
        self.stuck_after = stuck_after;
        self
    }

    /// Sets [`Config::bump_percent`].
    pub fn with_bump_percent(mut self, bump_percent: u64) -> Self {
        self.bump_percent = bump_percent;
        self
    }

    /// Sets [`Config::max_fee_per_gas`].
    pub fn with_max_fee_per_gas(mut self, max_fee_per_gas: u128) -> Self {
        self.max_fee_per_gas = max_fee_per_gas;
        self
    }

    /// Sets [`Config::max_in_flight`].
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets [`Config::poll_interval`].
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Sets [`Config::rpc_timeout`].
    pub fn with_rpc_timeout(mut self, rpc_timeout: Duration) -> Self {
        self.rpc_timeout = rpc_timeout;
        self
    }

    /// Sets [`Config::simulate_at_pending`].
    pub fn with_simulate_at_pending(mut self, pending: bool) -> Self {
        self.simulate_at_pending = pending;
        self
    }

    /// Sets [`Config::rebroadcast_after`].
    pub fn with_rebroadcast_after(mut self, rebroadcast_after: Duration) -> Self {
        self.rebroadcast_after = rebroadcast_after;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_small_bump_is_refused() {
        Config::default().validate().unwrap();
        assert!(Config::default().with_bump_percent(9).validate().is_err());
        assert!(Config::default().with_max_in_flight(0).validate().is_err());
        assert!(Config::default().with_confirmations(0).validate().is_err());
    }
}
