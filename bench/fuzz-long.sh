#!/usr/bin/env bash
# Long runs of the libFuzzer targets (tests/fuzz, docs/testing.md
# "Fuzzing"): each target for RUNS executions (default 10^6) or SECS seconds
# (default 300), whichever ends first; after a crash, leak, timeout or OOM
# the target is restarted for what is left of its budget, so one bug does
# not hide the next. Prints a table: target, executions, crashes, seconds.
# The inputs found (crash-*, leak-*, timeout-*, oom-*) and new corpus units
# stay in the work directory printed at the start.
#
# Usage: bench/fuzz-long.sh [-n RUNS] [-t SECS] [-j JOBS] [TARGET...]
#   -j: build jobs (default 1); the build goes to $FUZZ_BUILD_DIR (build-fuzz).
#   FUZZ_NO_BUILD=1 runs the binaries already in $FUZZ_BUILD_DIR/bin.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/fuzz-lib.sh
source scripts/fuzz-lib.sh

runs=1000000 secs=300 jobs=1
while getopts "n:t:j:" o; do
  case $o in
    n) runs=$OPTARG ;;
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-t SECS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
dir=${FUZZ_BUILD_DIR:-build-fuzz}
[ -n "${FUZZ_NO_BUILD:-}" ] || fuzz_build "$dir" "$jobs" >/dev/null || { echo "fuzz-long: build of $dir failed" >&2; exit 1; }
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(fuzz_targets)
work=$(mktemp -d /tmp/fuzz-long.XXXXXX)
echo "fuzz-long: $runs executions or ${secs}s per target (time cap), work dir $work"

rows=()
for t in "${targets[@]}"; do
  done_runs=0 crashes=0 t0=$SECONDS round=0 seen=()
  while [ "$done_runs" -lt "$runs" ] && [ $((SECONDS - t0)) -lt "$secs" ]; do
    round=$((round + 1))
    left_t=$((secs - (SECONDS - t0)))
    if fuzz_run "$dir" "$t" $((runs - done_runs)) "$left_t" "$work" >/dev/null; then rc=0; else rc=$?; fi
    n=$(fuzz_stat "$work/$t.log" number_of_executed_units)
    if [ -z "$n" ]; then  # no final stats after a crash: the last status line
      n=$(grep -oE '^#[0-9]+' "$work/$t.log" | tail -n1 | tr -d '#')
    fi
    done_runs=$((done_runs + ${n:-0}))
    cp "$work/$t.log" "$work/$t.round$round.log"
    if [ "$rc" -ne 0 ]; then
      crashes=$((crashes + 1))
      echo "fuzz-long: $t: finding $crashes (exit $rc):" >&2
      grep -E '^(==[0-9]+==ERROR|SUMMARY)|runtime error:|Test unit written' "$work/$t.log" | head -n 4 >&2
      # The same input again (libFuzzer names artifacts by content): it is
      # in the seeds or the saved corpus, so every restart would stop on it.
      art=$(grep -oE 'Test unit written to [^ ]+' "$work/$t.log" | tail -n1 | cut -d' ' -f5)
      if [ -n "$art" ] && [[ " ${seen[*]:-} " == *" $art "* ]]; then
        echo "fuzz-long: $t: stops on an input it already reported ($art)" >&2
        break
      fi
      seen+=("$art")
      [ "${n:-0}" -gt 0 ] || break
    else
      break
    fi
  done
  rows+=("$(printf '%-11s %10d %8d %6d' "$t" "$done_runs" "$crashes" $((SECONDS - t0)))")
done
printf '\n%-11s %10s %8s %6s\n' target executions crashes secs
printf '%s\n' "${rows[@]}"
