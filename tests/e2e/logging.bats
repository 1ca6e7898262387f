#!/usr/bin/env bats
# Logging drivers: none (nothing kept; logs refused with dockerd's message),
# local (rotated, gzip-compressed, read back across rotated files with
# --tail, --since and -f), json-file still the default, daemon.json
# log-driver / log-opts as defaults, syslog/journald refused.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

cdir() { echo "$E2E_ROOT/data/containers/$(berth_cmd inspect -f '{{.Id}}' "$1")"; }

scenario_none() {
  local c=$1 n="lognone-$1"
  run cli "$c" run --name "$n" --log-driver none busybox echo hello
  assert_success
  assert_output "hello"   # attach still streams
  run cli "$c" inspect -f '{{.HostConfig.LogConfig.Type}}' "$n"
  assert_output "none"
  run cli "$c" logs "$n"
  assert_status 1
  assert_output_contains "configured logging driver does not support reading"
  [ -z "$(find "$(cdir "$n")" -name '*.log' ! -name monitor.log)" ] || _e2e_fail "no log file expected"
  cli "$c" rm "$n"
}
@test "berth: --log-driver none keeps nothing; logs refused" { scenario_none berth; }
@test "docker: --log-driver none keeps nothing; logs refused" { scenario_none docker; }

scenario_local() {
  local c=$1 n="loglocal-$1" d
  # ~60 lines of ~40 bytes per line record: 1k max-size rotates many times
  run cli "$c" run --name "$n" --log-driver local --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'i=0; while [ $i -lt 60 ]; do echo "line $i"; i=$((i+1)); done'
  assert_success
  d=$(cdir "$n")
  [ -f "$d/local-logs/container.log" ] || _e2e_fail "live local log missing"
  [ -f "$d/local-logs/container.log.1.gz" ] || _e2e_fail "rotated .1.gz missing"
  [ -f "$d/local-logs/container.log.2.gz" ] || _e2e_fail "rotated .2.gz missing"
  [ ! -e "$d/local-logs/container.log.3.gz" ] || _e2e_fail "max-file 3 keeps 3 files"
  gzip -t "$d/local-logs/container.log.1.gz" || _e2e_fail ".1.gz is not gzip"
  run cli "$c" logs "$n"
  assert_success
  [ "${lines[-1]}" = "line 59" ] || _e2e_fail "last line should be line 59"
  # the oldest kept line comes from the .2.gz file: more lines than the live file holds
  local live; live=$(wc -l <"$d/local-logs/container.log")
  [ "${#lines[@]}" -gt "$live" ] || _e2e_fail "logs should read the rotated files too"
  run cli "$c" logs --tail 2 "$n"
  assert_output "line 58
line 59"
  run cli "$c" logs --since 2000-01-01T00:00:00Z --tail 1 "$n"
  assert_output "line 59"
  run cli "$c" logs --since "$(($(date +%s) + 3600))" "$n"
  assert_output ""
  run cli "$c" inspect -f '{{.HostConfig.LogConfig.Config}}' "$n"
  assert_output_contains "max-size:1k"
  # bad options, with dockerd's words
  run cli "$c" run --rm --log-driver local --log-opt labels=x busybox true
  assert_status 125
  assert_output_contains "unknown log opt 'labels' for local log driver"
  run cli "$c" run --rm --log-driver syslog busybox true
  assert_status 125
  assert_output_contains "logger: no log driver named 'syslog' is registered"
  cli "$c" rm "$n"
}
@test "berth: --log-driver local rotates and compresses; logs --tail/--since across files" { scenario_local berth; }
@test "docker: --log-driver local rotates and compresses; logs --tail/--since across files" { scenario_local docker; }

@test "local: logs -f follows a running container" {
  docker_cmd run -d --name logf --log-driver local busybox sh -c 'echo a; sleep 0.5; echo b; sleep 0.5; echo c'
  run timeout 15 "$DOCKER_BIN" -H "unix://$SOCK" logs -f logf
  assert_success
  assert_output "a
b
c"
  docker_cmd rm logf
}

@test "daemon.json log-driver and log-opts are the defaults for an empty LogConfig" {
  cat >"$E2E_ROOT/daemon.json" <<'JSON'
{"log-driver": "local", "log-opts": {"max-size": "2k", "max-file": "2"}}
JSON
  local pid; pid=$(berthd_pid)
  kill -TERM "$pid"
  wait_until 10 "berthd $pid to exit after SIGTERM" eval "! kill -0 $pid 2>/dev/null"
  E2E_BERTHD_ARGS="--config-file $E2E_ROOT/daemon.json" berthd_start
  run docker_cmd info -f '{{.LoggingDriver}}'
  assert_output "local"
  docker_cmd run --name deflog busybox echo hi
  run docker_cmd inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}' deflog
  assert_output "local 2k"
  run docker_cmd logs deflog
  assert_output "hi"
  # an explicit json-file does not take the local defaults
  docker_cmd run --name jlog --log-driver json-file busybox echo hi
  run docker_cmd inspect -f '{{.HostConfig.LogConfig.Type}} {{len .HostConfig.LogConfig.Config}}' jlog
  assert_output "json-file 0"
  docker_cmd rm deflog jlog
  # a bad default stops berthd with a message
  run "$BERTH_BIN_DIR/berthd" --log-driver syslog --host "unix://$E2E_ROOT/bad.sock" \
    --data-root "$E2E_ROOT/bad" --exec-root "$E2E_ROOT/badx" --pidfile "$E2E_ROOT/bad.pid" \
    --bridge=none --iptables=false --ip-forward=false
  [ "$status" -ne 0 ] || _e2e_fail "berthd should refuse --log-driver syslog"
  assert_output_contains "no log driver named 'syslog'"
  # back to the plain daemon for the other tests
  pid=$(berthd_pid)
  kill -TERM "$pid"
  wait_until 10 "berthd $pid to exit after SIGTERM" eval "! kill -0 $pid 2>/dev/null"
  berthd_start
}
