//! Invalid specs: event.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
    ]
}
