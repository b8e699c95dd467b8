//! The attester's configuration.

use std::time::Duration;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use triggerx_core::protocol::AttestationDomain;

/// What an attester trusts and how much slack it gives an execution.
///
/// Defaults (see [`Config::new`]): a time task must land within 120 s after its due instant; an
/// event task within 300 s after the block that gave its log the trigger's confirmations; a
/// condition task within 120 s after its sample (and at most 5 s before it, for clock skew
/// between the scheduler and the chain); 10 s per chain read; the job must match the spec hash
/// its owner registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The settlement chain (the chain of the hub, the registry and every checked action).
    pub chain_id: u64,
    /// The `TaskHub` every execution must go through.
    pub hub: Address,
    /// The `KeeperRegistry`: candidates' registration and voting power, and the EIP-712 domain
    /// attestations are signed in.
    pub registry: Address,
    /// The scheduler whose signed assignments are trusted.
    pub scheduler: Address,
    /// Time triggers: the execution block's timestamp is at most this long after the due
    /// instant.
    pub time_window: Duration,
    /// Event triggers: the execution block's timestamp is at most this long after the block
    /// that confirmed the log.
    pub event_window: Duration,
    /// Condition triggers: the execution block's timestamp is at most this long after the
    /// sample.
    pub condition_window: Duration,
    /// Condition triggers: how far the execution block's timestamp may lie before the sample
    /// (clock difference between the scheduler and the chain).
    pub clock_skew: Duration,
    /// Time allowed for one chain read.
    pub rpc_timeout: Duration,
    /// Require the assignment's job to match the spec hash its owner registered in the
    /// `JobRegistry` (default true). Off, the job spec is taken from the scheduler's signature
    /// alone, and jobs registered without a spec hash can be approved.
    pub require_spec_hash: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::new(0, Address::ZERO, Address::ZERO, Address::ZERO)
    }
}

impl Config {
    /// A configuration for `chain_id` with the hub, the registry and the trusted scheduler,
    /// and the default windows: time 120 s, event 300 s, condition 120 s, clock skew 5 s, and
    /// 10 s per chain read.
    pub fn new(chain_id: u64, hub: Address, registry: Address, scheduler: Address) -> Self {
        Self {
            chain_id,
            hub,
            registry,
            scheduler,
            time_window: Duration::from_secs(120),
            event_window: Duration::from_secs(300),
            condition_window: Duration::from_secs(120),
            clock_skew: Duration::from_secs(5),
            rpc_timeout: Duration::from_secs(10),
            require_spec_hash: true,
        }
    }

    /// Sets [`Config::require_spec_hash`].
    pub fn with_require_spec_hash(mut self, require: bool) -> Self {
        self.require_spec_hash = require;
        self
    }

    /// Sets [`Config::time_window`].
    pub fn with_time_window(mut self, window: Duration) -> Self {
        self.time_window = window;
        self
    }

    /// Sets [`Config::event_window`].
    pub fn with_event_window(mut self, window: Duration) -> Self {
        self.event_window = window;
        self
    }

    /// Sets [`Config::condition_window`].
    pub fn with_condition_window(mut self, window: Duration) -> Self {
        self.condition_window = window;
        self
    }

    /// The EIP-712 domain attestations are signed in.
    pub fn domain(&self) -> AttestationDomain {
        AttestationDomain {
            chain_id: self.chain_id,
            registry: self.registry,
        }
    }
}

/// Whole seconds of a duration as an `i64` (saturating).
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
