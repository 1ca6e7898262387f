#!/usr/bin/env bats
# diff, commit, export and system df, each scenario with the berth CLI and
# the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { require_cmd jq && e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# make_changes CLIENT NAME: a stopped container that created /tmp/new.txt,
# appended to /etc/passwd and deleted /etc/group.
make_changes() {
  run cli "$1" run --name "$2" busybox sh -c 'echo new > /tmp/new.txt; echo extra >> /etc/passwd; rm /etc/group'
  assert_success
}

scenario_diff() {
  local c=$1
  make_changes "$c" "diff-$c"
  run cli "$c" diff "diff-$c"
  assert_success
  assert_output "C /etc
D /etc/group
C /etc/passwd
C /tmp
A /tmp/new.txt"
  run cli "$c" container diff nosuch
  assert_status 1
  assert_output_contains "No such container: nosuch"
}
@test "berth: diff shows A/C/D" { scenario_diff berth; }
@test "docker: diff shows A/C/D" { scenario_diff docker; }

scenario_commit() {
  local c=$1 id layers0 layers1
  make_changes "$c" "commit-$c"
  run cli "$c" commit -m "my msg" -a "me <me@x>" -c 'ENV A=1' "commit-$c" "committed-$c:v1"
  assert_success
  [[ $output == sha256:* ]] || _e2e_fail "commit printed '$output'"
  id=$output
  run cli "$c" image inspect --format '{{.Id}}|{{.Comment}}|{{.Author}}|{{len .RootFS.Layers}}|{{.Config.Env}}' "committed-$c:v1"
  assert_success
  assert_output_contains "$id|my msg|me <me@x>|2|"
  assert_output_contains "A=1"
  layers0=$(cli "$c" image inspect --format '{{len .RootFS.Layers}}' busybox)
  layers1=$(cli "$c" image inspect --format '{{len .RootFS.Layers}}' "committed-$c:v1")
  [ "$layers1" -eq $((layers0 + 1)) ] || _e2e_fail "layers $layers0 -> $layers1"
  # newest first: the commit's entry, then busybox's import
  run api GET "/v1.41/images/committed-$c:v1/history"
  assert_success
  [ "$(jq -r '.[0].Comment + "|" + (.[0].CreatedBy) + "|" + (.[1].Id)' <<<"${output%$'\n'*}")" = \
    "my msg|sh -c echo new > /tmp/new.txt; echo extra >> /etc/passwd; rm /etc/group|$(cli "$c" image inspect --format '{{.Id}}' busybox)" ] ||
    _e2e_fail "history: $output"
  if [ "$c" = docker ]; then
    run docker_cmd image history "committed-$c:v1"
    assert_success
    assert_output_contains "my msg"
  fi
  # a container from the new image sees the changes
  run cli "$c" run --rm "committed-$c:v1" sh -c 'cat /tmp/new.txt; tail -n1 /etc/passwd; test -e /etc/group && echo group-still-there; echo "A=$A"'
  assert_success
  assert_output "new
extra
A=1"
  # its own diff is empty: the changes are in the image now
  run cli "$c" run --name "fresh-$c" "committed-$c:v1" true
  assert_success
  run cli "$c" diff "fresh-$c"
  assert_success
  assert_output ""
}
@test "berth: commit makes an image with exactly the diff" { scenario_commit berth; }
@test "docker: commit makes an image with exactly the diff" { scenario_commit docker; }

# commit of a running container freezes it while the layer is read (pause
# and unpause events), and leaves it running; --pause=false does not
scenario_commit_pauses() {
  local c=$1 since until
  run cli "$c" run -d --name "$c-busy" busybox sh -c 'while :; do date >/tmp/now; sleep 0.1; done'
  assert_success
  # the committed image must hold /tmp/now: wait for the first write
  wait_until 10 "$c-busy to write /tmp/now" test -s "$E2E_ROOT/data/containers/$(tail -n1 <<<"$output")/upper/tmp/now"
  since=$(date +%s)
  run cli "$c" commit "$c-busy" "$c-busy-img:1"
  assert_success
  run cli "$c" commit --pause=false "$c-busy" "$c-busy-img:2"
  assert_success
  until=$(( $(date +%s) + 1 ))
  run cli "$c" events --since "$since" --until "$until" --filter "container=$c-busy" --format '{{.Action}}'
  assert_success
  [ "$(grep -c '^pause$' <<<"$output")" = 1 ] || _e2e_fail "expected one pause event, got: $output"
  [ "$(grep -c '^unpause$' <<<"$output")" = 1 ] || _e2e_fail "expected one unpause event, got: $output"
  run cli "$c" inspect --format '{{.State.Status}}' "$c-busy"
  assert_output "running"
  run cli "$c" run --rm "$c-busy-img:1" test -s /tmp/now
  assert_success
  cli berth rm -f "$c-busy" >/dev/null
  cli berth rmi "$c-busy-img:1" "$c-busy-img:2" >/dev/null
}
@test "berth: commit pauses a running container" { scenario_commit_pauses berth; }
@test "docker: commit pauses a running container" { scenario_commit_pauses docker; }

scenario_export() {
  local c=$1 tar="$E2E_ROOT/export-$1.tar"
  make_changes "$c" "export-$c"
  run cli "$c" export -o "$tar" "export-$c"
  assert_success
  run tar -tf "$tar"
  assert_success
  assert_output_contains "tmp/new.txt"
  assert_output_contains "bin/busybox"
  refute_output_contains "etc/group"
  refute_output_contains "./"
  run tar -xOf "$tar" tmp/new.txt
  assert_output "new"
  # to stdout when redirected
  cli "$c" export "export-$c" >"$tar.2"
  tar -tf "$tar.2" | grep -qx 'tmp/new.txt' || _e2e_fail "stdout export lacks tmp/new.txt"
}
@test "berth: export writes the merged filesystem" { scenario_export berth; }
@test "docker: export writes the merged filesystem" { scenario_export docker; }

scenario_df() {
  local c=$1
  make_changes "$c" "df-$c"
  run cli "$c" system df
  assert_success
  assert_output_contains "TYPE"
  assert_output_contains "RECLAIMABLE"
  assert_output_contains "Images"
  assert_output_contains "Containers"
  run cli "$c" system df -v
  assert_success
  assert_output_contains "busybox"
  assert_output_contains "df-$c"
}
@test "berth: system df" { scenario_df berth; }
@test "docker: system df" { scenario_df docker; }

@test "api: system df counts shared layers once and containers per image" {
  make_changes berth df-api
  run api GET /v1.41/system/df
  assert_success
  local body=${output%$'\n'*}
  local layers sum
  layers=$(jq -r .LayersSize <<<"$body")
  [ "$layers" -gt 0 ] || _e2e_fail "LayersSize $layers"
  [ "$(jq -r '[.Images[] | select(.RepoTags != null and (.RepoTags | index("busybox:latest")))][0].Containers' <<<"$body")" -ge 1 ] ||
    _e2e_fail "busybox Containers: $body"
  [ "$(jq -r '[.Containers[] | select(.Names[0] == "/df-api")][0].SizeRw' <<<"$body")" -gt 0 ] ||
    _e2e_fail "SizeRw: $body"
}
