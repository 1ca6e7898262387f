#!/usr/bin/env bats
# The container's own cgroup under /sys/fs/cgroup, read-only, as Docker
# mounts it (this machine: cgroup v1 hierarchies; v2 takes the other path
# of runtime/mounts.cpp mountCgroupTree), with --cgroupns host and private.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

v2() { [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; }

limit_file() { if v2; then echo /sys/fs/cgroup/memory.max; else echo /sys/fs/cgroup/memory/memory.limit_in_bytes; fi; }
procs_file() { if v2; then echo /sys/fs/cgroup/cgroup.procs; else echo /sys/fs/cgroup/pids/cgroup.procs; fi; }

scenario_cgroupfs() {
  local c=$1 mode
  for mode in host private; do
    run cli "$c" run --rm --cgroupns "$mode" -m 64m busybox cat "$(limit_file)"
    assert_success
    assert_output "67108864"
    # only the container's own processes (pid 1 = cat itself)
    run cli "$c" run --rm --cgroupns "$mode" busybox cat "$(procs_file)"
    assert_output "1"
    # read-only
    run cli "$c" run --rm --cgroupns "$mode" busybox sh -c "echo 1 > $(limit_file)"
    [ "$status" -ne 0 ] || _e2e_fail "the cgroup files should be read-only ($mode)"
    assert_output_contains "Read-only file system"
  done
  # a private namespace shows its own cgroup as /
  run cli "$c" run --rm --cgroupns private busybox sh -c 'grep -c ":/$" /proc/self/cgroup'
  [ "$output" -ge 1 ] || _e2e_fail "a private cgroup namespace should show /"
  run cli "$c" run --rm --cgroupns private busybox cat /proc/self/cgroup
  refute_output_contains "$E2E_CGP"
  run cli "$c" run --rm --cgroupns host busybox cat /proc/self/cgroup
  assert_output_contains "$E2E_CGP"
  run cli "$c" create --cgroupns bogus busybox true
  assert_status 125
}
@test "berth: /sys/fs/cgroup shows the container's cgroup read-only (host and private cgroupns)" { scenario_cgroupfs berth; }
@test "docker: /sys/fs/cgroup shows the container's cgroup read-only (host and private cgroupns)" { scenario_cgroupfs docker; }

@test "HostConfig.CgroupnsMode: inspect and a bad value over the raw API" {
  docker_cmd create --name cgp --cgroupns private busybox true
  run docker_cmd inspect -f '{{.HostConfig.CgroupnsMode}}' cgp
  assert_output "private"
  docker_cmd rm cgp
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"CgroupnsMode":"bogus"}}'
  [ "${lines[-1]}" = 400 ] || _e2e_fail "expected 400"
  assert_output_contains "invalid cgroup namespace mode: bogus"
}
