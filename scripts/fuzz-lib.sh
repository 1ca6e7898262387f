# shellcheck shell=bash
# The libFuzzer targets of tests/fuzz, built and run; sourced by
# scripts/test.sh (a short run of each target over its seed corpus) and
# bench/fuzz-long.sh (long runs). docs/testing.md "Fuzzing".
#
#   fuzz_build DIR [JOBS]        configure DIR with clang++-14 (-DBERTH_FUZZ=ON), build it
#   fuzz_targets                 the target names (tests/fuzz/NAME.cpp, seeds in corpus/NAME)
#   fuzz_run DIR NAME RUNS SECS WORK
#       runs DIR/bin/fuzz_NAME over tests/fuzz/corpus/NAME for RUNS inputs or
#       SECS seconds, whichever ends first. New inputs go to WORK/corpus-NAME
#       (the seed corpus in the repo is only read), crash/leak/timeout
#       inputs to WORK/NAME-crash-*, the log to WORK/NAME.log. Returns
#       libFuzzer's status (0: nothing found). Prints one summary line.

FUZZ_CXX=${FUZZ_CXX:-clang++-14}

fuzz_build() {
  local dir=$1 jobs=${2:-2}
  # ccache without the build dir in its hash: build-fuzz in any checkout
  # under ccache's base_dir reuses the objects of another (the debug line
  # tables may then name that checkout's build dir; the paths stay relative).
  CCACHE_NOHASHDIR=1 cmake -S . -B "$dir" -DBERTH_FUZZ=ON -DCMAKE_CXX_COMPILER="$FUZZ_CXX" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    CCACHE_NOHASHDIR=1 cmake --build "$dir" -j "$jobs"
}

fuzz_targets() {
  local f
  for f in tests/fuzz/*.cpp; do basename "$f" .cpp; done
}

# fuzz_stat LOG NAME: a value of libFuzzer's -print_final_stats=1 block.
fuzz_stat() { grep -oE "^stat::$2: *[0-9]+" "$1" | tail -n1 | grep -oE '[0-9]+$'; }

fuzz_run() {
  local dir=$1 name=$2 runs=$3 secs=$4 work=$5 rc
  mkdir -p "$work/corpus-$name" "$work/tmp-$name"
  # halt_on_error/abort: any UBSan report fails the target; leaks are on
  # (ASan's default); the tar target unpacks under TMPDIR.
  TMPDIR="$work/tmp-$name" \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$dir/bin/fuzz_$name" "$work/corpus-$name" "tests/fuzz/corpus/$name" \
    -runs="$runs" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/$name-" >"$work/$name.log" 2>&1
  rc=$?
  rm -rf --one-file-system "$work/tmp-$name"
  local execs
  execs=$(fuzz_stat "$work/$name.log" number_of_executed_units)
  if [ "$rc" -eq 0 ]; then
    printf 'fuzz %-11s ok     %8s runs\n' "$name" "${execs:-?}"
  else
    printf 'fuzz %-11s FAILED (exit %d) after %s runs; log %s\n' "$name" "$rc" "${execs:-?}" "$work/$name.log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:)|artifact_prefix|Test unit written' "$work/$name.log" | head -n 8
  fi
  return "$rc"
}
