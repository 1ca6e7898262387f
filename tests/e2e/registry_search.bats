#!/usr/bin/env bats
# docker search against a registry index on 127.0.0.1 (tests/e2e/search_index.py:
# CNCF distribution has no search API, so a small stand-in serves /v1/search).
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  require_cmd python3 || return 1
  e2e_setup_file
  local pid
  python3 "$E2E_DIR/search_index.py" "$E2E_ROOT/index.port" </dev/null >"$E2E_ROOT/index.log" 2>&1 3>&- 4>&- &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >>"$E2E_ROOT/token.pids"   # stopped by e2e_cleanup_root like the token server
  wait_until 20 "search_index.py to write its port" test -s "$E2E_ROOT/index.port" || return 1
  INDEX="127.0.0.1:$(cat "$E2E_ROOT/index.port")"
  export INDEX
}
teardown_file() {
  local pid
  for pid in $(cat "$E2E_ROOT/token.pids" 2>/dev/null); do
    _e2e_is_cmd "$pid" python3 && kill "$pid" 2>/dev/null
  done
  e2e_teardown_file
}
teardown() { e2e_teardown; }

scenario_search() {
  local c=$1
  run cli "$c" search "$INDEX/busybox"
  assert_success
  [ "${lines[0]%% *}" = NAME ] || _e2e_fail "header: ${lines[0]}"
  assert_output_contains "[OK]"
  [ "${#lines[@]}" -eq 26 ] || _e2e_fail "expected 25 results + header, got ${#lines[@]} lines"
  run cli "$c" search --limit 3 "$INDEX/busybox"
  assert_success
  [ "${#lines[@]}" -eq 4 ] || _e2e_fail "expected 3 results + header, got ${#lines[@]}"
  run cli "$c" search --filter is-official=true "$INDEX/busybox"
  assert_success
  [ "${#lines[@]}" -eq 2 ] || _e2e_fail "expected only the official image, got ${#lines[@]} lines"
  [[ ${lines[1]} == busybox* ]] || _e2e_fail "official row: ${lines[1]}"
  run cli "$c" search --limit 101 "$INDEX/busybox"
  assert_status 1
  assert_output_contains "limit 101 is outside the range of [1, 100]"
}
@test "berth: search: 25 results by default, --limit, --filter is-official=true, limit range" { scenario_search berth; }
@test "docker: search: 25 results by default, --limit, --filter is-official=true, limit range" { scenario_search docker; }

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
