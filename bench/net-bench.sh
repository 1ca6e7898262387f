#!/usr/bin/env bash
# Start latency on the default bridge vs --network none.
#
#   bench/net-bench.sh [-n RUNS]
#
# A private berthd (the e2e harness: own root, socket, cgroup parent) with
# its own default bridge (--bridge btn<hex>, --bip 10.214.25x.1/24, own nft
# table and veth prefix, --ip-forward=false), then `berth run --rm busybox
# true` RUNS times each (after 2 warm-ups), interleaved, with --network none
# and with the default network, through build/bin/berth: median, p10, p90
# and the ratio.
# The bridge and the table are removed with the root on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
  esac
done
export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
r=$((RANDOM % 4096))
br=$(printf 'btn%x' "$r") table=$(printf 'berthnb%x' "$r")
export E2E_NET_ARGS="--bridge $br --bip 10.214.$((250 + RANDOM % 5)).1/24 --nft-table $table --veth-prefix $(printf 'vn%x' "$r") --ip-forward=false"
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
echo "$br" >>"$E2E_ROOT/net-links"
echo "$table" >>"$E2E_ROOT/net-tables"
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
