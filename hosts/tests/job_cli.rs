//! `triggerx job create|list|pause|resume|delete`.
//!
//! Against a store file alone (`--offline`): ids, the table and JSON listings, state changes with
//! their errors and exit codes, and the same spec errors as `job validate`.
//!
//! End to end: `triggerx devnet` runs (without `--demo`, on an anvil the test starts) while the
//! test writes a spec for the deployed Counter, adds it with `job create` (which finds the RPC and
//! the contracts in the devnet's checkpoint), waits until it has
//! executed and settled, and pauses it with `job pause`; the summary and the chain show the job
//! executed and accepted on-chain, and nothing due after the pause fired.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::primitives::Address;
use serde_json::{Value, json};
use triggerx_core::{
    JobId, Timestamp,
    chain::{
        anvil::{Anvil, AnvilOptions},
        contracts::{Counter, TaskHub},
    },
    store::sqlite::SqliteStore,
    store::{CheckpointStore, JobStore, KeeperFilter, KeeperStore, TaskFilter, TaskStore},
    types::{JobStatus, TaskStatus},
};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run triggerx");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/jobs")
        .join(name)
}

/// A time spec calling `increment()` on `target` every `every`.
fn spec(target: Address, chain_id: u64, owner: Address, every: &str) -> Value {
    json!({
        "title": "my own counter job",
        "owner": owner.to_string(),
        "expires_in": "1h",
        "trigger": {"kind": "time", "every": every, "catch_up": "skip", "overlap": "skip"},
        "action": {
            "chain_id": chain_id,
            "target": target.to_string(),
            "function": "increment()",
            "args": [],
            "gas_limit": 200000
        }
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

#[test]
fn offline_create_list_pause_resume_delete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();

    // No store yet: a usage error.
    let (code, _, err) = run(&["job", "list", "--data-dir", d]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no store at"), "{err}");
    std::fs::create_dir_all(&data).unwrap();
    drop(SqliteStore::open(data.join("triggerx.sqlite")).unwrap());

    let file = example("interval.json");
    let (code, out, err) = run(&[
        "job",
        "create",
        file.to_str().unwrap(),
        "--data-dir",
        d,
        "--offline",
    ]);
    assert_eq!(code, 0, "{err}");
    let id: JobId = out.trim().parse().expect("create prints the id");
    let other = example("cron-berlin.toml");
    let (code, out2, err) = run(&[
        "job",
        "create",
        other.to_str().unwrap(),
        "--store",
        data.join("triggerx.sqlite").to_str().unwrap(),
        "--offline",
        "--owner",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    ]);
    assert_eq!(code, 0, "{err}");
    let id2: JobId = out2.trim().parse().unwrap();

    // The table, and the filters.
    let (code, out, _) = run(&["job", "list", "--data-dir", d]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(out.contains(&id.to_string()) && out.contains("Bump the counter every 5 minutes"));
    let (_, out, _) = run(&[
        "job",
        "list",
        "--data-dir",
        d,
        "--owner",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "--json",
    ]);
    let docs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 1, "{out}");
    assert_eq!(docs[0]["id"], id2.to_string());
    assert_eq!(docs[0]["status"], "active");

    // State changes, and the ones that are refused.
    let id = id.to_string();
    let change = |verb: &str, id: &str| run(&["job", verb, id, "--data-dir", d]);
    let (code, out, err) = change("pause", &id);
    assert_eq!(
        (code, out.trim()),
        (0, format!("job {id}: active -> paused").as_str()),
        "{err}"
    );
    let (code, _, err) = change("pause", &id);
    assert_eq!(code, 1);
    assert!(err.contains("already paused"), "{err}");
    let (_, out, _) = run(&["job", "list", "--data-dir", d, "--status", "paused"]);
    assert!(
        out.contains(&id) && !out.contains(&id2.to_string()),
        "{out}"
    );
    let (code, out, _) = change("resume", &id);
    assert_eq!(
        (code, out.trim()),
        (0, format!("job {id}: paused -> active").as_str())
    );
    let (code, _, err) = change("resume", &id);
    assert_eq!(code, 1);
    assert!(err.contains("already active"), "{err}");
    let (code, out, _) = change("delete", &id);
    assert_eq!(
        (code, out.trim()),
        (0, format!("job {id}: active -> deleted").as_str())
    );
    for verb in ["pause", "resume", "delete"] {
        let (code, _, err) = change(verb, &id);
        assert_eq!(code, 1, "{verb}: {err}");
        assert!(err.contains("deleted"), "{verb}: {err}");
    }
    let (code, _, err) = change("pause", "12345");
    assert_eq!(code, 1);
    assert!(err.contains("no job 12345"), "{err}");
    let (code, _, err) = change("pause", "not-an-id");
    assert_eq!(code, 2, "{err}");
    let (_, out, _) = run(&[
        "job",
        "list",
        "--data-dir",
        d,
        "--kind",
        "time",
        "--limit",
        "1",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");

    // Every write is in the store's job feed, for a running scheduler's watcher.
    let store = SqliteStore::open(data.join("triggerx.sqlite")).unwrap();
    let feed = store.list_jobs_changed(0, 10).unwrap();
    assert_eq!(feed.len(), 2);
    assert_eq!(feed.last().unwrap().job.status, JobStatus::Deleted);
    assert_eq!(
        store.job_revision().unwrap(),
        5,
        "2 creates, pause, resume, delete"
    );

    // An invalid spec: the errors and exit code of `job validate`, nothing stored.
    let mut bad = spec(
        Address::repeat_byte(1),
        31337,
        Address::repeat_byte(2),
        "5s",
    );
    bad["title"] = json!("x");
    bad["action"]["function"] = json!("increment(");
    let bad = write(dir.path(), "bad.json", &bad);
    let (vcode, _, verr) = run(&["job", "validate", bad.to_str().unwrap()]);
    let (code, out, err) = run(&["job", "create", bad.to_str().unwrap(), "--data-dir", d]);
    assert_eq!((code, vcode), (1, 1));
    assert_eq!(err, verr);
    assert!(out.is_empty() && err.contains("title"), "{err}");
    assert_eq!(store.job_revision().unwrap(), 5);
}

/// The devnet's checkpoint, as the test needs it.
fn devnet_state(store: &SqliteStore) -> Option<Value> {
    let bytes = store.get_checkpoint("devnet/state").ok()??;
    serde_json::from_slice(&bytes).ok()
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_added_while_the_devnet_runs_executes_and_stops_when_paused() {
    const EXIT_AFTER: Duration = Duration::from_secs(28);
    let anvil = Anvil::start(AnvilOptions {
        block_time: Some(Duration::from_secs(1)),
        ..AnvilOptions::default()
    })
    .await
    .expect("anvil");
    let rpc = anvil.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_owned();
    let summary_path = dir.path().join("summary.json");
    let devnet = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["devnet", "--rpc", &rpc, "--data-dir", &d, "--summary"])
        .arg(&summary_path)
        .args(["--exit-after", &format!("{}s", EXIT_AFTER.as_secs())])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn triggerx devnet");
    let pid = devnet.id();
    // A safety net only: the run ends by itself after --exit-after and the drain.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(240));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });

    // The network is up once the registrar has recorded the keepers (the scheduler starts
    // right after); its --exit-after counts from then.
    let path = data.join("triggerx.sqlite");
    let store = wait_for("the devnet's store", Duration::from_secs(120), || {
        path.is_file()
            .then(|| SqliteStore::open(&path).ok())
            .flatten()
    });
    let state = wait_for("the devnet's checkpoint", Duration::from_secs(120), || {
        devnet_state(&store)
    });
    wait_for("the keepers", Duration::from_secs(120), || {
        let registered = store
            .list_keepers(&KeeperFilter {
                registered: Some(true),
                online: None,
            })
            .ok()?;
        (registered.len() == 3).then_some(())
    });
    let up = Instant::now();
    let counter: Address = state["contracts"]["counter"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let task_hub: Address = state["contracts"]["task_hub"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let chain_id = state["chain_id"].as_u64().unwrap();

    // Anvil's dev account 9: funded by anvil, used by no devnet role.
    let owner = anvil.dev_signers()[9].address();
    let file = write(
        dir.path(),
        "mine.json",
        &spec(counter, chain_id, owner, "3s"),
    );
    // An owner the node does not sign for: a clear error, nothing stored.
    let stranger = Address::repeat_byte(0x5a).to_string();
    let (code, _, err) = run(&[
        "job",
        "create",
        file.to_str().unwrap(),
        "--data-dir",
        &d,
        "--rpc",
        &rpc,
        "--owner",
        &stranger,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not sign for the owner"), "{err}");
    // The RPC comes from the devnet's checkpoint.
    let (code, out, err) = run(&["job", "create", file.to_str().unwrap(), "--data-dir", &d]);
    assert_eq!(code, 0, "job create failed: {err}");
    assert!(err.contains("registered job"), "{err}");
    let id: JobId = out.trim().parse().unwrap();
    let created_revision = store.job_revision().unwrap();

    // It executes and settles.
    let accepted = |store: &SqliteStore| {
        store
            .list_tasks(&TaskFilter {
                job_id: Some(id),
                status: Some(TaskStatus::Accepted),
                ..TaskFilter::default()
            })
            .map(|p| p.items.len())
            .unwrap_or(0)
    };
    wait_for(
        "an accepted task of the new job",
        Duration::from_secs(60),
        || (accepted(&store) >= 1).then_some(()),
    );
    // The running scheduler got the job through its watcher, not from its start-up load.
    let cursor = store
        .get_checkpoint("watch/jobs")
        .unwrap()
        .map(|b| u64::from_be_bytes(b.try_into().unwrap()));
    assert!(
        cursor >= Some(created_revision),
        "{cursor:?} < {created_revision}"
    );

    let (code, out, err) = run(&["job", "pause", &id.to_string(), "--data-dir", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("active -> paused"), "{out}");
    let paused_at = Timestamp::now();
    // The run must go on for several periods after the pause, or the check below says nothing.
    assert!(
        up.elapsed() + Duration::from_secs(12) < EXIT_AFTER,
        "the job was paused too late in the run to tell"
    );
    let (_, listed, _) = run(&["job", "list", "--data-dir", &d, "--status", "paused"]);
    assert!(listed.contains(&id.to_string()), "{listed}");

    let out = devnet.wait_with_output().expect("wait for the devnet");
    drop(watchdog);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "devnet failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(&summary_path).expect("summary")).unwrap();
    let ctx = || serde_json::to_string_pretty(&summary).unwrap();
    let job = summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id.to_string())
        .unwrap_or_else(|| panic!("job {id} not in the summary: {}", ctx()));
    assert_eq!(
        (job["kind"].as_str(), job["status"].as_str()),
        (Some("time"), Some("paused"))
    );
    let tasks: Vec<&Value> = summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job_id"] == id.to_string())
        .collect();
    assert!(!tasks.is_empty(), "{}", ctx());
    for t in &tasks {
        assert_eq!(t["status"], "accepted", "{t}");
        assert_eq!(t["executed_on_chain"], true, "{t}");
        assert_eq!(t["settlement_on_chain"], 1, "{t}");
        // Nothing due after the pause reached the scheduler (its watcher polls every second)
        // fired.
        let due = t["trigger"]["at_ms"].as_i64().unwrap();
        assert!(
            due <= paused_at.as_millis() + 2_000,
            "task due {due} ms fired after the pause at {} ms: {t}",
            paused_at.as_millis()
        );
    }

    // On-chain: the counter moved once per execution, and the owner paid for them.
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let count = Counter::new(counter, &provider)
        .count()
        .call()
        .await
        .unwrap();
    assert_eq!(
        count,
        alloy::primitives::U256::from(tasks.len()),
        "{}",
        ctx()
    );
    let balance = TaskHub::new(task_hub, &provider)
        .balanceOf(owner)
        .call()
        .await
        .unwrap();
    let one_eth = alloy::primitives::utils::parse_ether("1").unwrap();
    assert!(
        balance < one_eth && !balance.is_zero(),
        "the owner was funded and charged: {balance}"
    );
}
