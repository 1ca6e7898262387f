#!/usr/bin/env bats
# Issue 15, the API half, with the berth CLI and the docker CLI 28 (which
# negotiates API 1.50 with berthd): ps filters as dockerd matches them,
# exec of a missing executable, load errors, cp into volumes of stopped
# containers, detach keys from config.json, attach with and without logs,
# the API 1.42-1.50 details the docker CLI 28 uses, and the help layout of
# every command both CLIs have.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

ps_names() { cli "$1" ps -a --format '{{.Names}}' "${@:2}" | sort | tr '\n' ' '; }

@test "the docker CLI negotiates API 1.50 and prints no warning" {
  run --separate-stderr docker_cmd version --format '{{.Server.APIVersion}} {{.Client.APIVersion}}'
  assert_success
  assert_output "1.50 1.50"
  [ -z "$stderr" ] || _e2e_fail "stderr: $stderr"
  run --separate-stderr docker_cmd volume prune -f
  assert_success
  [ -z "$stderr" ] || _e2e_fail "volume prune warned: $stderr"
  run --separate-stderr docker_cmd info
  assert_success
  [ -z "$stderr" ] || _e2e_fail "info warned: $stderr"
  # too new a version is refused with dockerd's message
  run api GET /v1.51/version
  assert_output_contains "client version 1.51 is too new. Maximum supported API version is 1.50"
}

scenario_ps_name_filter() {
  local c=$1
  cli "$c" create --name web busybox true >/dev/null
  cli "$c" create --name web2 busybox true >/dev/null
  cli "$c" create --name xweb busybox true >/dev/null
  [ "$(ps_names "$c" --filter 'name=^web$')" = "web " ] || _e2e_fail "^web$: $(ps_names "$c" --filter 'name=^web$')"
  [ "$(ps_names "$c" --filter 'name=^/web$')" = "web " ] || _e2e_fail "^/web$"
  [ "$(ps_names "$c" --filter 'name=web')" = "web web2 xweb " ] || _e2e_fail "web"
  [ "$(ps_names "$c" --filter 'name=^web' --filter 'name=^x')" = "web web2 xweb " ] || _e2e_fail "two"
  [ "$(ps_names "$c" --filter 'name=[')" = "" ] || _e2e_fail "an invalid expression matches nothing"
}
@test "berth: ps --filter name= is a regular expression with and without the /" { scenario_ps_name_filter berth; }
@test "docker: ps --filter name= is a regular expression with and without the /" { scenario_ps_name_filter docker; }

@test "ps filters: ancestor (name, tag, id, children), volume, is-task, health, id" {
  berth_cmd create --name base busybox true >/dev/null
  berth_cmd commit base anc-child:1 >/dev/null
  local child
  child=$(berth_cmd image inspect --format '{{.Id}}' anc-child:1)
  berth_cmd create --name kid -v /srv/data anc-child:1 true >/dev/null
  berth_cmd create --name bound -v "$E2E_ROOT:/host" busybox true >/dev/null
  local c
  for c in berth docker; do
    [ "$(ps_names $c --filter ancestor=busybox)" = "base bound kid " ] || _e2e_fail "$c ancestor=busybox (children too)"
    [ "$(ps_names $c --filter ancestor=busybox:latest)" = "base bound kid " ] || _e2e_fail "$c busybox:latest"
    [ "$(ps_names $c --filter ancestor=anc-child:1)" = "kid " ] || _e2e_fail "$c anc-child:1"
    [ "$(ps_names $c --filter ancestor="${child:7:12}")" = "kid " ] || _e2e_fail "$c short id"
    [ "$(ps_names $c --filter ancestor=127.0.0.1:9/none:x)" = "" ] || _e2e_fail "$c unknown image matches nothing"
    [ "$(ps_names $c --filter volume=/srv/data)" = "kid " ] || _e2e_fail "$c volume by destination"
    [ "$(ps_names $c --filter volume="$E2E_ROOT")" = "bound " ] || _e2e_fail "$c volume by bind source"
    [ "$(ps_names $c --filter is-task=true)" = "" ] || _e2e_fail "$c is-task=true"
    [ "$(ps_names $c --filter is-task=false)" = "base bound kid " ] || _e2e_fail "$c is-task=false"
    [ "$(ps_names $c --filter health=none)" = "base bound kid " ] || _e2e_fail "$c health=none"
    [ "$(ps_names $c --filter health=healthy)" = "" ] || _e2e_fail "$c health=healthy"
    run cli $c ps -a --filter is-task=maybe
    assert_status 1
    assert_output_contains "invalid filter 'is-task=maybe'"
    run cli $c ps -a --filter health=sick
    assert_status 1
    assert_output_contains "invalid filter 'health=sick': invalid value for health (sick): must be one of none, starting, healthy, unhealthy"
  done
  local id
  id=$(berth_cmd inspect --format '{{.Id}}' kid)
  [ "$(ps_names docker --filter id="${id:3:10}")" = "kid " ] || _e2e_fail "id= matches inside the id"
  berth_cmd rm -f base kid bound >/dev/null
  berth_cmd rmi anc-child:1 >/dev/null
}

scenario_exec_missing() {
  local c=$1 id
  id=$(cli "$c" run -d busybox sleep 300)
  run -127 cli "$c" exec "$id" /no/such/binary
  assert_status 127
  assert_output_contains "OCI runtime exec failed: exec failed: unable to start container process: exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory: unknown"
  run -127 cli "$c" exec "$id" nosuchcmd
  assert_status 127
  assert_output_contains 'exec: "nosuchcmd": executable file not found in $PATH: unknown'
  cli "$c" rm -f "$id" >/dev/null
}
@test "berth: exec of a missing executable: dockerd's message, exit 127" { scenario_exec_missing berth; }
@test "docker: exec of a missing executable: dockerd's message, exit 127" { scenario_exec_missing docker; }

scenario_load_junk() {
  local c=$1
  head -c 2048 /dev/zero | tr '\0' 'x' >"$E2E_ROOT/junk-$c.tar"
  run --separate-stderr cli "$c" load -i "$E2E_ROOT/junk-$c.tar"
  assert_status 1
  [ -n "$stderr" ] || _e2e_fail "no error printed"
  [[ $stderr != *"Error response from daemon"* ]] || _e2e_fail "a stream error is not an HTTP error: $stderr"
}
@test "berth: load of a non-archive: the stream's error, exit 1" { scenario_load_junk berth; }
@test "docker: load of a non-archive: the stream's error, exit 1" { scenario_load_junk docker; }

@test "load of a non-archive answers 200 with errorDetail in the stream (raw API)" {
  run api POST /v1.50/images/load -H 'Content-Type: application/x-tar' --data-binary 'not a tar at all'
  [ "${lines[-1]}" = 200 ] || _e2e_fail "status ${lines[-1]}"
  assert_output_contains '"errorDetail":{"message":'
}

scenario_cp_stopped_volume() {
  local c=$1 id
  id=$(cli "$c" create -v "cpvol-$c:/vol1" -v /anon busybox true)
  echo hello >"$E2E_ROOT/in-$c.txt"
  run cli "$c" cp "$E2E_ROOT/in-$c.txt" "$id:/vol1/in.txt"
  assert_success
  run cli "$c" cp "$E2E_ROOT/in-$c.txt" "$id:/anon/"
  assert_success
  rm -f "$E2E_ROOT/out-$c.txt"
  run cli "$c" cp "$id:/vol1/in.txt" "$E2E_ROOT/out-$c.txt"
  assert_success
  [ "$(cat "$E2E_ROOT/out-$c.txt")" = hello ] || _e2e_fail "copied back"
  # the file landed in the volume, not in the container's layer
  run cli "$c" run --rm -v "cpvol-$c:/v" busybox cat /v/in.txt
  assert_output hello
  cli "$c" start -a "$id" >/dev/null
  run cli "$c" cp "$id:/anon/in-$c.txt" -
  assert_success
  assert_output_contains hello
  # nothing stays mounted under the container's directory
  ! grep -q "$E2E_ROOT/data/containers/$id" /proc/self/mountinfo || _e2e_fail "mounts left"
  cli "$c" rm -v "$id" >/dev/null
  cli "$c" volume rm "cpvol-$c" >/dev/null
}
@test "berth: cp in and out of a volume of a created or exited container" { scenario_cp_stopped_volume berth; }
@test "docker: cp in and out of a volume of a created or exited container" { scenario_cp_stopped_volume docker; }

scenario_detach_keys_config() {
  local c=$1 id execs
  id=$(cli "$c" run -d busybox sleep 300)
  echo '{"detachKeys": "ctrl-a,x"}' >"$DOCKER_CONFIG/config.json"
  cli "$c" exec "$id" true
  echo '{}' >"$DOCKER_CONFIG/config.json"
  execs=$(api GET "/v1.50/containers/$id/json" | head -n1 | jq -r '.ExecIDs[0]')
  run api GET "/v1.50/exec/$execs/json"
  assert_output_contains '"DetachKeys":"ctrl-a,x"'
  cli "$c" rm -f "$id" >/dev/null
}
@test "berth: exec sends the detachKeys of config.json" { scenario_detach_keys_config berth; }
@test "docker: exec sends the detachKeys of config.json" { scenario_detach_keys_config docker; }

attach_event_seen() {
  api GET "/v1.50/events?since=0&until=$(date +%s.%N)&filters=$(jq -rn --arg c "$1" \
    '{container: [$c], event: ["attach"]} | tojson | @uri')" | grep -q '"Action":"attach"'
}

scenario_attach_running_no_replay() {
  local c=$1 n="att-$1" pid rc
  cli "$c" run -d --name "$n" busybox sh -c 'echo before; while [ ! -f /go ]; do sleep 0.05; done; echo after' >/dev/null
  wait_until 10 "$n to print before" eval "[ \"\$(cli $c logs $n)\" = before ]"
  cli "$c" attach "$n" </dev/null >"$E2E_ROOT/attach-$c.out" 2>&1 &
  pid=$!
  wait_until 10 "the attach session of $c" attach_event_seen "$n"
  cli "$c" exec "$n" touch /go
  wait_until 10 "$c attach to return" eval "! kill -0 $pid 2>/dev/null"
  wait "$pid" && rc=0 || rc=$?
  [ "$rc" = 0 ] || _e2e_fail "$c attach exited $rc: $(cat "$E2E_ROOT/attach-$c.out")"
  # the CLIs attach without logs=1: only what came after, no replay
  [ "$(cat "$E2E_ROOT/attach-$c.out")" = after ] || _e2e_fail "$c attach printed: $(cat "$E2E_ROOT/attach-$c.out")"
  cli "$c" rm "$n" >/dev/null
}
@test "berth: attach of a running container shows what comes next, no replay" { scenario_attach_running_no_replay berth; }
@test "docker: attach of a running container shows what comes next, no replay" { scenario_attach_running_no_replay docker; }

@test "attach?logs=1&stream=0 replays the log of an exited container and returns (raw API)" {
  local id
  id=$(berth_cmd run -d busybox sh -c 'echo out; echo err >&2')
  [ "$(berth_cmd wait "$id")" = 0 ]
  run api POST "/v1.50/containers/$id/attach?logs=1&stream=0&stdout=1&stderr=1" -o "$E2E_ROOT/replay.bin"
  [ "${lines[-1]}" = 200 ] || _e2e_fail "status ${lines[-1]}"
  printf '\1\0\0\0\0\0\0\4out\n\2\0\0\0\0\0\0\4err\n' | cmp - "$E2E_ROOT/replay.bin" ||
    _e2e_fail "replay: $(od -c "$E2E_ROOT/replay.bin")"
  # only stderr asked for
  run api POST "/v1.50/containers/$id/attach?logs=1&stream=0&stderr=1" -o "$E2E_ROOT/replay2.bin"
  printf '\2\0\0\0\0\0\0\4err\n' | cmp - "$E2E_ROOT/replay2.bin" || _e2e_fail "stderr only: $(od -c "$E2E_ROOT/replay2.bin")"
  # a driver that keeps nothing: dockerd's error inside the stream
  id=$(berth_cmd run -d --log-driver none busybox true)
  [ "$(berth_cmd wait "$id")" = 0 ]
  run api POST "/v1.50/containers/$id/attach?logs=1&stream=0&stdout=1" -o "$E2E_ROOT/replay3.bin"
  [ "${lines[-1]}" = 200 ] || _e2e_fail "none driver: status ${lines[-1]}"
  grep -q "Error attaching: configured logging driver does not support reading" "$E2E_ROOT/replay3.bin" ||
    _e2e_fail "none driver: $(od -c "$E2E_ROOT/replay3.bin")"
}

@test "attach to a paused container: dockerd's 409 before the hijack" {
  local id
  id=$(berth_cmd run -d busybox sleep 300)
  berth_cmd pause "$id" >/dev/null
  run api POST "/v1.50/containers/$id/attach?stream=1&stdout=1"
  [ "${lines[-1]}" = 409 ] || _e2e_fail "status ${lines[-1]}"
  assert_output_contains "is paused, unpause the container before attach"
  berth_cmd unpause "$id" >/dev/null
  berth_cmd rm -f "$id" >/dev/null
}

@test "docker CLI 28 at API 1.50: --platform of image inspect/history/save/load, image ls --tree, system df; no warnings" {
  local out="$E2E_ROOT/plat.tar"
  run --separate-stderr docker_cmd image inspect --platform linux/amd64 --format '{{.Architecture}} {{.Descriptor.MediaType}}' busybox
  assert_success
  assert_output "amd64 application/vnd.oci.image.manifest.v1+json"
  [ -z "$stderr" ] || _e2e_fail "inspect warned: $stderr"
  run --separate-stderr docker_cmd image inspect --platform linux/arm64 busybox
  [ "$status" -ne 0 ] || _e2e_fail "expected a failure: $output"
  [[ $stderr == *"image with reference busybox was found but its platform (linux/amd64) does not match the specified platform (linux/arm64)"* ]] ||
    _e2e_fail "inspect --platform linux/arm64: $stderr"
  run --separate-stderr docker_cmd history --platform linux/arm64 busybox
  [ "$status" -ne 0 ] || _e2e_fail "expected a failure: $output"
  [[ $stderr == *"does not match the specified platform (linux/arm64)"* ]] || _e2e_fail "history: $stderr"
  run --separate-stderr docker_cmd history --platform linux/amd64 -q busybox
  assert_success
  run --separate-stderr docker_cmd save --platform linux/arm64 -o "$out" busybox
  [ "$status" -ne 0 ] || _e2e_fail "expected a failure: $output"
  [[ $stderr == *"no suitable export target found for platform linux/arm64"* ]] || _e2e_fail "save: $stderr"
  run --separate-stderr docker_cmd save --platform linux/amd64 -o "$out" busybox
  assert_success
  [ -s "$out" ] || _e2e_fail "nothing saved"
  # load --platform of another platform skips the archive's image
  docker_cmd tag busybox plat-probe:2
  docker_cmd save --platform linux/amd64 -o "$E2E_ROOT/plat2.tar" plat-probe:2
  docker_cmd rmi plat-probe:2 >/dev/null
  run --separate-stderr docker_cmd load --platform linux/arm64 -i "$E2E_ROOT/plat2.tar"
  assert_success
  run docker_cmd image inspect plat-probe:2
  [ "$status" -ne 0 ] || _e2e_fail "expected a failure: $output"
  run --separate-stderr docker_cmd load --platform linux/amd64 -i "$E2E_ROOT/plat2.tar"
  assert_success
  assert_output_contains "Loaded image: plat-probe:2"
  docker_cmd rmi plat-probe:2 >/dev/null
  run --separate-stderr docker_cmd image ls --tree
  assert_success
  assert_output_contains "busybox:latest"
  assert_output_contains "linux/amd64"
  [ -z "$stderr" ] || _e2e_fail "image ls --tree warned: $stderr"
  run --separate-stderr docker_cmd system df -v
  assert_success
  [ -z "$stderr" ] || _e2e_fail "system df warned: $stderr"
  run --separate-stderr docker_cmd info
  assert_success
  [ -z "$stderr" ] || _e2e_fail "info warned: $stderr"
  # the raw API below the versions: no Descriptor at 1.47, BridgeNfIptables until 1.49
  run api GET /v1.47/images/busybox/json
  [[ $output != *'"Descriptor"'* ]] || _e2e_fail "Descriptor at 1.47"
  run api GET /v1.49/info
  assert_output_contains '"BridgeNfIptables":false'
  run api GET /v1.50/info
  [[ $output != *BridgeNfIptables* ]] || _e2e_fail "BridgeNfIptables at 1.50"
  assert_output_contains '"FirewallBackend":{"Driver":"nftables"}'
}

# help_layout TEXT: the usage line and the section headers of a help page,
# with docker's name replaced by berth's.
help_layout() { grep -E '^(Usage:|[A-Z][A-Za-z ]*:$)' | sed 's/docker/berth/g; s/Docker/berth/g'; }

@test "every command both CLIs have: docker's help layout (usage line, sections)" {
  local g c bad=() n=0 b d
  for g in "" container image network volume system builder manifest; do
    for c in $(docker_cmd $g --help 2>/dev/null |
               awk '/^(Common |Management )?Commands:/{f=1;next} /^$/{f=0} f && /^  [a-z]/{print $1}' | tr -d '*'); do
      b=$(berth_cmd $g $c --help 2>/dev/null) || continue   # a command berth does not have
      d=$(docker_cmd $g $c --help 2>/dev/null)
      n=$((n + 1))
      [ "$(help_layout <<<"$b")" = "$(help_layout <<<"$d")" ] || bad+=("$g $c")
    done
  done
  [ "$n" -ge 80 ] || _e2e_fail "only $n commands compared"
  [ "${#bad[@]}" -eq 0 ] || _e2e_fail "help layout differs for: ${bad[*]}"
}

@test "group help pages and the root's Common Commands are docker's text" {
  local g
  for g in container image network manifest; do
    diff <(berth_cmd $g --help) <(docker_cmd $g --help | sed 's/docker /berth /g; s/docker manifest\*\*/berth manifest**/') ||
      _e2e_fail "$g --help differs"
  done
  # one line per command (login/logout: their first line only), docker's order
  common() { awk '/^Common Commands:/{f=1;next} /^$/{f=0} f' | sed 's/Docker/berth/'; }
  diff <(berth_cmd --help | common) <(docker_cmd --help | common) || _e2e_fail "Common Commands differ"
}
