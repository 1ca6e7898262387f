#!/usr/bin/env bats
# Registries: push and pull against Debian's docker-registry on 127.0.0.1
# (plain HTTP, insecure by default like Docker for 127.0.0.0/8), with the
# berth CLI and the docker CLI through berthd.
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  require_cmd python3 || return 1
  require_cmd openssl || return 1
  e2e_setup_file
  reg_start main
  # Test images written with the raw distribution API (no berth involved).
  mkdir -p "$E2E_ROOT/layers"
  local L="$E2E_ROOT/layers"
  gzip -n -c "$(busybox_tar)" >"$L/busybox.tar.gz"
  mk_layer "$L/app.tar.gz" etc/app.conf=app-v1 arch=amd64
  mk_layer "$L/arm.tar.gz" arch=arm64
  reg_push_image "$REG_MAIN" base/bb v1 amd64 "$L/busybox.tar.gz" >/dev/null
  reg_push_image "$REG_MAIN" base/app v1 amd64 "$L/busybox.tar.gz" "$L/app.tar.gz" >/dev/null
  # htpasswd basic auth: alice / s3cret (bcrypt).
  python3 -c 'import crypt; print("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)).replace("$2b$", "$2y$", 1))' \
    2>/dev/null >"$E2E_ROOT/htpasswd"
  # TLS with a test certificate (127.0.0.0/8 is insecure by default, as in
  # Docker: HTTPS is used, the certificate is not verified).
  mkdir -p "$E2E_ROOT/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_ROOT/tls/key.pem" -out "$E2E_ROOT/tls/cert.pem" \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  reg_start tls "" "$E2E_ROOT/tls"
  reg_start auth "auth:
  htpasswd:
    realm: berth-e2e
    path: $E2E_ROOT/htpasswd"
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

image_id() { cli "$1" image inspect --format '{{.Id}}' "$2"; }

# ---- push, pull, round trip

scenario_push_pull_round_trip() {
  local c=$1 ref="$REG_MAIN/$1/bb:v1" id pulled
  run cli "$c" tag busybox "$ref"
  assert_success
  id=$(image_id "$c" "$ref")
  run cli "$c" push "$ref"
  assert_success
  assert_output_contains "The push refers to repository [$REG_MAIN/$c/bb]"
  # The layer is new to this repository: uploaded, or mounted from the
  # other client's repository on the same registry.
  [[ $output == *": Pushed"* || $output == *": Mounted from "* ]] || _e2e_fail "no Pushed/Mounted line"
  assert_output_contains "v1: digest: sha256:"
  # A second push finds every layer there.
  run cli "$c" push "$ref"
  assert_success
  assert_output_contains ": Layer already exists"
  run cli "$c" rmi "$ref"
  assert_success
  run cli "$c" pull "$ref"
  assert_success
  assert_output_contains "v1: Pulling from $c/bb"
  assert_output_contains "Digest: sha256:"
  assert_output_contains "Status: Downloaded newer image for $ref"
  pulled=$(image_id "$c" "$ref")
  [ "$pulled" = "$id" ] || _e2e_fail "pulled id $pulled != pushed id $id"
  run cli "$c" pull "$ref"
  assert_success
  assert_output_contains "Status: Image is up to date for $ref"
}
@test "berth: push then pull round trip keeps the image id; second pull is up to date" { scenario_push_pull_round_trip berth; }
@test "docker: push then pull round trip keeps the image id; second pull is up to date" { scenario_push_pull_round_trip docker; }

scenario_pull_fresh_and_shared_layers() {
  local c=$1 L="$E2E_ROOT/layers"
  mk_layer "$L/s1-$c.tar.gz" "s1=$c"
  mk_layer "$L/s2-$c.tar.gz" "s2=$c"
  reg_push_image "$REG_MAIN" "$c/s1" v1 amd64 "$L/s1-$c.tar.gz" >/dev/null
  reg_push_image "$REG_MAIN" "$c/s2" v1 amd64 "$L/s1-$c.tar.gz" "$L/s2-$c.tar.gz" >/dev/null
  run cli "$c" pull "$REG_MAIN/$c/s1:v1"
  assert_success
  assert_output_contains "Pull complete"
  refute_output_contains "Already exists"
  # s2 shares its first layer with s1.
  run cli "$c" pull "$REG_MAIN/$c/s2:v1"
  assert_success
  assert_output_contains "$(sha256sum "$L/s1-$c.tar.gz" | cut -c1-12): Already exists"
  assert_output_contains "$(sha256sum "$L/s2-$c.tar.gz" | cut -c1-12): Pull complete"
  # busybox + one layer: runs, config as pushed.
  cli "$c" rmi -f "$REG_MAIN/base/app:v1" >/dev/null 2>&1 || true
  run cli "$c" pull "$REG_MAIN/base/app:v1"
  assert_success
  run cli "$c" run --rm "$REG_MAIN/base/app:v1" cat /etc/app.conf
  assert_success
  assert_output "app-v1"
  run cli "$c" image inspect --format '{{.Architecture}} {{len .RootFS.Layers}} {{index .Config.Labels "e2e"}}' "$REG_MAIN/base/app:v1"
  assert_output "amd64 2 base/app:v1"
}
@test "berth: pull; an image sharing layers says Already exists and runs" { scenario_pull_fresh_and_shared_layers berth; }
@test "docker: pull; an image sharing layers says Already exists and runs" { scenario_pull_fresh_and_shared_layers docker; }

scenario_pull_by_digest() {
  local c=$1 repo="$REG_MAIN/$1/alpine" digest
  cli "$c" tag busybox "$repo:latest"
  run cli "$c" push "$repo:latest"
  assert_success
  digest=$(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$output" | tail -n1)
  [ -n "$digest" ]
  run cli "$c" image rm "$repo:latest"
  assert_success
  run cli "$c" image pull "$repo@$digest"
  assert_success
  assert_output_contains "Digest: $digest"
  run cli "$c" image ls --digests --format '{{.Repository}} {{.Digest}}'
  assert_output_contains "$repo $digest"
  run cli "$c" run --rm "$repo@$digest" echo by-digest
  assert_success
  assert_output "by-digest"
}
@test "berth: image rm then image pull name@sha256 round trip, ls --digests shows it" { scenario_pull_by_digest berth; }
@test "docker: image rm then image pull name@sha256 round trip, ls --digests shows it" { scenario_pull_by_digest docker; }

scenario_run_pulls_missing() {
  local c=$1 ref="$REG_MAIN/base/bb:v1"
  cli "$c" rmi -f "$ref" "$REG_MAIN/base/app:v1" >/dev/null 2>&1 || true
  run --separate-stderr cli "$c" run --rm "$ref" echo pulled-and-ran
  assert_success
  assert_output "pulled-and-ran"
  assert_stderr_contains "Unable to find image '$ref' locally"
  assert_stderr_contains "Status: Downloaded newer image for $ref"
}
@test "berth: run pulls a missing image" { scenario_run_pulls_missing berth; }
@test "docker: run pulls a missing image" { scenario_run_pulls_missing docker; }

scenario_pull_all_tags() {
  local c=$1 L="$E2E_ROOT/layers"
  mk_layer "$L/t1-$c.tar.gz" "t=1"
  mk_layer "$L/t2-$c.tar.gz" "t=2"
  reg_push_image "$REG_MAIN" "$c/tags" one amd64 "$L/t1-$c.tar.gz" >/dev/null
  reg_push_image "$REG_MAIN" "$c/tags" two amd64 "$L/t2-$c.tar.gz" >/dev/null
  run cli "$c" pull -a "$REG_MAIN/$c/tags"
  assert_success
  assert_output_contains "one: Pulling from $c/tags"
  assert_output_contains "two: Pulling from $c/tags"
  run cli "$c" image ls --format '{{.Tag}}' "$REG_MAIN/$c/tags"
  [ "$(sort <<<"$output" | tr '\n' ' ')" = "one two " ] || _e2e_fail "tags: $output"
  run cli "$c" pull -a "$REG_MAIN/$c/tags:one"
  assert_status 1
  assert_output_contains "tag can't be used with --all-tags/-a"
}
@test "berth: pull -a fetches every tag of a repository" { scenario_pull_all_tags berth; }
@test "docker: pull -a fetches every tag of a repository" { scenario_pull_all_tags docker; }

scenario_tls() {
  local c=$1 ref="$REG_TLS/$1/bb:v1"
  cli "$c" tag busybox "$ref"
  run cli "$c" push "$ref"
  assert_success
  assert_output_contains "v1: digest: sha256:"
  cli "$c" rmi "$ref" >/dev/null
  run cli "$c" pull "$ref"
  assert_success
  assert_output_contains "Status: Downloaded newer image for $ref"
  # It really was HTTPS: the registry answers TLS only.
  curl -fsS --cacert "$E2E_ROOT/tls/cert.pem" "https://$REG_TLS/v2/$c/bb/tags/list" | grep -q '"v1"' ||
    _e2e_fail "tag not on the TLS registry"
}
@test "berth: push and pull over TLS (test certificate)" { scenario_tls berth; }
@test "docker: push and pull over TLS (test certificate)" { scenario_tls docker; }

# ---- errors

scenario_errors() {
  local c=$1 port
  run cli "$c" pull "$REG_MAIN/base/bb:nosuch"
  assert_status 1
  assert_output_contains "manifest for $REG_MAIN/base/bb:nosuch not found: manifest unknown"
  run cli "$c" pull "$REG_MAIN/no/such"
  assert_status 1
  assert_output_contains "not found"
  port=$(free_port)   # nothing listens there
  run cli "$c" pull "127.0.0.1:$port/x/y:z"
  assert_status 1
  assert_output_contains "connect: connection refused"
  run cli "$c" push "$REG_MAIN/never/tagged:v1"
  assert_status 1
  assert_output_contains "An image does not exist locally with the tag: $REG_MAIN/never/tagged"
}
@test "berth: unknown tag, unknown repository, registry down, push of a missing tag" { scenario_errors berth; }
@test "docker: unknown tag, unknown repository, registry down, push of a missing tag" { scenario_errors docker; }

scenario_tampered_blob() {
  local c=$1 L="$E2E_ROOT/layers" digest blob before after
  mk_layer "$L/tamper-$c.tar.gz" "tamper=$c"
  reg_push_image "$REG_MAIN" "$c/tamper" v1 amd64 "$L/busybox.tar.gz" "$L/tamper-$c.tar.gz" >/dev/null
  digest="sha256:$(sha256sum "$L/tamper-$c.tar.gz" | cut -d' ' -f1)"
  blob=$(reg_blob_path main "$digest")
  [ -f "$blob" ]
  cp "$blob" "$E2E_ROOT/good-$c"
  # Same size, one byte flipped (inside the gzip data).
  python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(bytes(b))
PY
  before=$(ls -A "$E2E_ROOT/data/snapshots" | sort | tr '\n' ' ')
  run cli "$c" pull "$REG_MAIN/$c/tamper:v1"
  assert_status 1
  assert_output_contains "verification failed for digest $digest"
  # Nothing half-written is referenced: no image, no new snapshot, no temp files.
  run cli "$c" image ls -q "$REG_MAIN/$c/tamper"
  assert_output ""
  after=$(ls -A "$E2E_ROOT/data/snapshots" | sort | tr '\n' ' ')
  [ "$before" = "$after" ] || _e2e_fail "snapshots changed: '$before' -> '$after'"
  [ -z "$(ls -A "$E2E_ROOT/data/content/ingest")" ] || _e2e_fail "ingest not empty"
  [ ! -e "$E2E_ROOT/data/content/blobs/sha256/${digest#sha256:}" ] || _e2e_fail "tampered blob kept"
  # Repaired on the registry: the next pull works.
  cp "$E2E_ROOT/good-$c" "$blob"
  run cli "$c" pull "$REG_MAIN/$c/tamper:v1"
  assert_success
  run cli "$c" run --rm "$REG_MAIN/$c/tamper:v1" cat /tamper
  assert_output "$c"
}
@test "berth: a tampered blob fails with a digest error and leaves the store clean" { scenario_tampered_blob berth; }
@test "docker: a tampered blob fails with a digest error and leaves the store clean" { scenario_tampered_blob docker; }

scenario_truncated_blob() {
  local c=$1 L="$E2E_ROOT/layers" digest blob size
  mk_layer "$L/trunc-$c.tar.gz" "trunc=$c" "pad=$(head -c 3000 /dev/urandom | base64 -w0)"
  reg_push_image "$REG_MAIN" "$c/trunc" v1 amd64 "$L/busybox.tar.gz" "$L/trunc-$c.tar.gz" >/dev/null
  digest="sha256:$(sha256sum "$L/trunc-$c.tar.gz" | cut -d' ' -f1)"
  blob=$(reg_blob_path main "$digest")
  cp "$blob" "$E2E_ROOT/trunc-good-$c"
  size=$(stat -c %s "$blob")
  truncate -s $((size / 2)) "$blob"
  run cli "$c" pull "$REG_MAIN/$c/trunc:v1"
  assert_status 1
  assert_output_contains "verification failed for digest $digest"
  run cli "$c" image ls -q "$REG_MAIN/$c/trunc"
  assert_output ""
  [ -z "$(ls -A "$E2E_ROOT/data/content/ingest")" ] || _e2e_fail "ingest not empty"
  [ -z "$(ls -A "$E2E_ROOT/data/snapshots" | grep '^\.tmp')" ] || _e2e_fail "temp snapshot left"
  cp "$E2E_ROOT/trunc-good-$c" "$blob"
  run cli "$c" pull "$REG_MAIN/$c/trunc:v1"
  assert_success
  run cli "$c" run --rm "$REG_MAIN/$c/trunc:v1" cat /trunc
  assert_output "$c"
}
@test "berth: a truncated blob fails with a digest error; the next pull works" { scenario_truncated_blob berth; }
@test "docker: a truncated blob fails with a digest error; the next pull works" { scenario_truncated_blob docker; }

@test "two concurrent pulls of images sharing a layer fetch it once" {
  local L="$E2E_ROOT/layers" d="$E2E_ROOT/shared-src" digest p1 p2 n
  mkdir -p "$d"
  head -c 24000000 /dev/urandom >"$d/big"
  tar -C "$d" --owner=0 --group=0 -cf - . | gzip -n -1 >"$L/shared.tar.gz"
  mk_layer "$L/top-a.tar.gz" top=a
  mk_layer "$L/top-b.tar.gz" top=b
  reg_push_image "$REG_MAIN" con/a v1 amd64 "$L/shared.tar.gz" "$L/top-a.tar.gz" >/dev/null
  reg_push_image "$REG_MAIN" con/b v1 amd64 "$L/shared.tar.gz" "$L/top-b.tar.gz" >/dev/null
  digest="sha256:$(sha256sum "$L/shared.tar.gz" | cut -d' ' -f1)"
  berth_cmd pull "$REG_MAIN/con/a:v1" >"$E2E_ROOT/pa.out" 2>&1 &
  p1=$!
  berth_cmd pull "$REG_MAIN/con/b:v1" >"$E2E_ROOT/pb.out" 2>&1 &
  p2=$!
  wait "$p1" || _e2e_fail "pull a: $(cat "$E2E_ROOT/pa.out")"
  wait "$p2" || _e2e_fail "pull b: $(cat "$E2E_ROOT/pb.out")"
  n=$(grep -c "GET /v2/con/[ab]/blobs/$digest HTTP/1.1\" 200" "$(reg_dir main)/log" || true)
  [ "$n" -eq 1 ] || _e2e_fail "shared blob fetched $n times"
  cat "$E2E_ROOT/pa.out" "$E2E_ROOT/pb.out" | grep -q "${digest:7:12}: Already exists" ||
    _e2e_fail "the second pull did not reuse the layer"
}

# ---- multi-arch

scenario_platform() {
  local c=$1 L="$E2E_ROOT/layers" amd arm idx
  amd=$(reg_push_image "$REG_MAIN" "$c/multi" amd64 amd64 "$L/busybox.tar.gz" "$L/app.tar.gz")
  arm=$(reg_push_image "$REG_MAIN" "$c/multi" arm64 arm64 "$L/arm.tar.gz")
  idx="$E2E_ROOT/index-$c.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"$amd\",\"size\":$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG_MAIN/v2/$c/multi/manifests/$amd" | wc -c),\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}" \
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"$arm\",\"size\":$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG_MAIN/v2/$c/multi/manifests/$arm" | wc -c),\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}" \
    >"$idx"
  reg_put_manifest "$REG_MAIN" "$c/multi" latest application/vnd.oci.image.index.v1+json "$idx" >/dev/null
  run cli "$c" pull --platform linux/arm64 "$REG_MAIN/$c/multi"
  assert_success
  run cli "$c" image inspect --format '{{.Architecture}} {{len .RootFS.Layers}}' "$REG_MAIN/$c/multi"
  assert_output "arm64 1"
  run cli "$c" pull "$REG_MAIN/$c/multi"
  assert_success
  assert_output_contains "Status: Downloaded newer image"
  run cli "$c" image inspect --format '{{.Architecture}} {{len .RootFS.Layers}}' "$REG_MAIN/$c/multi"
  assert_output "amd64 2"
  run cli "$c" pull --platform linux/s390x "$REG_MAIN/$c/multi"
  assert_status 1
  assert_output_contains "no matching manifest for linux/s390x in the manifest list entries"
}
@test "berth: --platform picks the entry of a multi-arch index; default is the host's" { scenario_platform berth; }
@test "docker: --platform picks the entry of a multi-arch index; default is the host's" { scenario_platform docker; }

# ---- login / logout (basic auth)

scenario_login() {
  local c=$1 ref="$REG_AUTH/$1/bb:v1" cfg="$DOCKER_CONFIG/config.json"
  run cli "$c" tag busybox "$ref"
  run cli "$c" push "$ref"
  assert_status 1
  assert_output_contains "unauthorized"
  run cli "$c" login -u alice --password-stdin "$REG_AUTH" <<<"wrong"
  assert_status 1
  assert_output_contains "401 Unauthorized"
  run cli "$c" login -u alice --password-stdin "$REG_AUTH" <<<"s3cret"
  assert_success
  assert_output_contains "Login Succeeded"
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])' "$cfg" "$REG_AUTH")" = \
    "$(printf 'alice:s3cret' | base64)" ] || _e2e_fail "config.json: $(cat "$cfg")"
  run cli "$c" push "$ref"
  assert_success
  assert_output_contains "digest: sha256:"
  cli "$c" rmi "$ref" >/dev/null
  run cli "$c" pull "$ref"
  assert_success
  run cli "$c" logout "$REG_AUTH"
  assert_success
  assert_output_contains "Removing login credentials for $REG_AUTH"
  cli "$c" rmi "$ref" >/dev/null
  run cli "$c" pull "$ref"
  assert_status 1
  assert_output_contains "unauthorized"
}
@test "berth: login stores base64 auth in config.json, push/pull use it, logout removes it" { scenario_login berth; }
@test "docker: login stores base64 auth in config.json, push/pull use it, logout removes it" { scenario_login docker; }

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
