#!/usr/bin/env bash
# N containers started concurrently (DESIGN.md target: 50, at least 10x
# faster than Docker).
#
#   bench/concurrent-bench.sh [-n N]          (default 50)
#   bench/with-dockerd.sh bench/concurrent-bench.sh     (side by side)
#
# Starts a private berthd like the e2e harness, then times N concurrent
# `run -d busybox sleep 300` (all clients launched at once; the clock stops
# when the last one has returned, so every container is running), through
# the berth CLI and through the docker CLI; then the same N with the docker
# CLI against the dockerd on $DOCKERD_SOCK when one answers (the busybox
# rootfs is imported there under a throw-away name). Containers are removed
# between rounds (not timed); everything it started is torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=50
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n N]" >&2; exit 2 ;;
  esac
done

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
DOCKERD_SOCK=${DOCKERD_SOCK:-/var/run/docker.sock}
BERTH="$BERTH_BIN_DIR/berth"
dockerd_image=""
have_dockerd=0
cleanup() {
  set +e
  if [ "$have_dockerd" = 1 ]; then
    remove_all "$DOCKER_BIN" "unix://$DOCKERD_SOCK" "berth-bench-$$"
    [ -z "$dockerd_image" ] || "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" rmi -f "$dockerd_image" >/dev/null 2>&1
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# remove_all CLI HOST PREFIX: force-remove the containers named PREFIX-*.
remove_all() {
  local ids
  ids=$("$1" -H "$2" ps -aq --filter "name=$3-")
  [ -z "$ids" ] || "$1" -H "$2" rm -f $ids >/dev/null
}

# round CLI HOST IMAGE PREFIX: prints the wall time (ms) of N concurrent runs.
round() {
  local cli=$1 host=$2 image=$3 prefix=$4 i s e fails=0
  local pids=()
  s=$EPOCHREALTIME
  for ((i = 0; i < N; i++)); do
    "$cli" -H "$host" run -d --name "$prefix-$i" "$image" sleep 300 >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  e=$EPOCHREALTIME
  [ "$fails" = 0 ] || { echo "bench: $fails of $N runs failed ($cli -> $host)" >&2; return 1; }
  local running
  running=$("$cli" -H "$host" ps -q --filter "name=$prefix-" | wc -l)
  [ "$running" = "$N" ] || { echo "bench: only $running of $N running ($cli -> $host)" >&2; return 1; }
  awk -v s="${s/./}" -v e="${e/./}" 'BEGIN { printf "%.0f\n", (e - s) / 1000 }'
  remove_all "$cli" "$host" "$prefix"
}

echo "bench: private berthd from $BERTH_BIN_DIR, $N concurrent containers" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
b_ms=$(round "$BERTH" "unix://$SOCK" busybox "bb-$$")
d_ms=$(round "$DOCKER_BIN" "unix://$SOCK" busybox "bd-$$")
if [ "$(curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping 2>/dev/null)" = OK ]; then
  have_dockerd=1
  dockerd_image="berth-bench-busybox:$$"
  "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" import -c 'CMD ["sh"]' "$(busybox_tar)" "$dockerd_image" >/dev/null
  k_ms=$(round "$DOCKER_BIN" "unix://$DOCKERD_SOCK" "$dockerd_image" "berth-bench-$$")
fi

printf '\n%-44s %9s\n' "$N x run -d busybox sleep, concurrently" "wall ms"
printf '%-44s %9s\n' "berth CLI  -> berthd" "$b_ms"
printf '%-44s %9s\n' "docker CLI -> berthd" "$d_ms"
if [ "$have_dockerd" = 1 ]; then
  printf '%-44s %9s\n' "docker CLI -> dockerd" "$k_ms"
  awk -v k="$k_ms" -v b="$b_ms" -v d="$d_ms" 'BEGIN {
    printf "\nratio dockerd/berthd, docker CLI both:     %.1fx faster\n", k / d
    printf "ratio docker->dockerd / berth->berthd:     %.1fx faster\n", k / b
  }'
else
  echo
  echo "no dockerd answers on $DOCKERD_SOCK: Docker side not measured"
fi
