//! The action: a contract call with static or script-computed arguments.

use alloy_json_abi::Function;
use alloy_primitives::{B256, U256};
use serde_json::Value;

use super::{condition::address, event::chain_id};
use crate::{
    ValidationErrors, abi,
    spec::model::{ActionSpec, ScriptSpec},
    types::{Action, Arguments, ScriptRef},
};

/// Smallest gas limit that can pay for a transaction.
const MIN_GAS: u64 = 21_000;
/// Largest gas limit accepted (a block's worth on most chains).
const MAX_GAS: u64 = 30_000_000;

pub(super) fn validate(a: &ActionSpec, e: &mut ValidationErrors) -> Option<Action> {
    let chain_id = chain_id("action.chain_id", a.chain_id, e);
    let target = address("action.target", a.target.as_deref(), e);
    let arity = a.args.as_ref().map(Vec::len);
    let function = function(
        "action",
        a.function.as_deref(),
        a.abi.as_ref(),
        a.function_name.as_deref(),
        arity.unwrap_or(0),
        e,
    );
    let value = match &a.value {
        None => Some(U256::ZERO),
        Some(v) => abi::parse_uint_value(v, 256)
            .map_err(|m| e.push("action.value", m))
            .ok(),
    };
    let gas_limit = match a.gas_limit {
        Some(g) if !(MIN_GAS..=MAX_GAS).contains(&g) => {
            e.push(
                "action.gas_limit",
                format!("must be between {MIN_GAS} and {MAX_GAS}, found {g}"),
            );
            None
        }
        g => Some(g),
    };
    let arguments = match (&a.args, &a.script, &function) {
        (Some(_), Some(_), _) => {
            e.push(
                "action.script",
                "give either args (static) or script (dynamic), not both",
            );
            None
        }
        (None, Some(s), _) => script(s, e).map(|script| Arguments::Dynamic { script }),
        (args, None, Some(f)) => {
            let values = args.clone().unwrap_or_default();
            if args.is_none() && !f.inputs.is_empty() {
                e.push(
                    "action.args",
                    format!(
                        "{} takes {} arguments; give action.args or action.script",
                        f.signature(),
                        f.inputs.len()
                    ),
                );
                None
            } else {
                match abi::encode_call(f, &values) {
                    Ok(calldata) => Some(Arguments::Static { values, calldata }),
                    Err(errs) => {
                        e.0.extend(errs.0);
                        None
                    }
                }
            }
        }
        (_, None, None) => None,
    };
    Some(Action {
        chain_id: chain_id?,
        target: target?,
        function: function?,
        value: value?,
        gas_limit: gas_limit?,
        arguments: arguments?,
    })
}

/// The function from a signature, or from ABI JSON and a name; errors under `base`.
pub(super) fn function(
    base: &str,
    signature: Option<&str>,
    abi_json: Option<&Value>,
    name: Option<&str>,
    arity: usize,
    e: &mut ValidationErrors,
) -> Option<Function> {
    match (signature, abi_json, name) {
        (Some(_), Some(_), _) => {
            e.push(
                format!("{base}.abi"),
                "give either function (a signature) or abi with function_name, not both",
            );
            None
        }
        (Some(sig), None, n) => {
            if n.is_some() {
                e.push(
                    format!("{base}.function_name"),
                    format!("only used with {base}.abi"),
                );
            }
            abi::parse_function(sig)
                .map_err(|m| e.push(format!("{base}.function"), m))
                .ok()
        }
        (None, Some(json), Some(n)) => {
            let parsed = abi::load_abi(json)
                .map_err(|m| e.push(format!("{base}.abi"), m))
                .ok()?;
            abi::select_function(&parsed, n, Some(arity))
                .map_err(|m| e.push(format!("{base}.function_name"), m))
                .ok()
        }
        (None, Some(_), None) => {
            e.push(
                format!("{base}.function_name"),
                format!("required with {base}.abi: the function's name or signature"),
            );
            None
        }
        (None, None, _) => {
            e.push(
                format!("{base}.function"),
                "required: a signature such as \"incrementBy(uint256 amount)\"",
            );
            None
        }
    }
}

fn script(s: &ScriptSpec, e: &mut ValidationErrors) -> Option<ScriptRef> {
    let url = s.url.trim();
    let scheme_ok = ["https://", "http://", "file://", "ipfs://"]
        .iter()
        .any(|p| url.starts_with(p) && url.len() > p.len());
    let mut ok = true;
    if !scheme_ok {
        e.push(
            "action.script.url",
            format!("{url:?} is not a script URL (expected https://, http://, file:// or ipfs://)"),
        );
        ok = false;
    } else if let Some(ext) = [".go", ".ts", ".js", ".py"]
        .iter()
        .find(|x| url.ends_with(*x))
    {
        e.push(
            "action.script.url",
            format!("{url:?} looks like {ext} source code; scripts here are WebAssembly modules (.wasm) run in a sandbox"),
        );
        ok = false;
    }
    let digest = match s.digest.as_deref() {
        None => None,
        Some(d) => match d
            .strip_prefix("0x")
            .filter(|h| h.len() == 64)
            .and_then(|h| h.parse::<B256>().ok())
        {
            Some(b) => Some(b),
            None => {
                e.push(
                    "action.script.digest",
                    format!("{d:?} is not a keccak-256 digest (0x + 64 hex digits)"),
                );
                ok = false;
                None
            }
        },
    };
    if s.fuel == Some(0) {
        e.push("action.script.fuel", "must be greater than 0");
        ok = false;
    }
    ok.then(|| ScriptRef {
        url: url.to_owned(),
        digest,
        fuel: s.fuel,
    })
}
