#!/usr/bin/env bats
# --pid / --ipc / --network container:NAME|ID join the namespaces of a
# running container; --ipc shareable; errors as dockerd's when the donor is
# missing, not running or (ipc) not shareable. Also /info's Runtimes.
# Each scenario with the berth CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# ns_of CLIENT CONTAINER TYPE: the namespace inode CONTAINER's init is in.
ns_of() { cli "$1" exec "$2" readlink "/proc/1/ns/$3"; }

scenario_pid() {
  local c=$1 id
  run cli "$c" run -d --name donor busybox sh -c 'exec sleep 61'
  assert_success
  id=${output:0:12}
  # By name: the joiner sees the donor's sleep, and is not pid 1 itself.
  run cli "$c" run --rm --pid container:donor busybox sh -c 'ps -o pid,args; echo self=$$'
  assert_success
  assert_output_contains "sleep 61"
  refute_output_contains "self=1"
  # By ID prefix: same namespace inode.
  run cli "$c" run --rm --pid "container:$id" busybox readlink /proc/self/ns/pid
  assert_success
  [ "$output" = "$(ns_of "$c" donor pid)" ] || _e2e_fail "pid ns differs: $output"
  # A plain container has its own.
  run cli "$c" run --rm busybox readlink /proc/self/ns/pid
  [ "$output" != "$(ns_of "$c" donor pid)" ] || _e2e_fail "plain container shares the donor's pid ns"
  run cli "$c" inspect -f '{{.HostConfig.PidMode}}' donor
  assert_output ""
}
@test "berth: --pid container:NAME|ID shares the process namespace" { scenario_pid berth; }
@test "docker: --pid container:NAME|ID shares the process namespace" { scenario_pid docker; }

scenario_ipc() {
  local c=$1
  run cli "$c" run -d --name donor --ipc shareable busybox sleep 60
  assert_success
  run cli "$c" inspect -f '{{.HostConfig.IpcMode}}' donor
  assert_output "shareable"
  run cli "$c" run -d --name joiner --ipc container:donor busybox sleep 60
  assert_success
  run cli "$c" inspect -f '{{.HostConfig.IpcMode}}' joiner
  assert_output "container:donor"
  [ "$(ns_of "$c" joiner ipc)" = "$(ns_of "$c" donor ipc)" ] || _e2e_fail "ipc ns differs"
  run cli "$c" run --rm busybox readlink /proc/self/ns/ipc
  [ "$output" != "$(ns_of "$c" donor ipc)" ] || _e2e_fail "plain container shares the donor's ipc ns"
  # A private donor cannot be joined (dockerd: non-shareable IPC).
  run cli "$c" run -d --name private busybox sleep 60
  assert_success
  run -125 cli "$c" run --rm --ipc container:private busybox true
  assert_status 125
  assert_output_contains "container private: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
}
@test "berth: --ipc shareable / container:NAME shares the ipc namespace" { scenario_ipc berth; }
@test "docker: --ipc shareable / container:NAME shares the ipc namespace" { scenario_ipc docker; }

scenario_network() {
  local c=$1
  # (berth leaves a container's lo down for now: the donor raises it.)
  run cli "$c" run -d --name donor --hostname donorhost --cap-add NET_ADMIN busybox \
    sh -c 'ip link set lo up && exec nc -ll -p 7777 -e echo hello-from-donor'
  assert_success
  # Loopback is shared: the joiner reaches the donor's listener on 127.0.0.1.
  wait_until 10 "the donor's listener to answer on the shared loopback" \
    eval "cli $c run --rm --network container:donor busybox nc -w 2 127.0.0.1 7777 | grep -q hello-from-donor"
  run cli "$c" run --rm --network container:donor busybox sh -c 'readlink /proc/self/ns/net; hostname'
  assert_success
  [ "${lines[0]}" = "$(ns_of "$c" donor net)" ] || _e2e_fail "net ns differs: $output"
  [ "${lines[1]}" = donorhost ] || _e2e_fail "hostname is not the donor's: $output"
  # A plain container has its own loopback: nothing listens there.
  run cli "$c" run --rm busybox nc -w 1 127.0.0.1 7777
  refute_output_contains hello-from-donor
}
@test "berth: --network container:NAME shares loopback" { scenario_network berth; }
@test "docker: --network container:NAME shares loopback" { scenario_network docker; }

scenario_errors() {
  local c=$1
  run cli "$c" create --name stopped busybox true
  assert_success
  run -125 cli "$c" run --rm --network container:stopped busybox true
  assert_status 125
  assert_output_contains "cannot join network of a non running container: stopped"
  run -125 cli "$c" run --rm --pid container:stopped busybox true
  assert_status 125
  assert_output_contains "container stopped is not running"
  run -125 cli "$c" run --rm --ipc container:stopped busybox true
  assert_status 125
  assert_output_contains "container stopped is not running"
  run -125 cli "$c" run --rm --network container:nosuch busybox true
  assert_status 125
  assert_output_contains "No such container: nosuch"
  run -125 cli "$c" run --rm --pid container:nosuch busybox true
  assert_status 125
  assert_output_contains "No such container: nosuch"
  # Nothing was left behind by the failed runs.
  run cli "$c" ps -aq
  [ "${#lines[@]}" -eq 1 ] || _e2e_fail "failed runs left containers: $output"
}
@test "berth: joining a stopped or missing container is refused" { scenario_errors berth; }
@test "docker: joining a stopped or missing container is refused" { scenario_errors docker; }

scenario_info_runtimes() {
  local c=$1
  run cli "$c" info --format '{{json .Runtimes}} {{.DefaultRuntime}}'
  assert_success
  assert_output_contains '"berth":{"path":"/'
  assert_output_contains 'berth-monitor"}'
  assert_output_contains '"runc":{"path":"runc"}'
  assert_output_contains '"crun":{"path":"crun"}'
  [[ $output == *" berth" ]] || _e2e_fail "default runtime: $output"
  run cli "$c" info
  assert_output_contains "Default Runtime: berth"
  # (the docker CLI lists them in Go map order)
  local line
  line=$(grep '^ Runtimes:' <<<"$output") || _e2e_fail "no Runtimes line"
  for rt in berth crun runc; do [[ " $line " == *" $rt "* ]] || _e2e_fail "$rt missing: $line"; done
}
@test "berth: info lists the runtimes" { scenario_info_runtimes berth; }
@test "docker: info lists the runtimes" { scenario_info_runtimes docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
