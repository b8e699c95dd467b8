//! Table-driven: invalid specs in JSON, TOML and the original format, each with the exact field
//! path and a fragment of the reason.
//!
//! The cases live in one module per part of the spec; this file holds the shared builders and
//! the tests that run them.

mod action;
mod condition;
mod event;
mod job;
mod original;
mod time;
mod toml;

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

type Case = ((Format, String), &'static str, &'static str);

fn at(v: Value) -> (Format, String) {
    j(
        time_base(),
        &[("/trigger/every", None), ("/trigger/at", s(v))],
    )
}

fn cron(c: &str, tz: Option<&str>) -> (Format, String) {
    let mut edits = vec![("/trigger/every", None), ("/trigger/cron", s(json!(c)))];
    if let Some(tz) = tz {
        edits.push(("/trigger/timezone", s(json!(tz))));
    }
    j(time_base(), &edits)
}

fn filter(f: Value) -> (Format, String) {
    j(event_base(), &[("/trigger/filter", s(f))])
}

fn wh(w: Value) -> (Format, String) {
    j(event_base(), &[("/trigger/where", s(json!([w])))])
}

fn cond(edits: &[(&str, Option<Value>)]) -> (Format, String) {
    j(http_base(), edits)
}

fn view(edits: &[(&str, Option<Value>)]) -> (Format, String) {
    j(view_base(), edits)
}

fn leg(edits: &[(&str, Option<Value>)]) -> (Format, String) {
    j(legacy_base(), edits)
}

fn lev(edits: &[(&str, Option<Value>)]) -> (Format, String) {
    j(legacy_event(), edits)
}

fn lco(edits: &[(&str, Option<Value>)]) -> (Format, String) {
    j(legacy_condition(), edits)
}

/// Two overloads of `transfer`, for the ABI-selection cases.
fn abi2() -> Value {
    json!(
        r#"[{"type":"function","name":"transfer","inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"},
                         {"type":"function","name":"transfer","inputs":[{"name":"to","type":"address"}],"outputs":[],"stateMutability":"nonpayable"}]"#
    )
}

fn cases() -> Vec<Case> {
    [
        job::cases(),
        time::cases(),
        action::cases(),
        event::cases(),
        condition::cases(),
        toml::cases(),
        original::cases(),
    ]
    .concat()
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
