#!/usr/bin/env bats
# The start timeline (issue 17, docs/trace.md): BERTH_TRACE in the CLI's and
# berthd's environment records every phase of a container's life on one
# monotonic clock; the berth CLI prints the merged timeline, berthd appends
# its spans (the monitor's and the init's included) to a file for clients
# that do not ask for them (the docker CLI).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  # berthd records and also appends every span to this file
  export DAEMON_TRACE="$BATS_FILE_TMPDIR/daemon-trace.jsonl"
  BERTH_TRACE=$DAEMON_TRACE e2e_setup_file
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# check_order FILE KEY PHASE...: FILE's spans under KEY (JSON lines) hold
# every PHASE ("process:phase"), each starting no earlier than the one
# before, every span well formed (end >= start) and the first "cli:" or
# "berthd:" one no later than the others.
check_order() {
  python3 - "$@" <<'EOF'
import json, sys
path, key, want = sys.argv[1], sys.argv[2], sys.argv[3:]
spans = [json.loads(l) for l in open(path) if l.strip()]
spans = [s for s in spans if s["k"] == key]
assert spans, f"no spans for {key} in {path}"
for s in spans:
    assert s["e"] >= s["s"] > 0, s
by = {}
for s in spans:
    by.setdefault(f'{s["p"]}:{s["n"]}', s)
prev = None
for w in want:
    assert w in by, f"phase {w} missing; have {sorted(by)}"
    s = by[w]
    if prev is not None:
        assert s["s"] >= prev[1]["s"], f"{w} starts at {s['s']}, before {prev[0]} at {prev[1]['s']}"
    prev = (w, s)
print(f"{len(want)} phases in order, {len(spans)} spans")
EOF
}

@test "berth: BERTH_TRACE=1 prints the merged timeline on stderr, every phase" {
  run --separate-stderr env BERTH_TRACE=1 "$BERTH_BIN_DIR/berth" -H "unix://$SOCK" run --rm --network none busybox echo traced
  assert_success
  assert_output "traced"
  for phase in "cli parse" "POST /containers/create" "create: database write" "create: dirs and files" \
    "POST /containers/{id}/start" "spawn monitor" "monitor exec" "cgroup" "clone" "mounts and pivot_root" \
    "seccomp" "exec" "first output byte" "exit: reap to Exit" "removal" "wait answer" "cli total"; do
    assert_stderr_contains " $phase "
  done
  assert_stderr_contains "PROCESS  PHASE"
  # the table: offsets start at 0 with the CLI's own start
  [[ "${stderr_lines[1]}" =~ ^cli\ +cli\ total\ +0\.000\  ]] || { echo "first row: ${stderr_lines[1]}"; false; }
}

@test "berth: BERTH_TRACE=FILE writes the spans, CLI, berthd, monitor and init, in the order of a start" {
  local out="$BATS_TEST_TMPDIR/cli.jsonl"
  run --separate-stderr env BERTH_TRACE="$out" "$BERTH_BIN_DIR/berth" -H "unix://$SOCK" run --rm --network none busybox echo traced
  assert_success
  assert_output "traced"
  [ -z "$stderr" ] || { echo "stderr: $stderr"; false; }
  local id
  id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["k"])' "$out")
  [[ "$id" =~ ^[0-9a-f]{64}$ ]]
  # a warm start (docs/monitor.md): set up after the create, released by the start
  run check_order "$out" "$id" "cli:cli parse" "cli:POST /containers/create" "berthd:create: database write" \
    "berthd:warm: spec, config.json" "berthd:warm: spawn monitor" \
    "monitor:monitor setup" "init:clone" "monitor:cgroup" "init:mounts and pivot_root" "init:cgroup join" \
    "init:seccomp" "init:exec" "monitor:process runs" "monitor:exit: reap to Exit" "berthd:exit: record exited" "berthd:removal" \
    "berthd:wait answer"
  assert_success
  run check_order "$out" "$id" "cli:POST /containers/create" "cli:POST /containers/{id}/start" \
    "berthd:start: warm monitor released" "init:exec" "berthd:start: record running"
  assert_success
  # the output is read after the exec, by the CLI after the monitor (the
  # reap of a short process may come first: no order with the exit)
  run check_order "$out" "$id" "init:exec" "monitor:first output byte" "cli:first output byte"
  assert_success
  # the spans were taken: asking again gives none of them (the monitor's
  # cleanup, recorded off the critical path, may come after)
  run api GET "/berth/trace/$id"
  assert_success
  [ "${lines[-1]}" = 200 ]
  [[ "$output" != *'"create: database write"'* && "$output" != *'"spawn monitor"'* ]]
}

@test "docker: berthd's own timeline of a docker CLI run lands in its BERTH_TRACE file" {
  local cid="$BATS_TEST_TMPDIR/cid"
  run docker_cmd run --rm --network none --cidfile "$cid" busybox echo traced
  assert_success
  assert_output "traced"
  run check_order "$DAEMON_TRACE" "$(cat "$cid")" "berthd:create: config, mounts" \
    "berthd:warm: spec, beside the create" "berthd:warm: spawn monitor"
  assert_success
  run check_order "$DAEMON_TRACE" "$(cat "$cid")" "berthd:create: dirs and files" "berthd:create: database write" \
    "berthd:warm: spec, config.json" "berthd:warm: spawn monitor" "monitor:monitor exec" "init:clone" "monitor:cgroup" \
    "init:mounts and pivot_root" "init:seccomp" "init:exec" "monitor:exit: reap to Exit" \
    "berthd:exit: record exited" "berthd:removal" "berthd:wait answer"
  assert_success
  run check_order "$DAEMON_TRACE" "$(cat "$cid")" "berthd:start: warm monitor released" "init:exec" \
    "monitor:first output byte"
  assert_success
}

@test "docker: a cold start's timeline (a -v source the start makes: no warm start)" {
  local cid="$BATS_TEST_TMPDIR/cid"
  run docker_cmd run --rm --network none --cidfile "$cid" -v "$BATS_TEST_TMPDIR/made:/x" busybox echo traced
  assert_success
  assert_output "traced"
  run check_order "$DAEMON_TRACE" "$(cat "$cid")" "berthd:create: database write" "berthd:start: state, layers" \
    "berthd:start: spec, config.json" "berthd:spawn monitor" "monitor:monitor exec" "init:clone" "monitor:cgroup" \
    "init:mounts and pivot_root" "init:seccomp" "init:exec" "monitor:exit: reap to Exit" \
    "berthd:exit: record exited" "berthd:removal" "berthd:wait answer"
  assert_success
  grep -F "$(cat "$cid")" "$DAEMON_TRACE" | grep -q '"warm: ' && _e2e_fail "a warm start for a -v source the start makes"
  return 0
}

@test "berth: without BERTH_TRACE nothing is printed and no span file is left in the bundle" {
  run --separate-stderr env -u BERTH_TRACE "$BERTH_BIN_DIR/berth" -H "unix://$SOCK" run -d --network none busybox true
  assert_success
  local id=$output
  wait_until 10 "$id to exit" eval "[ \"\$(berth_cmd inspect -f '{{.State.Status}}' $id)\" = exited ]"
  [ -z "$stderr" ]
  # berthd read and removed the monitor's span file when the container exited
  [ ! -e "$E2E_ROOT/data/containers/$id/trace.jsonl" ]
  berth_cmd rm "$id" >/dev/null
}

@test "api: GET /berth/trace of an unknown id answers an empty list; a malformed id is not a path" {
  run api GET "/berth/trace/$(printf 'f%.0s' {1..64})"
  assert_success
  [ "${lines[-1]}" = 200 ]
  [ "${#lines[@]}" -eq 1 ]
  run api GET "/berth/trace/"
  assert_success
  [ "${lines[-1]}" = 404 ]
}

# The cuts the timeline judged (docs/trace.md): a --rm container's overlay
# is volatile, and its directory goes in the background after the exit.
root_opts() { awk '$5 == "/" { print $0 }' "/proc/$1/mountinfo"; }

@test "berth: a --rm container's overlay is volatile, a kept one's not; nothing is left" {
  local id pid dir
  id=$(berth_cmd run -d --rm --network none busybox sleep 300)
  dir=$E2E_ROOT/data/containers/$id
  pid=$(berth_cmd inspect -f '{{.State.Pid}}' "$id")
  [[ "$(root_opts "$pid")" == *volatile* ]] || _e2e_fail "no volatile: $(root_opts "$pid")"
  berth_cmd kill "$id" >/dev/null
  wait_until 10 "$id to be removed" eval "! berth_cmd inspect $id >/dev/null 2>&1"
  wait_until 10 "$dir to be deleted" eval "[ ! -e $dir ]"
  local kept
  kept=$(berth_cmd run -d --network none busybox sleep 300)
  pid=$(berth_cmd inspect -f '{{.State.Pid}}' "$kept")
  [[ "$(root_opts "$pid")" != *volatile* ]] || _e2e_fail "a kept container's overlay is volatile"
  berth_cmd rm -f "$kept" >/dev/null
  assert_no_leftovers
}
