//! Indexed-parameter topics and log-data decoding.

use alloy_dyn_abi::{DynSolType, DynSolValue, Specifier};
use alloy_json_abi::{Event, EventParam};
use alloy_primitives::{B256, hex};
use serde_json::Value;

use super::encode::coerce_value;
use crate::{ValidationErrors, types::Decimal};

/// Encodes a filter value for an indexed event parameter into the topic word Solidity emits:
/// value types are left-/right-padded to 32 bytes as in ABI encoding; `string`, `bytes`, arrays
/// and tuples become the keccak-256 of their topic preimage.
///
/// A string of exactly `0x` + 64 hex digits is taken as a raw topic word for any type (this is
/// also how the normalized form writes filters back).
///
/// # Errors
/// Every part of the value that does not fit the parameter's type, under `path`.
pub fn encode_topic(
    param: &EventParam,
    value: &Value,
    path: &str,
) -> Result<B256, ValidationErrors> {
    if let Some(word) = raw_word(value) {
        return Ok(word);
    }
    let ty: DynSolType = param.resolve().map_err(|e| {
        let mut errs = ValidationErrors::default();
        errs.push(
            path,
            format!("unsupported parameter type {:?}: {e}", param.ty),
        );
        errs
    })?;
    let v = coerce_value(&ty, &param.components, value, path)?;
    Ok(v.encode_topic())
}

fn raw_word(value: &Value) -> Option<B256> {
    let s = value.as_str()?;
    let body = s.strip_prefix("0x")?;
    if body.len() != 64 {
        return None;
    }
    hex::decode(body).ok().map(|b| B256::from_slice(&b))
}

/// The topic position (1..=3) of an event's `index`-th input when it is indexed.
pub fn indexed_position(event: &Event, index: usize) -> Option<u8> {
    let input = event.inputs.get(index)?;
    if !input.indexed {
        return None;
    }
    let before = event.inputs[..index].iter().filter(|p| p.indexed).count();
    u8::try_from(before + usize::from(!event.anonymous)).ok()
}

/// Decodes a log's data: the event's non-indexed fields, in declaration order.
///
/// # Errors
/// When a parameter type cannot be resolved or the data does not decode as those types.
pub fn decode_log_data(
    event: &Event,
    data: &[u8],
) -> Result<Vec<DynSolValue>, alloy_dyn_abi::Error> {
    let types = event
        .inputs
        .iter()
        .filter(|p| !p.indexed)
        .map(|p| p.resolve())
        .collect::<Result<Vec<DynSolType>, _>>()?;
    match DynSolType::Tuple(types).abi_decode_params(data)? {
        DynSolValue::Tuple(values) => Ok(values),
        other => Ok(vec![other]),
    }
}

/// An integer ABI value as an exact decimal (for numeric conditions); `None` for other types.
pub fn to_decimal(value: &DynSolValue) -> Option<Decimal> {
    match value {
        DynSolValue::Uint(u, _) => Some(Decimal::from_u256(*u, 0)),
        DynSolValue::Int(i, _) => Some(Decimal::from_i256(*i, 0)),
        _ => None,
    }
}
