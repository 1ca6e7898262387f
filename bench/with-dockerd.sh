#!/usr/bin/env bash
# Runs a bench script against a private dockerd, for the side-by-side
# numbers (DESIGN.md performance targets).
#
#   bench/with-dockerd.sh bench/run-bench.sh [ARGS...]
#
# Starts Debian's dockerd (package docker.io) with its own data-root,
# exec-root, socket, pidfile and cgroup parent, no bridge and no firewall
# rules (--bridge=none --iptables=false --ip6tables=false --ip-forward=false:
# no docker0, nothing written to the host's firewall or sysctls; containers get
# loopback only, like berth's default network), exports DOCKERD_SOCK for the
# script, and afterwards stops that dockerd by its pid, unmounts what it left
# under its directories and removes them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dockerd >/dev/null || { echo "with-dockerd: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [ARGS...]" >&2; exit 2; }

DK=$(mktemp -d /tmp/bdk.XXXXXX)
CG="berth-bench-dockerd-$$"
pid=""
cleanup() {
  set +e
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # containerd-shims that outlived their daemon, started under our exec-root
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "$DK/"; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
  grep -o " $DK[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  local d
  for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf --one-file-system "$DK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dockerd --data-root "$DK/data" --exec-root "$DK/exec" -H "unix://$DK/docker.sock" --pidfile "$DK/dockerd.pid" \
  --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --cgroup-parent "/$CG" \
  --storage-driver overlay2 >"$DK/dockerd.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  [ "$(curl -s --max-time 1 --unix-socket "$DK/docker.sock" http://x/_ping 2>/dev/null)" = OK ] && break
  kill -0 "$pid" 2>/dev/null || { echo "with-dockerd: dockerd exited:" >&2; tail -20 "$DK/dockerd.log" >&2; exit 1; }
  sleep 0.1
done
DOCKERD_SOCK="$DK/docker.sock" "$@"
