//! Encoding checked against alloy's own (`sol!` calls and `DynSolValue::abi_encode_params`).

use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{Address, B256, I256, U256, address, b256, keccak256};
use alloy_sol_types::{SolCall, SolEvent, sol};
use serde_json::json;

use super::*;

sol! {
    struct Leg { uint256 amount; address to; }
    struct Order { uint64 id; Leg[] legs; bytes32 tag; }
    function scalars(uint8 a, uint256 b, int8 c, int256 d, bool e, address f, bytes4 g, bytes h, string s);
    function nested(Order o, Leg[2] pair, uint16[][] grid);
    function big(uint256 x, int256 y);
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Note(string indexed topic, uint256[] indexed ids, int128 delta, string text);
}

fn msgs(e: crate::ValidationErrors) -> Vec<String> {
    e.0.iter().map(ToString::to_string).collect()
}

const A: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");

#[test]
fn scalars_match_sol_macro() {
    let f = parse_function(
        "scalars(uint8 a, uint256 b, int8 c, int256 d, bool e, address f, bytes4 g, bytes h, string s)",
    )
    .unwrap();
    let args = [
        json!(255),
        json!("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
        json!(-128),
        json!("-57896044618658097711785492504343953926634992332820282019728792003956564819968"),
        json!(true),
        json!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
        json!("0xdeadbeef"),
        json!("0x0102"),
        json!("hello"),
    ];
    let ours = encode_call(&f, &args).unwrap();
    let theirs = scalarsCall {
        a: 255,
        b: U256::MAX,
        c: -128,
        d: I256::MIN,
        e: true,
        f: A,
        g: [0xde, 0xad, 0xbe, 0xef].into(),
        h: vec![1u8, 2].into(),
        s: "hello".into(),
    }
    .abi_encode();
    assert_eq!(ours.as_ref(), theirs.as_slice());
}

#[test]
fn nested_tuples_and_arrays_match_sol_macro() {
    let f = parse_function(
        "nested((uint64 id, (uint256 amount, address to)[] legs, bytes32 tag) o, (uint256 amount, address to)[2] pair, uint16[][] grid)",
    )
    .unwrap();
    let tag = "0x".to_owned() + &"ab".repeat(32);
    let args = [
        // an object keyed by component names, with a nested array of objects and arrays
        json!({"id": 7, "legs": [{"amount": "9007199254740993", "to": A.to_string()}, ["0x10", A.to_string()]], "tag": tag}),
        json!([["1", A.to_string()], {"to": A.to_string(), "amount": 2}]),
        json!([[1, 2], [], [65535]]),
    ];
    let ours = encode_call(&f, &args).unwrap();
    let leg = |amount: u64| Leg {
        amount: U256::from(amount),
        to: A,
    };
    let theirs = nestedCall {
        o: Order {
            id: 7,
            legs: vec![leg(9_007_199_254_740_993), leg(16)],
            tag: B256::repeat_byte(0xab),
        },
        pair: [leg(1), leg(2)],
        grid: vec![vec![1, 2], vec![], vec![65535]],
    }
    .abi_encode();
    assert_eq!(ours.as_ref(), theirs.as_slice());
}

#[test]
fn big_integers_beyond_2_pow_53_are_exact() {
    let f = parse_function("big(uint256 x, int256 y)").unwrap();
    let x: U256 = (U256::from(1u64) << 200) + U256::from(1u64);
    let ours = encode_call(&f, &[json!(x.to_string()), json!("-9007199254740993")]).unwrap();
    let theirs = bigCall {
        x,
        y: I256::try_from(-9_007_199_254_740_993i64).unwrap(),
    }
    .abi_encode();
    assert_eq!(ours.as_ref(), theirs.as_slice());
    // hex form, and the dyn encoder agrees
    let hex = encode_call(&f, &[json!(format!("{x:#x}")), json!("-0x20000000000001")]).unwrap();
    assert_eq!(hex, ours);
    let dynv = DynSolValue::Tuple(vec![
        DynSolValue::Uint(x, 256),
        DynSolValue::Int(I256::try_from(-9_007_199_254_740_993i64).unwrap(), 256),
    ]);
    assert_eq!(&ours[4..], dynv.abi_encode_params().as_slice());
}

#[test]
fn every_integer_width_is_range_checked() {
    for bits in (8usize..=256).step_by(8) {
        let uf = parse_function(&format!("f(uint{bits})")).unwrap();
        let max = if bits == 256 {
            U256::MAX
        } else {
            (U256::from(1u8) << bits) - U256::from(1u8)
        };
        encode_call(&uf, &[json!(max.to_string())]).unwrap();
        if bits < 256 {
            let over = (max + U256::from(1u8)).to_string();
            let e = msgs(encode_call(&uf, &[json!(over.clone())]).unwrap_err());
            assert_eq!(
                e,
                vec![format!(
                    "action.args[0]: {over} does not fit uint{bits} (max {max})"
                )]
            );
        }
        let inf = parse_function(&format!("g(int{bits})")).unwrap();
        let half = U256::from(1u8) << (bits - 1);
        encode_call(&inf, &[json!(format!("-{half}"))]).unwrap();
        encode_call(&inf, &[json!((half - U256::from(1u8)).to_string())]).unwrap();
        let e = msgs(encode_call(&inf, &[json!(half.to_string())]).unwrap_err());
        assert!(e[0].contains(&format!("does not fit int{bits}")), "{e:?}");
        let e =
            msgs(encode_call(&inf, &[json!(format!("-{}", half + U256::from(1u8)))]).unwrap_err());
        assert!(e[0].contains(&format!("does not fit int{bits}")), "{e:?}");
    }
}

#[test]
fn errors_carry_paths_and_reasons() {
    let f = parse_function("f(uint8 a, (uint256 amount, address to)[] legs, bytes2 b, bool c)")
        .unwrap();
    let e = msgs(
        encode_call(
            &f,
            &[
                json!(300),
                json!([{"amount": 1.5, "to": "0x12"}, {"amount": "1"}]),
                json!("0x01"),
                json!(1),
            ],
        )
        .unwrap_err(),
    );
    assert_eq!(e[0], "action.args[0]: 300 does not fit uint8 (max 255)");
    assert!(
        e[1].starts_with(
            "action.args[1][0].amount: 1.5 is a floating-point number, not an exact integer"
        ),
        "{e:?}"
    );
    assert!(e[1].contains("quote integers as strings"));
    assert!(
        e[2].starts_with("action.args[1][0].to: \"0x12\" is not an address"),
        "{e:?}"
    );
    assert_eq!(
        e[3],
        "action.args[1][1].to: missing tuple component of type address"
    );
    assert_eq!(
        e[4],
        "action.args[2]: expected exactly 2 bytes for bytes2, found 1"
    );
    assert!(e[5].starts_with("action.args[3]: expected a boolean"));
    assert_eq!(e.len(), 6);
    let e = msgs(encode_call(&f, &[json!(1)]).unwrap_err());
    assert_eq!(
        e,
        vec!["action.args: f(uint8,(uint256,address)[],bytes2,bool) takes 4 arguments, found 1"]
    );
}

#[test]
fn floats_and_lossy_integers_are_rejected() {
    let f = parse_function("f(uint256)").unwrap();
    // 2^64 parses as f64 in serde_json without arbitrary_precision
    let v: serde_json::Value = serde_json::from_str("[18446744073709551616]").unwrap();
    let v = v.as_array().unwrap().clone();
    if v[0].as_u64().is_none() {
        let e = msgs(encode_call(&f, &v).unwrap_err());
        assert!(e[0].contains("quote integers as strings"), "{e:?}");
    }
    assert!(encode_call(&f, &[json!(1.0)]).is_err());
    assert!(
        encode_call(&f, &[json!(-1)])
            .unwrap_err()
            .to_string()
            .contains("negative")
    );
    assert!(encode_call(&f, &[json!("12a")]).is_err());
    assert!(encode_call(&f, &[json!("")]).is_err());
}

#[test]
fn addresses_check_the_checksum_when_mixed_case() {
    assert!(parse_address("0x5fbdb2315678afecb367f032d93f642f64180aa3").is_ok());
    assert!(parse_address("0x5FbDB2315678afecb367f032d93F642f64180aa3").is_ok());
    let e = parse_address("0x5FbDB2315678afecb367f032d93F642f64180aA3").unwrap_err();
    assert!(e.contains("checksum"), "{e}");
    assert!(
        parse_address("0x12")
            .unwrap_err()
            .contains("is not an address")
    );
}

#[test]
fn topics_match_solidity() {
    let ev =
        parse_event("Transfer(address indexed from, address indexed to, uint256 value)").unwrap();
    assert_eq!(ev.selector(), Transfer::SIGNATURE_HASH);
    let t = encode_topic(&ev.inputs[1], &json!(A.to_string()), "trigger.filter.to").unwrap();
    assert_eq!(t, A.into_word());
    assert_eq!(indexed_position(&ev, 0), Some(1));
    assert_eq!(indexed_position(&ev, 1), Some(2));
    assert_eq!(indexed_position(&ev, 2), None);
    // raw words pass through
    let w = b256!("0x000000000000000000000000000000000000000000000000000000000000002a");
    assert_eq!(
        encode_topic(&ev.inputs[0], &json!(w.to_string()), "p").unwrap(),
        w
    );

    let note =
        parse_event("Note(string indexed topic, uint256[] indexed ids, int128 delta, string text)")
            .unwrap();
    assert_eq!(note.selector(), Note::SIGNATURE_HASH);
    assert_eq!(
        encode_topic(&note.inputs[0], &json!("hi"), "p").unwrap(),
        keccak256("hi")
    );
    let ids = encode_topic(&note.inputs[1], &json!([1, "2"]), "p").unwrap();
    let mut pre = [0u8; 64];
    pre[31] = 1;
    pre[63] = 2;
    assert_eq!(ids, keccak256(pre));
}

#[test]
fn decodes_log_data() {
    let note =
        parse_event("Note(string indexed topic, uint256[] indexed ids, int128 delta, string text)")
            .unwrap();
    let log = Note {
        topic: keccak256("x"),
        ids: keccak256("y"),
        delta: -5,
        text: "hey".into(),
    };
    let data = log.encode_data();
    let vals = decode_log_data(&note, &data).unwrap();
    assert_eq!(vals.len(), 2);
    assert_eq!(to_decimal(&vals[0]).unwrap().to_string(), "-5");
    assert_eq!(vals[1].as_str(), Some("hey"));
}

#[test]
fn abi_json_selection() {
    let abi = load_abi(&json!(r#"[
        {"type":"function","name":"transfer","inputs":[{"name":"to","type":"address","internalType":"address"},{"name":"amount","type":"uint256","internalType":"uint256"}],"outputs":[{"name":"","type":"bool"}],"stateMutability":"nonpayable"},
        {"type":"function","name":"transfer","inputs":[{"name":"to","type":"address"}],"outputs":[],"stateMutability":"nonpayable"},
        {"type":"event","name":"Transfer","inputs":[{"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},{"name":"value","type":"uint256","indexed":false}],"anonymous":false}
    ]"#)).unwrap();
    let e = select_function(&abi, "transfer", None).unwrap_err();
    assert!(e.contains("overloaded"), "{e}");
    let two = select_function(&abi, "transfer", Some(2)).unwrap();
    assert_eq!(two.signature(), "transfer(address,uint256)");
    assert_eq!(
        two,
        parse_function("transfer(address to, uint256 amount) returns (bool)").unwrap()
    );
    assert_eq!(
        select_function(&abi, "transfer(address)", None)
            .unwrap()
            .inputs
            .len(),
        1
    );
    assert!(
        select_function(&abi, "transfer", Some(3))
            .unwrap_err()
            .contains("no overload")
    );
    assert!(
        select_function(&abi, "mint", None)
            .unwrap_err()
            .contains("no function named \"mint\"")
    );
    let ev = select_event(&abi, "Transfer").unwrap();
    assert_eq!(
        ev,
        parse_event("Transfer(address indexed from, address indexed to, uint256 value)").unwrap()
    );
    assert!(load_abi(&json!("not json")).is_err());
    assert!(load_abi(&json!({"abi": abi_items()})).is_ok());
}

fn abi_items() -> serde_json::Value {
    json!([{"type":"function","name":"x","inputs":[],"outputs":[],"stateMutability":"view"}])
}

#[test]
fn signatures_display_and_reparse() {
    for sig in [
        "balanceOf(address owner) view returns (uint256)",
        "f((uint256,address)[] xs) returns (uint256)",
        "incrementBy(uint256 amount)",
    ] {
        let f = parse_function(sig).unwrap();
        assert_eq!(parse_function(&display_function(&f)).unwrap(), f, "{sig}");
    }
    let e =
        parse_event("Transfer(address indexed from, address indexed to, uint256 value)").unwrap();
    assert_eq!(parse_event(&display_event(&e)).unwrap(), e);
    assert!(
        parse_function("incrementBy")
            .unwrap_err()
            .contains("not a function signature")
    );
    assert!(
        parse_function("f(uint257)").is_err()
            || encode_call(&parse_function("f(uint257)").unwrap(), &[json!(1)]).is_err()
    );
}

#[test]
fn every_fixed_bytes_width_is_left_aligned_and_exact() {
    for n in 1usize..=32 {
        let f = parse_function(&format!("f(bytes{n})")).unwrap();
        let arg = format!("0x{}", "ab".repeat(n));
        let ours = encode_call(&f, &[json!(arg)]).unwrap();
        let mut word = [0u8; 32];
        word[..n].fill(0xab);
        assert_eq!(&ours[4..], &word, "bytes{n}");
        let dynv = DynSolValue::Tuple(vec![DynSolValue::FixedBytes(B256::from(word), n)]);
        assert_eq!(&ours[4..], dynv.abi_encode_params().as_slice());
        let short = format!("0x{}", "ab".repeat(n - 1));
        assert!(
            encode_call(&f, &[json!(short)]).is_err(),
            "bytes{n} accepted {} bytes",
            n - 1
        );
    }
}
