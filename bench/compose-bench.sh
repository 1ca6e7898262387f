#!/usr/bin/env bash
# docker-compose 1.29 `up -d` of the tests/e2e/compose.bats project (a db
# service with a healthcheck that web depends_on with condition:
# service_healthy, a built web service with a published port on 127.0.0.1,
# a worker, a user network, a named volume) from images already built:
# each run is `up -d` after `down` (containers, network and volume made
# anew; the image stays). Target: <= 1 s median. Prints median/p10/p90,
# and the same project against dockerd with the ratio.
#
#   bench/compose-bench.sh [-n RUNS]     (default 5)
#
# Private berthd through the e2e harness with its own bridge, nft table and
# veth prefix (10.220.x.0/24 subnets); all torn down on exit. When dockerd
# is installed (Debian's docker.io) and DOCKERD_SOCK is not set, the script
# runs itself again under bench/with-dockerd.sh, which starts a private
# dockerd (own data-root, exec-root, socket, pidfile; --bridge=none
# --iptables=false --ip-forward=false) and stops it by pid afterwards. There
# the busybox rootfs is imported as busybox:latest (nothing is pulled) and
# the project's network uses 10.227.2.0/24. BENCH_NO_DOCKERD=1: berth only.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
  esac
done
command -v docker-compose >/dev/null || { echo "bench: docker-compose not installed" >&2; exit 1; }
if [ -z "${DOCKERD_SOCK:-}" ] && [ -z "${BENCH_NO_DOCKERD:-}" ] && command -v dockerd >/dev/null; then
  exec bench/with-dockerd.sh "$0" -n "$RUNS"
fi
export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
PROJ="cb$RANDOM"
DOCKER_BIN=${DOCKER_BIN:-/usr/local/bin/docker}
D="" DK_D="" DK_SOCK=""
cleanup() {
  set +e
  if [ -n "$D" ] && [ -f "$D/docker-compose.yml" ]; then
    (cd "$D" && dc "$SOCK" down -v --rmi local >/dev/null 2>&1)
  fi
  if [ -n "$DK_D" ] && [ -f "$DK_D/docker-compose.yml" ]; then
    (cd "$DK_D" && dc "$DK_SOCK" down -v --rmi local >/dev/null 2>&1)
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# dc SOCK ARGS...: docker-compose against the engine on SOCK
# (DOCKER_HOST too: compose 1.29 builds through the docker CLI)
dc() { local s=$1; shift; DOCKER_HOST="unix://$s" timeout -k 5 120 docker-compose -H "unix://$s" -p "$PROJ" "$@"; }

# make_project DIR SUBNET: the compose project, its web image's context and env file
make_project() {
  local d=$1 subnet=$2 port
  mkdir -p "$d/web"
  echo "compose page" >"$d/web/index.html"
  printf 'FROM busybox\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n' >"$d/web/Dockerfile"
  printf 'GREETING=hi\n' >"$d/web.env"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$d/docker-compose.yml" <<YML
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
  back: {ipam: {config: [{subnet: "$subnet"}]}}
volumes:
  data: {}
YML
}

# measure SOCK DIR: build once, then RUNS times `down` + timed `up -d`;
# prints "median p10 p90" in ms.
measure() {
  local sock=$1 d=$2 i s e
  (cd "$d" && dc "$sock" build >/dev/null)
  for ((i = 0; i < RUNS; i++)); do
    (cd "$d" && dc "$sock" down -v -t 0 >/dev/null 2>&1)
    s=$EPOCHREALTIME
    (cd "$d" && dc "$sock" up -d >/dev/null 2>&1) || { echo "bench: up -d failed on $sock" >&2; return 1; }
    e=$EPOCHREALTIME
    echo "${s/./} ${e/./}"
  done | awk '{ printf "%.2f\n", ($2 - $1) / 1000 }' | stats
}

e2e_net_setup_file cb 220 >/dev/null || { echo "bench: berthd did not start" >&2; exit 1; }
export DOCKER_BUILDKIT=0
D="$E2E_ROOT/proj"
make_project "$D" "10.220.$((NET_O + 2)).0/24"
r=$(measure "$SOCK" "$D") || exit 1
read -r med p10 p90 <<<"$r"
(cd "$D" && dc "$SOCK" down -v -t 0 >/dev/null 2>&1)

printf '\n%-48s %9s %9s %9s\n' "compose (ms, N=$RUNS)" median p10 p90
printf '%-48s %9s %9s %9s\n' "berthd: docker-compose up -d (3 services)" "$med" "$p10" "$p90"
if [ -n "${DOCKERD_SOCK:-}" ] && [ "$(curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping 2>/dev/null)" = OK ]; then
  DK_SOCK=$DOCKERD_SOCK
  "$DOCKER_BIN" -H "unix://$DK_SOCK" import -c 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
  DK_D="$E2E_ROOT/proj-dockerd"
  make_project "$DK_D" "10.227.2.0/24"
  r=$(measure "$DK_SOCK" "$DK_D") || exit 1
  read -r k_med k_p10 k_p90 <<<"$r"
  (cd "$DK_D" && dc "$DK_SOCK" down -v -t 0 --rmi local >/dev/null 2>&1)
  printf '%-48s %9s %9s %9s\n' "dockerd: docker-compose up -d (3 services)" "$k_med" "$k_p10" "$k_p90"
  awk -v b="$med" -v k="$k_med" 'BEGIN { if (b > 0) printf "%-48s %9.1fx\n", "dockerd / berthd (median)", k / b }'
else
  echo "no dockerd (install docker.io, or set DOCKERD_SOCK): the Docker side was not measured"
fi
