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
