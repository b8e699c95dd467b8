#!/usr/bin/env bash
# Installs the pinned developer tools from the npm registry: solc (the Solidity compiler, used by
# scripts/contracts.mjs) and anvil (the local chain used by tests and the devnet).
#
# Idempotent: runs `npm ci` only when node_modules is missing or was installed from a different
# package-lock.json. Prints where anvil is. Set TRIGGERX_ANVIL to use another anvil binary.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup: node and npm are required (Node >= 20); install them first" >&2
    exit 1
fi

stamp="node_modules/.triggerx-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"

if [[ "$want" != "$have" || ! -x node_modules/.bin/anvil || ! -f node_modules/solc/package.json ]]; then
    echo "setup: installing pinned npm tools (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
else
    echo "setup: npm tools up to date"
fi

anvil="${TRIGGERX_ANVIL:-$repo/node_modules/.bin/anvil}"
if [[ ! -x "$anvil" ]]; then
    echo "setup: anvil not found at $anvil" >&2
    exit 1
fi
echo "setup: anvil at $anvil ($("$anvil" --version | head -n1))"
echo "setup: solc $(node -e 'process.stdout.write(require("solc").version())')"
