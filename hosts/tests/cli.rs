//! The `triggerx` binary: exit codes and output for good and bad files, and the service
//! configuration commands and service help.

use std::{path::PathBuf, process::Command};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_triggerx"))
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/jobs")
        .join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_with_env(args, &[])
}

/// Runs the binary with `args` and the environment variables `env` added.
fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run triggerx");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn valid_files_print_the_normalized_job_and_exit_0() {
    let a = example("interval.toml");
    let b = example("original-createjobdata.json");
    let (code, out, err) = run(&["job", "validate", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(err.is_empty(), "{err}");
    assert!(out.contains(&format!("{}: ok", a.display())), "{out}");
    assert!(out.contains("trigger     time: every 5m"), "{out}");
    assert!(
        out.contains(
            "calldata    0x03df179c0000000000000000000000000000000000000000000000000000000000000005"
        ),
        "{out}"
    );
    assert_eq!(
        out.matches(&format!("{}: ok", b.display())).count(),
        3,
        "{out}"
    );
}

#[test]
fn json_output_is_one_document_per_job() {
    let f = example("event-transfer.toml");
    let (code, out, _) = run(&["job", "validate", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1);
    let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(doc["spec"]["trigger"]["kind"], "event");
    assert_eq!(
        doc["spec"]["trigger"]["event"],
        "Transfer(address indexed from, address indexed to, uint256 value)"
    );
    assert_eq!(doc["job"]["trigger"]["confirmations"], 2);
    assert_eq!(doc["file"], f.display().to_string());
}

#[test]
fn invalid_files_print_every_error_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"title = "x"
owner = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
[trigger]
kind = "time"
cron = "0 0 *"
[action]
chain_id = 31337
target = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
function = "set(uint8 v, address a)"
args = [300, "0x12"]
"#,
    )
    .unwrap();
    let good = example("interval.json");
    let (code, out, err) = run(&[
        "job",
        "validate",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains(&format!("{}: ok", good.display())));
    let b = bad.display();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{b}: title: must be 3 to 100 characters, found 1"),
            format!(
                "{b}: trigger.cron: expected 6 fields (second minute hour day-of-month month day-of-week), found 3"
            ),
            format!("{b}: action.args[0]: 300 does not fit uint8 (max 255)"),
            format!(
                "{b}: action.args[1]: \"0x12\" is not an address (expected 0x followed by 40 hex digits)"
            ),
        ],
        "{err}"
    );
}

#[test]
fn unreadable_files_and_usage_errors_exit_2() {
    let (code, _, err) = run(&["job", "validate", "/nonexistent/job.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/job.toml: cannot read"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("job.yaml");
    std::fs::write(&yaml, "title: x").unwrap();
    let (code, _, err) = run(&["job", "validate", yaml.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("unsupported file type"), "{err}");
    let (code, _, _) = run(&["job", "validate"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&["job", "frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn help_explains_itself() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("keeper network"), "{out}");
    assert!(out.contains("job"), "{out}");
    let (code, out, _) = run(&["job", "validate", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("CreateJobData"), "{out}");
    assert!(out.contains("--json"), "{out}");
}

#[test]
fn next_lists_fire_instants_in_utc_and_the_job_zone() {
    let interval = example("interval.toml");
    let (code, out, err) = run(&[
        "job",
        "next",
        interval.to_str().unwrap(),
        "--from",
        "2026-12-03T10:00:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "2026-12-03T10:05:00Z",
            "2026-12-03T10:10:00Z",
            "2026-12-03T10:15:00Z"
        ]
    );
    // Across the fall-back change: 09:30 Berlin is 07:30 UTC in summer time, 08:30 in winter.
    let cron = example("cron-berlin.toml");
    let (code, out, err) = run(&[
        "job",
        "next",
        cron.to_str().unwrap(),
        "--from",
        "2026-10-22T00:00:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("2026-10-22T07:30:00Z  2026-10-22 09:30:00 CEST"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("2026-10-23T07:30:00Z  2026-10-23 09:30:00 CEST"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("2026-10-26T08:30:00Z  2026-10-26 09:30:00 CET"),
        "{out}"
    );
}

#[test]
fn next_refuses_non_time_jobs_and_bad_instants() {
    let event = example("event-transfer.toml");
    let (code, _, err) = run(&["job", "next", event.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("time jobs only"), "{err}");
    let interval = example("interval.toml");
    let (code, _, err) = run(&[
        "job",
        "next",
        interval.to_str().unwrap(),
        "--from",
        "yesterday",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn explain_says_what_each_kind_watches() {
    let (code, out, err) = run(&[
        "job",
        "explain",
        example("event-transfer.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("topic0 (the event selector) must be 0xddf252ad"),
        "{out}"
    );
    assert!(out.contains("topic2 (indexed parameter \"to\")"), "{out}");
    assert!(out.contains("confirmation(s)"), "{out}");
    let (code, out, _) = run(&[
        "job",
        "explain",
        example("condition-http.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("HTTP GET of"), "{out}");
    assert!(out.contains("compared exactly as a decimal"), "{out}");
    let (code, out, _) = run(&[
        "job",
        "explain",
        example("cron-berlin.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("Next fires:"), "{out}");
}

#[test]
fn config_commands_and_service_help_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let (code, example, _) = run_with_env(&["config", "example"], &[]);
    assert_eq!(code, 0);
    let file = dir.path().join("node.toml");
    std::fs::write(&file, &example).unwrap();
    let file = file.to_str().unwrap();

    // The example is valid and shows the defaults; overrides show in the effective values,
    // secrets do not.
    let key = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let (code, out, err) = run_with_env(
        &["config", "check", file],
        &[
            ("TRIGGERX__KEEPER__KEY", key),
            ("TRIGGERX__SCHEDULER__EXECUTION_TIMEOUT", "45s"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("execution_timeout = \"45s\""), "{out}");
    assert!(
        out.contains("key = \"<redacted>\"") && !out.contains(key),
        "{out}"
    );

    // What a service needs is checked; the message names the field and its variable.
    let (code, _, err) = run_with_env(&["config", "check", file, "--service", "keeper"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("chain.keeper_registry") && err.contains("TRIGGERX__CHAIN__KEEPER_REGISTRY"),
        "{err}"
    );
    let (code, _, err) = run_with_env(
        &["config", "check", file],
        &[("TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS", "some")],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS"),
        "{err}"
    );

    // A service refuses an incomplete configuration at once (exit 2), before any network.
    let (code, _, err) = run_with_env(&["keeper", "--config", file], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("TRIGGERX__CHAIN__KEEPER_REGISTRY"), "{err}");
    std::fs::write(dir.path().join("bad.toml"), "[keeper]\nkey_fil = \"/k\"\n").unwrap();
    let bad = dir.path().join("bad.toml");
    let (code, _, err) = run_with_env(&["health", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("keeper.key_fil"), "{err}");

    // --help says what the service does, what it needs and how the environment overrides.
    for (service, needs) in [
        ("keeper", "keeper_registry"),
        ("scheduler", "task_hub"),
        ("aggregator", "submitVerdict"),
        ("registrar", "job_registry"),
        ("health", "alert"),
    ] {
        let (code, out, _) = run_with_env(&[service, "--help"], &[]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Needs:") && out.contains(needs),
            "{service}: {out}"
        );
        assert!(
            out.contains("TRIGGERX__<SECTION>__<FIELD>"),
            "{service}: {out}"
        );
        assert!(
            out.contains("/metrics") && out.contains("SIGTERM"),
            "{service}: {out}"
        );
    }
}
