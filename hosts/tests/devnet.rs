//! `triggerx devnet --demo` end to end: the built binary runs the whole network on anvil for a
//! bounded time; the summary and the chain itself must show every demo job executed and
//! accepted, no task executed twice, the event job firing only on matching transfers and the
//! condition job firing on each upward price crossing. A second run on the same data directory
//! and chain resumes the same jobs; a data directory whose kept chain is gone is refused.

mod devnet_common;

use std::{collections::HashSet, path::Path, time::Duration};

use devnet_common::{check_chain, check_demo, devnet, read_summary, s};
use serde_json::Value;
use triggerx_core::chain::anvil::{Anvil, AnvilOptions};

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

    // The data directory is tied to that chain, which it keeps (devnet_restart.rs resumes it):
    // without the kept chain a new anvil would be a new chain, refused.
    let state_file = data.join("anvil-state.json");
    assert!(state_file.is_file(), "the chain was not kept");
    std::fs::rename(&state_file, dir.path().join("moved.json")).unwrap();
    let (ok, out, err) = devnet(&["--data-dir", data.to_str().unwrap(), "--exit-after", "1s"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("state file") && err.contains("--reset"),
        "{err}"
    );
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
