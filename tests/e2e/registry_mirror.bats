#!/usr/bin/env bats
# daemon.json registry-mirrors: Docker Hub names are pulled from the mirrors
# first, in order, falling back to the next endpoint when one lacks the
# image. Two local registries stand in for the mirrors (nothing may reach
# Docker Hub, so the last fallback, Hub itself, is never exercised here).
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  e2e_setup_file
  reg_start empty
  reg_start full
  gzip -n -c "$(busybox_tar)" >"$E2E_ROOT/busybox.tar.gz"
  reg_push_image "$REG_FULL" library/mirrored v1 amd64 "$E2E_ROOT/busybox.tar.gz" >/dev/null
  cat >"$E2E_ROOT/daemon.json" <<JSON
{
  "registry-mirrors": ["http://$REG_EMPTY", "http://$REG_FULL/"],
  "max-concurrent-downloads": 2
}
JSON
  local pid
  pid=$(berthd_pid)
  kill -TERM "$pid"
  wait_until 10 "berthd $pid to exit after SIGTERM" eval "! kill -0 $pid 2>/dev/null" || return 1
  E2E_BERTHD_ARGS="--config-file $E2E_ROOT/daemon.json" berthd_start
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

scenario_mirror() {
  local c=$1
  cli "$c" rmi -f mirrored:v1 >/dev/null 2>&1 || true
  run cli "$c" pull mirrored:v1
  assert_success
  assert_output_contains "Status: Downloaded newer image for mirrored:v1"
  # The first mirror was asked and lacked it; the second served it.
  grep -q 'GET /v2/library/mirrored/manifests/v1 .* 404' "$(reg_dir empty)/log" ||
    _e2e_fail "empty mirror was not asked: $(tail -n 5 "$(reg_dir empty)/log")"
  grep -q 'GET /v2/library/mirrored/manifests/v1 .* 200' "$(reg_dir full)/log" ||
    _e2e_fail "full mirror did not serve the manifest"
  grep -q 'GET /v2/library/mirrored/blobs/sha256:' "$(reg_dir full)/log" || _e2e_fail "no blob from the mirror"
  run cli "$c" run --rm mirrored:v1 echo from-mirror
  assert_success
  assert_output "from-mirror"
  run cli "$c" image inspect --format '{{index .RepoDigests 0}}' mirrored:v1
  assert_output_contains "mirrored@sha256:"
}
@test "berth: a Hub name is pulled from the first mirror that has it" { scenario_mirror berth; }
@test "docker: a Hub name is pulled from the first mirror that has it" { scenario_mirror docker; }

@test "a malformed daemon.json registry setting stops berthd with a clear error" {
  echo '{"max-concurrent-downloads": "three"}' >"$E2E_ROOT/bad.json"
  run "$BERTH_BIN_DIR/berthd" --config-file "$E2E_ROOT/bad.json" --host "unix://$E2E_ROOT/bad.sock" \
    --data-root "$E2E_ROOT/bad-data" --exec-root "$E2E_ROOT/bad-exec" --pidfile "$E2E_ROOT/bad.pid"
  [ "$status" -ne 0 ]
  assert_output_contains "max-concurrent-downloads must be a positive integer"
  [ ! -e "$E2E_ROOT/bad.sock" ]
}

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
