#!/usr/bin/env bash
# Installs what Outpost needs on a fresh Debian machine with Node/npm:
# the pinned Bun and other npm packages (npm ci), and nats-server (apt-get, when root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "outpost setup: npm is missing; install Node.js 20+ with npm first" >&2
  exit 1
fi

# npm ci is skipped when the lockfile has not changed since the last install.
stamp=node_modules/.outpost-lock-stamp
if [ ! -x node_modules/.bin/bun ] || [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "outpost setup: installing npm packages (Bun is pinned in package.json)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# Debian installs it in /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/sbin"
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "outpost setup: installing nats-server from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  else
    echo "outpost setup: nats-server is missing; run 'sudo apt-get install nats-server' (Debian package, 2.9+)" >&2
    exit 1
  fi
fi

# Optional tools: some tests use them when present and say so when they skip.
#   promtool (Debian package prometheus): /metrics and the alert rules
#   systemd-analyze (Debian package systemd): the hardened units
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
  command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
  if [ -n "$missing" ]; then
    echo "outpost setup: installing optional test tools from Debian's packages:$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
      echo "outpost setup: could not install$missing; the tests that need them will be skipped" >&2
  fi
fi
