//! `triggerx devnet --demo` end to end: the built binary runs the whole network on anvil for a
//! bounded time; the summary and the chain itself must show every demo job executed and
//! accepted, no task executed twice, the event job firing only on matching transfers and the
//! condition job firing on each upward price crossing. A second run on the same data directory
//! and chain resumes the same jobs; a run on a new chain refuses the data directory.

use std::{
    collections::HashSet,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use alloy::primitives::{Address, B256};
use serde_json::Value;
use triggerx_core::chain::{
    anvil::{Anvil, AnvilOptions},
    contracts::{Counter, KeeperRegistry, TaskHub},
};

/// Runs `triggerx devnet` with `args`; returns (exit success, stdout, stderr).
fn devnet(args: &[&str]) -> (bool, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .arg("devnet")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn triggerx");
    let pid = child.id();
    // A safety net only: the run ends by itself after --exit-after and the drain.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(240));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().expect("wait for triggerx");
    drop(watchdog);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_summary(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary written")).expect("summary JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn tasks_of<'a>(summary: &'a Value, job: &str) -> Vec<&'a Value> {
    summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job_id"] == job)
        .collect()
}

fn job_id(summary: &Value, title_prefix: &str) -> String {
    summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| s(j, "title").starts_with(title_prefix))
        .map(|j| s(j, "id").to_owned())
        .unwrap_or_else(|| panic!("no job {title_prefix}: {}", summary["jobs"]))
}

/// The checks on one summary. Returns the number of accepted tasks.
fn check_demo(summary: &Value) -> usize {
    let tasks = summary["tasks"].as_array().unwrap();
    let ctx = || serde_json::to_string_pretty(summary).unwrap();
    assert_eq!(summary["jobs"].as_array().unwrap().len(), 4, "{}", ctx());

    // Every task executed once and was accepted, in the store and in the registry's logs.
    for t in tasks {
        assert_eq!(t["status"], "accepted", "task not accepted: {t}");
        assert!(t["execution"]["tx_hash"].is_string(), "no execution: {t}");
        assert_eq!(
            t["settlement"]["accepted"], true,
            "no accepting settlement log: {t}"
        );
        assert_eq!(t["executed_on_chain"], true, "{t}");
        assert_eq!(t["settlement_on_chain"], 1, "{t}");
        let (eb, sb) = (
            t["execution"]["block"].as_u64().unwrap(),
            t["settlement"]["block"].as_u64().unwrap(),
        );
        assert!(sb >= eb, "settled before executed: {t}");
        assert!(
            t["latency_blocks"].is_i64() && t["latency_ms"].is_i64(),
            "{t}"
        );
    }
    let unique = |key: &dyn Fn(&Value) -> String, what: &str| {
        let all: Vec<_> = tasks.iter().map(key).collect();
        let set: HashSet<_> = all.iter().collect();
        assert_eq!(set.len(), all.len(), "duplicate {what}: {}", ctx());
    };
    unique(&|t| s(t, "id").to_owned(), "task ids");
    unique(
        &|t| t["execution"]["tx_hash"].to_string(),
        "execution tx hashes",
    );
    unique(
        &|t| t["settlement"]["tx_hash"].to_string(),
        "settlement tx hashes",
    );
    // One task per occurrence: per job, one per due instant / log / sample.
    unique(
        &|t| format!("{} {}", s(t, "job_id"), t["trigger"]),
        "occurrences",
    );

    // Time jobs fired.
    for title in ["demo: every 5 s", "demo: cron"] {
        let id = job_id(summary, title);
        assert!(
            !tasks_of(summary, &id).is_empty(),
            "{title} never fired: {}",
            ctx()
        );
    }

    // The event job fired exactly on the transfers to the watched address.
    let driver = summary["driver"].as_array().unwrap();
    let mints = |matching: bool| -> HashSet<String> {
        driver
            .iter()
            .filter(|d| d["kind"] == "mint" && d["matching"] == matching)
            .map(|d| s(d, "tx_hash").to_owned())
            .collect()
    };
    let (matching, other) = (mints(true), mints(false));
    assert!(!matching.is_empty() && !other.is_empty(), "{}", ctx());
    let event_job = job_id(summary, "demo: DemoToken Transfer");
    let fired: HashSet<String> = tasks_of(summary, &event_job)
        .iter()
        .map(|t| s(&t["trigger"], "tx_hash").to_owned())
        .collect();
    assert_eq!(
        fired,
        matching,
        "event tasks ≠ matching transfers: {}",
        ctx()
    );
    assert!(fired.is_disjoint(&other));

    // The condition job fired once per upward crossing, on a value above the threshold.
    let mut above = false;
    let mut ups = 0;
    for d in driver.iter().filter(|d| d["kind"] == "price") {
        let now_above = d["above"] == true;
        if now_above && !above {
            ups += 1;
        }
        above = now_above;
    }
    assert!(ups >= 1, "the price never crossed: {}", ctx());
    let condition_job = job_id(summary, "demo: PriceFeed");
    let fired = tasks_of(summary, &condition_job);
    assert_eq!(fired.len(), ups, "one task per upward crossing: {}", ctx());
    let first_up = driver
        .iter()
        .find(|d| d["kind"] == "price" && d["above"] == true)
        .unwrap()["block"]
        .as_u64()
        .unwrap();
    for t in &fired {
        let v: f64 = s(&t["trigger"], "value").parse().unwrap();
        assert!(v > 2500.0, "fired on {v}: {t}");
        assert!(
            t["execution"]["block"].as_u64().unwrap() >= first_up,
            "fired before the price crossed: {t}"
        );
    }
    tasks.len()
}

/// Reads the chain: the counter equals the accepted tasks (every demo job increments it),
/// and the hub and registry agree on every task.
async fn check_chain(anvil: &Anvil, summary: &Value, accepted: usize) {
    let provider = anvil.provider().unwrap();
    let contracts = &summary["contracts"];
    let addr = |k: &str| s(contracts, k).parse::<Address>().unwrap();
    let count = Counter::new(addr("counter"), &provider)
        .count()
        .call()
        .await
        .unwrap();
    assert_eq!(
        count,
        alloy::primitives::U256::from(accepted),
        "Counter.count"
    );
    let hub = TaskHub::new(addr("task_hub"), &provider);
    let registry = KeeperRegistry::new(addr("keeper_registry"), &provider);
    for t in summary["tasks"].as_array().unwrap() {
        let id: B256 = s(t, "id").parse().unwrap();
        assert!(
            hub.executed(id).call().await.unwrap(),
            "executed on-chain: {t}"
        );
        assert_eq!(registry.settlement(id).call().await.unwrap(), 1, "{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_its_own_anvil_settles_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let summary_path = dir.path().join("summary.json");
    let (ok, out, err) = devnet(&[
        "--demo",
        "--exit-after",
        "25s",
        "--data-dir",
        data.to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    assert!(ok, "devnet failed\nstdout:\n{out}\nstderr:\n{err}");
    // Not a terminal: plain lines, one per task state change.
    assert!(out.contains(" accepted: "), "{out}");
    let summary = read_summary(&summary_path);
    check_demo(&summary);
    assert_eq!(summary["keepers"].as_array().unwrap().len(), 3);
    assert!(
        summary["keepers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["online"] == true)
    );

    // The data directory is tied to that chain: a new anvil is a new chain, refused.
    let (ok, out, err) = devnet(&["--data-dir", data.to_str().unwrap(), "--exit-after", "1s"]);
    assert!(!ok, "{out}");
    assert!(err.contains("--reset") && err.contains("--rpc"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_rpc_resumes_without_repeating() {
    let anvil = Anvil::start(AnvilOptions {
        block_time: Some(Duration::from_secs(1)),
        ..AnvilOptions::default()
    })
    .await
    .expect("anvil");
    let rpc = anvil.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = dir.path().join("first.json");
    let second = dir.path().join("second.json");
    let run = |exit: &str, summary: &Path| {
        devnet(&[
            "--rpc",
            &rpc,
            "--demo",
            "--exit-after",
            exit,
            "--data-dir",
            data.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
        ])
    };
    let (ok, out, err) = run("20s", &first);
    assert!(ok, "first run failed\nstdout:\n{out}\nstderr:\n{err}");
    let a = read_summary(&first);
    let n = check_demo(&a);
    check_chain(&anvil, &a, n).await;

    let (ok, out, err) = run("12s", &second);
    assert!(ok, "second run failed\nstdout:\n{out}\nstderr:\n{err}");
    let b = read_summary(&second);
    // The same jobs (not created again), every earlier task still there, more tasks since.
    assert_eq!(a["jobs"].as_array().unwrap().len(), 4);
    let ids = |v: &Value| -> HashSet<String> {
        v["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| s(j, "id").to_owned())
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    let tasks = |v: &Value| -> HashSet<String> {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| s(t, "id").to_owned())
            .collect()
    };
    assert!(tasks(&a).is_subset(&tasks(&b)));
    let m = check_demo(&b);
    assert!(m > n, "the resumed run executed nothing new");
    check_chain(&anvil, &b, m).await;
}
