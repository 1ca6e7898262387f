#!/usr/bin/env bash
# Issue 17's operation targets, each number printed next to its target:
#   - `exec CONTAINER true` in a running container        (<= 5 ms median)
#   - `stop -t0` of a running container                  (<= 6 ms median)
#   - `rm -f` of a running container                     (<= 6 ms median)
#   - 50 concurrent `run -d busybox sleep 60`            (<= 0.5 s wall)
#   - berthd idle memory                                  (<= 4 MB)
#   - the memory one running container costs in total: its monitor's Pss
#     plus berthd's growth, averaged over K containers     (<= 1 MB)
# through build/bin/berth and the docker CLI against a private berthd
# (the e2e harness: own temp root, socket, data-root, cgroup parent,
# --bridge=none --iptables=false), median/p10/p90 of RUNS runs after 2
# warm-ups. Memory is read from /proc/PID/smaps_rollup (Rss and Pss).
#
#   bench/ops-bench.sh [-n RUNS] [-c N] [-k K]    (defaults 20, 50, 10)
#
# Docker side by side: when `dockerd` is on PATH and DOCKERD_SOCK is unset,
# the script runs itself again under bench/with-dockerd.sh (a private
# dockerd with its own roots, --bridge=none --iptables=false
# --ip-forward=false, stopped by pid afterwards); with DOCKERD_SOCK set it
# uses that daemon. NO_DOCKERD=1 skips Docker. Everything it started is torn
# down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20 N=50 K=10
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -c) N=$2; shift 2 ;;
    -k) K=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS] [-c N] [-k K]" >&2; exit 2 ;;
  esac
done
[ "$RUNS" -ge 5 ] || { echo "at least 5 runs" >&2; exit 2; }

if [ -z "${DOCKERD_SOCK:-}" ] && [ -z "${NO_DOCKERD:-}" ] && command -v dockerd >/dev/null; then
  exec bench/with-dockerd.sh "$0" -n "$RUNS" -c "$N" -k "$K"
fi

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
BERTH="$BERTH_BIN_DIR/berth"
for b in berthd berth berth-monitor; do
  [ -x "$BERTH_BIN_DIR/$b" ] || { echo "bench: $BERTH_BIN_DIR/$b not built" >&2; exit 1; }
done
have_dockerd=0 dockerd_image=""
cleanup() {
  set +e
  if [ "$have_dockerd" = 1 ]; then
    local ids
    ids=$("$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" ps -aq --filter "label=berth-ops-bench=$$")
    [ -z "$ids" ] || "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" rm -f $ids >/dev/null 2>&1
    [ -z "$dockerd_image" ] || "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" rmi -f "$dockerd_image" >/dev/null 2>&1
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# one CLI HOST ARGS...: the client against a daemon, quiet.
one() { local c=$1 h=$2; shift 2; "$c" -H "$h" "$@"; }

# exec_times CLI HOST IMAGE: RUNS timings (ms) of `exec C true`.
exec_times() {
  local c=$1 h=$2 img=$3 id i s e
  id=$(one "$c" "$h" run -d --label "berth-ops-bench=$$" "$img" sleep 600 2>/dev/null)
  for i in 1 2; do one "$c" "$h" exec "$id" true || return 1; done
  for ((i = 0; i < RUNS; i++)); do
    s=$EPOCHREALTIME
    one "$c" "$h" exec "$id" true || { echo "bench: exec failed ($c)" >&2; return 1; }
    e=$EPOCHREALTIME
    echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }'
  one "$c" "$h" rm -f "$id" >/dev/null
}

# kill_times CLI HOST IMAGE OP...: RUNS timings (ms) of `OP C` on a fresh
# running container each time (the run -d is not timed; the container is
# checked to be running first, and to be stopped or gone after).
kill_times() {
  local c=$1 h=$2 img=$3 i s e id
  shift 3
  for ((i = 0; i < RUNS + 2; i++)); do
    id=$(one "$c" "$h" run -d --label "berth-ops-bench=$$" "$img" sleep 600 2>/dev/null)
    [ "$(one "$c" "$h" inspect -f '{{.State.Running}}' "$id")" = true ] ||
      { echo "bench: $id not running" >&2; return 1; }
    s=$EPOCHREALTIME
    one "$c" "$h" "$@" "$id" >/dev/null || { echo "bench: $* failed ($c)" >&2; return 1; }
    e=$EPOCHREALTIME
    if [ "$1" = stop ]; then
      [ "$(one "$c" "$h" inspect -f '{{.State.Running}}' "$id")" = false ] ||
        { echo "bench: $id still running after stop" >&2; return 1; }
      one "$c" "$h" rm "$id" >/dev/null
    elif one "$c" "$h" inspect "$id" >/dev/null 2>&1; then
      echo "bench: $id still there after rm -f" >&2
      return 1
    fi
    [ "$i" -lt 2 ] || echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }'
}

# parallel_ms CLI HOST IMAGE: wall ms of N concurrent `run -d IMAGE sleep
# 60`, the clock stopped when the last client returned; all N must be running.
parallel_ms() {
  local c=$1 h=$2 img=$3 i s e fails=0 p running ids
  local pids=()
  s=$EPOCHREALTIME
  for ((i = 0; i < N; i++)); do
    one "$c" "$h" run -d --label "berth-ops-bench=$$" --label "par=$$" "$img" sleep 60 >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  e=$EPOCHREALTIME
  [ "$fails" = 0 ] || { echo "bench: $fails of $N runs failed ($c)" >&2; return 1; }
  running=$(one "$c" "$h" ps -q --filter "label=par=$$" | wc -l)
  [ "$running" = "$N" ] || { echo "bench: only $running of $N running ($c)" >&2; return 1; }
  awk -v s="${s/./}" -v e="${e/./}" 'BEGIN { printf "%.0f\n", (e - s) / 1000 }'
  ids=$(one "$c" "$h" ps -aq --filter "label=par=$$")
  [ -z "$ids" ] || one "$c" "$h" rm -f $ids >/dev/null
}

# smaps PID FIELD: kB of FIELD (Rss, Pss) in /proc/PID/smaps_rollup (0 if gone).
smaps() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# sum_smaps FIELD PID...: the sum over the pids.
sum_smaps() { local f=$1 t=0 p; shift; for p in "$@"; do t=$((t + $(smaps "$p" "$f"))); done; echo "$t"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
# pids_named NAME: pids whose argv[0] ends in NAME.
pids_named() {
  local p
  for p in /proc/[0-9]*; do
    case $(tr '\0' '\n' 2>/dev/null <"$p/cmdline" | head -n1) in
      */"$1"|"$1") echo "${p#/proc/}" ;;
    esac
  done
}

echo "bench: private berthd from $BERTH_BIN_DIR, $RUNS runs each, $N concurrent, $K for memory" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
B="unix://$SOCK"
bpid=$(berthd_pid)

# Memory first, on a quiet daemon: berthd trims after 2 s without requests.
sleep 3
idle_rss=$(smaps "$bpid" Rss) idle_pss=$(smaps "$bpid" Pss)
for ((i = 0; i < K; i++)); do one "$BERTH" "$B" run -d --label "mem=$$" busybox sleep 600 >/dev/null; done
sleep 3
mons=$(_e2e_monitor_pids "$E2E_ROOT" || true)   # its last test may be false
[ "$(echo "$mons" | grep -c .)" = "$K" ] || { echo "bench: expected $K monitors, found: $mons" >&2; exit 1; }
# shellcheck disable=SC2086
mon_pss=$(sum_smaps Pss $mons) mon_rss=$(sum_smaps Rss $mons)
busy_pss=$(smaps "$bpid" Pss)
# The spare monitor berthd keeps after its first start (docs/monitor.md):
# a constant, not per container.
spare_pss=$(sum_smaps Pss $(pgrep -P "$bpid" -f -- "berth-monitor spare " || true))
per_ctr=$(awk -v m="$mon_pss" -v b0="$idle_pss" -v b1="$busy_pss" -v k="$K" 'BEGIN { d = b1 - b0; if (d < 0) d = 0; printf "%.0f", (m + d) / k }')
ids=$(one "$BERTH" "$B" ps -aq --filter "label=mem=$$")
# shellcheck disable=SC2086
[ -z "$ids" ] || one "$BERTH" "$B" rm -f $ids >/dev/null

read -r eb_med eb_p10 eb_p90 < <(exec_times "$BERTH" "$B" busybox | stats)
read -r sb_med sb_p10 sb_p90 < <(kill_times "$BERTH" "$B" busybox stop -t 0 | stats)
read -r rb_med rb_p10 rb_p90 < <(kill_times "$BERTH" "$B" busybox rm -f | stats)
pb_ms=$(parallel_ms "$BERTH" "$B" busybox)
read -r ed_med ed_p10 ed_p90 < <(exec_times "$DOCKER_BIN" "$B" busybox | stats)
read -r sd_med sd_p10 sd_p90 < <(kill_times "$DOCKER_BIN" "$B" busybox stop -t 0 | stats)
read -r rd_med rd_p10 rd_p90 < <(kill_times "$DOCKER_BIN" "$B" busybox rm -f | stats)
pd_ms=$(parallel_ms "$DOCKER_BIN" "$B" busybox)

if [ -n "${DOCKERD_SOCK:-}" ] && [ "$(curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping 2>/dev/null)" = OK ]; then
  have_dockerd=1
  D="unix://$DOCKERD_SOCK"
  dockerd_image="berth-ops-bench-busybox:$$"
  one "$DOCKER_BIN" "$D" import -c 'CMD ["sh"]' "$(busybox_tar)" "$dockerd_image" >/dev/null
  sleep 3
  # shellcheck disable=SC2046
  k_idle=$(sum_smaps Pss $(pids_named dockerd) $(pids_named containerd))
  for ((i = 0; i < K; i++)); do one "$DOCKER_BIN" "$D" run -d --label "berth-ops-bench=$$" --label "mem=$$" "$dockerd_image" sleep 600 >/dev/null; done
  sleep 3
  # shellcheck disable=SC2046
  k_busy=$(sum_smaps Pss $(pids_named dockerd) $(pids_named containerd) $(pids_named containerd-shim-runc-v2))
  k_per=$(awk -v a="$k_idle" -v b="$k_busy" -v k="$K" 'BEGIN { printf "%.0f", (b - a) / k }')
  ids=$(one "$DOCKER_BIN" "$D" ps -aq --filter "label=mem=$$")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || one "$DOCKER_BIN" "$D" rm -f $ids >/dev/null
  read -r ek_med ek_p10 ek_p90 < <(exec_times "$DOCKER_BIN" "$D" "$dockerd_image" | stats)
  read -r sk_med sk_p10 sk_p90 < <(kill_times "$DOCKER_BIN" "$D" "$dockerd_image" stop -t 0 | stats)
  read -r rk_med rk_p10 rk_p90 < <(kill_times "$DOCKER_BIN" "$D" "$dockerd_image" rm -f | stats)
  pk_ms=$(parallel_ms "$DOCKER_BIN" "$D" "$dockerd_image")
fi

row() { printf '%-40s %8s %8s %8s   %s\n' "$@"; }
printf '\n'
row "operation (ms, N=$RUNS)" median p10 p90 target
row "exec true: berth CLI -> berthd" "$eb_med" "$eb_p10" "$eb_p90" "<= 5"
row "stop -t0: berth CLI -> berthd" "$sb_med" "$sb_p10" "$sb_p90" "<= 6"
row "rm -f running: berth CLI -> berthd" "$rb_med" "$rb_p10" "$rb_p90" "<= 6"
row "exec true: docker CLI -> berthd" "$ed_med" "$ed_p10" "$ed_p90" ""
row "stop -t0: docker CLI -> berthd" "$sd_med" "$sd_p10" "$sd_p90" ""
row "rm -f running: docker CLI -> berthd" "$rd_med" "$rd_p10" "$rd_p90" ""
if [ "$have_dockerd" = 1 ]; then
  row "exec true: docker CLI -> dockerd" "$ek_med" "$ek_p10" "$ek_p90" ""
  row "stop -t0: docker CLI -> dockerd" "$sk_med" "$sk_p10" "$sk_p90" ""
  row "rm -f running: docker CLI -> dockerd" "$rk_med" "$rk_p10" "$rk_p90" ""
fi
printf '\n%-40s %8s   %s\n' "$N x run -d busybox sleep 60, at once" "wall ms" target
printf '%-40s %8s   %s\n' "berth CLI -> berthd" "$pb_ms" "<= 500"
printf '%-40s %8s\n' "docker CLI -> berthd" "$pd_ms"
[ "$have_dockerd" = 0 ] || printf '%-40s %8s\n' "docker CLI -> dockerd" "$pk_ms"
printf '\n%-40s %8s   %s\n' "memory (MB)" "" target
printf '%-40s %8s   %s\n' "berthd idle, Pss" "$(mb "$idle_pss")" "<= 4"
printf '%-40s %8s\n' "berthd idle, Rss" "$(mb "$idle_rss")"
printf '%-40s %8s   %s\n' "per running container, Pss (K=$K)" "$(mb "$per_ctr")" "<= 1"
printf '%-40s %8s\n' "  of which monitor Pss (mean)" "$(mb "$((mon_pss / K))")"
printf '%-40s %8s\n' "  of which berthd growth" "$(mb "$(( (busy_pss > idle_pss ? busy_pss - idle_pss : 0) / K ))")"
printf '%-40s %8s\n' "spare monitor (one, after a start), Pss" "$(mb "$spare_pss")"
printf '%-40s %8s\n' "  monitor Rss (mean)" "$(mb "$((mon_rss / K))")"
if [ "$have_dockerd" = 1 ]; then
  printf '%-40s %8s\n' "dockerd + containerd idle, Pss" "$(mb "$k_idle")"
  printf '%-40s %8s\n' "dockerd: per running container, Pss" "$(mb "$k_per")"
else
  echo
  echo "no dockerd: Docker side not measured (apt-get install docker.io, or set DOCKERD_SOCK)"
fi
