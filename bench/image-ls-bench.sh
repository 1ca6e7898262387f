#!/usr/bin/env bash
# Image listing with many images: `berth images`, `docker images` and the raw
# GET /v1.41/images/json against a private berthd.
#
#   bench/image-ls-bench.sh [-i IMAGES] [-n RUNS] [-j JOBS]
#
# Starts a private berthd exactly like the e2e harness (own temp root,
# socket, data-root, cgroup parent), imports IMAGES (default 500) tiny
# distinct tarballs through the API, JOBS (default 4) at a time, then times
# each listing RUNS times (default 10, after one warm-up) and prints the
# medians (target for the raw API: < 50 ms). Everything it started or
# created is removed on exit.
#
# Environment: BERTH_BIN_DIR (default build/bin), DOCKER_BIN (default
# /usr/local/bin/docker).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=500 RUNS=10 JOBS=4
while [ $# -gt 0 ]; do
  case $1 in
    -i) IMAGES=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    -j) JOBS=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-i IMAGES] [-n RUNS] [-j JOBS]" >&2; exit 2 ;;
  esac
done

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
for b in berthd berth berth-monitor; do
  [ -x "$BERTH_BIN_DIR/$b" ] || { echo "bench: $BERTH_BIN_DIR/$b not built" >&2; exit 1; }
done

cleanup() { [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: private berthd from $BERTH_BIN_DIR" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }

# IMAGES tiny tarballs, each with one distinct file -> distinct layers/ids
tars=$E2E_ROOT/tars
mkdir -p "$tars/src"
for i in $(seq 1 "$IMAGES"); do
  echo "image $i" >"$tars/src/id"
  tar -C "$tars/src" --owner=0 --group=0 -cf "$tars/$i.tar" id
done
import_one() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -H 'Content-Type: application/x-tar' --data-binary "@$tars/$1.tar" \
    "http://x/v1.41/images/create?fromSrc=-&repo=bench/img$1&tag=v1")
  [ "$code" = 200 ] || { echo "bench: import $1: HTTP $code" >&2; return 1; }
}
export -f import_one
export tars SOCK
s=$EPOCHREALTIME
seq 1 "$IMAGES" | xargs -P "$JOBS" -I{} bash -c 'import_one {}'
e=$EPOCHREALTIME
import_s=$(awk -v s="${s/./}" -v e="${e/./}" 'BEGIN { printf "%.1f", (e - s) / 1e6 }')
rm -rf "$tars"
count=$(curl -sS --unix-socket "$SOCK" http://x/v1.41/images/json | grep -o '"Id"' | wc -l)

# median_ms CMD...: one warm-up, then RUNS timed runs; prints the median in ms
median_ms() {
  local i s e
  "$@" >/dev/null || { echo "bench: '$*' failed" >&2; return 1; }
  for ((i = 0; i < RUNS; i++)); do
    s=$EPOCHREALTIME
    "$@" >/dev/null
    e=$EPOCHREALTIME
    echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }' | sort -n |
    awk '{ v[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

api_ms=$(median_ms curl -sS --fail --unix-socket "$SOCK" http://x/v1.41/images/json)
berth_ms=$(median_ms "$BERTH_BIN_DIR/berth" -H "unix://$SOCK" images)
docker_ms=$(median_ms "$DOCKER_BIN" -H "unix://$SOCK" images)
berth_lines=$("$BERTH_BIN_DIR/berth" -H "unix://$SOCK" images | wc -l)
docker_lines=$("$DOCKER_BIN" -H "unix://$SOCK" images | wc -l)

printf '\n%s images in the store (imported %s in %s s, %s at a time)\n' "$count" "$IMAGES" "$import_s" "$JOBS"
printf '%-40s %9s\n' "median of $RUNS (ms)" ""
printf '%-40s %9s  %s\n' "GET /v1.41/images/json (curl)" "$api_ms" \
  "$(awk -v m="$api_ms" 'BEGIN { print (m < 50) ? "(target < 50 ms: OK)" : "(target < 50 ms: OVER)" }')"
printf '%-40s %9s  (%s lines)\n' "berth images" "$berth_ms" "$berth_lines"
printf '%-40s %9s  (%s lines)\n' "docker images" "$docker_ms" "$docker_lines"
