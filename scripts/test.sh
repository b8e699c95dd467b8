#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs the pinned npm tools (anvil, solc)
# the tests need, then the whole Rust test suite with every feature.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

cargo test --workspace --all-features --no-fail-fast "$@"
