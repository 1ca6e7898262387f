#!/bin/bash
# The CRI suite (tests/cri/test_*.py, pytest with python3-grpcio) against one
# isolated berthd started by the e2e harness (tests/e2e/helpers.bash: own
# data and exec roots, socket, cgroup parent, --bridge=none
# --iptables=false), whose CRI socket is <exec-root>/cri.sock, and a
# loopback registry (tests/e2e/registry_helpers.bash). The CNI config dir is
# the harness root's cni/ (empty unless a test writes one). Everything is
# removed afterwards by e2e_cleanup_root, also on failure.
#
#   tests/cri/run.sh [PYTEST ARGS...]
# Environment: BERTH_BIN_DIR, BERTH_E2E_TMP, BERTH_E2E_CACHE as for bats.
set -uo pipefail
CRI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/helpers.bash
source "$CRI_DIR/../e2e/helpers.bash"
# shellcheck source=../e2e/registry_helpers.bash
source "$CRI_DIR/../e2e/registry_helpers.bash"

for m in pytest grpc grpc_tools; do
  /usr/bin/python3 -c "import $m" 2>/dev/null || { echo "MISSING: python module $m (python3-pytest, python3-grpcio, python3-grpc-tools)" >&2; exit 1; }
done
[ -f "$BERTH_BIN_DIR/berth-cri.so" ] || { echo "berth-cri.so not built in $BERTH_BIN_DIR" >&2; exit 1; }
CRI_TMP_CNI=$(mktemp -d "${BERTH_E2E_TMP:-/tmp}/cni.XXXXXX")
# Registry mirrors (docs/registry-hosts.md): empty; a test writes the
# hosts.toml it needs (read at every pull).
# CNI plugins: a bin dir of the suite's own (a test may put a fake plugin
# there) before Debian's.
export E2E_BERTHD_ARGS="${E2E_BERTHD_ARGS:-} --cni-conf-dir $CRI_TMP_CNI/net.d --registry-hosts-dir $CRI_TMP_CNI/certs.d
  --cni-bin-dir $CRI_TMP_CNI/bin --cni-bin-dir /usr/lib/cni"
mkdir -p "$CRI_TMP_CNI/net.d" "$CRI_TMP_CNI/certs.d" "$CRI_TMP_CNI/bin"
e2e_setup_file || exit 1
trap 'e2e_cleanup_root "$E2E_ROOT"; rm -rf "$CRI_TMP_CNI"' EXIT
trap 'exit 130' INT TERM
reg_start cri || exit 1

export BERTH_CRI_SOCK="$E2E_ROOT/exec/cri.sock" BERTH_CRI_DOCKER_SOCK="$SOCK" BERTH_CRI_ROOT="$E2E_ROOT" \
  BERTH_CRI_REGISTRY="$REG_CRI" BERTH_CRI_CNI_DIR="$CRI_TMP_CNI/net.d" BERTH_CRI_HOSTS_DIR="$CRI_TMP_CNI/certs.d" \
  BERTH_CRI_CNI_BIN="$CRI_TMP_CNI/bin" \
  BERTH_BIN_DIR
cd "$CRI_DIR" || exit 1
timeout -k 10 300 /usr/bin/python3 -m pytest -p no:cacheprovider -W ignore::DeprecationWarning -q -rfE "$@"
