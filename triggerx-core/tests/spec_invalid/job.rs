//! Invalid specs: job level (JSON).

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
    ]
}
