#!/usr/bin/env bash
# Networking's cost: start latency on the default bridge vs --network none,
# a batch of concurrent starts, and throughput through a published port.
#
#   bench/net-bench.sh [-n RUNS] [-c CONCURRENT] [-m MEGABYTES]
#
# A private berthd (the e2e harness: own root, socket, cgroup parent) with
# its own default bridge (e2e_net_setup_file: --bridge btn<hex>, --bip
# 10.212.x.1/24, own nft table and veth prefix, --ip-forward=false), then `berth run --rm busybox
# true` RUNS times each (after 2 warm-ups), interleaved, with --network none
# and with the default network, through build/bin/berth: median, p10, p90
# and the ratio. Then CONCURRENT (default 50) `run -d busybox sleep 300` at
# once, on the default bridge and with --network none (wall time of each
# batch, ratio), and MEGABYTES (default 1024) sent from the host to busybox
# `nc -l` in a container through a published port on 127.0.0.1 and directly
# to the container's address (best of 3 each, ratio).
# Targets (issue 12): bridge median <= 30 ms and <= 1.3x none; the batch
# within 1.5x; published >= 90% of direct.
# The bridge and the table are removed with the root on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20 CONC=50 MBYTES=1024
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -c) CONC=$2; shift 2 ;;
    -m) MBYTES=$2; shift 2 ;;
    *) echo "usage: $0 [-n RUNS] [-c CONCURRENT] [-m MEGABYTES]" >&2; exit 2 ;;
  esac
done
export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
e2e_net_setup_file n 212 || { echo "bench: berthd did not start" >&2; exit 1; }
BERTH="$BERTH_BIN_DIR/berth"
# Interleaved (one none run, one bridge run, ...) so that load on a shared
# machine hits both alike.
none_t=$(mktemp) bridge_t=$(mktemp)
for i in 1 2; do
  "$BERTH" -H "unix://$SOCK" run --rm --network none busybox true
  "$BERTH" -H "unix://$SOCK" run --rm busybox true
done
for ((i = 0; i < RUNS; i++)); do
  s=$EPOCHREALTIME; "$BERTH" -H "unix://$SOCK" run --rm --network none busybox true; e=$EPOCHREALTIME
  echo "${s/./} ${e/./}" >>"$none_t"
  s=$EPOCHREALTIME; "$BERTH" -H "unix://$SOCK" run --rm busybox true; e=$EPOCHREALTIME
  echo "${s/./} ${e/./}" >>"$bridge_t"
done
read -r n_med n_p10 n_p90 < <(awk '{ printf "%.2f\n", ($2 - $1) / 1000 }' "$none_t" | stats)
read -r b_med b_p10 b_p90 < <(awk '{ printf "%.2f\n", ($2 - $1) / 1000 }' "$bridge_t" | stats)
rm -f "$none_t" "$bridge_t"
printf '\n%-44s %9s %9s %9s\n' "berth run --rm busybox true (ms, N=$RUNS)" median p10 p90
printf '%-44s %9s %9s %9s\n' "--network none" "$n_med" "$n_p10" "$n_p90"
printf '%-44s %9s %9s %9s\n' "default bridge" "$b_med" "$b_p10" "$b_p90"
awk -v b="$b_med" -v n="$n_med" 'BEGIN { printf "ratio bridge / none: %.2fx\n", b / n }'

b() { "$BERTH" -H "unix://$SOCK" "$@"; }
batch() {  # batch ARGS...: wall ms of CONC concurrent run -d, then rm -f them
  local s e i
  s=$EPOCHREALTIME
  for ((i = 0; i < CONC; i++)); do b run -d "$@" busybox sleep 300 >"$E2E_ROOT/batch.$i" 2>&1 & done
  wait
  e=$EPOCHREALTIME
  for ((i = 0; i < CONC; i++)); do
    grep -qE '^[0-9a-f]{64}$' "$E2E_ROOT/batch.$i" || { echo "bench: run -d failed: $(cat "$E2E_ROOT/batch.$i")" >&2; return 1; }
  done
  # shellcheck disable=SC2046
  b rm -f $(cat "$E2E_ROOT"/batch.*) >/dev/null
  rm -f "$E2E_ROOT"/batch.*
  echo "${s/./} ${e/./}" | awk '{ printf "%.0f\n", ($2 - $1) / 1000 }'
}
conc_no=$(batch --network none)
conc_br=$(batch)
printf '\n%-44s %9s\n' "$CONC concurrent run -d (ms, wall)" ""
printf '%-44s %9s\n' "--network none" "$conc_no"
printf '%-44s %9s\n' "default bridge" "$conc_br"
awk -v b="$conc_br" -v n="$conc_no" 'BEGIN { printf "ratio bridge / none: %.2fx\n", b / n }'

send_mb() {  # send_mb HOST PORT: seconds to send MBYTES MB and see the peer close
  python3 - "$1" "$2" "$MBYTES" <<'PY'
import socket, sys, time
host, port, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = b"\0" * (1 << 20)
for _ in range(100):
    try:
        s = socket.create_connection((host, port), timeout=10)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("bench: connect %s:%d failed" % (host, port))
t = time.monotonic()
for _ in range(mb):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print("%.3f" % (time.monotonic() - t))
PY
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pub=() dir=()
for i in 1 2 3; do
  cid=$(b run -d -p "127.0.0.1:$port:8080" busybox nc -l -p 8080)
  pub+=("$(send_mb 127.0.0.1 "$port")")
  b rm -f "$cid" >/dev/null
  cid=$(b run -d busybox nc -l -p 8080)
  ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' "$cid")
  dir+=("$(send_mb "$ip" 8080)")
  b rm -f "$cid" >/dev/null
done
pub_s=$(printf '%s\n' "${pub[@]}" | sort -n | head -n1)
dir_s=$(printf '%s\n' "${dir[@]}" | sort -n | head -n1)
printf '\n%-44s %9s\n' "$MBYTES MB host -> container nc (s, best of 3)" ""
printf '%-44s %9s\n' "published port 127.0.0.1:$port" "$pub_s"
printf '%-44s %9s\n' "direct to the container's address" "$dir_s"
awk -v p="$pub_s" -v d="$dir_s" -v m="$MBYTES" 'BEGIN {
  printf "published / direct throughput: %.0f%% (%.0f vs %.0f MB/s)\n", 100 * d / p, m / p, m / d }'

