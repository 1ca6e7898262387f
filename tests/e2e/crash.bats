#!/usr/bin/env bats
# Crash safety (issue 14, docs/crash-safety.md): berthd SIGKILLed 0-11 ms
# into a start leaves the container either Running with exactly one monitor
# and process, or Created/Exited with none; a second start never runs a
# second copy; rm -f removes process and cgroup. A commit's freeze is thawed
# by the restart, a user's pause is kept. Leftovers of interrupted work
# (container dirs, blobs, partial ingests, unpack dirs) are gone after a
# restart, and `berth system check [--repair]` reports and repairs what can
# be planted.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

state_of() { berth_cmd inspect -f '{{.State.Status}}' "$1"; }
# monitors_of ID: live berth-monitor pids running container ID's bundle
# (one pgrep: a loaded machine makes a shell loop over /proc take seconds).
monitors_of() { pgrep -f -- "berth-monitor run --bundle $E2E_ROOT/data/containers/$1 " || true; }
# procs_of ID: distinct pids in container ID's cgroup (every hierarchy).
procs_of() {
  local d
  for d in $(cgroup_dirs_of "$1"); do cat "$d/cgroup.procs" 2>/dev/null; done | sort -un
}
count() { grep -c . || true; }
# one_copy ID: exactly one monitor and one process of container ID.
one_copy() { [ "$(monitors_of "$1" | count)" -eq 1 ] && [ "$(procs_of "$1" | count)" -eq 1 ]; }
no_copy() { [ "$(monitors_of "$1" | count)" -eq 0 ] && [ "$(procs_of "$1" | count)" -eq 0 ]; }

# After a restart the container is Running with one copy, or
# Created/Exited with none; never anything in between.
assert_consistent() {
  local id=$1 st
  st=$(state_of "$id")
  case $st in
    running) wait_until 10 "one copy of running $id" one_copy "$id" ;;
    created | exited) wait_until 10 "no copy of $st $id" no_copy "$id" ;;
    *) _e2e_fail "container $id is '$st' after the restart" ;;
  esac
  echo "$st"
}

# Busy waits on bash's clock (no fork: a forked sleep costs milliseconds).
spin_until_us() { while (( ${EPOCHREALTIME/./} < $1 )); do :; done; }

# For each delay D: start the container in the background, and SIGKILL
# berthd D ms after berthd took the start's intent (monitor.lock appears
# right before it spawns the monitor; "pre" kills as soon as the client is
# launched, before the request may have arrived), then restart berthd.
scenario_kill_during_start() {
  local c=$1 ms id st states="" bpid lock end
  for ms in "${@:2}"; do
    id=$(cli "$c" create busybox sleep 300)
    [[ $id =~ ^[0-9a-f]{64}$ ]] || _e2e_fail "create printed '$id'"
    lock=$E2E_ROOT/data/containers/$id/monitor.lock
    bpid=$(berthd_pid)
    _e2e_is_cmd "$bpid" berthd || _e2e_fail "berthd $bpid not running"
    cli "$c" start "$id" >/dev/null 2>&1 &
    local start_pid=$!
    if [ "$ms" != pre ]; then
      end=$(( ${EPOCHREALTIME/./} + 10000000 ))
      while [ ! -e "$lock" ] && (( ${EPOCHREALTIME/./} < end )); do :; done
      spin_until_us $(( ${EPOCHREALTIME/./} + ms * 1000 ))
    fi
    kill -KILL "$bpid"
    wait_until 10 "berthd $bpid to exit after SIGKILL" eval "! kill -0 $bpid 2>/dev/null"
    wait "$start_pid" || true   # the client lost its daemon: any status
    berthd_start
    st=$(assert_consistent "$id")
    states+="$ms:$st "
    # A second start never runs a second copy.
    run cli "$c" start "$id"
    assert_success
    wait_until 10 "exactly one copy of $id after a second start" one_copy "$id"
    [ "$(state_of "$id")" = running ] || _e2e_fail "not running after start"
    # rm -f takes process, monitor and cgroup.
    run cli "$c" rm -f "$id"
    assert_success
    wait_until 10 "no process or monitor of $id after rm -f" no_copy "$id"
    wait_until 10 "no cgroup of $id after rm -f" eval "[ -z \"\$(cgroup_dirs_of $id)\" ]"
    wait_until 10 "containers/$id to go after rm -f" eval "[ ! -e \"\$E2E_ROOT/data/containers/$id\" ]"
  done
  echo "# states after SIGKILL at ms: $states; starts adopted by restore so far:" \
    "$(grep -c 'adopted the monitor of a start' "$E2E_ROOT/berthd.log")" >&3
}
# exec_monitors: pids of berth-monitor exec processes of this test's data-root
exec_monitors() {
  local f pid
  for f in $(grep -lasF -- "$E2E_ROOT/data/containers/" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    tr '\0' ' ' <"$f" 2>/dev/null | grep -q 'berth-monitor exec ' && echo "$pid"
  done
  return 0
}

@test "berth: SIGKILL of berthd 0-11 ms into a start: one copy or none, second start no duplicate, rm -f clean" {
  scenario_kill_during_start berth pre 0 2 5 8 11
}
@test "docker: SIGKILL of berthd 0-11 ms into a start: one copy or none, second start no duplicate, rm -f clean" {
  scenario_kill_during_start docker pre 1 4 10
}

@test "berth-monitor refuses to run a container whose monitor is alive (its socket untouched)" {
  local id dir sock
  id=$(berth_cmd run -d busybox sleep 300)
  dir=$E2E_ROOT/data/containers/$id
  sock=$(find "$E2E_ROOT/exec/m" -name "${id:0:12}.sock")
  [ -S "$sock" ] || _e2e_fail "no monitor socket"
  run --separate-stderr "$BERTH_BIN_DIR/berth-monitor" run --bundle "$dir" --id "$id" --socket "$sock" \
    --cgroup-root /sys/fs/cgroup
  assert_status 1
  assert_stderr_contains "already running"
  [ -S "$sock" ] || _e2e_fail "the refused monitor removed the live one's socket"
  one_copy "$id" || _e2e_fail "not exactly one copy"
  [ "$(monitor_lock_pid "$id")" = "$(monitors_of "$id")" ] || _e2e_fail "lock file does not name the monitor"
  berth_cmd rm -f "$id" >/dev/null
}
monitor_lock_pid() { tr -d '\n' <"$E2E_ROOT/data/containers/$1/monitor.lock"; }

# freezer_state ID: FROZEN / THAWED of container ID's v1 freezer (or v2 1/0).
freezer_state() {
  local d
  d=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -path "*/$E2E_CGP/$1" 2>/dev/null | head -n1)
  if [ -n "$d" ]; then cat "$d/freezer.state"; else
    d=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$E2E_CGP/$1" | head -n1)
    [ "$(cat "$d/cgroup.freeze")" = 1 ] && echo FROZEN || echo THAWED
  fi
}
# freezer_file ID: the file saying whether container ID is frozen.
freezer_file() {
  local d
  d=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -path "*/$E2E_CGP/$1" 2>/dev/null | head -n1)
  if [ -n "$d" ]; then echo "$d/freezer.state"; else
    d=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$E2E_CGP/$1" | head -n1)
    echo "$d/cgroup.freeze"
  fi
}
freeze_by_hand() {
  local d
  d=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -path "*/$E2E_CGP/$1" 2>/dev/null | head -n1)
  if [ -n "$d" ]; then echo FROZEN >"$d/freezer.state"; else
    d=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$E2E_CGP/$1" | head -n1)
    echo 1 >"$d/cgroup.freeze"
  fi
}
# set_state_field ID FIELD JSONVALUE: edits the container's record (berthd down).
set_state_field() {
  python3 - "$E2E_ROOT/data/berth.db" "$1" "$2" "$3" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(state,) = db.execute("SELECT state FROM containers WHERE id = ?", (sys.argv[2],)).fetchone()
s = json.loads(state)
s[sys.argv[3]] = json.loads(sys.argv[4])
db.execute("UPDATE containers SET state = ? WHERE id = ?", (json.dumps(s), sys.argv[2]))
db.commit()
EOF
}

@test "restart thaws what berth froze (commit, a crash between freeze and record) and keeps a user's pause" {
  local a b u ms
  a=$(berth_cmd run -d busybox sleep 300)
  b=$(docker_cmd run -d busybox sleep 300)
  u=$(berth_cmd run -d busybox sleep 300)
  docker_cmd pause "$u" >/dev/null
  # Real commits, berthd SIGKILLed the moment the commit has frozen the
  # container (read from the freezer in a busy loop, no fork), or a little
  # after: whatever the moment, the container runs thawed after the restart.
  local fz bpid caught=0 st end
  fz=$(freezer_file "$a")
  for ms in 0 0 3; do
    bpid=$(berthd_pid)
    _e2e_is_cmd "$bpid" berthd || _e2e_fail "berthd $bpid not running"
    berth_cmd commit "$a" "crash-commit:$ms" >/dev/null 2>&1 &
    local cpid=$!
    end=$(( ${EPOCHREALTIME/./} + 5000000 ))
    st=
    while [[ $st != FROZEN && $st != FREEZING && $st != 1 ]] && (( ${EPOCHREALTIME/./} < end )); do
      read -r st <"$fz" || true
    done
    [[ $st == THAWED || $st == 0 ]] || caught=$((caught + 1))
    end=$(( ${EPOCHREALTIME/./} + ms * 1000 )); while (( ${EPOCHREALTIME/./} < end )); do :; done
    kill -KILL "$bpid"
    wait_until 10 "berthd $bpid to exit after SIGKILL" eval "! kill -0 $bpid 2>/dev/null"
    wait "$cpid" || true
    berthd_start
    [ "$(state_of "$a")" = running ] || _e2e_fail "after a commit killed at $ms ms: $(state_of "$a")"
    [ "$(freezer_state "$a")" = THAWED ] || _e2e_fail "frozen after a commit killed at $ms ms"
  done
  echo "# berthd killed while a commit had the container frozen: $caught of 3" >&3
  # The exact states a crash inside a commit leaves: frozen and recorded as
  # berth's commit freeze (a); frozen but still recorded Running (b).
  berth_cmd pause "$a" >/dev/null
  berthd_kill9
  set_state_field "$a" CommitFreeze true
  freeze_by_hand "$b"
  berthd_start
  [ "$(state_of "$a")" = running ] && [ "$(freezer_state "$a")" = THAWED ] || _e2e_fail "commit freeze kept"
  [ "$(state_of "$b")" = running ] && [ "$(freezer_state "$b")" = THAWED ] || _e2e_fail "stray freeze kept"
  [ "$(state_of "$u")" = paused ] && [ "$(freezer_state "$u")" = FROZEN ] || _e2e_fail "user pause lost"
  run docker_cmd unpause "$u"
  assert_success
  # the containers work: exec answers in each
  for c in "$a" "$b" "$u"; do
    run docker_cmd exec "$c" echo alive
    assert_output alive
  done
  berth_cmd rm -f "$a" "$b" "$u" >/dev/null
  berth_cmd rmi crash-commit:0 crash-commit:3 >/dev/null 2>&1 || true
}

# plant_leftovers: what interrupted rm, import, pull and unpack leave (berthd down).
plant_leftovers() {
  local d=$E2E_ROOT/data hex
  ORPHAN_ID=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)
  mkdir -p "$d/containers/$ORPHAN_ID/upper/etc" && echo x >"$d/containers/$ORPHAN_ID/upper/etc/f"
  echo '{}' >"$d/containers/$ORPHAN_ID/config.json"
  head -c 300000 /dev/urandom >"$E2E_ROOT/blob"
  BLOB_HEX=$(sha256sum "$E2E_ROOT/blob" | cut -d' ' -f1)
  mv "$E2E_ROOT/blob" "$d/content/blobs/sha256/$BLOB_HEX"
  head -c 100000 /dev/urandom >"$d/content/ingest/partial-download"
  mkdir -p "$d/snapshots/.tmp-0123456789abcdef/fs/bin"
  SNAP_HEX=$(echo "$ORPHAN_ID" | sha256sum | cut -d' ' -f1)
  mkdir -p "$d/snapshots/$SNAP_HEX/fs" && echo y >"$d/snapshots/$SNAP_HEX/fs/y"
}
leftovers_gone() {
  local d=$E2E_ROOT/data
  [ ! -e "$d/containers/$ORPHAN_ID" ] && [ ! -e "$d/content/blobs/sha256/$BLOB_HEX" ] &&
    [ -z "$(ls -A "$d/content/ingest")" ] && [ ! -e "$d/snapshots/.tmp-0123456789abcdef" ] &&
    [ ! -e "$d/snapshots/$SNAP_HEX" ]
}

@test "restart ends the exec monitors the killed berthd left (their sessions died with it)" {
  local cid pids
  # An exec gets a monitor of its own only where the container's monitor
  # does not run execs itself (ExecStart): an external runtime's container.
  require_cmd runc
  cid=$(berth_cmd run -d --runtime runc busybox sleep 300)
  berth_cmd exec -d "$cid" sleep 120
  wait_until 10 "the exec monitor to run" eval '[ -n "$(exec_monitors)" ]'
  berthd_kill9
  [ -n "$(exec_monitors)" ]   # it outlives berthd ...
  berthd_start
  # ... and restore ends it
  wait_until 10 "restore to end the exec monitor" eval '[ -z "$(exec_monitors)" ]'
  run berth_cmd inspect -f '{{.State.Running}}' "$cid"
  assert_output "true"
  berth_cmd rm -f "$cid" >/dev/null
}

@test "an exec the built-in runtime's monitor runs survives a berthd SIGKILL; no exec monitor anywhere" {
  local cid
  cid=$(berth_cmd run -d busybox sleep 300)
  berth_cmd exec -d "$cid" sleep 120
  wait_until 10 "the exec to run" eval 'berth_cmd top "$cid" | grep -q "sleep 120"'
  [ -z "$(exec_monitors)" ] || _e2e_fail "an exec monitor was spawned: $(exec_monitors)"
  berthd_kill9
  berthd_start
  run berth_cmd inspect -f '{{.State.Running}}' "$cid"
  assert_output "true"
  # the exec's process ran on under the container's monitor, and execs work
  run berth_cmd top "$cid"
  assert_output_contains "sleep 120"
  run berth_cmd exec "$cid" echo still
  assert_output "still"
  berth_cmd rm -f "$cid" >/dev/null
}

@test "restart removes the leftovers of interrupted rm, import, pull and unpack; system check then says 0 problems" {
  local keep
  keep=$(docker_cmd create busybox true)
  berthd_kill9
  plant_leftovers
  berthd_start
  leftovers_gone || _e2e_fail "leftovers survived the restart: $(ls "$E2E_ROOT/data/content/ingest" "$E2E_ROOT/data/snapshots")"
  # nothing referenced went: the image and the container still work
  run docker_cmd start -a "$keep"
  assert_success
  run berth_cmd system check
  assert_success
  assert_output "0 problems"
  docker_cmd rm "$keep" >/dev/null
}

@test "berth system check reports each planted problem, --repair fixes them, then 0 problems" {
  local d=$E2E_ROOT/data lost stray vol sleeper
  plant_leftovers
  # old enough not to pass for work in progress (a check skips the last minute)
  touch -h -d '2 hours ago' "$d/containers/$ORPHAN_ID" "$d/content/blobs/sha256/$BLOB_HEX" \
    "$d/content/ingest/partial-download" "$d/snapshots/.tmp-0123456789abcdef" "$d/snapshots/$SNAP_HEX"
  # a container whose directory was lost
  lost=$(berth_cmd create busybox true)
  # (an update drops its warm start, whose monitor works in the directory)
  berth_cmd update --cpu-shares 512 "$lost" >/dev/null
  rm -rf "${d:?}/containers/$lost"
  # a stopped container with a stray process left in its cgroup
  stray=$(berth_cmd run -d busybox true)
  wait_until 10 "$stray to exit" eval "[ \"\$(state_of $stray)\" = exited ]"
  # and its monitor to finish: its cleanup removes the cgroup and what is in it
  wait_until 10 "the monitor of $stray to finish" eval "[ -z \"\$(monitors_of $stray)\" ]"
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 1 -mindepth 1 -type d \( -name pids -o -name memory \) | head -n1)
  mkdir -p "$cg/$E2E_CGP/$stray"
  sleep 300 </dev/null >/dev/null 2>&1 3>&- &
  sleeper=$!
  echo "$sleeper" >"$cg/$E2E_CGP/$stray/cgroup.procs"
  # a volume directory without its record, a volume without its data
  vol=$(berth_cmd volume create)
  rm -rf "${d:?}/volumes/$vol/_data"
  mkdir -p "$d/volumes/orphanvol/_data" && touch -d '2 hours ago' "$d/volumes/orphanvol"
  # a network namespace file of a container that does not exist
  mkdir -p "$E2E_ROOT/exec/netns" && touch "$E2E_ROOT/exec/netns/$ORPHAN_ID"

  run berth_cmd system check
  assert_status 1
  assert_output_contains "container-dir containers/$ORPHAN_ID: directory without a container record"
  assert_output_contains "blob sha256:$BLOB_HEX: no image, layer or digest references it"
  assert_output_contains "ingest content/ingest/partial-download:"
  assert_output_contains "snapshot snapshots/.tmp-0123456789abcdef:"
  assert_output_contains "snapshot sha256:$SNAP_HEX: no layer references it"
  assert_output_contains "container $lost: its directory containers/$lost is gone: container lost"
  assert_output_contains "cgroup $stray: 1 processes in the cgroup of a container recorded as exited"
  assert_output_contains "volume orphanvol:"
  assert_output_contains "volume $vol: its data directory"
  assert_output_contains "netns $ORPHAN_ID:"
  [[ ${lines[-1]} == "10 problems" ]] || _e2e_fail "last line: ${lines[-1]}"
  refute_output_contains "[repaired]"
  # a check alone changes nothing
  [ -e "$d/content/blobs/sha256/$BLOB_HEX" ] && kill -0 "$sleeper" || _e2e_fail "check without --repair repaired"

  run berth_cmd system check --repair
  assert_success
  [[ ${lines[-1]} == "10 problems" ]] || _e2e_fail "last line: ${lines[-1]}"
  [ "$(grep -c '\[repaired\]$' <<<"$output")" -eq 10 ] || _e2e_fail "not all repaired"
  leftovers_gone || _e2e_fail "leftovers survived --repair"
  wait_until 5 "the stray process to be killed" eval "! kill -0 $sleeper 2>/dev/null"
  [ "$(state_of "$lost")" = dead ] || _e2e_fail "lost container is $(state_of "$lost")"
  [ -d "$d/volumes/$vol/_data" ] && [ ! -e "$d/volumes/orphanvol" ] || _e2e_fail "volumes not repaired"
  [ ! -e "$E2E_ROOT/exec/netns/$ORPHAN_ID" ] || _e2e_fail "netns file left"

  run berth_cmd system check
  assert_success
  assert_output "0 problems"
  # the dead container can be removed, as docker removes a dead one
  run docker_cmd rm "$lost"
  assert_success
  berth_cmd rm "$stray" >/dev/null
  berth_cmd volume rm "$vol" >/dev/null
}

@test "system check: bad repair value is 400; the API answers JSON" {
  run api POST '/v1.41/system/check?repair=maybe'
  [ "${lines[-1]}" = 400 ] || _e2e_fail "status ${lines[-1]}"
  assert_output_contains "invalid value for repair"
  run api POST '/v1.41/system/check'
  [ "${lines[-1]}" = 200 ] || _e2e_fail "status ${lines[-1]}"
  [ "${lines[0]}" = '{"Problems":[]}' ] || _e2e_fail "body ${lines[0]}"
  run berth_cmd system check extra
  assert_status 1
}
