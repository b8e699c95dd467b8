//! ABI helpers: function and event signatures, exact static-argument encoding, topic encoding and
//! log decoding.
//!
//! Everything here works on [`alloy_json_abi`] items and [`alloy_dyn_abi`] values, and never
//! routes an integer through a float: `uint256`/`int256` arguments come from decimal strings,
//! `0x` hex strings or JSON integers that fit 64 bits, and a JSON float (or an integer that
//! `serde_json` could only hold as a float) is rejected with a message asking to quote it.
//!
//! - [`parse_function`] / [`parse_event`]: a human-readable signature
//!   (`incrementBy(uint256 amount)`, `Transfer(address indexed from, address indexed to, uint256 value)`).
//! - [`load_abi`], [`select_function`], [`select_event`]: an item from ABI JSON by name or
//!   signature, with overload disambiguation.
//! - [`encode_call`] / [`encode_params`]: JSON values → calldata, with a field path on every error.
//! - [`encode_topic`]: a filter value → the 32-byte topic Solidity emits for an indexed parameter.
//! - [`decode_log_data`]: the non-indexed fields of a log.

mod encode;
mod signature;
mod sigparse;
mod topic;

#[cfg(test)]
mod tests;

pub(crate) use encode::describe as describe_value;
pub use encode::{
    coerce_value, encode_call, encode_call_at, encode_params, parse_address, parse_int, parse_uint,
    parse_uint as parse_uint_value,
};
pub use signature::{
    display_event, display_function, load_abi, parse_event, parse_function, select_event,
    select_function,
};
pub use topic::{decode_log_data, encode_topic, indexed_position, to_decimal};
