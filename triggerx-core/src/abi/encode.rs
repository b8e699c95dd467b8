//! JSON values → ABI values → calldata, exactly (no floats) and with a field path on every error.

use alloy_dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};
use alloy_json_abi::{Function, Param};
use alloy_primitives::{Address, B256, Bytes, I256, U256, hex};
use serde_json::Value;

use crate::ValidationErrors;

/// Encodes a call to `function` with `args`: the 4-byte selector followed by the ABI-encoded
/// arguments. Errors are reported under `action.args` (`action.args[1]: 300 does not fit uint8`).
///
/// # Errors
/// Every argument that does not fit its parameter type, each with its path.
pub fn encode_call(function: &Function, args: &[Value]) -> Result<Bytes, ValidationErrors> {
    encode_call_at(function, args, "action.args")
}

/// [`encode_call`] with errors reported under `path` instead of `action.args`.
///
/// # Errors
/// Every argument that does not fit its parameter type, each with its path.
pub fn encode_call_at(
    function: &Function,
    args: &[Value],
    path: &str,
) -> Result<Bytes, ValidationErrors> {
    let values = encode_params(&function.inputs, args, path, &function.signature())?;
    function
        .abi_encode_input(&values)
        .map(Bytes::from)
        .map_err(|e| {
            let mut errs = ValidationErrors::default();
            errs.push(path, format!("cannot encode the arguments: {e}"));
            errs
        })
}

/// Converts `args` into ABI values for `params`, checking the count. `what` names the function
/// in the arity message.
///
/// # Errors
/// Every argument that does not fit its parameter type, each with its path.
pub fn encode_params(
    params: &[Param],
    args: &[Value],
    path: &str,
    what: &str,
) -> Result<Vec<DynSolValue>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if params.len() != args.len() {
        errs.push(
            path,
            format!(
                "{what} takes {} argument{}, found {}",
                params.len(),
                if params.len() == 1 { "" } else { "s" },
                args.len()
            ),
        );
        return Err(errs);
    }
    let mut out = Vec::with_capacity(params.len());
    for (i, (param, arg)) in params.iter().zip(args).enumerate() {
        let p = format!("{path}[{i}]");
        match param.resolve() {
            Ok(ty) => {
                if let Some(v) = coerce(&ty, &param.components, arg, &p, &mut errs) {
                    out.push(v);
                }
            }
            Err(e) => errs.push(
                &p,
                format!("unsupported parameter type {:?}: {e}", param.ty),
            ),
        }
    }
    errs.into_result(out)
}

/// Converts one JSON value into an ABI value of type `ty`. `components` are the parameter's
/// tuple components (for tuples given as objects keyed by component name).
///
/// # Errors
/// Every part of the value that does not fit, each with its path under `path`.
pub fn coerce_value(
    ty: &DynSolType,
    components: &[Param],
    value: &Value,
    path: &str,
) -> Result<DynSolValue, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    match coerce(ty, components, value, path, &mut errs) {
        Some(v) if errs.is_empty() => Ok(v),
        _ => Err(errs),
    }
}

fn coerce(
    ty: &DynSolType,
    components: &[Param],
    value: &Value,
    path: &str,
    errs: &mut ValidationErrors,
) -> Option<DynSolValue> {
    let result = match ty {
        DynSolType::Bool => match value {
            Value::Bool(b) => Ok(DynSolValue::Bool(*b)),
            Value::String(s) if s == "true" => Ok(DynSolValue::Bool(true)),
            Value::String(s) if s == "false" => Ok(DynSolValue::Bool(false)),
            other => Err(format!(
                "expected a boolean (true or false), found {}",
                describe(other)
            )),
        },
        DynSolType::Uint(bits) => parse_uint(value, *bits).map(|u| DynSolValue::Uint(u, *bits)),
        DynSolType::Int(bits) => parse_int(value, *bits).map(|i| DynSolValue::Int(i, *bits)),
        DynSolType::Address => match value {
            Value::String(s) => parse_address(s).map(DynSolValue::Address),
            other => Err(format!(
                "expected an address as a 0x string, found {}",
                describe(other)
            )),
        },
        DynSolType::FixedBytes(n) => parse_hex(value).and_then(|b| {
            if b.len() == *n {
                let mut word = B256::ZERO;
                word[..*n].copy_from_slice(&b);
                Ok(DynSolValue::FixedBytes(word, *n))
            } else {
                Err(format!(
                    "expected exactly {n} bytes for bytes{n}, found {}",
                    b.len()
                ))
            }
        }),
        DynSolType::Function => parse_hex(value).and_then(|b| {
            <[u8; 24]>::try_from(b.as_slice())
                .map(|a| DynSolValue::Function(a.into()))
                .map_err(|_| {
                    format!(
                        "expected 24 bytes (address + selector) for function, found {}",
                        b.len()
                    )
                })
        }),
        DynSolType::Bytes => parse_hex(value).map(DynSolValue::Bytes),
        DynSolType::String => match value {
            Value::String(s) => Ok(DynSolValue::String(s.clone())),
            other => Err(format!("expected a string, found {}", describe(other))),
        },
        DynSolType::Array(inner) => match value {
            Value::Array(items) => {
                seq(inner, components, items, path, errs).map(DynSolValue::Array)
            }
            other => Err(format!(
                "expected an array for {ty}, found {}",
                describe(other)
            )),
        },
        DynSolType::FixedArray(inner, n) => match value {
            Value::Array(items) if items.len() == *n => {
                seq(inner, components, items, path, errs).map(DynSolValue::FixedArray)
            }
            Value::Array(items) => Err(format!(
                "expected exactly {n} elements for {ty}, found {}",
                items.len()
            )),
            other => Err(format!(
                "expected an array of {n} elements for {ty}, found {}",
                describe(other)
            )),
        },
        DynSolType::Tuple(types) => {
            tuple(types, components, value, path, errs).map(DynSolValue::Tuple)
        }
        #[allow(unreachable_patterns)]
        other => Err(format!("unsupported type {other}")),
    };
    match result {
        Ok(v) => Some(v),
        Err(msg) if msg.is_empty() => None,
        Err(msg) => {
            errs.push(path, msg);
            None
        }
    }
}

/// Elements of an array; an empty error string means "already reported".
fn seq(
    inner: &DynSolType,
    components: &[Param],
    items: &[Value],
    path: &str,
    errs: &mut ValidationErrors,
) -> Result<Vec<DynSolValue>, String> {
    let before = errs.0.len();
    let vals: Vec<_> = items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| coerce(inner, components, v, &format!("{path}[{i}]"), errs))
        .collect();
    if errs.0.len() > before {
        Err(String::new())
    } else {
        Ok(vals)
    }
}

fn tuple(
    types: &[DynSolType],
    components: &[Param],
    value: &Value,
    path: &str,
    errs: &mut ValidationErrors,
) -> Result<Vec<DynSolValue>, String> {
    let sig = || {
        let names: Vec<String> = types.iter().map(ToString::to_string).collect();
        format!("({})", names.join(","))
    };
    let before = errs.0.len();
    let comp = |i: usize| {
        components
            .get(i)
            .map(|c| c.components.as_slice())
            .unwrap_or(&[])
    };
    let vals: Vec<DynSolValue> = match value {
        Value::Array(items) => {
            if items.len() != types.len() {
                return Err(format!(
                    "expected {} elements for tuple {}, found {}",
                    types.len(),
                    sig(),
                    items.len()
                ));
            }
            types
                .iter()
                .zip(items)
                .enumerate()
                .filter_map(|(i, (t, v))| coerce(t, comp(i), v, &format!("{path}[{i}]"), errs))
                .collect()
        }
        Value::Object(map) => {
            let named =
                components.len() == types.len() && components.iter().all(|c| !c.name.is_empty());
            if !named {
                return Err(format!(
                    "tuple {} has unnamed components: give it as an array of {} values",
                    sig(),
                    types.len()
                ));
            }
            for key in map.keys() {
                if !components.iter().any(|c| &c.name == key) {
                    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
                    errs.push(
                        format!("{path}.{key}"),
                        format!(
                            "unknown tuple component (expected one of: {})",
                            names.join(", ")
                        ),
                    );
                }
            }
            let mut out = Vec::with_capacity(types.len());
            for (i, (t, c)) in types.iter().zip(components).enumerate() {
                let p = format!("{path}.{}", c.name);
                match map.get(&c.name) {
                    Some(v) => out.extend(coerce(t, comp(i), v, &p, errs)),
                    None => errs.push(p, format!("missing tuple component of type {t}")),
                }
            }
            out
        }
        other => {
            return Err(format!(
                "expected a tuple {} as an array or an object, found {}",
                sig(),
                describe(other)
            ));
        }
    };
    if errs.0.len() > before {
        Err(String::new())
    } else {
        Ok(vals)
    }
}

/// A short description of a JSON value for messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Parses an address. Mixed-case text must carry a valid EIP-55 checksum.
///
/// # Errors
/// `"0x12" is not an address …` and similar.
pub fn parse_address(s: &str) -> Result<Address, String> {
    let t = s.trim();
    let Some(hex_part) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) else {
        return Err(format!(
            "{s:?} is not an address (expected 0x followed by 40 hex digits)"
        ));
    };
    if hex_part.len() != 40 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{s:?} is not an address (expected 0x followed by 40 hex digits)"
        ));
    }
    let mixed = hex_part.bytes().any(|b| b.is_ascii_lowercase())
        && hex_part.bytes().any(|b| b.is_ascii_uppercase());
    let addr: Address = t.parse().map_err(|_| format!("{s:?} is not an address"))?;
    if mixed && addr.to_checksum(None) != format!("0x{hex_part}") {
        return Err(format!(
            "{s:?} has an invalid EIP-55 checksum (expected {}); write it all lower-case to skip the check",
            addr.to_checksum(None)
        ));
    }
    Ok(addr)
}

fn parse_hex(value: &Value) -> Result<Vec<u8>, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "expected 0x-prefixed hex bytes, found {}",
            describe(value)
        ));
    };
    let Some(body) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else {
        return Err(format!("expected 0x-prefixed hex bytes, found {s:?}"));
    };
    if body.len() % 2 == 1 {
        return Err(format!("{s:?} has an odd number of hex digits"));
    }
    hex::decode(body).map_err(|_| format!("{s:?} is not valid hex"))
}

/// A non-negative magnitude and a sign, read from JSON without floats.
fn integer_parts(value: &Value) -> Result<(bool, U256), String> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok((false, U256::from(u)))
            } else if let Some(i) = n.as_i64() {
                Ok((true, U256::from(i.unsigned_abs())))
            } else {
                Err(format!(
                    "{n} is a floating-point number, not an exact integer (plain numbers are exact only up to 64 bits); quote integers as strings, e.g. \"123456789012345678901234567890\""
                ))
            }
        }
        Value::String(s) => {
            let t = s.trim();
            let (neg, body) = match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let parsed =
                if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
                    if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("{s:?} is not an integer (bad hex digits)"));
                    }
                    U256::from_str_radix(h, 16)
                } else {
                    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!(
                            "{s:?} is not an integer (expected decimal digits or 0x hex)"
                        ));
                    }
                    U256::from_str_radix(body, 10)
                };
            parsed
                .map(|u| (neg && !u.is_zero(), u))
                .map_err(|_| format!("{s:?} does not fit 256 bits"))
        }
        other => Err(format!(
            "expected an integer (a decimal or 0x-hex string, or a JSON integer), found {}",
            describe(other)
        )),
    }
}

fn shown(neg: bool, mag: U256) -> String {
    if neg {
        format!("-{mag}")
    } else {
        mag.to_string()
    }
}

/// Reads an unsigned integer of `bits` bits from a decimal/hex string or a JSON integer.
///
/// # Errors
/// `300 does not fit uint8 (max 255)`, a float, a negative value, bad digits.
pub fn parse_uint(value: &Value, bits: usize) -> Result<U256, String> {
    let (neg, mag) = integer_parts(value)?;
    if neg {
        return Err(format!(
            "{} does not fit uint{bits} (negative)",
            shown(neg, mag)
        ));
    }
    if bits < 256 && mag.bit_len() > bits {
        let max = (U256::from(1u8) << bits) - U256::from(1u8);
        return Err(format!("{mag} does not fit uint{bits} (max {max})"));
    }
    Ok(mag)
}

/// Reads a signed integer of `bits` bits from a decimal/hex string or a JSON integer.
///
/// # Errors
/// Out of range, a float, bad digits.
pub fn parse_int(value: &Value, bits: usize) -> Result<I256, String> {
    let (neg, mag) = integer_parts(value)?;
    let limit = U256::from(1u8) << (bits - 1); // |min| = 2^(bits-1), max = 2^(bits-1) - 1
    let fits = if neg { mag <= limit } else { mag < limit };
    if !fits {
        return Err(format!(
            "{} does not fit int{bits} (range -{limit}..={})",
            shown(neg, mag),
            limit - U256::from(1u8)
        ));
    }
    let sign = if neg {
        alloy_primitives::Sign::Negative
    } else {
        alloy_primitives::Sign::Positive
    };
    I256::checked_from_sign_and_abs(sign, mag)
        .ok_or_else(|| format!("{} does not fit int{bits}", shown(neg, mag)))
}
