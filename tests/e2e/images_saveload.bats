#!/usr/bin/env bats
# docker save / docker load (engine-api.md §8.10), each scenario with the
# berth CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() {
  remove_all_containers
  WORK=$(mktemp -d "$E2E_ROOT/sl.XXXXXX")
  # every scenario starts with busybox:latest present
  if ! cli berth image inspect busybox:latest >/dev/null 2>&1; then import_busybox busybox:latest; fi
}
teardown() {
  rm -rf "$WORK"
  e2e_teardown
}

image_id() { cli berth image inspect --format '{{.Id}}' "$1"; }

scenario_save_rmi_load() {
  local c=$1 id
  id=$(image_id busybox:latest)
  run cli "$c" save busybox -o "$WORK/f.tar"
  assert_success
  [ -s "$WORK/f.tar" ] || _e2e_fail "no archive written"
  run tar -tf "$WORK/f.tar"
  assert_output_contains "manifest.json"
  assert_output_contains "index.json"
  assert_output_contains "oci-layout"
  run cli "$c" rmi busybox
  assert_success
  run cli "$c" load -i "$WORK/f.tar"
  assert_success
  assert_output "Loaded image: busybox:latest"
  run image_id busybox:latest
  assert_success
  assert_output "$id"
  run cli "$c" run --rm busybox echo loaded
  assert_success
  assert_output "loaded"
}
@test "berth: save -o, rmi, load -i keeps the image id and it runs" { scenario_save_rmi_load berth; }
@test "docker: save -o, rmi, load -i keeps the image id and it runs" { scenario_save_rmi_load docker; }

scenario_save_stdout_load_stdin() {
  local c=$1 id
  cli berth tag busybox:latest sl-extra:v1
  id=$(image_id busybox:latest)
  cli "$c" save sl-extra:v1 >"$WORK/g.tar"
  run cli "$c" rmi sl-extra:v1
  assert_success
  run cli "$c" load <"$WORK/g.tar"
  assert_success
  assert_output "Loaded image: sl-extra:v1"
  run image_id sl-extra:v1
  assert_output "$id"
  run cli "$c" load -q -i "$WORK/g.tar"
  assert_success
  assert_output "Loaded image: sl-extra:v1"
  cli berth rmi sl-extra:v1 >/dev/null
}
@test "berth: save to stdout, load from stdin" { scenario_save_stdout_load_stdin berth; }
@test "docker: save to stdout, load from stdin" { scenario_save_stdout_load_stdin docker; }

scenario_save_by_id_loads_untagged() {
  local c=$1 id
  id=$(image_id busybox:latest)
  run cli "$c" save -o "$WORK/id.tar" "$id"
  assert_success
  run cli "$c" load -i "$WORK/id.tar"
  assert_success
  assert_output "Loaded image ID: $id"
}
@test "berth: save by id, load prints the image id" { scenario_save_by_id_loads_untagged berth; }
@test "docker: save by id, load prints the image id" { scenario_save_by_id_loads_untagged docker; }

# what one client saved, the other loads
scenario_cross_client() {
  local from=$1 to=$2 id
  id=$(image_id busybox:latest)
  run cli "$from" save -o "$WORK/x.tar" busybox:latest
  assert_success
  run cli "$to" rmi busybox:latest
  assert_success
  run cli "$to" load -i "$WORK/x.tar"
  assert_success
  assert_output "Loaded image: busybox:latest"
  run image_id busybox:latest
  assert_output "$id"
}
@test "docker save output loads back through berth" { scenario_cross_client docker berth; }
@test "berth save output loads back through docker" { scenario_cross_client berth docker; }

scenario_save_errors() {
  local c=$1
  run cli "$c" save -o "$WORK/n.tar" nosuchimage:v9
  assert_status 1
  assert_output_contains "No such image: nosuchimage:v9"
  [ ! -e "$WORK/n.tar" ] || _e2e_fail "archive written for a missing image"
}
@test "berth: save of a missing image fails" { scenario_save_errors berth; }
@test "docker: save of a missing image fails" { scenario_save_errors docker; }

scenario_save_to_terminal() {
  local c=$1
  require_cmd script util-linux
  run script -qec "$(cli_cmdline "$c") save busybox" /dev/null
  assert_status 1
  assert_output_contains "cowardly refusing to save to a terminal. Use the -o flag or redirect"
}
@test "berth: save refuses to write to a terminal" { scenario_save_to_terminal berth; }
@test "docker: save refuses to write to a terminal" { scenario_save_to_terminal docker; }

scenario_load_bad_input() {
  local c=$1
  head -c 4096 /dev/urandom >"$WORK/junk.tar"
  run cli "$c" load -i "$WORK/junk.tar"
  assert_status 1
  # dockerd answers 200 and puts the error in the JSON stream: no "Error response from daemon"
  [ -n "$output" ] || _e2e_fail "no error printed"
  refute_output_contains "Error response from daemon"
  tar -cf "$WORK/empty.tar" -C "$WORK" junk.tar
  run cli "$c" load -i "$WORK/empty.tar"
  assert_status 1
  assert_output_contains "manifest.json"
  # nothing left behind in the ingest area
  run find "$E2E_ROOT/data/content/ingest" -mindepth 1
  assert_output ""
}
@test "berth: load rejects junk and archives without a manifest" { scenario_load_bad_input berth; }
@test "docker: load rejects junk and archives without a manifest" { scenario_load_bad_input docker; }

scenario_skopeo_reads_oci_part() {
  local c=$1
  require_cmd skopeo
  run cli "$c" save -o "$WORK/s.tar" busybox:latest
  assert_success
  mkdir "$WORK/oci"
  tar -xf "$WORK/s.tar" -C "$WORK/oci"
  run skopeo inspect --raw oci:"$WORK/oci"
  assert_success
  assert_output_contains "application/vnd.oci.image.manifest.v1+json"
  run skopeo inspect --config oci:"$WORK/oci"
  assert_success
  assert_output_contains '"diff_ids"'
  run skopeo inspect oci:"$WORK/oci:latest"
  assert_success
  assert_output_contains '"Layers"'
}
@test "berth: the OCI part of save is readable by skopeo" { scenario_skopeo_reads_oci_part berth; }
@test "docker: the OCI part of save is readable by skopeo" { scenario_skopeo_reads_oci_part docker; }

# Archives written by another tool: skopeo turns berth's OCI layout into a
# classic docker-archive (<hex>.json + <dir>/layer.tar) and a plain OCI
# archive; both load with the same image id.
scenario_load_foreign_archives() {
  local c=$1 id
  require_cmd skopeo
  id=$(image_id busybox:latest)
  cli berth save -o "$WORK/s.tar" busybox:latest
  mkdir "$WORK/oci"
  tar -xf "$WORK/s.tar" -C "$WORK/oci"
  run skopeo copy -q oci:"$WORK/oci:latest" docker-archive:"$WORK/classic.tar":sl-classic:v1
  assert_success
  run tar -tf "$WORK/classic.tar"
  assert_output_contains "manifest.json"
  run cli "$c" load -i "$WORK/classic.tar"
  assert_success
  assert_output "Loaded image: sl-classic:v1"
  run image_id sl-classic:v1
  assert_output "$id"
  run skopeo copy -q oci:"$WORK/oci:latest" oci-archive:"$WORK/plain-oci.tar":sl-oci:v2
  assert_success
  run tar -tf "$WORK/plain-oci.tar"
  refute_output_contains_manifest_json() { ! grep -qx 'manifest.json' <<<"$output"; }
  refute_output_contains_manifest_json || _e2e_fail "expected an OCI archive without manifest.json"
  cli berth rmi -f "$id" >/dev/null
  run cli "$c" load -i "$WORK/plain-oci.tar"
  assert_success
  assert_output_contains "Loaded image"
  run cli berth image inspect --format '{{.Id}}' "$id"
  assert_success
  assert_output "$id"
  run cli "$c" run --rm --pull never "$id" echo foreign
  assert_success
  assert_output "foreign"
  # put busybox:latest back for the next scenarios
  cli berth tag "$id" busybox:latest
}
@test "berth: loads skopeo's docker-archive and OCI archive" { scenario_load_foreign_archives berth; }
@test "docker: loads skopeo's docker-archive and OCI archive" { scenario_load_foreign_archives docker; }

scenario_leftovers() { assert_no_leftovers; }
@test "no leftovers" { remove_all_containers; scenario_leftovers; }
