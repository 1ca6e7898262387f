#!/usr/bin/env bats
# --runtime runc|crun: the same config.json through an external OCI runtime
# gives the same results as the built-in one. Each scenario with the berth
# CLI and the docker CLI; a runtime that is not installed fails the test.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# What a container sees of its confinement and environment. (/dev/core is
# left out: runc and berth link it only when /proc/kcore exists, crun always.)
PROBE='id -u; hostname | wc -c; grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status;
  wc -c </proc/keys; (echo x >/proc/sys/kernel/domainname) 2>/dev/null || echo sys-ro;
  mount -t tmpfs none /tmp 2>/dev/null || echo mount-denied; cat /proc/1/cmdline | tr "\0" " "; echo;
  ls /dev | grep -vx core | sort | tr "\n" " "; echo; cat /etc/hostname >/dev/null && echo etc-ok; echo err >&2'

# need_runtime NAME: the runc or crun binary (Debian packages of the same
# names, in scripts/deps.sh); a missing one fails the test.
need_runtime() { require_cmd "$1"; }

scenario_same_results() {
  local c=$1 rt=$2 builtin ext
  need_runtime "$rt"
  run --separate-stderr cli "$c" run --rm busybox sh -c "$PROBE"
  assert_success
  builtin=$output
  [ "$stderr" = err ] || _e2e_fail "built-in stderr: $stderr"
  run --separate-stderr cli "$c" run --rm --runtime "$rt" busybox sh -c "$PROBE"
  assert_success
  ext=$output
  [ "$stderr" = err ] || _e2e_fail "$rt stderr: $stderr"
  [ "$builtin" = "$ext" ] || _e2e_fail "$rt differs from the built-in runtime:
--- built-in
$builtin
--- $rt
$ext"
  run cli "$c" run --rm --runtime "$rt" busybox sh -c 'exit 3'
  assert_status 3
  run cli "$c" run --rm --runtime "$rt" -m 32m busybox dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_status 137
}
@test "berth: --runtime runc gives the built-in runtime's results" { scenario_same_results berth runc; }
@test "docker: --runtime runc gives the built-in runtime's results" { scenario_same_results docker runc; }
@test "berth: --runtime crun gives the built-in runtime's results" { scenario_same_results berth crun; }
@test "docker: --runtime crun gives the built-in runtime's results" { scenario_same_results docker crun; }

scenario_lifecycle() {
  local c=$1 rt=$2
  need_runtime "$rt"
  run cli "$c" run -d --name lc --runtime "$rt" busybox sh -c 'echo up; exec sleep 60'
  assert_success
  run cli "$c" inspect -f '{{.HostConfig.Runtime}} {{.State.Status}}' lc
  assert_output "$rt running"
  wait_until 5 "lc to print up" eval "cli $c logs lc | grep -q up"
  run cli "$c" exec lc cat /proc/1/comm
  assert_output "sleep"
  run cli "$c" stop -t 1 lc
  assert_success
  run cli "$c" inspect -f '{{.State.ExitCode}}' lc
  assert_output "137"
  run cli "$c" start lc
  assert_success
  run cli "$c" rm -f lc
  assert_success
}
@test "berth: run -d / logs / exec / stop / start with --runtime runc" { scenario_lifecycle berth runc; }
@test "docker: run -d / logs / exec / stop / start with --runtime runc" { scenario_lifecycle docker runc; }
@test "berth: run -d / logs / exec / stop / start with --runtime crun" { scenario_lifecycle berth crun; }

scenario_unknown() {
  local c=$1
  run -125 cli "$c" run --rm --runtime nosuchruntime busybox true
  assert_status 125
  assert_output_contains "unknown or invalid runtime name: nosuchruntime"
}
@test "berth: an unknown --runtime is refused" { scenario_unknown berth; }
@test "docker: an unknown --runtime is refused" { scenario_unknown docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
