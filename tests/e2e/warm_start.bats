#!/usr/bin/env bats
# Warm starts (issue 17, docs/monitor.md "Warm starts"): right after an
# Engine API create, berthd spawns the container's monitor, whose init sets
# up the whole container and waits before execve; the start only lets it
# run. Nothing of the container runs before the start; whatever changes the
# container or mounts its root first drops the warm monitor (the start is
# then cold); rm, a berthd SIGKILL and the TTL leave nothing behind.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# warm_procs ID: the processes of container ID's warm start: its monitor
# and the monitor's clone that will exec the command (same command line).
warm_procs() { pgrep -f -- "berth-monitor run --bundle $E2E_ROOT/data/containers/$1 " || true; }
count() { grep -c . || true; }
refused_with() {
  [ "$status" -ne 0 ] || _e2e_fail "expected a failure"
  assert_output_contains "$1"
}
is_warm() { [ "$(warm_procs "$1" | count)" -eq 2 ]; }
is_cold() { [ "$(warm_procs "$1" | count)" -eq 0 ]; }
# The container's memory limit, as it sees it (cgroup v2 or v1).
MEMCMD='cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'

@test "a created container is warm: its init waits before exec, nothing runs; the start runs it" {
  local c id pids p
  for c in docker berth; do
    id=$(cli "$c" create busybox sh -c 'echo ran; exit 3')
    wait_until 10 "$c: a warm monitor for $id" is_warm "$id"
    # Both processes are still berth-monitor: the command has not been exec'd.
    pids=$(warm_procs "$id")
    for p in $pids; do
      [ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$BERTH_BIN_DIR/berth-monitor")" ] ||
        _e2e_fail "$c: pid $p runs $(readlink "/proc/$p/exe"), not berth-monitor"
    done
    [ "$(berth_cmd inspect -f '{{.State.Status}} {{.State.Pid}} {{.State.StartedAt}}' "$id")" = \
      "created 0 0001-01-01T00:00:00Z" ] || _e2e_fail "$c: inspect of the warm container is not 'created'"
    run cli "$c" top "$id"
    refused_with "is not running"
    run --separate-stderr cli "$c" logs "$id"
    assert_success
    assert_output ""
    run cli "$c" start -a "$id"
    assert_status 3
    assert_output "ran"
    [ "$(berth_cmd inspect -f '{{.State.ExitCode}}' "$id")" = 3 ]
    wait_until 10 "$c: monitor of $id to end" is_cold "$id"
    cli "$c" rm "$id" >/dev/null
  done
}

@test "rm of a warm container leaves no process, cgroup or directory" {
  local c id
  for c in docker berth; do
    id=$(cli "$c" create busybox sleep 300)
    wait_until 10 "$c: a warm monitor for $id" is_warm "$id"
    [ -n "$(cgroup_dirs_of "$id")" ] || _e2e_fail "$c: the warm init has no cgroup"
    run cli "$c" rm "$id"
    assert_success
    is_cold "$id" || _e2e_fail "$c: processes of $id left after rm: $(warm_procs "$id")"
    [ -z "$(cgroup_dirs_of "$id")" ] || _e2e_fail "$c: cgroup of $id left after rm"
    wait_until 10 "containers/$id to go" eval "[ ! -e \"\$E2E_ROOT/data/containers/$id\" ]"
  done
}

@test "cp into and update of a warm container drop it: the start sees the file and the new limit" {
  local c id
  echo "copied in" >"$BATS_TEST_TMPDIR/file"
  for c in docker berth; do
    id=$(cli "$c" create busybox cat /file)
    wait_until 10 "$c: a warm monitor for $id" is_warm "$id"
    run cli "$c" cp "$BATS_TEST_TMPDIR/file" "$id:/file"
    assert_success
    is_cold "$id" || _e2e_fail "$c: the warm monitor of $id survived a cp into its root"
    run cli "$c" start -a "$id"
    assert_success
    assert_output "copied in"
    cli "$c" rm "$id" >/dev/null

    id=$(cli "$c" create busybox sh -c "$MEMCMD")
    wait_until 10 "$c: a warm monitor for $id" is_warm "$id"
    run cli "$c" update --memory 64m --memory-swap 128m "$id"
    assert_success
    run cli "$c" start -a "$id"
    assert_success
    assert_output "67108864"
    cli "$c" rm "$id" >/dev/null
  done
}

@test "a -v source that does not exist is made by the start, as dockerd does: no warm start" {
  local id src=$BATS_TEST_TMPDIR/made-by-start
  id=$(docker_cmd create -v "$src:/x" busybox ls -d /x)
  holds_for 1 "no warm monitor for $id" is_cold "$id"
  [ ! -e "$src" ] || _e2e_fail "the create made the bind source"
  run docker_cmd start -a "$id"
  assert_success
  assert_output "/x"
  [ -d "$src" ] || _e2e_fail "the start did not make the bind source"
  docker_cmd rm "$id" >/dev/null
}

@test "at most 8 containers are warm at once; the others start cold, all run" {
  local ids=() id warm=0 i
  for i in $(seq 10); do ids+=("$(docker_cmd create busybox echo "n$i")"); done
  wait_until 10 "8 warm monitors" eval '[ "$(pgrep -fc -- "berth-monitor run --bundle $E2E_ROOT/data/containers/")" -eq 16 ]'
  for id in "${ids[@]}"; do is_warm "$id" && warm=$((warm + 1)); done
  [ "$warm" -eq 8 ] || _e2e_fail "$warm warm containers, expected 8"
  for i in $(seq 10); do
    run docker_cmd start -a "${ids[$((i - 1))]}"
    assert_success
    assert_output "n$i"
  done
  docker_cmd rm "${ids[@]}" >/dev/null
}

@test "SIGKILL of berthd drops warm starts: after the restart the containers are created, nothing runs, they start" {
  local id1 id2
  id1=$(docker_cmd create busybox echo one)
  id2=$(berth_cmd create busybox echo two)
  wait_until 10 "warm monitors" eval "is_warm $id1 && is_warm $id2"
  berthd_kill9
  # The gate's writer died with berthd: each init exits unexecuted, its
  # monitor removes the cgroup and ends.
  wait_until 10 "the warm monitors to end" eval "is_cold $id1 && is_cold $id2"
  [ -z "$(cgroup_dirs_of "$id1")$(cgroup_dirs_of "$id2")" ] || _e2e_fail "cgroups left by dropped warm starts"
  berthd_start
  [ "$(berth_cmd inspect -f '{{.State.Status}}' "$id1" "$id2" | sort -u)" = created ]
  run berth_cmd system check
  assert_success
  assert_output_contains "0 problems"
  run docker_cmd start -a "$id1"
  assert_success
  assert_output "one"
  run berth_cmd start -a "$id2"
  assert_success
  assert_output "two"
  berth_cmd rm "$id1" "$id2" >/dev/null
}

@test "--warm-start-ttl: a warm start not taken in time is dropped; 0 turns them off; bad values refused" {
  local id
  run timeout 10 "$BERTH_BIN_DIR/berthd" --warm-start-ttl -1 --host "unix://$BATS_TEST_TMPDIR/s.sock" \
    --data-root "$BATS_TEST_TMPDIR/d" --exec-root "$BATS_TEST_TMPDIR/e" --bridge=none --iptables=false --ip-forward=false
  refused_with "invalid value \"-1\" for --warm-start-ttl"
  berthd_kill9
  E2E_BERTHD_ARGS="--warm-start-ttl 1" berthd_start
  id=$(docker_cmd create busybox echo late)
  wait_until 10 "a warm monitor for $id" is_warm "$id"
  wait_until 10 "the TTL to drop the warm monitor of $id" is_cold "$id"
  run docker_cmd start -a "$id"
  assert_success
  assert_output "late"
  docker_cmd rm "$id" >/dev/null
  berthd_kill9
  E2E_BERTHD_ARGS="--warm-start-ttl 0" berthd_start
  id=$(docker_cmd create busybox echo cold)
  holds_for 1 "no warm monitor for $id" is_cold "$id"
  run docker_cmd start -a "$id"
  assert_success
  assert_output "cold"
  docker_cmd rm "$id" >/dev/null
  berthd_kill9
  berthd_start
}

# spares: berth-monitor processes of this file's berthd waiting for a job.
spares() { pgrep -P "$(berthd_pid)" -f -- "berth-monitor spare " || true; }
# netns_spares: those that make a network namespace ahead
netns_spares() { pgrep -P "$(berthd_pid)" -f -- "berth-monitor spare --netns " || true; }

@test "spare monitors: one waits after the first start; a start takes it and its command line names the bundle; it ends with berthd" {
  local id p
  berth_cmd run --rm busybox true
  wait_until 10 "a spare monitor" eval '[ -n "$(spares)" ]'
  p=$(spares | head -n1)
  # at idle priority while it waits (SCHED_IDLE is policy 5)
  [ "$(awk '{print $41}' "/proc/$p/stat")" = 5 ] || _e2e_fail "the spare $p is not SCHED_IDLE"
  id=$(berth_cmd run -d busybox sleep 300)
  # the spare became the container's monitor: pid and command line
  [ "$(berth_cmd inspect -f '{{.State.Pid}}' "$id")" -gt 0 ]
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "berth-monitor run --bundle $E2E_ROOT/data/containers/$id " ||
    _e2e_fail "pid $p is not the monitor of $id: $(tr '\0' ' ' <"/proc/$p/cmdline")"
  [ "$(awk '{print $41}' "/proc/$p/stat")" = 0 ] || _e2e_fail "the monitor $p kept the spare's idle priority"
  wait_until 10 "the next spare" eval '[ -n "$(spares)" ]'
  berth_cmd rm -f "$id" >/dev/null
  p=$(spares | head -n1)
  berthd_kill9
  wait_until 10 "the spare $p to end with berthd" eval "! kill -0 $p 2>/dev/null"
  berthd_start
}

@test "spare monitors make the network namespace ahead: --network none gets a new one with lo up each time, host the host's" {
  local hostns a b
  hostns=$(readlink /proc/self/ns/net)
  berth_cmd run --rm --network none busybox true
  wait_until 10 "a spare monitor that makes a network namespace" eval '[ -n "$(netns_spares)" ]'
  a=$(docker_cmd run --rm --network none busybox sh -c 'readlink /proc/self/ns/net; cat /sys/class/net/lo/flags')
  wait_until 10 "the next spare" eval '[ -n "$(netns_spares)" ]'
  b=$(docker_cmd run --rm --network none busybox sh -c 'readlink /proc/self/ns/net; cat /sys/class/net/lo/flags')
  [ "${a%%$'\n'*}" != "$hostns" ] && [ "${b%%$'\n'*}" != "$hostns" ] || _e2e_fail "--network none ran in the host's namespace"
  [ "${a%%$'\n'*}" != "${b%%$'\n'*}" ] || _e2e_fail "two containers got the same network namespace"
  [ "${a#*$'\n'}" = 0x9 ] && [ "${b#*$'\n'}" = 0x9 ] || _e2e_fail "lo is not up: $a / $b"
  wait_until 10 "the next spare" eval '[ -n "$(netns_spares)" ]'
  run docker_cmd run --rm --network host busybox readlink /proc/self/ns/net
  assert_success
  assert_output "$hostns"
  # after a start without a network namespace of its own, the spare makes none
  wait_until 10 "a spare without --netns" eval '[ -n "$(spares)" ] && [ -z "$(netns_spares)" ]'
}

spare_bundles() { ls -A "$E2E_ROOT/data/containers" | grep '^\.spare-' || true; }

@test "spare bundle directories: made ahead, taken by a create, the right hostname and resolv.conf; gone at restart and stop" {
  local out
  berth_cmd run --rm --network none busybox true
  wait_until 10 "spare bundle directories" eval '[ "$(spare_bundles | count)" -eq 2 ]'
  # not containers: nothing lists them and the check finds nothing
  [ -z "$(docker_cmd ps -aq)" ] || _e2e_fail "containers listed: $(docker_cmd ps -aq)"
  run berth_cmd system check
  assert_success
  assert_output_contains "0 problems"
  # taken by the next creates (a rename): their files are the container's
  local cid="$BATS_TEST_TMPDIR/cid" name file
  out=$(docker_cmd run --rm --network none --cidfile "$cid" busybox sh -c 'echo "$(hostname) $(cat /etc/hostname)"; cat /etc/resolv.conf')
  read -r name file <<<"$(head -n1 <<<"$out")"
  [ "$name" = "$(cut -c1-12 "$cid")" ] && [ "$file" = "$name" ] || _e2e_fail "hostname: $name, /etc/hostname: $file, id: $(cat "$cid")"
  [ "$(tail -n +2 <<<"$out")" = "$(cat /etc/resolv.conf)" ] || _e2e_fail "resolv.conf differs from the host's"
  out=$(docker_cmd run --rm --network none -h named busybox sh -c 'echo "$(hostname) $(cat /etc/hostname)"')
  [ "$out" = "named named" ] || _e2e_fail "-h named: $out"
  wait_until 10 "spare bundle directories again" eval '[ "$(spare_bundles | count)" -eq 2 ]'
  # a berthd SIGKILL leaves them; the restart removes them (and makes new ones after a create)
  berthd_kill9
  [ "$(spare_bundles | count)" -eq 2 ]
  berthd_start
  [ "$(spare_bundles | count)" -eq 0 ] || _e2e_fail "left after the restart: $(spare_bundles)"
  berth_cmd run --rm --network none busybox true
  wait_until 10 "spare bundle directories after the restart" eval '[ "$(spare_bundles | count)" -eq 2 ]'
  # a stop removes them
  _e2e_stop_pid "$(berthd_pid)" berthd
  [ "$(spare_bundles | count)" -eq 0 ] || _e2e_fail "left after the stop: $(spare_bundles)"
  berthd_start
}
