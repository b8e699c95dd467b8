//! How a condition's value is read from a source response: the one implementation shared by
//! the scheduler's condition engine and the attester, so both read the same bytes the same way.
//!
//! - HTTP JSON: the body is parsed with every number kept as its exact literal text (never
//!   through `f64`), the JSONPath selects one node, and that node must be a number or a string
//!   holding a decimal number.
//! - View call: the return data is ABI-decoded with the function's outputs and the selected
//!   output (an integer) is scaled down by `decimals`.
//! - Price feed: `latestRoundData()` is decoded and its `answer` scaled down by `decimals`.

use alloy_dyn_abi::{DynSolType, DynSolValue, Specifier};
use alloy_json_abi::Function;
use alloy_primitives::{B256, Bytes, keccak256};
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::types::{Decimal, ValueSource};

/// Why a value could not be read from a response. Never treated as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The body is not JSON.
    #[error("response is not JSON: {0}")]
    NotJson(String),
    /// The JSONPath does not parse.
    #[error("invalid JSONPath {path:?}: {reason}")]
    BadPath {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The JSONPath selects nothing, or more than one node.
    #[error("JSONPath {path:?} selects {found} nodes, expected exactly one")]
    NotOneNode {
        /// The path.
        path: String,
        /// How many it selected.
        found: usize,
    },
    /// The selected node is not a decimal number.
    #[error("value {0} is not a decimal number")]
    NotANumber(String),
    /// The return data does not decode.
    #[error("cannot decode the call result: {0}")]
    Decode(String),
}

/// The exact sampled value and the digest of the raw response it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The value.
    pub value: Decimal,
    /// keccak-256 of the raw response bytes.
    pub digest: B256,
}

/// Quotes every number literal outside strings, so a later `serde_json` parse keeps its exact
/// text. The output is valid JSON whenever the input is.
fn quote_numbers(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut i = 0;
    let mut in_string = false;
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < body.len() {
                out.push(body[i + 1]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            out.push(b);
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < body.len()
                && matches!(body[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                i += 1;
            }
            out.push(b'"');
            out.extend_from_slice(&body[start..i]);
            out.push(b'"');
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fn to_decimal(node: &Value) -> Result<Decimal, ExtractError> {
    match node {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| ExtractError::NotANumber(format!("{s:?}"))),
        other => Err(ExtractError::NotANumber(other.to_string())),
    }
}

/// Reads a decimal from an HTTP JSON body with an optional RFC 9535 JSONPath (the whole body
/// when `None`).
pub fn extract_json(body: &[u8], json_path: Option<&str>) -> Result<Reading, ExtractError> {
    let quoted = quote_numbers(body);
    let doc: Value =
        serde_json::from_slice(&quoted).map_err(|e| ExtractError::NotJson(e.to_string()))?;
    let value = match json_path {
        None => to_decimal(&doc)?,
        Some(p) => {
            let path = JsonPath::parse(p).map_err(|e| ExtractError::BadPath {
                path: p.to_owned(),
                reason: e.to_string(),
            })?;
            let nodes = path.query(&doc).all();
            match nodes.as_slice() {
                [one] => to_decimal(one)?,
                other => {
                    return Err(ExtractError::NotOneNode {
                        path: p.to_owned(),
                        found: other.len(),
                    });
                }
            }
        }
    };
    Ok(Reading {
        value,
        digest: keccak256(body),
    })
}

fn integer_of(value: &DynSolValue, decimals: u8) -> Result<Decimal, ExtractError> {
    match value {
        DynSolValue::Uint(u, _) => Ok(Decimal::from_u256(*u, decimals)),
        DynSolValue::Int(i, _) => Ok(Decimal::from_i256(*i, decimals)),
        other => Err(ExtractError::NotANumber(format!("{other:?}"))),
    }
}

/// Reads output `output_index` of a view call's return data, scaled down by `decimals`.
pub fn extract_view(
    function: &Function,
    output_index: usize,
    decimals: u8,
    data: &[u8],
) -> Result<Reading, ExtractError> {
    let types = function
        .outputs
        .iter()
        .map(|p| p.resolve())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExtractError::Decode(e.to_string()))?;
    let decoded = DynSolType::Tuple(types)
        .abi_decode_params(data)
        .map_err(|e| ExtractError::Decode(e.to_string()))?;
    let DynSolValue::Tuple(values) = decoded else {
        return Err(ExtractError::Decode("not a tuple".into()));
    };
    let v = values.get(output_index).ok_or_else(|| {
        ExtractError::Decode(format!("no output {output_index} (has {})", values.len()))
    })?;
    Ok(Reading {
        value: integer_of(v, decimals)?,
        digest: keccak256(data),
    })
}

/// The `latestRoundData()` function of a price feed.
pub fn latest_round_data() -> Function {
    Function::parse(
        "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
    )
    .expect("static signature parses")
}

/// Reads the `answer` of a price feed's `latestRoundData()` return data.
pub fn extract_price(decimals: u8, data: &[u8]) -> Result<Reading, ExtractError> {
    extract_view(&latest_round_data(), 1, decimals, data)
}

/// The calldata a chain source sends (`None` for HTTP sources).
pub fn source_calldata(source: &ValueSource) -> Option<Bytes> {
    match source {
        ValueSource::Http { .. } => None,
        ValueSource::ViewCall { calldata, .. } => Some(calldata.clone()),
        ValueSource::PriceFeed { .. } => Some(Bytes::from(latest_round_data().selector().to_vec())),
    }
}

/// Reads a value from a source's raw response (HTTP body or call return data).
pub fn extract(source: &ValueSource, raw: &[u8]) -> Result<Reading, ExtractError> {
    match source {
        ValueSource::Http { json_path, .. } => extract_json(raw, json_path.as_deref()),
        ValueSource::ViewCall {
            function,
            output_index,
            decimals,
            ..
        } => extract_view(function, *output_index, *decimals, raw),
        ValueSource::PriceFeed { decimals, .. } => extract_price(*decimals, raw),
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{I256, U256};
    use alloy_sol_types::SolValue;

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn json_numbers_stay_exact() {
        let body = br#"{"data":{"price":2500.123456789012345678901,"n":[1,-2e3]},"s":"x\"1"}"#;
        let r = extract_json(body, Some("$.data.price")).unwrap();
        assert_eq!(r.value, d("2500.123456789012345678901"));
        assert_eq!(
            extract_json(body, Some("$.data.n[1]")).unwrap().value,
            d("-2000")
        );
        assert_eq!(r.digest, keccak256(body));
        assert_eq!(extract_json(b"42", None).unwrap().value, d("42"));
        assert_eq!(
            extract_json(br#"{"p":" 17.5 "}"#, Some("$.p"))
                .unwrap()
                .value,
            d("17.5")
        );
    }

    #[test]
    fn json_errors_are_specific() {
        let body = br#"{"a":{"b":true},"l":[1,2]}"#;
        assert!(matches!(
            extract_json(body, Some("$.a.b")),
            Err(ExtractError::NotANumber(_))
        ));
        assert!(matches!(
            extract_json(body, Some("$.l[*]")),
            Err(ExtractError::NotOneNode { found: 2, .. })
        ));
        assert!(matches!(
            extract_json(body, Some("$.missing")),
            Err(ExtractError::NotOneNode { found: 0, .. })
        ));
        assert!(matches!(
            extract_json(b"<html>", None),
            Err(ExtractError::NotJson(_))
        ));
        assert!(matches!(
            extract_json(body, Some("$[")),
            Err(ExtractError::BadPath { .. })
        ));
    }

    #[test]
    fn view_and_price_results_decode() {
        let f = Function::parse("function balanceOf(address) view returns (uint256)").unwrap();
        let data = U256::from(123_456_789u64).abi_encode();
        assert_eq!(
            extract_view(&f, 0, 6, &data).unwrap().value,
            d("123.456789")
        );
        assert!(extract_view(&f, 1, 0, &data).is_err());
        let round = (
            U256::from(7u64),
            I256::try_from(-250_000_000i64).unwrap(),
            U256::ZERO,
            U256::ZERO,
            U256::from(7u64),
        )
            .abi_encode_params();
        assert_eq!(extract_price(8, &round).unwrap().value, d("-2.5"));
    }
}
