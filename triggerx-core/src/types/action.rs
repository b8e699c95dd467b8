//! Actions: what a job does when it fires.

use alloy_json_abi::Function;
use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

/// A contract call on a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The chain to send the transaction on.
    pub chain_id: u64,
    /// The contract to call.
    pub target: Address,
    /// The function, with its parameter types.
    pub function: Function,
    /// Wei sent with the call.
    pub value: U256,
    /// Upper bound on gas for the call, when the job sets one.
    pub gas_limit: Option<u64>,
    /// How the call's arguments are obtained.
    pub arguments: Arguments,
}

/// Where a call's arguments come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Arguments {
    /// Fixed arguments, encoded once when the job is validated.
    Static {
        /// The arguments as the user wrote them.
        values: Vec<serde_json::Value>,
        /// The exact calldata: selector followed by the ABI-encoded arguments.
        calldata: Bytes,
    },
    /// Arguments computed at execution time by a sandboxed script.
    Dynamic {
        /// The script.
        script: ScriptRef,
    },
}

/// A reference to a WebAssembly argument script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptRef {
    /// Where the module is fetched from (`https://…`, `file://…`, `ipfs://…`).
    pub url: String,
    /// The expected keccak-256 of the module bytes, when pinned.
    pub digest: Option<B256>,
    /// Fuel limit for one run, when the job lowers the default.
    pub fuel: Option<u64>,
}

impl Action {
    /// A call of `function` with static `values` already encoded into `calldata` (the selector
    /// followed by the ABI-encoded arguments); no value sent, no gas limit set.
    pub fn with_calldata(
        chain_id: u64,
        target: Address,
        function: Function,
        values: Vec<serde_json::Value>,
        calldata: Bytes,
    ) -> Self {
        Self {
            chain_id,
            target,
            function,
            value: U256::ZERO,
            gas_limit: None,
            arguments: Arguments::Static { values, calldata },
        }
    }

    /// A call of a function that takes no arguments (its calldata is the selector alone).
    pub fn without_arguments(chain_id: u64, target: Address, function: Function) -> Self {
        let calldata = Bytes::copy_from_slice(function.selector().as_slice());
        Self::with_calldata(chain_id, target, function, Vec::new(), calldata)
    }

    /// The function's 4-byte selector.
    pub fn selector(&self) -> [u8; 4] {
        self.function.selector().0
    }
}
