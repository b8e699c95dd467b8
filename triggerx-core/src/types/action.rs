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
    /// The function's 4-byte selector.
    pub fn selector(&self) -> [u8; 4] {
        self.function.selector().0
    }
}
