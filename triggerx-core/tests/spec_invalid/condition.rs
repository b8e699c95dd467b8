//! Invalid specs: condition.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
    ]
}
