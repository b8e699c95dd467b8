//! The contract artifacts are in sync with their sources, and the contracts behave as documented
//! in `docs/contracts.md`, checked against a real anvil.
//!
//! Run: `cargo test -p triggerx-core --features chain,test-utils --test contracts`
//! (needs `scripts/setup.sh` for node_modules: solc and anvil).

use std::{path::Path, process::Command};

/// `node scripts/contracts.mjs check` recompiles every source with the pinned solc and compares
/// with the committed artifacts.
#[test]
fn artifacts_match_sources() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate is inside the repo");
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED artifacts_match_sources: node is not installed, cannot recompile contracts"
        );
        return;
    }
    let out = Command::new("node")
        .args(["scripts/contracts.mjs", "check"])
        .current_dir(repo)
        .output()
        .expect("run node scripts/contracts.mjs check");
    assert!(
        out.status.success(),
        "contract artifacts are stale (run `node scripts/contracts.mjs build`):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// The behaviour tests against anvil (features `chain` and `test-utils`).
#[cfg(all(feature = "chain", feature = "test-utils"))]
#[path = "contracts/common.rs"]
mod common;
#[cfg(all(feature = "chain", feature = "test-utils"))]
#[path = "contracts/hub.rs"]
mod hub;
#[cfg(all(feature = "chain", feature = "test-utils"))]
#[path = "contracts/registry.rs"]
mod registry;
#[cfg(all(feature = "chain", feature = "test-utils"))]
#[path = "contracts/targets.rs"]
mod targets;
