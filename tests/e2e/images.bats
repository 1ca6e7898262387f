#!/usr/bin/env bats
# The local image store: shared layers stored once, image rm conflicts,
# dangling images and prune, listing formats. Each scenario with the berth
# CLI and the docker CLI; each client uses its own image names.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  require_cmd python3 || return 1
  e2e_setup_file || return 1
  # busybox tree + one extra file: shares everything but is another layer
  local bb
  bb=$(busybox_tar) || return 1
  mkdir -p "$E2E_ROOT/extra"
  echo extra-file >"$E2E_ROOT/extra/extra.txt"
  cp "$bb" "$E2E_ROOT/busybox-plus.tar"
  tar -rf "$E2E_ROOT/busybox-plus.tar" -C "$E2E_ROOT/extra" --owner=0 --group=0 extra.txt
  # a loopback web server for `import URL`
  mkdir -p "$E2E_ROOT/www"
  cp "$bb" "$E2E_ROOT/www/bb.tar"
  python3 -u -m http.server --bind 127.0.0.1 --directory "$E2E_ROOT/www" 0 >"$E2E_ROOT/www.log" 2>&1 &
  echo $! >"$E2E_ROOT/www.pid"
  wait_until 10 "the loopback web server to print its port" www_port_known ||
    { kill "$(cat "$E2E_ROOT/www.pid")"; e2e_teardown_file; return 1; }
}
teardown_file() {
  local pid
  pid=$(cat "$E2E_ROOT/www.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
  e2e_teardown_file
}
www_port() { grep -oE 'port [0-9]+' "$E2E_ROOT/www.log" | head -n1 | cut -d' ' -f2; }
www_port_known() { [ -n "$(www_port)" ]; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

DATA() { echo "$E2E_ROOT/data"; }
snapshot_count() { find "$(DATA)/snapshots" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp-*' | wc -l; }
blob_bytes() { find "$(DATA)/content/blobs" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
image_id() { api GET "/v1.41/images/$1/json" | grep -oE '"Id" *: *"sha256:[0-9a-f]{64}"' | head -n1 | grep -oE 'sha256:[0-9a-f]{64}'; }
layers_of() { cli berth image inspect --format '{{json .RootFS.Layers}}' "$1"; }

# ---------------------------------------------------------------- shared layers

scenario_shared_layer() {
  local c=$1 bb snaps0 blobs0 snaps1 blobs1 snaps2 blobs2 idA idB
  bb=$(busybox_tar)
  snaps0=$(snapshot_count)
  blobs0=$(blob_bytes)

  # A: the same tarball as busybox:latest under another name -> same layer
  run cli "$c" import "$bb" "$c-a:1"
  assert_success
  assert_output_contains "sha256:"
  idA=$(image_id "$c-a:1")
  [ -n "$idA" ] || _e2e_fail "no id for $c-a:1"
  [ "$(layers_of "$c-a:1")" = "$(layers_of busybox:latest)" ] ||
    _e2e_fail "same tarball, different layers: $(layers_of "$c-a:1") vs $(layers_of busybox:latest)"
  # the same tarball again under a third name: same layer, and the name
  # resolves to an image with that layer
  run cli "$c" import "$bb" "$c-a:2"
  assert_success
  [ "$(layers_of "$c-a:2")" = "$(layers_of busybox:latest)" ] || _e2e_fail "A:2 has other layers"
  snaps1=$(snapshot_count)
  blobs1=$(blob_bytes)
  [ "$snaps1" -eq "$snaps0" ] || _e2e_fail "identical layer unpacked again: snapshots $snaps0 -> $snaps1"
  # only small config/manifest blobs may be added, never a second layer
  [ $((blobs1 - blobs0)) -lt 65536 ] || _e2e_fail "identical layer stored again: blobs $blobs0 -> $blobs1 bytes"

  # B: busybox tree + one file -> one new layer
  run cli "$c" import "$E2E_ROOT/busybox-plus.tar" "$c-b:1"
  assert_success
  idB=$(image_id "$c-b:1")
  [ "$idA" != "$idB" ] || _e2e_fail "different tarballs, same image id"
  [ "$(layers_of "$c-b:1")" != "$(layers_of busybox:latest)" ] || _e2e_fail "B has A's layer"
  snaps2=$(snapshot_count)
  blobs2=$(blob_bytes)
  [ "$snaps2" -eq $((snaps1 + 1)) ] || _e2e_fail "expected one new snapshot: $snaps1 -> $snaps2"
  [ "$blobs2" -ge "$blobs1" ] || _e2e_fail "blobs shrank: $blobs1 -> $blobs2"

  # removing one image keeps the others runnable
  run cli "$c" image rm "$c-a:1" "$c-a:2"
  assert_success
  assert_output_contains "Untagged: $c-a:1"
  [ "$(snapshot_count)" -eq "$snaps2" ] || _e2e_fail "a shared layer was removed with $c-a"
  run cli "$c" run --rm busybox echo still-here
  assert_success
  assert_output "still-here"
  run cli "$c" run --rm "$c-b:1" cat /extra.txt
  assert_success
  assert_output "extra-file"

  # removing B frees exactly its own layer
  run cli "$c" image rm "$c-b:1"
  assert_success
  assert_output_contains "Deleted: $idB"
  wait_until 5 "B's layer to be removed ($snaps0 snapshots left)" eval "[ \"\$(snapshot_count)\" -eq $snaps0 ]"
  run cli "$c" run --rm busybox true
  assert_success
}
@test "berth: identical layers are stored once, rm keeps the others runnable" { scenario_shared_layer berth; }
@test "docker: identical layers are stored once, rm keeps the others runnable" { scenario_shared_layer docker; }

# ---------------------------------------------------------------- rm conflicts

scenario_rm_stopped_conflict() {
  local c=$1 bb id cid
  bb=$(busybox_tar)
  run cli "$c" import "$bb" "$c-used:1"
  assert_success
  id=$(image_id "$c-used:1")
  run cli "$c" create --name "$c-stopped" "$c-used:1" echo started-again
  assert_success
  cid=$output
  cid=${cid: -64}

  run cli "$c" image rm "$c-used:1"
  assert_status 1
  assert_output_contains "conflict: unable to remove repository reference \"$c-used:1\" (must force) - container ${cid:0:12} is using its referenced image ${id:7:12}"
  run api DELETE "/v1.41/images/$c-used:1"
  assert_output_contains "(must force)"
  [ "${output##*$'\n'}" = 409 ] || _e2e_fail "expected HTTP 409"

  # -f untags it; the image stays for the container, which still starts
  run cli "$c" image rm -f "$c-used:1"
  assert_success
  assert_output_contains "Untagged: $c-used:1"
  assert_output_contains "Deleted: $id"
  # like Docker, the image is gone at once; the container keeps its layers
  run cli "$c" image inspect "$id"
  assert_status 1
  run cli "$c" start -a "$c-stopped"
  assert_success
  assert_output "started-again"
  run cli "$c" rm "$c-stopped"
  assert_success
  # Docker deletes the untagged image at rmi -f (the container keeps its
  # layers); at the latest once the container is gone, the image is too
  run cli "$c" image inspect "$id"
  assert_status 1
  run cli "$c" run --rm busybox true
  assert_success
}
@test "berth: image rm of an image used by a stopped container" { scenario_rm_stopped_conflict berth; }
@test "docker: image rm of an image used by a stopped container" { scenario_rm_stopped_conflict docker; }

scenario_rm_running_conflict() {
  local c=$1 bb id cid
  bb=$(busybox_tar)
  run cli "$c" import "$bb" "$c-run:1"
  assert_success
  id=$(image_id "$c-run:1")
  run cli "$c" run -d --name "$c-running" "$c-run:1" sleep 300
  assert_success
  cid=${output: -64}

  # by id, even -f cannot remove it
  run cli "$c" image rm -f "$id"
  assert_status 1
  assert_output_contains "(cannot be forced) - image is being used by running container ${cid:0:12}"
  run api DELETE "/v1.41/images/$id?force=1"
  assert_output_contains "(cannot be forced) - image is being used by running container"
  [ "${output##*$'\n'}" = 409 ] || _e2e_fail "expected HTTP 409"
  # by name, -f only untags (Docker keeps the image for the container)
  run cli "$c" image rm -f "$c-run:1"
  assert_success
  assert_output "Untagged: $c-run:1"
  run cli "$c" inspect --format '{{.State.Running}}' "$c-running"
  assert_success
  assert_output "true"
  run cli "$c" rm -f "$c-running"
  assert_success
  # no container, no tag: the image can go now
  run cli "$c" image rm "$id"
  assert_success
  assert_output_contains "Deleted: $id"
}
@test "berth: image rm of an image used by a running container" { scenario_rm_running_conflict berth; }
@test "docker: image rm of an image used by a running container" { scenario_rm_running_conflict docker; }

# ---------------------------------------------------------------- listing

scenario_list_formats() {
  local c=$1 id line
  id=$(image_id busybox:latest)
  run cli "$c" images -q
  assert_success
  assert_output_contains "${id:7:12}"
  while IFS= read -r line; do
    [[ $line =~ ^[0-9a-f]{12}$ ]] || _e2e_fail "images -q line '$line'"
  done <<<"$output"
  run cli "$c" images -q --no-trunc
  assert_success
  assert_output_contains "$id"
  while IFS= read -r line; do
    [[ $line =~ ^sha256:[0-9a-f]{64}$ ]] || _e2e_fail "images -q --no-trunc line '$line'"
  done <<<"$output"
  run cli "$c" images --no-trunc
  assert_success
  assert_output_contains "$id"
  run cli "$c" images
  assert_success
  [[ ${lines[0]} =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]] || _e2e_fail "images header '${lines[0]}'"
  assert_output_contains "busybox"
  run cli "$c" images --format '{{.Repository}}: {{.Tag}}: {{.Size}}'
  assert_success
  [[ $output =~ (^|$'\n')busybox:\ latest:\ [0-9.]+[kMG]?B($|$'\n') ]] || _e2e_fail "format line for busybox"
  run cli "$c" image inspect --format '{{.Id}}' busybox
  assert_success
  assert_output "$id"
  run cli "$c" image history busybox
  assert_success
  [[ ${lines[0]} =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]] || _e2e_fail "history header '${lines[0]}'"
  [[ ${lines[1]} == "${id:7:12}"* ]] || _e2e_fail "history first row '${lines[1]}'"
  [ "${#lines[@]}" -ge 2 ] || _e2e_fail "history has no rows"
  run cli "$c" image history -q --no-trunc busybox
  assert_success
  assert_output_contains "$id"
}
@test "berth: images -q, --no-trunc, --format, inspect --format, history" { scenario_list_formats berth; }
@test "docker: images -q, --no-trunc, --format, inspect --format, history" { scenario_list_formats docker; }

# ---------------------------------------------------------------- dangling + prune
# (re-tags busybox:latest and restores it at the end)

scenario_dangling_prune() {
  local c=$1 old new
  old=$(image_id busybox:latest)
  run cli "$c" import "$E2E_ROOT/busybox-plus.tar" "$c-new:1"
  assert_success
  new=$(image_id "$c-new:1")
  run cli "$c" tag "$c-new:1" busybox:latest
  assert_success
  [ "$(image_id busybox:latest)" = "$new" ] || _e2e_fail "busybox:latest not moved"

  run cli "$c" images --filter dangling=true -q
  assert_success
  assert_output "${old:7:12}"
  run cli "$c" images --filter dangling=true --no-trunc --format '{{.ID}}'
  assert_success
  assert_output "$old"
  run cli "$c" images --format '{{.Repository}}: {{.Tag}}: {{.Size}}'
  assert_success
  assert_output_contains "<none>: <none>: "
  run cli "$c" images
  assert_success
  assert_output_contains "<none>"
  run cli "$c" images --filter dangling=false -q
  assert_success
  refute_output_contains "${old:7:12}"
  assert_output_contains "${new:7:12}"

  # without -f it asks; anything but y/yes keeps everything
  run bash -c "echo n | $(cli_cmdline "$c") image prune"
  assert_output_contains "WARNING! This will remove all dangling images."
  assert_output_contains "Are you sure you want to continue? [y/N]"
  refute_output_contains "deleted:"
  run cli "$c" images --filter dangling=true -q
  assert_output "${old:7:12}"
  run cli "$c" image prune -f
  assert_success
  assert_output_contains "Deleted Images:"
  assert_output_contains "deleted: $old"
  assert_output_contains "Total reclaimed space:"
  run cli "$c" images --filter dangling=true -q
  assert_success
  assert_output ""
  run cli "$c" image inspect "$old"
  assert_status 1
  # the new busybox:latest still runs; a second prune finds nothing
  run cli "$c" run --rm busybox cat /extra.txt
  assert_success
  assert_output "extra-file"
  run cli "$c" image prune -f
  assert_success
  refute_output_contains "deleted:"

  # restore busybox:latest for the next scenario
  run cli "$c" image rm "$c-new:1"
  assert_success
  import_busybox busybox:latest
  run cli "$c" images --filter dangling=true -q
  assert_success
  assert_output "${new:7:12}"
  run cli "$c" image prune -f
  assert_success
  run cli "$c" run --rm busybox true
  assert_success
}
@test "berth: re-tagging busybox:latest leaves a dangling image, prune removes it" { scenario_dangling_prune berth; }
@test "docker: re-tagging busybox:latest leaves a dangling image, prune removes it" { scenario_dangling_prune docker; }

scenario_prune_all() {
  local c=$1 unused
  run cli "$c" import "$(busybox_tar)" "$c-unused:1"
  assert_success
  unused=$(image_id "$c-unused:1")
  run cli "$c" create --name "$c-keeper" busybox true
  assert_success
  run cli "$c" image prune -a -f
  assert_success
  assert_output_contains "untagged: $c-unused:1"
  assert_output_contains "deleted: $unused"
  run cli "$c" image inspect "$unused"
  assert_status 1
  # busybox is used by a (stopped) container: kept
  run cli "$c" image inspect busybox:latest
  assert_success
  run cli "$c" rm "$c-keeper"
  assert_success
}
@test "berth: image prune -a removes every image no container uses" { scenario_prune_all berth; }
@test "docker: image prune -a removes every image no container uses" { scenario_prune_all docker; }

scenario_import_url() {
  local c=$1 port
  port=$(www_port)
  [ -n "$port" ] || _e2e_fail "the loopback web server did not start: $(cat "$E2E_ROOT/www.log")"
  run cli "$c" import -c 'CMD ["echo","from-url"]' "http://127.0.0.1:$port/bb.tar" "$c-url:1"
  assert_success
  [[ $output =~ sha256:[0-9a-f]{64} ]] || _e2e_fail "import printed '$output'"
  run cli "$c" run --rm "$c-url:1"
  assert_success
  assert_output "from-url"
  run cli "$c" import "http://127.0.0.1:$port/missing.tar" "$c-url:2"
  assert_status 1
  assert_output_contains "failed to GET http://127.0.0.1:$port/missing.tar with status 404 Not Found"
  run cli "$c" import "http://127.0.0.1:9/none.tar"
  assert_status 1
  assert_output_contains "Get \"http://127.0.0.1:9/none.tar\""
  run cli "$c" image inspect "$c-url:2"
  assert_status 1
  run cli "$c" rmi "$c-url:1"
  assert_success
}
@test "berth: import from a URL" { scenario_import_url berth; }
@test "docker: import from a URL" { scenario_import_url docker; }

@test "no leftovers" { assert_no_leftovers; }
