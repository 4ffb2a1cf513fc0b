#!/bin/bash
# Runs both units, unchanged, under a private systemd and checks that the hardened agent ships its logs
# (a world-readable one and a root:adm 0640 one) to the hardened collector, then stops both.
# For a host or container without systemd as PID 1: needs root, util-linux unshare/nsenter, overlayfs,
# iproute2, curl, nats-server on PATH and the built binaries (bun run build). Touches nothing outside its
# namespaces except a temp dir and the empty init.scope cgroups it removes at the end.
#   sudo deploy/systemd/try-units.sh [dist-dir]
set -euo pipefail

if [[ ${1:-} == --inner ]]; then
  # Inside: unshare --pid --fork --mount --net --uts --ipc --mount-proc. Every change below lands in
  # overlays or tmpfs that vanish with the mount namespace.
  T=$2
  mount --make-rprivate /
  for d in etc usr/local opt var; do
    mkdir -p "$T/up/$d" "$T/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/up/$d,workdir=$T/work/$d" "/$d"
  done
  mount -t tmpfs tmpfs /run
  ip link set lo up
  getent passwd outpost >/dev/null || echo 'outpost:x:990:990::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
  getent group outpost >/dev/null || echo 'outpost:x:990:' >>/etc/group
  install -d -m 0755 /etc/outpost /opt/outpost-collector /var/log/outpost-try
  install -m 0755 "$T/dist/outpost-agent" /usr/local/bin/
  install -m 0755 "$T/dist/outpost-collector/outpost-collector" /opt/outpost-collector/
  install -m 0644 "$T/dist/outpost-collector/libduckdb.so" /opt/outpost-collector/
  printf 'data_dir = "/var/lib/outpost-collector"\nenrolled_keys = "/etc/outpost/enrolled_keys"\n' \
    >/etc/outpost/collector.toml
  cat >/etc/outpost/agent.toml <<'EOF'
agent_id = "try-1"
state_dir = "/var/lib/outpost-agent"
private_key_file = "/etc/outpost/agent.key"
[[logs]]
name = "try"
paths = ["/var/log/outpost-try/*.log"]
start_at = "beginning"
EOF
  chgrp outpost /etc/outpost/*.toml && chmod 0640 /etc/outpost/*.toml
  /usr/local/bin/outpost-agent keygen --agent try-1 --out /etc/outpost/agent.key >/dev/null
  chown outpost:outpost /etc/outpost/agent.key
  install -m 0640 -g outpost /etc/outpost/agent.key.pub /etc/outpost/enrolled_keys
  seq -f 'world-readable line %g' 10 >/var/log/outpost-try/open.log
  seq -f 'adm-only line %g' 10 >/var/log/outpost-try/adm.log
  chown root:adm /var/log/outpost-try/adm.log && chmod 0640 /var/log/outpost-try/adm.log
  cp "$T/units/"*.service /etc/systemd/system/
  for u in agent collector; do
    # Only what a test needs: no sysinit.target (udev, journald...), output to files.
    mkdir -p "/etc/systemd/system/outpost-$u.service.d"
    printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=append:%s/%s.log\nStandardError=inherit\n' \
      "$T" "$u" >"/etc/systemd/system/outpost-$u.service.d/try.conf"
  done
  printf '[Unit]\nDefaultDependencies=no\nWants=outpost-collector.service outpost-agent.service\n' \
    >/etc/systemd/system/outpost-try.target
  export container=other
  exec /lib/systemd/systemd --system --unit=outpost-try.target >"$T/systemd.log" 2>&1
fi

[[ $(id -u) == 0 ]] || { echo "try-units: run as root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "${1:-$here/../../dist}" && pwd)
T=$(mktemp -d /tmp/outpost-try-units.XXXXXX)
mkdir -p "$T/units" && cp "$here"/*.service "$T/units/" && ln -s "$dist" "$T/dist"
unshare --pid --fork --mount --net --uts --ipc --mount-proc "$here/try-units.sh" --inner "$T" &
outer=$!
sd=""
cleanup() {
  [[ -n $sd ]] && kill -s SIGRTMIN+4 "$sd" 2>/dev/null || true # poweroff: stops both units, then exits
  for _ in $(seq 50); do kill -0 "$outer" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$outer" 2>/dev/null || true
  for c in /sys/fs/cgroup/systemd/init.scope /sys/fs/cgroup/unified/init.scope /sys/fs/cgroup/init.scope; do
    rmdir "$c" 2>/dev/null || true
  done
}
trap cleanup EXIT
for _ in $(seq 50); do sd=$(pgrep -P "$outer" -x systemd || true); [[ -n $sd ]] && break; sleep 0.2; done
[[ -n $sd ]] || { echo "try-units: systemd did not start" >&2; cat "$T/systemd.log" >&2; exit 1; }
ns() { nsenter -t "$sd" -m -p -n -- "$@"; }
sql() { ns curl -sf -G http://127.0.0.1:4480/sql --data-urlencode "q=$1"; }

want='SELECT count(*) AS n FROM logs'
ok=""
for _ in $(seq 60); do
  if [[ $(sql "$want" 2>/dev/null || true) == *'"n":20'* ]]; then ok=1; break; fi
  sleep 0.5
done
ns systemctl --no-pager status outpost-collector outpost-agent | grep -E '^●|Active:|Process:|nats-server' || true
sql 'SELECT file, count(*) AS n FROM logs GROUP BY file ORDER BY file' || true
echo
if [[ -z $ok ]]; then
  echo "try-units: FAILED: expected 20 lines in DuckDB; logs in $T" >&2
  tail -n 20 "$T/collector.log" "$T/agent.log" >&2 || true
  exit 1
fi
ns systemctl stop outpost-agent outpost-collector
ns systemctl --no-pager show -p Result,ExecMainStatus outpost-agent outpost-collector
rm -rf "$T"
echo "try-units: ok"
