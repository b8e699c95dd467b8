//! Invalid specs: action.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
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
                    ("/action/abi", s(abi2())),
                    ("/action/function_name", s(json!("transfer"))),
                ],
            ),
            "action.abi",
            "not both",
        ),
        (
            j(
                time_base(),
                &[("/action/function", None), ("/action/abi", s(abi2()))],
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
                    ("/action/abi", s(abi2())),
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
                    ("/action/abi", s(abi2())),
                    ("/action/function_name", s(json!("mint"))),
                ],
            ),
            "action.function_name",
            "no function named \"mint\"",
        ),
    ]
}
