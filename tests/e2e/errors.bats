#!/usr/bin/env bats
# Bad input gets Docker's errors and harms nothing in the store.
# Missing images live under a loopback registry that is not running
# (127.0.0.1:9): nothing here may reach Docker Hub.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
# each test starts from an empty container list, so one failure does not cascade
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

MISSING=127.0.0.1:9/none:x

# image_ids: the sorted image IDs in the store, through the raw API.
image_ids() {
  api GET /v1.41/images/json | grep -oE '"Id" *: *"sha256:[0-9a-f]{64}"' | grep -oE 'sha256:[0-9a-f]{64}' | sort
}

scenario_unknown_image() {
  local c=$1 before
  before=$(image_ids)
  [ -n "$before" ] || _e2e_fail "the store should hold busybox before the test"
  run --separate-stderr cli "$c" run --rm "$MISSING" true
  assert_status 125
  assert_stderr_contains "Unable to find image"
  assert_stderr_contains "$MISSING"
  [ "$(image_ids)" = "$before" ] || _e2e_fail "image list changed"
  run cli "$c" ps -aq
  assert_output ""
}
@test "berth: run of an unknown image: Unable to find image, exit 125" { scenario_unknown_image berth; }
@test "docker: run of an unknown image: Unable to find image, exit 125" { scenario_unknown_image docker; }

scenario_pull_never() {
  local c=$1
  run --separate-stderr cli "$c" run --rm --pull never "$MISSING" true
  assert_status 125
  assert_stderr_contains "No such image"
  [[ $stderr != *"Unable to find image"* ]] || _e2e_fail "--pull never must not try to pull"
}
@test "berth: run --pull never of an unknown image: No such image" { scenario_pull_never berth; }
@test "docker: run --pull never of an unknown image: No such image" { scenario_pull_never docker; }

scenario_unknown_container() {
  local c=$1
  run --separate-stderr cli "$c" logs no-such-container
  assert_status 1
  assert_stderr_contains "No such container: no-such-container"
  run --separate-stderr cli "$c" stop no-such-container
  assert_status 1
  assert_stderr_contains "No such container"
}
@test "berth: an unknown container: No such container, exit 1" { scenario_unknown_container berth; }
@test "docker: an unknown container: No such container, exit 1" { scenario_unknown_container docker; }

scenario_name_conflict() {
  # the docker CLI exits 1 for a daemon error on `create`, 125 on `run`
  local c=$1 n="dup-$1"
  run cli "$c" create --name "$n" busybox true
  assert_success
  run --separate-stderr cli "$c" create --name "$n" busybox true
  assert_status 1
  assert_stderr_contains "Conflict. The container name \"/$n\" is already in use"
  run --separate-stderr cli "$c" run --rm --name "$n" busybox true
  assert_status 125
  assert_stderr_contains "is already in use"
  run cli "$c" rm "$n"
  assert_success
}
@test "berth: a container name in use: Conflict, create exits 1, run 125" { scenario_name_conflict berth; }
@test "docker: a container name in use: Conflict, create exits 1, run 125" { scenario_name_conflict docker; }

@test "malformed JSON to containers/create: 400 with a JSON message, store intact" {
  local before body code
  before=$(image_ids)
  run curl -sS --max-time 10 --unix-socket "$SOCK" -D "$E2E_ROOT/hdr" -o "$E2E_ROOT/body" \
    -w '%{http_code}' -H 'Content-Type: application/json' -d '{bad' \
    http://x/v1.41/containers/create
  assert_success
  code=$output
  body=$(cat "$E2E_ROOT/body")
  [ "$code" = 400 ] || _e2e_fail "expected HTTP 400, got $code: $body"
  grep -qi '^content-type: *application/json' "$E2E_ROOT/hdr" ||
    _e2e_fail "error body should be application/json: $(cat "$E2E_ROOT/hdr")"
  run python3 -c 'import json,sys; m=json.load(sys.stdin)["message"]; assert m.strip(); print(m)' <<<"$body"
  assert_success
  # nothing created, nothing lost
  [ "$(image_ids)" = "$before" ] || _e2e_fail "image list changed"
  run api GET '/v1.41/containers/json?all=1'
  assert_success
  [ "${output##*$'\n'}" = 200 ] || _e2e_fail "container list failed"
  [ "$(tr -d ' \n' <<<"${output%$'\n'*}")" = "[]" ] || _e2e_fail "a container was created"
}

@test "a JSON body of the wrong shape: 400, not 500" {
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '{"Image":42,"Cmd":"x"}'
  [ "${output##*$'\n'}" = 400 ] || _e2e_fail "expected 400"
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d '[1,2'
  [ "${output##*$'\n'}" = 400 ] || _e2e_fail "expected 400"
}

# post_create BODY: sets code and message from POST /containers/create.
post_create() {
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d "$1"
  code=${output##*$'\n'}
  message=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("message",""))' <<<"${output%$'\n'*}" 2>/dev/null || true)
}

@test "wrong types and out-of-range values in a create body: 400 with dockerd's message" {
  local cases=(
    '{"Image":"busybox","Env":"A=1"}|json: cannot unmarshal string into Go struct field CreateRequest.Config.Env of type []string'
    '{"Image":"busybox","Env":[1,2]}|json: cannot unmarshal number into Go struct field CreateRequest.Config.Env of type string'
    '{"Image":"busybox","Labels":"a"}|of type map[string]string'
    '{"Image":"busybox","HostConfig":"x"}|into Go struct field CreateRequest.HostConfig of type container.HostConfig'
    '{"Image":"busybox","HostConfig":{"Binds":"/a:/b"}}|Go struct field HostConfig.HostConfig.Binds of type []string'
    '{"Image":"busybox","HostConfig":{"Memory":"1g"}}|HostConfig.HostConfig.Resources.Memory of type int64'
    '{"Image":"busybox","HostConfig":{"Memory":-5}}|Minimum memory limit allowed is 6MB'
    '{"Image":"busybox","HostConfig":{"ShmSize":-5}}|SHM size can not be less than 0'
    '{"Image":"busybox","HostConfig":{"CpuShares":-1}}|invalid CPU shares (-1): value must be a positive integer'
    '{"Image":"busybox","ExposedPorts":["80/tcp"]}|of type nat.PortSet'
    '{"Image":"busybox","Volumes":"/data"}|of type map[string]struct {}'
    '{"Image":"busybox","Healthcheck":"true"}|of type v1.HealthcheckConfig'
    '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":"1"}]}}|Ulimit.HostConfig.Resources.Ulimits.Soft of type int64'
  )
  local c body want
  for c in "${cases[@]}"; do
    body=${c%%|*} want=${c#*|}
    post_create "$body"
    [ "$code" = 400 ] || _e2e_fail "$body: expected 400, got $code: $output"
    [[ $message == *"$want"* ]] || _e2e_fail "$body: expected a message with '$want', got '$message'"
  done
  run api GET '/v1.41/containers/json?all=1'
  [ "$(tr -d ' \n' <<<"${output%$'\n'*}")" = "[]" ] || _e2e_fail "a container was created: $output"
}

@test "values dockerd accepts at create stay accepted (PidsLimit -5, a string Cmd)" {
  post_create '{"Image":"busybox","Cmd":"true","HostConfig":{"PidsLimit":-5}}'
  [ "$code" = 201 ] || _e2e_fail "expected 201, got $code: $output"
  remove_all_containers
}

scenario_store_intact() {
  local c=$1
  run cli "$c" images
  assert_success
  assert_output_contains "busybox"
  run cli "$c" run --rm busybox echo still-works
  assert_success
  assert_output "still-works"
}
@test "berth: after the bad requests the store still runs busybox" { scenario_store_intact berth; }
@test "docker: after the bad requests the store still runs busybox" { scenario_store_intact docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
