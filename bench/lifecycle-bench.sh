#!/usr/bin/env bash
# Lifecycle latencies against a private berthd (issue 6 targets):
#   - `exec CONTAINER true` in a running container (target: < 10 ms median
#     through berth's CLI);
#   - `stop` of a container that exits on SIGTERM (target: < 20 ms);
# each through build/bin/berth and the docker CLI, median/p10/p90 of RUNS
# runs (default 20) after 2 warm-ups.
#
#   bench/lifecycle-bench.sh [-n RUNS]
#
# Same private daemon set-up as bench/run-bench.sh (the e2e harness: own
# temp root, socket, data-root, cgroup parent); all torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 20 20 "$@"
BERTH="$BERTH_BIN_DIR/berth"
bench_need_bins
cleanup() { [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"; }
trap cleanup EXIT
trap 'exit 130' INT TERM


# exec_times CLIENT...: RUNS timings (ms) of `CLIENT exec CONTAINER true`.
exec_times() {
  local i s e
  for i in 1 2; do "$@" exec bench-exec true; done
  for ((i = 0; i < RUNS; i++)); do
    s=$EPOCHREALTIME
    "$@" exec bench-exec true
    e=$EPOCHREALTIME
    echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }'
}

# stop_times CLIENT...: RUNS timings (ms) of `CLIENT stop` of a fresh
# container whose shell exits on SIGTERM (it waits in `wait`, which a
# trapped signal interrupts at once). Only the stop is timed.
stop_times() {
  local i s e id
  for ((i = 0; i < RUNS + 2; i++)); do
    id=$("$BERTH" -H "unix://$SOCK" run -d busybox sh -c 'trap "exit 0" TERM; sleep 300 & wait')
    # the trap is set once the shell runs `wait`; give it a moment
    sleep 0.2
    s=$EPOCHREALTIME
    "$@" stop "$id" >/dev/null
    e=$EPOCHREALTIME
    [ "$("$BERTH" -H "unix://$SOCK" inspect -f '{{.State.ExitCode}}' "$id")" = 0 ] ||
      { echo "bench: container did not exit 0 on SIGTERM" >&2; return 1; }
    "$BERTH" -H "unix://$SOCK" rm "$id" >/dev/null
    [ "$i" -lt 2 ] || echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }'
}

echo "bench: private berthd from $BERTH_BIN_DIR, $RUNS runs each" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
"$BERTH" -H "unix://$SOCK" run -d --name bench-exec busybox sleep 3600 >/dev/null

read -r eb_med eb_p10 eb_p90 < <(exec_times "$BERTH" -H "unix://$SOCK" | stats)
read -r ed_med ed_p10 ed_p90 < <(exec_times "$DOCKER_BIN" -H "unix://$SOCK" | stats)
read -r sb_med sb_p10 sb_p90 < <(stop_times "$BERTH" -H "unix://$SOCK" | stats)
read -r sd_med sd_p10 sd_p90 < <(stop_times "$DOCKER_BIN" -H "unix://$SOCK" | stats)

printf '\n%-44s %9s %9s %9s\n' "lifecycle (ms, N=$RUNS)" median p10 p90
printf '%-44s %9s %9s %9s\n' "exec true: berth CLI  -> berthd" "$eb_med" "$eb_p10" "$eb_p90"
printf '%-44s %9s %9s %9s\n' "exec true: docker CLI -> berthd" "$ed_med" "$ed_p10" "$ed_p90"
printf '%-44s %9s %9s %9s\n' "stop (exits on SIGTERM): berth CLI" "$sb_med" "$sb_p10" "$sb_p90"
printf '%-44s %9s %9s %9s\n' "stop (exits on SIGTERM): docker CLI" "$sd_med" "$sd_p10" "$sd_p90"
