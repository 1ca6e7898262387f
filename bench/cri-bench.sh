#!/usr/bin/env bash
# Pod start latency over the CRI (issue 16 target), side by side with
# containerd's CRI plugin.
#
#   bench/cri-bench.sh [-n RUNS]
#
# Starts a private berthd (e2e harness: own roots, socket, cgroup parent) and
# a loopback registry holding busybox and a pause image (berth-pause in a
# one-file image), then measures, one pod at a time, RUNS times (default 20,
# after 2 warm-ups), the time of RunPodSandbox + CreateContainer +
# StartContainer of a one-container busybox pod (bench/cri_bench.py, gRPC):
#   - against berthd's CRI socket;
#   - against a private containerd (Debian's containerd 1.6, when installed:
#     own root, state, socket and config under a temp dir, CRI plugin with
#     that pause image as its sandbox image, pulls through a hosts.toml
#     pointing at the loopback registry), when `containerd` is on PATH;
# next to `berth run --rm --network none busybox true` through the berth
# CLI. Pods get the same CNI network in both engines: Debian's bridge +
# host-local plugins on a private bridge (cbb<hex>, 10.230.N.0/24, no
# gateway, no masquerade), removed at exit with everything else started
# here (processes by pid, shims, mounts, cgroups).
#
# Environment: BERTH_BIN_DIR (default build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
  esac
done

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=tests/e2e/registry_helpers.bash
source tests/e2e/registry_helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
BERTH="$BERTH_BIN_DIR/berth"
for b in berthd berth berth-monitor berth-cri.so berth-pause; do
  [ -e "$BERTH_BIN_DIR/$b" ] || { echo "bench: $BERTH_BIN_DIR/$b not built" >&2; exit 1; }
done
PY=/usr/bin/python3

D=$(mktemp -d /tmp/bcri.XXXXXX)
BR=$(printf 'cbb%x' $((RANDOM % 4096)))
NET_N=$((RANDOM % 200 + 8))
CG="/berth-bench-cri-$$"
ctd_pid=""
cleanup() {
  set +e
  if [ -n "$ctd_pid" ] && kill -0 "$ctd_pid" 2>/dev/null; then
    kill "$ctd_pid"
    for _ in $(seq 100); do kill -0 "$ctd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$ctd_pid" 2>/dev/null
  fi
  # containerd's shims (and their pods) started with our socket's address
  local f pid
  while IFS= read -r f; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    _e2e_is_cmd "$pid" containerd-shim && kill -9 "$pid" 2>/dev/null
  done < <(grep -lasF -- "$D/" /proc/[0-9]*/cmdline 2>/dev/null)
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
  grep -o " $D[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for f in /sys/fs/cgroup/*"$CG" /sys/fs/cgroup/*/"${CG#/}"; do
    [ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  ip link del "$BR" 2>/dev/null
  rm -rf --one-file-system "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the pods' network, the same for both engines
mkdir -p "$D/net.d" "$D/logs"
cat >"$D/net.d/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "bench", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$D/ipam", "ranges": [[{"subnet": "10.230.$NET_N.0/24"}]]}},
  {"type": "loopback"}]}
JSON

export E2E_BERTHD_ARGS="--cni-conf-dir $D/net.d --cni-bin-dir /usr/lib/cni"
e2e_setup_file
reg_start bench
REG=$REG_BENCH
b() { "$BERTH" -H "unix://$SOCK" "$@"; }

# images in the registry: busybox, and a pause image from berth-pause
b tag busybox:latest "$REG/busybox:latest"
b push -q "$REG/busybox:latest" >/dev/null
mkdir -p "$D/pause"
cp "$BERTH_BIN_DIR/berth-pause" "$D/pause/pause"
tar -C "$D/pause" -cf "$D/pause.tar" pause
b import -c 'ENTRYPOINT ["/pause"]' "$D/pause.tar" "$REG/pause:bench" >/dev/null
b push -q "$REG/pause:bench" >/dev/null

echo "berth run --rm --network none busybox true ($RUNS runs)"
run_stats=$(times_ms b run --rm --network none busybox true | stats)
echo "  median p10 p90 (ms): $run_stats"

cri_stats() {  # ENDPOINT: stats of the pod starts
  "$PY" bench/cri_bench.py --endpoint "$1" --image "$REG/busybox:latest" --runs "$RUNS" --pull \
    --cgroup-parent "$CG" --log-dir "$D/logs" | stats
}
echo "berthd CRI: RunPodSandbox + CreateContainer + StartContainer ($RUNS runs)"
berth_cri=$(cri_stats "unix://$E2E_ROOT/exec/cri.sock")
echo "  median p10 p90 (ms): $berth_cri"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "  pod start / berth run: $(ratio "${berth_cri%% *}" "${run_stats%% *}")x (target <= 3x)"

if command -v containerd >/dev/null; then
  mkdir -p "$D/ctd/certs.d/$REG"
  cat >"$D/ctd/certs.d/$REG/hosts.toml" <<TOML
server = "http://$REG"
[host."http://$REG"]
  capabilities = ["pull", "resolve"]
TOML
  cat >"$D/ctd/config.toml" <<TOML
version = 2
root = "$D/ctd/root"
state = "$D/ctd/state"
[grpc]
  address = "$D/ctd/containerd.sock"
[ttrpc]
  address = "$D/ctd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/ctd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$REG/pause:bench"
  # these machines refuse negative oom_score_adj values (containerd gives
  # sandboxes -998): clamp as berth does
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$D/ctd/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
TOML
  containerd --config "$D/ctd/config.toml" </dev/null >"$D/ctd/log" 2>&1 3>&- 4>&- &
  ctd_pid=$!
  for _ in $(seq 100); do [ -S "$D/ctd/containerd.sock" ] && break; sleep 0.1; done
  echo "containerd $(containerd --version | awk '{print $3}') CRI: the same pods ($RUNS runs)"
  ctd_cri=$(cri_stats "unix://$D/ctd/containerd.sock")
  echo "  median p10 p90 (ms): $ctd_cri"
  echo "  containerd / berthd: $(ratio "${ctd_cri%% *}" "${berth_cri%% *}")x (target >= 5x)"
else
  echo "containerd: not installed (apt-get install containerd), no side-by-side numbers"
fi
