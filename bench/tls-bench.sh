#!/usr/bin/env bash
# The cost of TLS on berthd's TCP listener (docs/security.md, targets of
# issue 14).
#
#   bench/tls-bench.sh [-n RUNS] [-c CONNECTIONS]
#
# Starts a private berthd (the e2e harness: own temp root, socket,
# data-root, exec-root, cgroup parent, --bridge=none) that also listens on
# tcp://127.0.0.1:PORT with --tlsverify and openssl-made ECDSA P-256
# certificates, then measures:
#   - `berth version` through the berth CLI with --tlsverify (TCP connect,
#     TLS handshake with client certificate, GET /version): median, p10,
#     p90 of RUNS runs (default 50) after 2 warm-ups; the same over the
#     unix socket and through the docker CLI over TLS, for scale.
#     Target: median <= 15 ms.
#   - berthd's RSS before and after CONNECTIONS (default 100) TLS
#     connections that complete the handshake (client certificate checked)
#     and then stay idle, opened by one python3 process (all handshakes done
#     when it prints "ready"); RSS is read 4 s after they are all up (an
#     idle connection is parked without a thread after 50 ms, and berthd's
#     idle housekeeping trims after the burst). Target: <= 5 MB for 100.
# Everything it started is torn down on exit.
#
# Environment: BERTH_BIN_DIR (default build/bin), DOCKER_BIN (default
# /usr/local/bin/docker).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=50
CONNS=100
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS] [-c CONNECTIONS]" >&2; exit 2 ;;
  esac
done

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
BERTH="$BERTH_BIN_DIR/berth"
for b in berthd berth berth-monitor; do
  [ -x "$BERTH_BIN_DIR/$b" ] || { echo "bench: $BERTH_BIN_DIR/$b not built" >&2; exit 1; }
done

CERTS=$(mktemp -d /tmp/bt-tlsbench.XXXXXX)
holder=""
cleanup() {
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
  rm -rf "$CERTS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

e2e_make_tls_certs "$CERTS" || { echo "bench: openssl could not make the certificates" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export E2E_BERTHD_ARGS="-H tcp://127.0.0.1:$PORT --tlsverify --tlscacert $CERTS/ca.pem --tlscert $CERTS/server-cert.pem --tlskey $CERTS/server-key.pem"

echo "bench: private berthd from $BERTH_BIN_DIR with TLS on 127.0.0.1:$PORT, $RUNS runs, $CONNS connections" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
pid=$(berthd_pid)
tls=(--tlsverify --tlscacert "$CERTS/ca.pem" --tlscert "$CERTS/cert.pem" --tlskey "$CERTS/key.pem" -H "tcp://127.0.0.1:$PORT")

# cpu_ms CMD...: the CPU time (user + system) of each of RUNS runs of CMD,
# in ms: what the command costs whatever else the machine runs.
cpu_ms() {
  python3 - "$RUNS" "$@" <<'EOF'
import os, sys
n, cmd = int(sys.argv[1]), sys.argv[2:]
for i in range(n):
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, st, ru = os.wait4(pid, 0)
    if st != 0: sys.exit("bench: %s failed" % cmd)
    print("%.2f" % ((ru.ru_utime + ru.ru_stime) * 1000))
EOF
}
# berthd's CPU time in ms (utime + stime, clock ticks)
daemon_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

read -r t_med t_p10 t_p90 < <(times_ms "$BERTH" "${tls[@]}" version | stats)
c0=$(daemon_cpu_ms "$pid")
read -r tc_med tc_p10 tc_p90 < <(cpu_ms "$BERTH" "${tls[@]}" version | stats)
c1=$(daemon_cpu_ms "$pid")
read -r uc_med uc_p10 uc_p90 < <(cpu_ms "$BERTH" -H "unix://$SOCK" version | stats)
read -r u_med u_p10 u_p90 < <(times_ms "$BERTH" -H "unix://$SOCK" version | stats)
read -r d_med d_p10 d_p90 < <(times_ms "$DOCKER_BIN" "${tls[@]}" version | stats)

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
sleep 3   # berthd trims start-up pages after 2 s without requests
rss0=$(rss_kb "$pid")
anon0=$(anon_kb "$pid")
th0=$(threads "$pid")
fifo="$CERTS/hold"
mkfifo "$fifo"
cat >"$CERTS/hold.py" <<'EOF'
import socket, ssl, sys
port, d, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=d + "/ca.pem")
ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    conns.append(ctx.wrap_socket(s, server_hostname="127.0.0.1"))
print("ready", flush=True)
sys.stdin.read()  # idle until the bench closes the fifo
EOF
python3 "$CERTS/hold.py" "$PORT" "$CERTS" "$CONNS" <"$fifo" >"$CERTS/holder.out" 2>&1 &
holder=$!
exec 9>"$fifo"
end=$((SECONDS + 60))
until grep -q ready "$CERTS/holder.out" 2>/dev/null; do
  kill -0 "$holder" 2>/dev/null || { echo "bench: the connection holder failed: $(cat "$CERTS/holder.out")" >&2; exit 1; }
  [ "$SECONDS" -lt "$end" ] || { echo "bench: $CONNS connections not up within 60 s" >&2; exit 1; }
  sleep 0.1
done
sleep 4   # berthd's idle housekeeping runs 2-3 s after the last handshake
rss1=$(rss_kb "$pid")
anon1=$(anon_kb "$pid")
th1=$(threads "$pid")
exec 9>&-
wait "$holder" 2>/dev/null || true
holder=""

printf '%-44s %8s %8s %8s\n' "" median p10 p90
printf '%-44s %8s %8s %8s\n' "berth version, TLS (tcp, client cert) ms" "$t_med" "$t_p10" "$t_p90"
printf '%-44s %8s %8s %8s\n' "berth version, unix socket ms" "$u_med" "$u_p10" "$u_p90"
printf '%-44s %8s %8s %8s\n' "docker version, TLS ms" "$d_med" "$d_p10" "$d_p90"
printf '%-44s %8s %8s %8s\n' "berth version, TLS: CLI CPU time ms" "$tc_med" "$tc_p10" "$tc_p90"
printf '%-44s %8s %8s %8s\n' "berth version, unix: CLI CPU time ms" "$uc_med" "$uc_p10" "$uc_p90"
awk -v a="$c0" -v b="$c1" -v n="$RUNS" 'BEGIN { printf "%-44s %8.1f\n", "berthd CPU per TLS version ms (mean)", (b - a) / n }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo
awk -v a="$rss0" -v b="$rss1" -v n="$CONNS" -v t0="$th0" -v t1="$th1" -v a0="$anon0" -v a1="$anon1" 'BEGIN {
  printf "berthd RSS idle %.1f MB; with %d idle TLS connections %.1f MB (threads %d -> %d)\n", a / 1024, n, b / 1024, t0, t1
  printf "cost of %d idle TLS connections: %.2f MB (%.1f kB each; anonymous %.2f MB, the rest shared library pages); target <= 5 MB\n", n, (b - a) / 1024, (b - a) / n, (a1 - a0) / 1024 }'
awk -v m="$t_med" 'BEGIN { printf "TLS handshake + version median %.1f ms; target <= 15 ms\n", m }'
