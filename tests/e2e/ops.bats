#!/usr/bin/env bats
# Issue 17's operations path: exec run by the container's own monitor (no
# monitor process per exec), stop/kill/rm answering at the monitor's Exit
# while it finishes its cleanup (overlay unmount, cgroup) on its own, and a
# start or removal right after that still correct.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# monitor_of ID: the MonitorPid of a running container (its state.json).
monitor_of() { grep -oE '"MonitorPid":[0-9]+' "$E2E_ROOT/data/containers/$1/state.json" | grep -oE '[0-9]+$'; }
monitor_count() { _e2e_monitor_pids "$E2E_ROOT" | grep -c . || true; }
# ppid_of PID
ppid_of() { awk '/^PPid:/ { print $2 }' "/proc/$1/status"; }
exec_pid() { api GET "/v1.41/exec/$1/json" | head -n1 | grep -oE '"Pid": *[0-9]+' | grep -oE '[0-9]+$'; }
exec_running() { api GET "/v1.41/exec/$1/json" | head -n1 | grep -q '"Running": *true'; }

scenario_exec_in_monitor() {
  local c=$1 x="ex-$1" id mon out pid eid
  id=$(cli "$c" run -d --name "$x" busybox sleep 300)
  mon=$(monitor_of "$id")
  [ -n "$mon" ] || _e2e_fail "no monitor recorded for $x"
  # output, exit code, stdin, env, workdir, user: as before
  run cli "$c" exec "$x" sh -c 'echo out; echo err >&2; exit 3'
  assert_status 3
  [[ $output == *out* && $output == *err* ]] || _e2e_fail "exec output lost"
  run cli "$c" exec -e FOO=bar -w /tmp -u nobody "$x" sh -c 'echo "$FOO $(pwd) $(id -u)"'
  assert_success
  assert_output "bar /tmp 65534"
  run bash -c "echo piped | $(cli_cmdline "$c") exec -i $x cat"
  assert_success
  assert_output "piped"
  run cli "$c" exec "$x" /no/such
  assert_status 127
  # a long exec: its process is a child of the container's monitor, in the
  # container's pid namespace, and no other monitor process exists
  out=$(api POST "/v1.41/containers/$x/exec" -H 'Content-Type: application/json' \
    -d '{"Cmd":["sleep","300"],"AttachStdout":false,"AttachStderr":false}')
  eid=$(head -n1 <<<"$out" | grep -oE '"Id": *"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')
  [ -n "$eid" ] || _e2e_fail "exec create: $out"
  run api POST "/v1.41/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
  [ "${lines[-1]}" = 200 ] || _e2e_fail "detached exec start failed"
  wait_until 10 "the exec to run" exec_running "$eid"
  pid=$(exec_pid "$eid")
  [ "$(ppid_of "$pid")" = "$mon" ] || _e2e_fail "exec $pid has parent $(ppid_of "$pid"), not the monitor $mon"
  [ "$(readlink "/proc/$pid/ns/pid")" = "$(readlink "/proc/$(cli "$c" inspect -f '{{.State.Pid}}' "$x")/ns/pid")" ] ||
    _e2e_fail "exec not in the container's pid namespace"
  [ "$(monitor_count)" = 1 ] || _e2e_fail "expected 1 monitor, found: $(_e2e_monitor_pids "$E2E_ROOT" | tr '\n' ' ')"
  # the container ends while the exec runs: the exec ends too (137)
  run cli "$c" kill "$x"
  assert_success
  wait_until 10 "the exec to end with its container" eval "! exec_running $eid"
  run api GET "/v1.41/exec/$eid/json"
  [[ ${lines[0]} == *'"ExitCode":137'* ]] || _e2e_fail "exec exit code after its container died: ${lines[0]}"
  run cli "$c" rm "$x"
  assert_success
}
@test "berth: exec runs in the container's monitor (no process per exec)" { scenario_exec_in_monitor berth; }
@test "docker: exec runs in the container's monitor (no process per exec)" { scenario_exec_in_monitor docker; }

scenario_exec_client_gone() {
  local c=$1 x="eg-$1" cpid
  cli "$c" run -d --name "$x" busybox sleep 300 >/dev/null
  # an interactive exec whose client is killed: its stdin closes, cat ends
  mkfifo "$BATS_TEST_TMPDIR/in"
  ( exec 3<>"$BATS_TEST_TMPDIR/in"; exec $(cli_cmdline "$c") exec -i "$x" cat <&3 >/dev/null 2>&1 ) &
  cpid=$!
  wait_until 10 "cat to run in $x" eval "cli $c exec $x ps | grep -q ' cat\$'"
  kill -9 "$cpid"
  wait_until 10 "cat to end after its client went away" eval "! cli $c exec $x ps | grep -q ' cat\$'"
  # a crashed berthd loses no container and the monitor still runs execs
  berthd_kill9
  berthd_start
  run cli "$c" exec "$x" echo after-restart
  assert_success
  assert_output "after-restart"
  [ "$(monitor_count)" = 1 ] || _e2e_fail "expected 1 monitor, found: $(_e2e_monitor_pids "$E2E_ROOT" | tr '\n' ' ')"
  run cli "$c" rm -f "$x"
  assert_success
}
@test "berth: exec client gone, berthd SIGKILLed: the monitor carries on" { scenario_exec_client_gone berth; }
@test "docker: exec client gone, berthd SIGKILLed: the monitor carries on" { scenario_exec_client_gone docker; }

scenario_stop_start_rm() {
  local c=$1 x="ss-$1" i id
  id=$(cli "$c" run -d --name "$x" busybox sh -c 'echo up; sleep 300')
  # stop answers at the exit; the start right after waits for the old
  # monitor's cleanup (same cgroup and overlay) and runs
  for i in 1 2 3; do
    run cli "$c" stop -t 0 "$x"
    assert_success
    run cli "$c" inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$x"
    assert_output "false 137"
    run cli "$c" start "$x"
    assert_success
    run cli "$c" inspect -f '{{.State.Running}}' "$x"
    assert_output "true"
  done
  run cli "$c" exec "$x" true
  assert_success
  # rm -f of a running container, then the same name again at once
  run cli "$c" rm -f "$x"
  assert_success
  run cli "$c" inspect "$x"
  [ "$status" -ne 0 ] || _e2e_fail "$x still there after rm -f"
  # its directory goes after the answer (as with --rm), and goes
  wait_until 10 "the container's directory to go" eval "[ ! -d \"\$E2E_ROOT/data/containers/$id\" ]"
  run cli "$c" run -d --name "$x" busybox sleep 300
  assert_success
  run cli "$c" rm -f "$x"
  assert_success
  # the monitors finish on their own: no monitor, cgroup process or mount left
  wait_until 10 "the monitors to finish" _e2e_no_leftovers_now
  wait_until 10 "the containers' cgroups to go" no_container_cgroups
}
# no_container_cgroups: no directory below the cgroup parent in any hierarchy.
no_container_cgroups() { [ -z "$(find /sys/fs/cgroup -mindepth 3 -maxdepth 3 -path "*/$E2E_CGP/*" -type d 2>/dev/null)" ]; }
@test "berth: stop -t0 / start / rm -f back to back" { scenario_stop_start_rm berth; }
@test "docker: stop -t0 / start / rm -f back to back" { scenario_stop_start_rm docker; }

@test "berth: exec of a missing container or one stopped: docker's errors, TTY check after it" {
  run berth_cmd exec nosuch-ctr true
  assert_status 1
  assert_output "Error response from daemon: No such container: nosuch-ctr"
  run berth_cmd exec -it nosuch-ctr true </dev/null
  assert_status 1
  assert_output "Error response from daemon: No such container: nosuch-ctr"
  berth_cmd create --name stopped-ctr busybox true >/dev/null
  run berth_cmd exec stopped-ctr true
  assert_status 1
  [[ $output == *"is not running"* ]] || _e2e_fail "expected docker's not running error"
  berth_cmd rm stopped-ctr >/dev/null
}

@test "no leftovers" { assert_no_leftovers; }
