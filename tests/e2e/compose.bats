#!/usr/bin/env bats
# Debian's docker-compose 1.29 end to end (file format 2.4): a built service
# with a published port and an env_file, a healthchecked service it
# depends_on (condition: service_healthy) with environment, a named volume
# and a restart policy, a scalable worker, a user network. config, build,
# up -d, ps, logs (-f bounded), exec, run --rm, a second up -d that
# recreates nothing, up --scale, restart, stop, start, labels filterable,
# down -v --rmi local leaving nothing.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  require_cmd docker-compose || return 1
  require_cmd python3 || return 1
  e2e_net_setup_file compose 220 || return 1
}

teardown_file() {
  [ -n "${E2E_ROOT:-}" ] || return 0
  if [ -f "$E2E_ROOT/proj/docker-compose.yml" ]; then
    (cd "$E2E_ROOT/proj" && dc down -v --rmi local --remove-orphans >/dev/null 2>&1) || true
  fi
  # name every user network's bridge so the cleanup removes it
  api GET /v1.41/networks 2>/dev/null | head -n1 | python3 -c '
import json, sys
try:
    nets = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for n in nets:
    if n.get("Driver") == "bridge" and n.get("Name") != "bridge":
        print(n.get("Options", {}).get("com.docker.network.bridge.name") or "br-" + n["Id"][:12])
' >>"$E2E_ROOT/net-links" || true
  e2e_teardown_file
}
teardown() { e2e_teardown; }

dc() { timeout -k 5 120 docker-compose -H "unix://$SOCK" -p "$PROJ" "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
page_is() {
  local got
  got=$(curl -sS --max-time 5 "http://127.0.0.1:$1/index.html") || return 1
  [ "$got" = "$2" ] || { echo "got: $got"; return 1; }
}
ids() { docker_cmd ps -aq --no-trunc --filter "label=com.docker.compose.project=$PROJ" | sort; }

# write_project DIR PORT SUBNET
write_project() {
  local d=$1
  mkdir -p "$d/web"
  echo "compose page" >"$d/web/index.html"
  cat >"$d/web/Dockerfile" <<'DF'
FROM busybox
COPY index.html /www/index.html
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
DF
  printf 'GREETING=hello from env_file\n' >"$d/web.env"
  cat >"$d/docker-compose.yml" <<YML
version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db-\$\$MODE; sleep 0.3; touch /tmp/ready; echo ready; exec sleep 600"]
    environment:
      MODE: testing
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 200ms
      timeout: 2s
      retries: 30
    volumes: ["data:/data"]
    networks: [back]
    restart: unless-stopped
  web:
    build: ./web
    env_file: web.env
    ports: ["127.0.0.1:$2:8080"]
    depends_on:
      db:
        condition: service_healthy
    networks: [back]
    restart: on-failure
  worker:
    image: busybox
    command: ["sleep", "600"]
    networks: [back]
networks:
  back:
    ipam:
      config:
        - subnet: $3
volumes:
  data: {}
YML
}

@test "docker-compose 1.29: the whole life of a two-service project with healthcheck, volume, network, port" {
  local d="$E2E_ROOT/proj" port before after
  export PROJ="ct$RANDOM"
  port=$(free_port)
  write_project "$d" "$port" "10.220.$((NET_O + 1)).0/24"
  cd "$d"
  export DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

  run dc config
  assert_success
  assert_output_contains "condition: service_healthy"
  assert_output_contains "GREETING: hello from env_file"

  # up builds the missing image (docker-py's builder)
  run dc up -d
  assert_success
  run docker_cmd image inspect -f '{{.Id}}' "${PROJ}_web"
  assert_success
  # web started only once db was healthy
  run docker_cmd inspect -f '{{.State.Health.Status}}' "${PROJ}_db_1"
  assert_output "healthy"
  wait_until 20 "the web page on 127.0.0.1:$port" page_is "$port" "compose page"
  run dc ps
  assert_success
  assert_output_contains "${PROJ}_db_1"
  assert_output_contains "(healthy)"
  assert_output_contains "${PROJ}_web_1"
  assert_output_contains "${PROJ}_worker_1"
  [ "$(ids | wc -l)" = 3 ] || _e2e_fail "3 containers labelled with the project"
  run docker_cmd ps -q --filter "label=com.docker.compose.service=db" --filter "label=com.docker.compose.project=$PROJ"
  [ "$(echo "$output" | wc -l)" = 1 ] || _e2e_fail "service label filter"
  run docker_cmd volume ls -q --filter "label=com.docker.compose.project=$PROJ"
  assert_output "${PROJ}_data"

  run env PYTHONUNBUFFERED=1 timeout 2 docker-compose -H "unix://$SOCK" -p "$PROJ" logs -f --no-color db
  [ "$status" -eq 124 ] || _e2e_fail "logs -f should still follow when timeout stops it"
  assert_output_contains "db-testing"
  assert_output_contains "ready"

  run dc exec -T web sh -c 'echo $GREETING'
  assert_success
  assert_output "hello from env_file"
  run dc run --rm -T worker sh -c 'echo ran; ls -d /data 2>/dev/null || echo no-data'
  assert_success
  assert_output_contains "ran"
  [ "$(ids | wc -l)" = 3 ] || _e2e_fail "run --rm must leave no container"

  # unchanged project: nothing recreated
  before=$(ids)
  run dc up -d
  assert_success
  refute_output_contains "Recreating"
  after=$(ids)
  [ "$before" = "$after" ] || _e2e_fail "a second up -d recreated containers"

  run dc up -d --scale worker=2
  assert_success
  run docker_cmd ps -q --filter "label=com.docker.compose.service=worker" --filter "label=com.docker.compose.project=$PROJ"
  [ "$(echo "$output" | wc -l)" = 2 ] || _e2e_fail "worker scaled to 2"

  run dc restart -t 1 web
  assert_success
  wait_until 20 "the page after restart" page_is "$port" "compose page"
  run dc stop -t 1
  assert_success
  run docker_cmd ps -q --filter "label=com.docker.compose.project=$PROJ"
  assert_output ""
  run dc start
  assert_success
  wait_until 20 "the page after start" page_is "$port" "compose page"

  run dc down -v --rmi local -t 1
  assert_success
  [ -z "$(ids)" ] || _e2e_fail "containers left after down"
  run docker_cmd network ls -q --filter "name=${PROJ}_back"
  assert_output ""
  run docker_cmd volume ls -q --filter "name=${PROJ}_data"
  assert_output ""
  run docker_cmd images -q "${PROJ}_web"
  assert_output ""
  rm -f "$d/docker-compose.yml"
}
