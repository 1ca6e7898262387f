#!/usr/bin/env bats
# The build issue's acceptance checks end to end, on a berthd with a real
# default bridge (own --bridge, --bip 10.217.x.1/24, nft table and veth
# prefix): the seed's example (FROM busybox, LABEL, RUN, COPY . /src,
# WORKDIR, EXPOSE 8080, ENTRYPOINT httpd) built by `DOCKER_BUILDKIT=0 docker
# build` and by `berth build`, run with -p 127.0.0.1:PORT:8080 and its page
# fetched from the host; docker-compose 1.29 `build` / `up -d` / `down` of a
# `build: .` service (a project network and a published port); docker-py
# `images.build` + `containers.run(ports=...)`. The base image is the local
# busybox; nothing is pulled, nothing leaves the machine.
bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  require_cmd ip iproute2 || return 1
  require_cmd python3 || return 1
  e2e_net_setup_file b 217 || return 1
}

teardown_file() {
  [ -n "${E2E_ROOT:-}" ] || return 0
  record_user_bridges
  e2e_teardown_file
}

teardown() {
  local d
  # a compose project a failed test left up
  for d in "$E2E_ROOT"/compose-*; do
    [ -f "$d/docker-compose.yml" ] || continue
    (cd "$d" && timeout -k 5 60 docker-compose -H "unix://$SOCK" down --remove-orphans >/dev/null 2>&1) || true
  done
  record_user_bridges
  e2e_teardown
}

# record_user_bridges: name every user network's bridge in net-links, so
# that the cleanup removes it even if the network outlives the test.
record_user_bridges() {
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
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# page_is PORT FILE: GET / on 127.0.0.1:PORT answers FILE's content.
page_is() {
  local got
  got=$(curl -sS --max-time 5 "http://127.0.0.1:$1/index.html") || return 1
  [ "$got" = "$(cat "$2")" ] || { echo "got: $got"; return 1; }
}

# seed_context DIR MARK: the seed's example with an index.html saying MARK.
seed_context() {
  local d=$1
  mkdir -p "$d"
  printf '<html><body><h1>berth %s</h1></body></html>\n' "$2" >"$d/index.html"
  cat >"$d/Dockerfile" <<'DF'
FROM busybox
LABEL maintainer="berth@example.com"
RUN echo built > /built.txt
RUN mkdir -p /var/log/web
COPY . /src
WORKDIR /src
EXPOSE 8080
ENTRYPOINT ["httpd","-f","-p","8080"]
DF
}

scenario_seed_run() {
  local c=$1 d="$E2E_ROOT/$1-web" port name="$1-web"
  seed_context "$d" "$c"
  run --separate-stderr env DOCKER_BUILDKIT=0 bash -c "$(cli_cmdline "$c") build -t $c-web:1 '$d'"
  assert_success
  assert_output_contains "Step 1/8 : FROM busybox"
  assert_output_contains "Successfully tagged $c-web:1"
  [ "$(cli "$c" image inspect --format '{{json .Config.ExposedPorts}}' "$c-web:1")" = '{"8080/tcp":{}}' ] ||
    _e2e_fail "ExposedPorts"
  [ "$(cli "$c" image inspect --format '{{.Config.Labels.maintainer}}' "$c-web:1")" = berth@example.com ] ||
    _e2e_fail "label"
  port=$(free_port)
  run cli "$c" run -d --name "$name" -p "127.0.0.1:$port:8080" "$c-web:1"
  assert_success
  wait_until 20 "the page on 127.0.0.1:$port" page_is "$port" "$d/index.html"
  run cli "$c" port "$name" 8080
  assert_output "127.0.0.1:$port"
  # the container serves /src, its WORKDIR: the Dockerfile was copied too
  run curl -sS --max-time 5 "http://127.0.0.1:$port/Dockerfile"
  assert_output_contains 'ENTRYPOINT ["httpd","-f","-p","8080"]'
  run cli "$c" rm -f "$name"
  assert_success
  run curl -sS --max-time 2 "http://127.0.0.1:$port/index.html"
  [ "$status" -ne 0 ] || _e2e_fail "the port still answers after rm -f"
}
@test "berth: the seed's example built, run with -p 127.0.0.1:PORT:8080, page fetched from the host" {
  scenario_seed_run berth
}
@test "docker: the seed's example built (DOCKER_BUILDKIT=0), run with -p 127.0.0.1:PORT:8080, page fetched" {
  scenario_seed_run docker
}

# compose_up BUILDER: a compose project with a `build: .` service whose
# image is built by BUILDER (0: docker-compose's docker-py, 1: the docker
# CLI), brought up, its page fetched (also after a restart), brought down.
compose_up() {
  local cli_build=$1 d="$E2E_ROOT/compose-$1" port proj="bt$1$RANDOM" sub="10.217.$((NET_O + 1 + $1))"
  require_cmd docker-compose
  seed_context "$d" "compose-$cli_build"
  port=$(free_port)
  cat >"$d/docker-compose.yml" <<YML
version: "3.8"
services:
  web:
    build: .
    image: compose-web:$cli_build
    pull_policy: never
    ports: ["127.0.0.1:$port:8080"]
networks:
  default:
    ipam:
      config:
        - subnet: $sub.0/24
YML
  cd "$d" || return 1
  # -H reaches docker-compose's own client; the docker CLI it runs for
  # COMPOSE_DOCKER_CLI_BUILD=1 only gets DOCKER_HOST.
  export COMPOSE_DOCKER_CLI_BUILD=$cli_build DOCKER_BUILDKIT=0 COMPOSE_PROJECT_NAME=$proj
  export DOCKER_HOST="unix://$SOCK"
  PATH="$(dirname "$DOCKER_BIN"):$PATH"
  run timeout -k 5 120 docker-compose -H "unix://$SOCK" build
  assert_success
  assert_output_contains "Successfully tagged compose-web:$cli_build"
  run timeout -k 5 120 docker-compose -H "unix://$SOCK" up -d
  assert_success
  wait_until 20 "the compose page on 127.0.0.1:$port" page_is "$port" "$d/index.html"
  run docker_cmd network inspect --format '{{.Driver}} {{(index .IPAM.Config 0).Subnet}}' "${proj}_default"
  assert_output "bridge $sub.0/24"
  run docker_cmd inspect --format "{{(index .NetworkSettings.Networks \"${proj}_default\").IPAddress}}" "${proj}_web_1"
  [[ $output == "$sub".* ]] || _e2e_fail "the service's address is not in $sub.0/24"
  run timeout -k 5 120 docker-compose -H "unix://$SOCK" ps
  assert_success
  assert_output_contains "${proj}_web_1"
  assert_output_contains "Up"
  run timeout -k 5 60 docker-compose -H "unix://$SOCK" exec -T web cat /src/index.html
  assert_success
  [ "$output" = "$(cat "$d/index.html")" ] || _e2e_fail "exec: not the copied file"
  # a restarted service is published again
  run timeout -k 5 60 docker-compose -H "unix://$SOCK" restart
  assert_success
  wait_until 20 "the page again after restart" page_is "$port" "$d/index.html"
  run timeout -k 5 120 docker-compose -H "unix://$SOCK" down
  assert_success
  run docker_cmd ps -aq --filter "name=${proj}_"
  assert_output ""
  run docker_cmd network ls -q --filter "name=${proj}_default"
  assert_output ""
  rm -f "$d/docker-compose.yml"
}
@test "docker-compose: build (docker-py builder), up -d with a published port, page fetched, down" {
  compose_up 0
}
@test "docker-compose: build through the docker CLI (COMPOSE_DOCKER_CLI_BUILD=1), up, page, down" {
  compose_up 1
}

@test "docker-py: images.build, then containers.run with ports= and the page fetched" {
  local d="$E2E_ROOT/py-web" port
  seed_context "$d" docker-py
  port=$(free_port)
  run python3 - "$SOCK" "$d" "$port" <<'PY'
import sys, time, urllib.request, docker
sock, ctx, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = docker.DockerClient(base_url="unix://" + sock, version="1.41")
image, logs = client.images.build(path=ctx, tag="py-web:1")
assert "py-web:1" in image.tags, image.tags
c = client.containers.run("py-web:1", detach=True, name="py-web",
                          ports={"8080/tcp": ("127.0.0.1", port)})
try:
    c.reload()
    print("ports:", c.ports)
    want = open(ctx + "/index.html").read()
    deadline = time.time() + 20
    while True:
        try:
            got = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5).read().decode()
            break
        except OSError as e:
            if time.time() > deadline:
                raise SystemExit(f"no page: {e}")
            time.sleep(0.1)
    assert got == want, got
    print("page ok")
finally:
    c.remove(force=True)
PY
  assert_success
  assert_output_contains "page ok"
  assert_output_contains "'8080/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '$port'}]"
}

# nothing_left: the one mount left under the root is the daemon's own netns
# directory (dockerd keeps its too); no container process, no monitor.
nothing_left() {
  local m
  m=$(_e2e_mounts_under "$E2E_ROOT" | grep -vx "$E2E_ROOT/exec/netns" || true)
  [ -z "$m" ] || { echo "mounts: $m"; return 1; }
  [ -z "$(_e2e_cgroup_procs "$E2E_CGP")" ] || { echo "processes in $E2E_CGP"; return 1; }
  [ -z "$(_e2e_monitor_pids "$E2E_ROOT")" ] || { echo "monitors left"; return 1; }
}

@test "no leftovers: no container, user network, veth, netns file, monitor or container process" {
  remove_all_containers
  run docker_cmd network ls --format '{{.Name}}'
  assert_output $'bridge\nhost\nnone'
  wait_until 10 "the veths to go" eval "[ -z \"\$(ip -br link | grep '^$NET_VETH')\" ]"
  run find "$E2E_ROOT/exec/netns" -mindepth 1
  assert_output ""
  # the one mount left under the root is the daemon's own netns directory
  wait_until 10 "no mount but exec/netns, no process in $E2E_CGP, no monitor" nothing_left
  berthd_ping
}
