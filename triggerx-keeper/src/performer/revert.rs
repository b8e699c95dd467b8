//! Revert reasons: `Error(string)`, `Panic(uint256)` and custom errors by selector.

use std::fmt;

use alloy_dyn_abi::JsonAbiExt;
use alloy_primitives::{Bytes, U256};
use alloy_sol_types::{Panic, Revert, SolError};

/// Why a call reverted, decoded from its revert data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevertReason {
    /// `revert("…")` / `require(…, "…")`: `Error(string)`.
    Message(String),
    /// A Solidity panic: `Panic(uint256)`, with the code's meaning when it is a known code.
    Panic {
        /// The panic code.
        code: U256,
        /// What the code means.
        meaning: Option<&'static str>,
    },
    /// A custom error, by selector, with its name and decoded arguments when the error is known.
    Custom {
        /// The 4-byte selector.
        selector: [u8; 4],
        /// `Name(arg, …)` when the error's ABI was known, otherwise `None`.
        signature: Option<String>,
        /// The raw data.
        data: Bytes,
    },
    /// Reverted without data.
    Empty,
    /// Data too short to hold a selector, or a node message without data.
    Other(String),
}

impl RevertReason {
    /// Decodes revert data, looking custom errors up in `known`.
    pub fn decode(data: &[u8], known: &[alloy_json_abi::Error]) -> Self {
        if data.is_empty() {
            return Self::Empty;
        }
        if let Ok(revert) = Revert::abi_decode(data) {
            return Self::Message(revert.reason);
        }
        if let Ok(panic) = Panic::abi_decode(data) {
            return Self::Panic {
                code: panic.code,
                meaning: panic.kind().map(|k| k.as_str()),
            };
        }
        let Some(selector) = data.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) else {
            return Self::Other(format!("revert data {}", Bytes::copy_from_slice(data)));
        };
        let signature = known.iter().find(|e| e.selector().0 == selector).map(|e| {
            match e.abi_decode_input(&data[4..]) {
                Ok(values) => {
                    let args: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                    format!("{}({})", e.name, args.join(", "))
                }
                Err(_) => e.signature(),
            }
        });
        Self::Custom {
            selector,
            signature,
            data: Bytes::copy_from_slice(data),
        }
    }

    /// From a chain error: decodes its revert data, or keeps the node's decoded message.
    pub fn from_chain_error(
        err: &triggerx_core::chain::Error,
        known: &[alloy_json_abi::Error],
    ) -> Option<Self> {
        match err.root() {
            triggerx_core::chain::Error::Reverted {
                data: Some(data), ..
            } => Some(Self::decode(data, known)),
            triggerx_core::chain::Error::Reverted {
                reason: Some(reason),
                data: None,
            } => Some(Self::Other(reason.clone())),
            triggerx_core::chain::Error::Reverted {
                reason: None,
                data: None,
            } => Some(Self::Empty),
            _ => None,
        }
    }
}

impl fmt::Display for RevertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(m) => write!(f, "Error({m:?})"),
            Self::Panic {
                code,
                meaning: Some(m),
            } => write!(f, "Panic({code}): {m}"),
            Self::Panic {
                code,
                meaning: None,
            } => write!(f, "Panic({code})"),
            Self::Custom {
                signature: Some(s), ..
            } => f.write_str(s),
            Self::Custom { selector, data, .. } => {
                write!(
                    f,
                    "custom error 0x{} ({data})",
                    alloy_primitives::hex::encode(selector)
                )
            }
            Self::Empty => f.write_str("reverted without data"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::sol;

    sol! {
        error TaskAlreadyExecuted(bytes32 taskId);
    }

    #[test]
    fn decodes_message_panic_and_custom() {
        let data = Revert::from("boom").abi_encode();
        assert_eq!(
            RevertReason::decode(&data, &[]),
            RevertReason::Message("boom".into())
        );
        let data = Panic::from(0x11).abi_encode();
        let RevertReason::Panic { code, meaning } = RevertReason::decode(&data, &[]) else {
            panic!("not a panic");
        };
        assert_eq!(code, U256::from(0x11));
        assert!(meaning.unwrap().contains("overflow"));

        let data = TaskAlreadyExecuted {
            taskId: [7u8; 32].into(),
        }
        .abi_encode();
        let abi_error =
            alloy_json_abi::Error::parse("TaskAlreadyExecuted(bytes32 taskId)").unwrap();
        match RevertReason::decode(&data, std::slice::from_ref(&abi_error)) {
            RevertReason::Custom {
                selector,
                signature: Some(sig),
                ..
            } => {
                assert_eq!(selector, TaskAlreadyExecuted::SELECTOR);
                assert!(sig.starts_with("TaskAlreadyExecuted("), "{sig}");
            }
            other => panic!("{other:?}"),
        }
        match RevertReason::decode(&data, &[]) {
            RevertReason::Custom {
                signature: None, ..
            } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(RevertReason::decode(&[], &[]), RevertReason::Empty);
    }
}
