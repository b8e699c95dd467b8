//! The devnet's fault drill: `triggerx devnet --demo --kill-keeper-after` kills one keeper
//! mid-run (performer, attester and check-ins at once, as a crash). Its tasks are taken over by
//! backups, every demo job keeps executing and settling, nothing is lost or repeated (from the
//! summary and from the kept chain's logs), and health marks the dead keeper offline.
//!
//! Five keepers: the performer's power does not count towards the quorum, so with N equal
//! keepers and one dead the N − 2 live attesters need 3(N − 2) > 2(N − 1), i.e. N ≥ 5 (three or
//! four keepers with one dead cannot settle the tasks of the live performers).

mod devnet_common;

use std::time::Duration;

use alloy::primitives::Address;
use devnet_common::{
    Running, WATCHDOG, check_chain, check_demo, check_logs_once, check_time_instants, now_ms,
    read_summary, reload_chain, s,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_keeper_tasks_are_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let summary_path = dir.path().join("summary.json");
    let mut run = Running::spawn(&[
        "--demo",
        "--keepers",
        "5",
        "--kill-keeper-after",
        "15s",
        "--execution-timeout",
        "8s",
        "--exit-after",
        "50s",
        "--data-dir",
        data.to_str().unwrap(),
        "--summary",
        summary_path.to_str().unwrap(),
    ]);
    run.wait_for("fault drill: keeper", 1, Duration::from_secs(120));
    let killed_at = now_ms();
    let (ok, out, err) = run.wait(WATCHDOG);
    assert!(ok, "devnet failed\nstdout:\n{out}\nstderr:\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("fault drill: keeper"))
        .unwrap();
    let dead: Address = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    let due: Vec<String> = line
        .split("due to perform: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter(|w| *w != "-")
        .map(str::to_lowercase)
        .collect();
    assert!(
        !due.is_empty(),
        "the drill found no task for its victim: {line}"
    );

    let summary = read_summary(&summary_path);
    let ctx = || serde_json::to_string_pretty(&summary).unwrap();
    // Every demo job executed and settled, each task once, the event and condition jobs exactly
    // on their occurrences.
    let n = check_demo(&summary);
    let tasks = summary["tasks"].as_array().unwrap();
    let performer = |t: &serde_json::Value| -> Address { s(t, "performer").parse().unwrap() };

    // The tasks the dead keeper was selected for were taken over by a backup. The demo time jobs
    // skip an instant while their previous task is open, so a task the victim held when it died
    // can stand in for the predicted instants (they are then skipped, not lost): each predicted
    // instant that ran was reassigned, and at least one task was taken over.
    for t in tasks
        .iter()
        .filter(|t| due.contains(&s(t, "id").to_lowercase()))
    {
        assert!(t["attempts"].as_u64().unwrap() >= 2, "not reassigned: {t}");
    }
    let taken_over: Vec<_> = tasks
        .iter()
        .filter(|t| t["attempts"].as_u64().unwrap() >= 2)
        .collect();
    assert!(
        !taken_over.is_empty(),
        "no task was taken over (predicted {due:?}): {}",
        ctx()
    );
    for t in &taken_over {
        assert_ne!(performer(t), dead, "performed by the dead keeper: {t}");
        assert_eq!(t["status"], "accepted", "{t}");
    }
    // Nothing new was performed by the dead keeper, and every job kept firing after the kill.
    for t in tasks {
        if t["created_at_ms"].as_i64().unwrap() > killed_at {
            assert_ne!(performer(t), dead, "performed by the dead keeper: {t}");
        }
    }
    for job in summary["jobs"].as_array().unwrap() {
        let after = tasks
            .iter()
            .filter(|t| t["job_id"] == job["id"])
            .filter(|t| t["created_at_ms"].as_i64().unwrap() > killed_at)
            .count();
        assert!(
            after > 0,
            "{} never fired after the kill: {}",
            s(job, "title"),
            ctx()
        );
    }
    // Nothing lost: the time jobs fired on every instant but those due while their previous
    // task was still open (overlap `skip`: a task waiting for its backup keeps it open).
    for (title, period) in [("demo: every 5 s", 5_000), ("demo: cron", 10_000)] {
        let (overlapped, _) = check_time_instants(&summary, title, period, None);
        eprintln!("{title}: {overlapped} instants skipped (overlap)");
    }

    // Health: the dead keeper is offline, the others online.
    let keepers = summary["keepers"].as_array().unwrap();
    assert_eq!(keepers.len(), 5);
    for k in keepers {
        let address: Address = s(k, "address").parse().unwrap();
        assert_eq!(k["online"], address != dead, "{k}");
    }

    // The chain itself: every task executed once and was accepted once.
    let anvil = reload_chain(&data.join("anvil-state.json")).await;
    check_chain(&anvil, &summary, n).await;
    check_logs_once(&anvil.provider().unwrap(), &summary).await;
}
