#!/usr/bin/env bats
# Registry mirrors per host (--registry-hosts-dir, <dir>/<registry>/hosts.toml,
# docs/registry-hosts.md): registry.k8s.io names are pulled from loopback
# mirrors, in the file's order, and the real server is never contacted: the
# file points `server` at 127.0.0.1:9, where nothing listens, so a pull that
# reached it would fail.
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  e2e_setup_file
  reg_start empty
  reg_start mirror
  gzip -n -c "$(busybox_tar)" >"$E2E_ROOT/busybox.tar.gz"
  reg_push_image "$REG_MIRROR" pause x amd64 "$E2E_ROOT/busybox.tar.gz" >/dev/null
  reg_push_image "$REG_MIRROR" e2e-test-images/busybox 1.36 amd64 "$E2E_ROOT/busybox.tar.gz" >/dev/null
  export HOSTS_DIR="$E2E_ROOT/certs.d"
  mkdir -p "$HOSTS_DIR/registry.k8s.io" "$HOSTS_DIR/_default"
  cat >"$HOSTS_DIR/registry.k8s.io/hosts.toml" <<TOML
server = "http://127.0.0.1:9"

[host."http://$REG_EMPTY"]
  capabilities = ["pull", "resolve"]

[host."http://$REG_MIRROR"]
  capabilities = ["pull", "resolve"]
TOML
  # Any other registry (gcr.io here): the mirror under a path prefix it
  # serves as the API root (override_path), then the server.
  cat >"$HOSTS_DIR/_default/hosts.toml" <<TOML
server = "http://127.0.0.1:9"
[host."http://$REG_MIRROR/v2"]
  override_path = true
TOML
  local pid
  pid=$(berthd_pid)
  kill -TERM "$pid"
  wait_until 10 "berthd $pid to exit after SIGTERM" eval "! kill -0 $pid 2>/dev/null" || return 1
  E2E_BERTHD_ARGS="--registry-hosts-dir $HOSTS_DIR" berthd_start
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

scenario_pull_through_mirror() {
  local c=$1
  cli "$c" rmi -f registry.k8s.io/pause:x >/dev/null 2>&1 || true
  local before
  before=$(wc -l <"$(reg_dir empty)/log")
  run cli "$c" pull registry.k8s.io/pause:x
  assert_success
  assert_output_contains "Status: Downloaded newer image for registry.k8s.io/pause:x"
  # The first mirror was asked and lacked it; the second served it.
  tail -n +"$((before + 1))" "$(reg_dir empty)/log" | grep -q 'GET /v2/pause/manifests/x .* 404' ||
    _e2e_fail "first mirror was not asked: $(tail -n 5 "$(reg_dir empty)/log")"
  grep -q 'GET /v2/pause/manifests/x .* 200' "$(reg_dir mirror)/log" ||
    _e2e_fail "the mirror did not serve the manifest"
  run cli "$c" run --rm registry.k8s.io/pause:x echo from-mirror
  assert_success
  assert_output "from-mirror"
  run cli "$c" image inspect --format '{{index .RepoDigests 0}}' registry.k8s.io/pause:x
  assert_output_contains "registry.k8s.io/pause@sha256:"
}
@test "berth: registry.k8s.io is pulled from its mirrors, in order" { scenario_pull_through_mirror berth; }
@test "docker: registry.k8s.io is pulled from its mirrors, in order" { scenario_pull_through_mirror docker; }

scenario_default_hosts() {
  local c=$1
  cli "$c" rmi -f gcr.io/e2e-test-images/busybox:1.36 >/dev/null 2>&1 || true
  run cli "$c" pull gcr.io/e2e-test-images/busybox:1.36
  assert_success
  assert_output_contains "Downloaded newer image for gcr.io/e2e-test-images/busybox:1.36"
}
@test "berth: _default/hosts.toml serves other registries (override_path)" { scenario_default_hosts berth; }
@test "docker: _default/hosts.toml serves other registries (override_path)" { scenario_default_hosts docker; }

@test "an image no mirror has falls through to the server, which is the only one refused" {
  run -1 cli berth pull registry.k8s.io/pause:missing
  # The answer is the server's (tried last): connection refused on port 9.
  assert_output_contains "127.0.0.1:9"
  grep -q 'GET /v2/pause/manifests/missing .* 404' "$(reg_dir mirror)/log" ||
    _e2e_fail "the mirror was not asked before the server"
}

@test "a broken hosts.toml fails the pull and names the file" {
  mkdir -p "$HOSTS_DIR/quay.io"
  echo 'server = [' >"$HOSTS_DIR/quay.io/hosts.toml"
  run -1 cli docker pull quay.io/some/image:1
  assert_output_contains "$HOSTS_DIR/quay.io/hosts.toml"
  rm -rf "$HOSTS_DIR/quay.io"
}

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
