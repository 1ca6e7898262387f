#!/usr/bin/env bats
# Healthchecks (--health-* flags, the create body's Healthcheck, an image's
# HEALTHCHECK): State.Health, ps status and the health= filter, the
# health_status events, probing resumed after a berthd restart; kill and
# wait as dockerd answers them.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

health_is() { [ "$(cli "$1" inspect -f '{{.State.Health.Status}}' "$2")" = "$3" ]; }

scenario_health_flags() {
  local c=$1 n="hc-$1" since
  since=$(date +%s)
  # healthy once /tmp/ok exists; unhealthy after 2 failures once it is gone
  run cli "$c" run -d --name "$n" --health-cmd 'cat /tmp/ok' --health-interval 200ms \
    --health-timeout 2s --health-retries 2 busybox sleep 60
  assert_success
  run cli "$c" ps --filter "name=$n" --format '{{.Status}}'
  [[ $output == Up*"(health: starting)" ]] || _e2e_fail "ps should say health: starting"
  run cli "$c" ps -q --filter health=starting --filter "name=$n"
  [ -n "$output" ] || _e2e_fail "health=starting should list $n"
  cli "$c" exec "$n" touch /tmp/ok
  wait_until 10 "$n to be healthy" health_is "$c" "$n" healthy
  run cli "$c" ps --filter "name=$n" --format '{{.Status}}'
  [[ $output == Up*"(healthy)" ]] || _e2e_fail "ps should say (healthy)"
  run cli "$c" ps -q --filter health=healthy --filter "name=$n"
  [ -n "$output" ] || _e2e_fail "health=healthy should list $n"
  run cli "$c" ps -q --filter health=unhealthy --filter "name=$n"
  [ -z "$output" ] || _e2e_fail "health=unhealthy should not list $n"
  run cli "$c" inspect -f '{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}' "$n"
  [[ $output == "0 "* ]] || _e2e_fail "FailingStreak should be 0"
  cli "$c" exec "$n" rm /tmp/ok
  wait_until 10 "$n to be unhealthy" health_is "$c" "$n" unhealthy
  # probes go on: the log keeps the last 5
  wait_until 10 "5 log entries" eval "[ \"\$(cli $c inspect -f '{{len .State.Health.Log}}' $n)\" = 5 ]"
  run cli "$c" inspect -f '{{len .State.Health.Log}} {{(index .State.Health.Log 4).ExitCode}}' "$n"
  assert_output "5 1"
  run cli "$c" inspect -f '{{(index .State.Health.Log 4).Output}}' "$n"
  assert_output_contains "No such file or directory"
  run cli "$c" ps --filter "name=$n" --format '{{.Status}}'
  [[ $output == Up*"(unhealthy)" ]] || _e2e_fail "ps should say (unhealthy)"
  run cli "$c" events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$n" --format '{{.Action}}'
  assert_output_contains "health_status: healthy"
  assert_output_contains "health_status: unhealthy"
  assert_output_contains "exec_create: /bin/sh -c cat /tmp/ok"
  assert_output_contains "exec_start: /bin/sh -c cat /tmp/ok"
  assert_output_contains "exec_die"
  run cli "$c" ps --filter health=bogus
  assert_status 1
  assert_output_contains "invalid filter 'health=bogus'"
  # --no-healthcheck with a --health-* option is refused by the client
  run cli "$c" run --rm --no-healthcheck --health-cmd true busybox true
  assert_status 125
  assert_output_contains "--no-healthcheck conflicts with --health-* options"
  cli "$c" rm -f "$n"
}
@test "berth: --health-* flags: starting, healthy, unhealthy, Log, ps, filter, events" { scenario_health_flags berth; }
@test "docker: --health-* flags: starting, healthy, unhealthy, Log, ps, filter, events" { scenario_health_flags docker; }

@test "Healthcheck from the image, overridden fields, --no-healthcheck, timeout" {
  # an image with a HEALTHCHECK (built)
  printf 'FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD true\n' |
    DOCKER_BUILDKIT=0 docker_cmd build -q -t hcimg:1 -
  run docker_cmd run -d --name hcimg hcimg:1 sleep 60
  assert_success
  wait_until 10 "hcimg to be healthy" health_is docker hcimg healthy
  run docker_cmd inspect -f '{{json .Config.Healthcheck.Test}}' hcimg
  assert_output '["CMD-SHELL","true"]'
  # the body's Timeout and Test override, the image's Interval stays
  run docker_cmd run -d --name hcto --health-cmd 'sleep 5' --health-timeout 300ms hcimg:1 sleep 60
  assert_success
  wait_until 10 "hcto to be unhealthy" health_is docker hcto unhealthy
  run docker_cmd inspect -f '{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}' hcto
  assert_output "-1 Health check exceeded timeout (300ms)"
  run docker_cmd run -d --name hcnone --no-healthcheck hcimg:1 sleep 60
  assert_success
  run docker_cmd inspect -f '{{json .State.Health}}' hcnone
  assert_output "null"
  run docker_cmd ps -q --filter health=none --filter name=hcnone
  [ -n "$output" ] || _e2e_fail "health=none should list hcnone"
  # a stopped container's health is unhealthy (dockerd closes its monitor)
  docker_cmd stop -t 0 hcimg
  run docker_cmd inspect -f '{{.State.Health.Status}}' hcimg
  assert_output "unhealthy"
  # raw API: a create body's Healthcheck, and the 1ms bound
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Interval":1000}}'
  [ "${lines[-1]}" = 400 ] || _e2e_fail "Interval 1000ns should be refused"
  assert_output_contains "Interval in Healthcheck cannot be less than 1ms"
  docker_cmd rm -f hcimg hcto hcnone
  docker_cmd rmi hcimg:1
}

@test "probing resumes after berthd is SIGKILLed and restarted" {
  berth_cmd run -d --name hcres --health-cmd 'test -e /tmp/ok' --health-interval 200ms --health-retries 1 \
    busybox sleep 60
  berth_cmd exec hcres touch /tmp/ok
  wait_until 10 "hcres to be healthy" health_is berth hcres healthy
  berthd_kill9
  berthd_start
  run berth_cmd inspect -f '{{.State.Health.Status}}' hcres
  assert_output "healthy"
  berth_cmd exec hcres rm /tmp/ok
  wait_until 10 "hcres to become unhealthy after the restart" health_is berth hcres unhealthy
  berth_cmd rm -f hcres
}

scenario_kill_wait() {
  local c=$1 n="kw-$1" out
  cli "$c" run -d --name "$n" busybox sleep 60
  # SIGKILL (the default): dead when kill answers
  run cli "$c" kill "$n"
  assert_success
  run cli "$c" inspect -f '{{.State.Running}} {{.State.ExitCode}} {{.State.Status}}' "$n"
  assert_output "false 137 exited"
  cli "$c" rm "$n"
  # wait returns at the next exit of a restarting container; rm refuses it
  cli "$c" run -d --name "$n" --restart always busybox sh -c 'sleep 0.5; exit 3'
  run cli "$c" wait "$n"
  assert_success
  assert_output "3"
  wait_until 10 "$n to be restarted" eval "[ \"\$(cli $c inspect -f '{{.RestartCount}}' $n)\" -ge 1 ]"
  run cli "$c" rm "$n"
  assert_status 1
  [[ $output == *"You cannot remove a restarting container"* || $output == *"You cannot remove a running container"* ]] ||
    _e2e_fail "rm should refuse a restarting/running container"
  cli "$c" rm -f "$n"
}
@test "berth: kill answers once dead (137); wait returns at a restart-policy exit; rm refused" { scenario_kill_wait berth; }
@test "docker: kill answers once dead (137); wait returns at a restart-policy exit; rm refused" { scenario_kill_wait docker; }

@test "rm of a restarting container without -f: 409 with dockerd's message" {
  berth_cmd run -d --name rmr --restart always busybox sh -c 'exit 1'
  wait_until 10 "rmr to be restarting" eval "[ \"\$(berth_cmd inspect -f '{{.State.Status}}' rmr)\" = restarting ]"
  run api DELETE /v1.41/containers/rmr
  # either caught between restarts (restarting) or up again (running)
  [ "${lines[-1]}" = 409 ] || _e2e_fail "rm should answer 409"
  assert_output_contains "You cannot remove a"
  berth_cmd rm -f rmr
}
