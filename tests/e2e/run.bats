#!/usr/bin/env bats
# docker run basics, each scenario with the berth CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
# each test starts from an empty container list, so one failure does not cascade
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

scenario_version() {
  local c=$1
  run cli "$c" version
  assert_success
  assert_output_contains "Server"
  assert_output_contains "1.50"   # berthd's API version
  if [ "$c" = docker ]; then
    # the CLI negotiated down to what berthd advertises (the CLI 28 speaks 1.50 itself)
    run docker_cmd version --format '{{.Server.APIVersion}} {{.Server.Os}}'
    assert_success
    assert_output "1.50 linux"
  fi
}
@test "berth: version shows berthd as the server" { scenario_version berth; }
@test "docker: version shows berthd as the server" { scenario_version docker; }

scenario_echo_hello() {
  local c=$1
  run cli "$c" run --rm busybox echo hello
  assert_success
  assert_output "hello"
  # --rm: nothing left in the list
  run cli "$c" ps -aq
  assert_success
  assert_output ""
}
@test "berth: run --rm busybox echo hello" { scenario_echo_hello berth; }
@test "docker: run --rm busybox echo hello" { scenario_echo_hello docker; }

scenario_exit_code() {
  local c=$1
  run cli "$c" run --rm busybox sh -c 'exit 3'
  assert_status 3
  run cli "$c" run --rm busybox false
  assert_status 1
}
@test "berth: run exits with the container's code" { scenario_exit_code berth; }
@test "docker: run exits with the container's code" { scenario_exit_code docker; }

scenario_missing_command() {
  local c=$1
  run -127 cli "$c" run --rm busybox nonexistentcmd
  assert_status 127
  run cli "$c" ps -aq
  assert_output ""
}
@test "berth: a missing command exits 127" { scenario_missing_command berth; }
@test "docker: a missing command exits 127" { scenario_missing_command docker; }

scenario_stdout_stderr() {
  local c=$1
  run --separate-stderr cli "$c" run --rm busybox sh -c 'echo out; echo err >&2'
  assert_success
  assert_output "out"
  [ "$stderr" = err ] || _e2e_fail "expected stderr 'err'"
}
@test "berth: stdout and stderr stay apart" { scenario_stdout_stderr berth; }
@test "docker: stdout and stderr stay apart" { scenario_stdout_stderr docker; }

scenario_pid1() {
  local c=$1
  run cli "$c" run --rm busybox sh -c 'echo $$'
  assert_success
  assert_output "1"
}
@test "berth: the container's shell is pid 1" { scenario_pid1 berth; }
@test "docker: the container's shell is pid 1" { scenario_pid1 docker; }

# like Docker, a container's own network namespace has lo up with 127.0.0.1
# (default network and --network none)
scenario_loopback_up() {
  local c=$1 net
  for net in default none; do
    run cli "$c" run --rm --network "$net" busybox ip addr show lo
    assert_success
    assert_output_contains "inet 127.0.0.1/8"
    assert_output_contains ",UP"
  done
}
@test "berth: loopback is up in the container" { scenario_loopback_up berth; }
@test "docker: loopback is up in the container" { scenario_loopback_up docker; }

scenario_ps_isolated() {
  local c=$1
  run cli "$c" run --rm busybox ps -o pid,comm
  assert_success
  local procs
  procs=$(tail -n +2 <<<"$output" | awk '{$1=$1; print}')
  [ "$procs" = "1 ps" ] || _e2e_fail "ps in the container should list only itself as pid 1, got: $procs"
}
@test "berth: ps sees only the container's processes" { scenario_ps_isolated berth; }
@test "docker: ps sees only the container's processes" { scenario_ps_isolated docker; }

scenario_hostname() {
  local c=$1 id
  run cli "$c" run -d busybox hostname
  assert_success
  id=$(tail -n1 <<<"$output")
  [[ $id =~ ^[0-9a-f]{64}$ ]] || _e2e_fail "run -d should print a 64-hex id"
  run cli "$c" wait "$id"
  assert_success
  assert_output "0"
  run cli "$c" logs "$id"
  assert_success
  assert_output "${id:0:12}"
  run cli "$c" rm "$id"
  assert_success
}
@test "berth: hostname is the short container id" { scenario_hostname berth; }
@test "docker: hostname is the short container id" { scenario_hostname docker; }

scenario_import() {
  local c=$1 tar
  tar=$(busybox_tar)
  run cli "$c" import -c 'CMD ["sh"]' "$tar" "imp-$c:latest"
  assert_success
  assert_output_contains "sha256:"
  run cli "$c" run --rm "imp-$c" sh -c 'echo imported'
  assert_success
  assert_output "imported"
  run cli "$c" rmi "imp-$c:latest"
  assert_success
}
@test "berth: import a rootfs tar and run it" { scenario_import berth; }
@test "docker: import a rootfs tar and run it" { scenario_import docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
