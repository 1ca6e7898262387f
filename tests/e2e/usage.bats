#!/usr/bin/env bats
# Using the limits: stats (streamed and --no-stream), top, pause / unpause,
# update of a running container, and --init. Each scenario with the berth
# CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

cg_file() { # cg_file CONTROLLER ID FILE
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    echo "/sys/fs/cgroup/$E2E_CGP/$2/$3"
  else
    echo "/sys/fs/cgroup/$1/$E2E_CGP/$2/$3"
  fi
}

scenario_stats_no_stream() {
  local c=$1 id
  run cli "$c" run -d --name st -m 64m busybox sh -c 'while :; do :; done'
  assert_success
  id=$output
  run cli "$c" stats --no-stream st
  assert_success
  local header row
  header=$(sed -n 1p <<<"$output")
  row=$(sed -n 2p <<<"$output")
  [[ $header =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]] ||
    _e2e_fail "header is not docker's: $header"
  [[ $row == "${id:0:12}   st "* ]] || _e2e_fail "row does not start with the short id and name: $row"
  [[ $row =~ \ 64MiB\  ]] || _e2e_fail "memory limit 64MiB not shown: $row"
  # a busy loop on this machine: well above 20% of a core
  local cpu
  cpu=$(awk '{print $3}' <<<"$row" | tr -d %)
  [ "${cpu%.*}" -ge 20 ] || _e2e_fail "CPU % $cpu too low for a busy loop"
  [ "$(awk '{print $NF}' <<<"$row")" = 1 ] || _e2e_fail "PIDS is not 1"
  run cli "$c" stats --no-stream --format '{{.Name}} {{.PIDs}} {{.MemPerc}}' st
  assert_success
  [[ $output =~ ^st\ 1\ [0-9]+\.[0-9]{2}%$ ]] || _e2e_fail "format output"
  run cli "$c" rm -f st
}
@test "berth: stats --no-stream shows CPU %, MEM USAGE / LIMIT, PIDS" { scenario_stats_no_stream berth; }
@test "docker: stats --no-stream shows CPU %, MEM USAGE / LIMIT, PIDS" { scenario_stats_no_stream docker; }

@test "api: stats stream sends one document a second with precpu filled" {
  run cli berth run -d --name sts busybox sleep 60
  assert_success
  run timeout 3 curl -sS -N --unix-socket "$SOCK" "http://x/v1.41/containers/sts/stats"
  local n
  n=$(grep -c '"cpu_stats"' <<<"$output")
  [ "$n" -ge 2 ] && [ "$n" -le 4 ] || _e2e_fail "expected 2-4 documents in ~3 s, got $n"
  # the second one has a precpu system usage (the first one's)
  sed -n 2p <<<"$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["precpu_stats"].get("system_cpu_usage", 0) > 0 else 1)' ||
    _e2e_fail "precpu_stats of the second document has no system_cpu_usage"
  run api GET '/v1.41/containers/sts/stats?stream=0&one-shot=1'
  assert_output_contains '"pids_stats":{"current":1'
  run api GET '/v1.41/containers/nope/stats?stream=0'
  assert_output_contains "No such container: nope"
  assert_output_contains "404"
}

scenario_top() {
  local c=$1
  run cli "$c" run -d --name tp busybox sh -c 'sleep 77 & exec sleep 78'
  assert_success
  wait_until 5 "'sleep 77' in top" eval "cli $c top tp | grep -q 'sleep 77'"
  run cli "$c" top tp
  assert_success
  [[ $(sed -n 1p <<<"$output") =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]] || _e2e_fail "top header"
  assert_output_contains "sleep 77"
  assert_output_contains "sleep 78"
  [ "$(wc -l <<<"$output")" = 3 ] || _e2e_fail "expected header + 2 processes"
  run cli "$c" top tp -o pid,comm
  assert_success
  [[ $(sed -n 1p <<<"$output") =~ ^PID\ +COMMAND$ ]] || _e2e_fail "ps options not used"
  run cli "$c" stop -t 0 tp
  run -1 cli "$c" top tp
  assert_output_contains "is not running"
}
@test "berth: top lists the container's processes, with ps options" { scenario_top berth; }
@test "docker: top lists the container's processes, with ps options" { scenario_top docker; }

scenario_pause() {
  local c=$1 a b
  run cli "$c" run -d --name pz busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; usleep 10000; done'
  assert_success
  local id counter
  id=$(cli "$c" inspect -f '{{.Id}}' pz)
  # the counter, read through the host's view of the container's rootfs
  counter="$E2E_ROOT/data/containers/$id/upper/tmp/n"
  wait_until 10 "the counter of pz to start" test -s "$counter"
  run cli "$c" pause pz
  assert_success
  assert_output "pz"
  run cli "$c" inspect -f '{{.State.Status}} {{.State.Paused}}' pz
  assert_output "paused true"
  run cli "$c" ps --format '{{.Status}}'
  assert_output_contains "(Paused)"
  # the counter does not advance while frozen (it counts every 10 ms)
  a=$(cat "$counter")
  holds_for 0.5 "the counter of paused pz staying at $a" eval "[ \"\$(cat '$counter')\" = '$a' ]"
  run -1 cli "$c" pause pz
  assert_output_contains "is already paused"
  run -1 cli "$c" exec pz true
  assert_output_contains "is paused"
  run cli "$c" unpause pz
  assert_success
  wait_until 10 "the counter of pz to resume past $a" eval "[ \"\$(cat '$counter')\" -gt '$a' ]"
  run -1 cli "$c" unpause pz
  assert_output_contains "is not paused"
  # a paused container can be stopped
  run cli "$c" pause pz
  run cli "$c" stop -t 1 pz
  assert_success
  run cli "$c" inspect -f '{{.State.Status}}' pz
  assert_output "exited"
}
@test "berth: pause freezes, unpause resumes, stop works while paused" { scenario_pause berth; }
@test "docker: pause freezes, unpause resumes, stop works while paused" { scenario_pause docker; }

scenario_update() {
  local c=$1 id
  run cli "$c" run -d --name up -m 32m busybox sleep 60
  assert_success
  id=$output
  run cli "$c" update -m 64m --memory-swap 128m --pids-limit 30 --cpus 0.5 up
  assert_success
  assert_output "up"
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    [ "$(cat "$(cg_file x "$id" memory.max)")" = 67108864 ] || _e2e_fail "memory.max"
    [ "$(cat "$(cg_file x "$id" pids.max)")" = 30 ] || _e2e_fail "pids.max"
  else
    [ "$(cat "$(cg_file memory "$id" memory.limit_in_bytes)")" = 67108864 ] || _e2e_fail "memory limit"
    [ "$(cat "$(cg_file memory "$id" memory.memsw.limit_in_bytes)")" = 134217728 ] || _e2e_fail "memsw"
    [ "$(cat "$(cg_file pids "$id" pids.max)")" = 30 ] || _e2e_fail "pids.max"
    [ "$(cat "$(cg_file cpu "$id" cpu.cfs_quota_us)")" = 50000 ] || _e2e_fail "cfs quota"
  fi
  run cli "$c" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}' up
  assert_output "67108864 30 500000000"
  run -1 cli "$c" update -m 1m up
  assert_output_contains "Minimum memory limit allowed is 6MB"
  run -1 cli "$c" update up
  assert_output_contains "you must provide one or more flags when using this command"
  run -1 cli "$c" update -m 64m nosuchcontainer
  assert_output_contains "No such container: nosuchcontainer"
}
@test "berth: update changes limits of a running container" { scenario_update berth; }
@test "docker: update changes limits of a running container" { scenario_update docker; }

scenario_init() {
  local c=$1
  run cli "$c" run -d --init --name in busybox sh -c 'sleep 1 & exec sleep 100'
  assert_success
  local pid procs id
  pid=$(cli "$c" inspect -f '{{.State.Pid}}' in)
  id=$(cli "$c" inspect -f '{{.Id}}' in)
  [ "$(cat "/proc/$pid/comm")" = init ] || _e2e_fail "pid 1 of the container is $(cat "/proc/$pid/comm"), not init"
  # init, sleep 100 and sleep 1 (which turns into a zombie of sleep 100)
  wait_until 5 "3 processes in the container's cgroup" eval "[ \$(wc -l <'$(cg_file pids "$id" cgroup.procs)') -ge 3 ]"
  procs=$(cat "$(cg_file pids "$id" cgroup.procs)")
  run cli "$c" top in -o pid,comm
  assert_output_contains "init"
  # sleep 1 ends and stays a zombie: its parent, sleep 100, never waits
  zombie_count() { for p in $procs; do awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null; done | grep -c Z; }
  wait_until 10 "sleep 1 to end as a zombie of sleep 100" eval '[ "$(zombie_count)" = 1 ]'
  local t0=$SECONDS
  run cli "$c" stop in
  assert_success
  [ $((SECONDS - t0)) -le 3 ] || _e2e_fail "stop took $((SECONDS - t0)) s: SIGTERM not forwarded"
  run cli "$c" inspect -f '{{.State.ExitCode}}' in
  assert_output "143"
  # nothing of the container is left, not even a zombie
  local p
  for p in $procs; do
    [ ! -e "/proc/$p" ] || _e2e_fail "process $p ($(cat "/proc/$p/stat" 2>/dev/null)) survived the stop"
  done
  run cli "$c" run --rm --init busybox sh -c 'exit 7'
  assert_status 7
}
@test "berth: --init forwards signals and reaps zombies" { scenario_init berth; }
@test "docker: --init forwards signals and reaps zombies" { scenario_init docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
