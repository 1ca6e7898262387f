# shellcheck shell=bash
# Helpers shared by the bench scripts (sourced after tests/e2e/helpers.bash).

# times_ms CMD...: run CMD $RUNS times (2 warm-ups first), print the
# durations in ms, one a line. $EPOCHREALTIME: no fork to read the clock.
times_ms() {
  local i s e
  for i in 1 2; do "$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; return 1; }; done
  for ((i = 0; i < RUNS; i++)); do
    s=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; return 1; }
    e=$EPOCHREALTIME
    echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }'
}

# times_ms_interleaved DIR CMD1 [CMD2...]: each CMDk a string (word-split):
# $RUNS rounds, each running every command once in turn (the first first
# on odd rounds, the last first on even ones), 2 warm-up rounds first.
# Writes DIR/k.ms (durations in ms, one a line) per command. A machine
# that slows down for a while slows each command's runs alike, so their
# ratio holds where blocks of runs one after the other would not.
times_ms_interleaved() {
  local dir=$1 i k n s e
  shift
  local -a cmds=("$@")
  n=${#cmds[@]}
  for ((k = 0; k < n; k++)); do : >"$dir/$k.ms"; done
  for ((i = -2; i < RUNS; i++)); do
    for ((j = 0; j < n; j++)); do
      k=$(((i % 2 == 0) ? n - 1 - j : j))
      s=$EPOCHREALTIME
      # shellcheck disable=SC2086
      ${cmds[k]} >/dev/null 2>&1 || { echo "bench: '${cmds[k]}' failed" >&2; return 1; }
      e=$EPOCHREALTIME
      ((i < 0)) || awk -v s="${s/./}" -v e="${e/./}" 'BEGIN { printf "%.2f\n", (e - s) / 1000 }' >>"$dir/$k.ms"
    done
  done
}

# stats: "median p10 p90" of the numbers on stdin ("- - -" for none)
stats() {
  sort -n | awk '{ v[NR] = $1 }
    END {
      n = NR; if (n == 0) { print "- - -"; exit }
      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      p10 = v[int(0.1 * (n - 1)) + 1]; p90 = v[n - int(0.1 * (n - 1))]
      printf "%.1f %.1f %.1f\n", m, p10, p90
    }'
}

# bench_cleanup: trap handler removing the private berthd's root
bench_cleanup() { [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"; }

# bench_usage_runs DEFAULT MIN "$@": the argument parsing of a bench whose
# only option is -n RUNS: sets RUNS (DEFAULT when not given, at least MIN),
# prints the script's header comment for -h and exits 2 on anything else.
bench_usage_runs() {
  local min=$2
  RUNS=$1
  shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      -n) RUNS=$2; shift 2 ;;
      -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
      *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
    esac
  done
  [[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge "$min" ] || { echo "$0: -n takes a number, at least $min" >&2; exit 2; }
}

# bench_need_bins [EXTRA...]: exits unless berthd, berth, berth-monitor and
# the EXTRA files are built in $BERTH_BIN_DIR.
bench_need_bins() {
  local b
  for b in berthd berth berth-monitor "$@"; do
    [ -x "$BERTH_BIN_DIR/$b" ] || [ -f "$BERTH_BIN_DIR/$b" ] || { echo "bench: $BERTH_BIN_DIR/$b not built" >&2; exit 1; }
  done
}

# kernel_floor_prepare DIR: builds bench/kernel_floor.c into DIR and unpacks
# the busybox rootfs (DIR/busybox.tar, kept) into DIR/rootfs; DIR/fw is the
# program's overlay scratch.
kernel_floor_prepare() {
  cc -O2 -o "$1/kernel_floor" bench/kernel_floor.c
  mkdir -p "$1/rootfs" "$1/fw"
  scripts/mk-busybox-rootfs.sh "$1/busybox.tar" >/dev/null
  tar -C "$1/rootfs" -xf "$1/busybox.tar"
}

# kernel_floor_stats DIR NAME [full]: "median p10 p90" (ms) of $RUNS runs of
# the floor program after 3 warm-ups; NAME names its cgroups, "full" adds a
# container's whole mount list.
kernel_floor_stats() {
  "$1/kernel_floor" "$1/rootfs" "$1/fw" "$2" 3 ${3:+"$3"} >/dev/null 2>&1
  "$1/kernel_floor" "$1/rootfs" "$1/fw" "$2" "$RUNS" ${3:+"$3"} 2>/dev/null | stats
}
