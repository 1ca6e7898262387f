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

scenario_neversaydie() {
  local c=$1 n="neversaydie-$1" count created started line
  # attached: the client returns with the first exit's code
  run cli "$c" run --name "$n" --restart always busybox sh -c 'exit 1'
  assert_status 1
  retry_until 15 restarted_more_than "$c" "$n" 1 || _e2e_fail "$n was not restarted"
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
  retry_until 20 restarted_more_than "$c" "$n" "$count" || _e2e_fail "$n not restarted after berthd restart"

  # a manual stop ends it for good
  run cli "$c" stop -t 1 "$n"
  assert_success
  run cli "$c" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Restarting}}' "$n"
  assert_output "exited false false"
  count=$(restart_count "$c" "$n")
  sleep 1.5
  run restart_count "$c" "$n"
  assert_output "$count"
  state_is "$c" "$n" exited || _e2e_fail "$n came back after stop"
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
  # 100 ms + 200 ms of back-off, then it stays down with its code
  retry_until 15 state_is "$c" "$n" exited || _e2e_fail "$n should end exited"
  sleep 0.5
  run cli "$c" inspect -f '{{.RestartCount}} {{.State.ExitCode}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$n"
  assert_output "2 3 exited on-failure:2"
  # a clean exit is no failure
  run cli "$c" run -d --name "$n-ok" --restart on-failure busybox true
  assert_success
  retry_until 10 state_is "$c" "$n-ok" exited
  sleep 0.5
  run restart_count "$c" "$n-ok"
  assert_output "0"
  # a manual start begins a new history
  run cli "$c" start "$n"
  assert_success
  retry_until 15 state_is "$c" "$n" exited
  sleep 0.5
  run restart_count "$c" "$n"
  assert_output "2"
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
  sleep 0.5
  state_is "$c" "$a" exited || _e2e_fail "stop of $a was undone by its policy"
  state_is "$c" "$u" exited || _e2e_fail "stop of $u was undone by its policy"
  # $u2's process dies while berthd is down: its policy acts on restore
  local pid
  pid=$(cli "$c" inspect -f '{{.State.Pid}}' "$u2")
  [ "$pid" -gt 1 ] || _e2e_fail "no pid for $u2"
  berthd_kill9
  kill -9 "$pid"
  sleep 0.3
  berthd_start
  # always comes back even after a manual stop; unless-stopped only if not stopped by the user
  retry_until 15 state_is "$c" "$a" running || _e2e_fail "$a should run again after berthd start"
  retry_until 15 state_is "$c" "$u2" running || _e2e_fail "$u2 should run again"
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
  retry_until 15 saw_restarting || _e2e_fail "never saw 'Restarting (1) ...' in ps"
  run cli "$c" inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.ExitCode}}' "$n"
  [[ $output == "restarting true true 1" || $output == "running true false 0" ]] || _e2e_fail "odd state"
  # rm without -f refuses a restarting container (or a running one)
  if [[ $output == restarting* ]]; then
    run cli "$c" rm "$n"
    assert_status 1
  fi
  run cli "$c" rm -f "$n"
  assert_success
  sleep 1
  run cli "$c" ps -aq --filter "name=$n"
  assert_output ""
}
@test "berth: ps shows Restarting (1) between restarts; rm -f ends it" { scenario_restarting_state berth; }
@test "docker: ps shows Restarting (1) between restarts; rm -f ends it" { scenario_restarting_state docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
