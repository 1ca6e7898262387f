#!/usr/bin/env bats
# berth-runtime: the built-in runtime as an OCI runtime command line (runc's
# grammar): create / state / start / kill / delete / run on a bundle made
# from the busybox rootfs, with --root for its state. No daemon or docker
# CLI involved (the harness's berthd only provides the data-root and the
# cgroup parent that cleanup sweeps).

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() {
  # Containers a failed test left: killed and deleted by pid, then the usual cleanup.
  for id in $(ls "$E2E_ROOT/rt" 2>/dev/null); do "$RT" --root "$E2E_ROOT/rt" delete --force "$id" || true; done
  e2e_teardown_file
}
setup() {
  RT="$REPO_ROOT/build/bin/berth-runtime"
  ROOT="$E2E_ROOT/rt"
  B="$E2E_ROOT/bundle-$BATS_TEST_NUMBER"
  mkdir -p "$B/rootfs"
  tar -xf "$(busybox_tar)" -C "$B/rootfs"
}
teardown() { e2e_teardown; }

rt() { "$RT" --root "$ROOT" "$@"; }

# mkconfig ID ARGS_JSON: a minimal config.json in $B.
mkconfig() {
  cat >"$B/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"args": $2, "env": ["PATH=/bin:/usr/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
 "root": {"path": "rootfs"},
 "hostname": "oci-$1",
 "annotations": {"org.example.test": "yes"},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}],
           "cgroupsPath": "/$E2E_CGP/oci-$1"}}
JSON
}

state_field() { rt state "$1" | sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p"; }

@test "create / state / start / state / kill / delete" {
  mkconfig c1 '["sh", "-c", "hostname >/tmp/started; exec sleep 600"]'
  rt create --bundle "$B" --pid-file "$B/pid" c1 </dev/null >"$B/out" 2>&1
  run rt state c1
  assert_success
  assert_output_contains '"status": "created"'
  assert_output_contains '"id": "c1"'
  assert_output_contains "\"bundle\": \"$B\""
  assert_output_contains '"org.example.test": "yes"'
  pid=$(state_field c1 pid)
  [ "$pid" -gt 0 ] && [ "$pid" = "$(cat "$B/pid")" ] || _e2e_fail "pid $pid, pid-file $(cat "$B/pid")"
  # Created, not started: the user process has not run yet, but lives in
  # its own namespaces and the cgroup.
  [ ! -e "$B/rootfs/tmp/started" ] || _e2e_fail "process ran before start"
  [ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || _e2e_fail "no pid namespace"
  grep -q "oci-c1" /proc/$pid/cgroup || _e2e_fail "not in its cgroup: $(cat /proc/$pid/cgroup)"
  run rt start c1
  assert_success
  run rt state c1
  assert_output_contains '"status": "running"'
  wait_until 5 "the started process to write /tmp/started" test -s "$B/rootfs/tmp/started"
  [ "$(cat "$B/rootfs/tmp/started")" = oci-c1 ] || _e2e_fail "hostname: $(cat "$B/rootfs/tmp/started")"
  [ "$(cat /proc/$pid/comm)" = sleep ] || _e2e_fail "pid $pid is $(cat /proc/$pid/comm)"
  # Not stopped: delete without --force is refused, start again too.
  run rt delete c1
  assert_status 1
  assert_output_contains "cannot delete container c1 that is not stopped: running"
  run rt start c1
  assert_status 1
  assert_output_contains "cannot start a container that is running: c1"
  run rt kill c1 NOSUCHSIG
  assert_status 1
  assert_output_contains 'invalid signal "NOSUCHSIG"'
  run rt kill c1 KILL
  assert_success
  wait_until 5 "c1 to be stopped after kill KILL" eval 'rt state c1 | grep -q "\"status\": \"stopped\""'
  run rt kill c1 TERM
  assert_status 1
  assert_output_contains "container not running: c1"
  run rt delete c1
  assert_success
  [ ! -d "/sys/fs/cgroup/$E2E_CGP/oci-c1" ] && [ ! -d "/sys/fs/cgroup/pids/$E2E_CGP/oci-c1" ] ||
    _e2e_fail "cgroup left behind"
  run rt state c1
  assert_status 1
  assert_output_contains "container does not exist: c1"
}

@test "delete --force of a created container; duplicate id; bad bundle" {
  mkconfig c2 '["sh", "-c", "touch /tmp/ran"]'
  rt create --bundle "$B" c2 </dev/null >"$B/out" 2>&1
  run rt create --bundle "$B" c2
  assert_status 1
  assert_output_contains "container with id exists: c2"
  pid=$(state_field c2 pid)
  run rt delete --force c2
  assert_success
  [ ! -e "$B/rootfs/tmp/ran" ] || _e2e_fail "a deleted, never started container ran"
  [ ! -e "/proc/$pid" ] || [ "$(cat /proc/$pid/comm 2>/dev/null)" != sh ] || _e2e_fail "init $pid still there"
  run rt create --bundle "$E2E_ROOT/nosuchbundle" c3
  assert_status 1
  assert_output_contains "nosuchbundle"
  [ ! -e "$ROOT/c3" ] || _e2e_fail "state left for a failed create"
}

@test "run: create + start + wait, the process's exit status" {
  mkconfig c4 '["sh", "-c", "echo out-$(hostname); exit 3"]'
  run rt run --bundle "$B" c4
  assert_status 3
  assert_output_contains "out-oci-c4"
  [ ! -e "$ROOT/c4" ] || _e2e_fail "run left its state"
  mkconfig c5 '["/nosuch"]'
  run rt run --bundle "$B" c5
  assert_status 1
  assert_output_contains "/nosuch"
}
