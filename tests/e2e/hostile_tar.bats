#!/usr/bin/env bats
# Hostile tars (issue 14): the cases of tests/e2e/hostile_tar.py through
# every way a tar enters berthd (import, load, cp, build context, ADD of a
# local tar), a sentinel tree beside the roots that must not change, the
# store usable afterwards; cp of a few cases through both CLIs; the tar-bomb
# limits (max-expansion-ratio, min-free-space) leave nothing behind.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

HT="$BATS_TEST_DIRNAME/hostile_tar.py"
CANARY() { echo "$E2E_ROOT/canary"; }
DATA() { echo "$E2E_ROOT/data"; }

gen_cases() {
  [ -s "$E2E_ROOT/cases/cases.json" ] && return 0
  python3 "$HT" gen "$E2E_ROOT/cases" "$(CANARY)" >/dev/null
}

# A running container (name $1, default hostile-target) with /cp/<case> for every case.
start_target() {
  local name=${1:-hostile-target}
  local dirs
  dirs=$(python3 -c 'import json,sys; print(" ".join("/cp/"+c["name"] for c in json.load(open(sys.argv[1]))))' \
    "$E2E_ROOT/cases/cases.json")
  run cli berth run -d --name "$name" busybox sh -c "mkdir -p $dirs && echo ready && sleep 600"
  assert_success
  wait_until 10 "$name to be ready" eval "[[ \$(cli berth logs $name 2>&1) == *ready* ]]"
}

canary_listing() { (cd "$(CANARY)" && find . -printf '%y %m %s %n %p %l\n' | sort && sha256sum secret bin dir/inner); }

store_usable() {
  run cli berth run --rm busybox true
  assert_success
  run cli berth images --format '{{.Repository}}'
  assert_success
  assert_output_contains busybox
}

@test "every hostile case through import, load, cp, build context and ADD: nothing escapes, store usable" {
  gen_cases
  start_target
  run python3 "$HT" run "$SOCK" "$E2E_ROOT/cases" "$(CANARY)" hostile-target "$(DATA)"
  echo "$output"
  assert_success
  store_usable
  run cli berth rm -f hostile-target
  assert_success
}

# `cp - CONTAINER:DIR` with a tar on stdin, through both CLIs: refusals
# exit 1 with the daemon's message, accepted cases land inside the
# container, the sentinel tree stays as it was.
scenario_cli_cp() {
  local c=$1 n="hostile-cli-$1" before
  gen_cases
  start_target "$n"
  before=$(canary_listing)
  for t in dotdot hardlink-dotdot pax-path-override whiteout-dotdot gzip-bomb; do
    run cli "$c" cp - "$n:/cp/$t" <"$E2E_ROOT/cases/$t.tar"
    [ "$status" -eq 1 ] || _e2e_fail "$t: expected exit 1, got $status"
    [[ $output == *"Error response from daemon: "* ]] || _e2e_fail "$t: no daemon message"
  done
  run cli "$c" cp - "$n:/cp/gzip-bomb" <"$E2E_ROOT/cases/gzip-bomb.tar"
  assert_output_contains max-expansion-ratio
  run cli "$c" cp - "$n:/cp/abs-symlink-dir" <"$E2E_ROOT/cases/abs-symlink-dir.tar"
  assert_success
  run cli "$c" exec "$n" cat "$(CANARY)/pwn-abslink"
  assert_output x
  run cli "$c" cp - "$n:/cp/setuid" <"$E2E_ROOT/cases/setuid.tar"
  assert_success
  run cli "$c" exec "$n" stat -c %a /cp/setuid/suid /cp/setuid/sgid
  assert_output $'4755\n2755'
  [ "$(canary_listing)" = "$before" ] || _e2e_fail "the sentinel tree changed"
  [ ! -e "$(CANARY)/pwn-abslink" ] || _e2e_fail "pwn-abslink escaped to the host"
  run cli "$c" rm -f "$n"
  assert_success
}
@test "berth: cp - of hostile tars: refused with the daemon's message or kept inside" { scenario_cli_cp berth; }
@test "docker: cp - of hostile tars: refused with the daemon's message or kept inside" { scenario_cli_cp docker; }

# The tar-bomb limits: a reserve no disk meets refuses every unpack with a
# clear message and leaves no ingest file, snapshot or context behind;
# berthd restarted with its usual flags serves as before.
@test "min-free-space refuses import, load, build and cp with nothing left behind" {
  gen_cases
  start_target hostile-free
  berthd_kill9
  E2E_BERTHD_ARGS="--min-free-space 1000000t" berthd_start
  local imgs_before snaps_before
  imgs_before=$(cli berth images -q --no-trunc | sort)
  snaps_before=$(ls "$(DATA)/snapshots" | sort)
  run api POST "/v1.41/images/create?fromSrc=-&repo=free-imp" -H 'Content-Type: application/x-tar' \
    --data-binary "@$E2E_ROOT/cases/setuid.tar"
  [[ $output == *min-free-space* ]] || _e2e_fail "import: no min-free-space message"
  run cli berth load -i "$(busybox_tar)"
  [ "$status" -ne 0 ] || _e2e_fail "load succeeded"
  [[ $output == *min-free-space* ]] || _e2e_fail "load: no min-free-space message"
  run cli berth cp - hostile-free:/cp/setuid <"$E2E_ROOT/cases/setuid.tar"
  assert_status 1
  assert_output_contains min-free-space
  mkdir -p "$E2E_ROOT/freectx" && printf 'FROM busybox\n' >"$E2E_ROOT/freectx/Dockerfile"
  run cli berth build -q "$E2E_ROOT/freectx"
  [ "$status" -ne 0 ] || _e2e_fail "build succeeded"
  assert_output_contains min-free-space
  [ "$(cli berth images -q --no-trunc | sort)" = "$imgs_before" ] || _e2e_fail "an image appeared"
  [ "$(ls "$(DATA)/snapshots" | sort)" = "$snaps_before" ] || _e2e_fail "a snapshot appeared"
  [ -z "$(ls -A "$(DATA)/content/ingest")" ] || _e2e_fail "ingest not empty: $(ls -A "$(DATA)/content/ingest")"
  [ -z "$(ls -A "$(DATA)/build/tmp" 2>/dev/null | grep docker-builder)" ] || _e2e_fail "a build context was left"
  berthd_kill9
  berthd_start
  run cli berth rm -f hostile-free
  assert_success
  store_usable
}

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
