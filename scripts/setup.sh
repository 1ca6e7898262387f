#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a running berthd:
# installs the Debian packages, builds (Release), installs berthd, berth,
# berth-monitor, berth-dns, berth-pause and the CRI module berth-cri.so
# (berthd loads it from its own directory) to /usr/local/bin, starts berthd
# in the background and loads a busybox:latest image. Safe to run again: each step is skipped when done.
#
#   scripts/setup.sh              everything
#   scripts/setup.sh --deps-only  only the Debian packages (used by .ci/run)
#
# Environment: BUILD_DIR (default build), PREFIX (default /usr/local),
# BERTH_SOCK (default /run/berth/berth.sock), BERTH_DATA_ROOT (default
# /var/lib/berth), BERTH_LOG (default /var/log/berthd.log).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build}
PREFIX=${PREFIX:-/usr/local}
SOCK=${BERTH_SOCK:-/run/berth/berth.sock}
DATA_ROOT=${BERTH_DATA_ROOT:-/var/lib/berth}
LOG=${BERTH_LOG:-/var/log/berthd.log}
PIDFILE=$(dirname "$SOCK")/berthd.pid

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

deps_only=0
case ${1:-} in
  --deps-only) deps_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  *) die "unknown option $1 (try --help)" ;;
esac

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts berthd)"

# 1. Debian packages
mapfile -t missing < <(berth_missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # openssh-server is there for remote.bats, which runs its own sshd on a
  # loopback port; a host that had no ssh service gets none from us.
  if printf '%s\n' "${missing[@]}" | grep -qx openssh-server && command -v systemctl >/dev/null &&
     [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service >/dev/null 2>&1 || true   # best effort: not every host runs systemd
    say "openssh-server installed for the tests only: ssh.service disabled"
  fi
else
  say "Debian packages already installed"
fi
[ "$deps_only" = 0 ] || exit 0

# 2. build and install
say "building ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
for b in berthd berth berth-monitor berth-dns berth-pause berth-cri.so; do
  [ -x "$BUILD_DIR/bin/$b" ] || die "the build did not produce $BUILD_DIR/bin/$b"
done
say "installing berthd, berth, berth-monitor, berth-dns, berth-pause, berth-cri.so to $PREFIX/bin"
# install(1) unlinks the old file first, so a running berthd is not disturbed
install -D -m 0755 -t "$PREFIX/bin" "$BUILD_DIR/bin/berthd" "$BUILD_DIR/bin/berth" \
  "$BUILD_DIR/bin/berth-monitor" "$BUILD_DIR/bin/berth-dns" "$BUILD_DIR/bin/berth-pause" \
  "$BUILD_DIR/bin/berth-cri.so"

getent group berth >/dev/null || { say "creating group berth"; groupadd --system berth; }

# 3. berthd in the background
ping_ok() { [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://x/_ping 2>/dev/null)" = OK ]; }
if ping_ok; then
  say "berthd already answers on $SOCK"
else
  say "starting berthd (socket $SOCK, data-root $DATA_ROOT, log $LOG)"
  mkdir -p "$(dirname "$SOCK")" "$DATA_ROOT" "$(dirname "$LOG")"
  setsid "$PREFIX/bin/berthd" --host "unix://$SOCK" --data-root "$DATA_ROOT" \
    --pidfile "$PIDFILE" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    ping_ok && break
    kill -0 "$pid" 2>/dev/null || die "berthd exited; last lines of $LOG:
$(tail -n 20 "$LOG")"
    sleep 0.1
  done
  ping_ok || die "berthd did not answer on $SOCK within 20 s; see $LOG"
  say "berthd running, pid $pid"
fi

# 4. busybox:latest
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" \
  http://x/v1.41/images/busybox:latest/json)
if [ "$code" = 200 ]; then
  say "busybox:latest already present"
else
  say "importing busybox:latest from $(command -v busybox || echo /bin/busybox)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  scripts/mk-busybox-rootfs.sh "$tmp/rootfs.tar"
  "$PREFIX/bin/berth" -H "unix://$SOCK" import -c 'CMD ["sh"]' "$tmp/rootfs.tar" busybox:latest
fi

# 5. the promise of the README
out=$("$PREFIX/bin/berth" -H "unix://$SOCK" run --rm busybox echo hello 2>&1) || true
[ "$out" = hello ] || die "'berth run --rm busybox echo hello' printed: $out"
say "ready: berth run --rm busybox echo hello -> $out"
[ "$SOCK" = /run/berth/berth.sock ] || say "the CLI needs -H unix://$SOCK (or BERTH_HOST) for this socket"
