#!/usr/bin/env bats
# Live restore: containers and their logs survive berthd being SIGKILLed.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# ps_line CLIENT NAME [ps args...]: the `ps` table row of container NAME.
ps_line() {
  local c=$1 name=$2; shift 2
  cli "$c" ps "$@" | awk -v n="$name" '$NF == n'
}

logs_have_one() { [[ $(cli "$1" logs "$2" 2>&1) == *one* ]]; }

scenario_restore() {
  local c=$1 x="x-$1" id line old_pid
  run cli "$c" run -d --name "$x" busybox sh -c 'echo one; sleep 300'
  assert_success
  id=$(tail -n1 <<<"$output")
  wait_until 10 "the logs of $x to show 'one'" logs_have_one "$c" "$x"

  old_pid=$(berthd_pid)
  berthd_kill9
  ! berthd_ping || _e2e_fail "berthd still answers after SIGKILL"
  berthd_start
  [ "$(berthd_pid)" != "$old_pid" ] || _e2e_fail "berthd was not restarted"

  # still running and listed
  run ps_line "$c" "$x"
  assert_success
  [[ $output == *"Up "* ]] || _e2e_fail "$x should be listed as Up after the restart"
  run cli "$c" inspect -f '{{.State.Running}} {{.Id}}' "$x"
  assert_success
  assert_output "true $id"
  # the log written before the crash is still there
  run cli "$c" logs "$x"
  assert_success
  assert_output "one"
  # the restored container can be stopped: sh as pid 1 ignores SIGTERM, so
  # this takes the SIGKILL after 1 s
  run cli "$c" stop -t 1 "$x"
  assert_success
  run ps_line "$c" "$x"
  assert_output ""
  run ps_line "$c" "$x" -a
  assert_success
  [[ $output == *"Exited ("* ]] || _e2e_fail "$x should be listed as Exited"
  run cli "$c" rm "$x"
  assert_success
}
@test "berth: a container survives berthd SIGKILL + restart, then stops" { scenario_restore berth; }
@test "docker: a container survives berthd SIGKILL + restart, then stops" { scenario_restore docker; }

scenario_exit_while_down() {
  # a container that ends while berthd is down is reported with its code:
  # it exits 7 once /tmp/go exists, which the test creates (through the
  # host's view of its root) only after berthd is gone
  local c=$1 y="y-$1" pid
  run cli "$c" run -d --name "$y" busybox sh -c 'until [ -e /tmp/go ]; do usleep 20000; done; exit 7'
  assert_success
  pid=$(cli "$c" inspect -f '{{.State.Pid}}' "$y")
  [ "$pid" -gt 1 ] || _e2e_fail "no pid for $y"
  berthd_kill9
  touch "/proc/$pid/root/tmp/go"
  wait_until 10 "$y's process $pid to exit and be reaped while berthd is down" eval "! kill -0 $pid 2>/dev/null"
  berthd_start
  run cli "$c" wait "$y"
  assert_success
  assert_output "7"
  run ps_line "$c" "$y" -a
  [[ $output == *"Exited (7)"* ]] || _e2e_fail "$y should be Exited (7)"
  run cli "$c" rm "$y"
  assert_success
}
@test "berth: a container that exits while berthd is down keeps its exit code" { scenario_exit_while_down berth; }
@test "docker: a container that exits while berthd is down keeps its exit code" { scenario_exit_while_down docker; }

# The crash window of --rm: its exit is not written before its row is
# deleted, so a berthd killed in between finds it recorded as running with
# its monitor gone, as here; the restart takes that exit and removes it.
@test "docker: a --rm container that exits while berthd is down is removed at the restart" {
  local z=z-docker pid
  run cli docker run -d --rm --name "$z" busybox sh -c 'until [ -e /tmp/go ]; do usleep 20000; done; exit 3'
  assert_success
  pid=$(cli docker inspect -f '{{.State.Pid}}' "$z")
  [ "$pid" -gt 1 ] || _e2e_fail "no pid for $z"
  berthd_kill9
  touch "/proc/$pid/root/tmp/go"
  wait_until 10 "$z's process $pid to exit and be reaped while berthd is down" eval "! kill -0 $pid 2>/dev/null"
  berthd_start
  wait_until 10 "$z to be removed after the restart" eval "! cli docker inspect $z >/dev/null 2>&1"
  run ps_line docker "$z" -a
  assert_output ""
}

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
