#!/usr/bin/env bash
# The test command: installs what is missing, then typecheck, lint/format check and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== typecheck"; tsc --noEmit -p .
echo "== lint";      biome check .
echo "== tests";     bun test --timeout 10000 "$@"
