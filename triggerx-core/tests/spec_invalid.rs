//! Table-driven: invalid specs in JSON, TOML and the original format, each with the exact field
//! path and a fragment of the reason.

use serde_json::{Value, json};
use triggerx_core::{
    Timestamp,
    spec::{Format, ValidationContext, parse_document, validate_document},
};

const OWNER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const COUNTER: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TOKEN: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const ALICE: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const TRANSFER: &str = "Transfer(address indexed from, address indexed to, uint256 value)";

fn ctx() -> ValidationContext {
    ValidationContext::new("2026-12-03T12:00:00Z".parse::<Timestamp>().unwrap())
}

fn time_base() -> Value {
    json!({
        "title": "Valid title",
        "owner": OWNER,
        "trigger": {"kind": "time", "every": "5m"},
        "action": {"chain_id": 31337, "target": COUNTER, "function": "incrementBy(uint256 by)", "args": ["5"]}
    })
}

fn event_base() -> Value {
    json!({
        "title": "Event job",
        "owner": OWNER,
        "trigger": {"kind": "event", "chain_id": 31337, "address": TOKEN, "event": TRANSFER},
        "action": {"chain_id": 31337, "target": COUNTER, "function": "increment()"}
    })
}

fn http_base() -> Value {
    json!({
        "title": "Condition job",
        "owner": OWNER,
        "trigger": {"kind": "condition", "source": {"type": "http", "url": "http://127.0.0.1:9/p", "json_path": "$.price"},
                    "op": "greater_than", "value": "2500"},
        "action": {"chain_id": 31337, "target": COUNTER, "function": "increment()"}
    })
}

fn view_base() -> Value {
    json!({
        "title": "View job",
        "owner": OWNER,
        "trigger": {"kind": "condition", "op": "less_than", "value": "10",
                    "source": {"type": "view_call", "chain_id": 31337, "address": TOKEN,
                               "function": "balanceOf(address a) view returns (uint256)", "args": [ALICE]}},
        "action": {"chain_id": 31337, "target": COUNTER, "function": "increment()"}
    })
}

const INCREMENT_BY_ABI: &str = r#"[{"inputs":[{"internalType":"uint8","name":"by","type":"uint8"}],"name":"incrementBy","outputs":[],"stateMutability":"nonpayable","type":"function"}]"#;

fn legacy_base() -> Value {
    json!({
        "job_id": "42", "user_address": OWNER.to_lowercase(), "job_title": "Legacy job", "task_definition_id": 1,
        "time_frame": 3600, "timezone": "UTC", "schedule_type": "interval", "time_interval": 60,
        "target_chain_id": "31337", "target_contract_address": COUNTER.to_lowercase(),
        "target_function": "incrementBy", "abi": INCREMENT_BY_ABI, "arg_type": 1, "arguments": ["3"],
        "ether_balance": 0, "token_balance": 0, "job_cost_prediction": 0.1, "created_chain_id": "31337"
    })
}

fn legacy_event() -> Value {
    patch(
        legacy_base(),
        &[
            ("/task_definition_id", Some(json!(3))),
            ("/trigger_chain_id", Some(json!("31337"))),
            ("/trigger_contract_address", Some(json!(TOKEN))),
            ("/trigger_event", Some(json!(TRANSFER))),
            ("/recurring", Some(json!(true))),
            ("/schedule_type", None),
            ("/time_interval", None),
        ],
    )
}

fn legacy_condition() -> Value {
    patch(
        legacy_base(),
        &[
            ("/task_definition_id", Some(json!(5))),
            ("/condition_type", Some(json!("greater_than"))),
            ("/lower_limit", Some(json!(2500.5))),
            ("/upper_limit", Some(json!(0))),
            ("/value_source_type", Some(json!("api"))),
            ("/value_source_url", Some(json!("http://127.0.0.1:9/price"))),
            ("/selected_key_route", Some(json!("data.price"))),
            ("/schedule_type", None),
            ("/time_interval", None),
        ],
    )
}

/// Sets (Some) or removes (None) the member at each JSON pointer.
fn patch(mut v: Value, edits: &[(&str, Option<Value>)]) -> Value {
    for (ptr, new) in edits {
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut v
        } else {
            v.pointer_mut(parent).unwrap()
        };
        let obj = target.as_object_mut().unwrap();
        match new {
            Some(n) => {
                obj.insert(key.to_owned(), n.clone());
            }
            None => {
                obj.remove(key);
            }
        }
    }
    v
}

fn j(base: Value, edits: &[(&str, Option<Value>)]) -> (Format, String) {
    (Format::Json, patch(base, edits).to_string())
}

fn s(v: Value) -> Option<Value> {
    Some(v)
}

fn toml(text: &str) -> (Format, String) {
    (Format::Toml, text.to_owned())
}

const TOML_HEAD: &str = r#"title = "Valid title"
owner = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
"#;
const TOML_ACTION: &str = r#"
[action]
chain_id = 31337
target = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
function = "incrementBy(uint256 by)"
args = ["5"]
"#;

fn tt(middle: &str) -> (Format, String) {
    toml(&format!("{TOML_HEAD}{middle}{TOML_ACTION}"))
}

fn fn_args(function: &str, args: Value) -> (Format, String) {
    j(
        time_base(),
        &[
            ("/action/function", s(json!(function))),
            ("/action/args", s(args)),
        ],
    )
}

fn cases() -> Vec<((Format, String), &'static str, &'static str)> {
    let at = |v: Value| {
        j(
            time_base(),
            &[("/trigger/every", None), ("/trigger/at", s(v))],
        )
    };
    let cron = |c: &str, tz: Option<&str>| {
        let mut edits = vec![("/trigger/every", None), ("/trigger/cron", s(json!(c)))];
        if let Some(tz) = tz {
            edits.push(("/trigger/timezone", s(json!(tz))));
        }
        j(time_base(), &edits)
    };
    let filter = |f: Value| j(event_base(), &[("/trigger/filter", s(f))]);
    let wh = |w: Value| j(event_base(), &[("/trigger/where", s(json!([w])))]);
    let cond = |edits: &[(&str, Option<Value>)]| j(http_base(), edits);
    let view = |edits: &[(&str, Option<Value>)]| j(view_base(), edits);
    let leg = |edits: &[(&str, Option<Value>)]| j(legacy_base(), edits);
    let lev = |edits: &[(&str, Option<Value>)]| j(legacy_event(), edits);
    let lco = |edits: &[(&str, Option<Value>)]| j(legacy_condition(), edits);
    let abi2 = json!(
        r#"[{"type":"function","name":"transfer","inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"},
                         {"type":"function","name":"transfer","inputs":[{"name":"to","type":"address"}],"outputs":[],"stateMutability":"nonpayable"}]"#
    );
    vec![
        // ---- job level (JSON) ----
        (
            j(time_base(), &[("/title", s(json!("ab")))]),
            "title",
            "must be 3 to 100 characters, found 2",
        ),
        (
            j(time_base(), &[("/owner", s(json!("0x12")))]),
            "owner",
            "\"0x12\" is not an address",
        ),
        (
            j(
                time_base(),
                &[(
                    "/owner",
                    s(json!("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")),
                )],
            ),
            "owner",
            "invalid EIP-55 checksum",
        ),
        (
            j(
                time_base(),
                &[(
                    "/owner",
                    s(json!("0x0000000000000000000000000000000000000000")),
                )],
            ),
            "owner",
            "zero address",
        ),
        (
            j(time_base(), &[("/id", s(json!("-1")))]),
            "id",
            "expected a job id",
        ),
        (j(time_base(), &[("/id", s(json!(1.5)))]), "id", "quote it"),
        (
            j(
                time_base(),
                &[("/expires_at", s(json!("2020-01-01T00:00:00Z")))],
            ),
            "expires_at",
            "is not in the future",
        ),
        (
            j(time_base(), &[("/expires_at", s(json!("tomorrow")))]),
            "expires_at",
            "expected an RFC 3339 instant",
        ),
        (
            j(time_base(), &[("/expires_in", s(json!("5y")))]),
            "expires_in",
            "unknown unit \"y\"",
        ),
        (
            j(time_base(), &[("/expires_in", s(json!("0s")))]),
            "expires_in",
            "longer than 0s",
        ),
        (
            j(
                time_base(),
                &[
                    ("/expires_in", s(json!("1d"))),
                    ("/expires_at", s(json!("2027-01-01T00:00:00Z"))),
                ],
            ),
            "expires_in",
            "not both",
        ),
        (
            j(time_base(), &[("/colour", s(json!("red")))]),
            "colour",
            "unknown field `colour`",
        ),
        (
            j(time_base(), &[("/trigger/kind", None)]),
            "trigger.kind",
            "required: time, event or condition",
        ),
        (
            j(time_base(), &[("/trigger/kind", s(json!("timer")))]),
            "trigger.kind",
            "unknown variant `timer`",
        ),
        (
            j(time_base(), &[("/trigger/evry", s(json!("5m")))]),
            "trigger.evry",
            "unknown field `evry`",
        ),
        (
            j(time_base(), &[("/action", None)]),
            "",
            "missing field `action`",
        ),
        ((Format::Json, "{\"title\": \"x\",".into()), "", "line 1"),
        (
            j(event_base(), &[("/trigger/confirmations", s(json!("two")))]),
            "trigger.confirmations",
            "invalid type",
        ),
        // ---- time ----
        (
            j(time_base(), &[("/trigger/every", s(json!("0s")))]),
            "trigger.every",
            "must be at least 1s",
        ),
        (
            j(time_base(), &[("/trigger/every", s(json!("1500ms")))]),
            "trigger.every",
            "whole number of seconds, found 1s500ms",
        ),
        (
            j(time_base(), &[("/trigger/every", s(json!("5")))]),
            "trigger.every",
            "needs a unit",
        ),
        (
            j(time_base(), &[("/trigger/cron", s(json!("0 * * * * *")))]),
            "trigger.cron",
            "give only one of every, cron or at",
        ),
        (
            j(time_base(), &[("/trigger/every", None)]),
            "trigger",
            "needs one of every, cron or at",
        ),
        (
            cron("0 0 *", None),
            "trigger.cron",
            "expected 6 fields (second minute hour day-of-month month day-of-week), found 3",
        ),
        (
            cron("0 0 0 * * * 2027", None),
            "trigger.cron",
            "expected 6 fields",
        ),
        (
            cron("61 * * * * *", None),
            "trigger.cron",
            "invalid cron expression",
        ),
        (cron("0 0 0 30 2 *", None), "trigger.cron", "never fires"),
        (
            cron("0 0 9 * * *", Some("Mars/Olympus")),
            "trigger.timezone",
            "unknown IANA time zone \"Mars/Olympus\"",
        ),
        (
            j(time_base(), &[("/trigger/timezone", s(json!("UTC")))]),
            "trigger.timezone",
            "only applies to a cron schedule",
        ),
        (at(json!([])), "trigger.at", "at least one instant"),
        (
            at(json!(["2020-01-01T00:00:00Z"])),
            "trigger.at[0]",
            "is not in the future",
        ),
        (
            at(json!(["2030-01-01T00:00:00Z", "2030-01-01T01:00:00+01:00"])),
            "trigger.at[1]",
            "repeats trigger.at[0]",
        ),
        (
            at(json!(["2030-01-01T00:00:00Z", "soon"])),
            "trigger.at[1]",
            "expected an RFC 3339 instant",
        ),
        (
            j(time_base(), &[("/trigger/start", s(json!("nope")))]),
            "trigger.start",
            "RFC 3339",
        ),
        (
            j(
                time_base(),
                &[
                    ("/trigger/start", s(json!("2029-01-01T00:00:00Z"))),
                    ("/expires_at", s(json!("2028-01-01T00:00:00Z"))),
                ],
            ),
            "expires_at",
            "is before trigger.start",
        ),
        (
            j(time_base(), &[("/trigger/catch_up", s(json!("sometimes")))]),
            "trigger.catch_up",
            "expected \"skip\", \"fire_once\"",
        ),
        (
            j(time_base(), &[("/trigger/catch_up", s(json!("fire_all")))]),
            "trigger.catch_up.window",
            "required for fire_all",
        ),
        (
            j(
                time_base(),
                &[(
                    "/trigger/catch_up",
                    s(json!({"policy": "fire_all", "window": "soon"})),
                )],
            ),
            "trigger.catch_up.window",
            "not a duration",
        ),
        (
            j(time_base(), &[("/trigger/overlap", s(json!("queue")))]),
            "trigger.overlap",
            "expected \"skip\" or \"allow\"",
        ),
        (
            j(time_base(), &[("/recurring", s(json!(false)))]),
            "recurring",
            "always recurs",
        ),
        (
            at(json!(["2030-01-01T00:00:00Z"]))
                .1
                .replace("\"title\"", "\"recurring\":true,\"title\"")
                .pipe_json(),
            "recurring",
            "fires once",
        ),
        (
            j(time_base(), &[("/trigger/chain_id", s(json!(5)))]),
            "trigger.chain_id",
            "not used by a time trigger",
        ),
        // ---- action ----
        (
            j(time_base(), &[("/action/chain_id", None)]),
            "action.chain_id",
            "required",
        ),
        (
            j(time_base(), &[("/action/chain_id", s(json!(0)))]),
            "action.chain_id",
            "0 is not a chain id",
        ),
        (
            j(time_base(), &[("/action/target", s(json!("0x12")))]),
            "action.target",
            "is not an address",
        ),
        (
            j(
                time_base(),
                &[(
                    "/action/target",
                    s(json!("0x0000000000000000000000000000000000000000")),
                )],
            ),
            "action.target",
            "zero address is not a contract",
        ),
        (
            j(
                time_base(),
                &[("/action/function", s(json!("incrementBy")))],
            ),
            "action.function",
            "is not a function signature",
        ),
        (
            j(
                time_base(),
                &[("/action/function", s(json!("incrementBy(uint257)")))],
            ),
            "action.function",
            "unknown type `uint257`",
        ),
        (
            fn_args("set(uint8 v)", json!([300])),
            "action.args[0]",
            "300 does not fit uint8",
        ),
        (
            fn_args("set(int8 v)", json!(["-129"])),
            "action.args[0]",
            "-129 does not fit int8",
        ),
        (
            fn_args("set(uint8 v)", json!(["1", "2"])),
            "action.args",
            "takes 1 argument, found 2",
        ),
        (
            fn_args("set(uint256 v)", json!([1.5])),
            "action.args[0]",
            "quote integers as strings",
        ),
        (
            (
                Format::Json,
                patch(time_base(), &[])
                    .to_string()
                    .replace("[\"5\"]", "[18446744073709551616]"),
            ),
            "action.args[0]",
            "quote integers as strings",
        ),
        (
            fn_args("set(uint256 v)", json!(["-1"])),
            "action.args[0]",
            "negative",
        ),
        (
            fn_args("set(uint256 v)", json!(["12abc"])),
            "action.args[0]",
            "is not an integer",
        ),
        (
            fn_args("f(bytes4 b)", json!(["0x01"])),
            "action.args[0]",
            "expected exactly 4 bytes for bytes4, found 1",
        ),
        (
            fn_args("f(bytes b)", json!(["hello"])),
            "action.args[0]",
            "0x-prefixed hex",
        ),
        (
            fn_args("f(string s)", json!([5])),
            "action.args[0]",
            "expected a string",
        ),
        (
            fn_args(
                "f((uint256 amount, address to)[] legs)",
                json!([[{"amount": "1", "to": ALICE}, {"amount": "1", "to": "0x12"}]]),
            ),
            "action.args[0][1].to",
            "is not an address",
        ),
        (
            fn_args(
                "f((uint256 amount, address to) leg)",
                json!([{"amount": "1"}]),
            ),
            "action.args[0].to",
            "missing tuple component of type address",
        ),
        (
            fn_args(
                "f((uint256 amount, address to) leg)",
                json!([{"amount": "1", "to": ALICE, "memo": "x"}]),
            ),
            "action.args[0].memo",
            "unknown tuple component",
        ),
        (
            fn_args("f((uint256,address) leg)", json!([{"amount": "1"}])),
            "action.args[0]",
            "unnamed components",
        ),
        (
            fn_args(
                "f((uint256 a, (bool b, uint8 c)[] inner) x)",
                json!([["1", [[true, 1], [false, 256]]]]),
            ),
            "action.args[0][1][1][1]",
            "256 does not fit uint8",
        ),
        (
            fn_args("f(bool b)", json!(["yes"])),
            "action.args[0]",
            "expected a boolean",
        ),
        (
            fn_args("f(uint256[2] xs)", json!([["1"]])),
            "action.args[0]",
            "expected exactly 2 elements",
        ),
        (
            fn_args("f(address[] xs)", json!(["0x12"])),
            "action.args[0]",
            "expected an array",
        ),
        (
            j(
                time_base(),
                &[(
                    "/action/script",
                    s(json!({"url": "https://example.invalid/s.wasm"})),
                )],
            ),
            "action.script",
            "not both",
        ),
        (
            j(time_base(), &[("/action/args", None)]),
            "action.args",
            "give action.args or action.script",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/args", None),
                    ("/action/script", s(json!({"url": "ftp://x/s.wasm"}))),
                ],
            ),
            "action.script.url",
            "is not a script URL",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/args", None),
                    ("/action/script", s(json!({"url": "https://x/s.go"}))),
                ],
            ),
            "action.script.url",
            "WebAssembly",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/args", None),
                    (
                        "/action/script",
                        s(json!({"url": "https://x/s.wasm", "digest": "0x12"})),
                    ),
                ],
            ),
            "action.script.digest",
            "not a keccak-256 digest",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/args", None),
                    (
                        "/action/script",
                        s(json!({"url": "https://x/s.wasm", "fuel": 0})),
                    ),
                ],
            ),
            "action.script.fuel",
            "greater than 0",
        ),
        (
            j(time_base(), &[("/action/value", s(json!("-5")))]),
            "action.value",
            "negative",
        ),
        (
            j(time_base(), &[("/action/value", s(json!(0.5)))]),
            "action.value",
            "floating-point",
        ),
        (
            j(time_base(), &[("/action/gas_limit", s(json!(100)))]),
            "action.gas_limit",
            "between 21000 and 30000000",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/abi", s(abi2.clone())),
                    ("/action/function_name", s(json!("transfer"))),
                ],
            ),
            "action.abi",
            "not both",
        ),
        (
            j(
                time_base(),
                &[("/action/function", None), ("/action/abi", s(abi2.clone()))],
            ),
            "action.function_name",
            "required with action.abi",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/function", None),
                    ("/action/abi", s(json!("not json"))),
                    ("/action/function_name", s(json!("f"))),
                ],
            ),
            "action.abi",
            "is not valid JSON",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/function", None),
                    ("/action/abi", s(abi2.clone())),
                    ("/action/function_name", s(json!("transfer"))),
                    ("/action/args", s(json!(["1", "2", "3"]))),
                ],
            ),
            "action.function_name",
            "no overload of \"transfer\" takes 3 arguments",
        ),
        (
            j(
                time_base(),
                &[
                    ("/action/function", None),
                    ("/action/abi", s(abi2)),
                    ("/action/function_name", s(json!("mint"))),
                ],
            ),
            "action.function_name",
            "no function named \"mint\"",
        ),
        // ---- event ----
        (
            filter(json!({"from": "0x12"})),
            "trigger.filter.from",
            "\"0x12\" is not an address",
        ),
        (
            filter(json!({"value": "5"})),
            "trigger.filter.value",
            "parameter \"value\" is not indexed (use trigger.where)",
        ),
        (
            filter(json!({"amount": "5"})),
            "trigger.filter.amount",
            "Transfer has no parameter \"amount\"",
        ),
        (
            filter(json!({"topic0": "5"})),
            "trigger.filter.topic0",
            "event selector",
        ),
        (
            filter(json!({"topic3": "0x01"})),
            "trigger.filter.topic3",
            "declares no indexed parameter at topic 3",
        ),
        (
            filter(json!({"topic7": "0x01"})),
            "trigger.filter.topic7",
            "does not exist",
        ),
        (
            filter(json!({"from": ALICE, "1": ALICE})),
            "trigger.filter.from",
            "filters the same topic as trigger.filter.1",
        ),
        (
            filter(json!({"to": []})),
            "trigger.filter.to",
            "at least one value",
        ),
        (
            filter(json!({"to": [ALICE, "0x1"]})),
            "trigger.filter.to[1]",
            "is not an address",
        ),
        (
            wh(json!({"field": "from", "op": "greater_than", "value": "1"})),
            "trigger.where[0].field",
            "parameter \"from\" is indexed (use trigger.filter)",
        ),
        (
            wh(json!({"field": "amount", "op": "greater_than", "value": "1"})),
            "trigger.where[0].field",
            "has no parameter \"amount\"",
        ),
        (
            wh(json!({"field": "value", "op": "gt", "value": "1"})),
            "trigger.where[0].op",
            "unknown comparison \"gt\"",
        ),
        (
            wh(json!({"field": "value", "op": "between", "lower": "5", "upper": "1"})),
            "trigger.where[0].upper",
            "1 is below lower 5",
        ),
        (
            wh(json!({"field": "value", "op": "equals", "value": 2.5})),
            "trigger.where[0].value",
            "floating-point",
        ),
        (
            j(
                event_base(),
                &[
                    ("/trigger/event", s(json!("Note(string text, uint256 n)"))),
                    (
                        "/trigger/where",
                        s(json!([{"field": "text", "op": "equals", "value": "1"}])),
                    ),
                ],
            ),
            "trigger.where[0].field",
            "only integer fields can be compared",
        ),
        (
            j(event_base(), &[("/trigger/event", None)]),
            "trigger.event",
            "required",
        ),
        (
            j(event_base(), &[("/trigger/event", s(json!("Transfer")))]),
            "trigger.event",
            "is not an event signature",
        ),
        (
            j(
                event_base(),
                &[(
                    "/trigger/event",
                    s(json!("Transfer(address indexed from) anonymous")),
                )],
            ),
            "trigger.event",
            "anonymous",
        ),
        (
            j(event_base(), &[("/trigger/addresses", s(json!([TOKEN])))]),
            "trigger.addresses",
            "not both",
        ),
        (
            j(
                event_base(),
                &[
                    ("/trigger/address", None),
                    (
                        "/trigger/addresses",
                        s(json!([TOKEN, TOKEN.to_lowercase()])),
                    ),
                ],
            ),
            "trigger.addresses[1]",
            "listed twice",
        ),
        (
            j(event_base(), &[("/trigger/address", None)]),
            "trigger.address",
            "required",
        ),
        (
            j(event_base(), &[("/trigger/confirmations", s(json!(5000)))]),
            "trigger.confirmations",
            "at most 1000",
        ),
        (
            j(event_base(), &[("/trigger/chain_id", None)]),
            "trigger.chain_id",
            "required",
        ),
        (
            j(event_base(), &[("/trigger/every", s(json!("5m")))]),
            "trigger.every",
            "not used by an event trigger",
        ),
        (
            j(
                event_base(),
                &[
                    ("/trigger/event", None),
                    ("/trigger/abi", s(json!([]))),
                    ("/trigger/event_name", s(json!("Transfer"))),
                ],
            ),
            "trigger.event_name",
            "no event \"Transfer\" in the ABI",
        ),
        // ---- condition ----
        (
            cond(&[("/trigger/source", None)]),
            "trigger.source",
            "required",
        ),
        (
            cond(&[("/trigger/source/type", s(json!("ws")))]),
            "trigger.source.type",
            "unknown source type \"ws\"",
        ),
        (
            cond(&[("/trigger/source/url", s(json!("ftp://x/p")))]),
            "trigger.source.url",
            "is not an http:// or https:// URL",
        ),
        (
            cond(&[("/trigger/source/url", s(json!("https:///p")))]),
            "trigger.source.url",
            "has no host",
        ),
        (
            cond(&[("/trigger/source/json_path", s(json!("$.[")))]),
            "trigger.source.json_path",
            "not a valid JSONPath",
        ),
        (
            cond(&[("/trigger/source/headers", s(json!({"bad name": "x"})))]),
            "trigger.source.headers.bad name",
            "not a valid HTTP header name",
        ),
        (
            cond(&[("/trigger/source/chain_id", s(json!(1)))]),
            "trigger.source.chain_id",
            "not used by an http source",
        ),
        (
            cond(&[("/trigger/op", None)]),
            "trigger.op",
            "required: one of greater_than",
        ),
        (
            cond(&[("/trigger/op", s(json!("gt")))]),
            "trigger.op",
            "unknown comparison \"gt\"",
        ),
        (
            cond(&[
                ("/trigger/op", s(json!("between"))),
                ("/trigger/value", None),
                ("/trigger/lower", s(json!("1"))),
            ]),
            "trigger.upper",
            "required for between",
        ),
        (
            cond(&[
                ("/trigger/op", s(json!("between"))),
                ("/trigger/lower", s(json!("1"))),
                ("/trigger/upper", s(json!("2"))),
            ]),
            "trigger.value",
            "not used by between",
        ),
        (
            cond(&[("/trigger/lower", s(json!("1")))]),
            "trigger.lower",
            "only used by between",
        ),
        (
            cond(&[("/trigger/value", s(json!("abc")))]),
            "trigger.value",
            "expected a decimal number",
        ),
        (
            cond(&[("/trigger/value", s(json!(2500.5)))]),
            "trigger.value",
            "write exact decimals as strings",
        ),
        (
            cond(&[("/trigger/poll_interval", s(json!("10ms")))]),
            "trigger.poll_interval",
            "at least 100ms",
        ),
        (
            cond(&[("/trigger/mode", s(json!("level")))]),
            "trigger.mode.cooldown",
            "needs a cooldown",
        ),
        (
            cond(&[("/trigger/mode", s(json!({"mode": "level"})))]),
            "trigger.mode.cooldown",
            "required for level mode",
        ),
        (
            cond(&[("/trigger/mode", s(json!("sometimes")))]),
            "trigger.mode",
            "expected \"edge\"",
        ),
        (
            view(&[("/trigger/source/function", s(json!("poke(address a)")))]),
            "trigger.source.function",
            "declares no outputs",
        ),
        (
            view(&[("/trigger/source/output", s(json!(3)))]),
            "trigger.source.output",
            "output 3 does not exist",
        ),
        (
            view(&[(
                "/trigger/source/function",
                s(json!("name(address a) view returns (string)")),
            )]),
            "trigger.source.output",
            "only integer outputs",
        ),
        (
            view(&[("/trigger/source/args", s(json!(["0x12"])))]),
            "trigger.source.args[0]",
            "is not an address",
        ),
        (
            view(&[("/trigger/source/decimals", s(json!(80)))]),
            "trigger.source.decimals",
            "at most 77",
        ),
        (
            j(
                http_base(),
                &[(
                    "/trigger/source",
                    s(json!({"type": "price_feed", "chain_id": 31337})),
                )],
            ),
            "trigger.source.address",
            "required",
        ),
        // ---- TOML ----
        (toml("title = \"x\"\nowner = [\n"), "", "line"),
        (
            tt("[trigger]\nkind = \"time\"\nevry = \"5m\"\n"),
            "trigger.evry",
            "unknown field `evry`",
        ),
        (
            tt("[trigger]\nkind = \"time\"\nevery = \"5m\"\n")
                .1
                .replace("title = \"Valid title\"", "title = 5")
                .pipe_toml(),
            "title",
            "invalid type",
        ),
        (
            toml(&format!(
                "{TOML_HEAD}expires_at = 2027-01-01T00:00:00\n[trigger]\nkind = \"time\"\nevery = \"5m\"\n{TOML_ACTION}"
            )),
            "expires_at",
            "no time zone offset",
        ),
        (
            tt("[trigger]\nkind = \"time\"\ncron = \"0 0 *\"\n"),
            "trigger.cron",
            "expected 6 fields",
        ),
        (
            tt("[trigger]\nkind = \"time\"\nevery = \"5m\"\n")
                .1
                .replace("args = [\"5\"]", "args = [5.0]")
                .pipe_toml(),
            "action.args[0]",
            "floating-point",
        ),
        (
            tt(
                "[trigger]\nkind = \"condition\"\nop = \"greater_than\"\nvalue = 2500.5\nsource = { type = \"http\", url = \"http://127.0.0.1:9/\" }\n",
            ),
            "trigger.value",
            "write exact decimals as strings",
        ),
        // ---- original CreateJobData ----
        (
            leg(&[("/task_definition_id", s(json!(7)))]),
            "task_definition_id",
            "custom-script jobs",
        ),
        (
            leg(&[("/task_definition_id", s(json!(9)))]),
            "task_definition_id",
            "expected 1 to 7",
        ),
        (
            leg(&[("/time_interval", s(json!(0)))]),
            "time_interval",
            "at least 1 second",
        ),
        (leg(&[("/time_frame", None)]), "time_frame", "required"),
        (
            leg(&[("/time_frame", s(json!(-5)))]),
            "time_frame",
            "at least 1 second",
        ),
        (
            leg(&[("/job_title", s(json!("ab")))]),
            "job_title",
            "3 to 100 characters",
        ),
        (
            leg(&[("/user_address", s(json!("0xabc")))]),
            "user_address",
            "is not an address",
        ),
        (
            leg(&[("/job_id", s(json!("abc")))]),
            "job_id",
            "expected a job id",
        ),
        (
            leg(&[
                ("/schedule_type", s(json!("cron"))),
                ("/cron_expression", s(json!("0 0 *"))),
            ]),
            "cron_expression",
            "expected 6 fields",
        ),
        (
            leg(&[
                ("/schedule_type", s(json!("cron"))),
                ("/cron_expression", s(json!("0 0 9 * * *"))),
                ("/timezone", s(json!("Mars/Olympus"))),
            ]),
            "timezone",
            "unknown IANA time zone",
        ),
        (
            leg(&[
                ("/schedule_type", s(json!("specific"))),
                (
                    "/specific_schedule",
                    s(json!("2030-01-01T00:00:00Z, never")),
                ),
            ]),
            "specific_schedule[1]",
            "RFC 3339",
        ),
        (
            leg(&[("/schedule_type", s(json!("weekly")))]),
            "schedule_type",
            "expected interval, cron or specific",
        ),
        (
            leg(&[("/arguments", s(json!(["300"])))]),
            "arguments[0]",
            "300 does not fit uint8",
        ),
        (
            leg(&[("/target_function", s(json!("nope")))]),
            "target_function",
            "no function named \"nope\"",
        ),
        (leg(&[("/abi", None)]), "abi", "required"),
        (
            leg(&[("/target_chain_id", s(json!("abc")))]),
            "target_chain_id",
            "is not a chain id",
        ),
        (
            leg(&[("/target_contract_address", s(json!("0x12")))]),
            "target_contract_address",
            "is not an address",
        ),
        (
            leg(&[("/task_definition_id", s(json!(2)))]),
            "dynamic_arguments_script_url",
            "required for task_definition_id 2",
        ),
        (
            leg(&[
                ("/task_definition_id", s(json!(2))),
                (
                    "/dynamic_arguments_script_url",
                    s(json!("https://ipfs.io/ipfs/Qm/x.go")),
                ),
            ]),
            "dynamic_arguments_script_url",
            "WebAssembly",
        ),
        (
            leg(&[(
                "/dynamic_arguments_script_url",
                s(json!("https://x/s.wasm")),
            )]),
            "dynamic_arguments_script_url",
            "takes static arguments (use 2)",
        ),
        (
            leg(&[("/is_safe", s(json!(true)))]),
            "safe_address",
            "required when is_safe is true",
        ),
        (leg(&[("/foo", s(json!(1)))]), "foo", "unknown field `foo`"),
        (
            (
                Format::Json,
                json!([
                    legacy_base(),
                    patch(legacy_base(), &[("/job_title", s(json!("x")))])
                ])
                .to_string(),
            ),
            "[1].job_title",
            "3 to 100 characters",
        ),
        (
            lev(&[
                ("/event_filter_para_name", s(json!("value"))),
                ("/event_filter_value", s(json!("5"))),
            ]),
            "event_filter_para_name",
            "is not indexed",
        ),
        (
            lev(&[
                ("/event_filter_para_name", s(json!("to"))),
                ("/event_filter_value", s(json!("0x12"))),
            ]),
            "event_filter_value",
            "is not an address",
        ),
        (
            lev(&[("/event_filter_para_name", s(json!("to")))]),
            "event_filter_value",
            "required with event_filter_para_name",
        ),
        (
            lev(&[
                (
                    "/trigger_event",
                    s(json!("Transfer(address,address,uint256)")),
                ),
                ("/event_filter_para_name", s(json!("to"))),
                ("/event_filter_value", s(json!(ALICE))),
            ]),
            "event_filter_para_name",
            "has no parameter \"to\"",
        ),
        (
            lev(&[("/trigger_chain_id", None)]),
            "trigger_chain_id",
            "required",
        ),
        (
            lev(&[("/trigger_contract_address", s(json!("nope")))]),
            "trigger_contract_address",
            "is not an address",
        ),
        (
            lco(&[
                ("/lower_limit", s(json!(0))),
                ("/upper_limit", s(json!(2500))),
            ]),
            "lower_limit",
            "compares against lower_limit",
        ),
        (
            lco(&[
                ("/condition_type", s(json!("less_than"))),
                ("/upper_limit", s(json!(0))),
            ]),
            "upper_limit",
            "compares against upper_limit",
        ),
        (
            lco(&[("/condition_type", s(json!("gt")))]),
            "condition_type",
            "unknown comparison \"gt\"",
        ),
        (
            lco(&[("/value_source_type", s(json!("websocket")))]),
            "value_source_type",
            "not supported",
        ),
        (
            lco(&[("/selected_key_route", s(json!("a..b")))]),
            "selected_key_route",
            "empty segment",
        ),
        (
            lco(&[("/value_source_url", s(json!("nope")))]),
            "value_source_url",
            "is not an http",
        ),
        (
            lco(&[
                ("/condition_type", s(json!("between"))),
                ("/upper_limit", s(json!(1))),
            ]),
            "upper_limit",
            "is below lower",
        ),
    ]
}

trait Pipe {
    fn pipe_json(self) -> (Format, String);
    fn pipe_toml(self) -> (Format, String);
}

impl Pipe for String {
    fn pipe_json(self) -> (Format, String) {
        (Format::Json, self)
    }
    fn pipe_toml(self) -> (Format, String) {
        (Format::Toml, self)
    }
}

#[test]
fn every_invalid_spec_reports_its_field_and_reason() {
    let cases = cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, ((format, text), path, fragment)) in cases.iter().enumerate() {
        let result = parse_document(text, *format).and_then(|doc| validate_document(&doc, &ctx()));
        match result {
            Ok(_) => failures.push(format!(
                "case {i} ({path}): validated, expected an error containing {fragment:?}"
            )),
            Err(errs) => {
                let hit = errs
                    .0
                    .iter()
                    .any(|e| e.path == *path && e.message.contains(fragment));
                if !hit {
                    failures.push(format!(
                        "case {i}: expected `{path}: …{fragment}…`, got:\n    {}",
                        errs.to_string().replace('\n', "\n    ")
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn all_errors_are_collected_not_just_the_first() {
    let text = patch(
        time_base(),
        &[
            ("/title", s(json!("x"))),
            ("/owner", s(json!("0x12"))),
            ("/trigger/every", s(json!("5y"))),
            ("/action/function", s(json!("set(uint8 a, bool b)"))),
            ("/action/args", s(json!([300, "maybe"]))),
        ],
    )
    .to_string();
    let errs = parse_document(&text, Format::Json)
        .and_then(|d| validate_document(&d, &ctx()))
        .unwrap_err();
    let paths: Vec<&str> = errs.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "title",
            "owner",
            "trigger.every",
            "action.args[0]",
            "action.args[1]"
        ],
        "{errs}"
    );
}
