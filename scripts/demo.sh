#!/usr/bin/env bash
# The demo: installs what is missing, then runs nats-server, the collector and an agent on a growing sample log.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node_modules/.bin/bun scripts/demo.ts "$@"
