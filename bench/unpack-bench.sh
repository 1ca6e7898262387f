#!/usr/bin/env bash
# Layer unpack speed: berth's snapshotter (unpackLayer) against `tar -xf`.
#
#   bench/unpack-bench.sh [-n RUNS] [-s SMALL_FILES]
#
# Generates a ~100 MB layer tar in a temp dir: SMALL_FILES (default 3000)
# files of 1-16 KB in 30 directories plus four 10-30 MB files, random
# content from /dev/urandom, a few symlinks and hard links. Then, RUNS times
# (default 3, alternating), unpacks it with build/bin/berth-unpack-bench
# (built on demand: cmake --build BUILD --target berth-unpack-bench) and
# with GNU `tar -xf` (same-owner, as root), each into a fresh directory on
# the same filesystem, and prints the median times and the ratio (target:
# berth <= 1.5x tar). Neither side syncs. Removes everything it created.
#
# Environment: BUILD_DIR (default build), BENCH_TMP (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3 SMALL=3000
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -s) SMALL=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS] [-s SMALL_FILES]" >&2; exit 2 ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin/berth-unpack-bench"
if [ ! -x "$BIN" ]; then
  echo "bench: building berth-unpack-bench in $BUILD_DIR" >&2
  cmake -S . -B "$BUILD_DIR" >/dev/null
  cmake --build "$BUILD_DIR" -j1 --target berth-unpack-bench >/dev/null
fi

work=$(mktemp -d "${BENCH_TMP:-/tmp}/unpackbench.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
trap 'exit 130' INT TERM

echo "bench: generating the layer in $work" >&2
src=$work/src
mkdir -p "$src"
for d in $(seq 0 29); do mkdir -p "$src/dir$d/sub"; done
# small files: 1-16 KB each, from one urandom pool to keep generation fast
head -c $((16 * 1024 * 64)) /dev/urandom >"$work/pool"
for i in $(seq 1 "$SMALL"); do
  size=$(((RANDOM % 16 + 1) * 1024))
  off=$((RANDOM % 48))
  dd if="$work/pool" of="$src/dir$((i % 30))/f$i" bs=1024 skip=$off count=$((size / 1024)) status=none
done
for mb in 10 18 24 30; do head -c $((mb * 1024 * 1024)) /dev/urandom >"$src/big$mb.bin"; done
ln -s ../big10.bin "$src/dir0/link-big"
ln "$src/dir1/f1" "$src/dir1/hard-f1"
tar -C "$src" --numeric-owner -cf "$work/layer.tar" .
rm -rf "$src" "$work/pool"
bytes=$(stat -c %s "$work/layer.tar")
entries=$(tar -tf "$work/layer.tar" | wc -l)
# warm the page cache for both sides
cat "$work/layer.tar" >/dev/null

ms_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

berth_times=() tar_times=()
for ((r = 0; r < RUNS; r++)); do
  d=$work/berth$r
  mkdir "$d"
  berth_times+=("$("$BIN" "$work/layer.tar" "$d" 2>/dev/null)")
  rm -rf "$d"
  d=$work/tar$r
  mkdir "$d"
  s=$(ms_now)
  tar --same-owner --numeric-owner -xpf "$work/layer.tar" -C "$d"
  e=$(ms_now)
  tar_times+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", (e - s) / 1000 }')")
  rm -rf "$d"
done
b=$(printf '%s\n' "${berth_times[@]}" | median)
t=$(printf '%s\n' "${tar_times[@]}" | median)
printf '\nlayer: %s entries, %.1f MB (%s small files + 4 large), %s runs\n' \
  "$entries" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$SMALL" "$RUNS"
printf '%-28s %10s   (%s)\n' "berth unpackLayer (ms)" "$b" "${berth_times[*]}"
printf '%-28s %10s   (%s)\n' "tar -xf (ms)" "$t" "${tar_times[*]}"
awk -v b="$b" -v t="$t" 'BEGIN { r = b / t; printf "ratio berth/tar: %.2fx (target <= 1.5x): %s\n", r, r <= 1.5 ? "OK" : "OVER" }'
