#!/usr/bin/env bash
# The whole test suite: configure + build (build/), unit tests (ctest), the
# layering check (scripts/check-layering.py), the libFuzzer targets
# (tests/fuzz, a short run each over its seed corpus, built in build-fuzz/
# with clang), the end-to-end suite (bats tests/e2e/*.bats, each file
# against its own berthd),
# and tests/e2e/monitor_smoke.sh when present. Installs nothing.
# Ends with one line "N passed, N failed[, N skipped]"; exits non-zero when
# anything failed.
#
# Environment: BUILD_DIR (default build), BERTH_BIN_DIR (default
# $BUILD_DIR/bin), E2E (a glob or list of .bats files, default
# tests/e2e/*.bats), SKIP_BUILD=1, SKIP_UNIT=1, SKIP_E2E=1; the chaos loop
# (tests/chaos/chaos.bats): CHAOS_KILLS (default 20), CHAOS_BUDGET (seconds,
# default 90, 0 = none), CHAOS_SEED, SKIP_CHAOS=1;
# it is left out when E2E names a subset of files, unless CHAOS=1.
# tests/e2e/*.bats), SKIP_BUILD=1, SKIP_UNIT=1, SKIP_E2E=1, SKIP_FUZZ=1,
# FUZZ_BUILD_DIR (default build-fuzz), FUZZ_RUNS (inputs per target,
# default 3000), FUZZ_SECS (time guard per target, default 20).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build}
export BERTH_BIN_DIR=${BERTH_BIN_DIR:-$PWD/$BUILD_DIR/bin}
passed=0 failed=0 skipped=0
failures=()

summary() {
  echo
  if [ "${#failures[@]}" -gt 0 ]; then
    echo "Failed:"
    printf '  %s\n' "${failures[@]}"
  fi
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
}
finish() { summary; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit $?; }
fail_step() { failed=$((failed + 1)); failures+=("$1"); }
section() { printf '\n==== %s ====\n' "$*"; }

# 0. what the suite needs, and a clear word when it is not there
mapfile -t missing < <(berth_missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test.sh: missing Debian packages: ${missing[*]}" >&2
  echo "test.sh: install them with: scripts/setup.sh --deps-only   (as root)" >&2
  fail_step "missing packages: ${missing[*]}"
  finish
fi
if [ ! -x /usr/local/bin/docker ]; then
  echo "test.sh: /usr/local/bin/docker (docker CLI 28.x) not found: the docker-client e2e tests will fail" >&2
fi

# 1. build
if [ -z "${SKIP_BUILD:-}" ]; then
  section "build ($BUILD_DIR)"
  if ! { cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$BUILD_DIR" -j "$(nproc)"; }; then
    fail_step "build"
    finish
  fi
fi

# 2. the layering table of docs/architecture.md (scripts/check-layering.py)
if [ -z "${SKIP_UNIT:-}" ]; then
  section "layering (scripts/check-layering.py)"
  if python3 scripts/check-layering.py; then
    passed=$((passed + 1))
  else
    fail_step "layering: scripts/check-layering.py"
  fi
fi

# 3. unit tests
if [ -z "${SKIP_UNIT:-}" ]; then
  section "unit tests (ctest)"
  log=$(mktemp)
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 300 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # "95% tests passed, 1 tests failed out of 20"
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
  if [ -n "$line" ]; then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    passed=$((passed + total - nfail))
    failed=$((failed + nfail))
    while IFS= read -r t; do failures+=("unit: $t"); done < <(
      sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed -E 's/^\s+//')
  elif grep -q 'No tests were found' "$log"; then
    echo "(no unit tests registered)"
  fi
  if [ "$rc" -ne 0 ] && [ -z "$line" ]; then fail_step "ctest exited $rc"; fi
  rm -f "$log"
fi

# 3b. fuzz targets: each runs FUZZ_RUNS inputs (its seeds first), one test each
if [ -z "${SKIP_FUZZ:-}" ]; then
  # shellcheck source=scripts/fuzz-lib.sh
  source scripts/fuzz-lib.sh
  FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
  FUZZ_RUNS=${FUZZ_RUNS:-3000} FUZZ_SECS=${FUZZ_SECS:-20}
  section "fuzz targets ($FUZZ_BUILD_DIR, clang, $FUZZ_RUNS runs or ${FUZZ_SECS}s each)"
  fuzz_t0=$SECONDS
  if ! fuzz_build "$FUZZ_BUILD_DIR" "$(nproc)"; then
    fail_step "fuzz: build ($FUZZ_BUILD_DIR)"
  else
    echo "fuzz: build took $((SECONDS - fuzz_t0)) s"
    fuzz_work=$(mktemp -d /tmp/bf.XXXXXX)
    for t in $(fuzz_targets); do
      if fuzz_run "$FUZZ_BUILD_DIR" "$t" "$FUZZ_RUNS" "$FUZZ_SECS" "$fuzz_work"; then
        passed=$((passed + 1))
      else
        fail_step "fuzz: $t (inputs kept in $fuzz_work)"
        keep_fuzz_work=1
      fi
    done
    [ -n "${keep_fuzz_work:-}" ] || rm -rf --one-file-system "$fuzz_work"
  fi
  echo "fuzz: section took $((SECONDS - fuzz_t0)) s"
fi

# 4. end-to-end
if [ -z "${SKIP_E2E:-}" ]; then
  section "end-to-end (bats, berthd from $BERTH_BIN_DIR)"
  # Every per-file temp root lives under one run directory, so whatever a
  # killed bats leaves behind is torn down here.
  BERTH_E2E_TMP=$(mktemp -d /tmp/be.XXXXXX)
  export BERTH_E2E_TMP BERTH_E2E_CACHE="$BERTH_E2E_TMP/cache"
  # the busybox rootfs every file imports, built once before the lanes start
  mkdir -p "$BERTH_E2E_CACHE"
  scripts/mk-busybox-rootfs.sh "$BERTH_E2E_CACHE/busybox-rootfs.tar" >/dev/null ||
    fail_step "scripts/mk-busybox-rootfs.sh"
  # shellcheck disable=SC2317  # called by the EXIT trap
  e2e_sweep() {
    local d
    for d in "$BERTH_E2E_TMP"/bt.*; do
      [ -d "$d" ] || continue
      echo "test.sh: cleaning up after $d" >&2
      bash -c 'source tests/e2e/helpers.bash && e2e_cleanup_root "$1"' _ "$d"
    done
    rm -rf --one-file-system "$BERTH_E2E_TMP"
  }
  trap e2e_sweep EXIT
  trap 'exit 130' INT TERM

  # shellcheck disable=SC2206
  files=(${E2E:-tests/e2e/*.bats})
  log="$BERTH_E2E_TMP/bats.tap"
  # Files run in E2E_JOBS parallel lanes (GNU parallel, through bats
  # --jobs); the tests of one file always run in order, against that file's
  # own berthd. Every file is isolated (its own roots, socket, cgroup parent,
  # bridge and subnet), and most of a test's time is spent waiting on
  # processes, so lanes overlap well even on 2 cores. E2E_JOBS=1: one lane.
  jobs=${E2E_JOBS:-$(( $(nproc) > 2 ? ($(nproc) > 4 ? 4 : $(nproc)) : 2 ))}
  par=()
  if [ "$jobs" -gt 1 ] && [ "${#files[@]}" -gt 1 ]; then
    par=(--jobs "$jobs" --no-parallelize-within-files)
    echo "e2e: ${#files[@]} files in $jobs lanes (E2E_JOBS)"
  fi
  # BATS_TEST_TIMEOUT: no single test may hang the run; timeout(1): nor bats.
  BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180} timeout -k 30 1200 \
    bats --tap --timing "${par[@]}" "${files[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  ok=$(grep -cE '^ok [0-9]+' "$log")
  sk=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
  nok=$(grep -cE '^not ok [0-9]+' "$log")
  passed=$((passed + ok - sk)); skipped=$((skipped + sk)); failed=$((failed + nok))
  while IFS= read -r t; do failures+=("e2e: $t"); done < <(grep -E '^not ok [0-9]+' "$log" | sed -E 's/^not ok [0-9]+ //')
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then fail_step "bats exited $rc (setup_file failure or timeout?)"; fi
  planned=$(grep -oE '^1\.\.[0-9]+' "$log" | head -n1 | cut -d. -f3)
  if [ -n "$planned" ] && [ "$((ok + nok))" -lt "$planned" ]; then
    fail_step "e2e: only $((ok + nok)) of $planned tests reported"
  fi

  if [ -f tests/e2e/monitor_smoke.sh ]; then
    section "tests/e2e/monitor_smoke.sh"
    if timeout -k 10 300 bash tests/e2e/monitor_smoke.sh; then
      passed=$((passed + 1))
    else
      fail_step "tests/e2e/monitor_smoke.sh"
    fi
  fi
fi

# 5. chaos: berthd SIGKILLed CHAOS_KILLS times under mixed work
#    (tests/chaos/chaos.bats, docs/testing.md). Its temp root goes under a
#    run directory swept at exit, like the e2e suite's.
if [ -n "${SKIP_CHAOS:-}" ]; then
  :
elif [ -n "${E2E:-}" ] && [ -z "${CHAOS:-}" ]; then
  echo; echo "(chaos loop not run: E2E names a subset of files; CHAOS=1 runs it too)"
else
  export CHAOS_KILLS=${CHAOS_KILLS:-20}
  section "chaos (tests/chaos/chaos.bats, CHAOS_KILLS=$CHAOS_KILLS, CHAOS_BUDGET=${CHAOS_BUDGET:-90}${CHAOS_SEED:+, CHAOS_SEED=$CHAOS_SEED})"
  chaos_t0=$SECONDS
  chaos_tmp=$(mktemp -d /tmp/bc.XXXXXX)
  # shellcheck disable=SC2317  # called by the EXIT trap
  chaos_sweep() {
    local d
    ! declare -F e2e_sweep >/dev/null || e2e_sweep   # the e2e run's roots, when it ran
    for d in "$chaos_tmp"/bt.*; do
      [ -d "$d" ] || continue
      echo "test.sh: cleaning up after $d" >&2
      bash -c 'source tests/e2e/helpers.bash && e2e_cleanup_root "$1"' _ "$d"
    done
    rm -rf --one-file-system "$chaos_tmp"
  }
  trap chaos_sweep EXIT
  trap 'exit 130' INT TERM
  # the busybox rootfs tar the e2e run built is reused when there is one
  BERTH_E2E_CACHE=${BERTH_E2E_CACHE:-$chaos_tmp/cache} BERTH_E2E_TMP=$chaos_tmp \
    BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180} timeout -k 30 600 \
    bats --tap tests/chaos/chaos.bats 2>&1 | tee "$chaos_tmp/chaos.tap"
  rc=${PIPESTATUS[0]}
  ok=$(grep -cE '^ok [0-9]+' "$chaos_tmp/chaos.tap")
  nok=$(grep -cE '^not ok [0-9]+' "$chaos_tmp/chaos.tap")
  passed=$((passed + ok)); failed=$((failed + nok))
  while IFS= read -r t; do failures+=("chaos: $t"); done < <(grep -E '^not ok [0-9]+' "$chaos_tmp/chaos.tap" | sed -E 's/^not ok [0-9]+ //')
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then fail_step "chaos: bats exited $rc (setup_file failure or timeout?)"; fi
  planned=$(grep -oE '^1\.\.[0-9]+' "$chaos_tmp/chaos.tap" | head -n1 | cut -d. -f3)
  if [ "$((ok + nok))" -lt "${planned:-1}" ]; then fail_step "chaos: only $((ok + nok)) of ${planned:-?} tests reported"; fi
  echo "chaos: $((SECONDS - chaos_t0)) s"
fi

# pytest_suite TAG RUN_SH TMP_PREFIX: run a pytest suite's run.sh (which
# starts its own berthd through the e2e harness under BERTH_E2E_TMP), add
# its counts and failures ("TAG: test") to the totals, and sweep what it
# left under its temp dir.
pytest_suite() {
  local tag=$1 run_sh=$2 tmp d rc last np nf ne t
  tmp=$(mktemp -d "/tmp/$3.XXXXXX")
  BERTH_E2E_TMP=$tmp BERTH_E2E_CACHE=${BERTH_E2E_CACHE:-$tmp/cache} bash "$run_sh" 2>&1 | tee "$tmp/pytest.log"
  rc=${PIPESTATUS[0]}
  last=$(grep -E '[0-9]+ (passed|failed|error)' "$tmp/pytest.log" | tail -n1)
  np=$(grep -oE '[0-9]+ passed' <<<"$last" | cut -d' ' -f1)
  nf=$(grep -oE '[0-9]+ failed' <<<"$last" | cut -d' ' -f1)
  ne=$(grep -oE '[0-9]+ errors?' <<<"$last" | cut -d' ' -f1)
  passed=$((passed + ${np:-0})); failed=$((failed + ${nf:-0} + ${ne:-0}))
  while IFS= read -r t; do failures+=("$tag: $t"); done < <(grep -E '^(FAILED|ERROR) ' "$tmp/pytest.log")
  if [ "$rc" -ne 0 ] && [ -z "${nf:-}${ne:-}" ]; then fail_step "$run_sh exited $rc"; fi
  for d in "$tmp"/bt.*; do
    [ -d "$d" ] || continue
    bash -c 'source tests/e2e/helpers.bash && e2e_cleanup_root "$1"' _ "$d"
  done
  rm -rf --one-file-system "$tmp"
}

# The docker-py suite (tests/py/run.sh: its own berthd and loopback
# registry). Skipped with SKIP_PY=1, and when E2E names files unless PY=1.
if [ -z "${SKIP_PY:-}" ] && { [ -z "${E2E:-}" ] || [ -n "${PY:-}" ]; }; then
  section "docker-py (tests/py, pytest)"
  pytest_suite py tests/py/run.sh bp
fi

# The CRI suite (tests/cri/run.sh: its own berthd, CRI socket and loopback
# registry; pytest with python3-grpcio). Skipped with SKIP_CRI=1, and when E2E
# names files unless CRI=1.
if [ -z "${SKIP_CRI:-}" ] && { [ -z "${E2E:-}" ] || [ -n "${CRI:-}" ]; }; then
  section "CRI (tests/cri, pytest + grpc)"
  pytest_suite cri tests/cri/run.sh bc
fi
finish
