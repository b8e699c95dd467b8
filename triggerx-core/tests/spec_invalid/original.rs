//! Invalid specs: original CreateJobData.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
