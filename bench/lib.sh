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
