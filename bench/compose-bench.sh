#!/usr/bin/env bash
# docker-compose 1.29 `up -d` of the tests/e2e/compose.bats project (a db
# service with a healthcheck that web depends_on with condition:
# service_healthy, a built web service with a published port on 127.0.0.1,
# a worker, a user network, a named volume) from images already built:
# each run is `up -d` after `down` (containers, network and volume made
# anew; the image stays). Target: <= 1 s median. Prints median/p10/p90.
#
#   bench/compose-bench.sh [-n RUNS]     (default 5)
#
# Private berthd through the e2e harness with its own bridge, nft table and
# veth prefix (10.220.x.0/24 subnets); all torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
  esac
done
command -v docker-compose >/dev/null || { echo "bench: docker-compose not installed" >&2; exit 1; }
export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
PROJ="cb$RANDOM"
D=""
cleanup() {
  if [ -n "$D" ] && [ -f "$D/docker-compose.yml" ]; then
    (cd "$D" && dc down -v --rmi local >/dev/null 2>&1) || true
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
dc() { timeout -k 5 120 docker-compose -H "unix://$SOCK" -p "$PROJ" "$@"; }

e2e_net_setup_file cb 220 >/dev/null || { echo "bench: berthd did not start" >&2; exit 1; }
export DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0
D="$E2E_ROOT/proj"
mkdir -p "$D/web"
echo "compose page" >"$D/web/index.html"
printf 'FROM busybox\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n' >"$D/web/Dockerfile"
printf 'GREETING=hi\n' >"$D/web.env"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$D/docker-compose.yml" <<YML
version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-e", "/tmp/ready"], interval: 100ms, timeout: 2s, retries: 30}
    volumes: ["data:/data"]
    networks: [back]
    restart: unless-stopped
  web:
    build: ./web
    env_file: web.env
    ports: ["127.0.0.1:$port:8080"]
    depends_on: {db: {condition: service_healthy}}
    networks: [back]
  worker: {image: busybox, command: ["sleep", "600"], networks: [back]}
networks:
  back: {ipam: {config: [{subnet: "10.220.$((NET_O + 2)).0/24"}]}}
volumes:
  data: {}
YML
cd "$D"
dc build >/dev/null
for ((i = 0; i < RUNS; i++)); do
  dc down -v -t 0 >/dev/null 2>&1
  s=$EPOCHREALTIME
  dc up -d >/dev/null 2>&1
  e=$EPOCHREALTIME
  echo "${s/./} ${e/./}"
done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }' >"$E2E_ROOT/times"
read -r med p10 p90 < <(stats <"$E2E_ROOT/times")
printf '\n%-48s %9s %9s %9s\n' "compose (ms, N=$RUNS)" median p10 p90
printf '%-48s %9s %9s %9s\n' "docker-compose up -d (3 services, built image)" "$med" "$p10" "$p90"
