//! Function and event signatures, and picking items out of ABI JSON.

use alloy_json_abi::{Event, EventParam, Function, JsonAbi, Param};

/// Parses a human-readable function signature: `incrementBy(uint256 amount)`,
/// `function f((uint256,address)[] xs) returns (uint256)`, `balanceOf(address) view returns (uint256)`.
///
/// # Errors
/// A message saying what is wrong with the signature.
pub fn parse_function(signature: &str) -> Result<Function, String> {
    let text = signature.trim();
    if text.is_empty() {
        return Err("expected a function signature such as \"transfer(address to, uint256 amount)\", found an empty string".into());
    }
    if !text.contains('(') {
        return Err(format!(
            "{text:?} is not a function signature: expected name(type name, ...) such as \"{text}(uint256)\""
        ));
    }
    super::sigparse::function(text)
        .map_err(|e| format!("{text:?} is not a valid function signature: {e}"))
}

/// Parses a human-readable event signature:
/// `Transfer(address indexed from, address indexed to, uint256 value)`.
///
/// # Errors
/// A message saying what is wrong with the signature.
pub fn parse_event(signature: &str) -> Result<Event, String> {
    let text = signature.trim();
    if text.is_empty() {
        return Err("expected an event signature such as \"Transfer(address indexed from, address indexed to, uint256 value)\", found an empty string".into());
    }
    if !text.contains('(') {
        return Err(format!(
            "{text:?} is not an event signature: expected Name(type [indexed] name, ...)"
        ));
    }
    super::sigparse::event(text)
        .map_err(|e| format!("{text:?} is not a valid event signature: {e}"))
}

/// Reads ABI JSON given as text (`"[{...}]"`), as an array of items, or as a compiler artifact
/// object with an `abi` member.
///
/// # Errors
/// A message saying why the value is not an ABI.
pub fn load_abi(value: &serde_json::Value) -> Result<JsonAbi, String> {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| format!("is not valid JSON: {e}"))?;
            if parsed.is_string() {
                return Err("expected ABI JSON (an array of items), found a JSON string".into());
            }
            load_abi(&parsed)
        }
        Value::Array(_) => serde_json::from_value::<JsonAbi>(value.clone())
            .map_err(|e| format!("is not a valid ABI: {e}")),
        Value::Object(map) => match map.get("abi") {
            Some(inner) if !inner.is_object() => load_abi(inner),
            _ => Err(
                "expected ABI JSON: an array of items, or an artifact object with an \"abi\" array"
                    .into(),
            ),
        },
        _ => Err("expected ABI JSON: a string of JSON text or an array of items".into()),
    }
}

/// Picks a function from an ABI by name (`transfer`) or signature (`transfer(address,uint256)`).
///
/// With a bare name that is overloaded, `arity` (the number of arguments given) picks the one
/// overload with that many inputs.
///
/// # Errors
/// When the function is missing or the choice is ambiguous, a message listing the candidates.
pub fn select_function(
    abi: &JsonAbi,
    wanted: &str,
    arity: Option<usize>,
) -> Result<Function, String> {
    let wanted = wanted.trim();
    let mut found = if wanted.contains('(') {
        let sig = parse_function(wanted)?;
        let canonical = sig.signature();
        let hits: Vec<Function> = abi
            .functions()
            .filter(|f| f.signature() == canonical)
            .cloned()
            .collect();
        if hits.is_empty() {
            return Err(format!(
                "no function {canonical} in the ABI{}",
                listing(abi.functions().map(Function::signature))
            ));
        }
        hits
    } else {
        let Some(all) = abi.function(wanted) else {
            return Err(format!(
                "no function named {wanted:?} in the ABI{}",
                listing(abi.functions().map(Function::signature))
            ));
        };
        let mut hits = all.clone();
        if hits.len() > 1
            && let Some(n) = arity
        {
            let by_arity: Vec<Function> = hits
                .iter()
                .filter(|f| f.inputs.len() == n)
                .cloned()
                .collect();
            if by_arity.is_empty() {
                return Err(format!(
                    "no overload of {wanted:?} takes {n} arguments{}",
                    listing(hits.iter().map(Function::signature))
                ));
            }
            hits = by_arity;
        }
        if hits.len() > 1 {
            return Err(format!(
                "{wanted:?} is overloaded ({}); name one by its signature",
                hits.iter()
                    .map(Function::signature)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        hits
    };
    let mut f = found.remove(0);
    strip_function(&mut f);
    Ok(f)
}

/// Picks an event from an ABI by name (`Transfer`) or signature (`Transfer(address,address,uint256)`).
///
/// # Errors
/// When the event is missing or the name is overloaded, a message listing the candidates.
pub fn select_event(abi: &JsonAbi, wanted: &str) -> Result<Event, String> {
    let wanted = wanted.trim();
    let mut hits: Vec<Event> = if wanted.contains('(') {
        let canonical = parse_event(wanted)?.signature();
        abi.events()
            .filter(|e| e.signature() == canonical)
            .cloned()
            .collect()
    } else {
        abi.event(wanted).cloned().unwrap_or_default()
    };
    match hits.len() {
        0 => Err(format!(
            "no event {wanted:?} in the ABI{}",
            listing(abi.events().map(Event::signature))
        )),
        1 => {
            let mut e = hits.remove(0);
            strip_event(&mut e);
            Ok(e)
        }
        _ => Err(format!(
            "{wanted:?} is overloaded ({}); name one by its signature",
            hits.iter()
                .map(Event::signature)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn listing(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        " (it has none)".into()
    } else {
        format!(" (it has: {})", v.join(", "))
    }
}

/// The human-readable signature of a function, as [`parse_function`] reads it back:
/// `balanceOf(address owner) view returns (uint256)`.
pub fn display_function(f: &Function) -> String {
    super::sigparse::display_function(f)
}

/// The human-readable signature of an event, as [`parse_event`] reads it back:
/// `Transfer(address indexed from, address indexed to, uint256 value)`.
pub fn display_event(e: &Event) -> String {
    super::sigparse::display_event(e)
}

/// Drops compiler-only `internalType` annotations so that an item read from ABI JSON equals the
/// same item read from its signature.
fn strip_function(f: &mut Function) {
    f.inputs.iter_mut().for_each(strip_param);
    f.outputs.iter_mut().for_each(strip_param);
}

fn strip_event(e: &mut Event) {
    e.inputs.iter_mut().for_each(|p: &mut EventParam| {
        p.internal_type = None;
        p.components.iter_mut().for_each(strip_param);
    });
}

fn strip_param(p: &mut Param) {
    p.internal_type = None;
    p.components.iter_mut().for_each(strip_param);
}
