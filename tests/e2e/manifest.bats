#!/usr/bin/env bats
# berth manifest create/annotate/push/inspect/rm against Debian's
# docker-registry on 127.0.0.1: the CLI talks to the registry itself and
# keeps local lists under $DOCKER_CONFIG/manifests in docker's layout, so
# the docker CLI reads what berth wrote (and pushed). Lists are pulled per
# platform through berthd.
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  require_cmd python3 || return 1
  e2e_setup_file
  reg_start main
  mkdir -p "$E2E_ROOT/layers"
  local L="$E2E_ROOT/layers"
  gzip -n -c "$(busybox_tar)" >"$L/busybox.tar.gz"
  mk_layer "$L/arm.tar.gz" arch=arm64
  reg_push_image "$REG_MAIN" base/bb v1 amd64 "$L/busybox.tar.gz" >/dev/null
  # htpasswd basic auth: alice / s3cret (bcrypt).
  python3 -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)).replace("$2b$", "$2y$", 1))' \
    2>/dev/null >"$E2E_ROOT/htpasswd"
  reg_start auth "auth:
  htpasswd:
    realm: berth-e2e
    path: $E2E_ROOT/htpasswd"
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# same_json A B: equal as JSON values (key order aside).
same_json() {
  python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2" ||
    _e2e_fail "JSON differs:
$1
---
$2"
}
# json_get JSON PYEXPR: evaluates PYEXPR on the document j.
json_get() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

@test "berth manifest create/annotate/push; docker reads the list; pulled per platform with both clients" {
  local L="$E2E_ROOT/layers" repo="$REG_MAIN/multi/app" amd arm list mine theirs dgst dir
  amd=$(reg_push_image "$REG_MAIN" multi/app amd64 amd64 "$L/busybox.tar.gz")
  arm=$(reg_push_image "$REG_MAIN" multi/app arm64 arm64 "$L/arm.tar.gz")
  list="$repo:latest"
  run berth_cmd manifest create "$repo" "$repo:amd64" "$repo:arm64"
  assert_success
  assert_output "Created manifest list $list"
  # docker's on-disk layout, names made file-safe.
  dir="$DOCKER_CONFIG/manifests/$(echo "${list//:/-}" | tr / _)"
  [ -f "$dir/$(echo "${repo//:/-}-amd64" | tr / _)" ] || _e2e_fail "no entry file in $dir: $(ls -R "$DOCKER_CONFIG/manifests")"
  run berth_cmd manifest create "$repo" "$repo:amd64"
  assert_status 1
  assert_output_contains "refusing to amend an existing manifest list with no --amend flag"
  run berth_cmd manifest annotate --variant v8 --os-features f1 "$repo" "$repo:arm64"
  assert_success
  run berth_cmd manifest annotate --os linux --arch bogus "$repo" "$repo:arm64"
  assert_status 1
  assert_output_contains "manifest entry for image has unsupported os/arch combination: linux/bogus"
  run berth_cmd manifest inspect "$repo"
  assert_success
  mine=$output
  [ "$(json_get "$mine" 'j["mediaType"]')" = application/vnd.docker.distribution.manifest.list.v2+json ]
  [ "$(json_get "$mine" '[(m["digest"], m["platform"]["architecture"], m["platform"].get("variant","")) for m in j["manifests"]]')" = \
    "[('$amd', 'amd64', ''), ('$arm', 'arm64', 'v8')]" ] || _e2e_fail "entries: $mine"
  [ "$(json_get "$mine" 'j["manifests"][1]["platform"]["os.features"]')" = "['f1']" ] || _e2e_fail "os.features: $mine"
  # The docker CLI reads the same local list and prints the same bytes.
  run docker_cmd manifest inspect "$repo"
  assert_success
  [ "$output" = "$mine" ] || _e2e_fail "docker printed:
$output
berth printed:
$mine"
  # One entry, plain and verbose.
  run berth_cmd manifest inspect "$repo" "$repo:arm64"
  assert_success
  [ "$(json_get "$output" 'j["config"]["mediaType"]')" = application/vnd.docker.container.image.v1+json ]
  run berth_cmd manifest inspect -v "$repo" "$repo:arm64"
  assert_success
  [ "$(json_get "$output" 'j["Descriptor"]["platform"]["variant"]')" = v8 ] || _e2e_fail "verbose: $output"
  [ "$(json_get "$output" 'j["Ref"]')" = "$repo:arm64" ]
  # Push (and purge the local copy).
  run berth_cmd manifest push --purge "$repo"
  assert_success
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || _e2e_fail "push printed: $output"
  dgst=$output
  [ ! -e "$dir" ] || _e2e_fail "--purge left $dir"
  [ "sha256:$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REG_MAIN/v2/multi/app/manifests/latest" | sha256sum | cut -d' ' -f1)" = "$dgst" ] || _e2e_fail "registry digest"
  # Remote inspect by berth and by docker agree.
  run berth_cmd manifest inspect "$repo"
  assert_success
  mine=$output
  same_json "$(json_get "$mine" 'json.dumps([m["digest"] for m in j["manifests"]])')" "[\"$amd\", \"$arm\"]"
  run docker_cmd manifest inspect --insecure "$repo"
  assert_success
  [ "$output" = "$mine" ] || _e2e_fail "docker printed:
$output
berth printed:
$mine"
  # -v fetches every entry; docker prints the same.
  run berth_cmd manifest inspect -v "$repo"
  assert_success
  mine=$output
  [ "$(json_get "$mine" '[m["Descriptor"]["platform"].get("variant","") for m in j]')" = "['', 'v8']" ] || _e2e_fail "-v: $mine"
  run docker_cmd manifest inspect -v --insecure "$repo"
  assert_success
  [ "$output" = "$mine" ] || _e2e_fail "docker -v printed:
$output
berth printed:
$mine"
  # The same list made and pushed by the docker CLI has the same digest.
  run docker_cmd manifest create --insecure "$repo:d" "$repo:amd64" "$repo:arm64"
  assert_success
  run docker_cmd manifest annotate --variant v8 --os-features f1 "$repo:d" "$repo:arm64"
  assert_success
  run docker_cmd manifest push --purge --insecure "$repo:d"
  assert_success
  [ "$output" = "$dgst" ] || _e2e_fail "docker pushed $output, berth $dgst"
  # Pull per platform through berthd, with both clients.
  local c
  for c in berth docker; do
    run cli "$c" pull --platform linux/arm64 "$repo"
    assert_success
    run cli "$c" image inspect --format '{{.Architecture}} {{len .RootFS.Layers}}' "$repo"
    assert_output "arm64 1"
    run cli "$c" pull --platform linux/amd64 "$repo"
    assert_success
    run cli "$c" image inspect --format '{{.Architecture}}' "$repo"
    assert_output "amd64"
    cli "$c" rmi "$repo" >/dev/null
  done
}

@test "manifest inspect of a plain image prints its manifest like docker (berth and docker agree byte for byte)" {
  local ref="$REG_MAIN/base/bb:v1" raw
  raw=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG_MAIN/v2/base/bb/manifests/v1")
  run berth_cmd manifest inspect "$ref"
  assert_success
  same_json "$output" "$raw"
  [[ $output == *$'\n\t"schemaVersion": 2,'* ]] || _e2e_fail "not tab-indented: $output"
  local mine=$output
  run docker_cmd manifest inspect --insecure "$ref"
  assert_success
  [ "$output" = "$mine" ] || _e2e_fail "docker printed:
$output"
  run berth_cmd manifest inspect -v "$ref"
  assert_success
  [ "$(json_get "$output" 'j["Descriptor"]["platform"]["architecture"]')" = amd64 ] || _e2e_fail "-v: $output"
  mine=$output
  run docker_cmd manifest inspect -v --insecure "$ref"
  assert_success
  [ "$output" = "$mine" ] || _e2e_fail "docker -v printed:
$output
berth printed:
$mine"
}

@test "berth manifest: entries from another repository are mounted and put by digest; --amend adds an entry" {
  local L="$E2E_ROOT/layers" src="$REG_MAIN/src/app" dst="$REG_MAIN/dst/list:v1" amd arm dgst
  amd=$(reg_push_image "$REG_MAIN" src/app amd64 amd64 "$L/busybox.tar.gz")
  arm=$(reg_push_image "$REG_MAIN" src/app arm64 arm64 "$L/arm.tar.gz")
  run berth_cmd manifest create "$dst" "$src:amd64"
  assert_success
  run berth_cmd manifest create --amend "$dst" "$src:arm64"
  assert_success
  run berth_cmd manifest create "$dst" "127.0.0.1:9/none:x"
  assert_status 1
  assert_output_contains "refusing to amend"
  run berth_cmd manifest create --amend "$dst" "localhost:1/other:x"
  assert_status 1
  assert_output_contains "cannot use source images from a different registry than the target image: localhost:1 != $REG_MAIN"
  run berth_cmd manifest push "$dst"
  assert_success
  dgst=$output
  # Both image manifests now live in dst/list, by digest.
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG_MAIN/v2/dst/list/manifests/$amd" || _e2e_fail "amd64 manifest not in dst/list"
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG_MAIN/v2/dst/list/manifests/$arm" || _e2e_fail "arm64 manifest not in dst/list"
  run berth_cmd manifest inspect "$dst"
  assert_success
  [ "$(json_get "$output" '" ".join(m["digest"] for m in j["manifests"])')" = "$amd $arm" ] || _e2e_fail "list: $output"
  run berth_cmd manifest rm "$dst"
  assert_success
  # Pulled from the destination repository (blobs were mounted there).
  run berth_cmd pull --platform linux/arm64 "$dst"
  assert_success
  run berth_cmd image inspect --format '{{.Architecture}}' "$dst"
  assert_output "arm64"
  berth_cmd rmi "$dst" >/dev/null
  [[ $dgst =~ ^sha256:[0-9a-f]{64}$ ]] || _e2e_fail "push printed: $dgst"
}

@test "berth manifest uses the credentials berth login stored (basic auth registry)" {
  local repo="$REG_AUTH/sec/app" img
  run berth_cmd manifest inspect "$repo:v1"
  assert_status 1
  assert_output_contains "unauthorized"
  run berth_cmd login -u alice --password-stdin "$REG_AUTH" <<<"s3cret"
  assert_success
  berth_cmd tag busybox "$repo:v1"
  run berth_cmd push "$repo:v1"
  assert_success
  run berth_cmd manifest create "$repo:list" "$repo:v1"
  assert_success
  run berth_cmd manifest push --purge "$repo:list"
  assert_success
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || _e2e_fail "push printed: $output"
  img=$output
  # berth pushed an OCI image manifest: docker's list of it has the same digest.
  run docker_cmd manifest create --insecure "$repo:dlist" "$repo:v1"
  assert_success
  run docker_cmd manifest push --purge --insecure "$repo:dlist"
  assert_success
  [ "$output" = "$img" ] || _e2e_fail "docker pushed $output, berth $img:
$(curl -sS -u alice:s3cret -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' "http://$REG_AUTH/v2/sec/app/manifests/dlist" -H 'Accept: application/vnd.oci.image.index.v1+json')
$(curl -sS -u alice:s3cret -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' "http://$REG_AUTH/v2/sec/app/manifests/list")"
  run berth_cmd manifest inspect "$repo:list"
  assert_success
  assert_output_contains '"mediaType": "application/vnd.oci.image.index.v1+json"'
  run berth_cmd logout "$REG_AUTH"
  assert_success
  run berth_cmd manifest inspect "$repo:list"
  assert_status 1
  assert_output_contains "unauthorized"
  berth_cmd rmi "$repo:v1" >/dev/null
}

scenario_errors() {
  local c=$1 repo="$REG_MAIN/err-$1/app" downaddr downpid
  run cli "$c" manifest inspect --insecure "$REG_MAIN/nope/none:x"
  assert_status 1
  assert_output_contains "no such manifest: $REG_MAIN/nope/none:x"
  run cli "$c" manifest create "$repo" "$REG_MAIN/nope/none:x"
  assert_status 1
  assert_output_contains "no such manifest: $REG_MAIN/nope/none:x"
  [ ! -e "$DOCKER_CONFIG/manifests/$(echo "${repo//:/-}-latest" | tr / _)" ] || _e2e_fail "a failed create left a list"
  run cli "$c" manifest annotate --arch arm64 "$repo" "$REG_MAIN/base/bb:v1"
  assert_status 1
  assert_output_contains "does not exist in $repo"
  run cli "$c" manifest push "$repo"
  assert_status 1
  assert_output_contains "No such manifest: $repo:latest"
  run cli "$c" manifest rm "$repo"
  assert_status 1
  assert_output_contains "No such manifest: $repo:latest"
  # A registry that goes down between create and push.
  reg_start "down$c"
  downaddr=$(cat "$(reg_dir "down$c")/addr")
  downpid=$(tail -n 1 "$E2E_ROOT/registry.pids")
  reg_push_image "$downaddr" x/app v1 amd64 "$E2E_ROOT/layers/arm.tar.gz" >/dev/null
  run cli "$c" manifest create --insecure "$downaddr/x/app:list" "$downaddr/x/app:v1"
  assert_success
  kill "$downpid"
  wait "$downpid" 2>/dev/null || true
  run cli "$c" manifest push --insecure "$downaddr/x/app:list"
  assert_status 1
  assert_output_contains "connection refused"
  # The local list survives the failed push and can be removed.
  run cli "$c" manifest rm "$downaddr/x/app:list"
  assert_success
  run cli "$c" manifest inspect "$downaddr/x/app:list"
  assert_status 1
}
@test "berth: manifest errors: unknown image, no such list, registry down" { scenario_errors berth; }
@test "docker: manifest errors: unknown image, no such list, registry down" { scenario_errors docker; }

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
