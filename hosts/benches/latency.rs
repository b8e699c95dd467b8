//! Trigger → on-chain execution latency on the devnet (1 s blocks), per trigger kind, in blocks:
//! `triggerx devnet --demo` against the same devnet with its engines polling at the original
//! TriggerX's intervals (`--baseline-polling`: time 30 s, events and conditions 1 s, no new-head
//! wake-ups), both run in this benchmark.
//!
//! `cargo bench -p triggerx-hosts --bench latency` (env `LATENCY_BENCH_SECS`, default 60; needs
//! anvil from `bash scripts/setup.sh`).

use std::{collections::BTreeMap, process::Command};

fn run(baseline: bool, secs: u64) -> BTreeMap<String, Vec<f64>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = dir.path().join("summary.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_triggerx"));
    cmd.args([
        "devnet",
        "--demo",
        "--reset",
        "--exit-after",
        &format!("{secs}s"),
    ])
    .arg("--data-dir")
    .arg(dir.path().join("data"))
    .arg("--summary")
    .arg(&summary)
    .env("RUST_LOG", "warn");
    if baseline {
        cmd.arg("--baseline-polling");
    }
    let out = cmd.output().expect("devnet runs");
    assert!(
        out.status.success(),
        "devnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("summary written")).expect("json");
    let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in doc["tasks"].as_array().expect("tasks") {
        if let (Some(kind), Some(blocks)) = (t["kind"].as_str(), t["latency_blocks"].as_f64()) {
            by_kind.entry(kind.to_owned()).or_default().push(blocks);
        }
    }
    for v in by_kind.values_mut() {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    by_kind
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let secs = std::env::var("LATENCY_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let ours = run(false, secs);
    let base = run(true, secs);
    println!("trigger → execution latency, blocks of 1 s, devnet --demo for {secs} s");
    for (kind, v) in &ours {
        let b = base.get(kind).cloned().unwrap_or_default();
        println!(
            "  {kind:<9} ours: n={:<3} p50 {:.0} p99 {:.0} max {:.0}   baseline: n={:<3} p50 {:.0} p99 {:.0} max {:.0}",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            v.last().copied().unwrap_or(f64::NAN),
            b.len(),
            pct(&b, 0.5),
            pct(&b, 0.99),
            b.last().copied().unwrap_or(f64::NAN),
        );
    }
    for (kind, v) in &ours {
        let b = base.get(kind).cloned().unwrap_or_default();
        let (fired, base_fired) = (v.len() as f64, b.len() as f64);
        println!(
            "bench trigger_to_execution_{kind}_tasks: {fired:.0} tasks (baseline {base_fired:.0} tasks, ratio {:.2})",
            fired / base_fired.max(1.0)
        );
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            let (x, y) = (pct(v, p), pct(&b, p));
            // Equal figures (0 and 0 blocks included) are a ratio of 1.
            let ratio = if x == y { 1.0 } else { x / y };
            println!(
                "bench trigger_to_execution_{kind}_{name}: {x:.0} blocks (baseline {y:.0} blocks, ratio {ratio:.2})"
            );
        }
    }
}
