//! Invalid specs: time.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
    ]
}
