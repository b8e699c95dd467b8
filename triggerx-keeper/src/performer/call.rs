//! The call a transaction makes: from a validated [`Action`], directly or through the hub.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use triggerx_core::{
    JobId, TaskId,
    chain::contracts::TaskHub,
    types::{Action, Arguments},
};

use super::Error;

/// Gas the hub itself may use on top of the job's call (checks, accounting, the event).
pub const HUB_GAS_OVERHEAD: u64 = 150_000;

/// Gas forwarded to the target when the job sets no gas limit.
pub const DEFAULT_CALL_GAS: u64 = 1_000_000;

/// One contract call to put in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The contract called by the transaction.
    pub to: Address,
    /// Wei sent with the transaction.
    pub value: U256,
    /// Calldata.
    pub input: Bytes,
    /// Upper bound on the transaction's gas limit: the estimate (plus margin) is capped by it,
    /// and a call whose estimate exceeds it is refused.
    pub gas_cap: Option<u64>,
}

impl Call {
    /// A plain call.
    pub fn new(to: Address, input: impl Into<Bytes>) -> Self {
        Self {
            to,
            value: U256::ZERO,
            input: input.into(),
            gas_cap: None,
        }
    }

    /// Sets [`Call::value`].
    pub fn with_value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    /// Sets [`Call::gas_cap`].
    pub fn with_gas_cap(mut self, gas_cap: Option<u64>) -> Self {
        self.gas_cap = gas_cap;
        self
    }

    /// The action's call sent straight to its target, with the job's gas limit as the cap.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for dynamic arguments (they need the script runner).
    pub fn direct(action: &Action) -> Result<Self, Error> {
        Ok(Self {
            to: action.target,
            value: action.value,
            input: static_calldata(action)?,
            gas_cap: action.gas_limit,
        })
    }

    /// `TaskHub.execute(taskId, jobId, target, value, data, gasLimit)` for the action: the hub
    /// checks the keeper and the task id, forwards exactly `gasLimit` gas (the job's limit, or
    /// [`DEFAULT_CALL_GAS`]) and the value from the owner's balance, so the transaction sends
    /// no value; its gas is capped at that limit plus [`HUB_GAS_OVERHEAD`].
    pub fn hub_execute(
        hub: Address,
        task: TaskId,
        job: JobId,
        action: &Action,
    ) -> Result<Self, Error> {
        let call_gas = action.gas_limit.unwrap_or(DEFAULT_CALL_GAS);
        let data = TaskHub::executeCall {
            taskId: task.0,
            jobId: job.0,
            target: action.target,
            value: action.value,
            data: static_calldata(action)?,
            gasLimit: U256::from(call_gas),
        }
        .abi_encode();
        // The hub needs 64/63 of the forwarded gas left at the call (EIP-150).
        let cap = call_gas
            .saturating_add(call_gas / 63)
            .saturating_add(HUB_GAS_OVERHEAD);
        Ok(Self {
            to: hub,
            value: U256::ZERO,
            input: data.into(),
            gas_cap: Some(cap),
        })
    }
}

/// The action's calldata, when its arguments are static.
pub fn static_calldata(action: &Action) -> Result<Bytes, Error> {
    match &action.arguments {
        Arguments::Static { calldata, .. } => {
            if calldata.get(..4) != Some(&action.selector()[..]) {
                return Err(Error::Unsupported(format!(
                    "static calldata does not start with the selector of {}",
                    action.function.signature()
                )));
            }
            Ok(calldata.clone())
        }
        Arguments::Dynamic { script } => Err(Error::Unsupported(format!(
            "dynamic arguments (script {}) need the argument script runner",
            script.url
        ))),
    }
}
