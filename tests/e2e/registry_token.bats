#!/usr/bin/env bats
# Bearer-token auth: docker-registry with `auth: token` against the small
# token server of tests/e2e/token_server.py (ES256 JWTs, x5c checked against
# the registry's rootcertbundle). bob/tokpass gets what he asks for;
# anonymous callers may only pull public/*.
bats_require_minimum_version 1.5.0
load helpers
load registry_helpers

setup_file() {
  require_cmd python3 || return 1
  require_cmd openssl || return 1
  python3 -c 'import cryptography' 2>/dev/null ||
    { echo "MISSING: python3 module cryptography (Debian package python3-cryptography, in scripts/deps.sh)" >&2; return 1; }
  e2e_setup_file
  local t="$E2E_ROOT/tok" pid
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$t/key.pem" \
    -out "$t/cert.pem" -days 1 -subj /CN=berth-e2e-token 2>/dev/null
  python3 "$E2E_DIR/token_server.py" "$t/port" "$t/key.pem" "$t/cert.pem" berth-e2e-issuer berth-e2e bob:tokpass \
    </dev/null >"$t/log" 2>&1 3>&- 4>&- &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >>"$E2E_ROOT/token.pids"
  wait_until 20 "token_server.py to write its port" test -s "$t/port" || return 1
  TOKEN_URL="http://127.0.0.1:$(cat "$t/port")/token"
  export TOKEN_URL
  reg_start tok "auth:
  token:
    realm: $TOKEN_URL
    service: berth-e2e
    issuer: berth-e2e-issuer
    rootcertbundle: $t/cert.pem"
}
teardown_file() {
  local pid
  for pid in $(cat "$E2E_ROOT/token.pids" 2>/dev/null); do
    _e2e_is_cmd "$pid" python3 && kill "$pid" 2>/dev/null
  done
  e2e_teardown_file
}
teardown() { e2e_teardown; }

scenario_token() {
  local c=$1 priv="$REG_TOK/$1/bb:v1" pub="$REG_TOK/public/$1:v1"
  cli "$c" tag busybox "$priv"
  cli "$c" tag busybox "$pub"
  run cli "$c" push "$priv"
  assert_status 1
  assert_output_contains "unauthorized"
  run cli "$c" login -u bob --password-stdin "$REG_TOK" <<<"nope"
  assert_status 1
  assert_output_contains "unauthorized"
  run cli "$c" login -u bob --password-stdin "$REG_TOK" <<<"tokpass"
  assert_success
  assert_output_contains "Login Succeeded"
  run cli "$c" push "$priv"
  assert_success
  assert_output_contains "v1: digest: sha256:"
  run cli "$c" push "$pub"
  assert_success
  cli "$c" rmi "$priv" "$pub" >/dev/null
  run cli "$c" pull "$priv"
  assert_success
  assert_output_contains "Status: Downloaded newer image for $priv"
  run cli "$c" logout "$REG_TOK"
  assert_success
  # Anonymous: public/* may be pulled, the rest may not.
  cli "$c" rmi "$priv" >/dev/null
  run cli "$c" pull "$pub"
  assert_success
  run cli "$c" pull "$priv"
  assert_status 1
  assert_output_contains "unauthorized"
  # The token server saw both kinds of request.
  grep -q 'scope=repository' "$E2E_ROOT/tok/log" || _e2e_fail "no scoped token request"
}
@test "berth: bearer tokens: anonymous pull of public repos, login for push/pull, wrong password refused" { scenario_token berth; }
@test "docker: bearer tokens: anonymous pull of public repos, login for push/pull, wrong password refused" { scenario_token docker; }

@test "no leftovers" {
  remove_all_containers
  assert_no_leftovers
}
