//! Valid specs: every example validates, JSON and TOML twins agree, the normalized spec
//! round-trips, and derived ids are stable.

use std::path::{Path, PathBuf};

use alloy_primitives::{U256, address};
use triggerx_core::{
    Timestamp,
    spec::{
        self, Document, Format, ValidationContext, parse_document, to_spec, validate,
        validate_document,
    },
    types::{Arguments, Comparison, Job, Schedule, Trigger, ValueSource},
};

fn ctx() -> ValidationContext {
    ValidationContext::new("2026-12-03T12:00:00Z".parse::<Timestamp>().unwrap())
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jobs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "toml")
            )
        })
        .collect();
    files.sort();
    files
}

fn jobs(path: &Path) -> Vec<Job> {
    spec::validate_file(path, &ctx()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_example_validates() {
    let files = examples();
    assert!(
        files.len() >= 15,
        "expected the example set, found {files:?}"
    );
    let mut kinds = std::collections::BTreeSet::new();
    for f in &files {
        for job in jobs(f) {
            kinds.insert(job.kind().as_str());
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["condition", "event", "time"]
    );
}

#[test]
fn json_and_toml_twins_give_the_same_job() {
    let mut pairs = 0;
    for f in examples()
        .into_iter()
        .filter(|p| p.extension().unwrap() == "toml")
    {
        let twin = f.with_extension("json");
        if twin.exists() {
            assert_eq!(jobs(&f), jobs(&twin), "{}", f.display());
            pairs += 1;
        }
    }
    assert!(pairs >= 7);
}

#[test]
fn normalized_spec_round_trips() {
    for f in examples() {
        for job in jobs(&f) {
            let normalized = to_spec(&job);
            let again =
                validate(&normalized, &ctx()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert_eq!(again, job, "{}", f.display());
            // and through text, both formats
            let json = serde_json::to_string_pretty(&normalized).unwrap();
            let from_json = match parse_document(&json, Format::Json).unwrap() {
                Document::Native(s) => validate(&s, &ctx()).unwrap(),
                Document::Legacy(_) => panic!("normalized spec read as legacy"),
            };
            assert_eq!(from_json, job, "{}", f.display());
            let toml_text = toml::to_string(&normalized).unwrap();
            let doc = parse_document(&toml_text, Format::Toml)
                .unwrap_or_else(|e| panic!("{}: {e}\n{toml_text}", f.display()));
            assert_eq!(
                validate_document(&doc, &ctx()).unwrap(),
                vec![job.clone()],
                "{}",
                f.display()
            );
        }
    }
}

#[test]
fn derived_ids_are_deterministic_and_content_based() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jobs/interval.toml");
    let a = jobs(&f).remove(0);
    let later = ValidationContext::new("2026-12-04T00:00:00Z".parse().unwrap());
    let b = spec::validate_file(&f, &later).unwrap().remove(0);
    assert_eq!(
        a.id, b.id,
        "expires_in counts from now, but the id must not depend on when it was validated"
    );
    assert_ne!(a.expires_at, b.expires_at);
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("args = [\"5\"]", "args = [\"6\"]");
    let c = validate_document(&parse_document(&text, Format::Toml).unwrap(), &ctx())
        .unwrap()
        .remove(0);
    assert_ne!(a.id, c.id);
}

#[test]
fn examples_carry_the_expected_typed_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jobs");
    let cron = jobs(&dir.join("cron-berlin.toml")).remove(0);
    assert_eq!(cron.id.to_string(), "1001");
    match &cron.trigger {
        Trigger::Time(t) => assert_eq!(
            t.schedule,
            Schedule::Cron {
                expression: "0 30 9 * * Mon-Fri".into(),
                timezone: "Europe/Berlin".into()
            }
        ),
        other => panic!("{other:?}"),
    }
    match &cron.action.arguments {
        Arguments::Static { calldata, .. } => {
            // mint(address,uint256) with 1000e18: exact beyond 2^53
            assert_eq!(&calldata[..4], &[0x40, 0xc1, 0x0f, 0x19]);
            assert_eq!(
                U256::from_be_slice(&calldata[36..68]),
                U256::from(10u64).pow(U256::from(21u64))
            );
        }
        other => panic!("{other:?}"),
    }
    let ev = jobs(&dir.join("event-transfer.json")).remove(0);
    match &ev.trigger {
        Trigger::Event(e) => {
            assert_eq!(e.topics.len(), 1);
            assert_eq!(e.topics[0].position, 2);
            assert_eq!(
                e.topics[0].any_of[0],
                address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").into_word()
            );
            assert_eq!(e.conditions[0].data_index, 0);
            assert_eq!(
                e.conditions[0].comparison,
                Comparison::GreaterThan {
                    value: "1000".parse().unwrap()
                }
            );
            assert_eq!(e.confirmations, 2);
        }
        other => panic!("{other:?}"),
    }
    let legacy = jobs(&dir.join("original-createjobdata.json"));
    assert_eq!(legacy.len(), 3);
    assert_eq!(legacy[0].expires_at, Some(ctx().now.add_millis(86_400_000)));
    match &legacy[2].trigger {
        Trigger::Condition(c) => {
            // greater_than compares against lower_limit, as the original scheduler did
            assert_eq!(
                c.comparison,
                Comparison::GreaterThan {
                    value: "2500.5".parse().unwrap()
                }
            );
            match &c.source {
                ValueSource::Http { json_path, .. } => {
                    assert_eq!(json_path.as_deref(), Some("$.data.prices[0].usd"))
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_key_routes_become_json_paths() {
    use triggerx_core::spec::legacy::key_route_to_json_path as k;
    assert_eq!(k("price").unwrap(), "$.price");
    assert_eq!(k("data.0.usd").unwrap(), "$.data[0].usd");
    assert_eq!(k("a.b-c").unwrap(), "$.a['b-c']");
    assert_eq!(k("$.x[1]").unwrap(), "$.x[1]");
    for p in ["$.price", "$.data[0].usd", "$.a['b-c']"] {
        serde_json_path::JsonPath::parse(p).unwrap();
    }
}

fn legacy_job(v: serde_json::Value) -> Job {
    let doc = parse_document(&v.to_string(), Format::Json).unwrap();
    validate_document(&doc, &ctx())
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

#[test]
fn legacy_topic_filters_and_argument_conversions() {
    let alice = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let abi = r#"[{"type":"function","name":"f","inputs":[{"name":"xs","type":"uint256[]"},{"name":"ok","type":"bool"},{"name":"memo","type":"bytes"}],"outputs":[],"stateMutability":"nonpayable"}]"#;
    let base = serde_json::json!({
        "job_id": "7", "user_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "job_title": "Legacy event",
        "task_definition_id": 3, "time_frame": 60, "recurring": true,
        "trigger_chain_id": "31337", "trigger_contract_address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "trigger_event": "Transfer(address,address,uint256)",
        "event_filter_para_name": "topic2", "event_filter_value": alice.to_string(),
        "target_chain_id": "31337", "target_contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "target_function": "f", "abi": abi, "arguments": ["[1, \"2\"]", "1", "hi"]
    });
    let job = legacy_job(base.clone());
    assert!(job.recurring);
    match &job.trigger {
        Trigger::Event(e) => {
            // the original's positional filter, with the address padded to the topic word
            assert_eq!(e.topics.len(), 1);
            assert_eq!(e.topics[0].position, 2);
            assert_eq!(e.topics[0].any_of, vec![alice.into_word()]);
            assert_eq!(e.confirmations, 0);
        }
        other => panic!("{other:?}"),
    }
    match &job.action.arguments {
        Arguments::Static { calldata, .. } => {
            use alloy_sol_types::{SolCall, sol};
            sol! { function f(uint256[] xs, bool ok, bytes memo); }
            let expected = fCall {
                xs: vec![U256::from(1), U256::from(2)],
                ok: true,
                memo: b"hi".to_vec().into(),
            }
            .abi_encode();
            assert_eq!(calldata.as_ref(), expected.as_slice());
        }
        other => panic!("{other:?}"),
    }
    // the same filter by parameter name, with a full signature
    let mut named = base;
    named["trigger_event"] =
        "Transfer(address indexed from, address indexed to, uint256 value)".into();
    named["event_filter_para_name"] = "to".into();
    let by_name = legacy_job(named);
    assert_eq!(by_name.trigger, job.trigger.with_event_of(&by_name.trigger));
}

trait SameFilter {
    fn with_event_of(self, other: &Trigger) -> Trigger;
}

impl SameFilter for Trigger {
    /// This trigger with `other`'s event ABI item and filter names (to compare the topic words only).
    fn with_event_of(self, other: &Trigger) -> Trigger {
        match (self, other) {
            (Trigger::Event(mut a), Trigger::Event(b)) => {
                a.event = b.event.clone();
                for (fa, fb) in a.topics.iter_mut().zip(&b.topics) {
                    fa.name = fb.name.clone();
                }
                Trigger::Event(a)
            }
            (t, _) => t,
        }
    }
}

#[test]
fn legacy_cron_and_specific_schedules_are_honoured() {
    let base = serde_json::json!({
        "job_id": "9", "user_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "job_title": "Legacy cron",
        "task_definition_id": 1, "time_frame": 86400 * 400, "schedule_type": "cron",
        "cron_expression": "0 0 9 * * *", "timezone": "America/New_York",
        "target_chain_id": "31337", "target_contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "target_function": "increment", "abi": [{"type":"function","name":"increment","inputs":[],"outputs":[],"stateMutability":"nonpayable"}],
        "arguments": []
    });
    match legacy_job(base.clone()).trigger {
        Trigger::Time(t) => assert_eq!(
            t.schedule,
            Schedule::Cron {
                expression: "0 0 9 * * *".into(),
                timezone: "America/New_York".into()
            }
        ),
        other => panic!("{other:?}"),
    }
    let mut specific = base;
    specific["schedule_type"] = "specific".into();
    specific["specific_schedule"] = "2027-06-01T00:00:00Z, 1798761600".into();
    match legacy_job(specific).trigger {
        Trigger::Time(t) => assert_eq!(
            t.schedule,
            // sorted: 1798761600 is 2027-01-01
            Schedule::At {
                instants: vec![
                    Timestamp::from_secs(1_798_761_600),
                    "2027-06-01T00:00:00Z".parse().unwrap()
                ]
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn indexed_string_filters_hash_like_solidity() {
    let text = r#"{
        "title": "Named event", "owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "trigger": {"kind": "event", "chain_id": 31337,
                    "addresses": ["0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "0x5FbDB2315678afecb367f032d93F642f64180aa3"],
                    "event": "Registered(string indexed name, address indexed who, uint64 at)",
                    "filter": {"name": "alice", "2": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}},
        "action": {"chain_id": 31337, "target": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "function": "increment()"}
    }"#;
    let doc = parse_document(text, Format::Json).unwrap();
    let job = validate_document(&doc, &ctx()).unwrap().remove(0);
    match &job.trigger {
        Trigger::Event(e) => {
            assert_eq!(e.addresses.len(), 2);
            assert_eq!(
                e.topics[0].any_of,
                vec![alloy_primitives::keccak256("alice")]
            );
            assert_eq!(
                (e.topics[1].position, e.topics[1].name.as_str()),
                (2, "who")
            );
            assert_eq!(
                e.topic0(),
                alloy_primitives::keccak256("Registered(string,address,uint64)")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(validate(&to_spec(&job), &ctx()).unwrap(), job);
}
