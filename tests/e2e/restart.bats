#!/usr/bin/env bats
# Restart policies: Docker's back-off, RestartCount, the Restarting state,
# policies acted on again when berthd starts (also after SIGKILL), and a
# manual stop that the policy never undoes.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

restart_count() { cli "$1" inspect -f '{{.RestartCount}}' "$2"; }
restarted_more_than() { local n; n=$(restart_count "$1" "$2") && [ "$n" -gt "$3" ]; }
state_is() { [ "$(cli "$1" inspect -f '{{.State.Status}}' "$2")" = "$3" ]; }
# inspect_is CLIENT NAME FORMAT WANT: inspect -f FORMAT prints WANT.
inspect_is() { [ "$(cli "$1" inspect -f "$3" "$2")" = "$4" ]; }
# pid_gone PID: no process PID (a reaped one; a zombie still counts as there).
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

scenario_neversaydie() {
  local c=$1 n="neversaydie-$1" count created started line
  # attached: the client returns with the first exit's code
  run cli "$c" run --name "$n" --restart always busybox sh -c 'exit 1'
  assert_status 1
  wait_until 15 "$n to be restarted more than once" restarted_more_than "$c" "$n" 1
  # ps (running list) shows it, as Up or Restarting (1)
  run cli "$c" ps --filter "name=$n" --format '{{.Status}}'
  assert_success
  [[ $output == "Up "* || $output == "Restarting (1) "* ]] || _e2e_fail "unexpected ps status"
  # created earlier than the last start
  run cli "$c" inspect -f '{{.Created}} {{.State.StartedAt}}' "$n"
  assert_success
  created=${output% *} started=${output#* }
  [[ $created < $started ]] || _e2e_fail "Created should be before the last StartedAt"

  # still managed after berthd is SIGKILLed and started again
  berthd_kill9
  berthd_start
  count=$(restart_count "$c" "$n")
  wait_until 20 "$n to be restarted again after berthd's restart" restarted_more_than "$c" "$n" "$count"

  # a manual stop ends it for good
  run cli "$c" stop -t 1 "$n"
  assert_success
  run cli "$c" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Restarting}}' "$n"
  assert_output "exited false false"
  count=$(restart_count "$c" "$n")
  holds_for 1.5 "$n staying exited with RestartCount $count after stop" \
    inspect_is "$c" "$n" '{{.State.Status}} {{.RestartCount}}' "exited $count"
  run cli "$c" ps -a --filter "name=$n" --format '{{.Status}}'
  [[ $output == "Exited (1) "* || $output == "Exited (137) "* ]] || _e2e_fail "ps -a should say Exited"
  run cli "$c" rm "$n"
  assert_success
}
@test "berth: --restart always keeps restarting, survives berthd SIGKILL, stop ends it" { scenario_neversaydie berth; }
@test "docker: --restart always keeps restarting, survives berthd SIGKILL, stop ends it" { scenario_neversaydie docker; }

scenario_on_failure_budget() {
  local c=$1 n="onfail-$1"
  run cli "$c" run -d --name "$n" --restart on-failure:2 busybox sh -c 'exit 3'
  assert_success
  # 100 ms + 200 ms of back-off, then it stays down with its code (a third
  # try would come 400 ms later: watched for a second)
  local fmt='{{.RestartCount}} {{.State.ExitCode}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'
  wait_until 15 "$n to end exited after 2 restarts" inspect_is "$c" "$n" "$fmt" "2 3 exited on-failure:2"
  holds_for 1 "$n staying down after its 2 restarts" inspect_is "$c" "$n" "$fmt" "2 3 exited on-failure:2"
  # a clean exit is no failure
  run cli "$c" run -d --name "$n-ok" --restart on-failure busybox true
  assert_success
  wait_until 10 "$n-ok to exit" state_is "$c" "$n-ok" exited
  holds_for 1 "$n-ok staying exited, never restarted" \
    inspect_is "$c" "$n-ok" '{{.State.Status}} {{.RestartCount}}' "exited 0"
  # a manual start begins a new history
  run cli "$c" start "$n"
  assert_success
  wait_until 15 "$n to end exited after 2 new restarts" inspect_is "$c" "$n" "$fmt" "2 3 exited on-failure:2"
  holds_for 1 "$n staying down after its 2 new restarts" inspect_is "$c" "$n" "$fmt" "2 3 exited on-failure:2"
  cli "$c" rm -f "$n" "$n-ok" >/dev/null
}
@test "berth: on-failure:2 restarts twice then keeps the exit code" { scenario_on_failure_budget berth; }
@test "docker: on-failure:2 restarts twice then keeps the exit code" { scenario_on_failure_budget docker; }

scenario_daemon_start() {
  local c=$1 a="always-$1" u="unless-$1" u2="unless2-$1"
  for n in "$a" "$u" "$u2"; do
    local p=unless-stopped
    [ "$n" = "$a" ] && p=always
    run cli "$c" run -d --name "$n" --restart "$p" busybox sleep 300
    assert_success
  done
  run cli "$c" stop -t 1 "$a" "$u"
  assert_success
  holds_for 0.5 "$a staying stopped (its policy must not undo a stop)" state_is "$c" "$a" exited
  holds_for 0.5 "$u staying stopped (its policy must not undo a stop)" state_is "$c" "$u" exited
  # $u2's process dies while berthd is down: its policy acts on restore
  local pid
  pid=$(cli "$c" inspect -f '{{.State.Pid}}' "$u2")
  [ "$pid" -gt 1 ] || _e2e_fail "no pid for $u2"
  berthd_kill9
  kill -9 "$pid"
  wait_until 10 "$u2's process $pid to be gone while berthd is down" pid_gone "$pid"
  berthd_start
  # always comes back even after a manual stop; unless-stopped only if not stopped by the user
  wait_until 15 "$a to run again after berthd start" state_is "$c" "$a" running
  wait_until 15 "$u2 to run again after berthd start" state_is "$c" "$u2" running
  state_is "$c" "$u" exited || _e2e_fail "$u was stopped by the user and must stay down"
  cli "$c" rm -f "$a" "$u" "$u2" >/dev/null
}
@test "berth: always and unless-stopped when berthd starts again" { scenario_daemon_start berth; }
@test "docker: always and unless-stopped when berthd starts again" { scenario_daemon_start docker; }

scenario_restarting_state() {
  local c=$1 n="slow-$1" st
  # back-off grows: 100, 200, 400, 800, 1600 ms ... so it is soon seen Restarting
  run cli "$c" run -d --name "$n" --restart always busybox false
  assert_success
  saw_restarting() {
    st=$(cli "$c" ps --filter "name=$n" --format '{{.Status}}')
    [[ $st == "Restarting (1) "* ]]
  }
  wait_until 15 "'Restarting (1) ...' in ps" saw_restarting
  run cli "$c" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.ExitCode}}' "$n"
  [[ $output == "restarting true true 1" || $output == "running true false 0" ]] || _e2e_fail "odd state"
  # rm without -f refuses a restarting container, and a running one
  run cli "$c" rm "$n"
  assert_status 1
  run cli "$c" ps -aq --filter "name=$n"
  [ -n "$output" ] || _e2e_fail "rm without -f removed $n"
  run cli "$c" rm -f "$n"
  assert_success
  # gone at once, and no pending restart brings it back
  holds_for 1 "$n staying removed after rm -f" eval "[ -z \"\$(cli $c ps -aq --filter name=$n)\" ]"
}
@test "berth: ps shows Restarting (1) between restarts; rm -f ends it" { scenario_restarting_state berth; }
@test "docker: ps shows Restarting (1) between restarts; rm -f ends it" { scenario_restarting_state docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
