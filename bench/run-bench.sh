#!/usr/bin/env bash
# End-to-end start latency and memory of berth, side by side with Docker.
#
#   bench/run-bench.sh [-n RUNS]
#
# Starts a private berthd (own temp root, socket, data-root, exec-root and
# cgroup parent, exactly like the e2e harness), imports the busybox rootfs,
# then measures:
#   - `run --rm busybox true` end to end through build/bin/berth and through
#     the docker CLI (median, p10, p90 of RUNS runs, default 20, after 2
#     warm-up runs);
#   - berthd's idle RSS (VmRSS after start-up + one import, idle for 3 s:
#     berthd trims start-up pages after 2 s without requests);
#   - one berth-monitor's RSS while its container runs `sleep`;
# and, when a dockerd answers on $DOCKERD_SOCK (bench/with-dockerd.sh
# starts a private one), the same run through
# the docker CLI against it (the busybox rootfs is imported there under a
# throw-away name and removed afterwards; nothing is pulled) and dockerd's
# RSS, then prints the ratios. Everything it started is torn down on exit.
#
# Environment: BERTH_BIN_DIR (default build/bin), DOCKER_BIN (default
# /usr/local/bin/docker), DOCKERD_SOCK (default /var/run/docker.sock).
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 20 20 "$@"
DOCKERD_SOCK=${DOCKERD_SOCK:-/var/run/docker.sock}
BERTH="$BERTH_BIN_DIR/berth"
bench_need_bins

dockerd_image=""
cleanup() {
  if [ -n "$dockerd_image" ]; then
    "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" rmi -f "$dockerd_image" >/dev/null 2>&1 || true
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM



rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

echo "bench: private berthd from $BERTH_BIN_DIR, $RUNS runs each" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
sleep 3
berthd_rss=$(rss_kb "$(berthd_pid)")

# one monitor, idle, with its container asleep
cid=$("$BERTH" -H "unix://$SOCK" run -d busybox sleep 60)
sleep 0.5
mon=$(_e2e_monitor_pids "$E2E_ROOT" | head -n1)
monitor_rss=0
[ -z "$mon" ] || monitor_rss=$(rss_kb "$mon")
"$BERTH" -H "unix://$SOCK" rm -f "$cid" >/dev/null

read -r b_med b_p10 b_p90 < <(times_ms "$BERTH" -H "unix://$SOCK" run --rm busybox true | stats)
read -r d_med d_p10 d_p90 < <(times_ms "$DOCKER_BIN" -H "unix://$SOCK" run --rm busybox true | stats)

have_dockerd=0
if [ "$(curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping 2>/dev/null)" = OK ]; then
  have_dockerd=1
  dockerd_image="berth-bench-busybox:$$"
  "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" import -c 'CMD ["sh"]' "$(busybox_tar)" "$dockerd_image" >/dev/null
  read -r k_med k_p10 k_p90 < <(times_ms "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" run --rm "$dockerd_image" true | stats)
  dockerd_rss=0 containerd_rss=0
  for p in /proc/[0-9]*; do
    case $(tr '\0' '\n' 2>/dev/null <"$p/cmdline" | head -n1) in
      */dockerd|dockerd) dockerd_rss=$((dockerd_rss + $(rss_kb "${p#/proc/}"))) ;;
      */containerd|containerd) containerd_rss=$((containerd_rss + $(rss_kb "${p#/proc/}"))) ;;
    esac
  done
fi

printf '\n%-44s %9s %9s %9s\n' "run --rm busybox true (ms, N=$RUNS)" median p10 p90
printf '%-44s %9s %9s %9s\n' "berth CLI  -> berthd" "$b_med" "$b_p10" "$b_p90"
printf '%-44s %9s %9s %9s\n' "docker CLI -> berthd" "$d_med" "$d_p10" "$d_p90"
[ "$have_dockerd" = 0 ] || printf '%-44s %9s %9s %9s\n' "docker CLI -> dockerd" "$k_med" "$k_p10" "$k_p90"
printf '\n%-44s %9s\n' "memory (VmRSS)" ""
printf '%-44s %9s\n' "berthd idle (after 1 import)" "$(mb "$berthd_rss")"
printf '%-44s %9s\n' "berth-monitor (container running sleep)" "$( [ "$monitor_rss" -gt 0 ] && mb "$monitor_rss" || echo n/a)"
if [ "$have_dockerd" = 1 ]; then
  printf '%-44s %9s\n' "dockerd" "$(mb "$dockerd_rss")"
  printf '%-44s %9s\n' "containerd" "$(mb "$containerd_rss")"
  echo
  awk -v k="$k_med" -v b="$b_med" -v d="$d_med" -v kr="$dockerd_rss" -v br="$berthd_rss" 'BEGIN {
    printf "ratio dockerd/berthd, docker CLI both:     %.1fx faster\n", k / d
    printf "ratio docker->dockerd / berth->berthd:     %.1fx faster\n", k / b
    if (br > 0) printf "ratio dockerd RSS / berthd RSS:           %.1fx smaller\n", kr / br
  }'
else
  echo
  echo "no dockerd answers on $DOCKERD_SOCK: Docker side not measured"
fi
