#!/usr/bin/env bash
# `run --rm busybox true` end to end through the berth CLI with the built-in
# runtime and with each external OCI runtime installed (runc, crun), on a
# private berthd (the e2e harness's isolation), plus the default container
# with --init and with --privileged.
#
#   bench/runtimes-bench.sh [-n RUNS]     (RUNS >= 20, default 20)
#
# Environment: BERTH_BIN_DIR (default build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 20 20 "$@"
BERTH="$BERTH_BIN_DIR/berth"
cleanup() { [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"; }
trap cleanup EXIT
trap 'exit 130' INT TERM


echo "bench: private berthd from $BERTH_BIN_DIR, $RUNS runs each" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
printf '\n%-44s %9s %9s %9s\n' "run --rm busybox true (ms, N=$RUNS)" median p10 p90
row() {
  local label=$1; shift
  local med p10 p90
  read -r med p10 p90 < <(times_ms "$BERTH" -H "unix://$SOCK" run --rm "$@" busybox true | stats)
  printf '%-44s %9s %9s %9s\n' "$label" "$med" "$p10" "$p90"
}
row "built-in runtime"
row "built-in, --init" --init
row "built-in, --privileged (no seccomp)" --privileged
for rt in runc crun; do
  if command -v "$rt" >/dev/null; then row "--runtime $rt" --runtime "$rt"
  else printf '%-44s %9s\n' "--runtime $rt" "not installed"; fi
done
