#!/bin/bash
# The docker-py suite (tests/py/test_*.py, pytest) against one isolated
# berthd started by the e2e harness (tests/e2e/helpers.bash: own data and
# exec roots, socket, cgroup parent, --bridge=none --iptables=false) and a
# loopback registry (Debian's docker-registry, tests/e2e/registry_helpers.bash).
# Everything is removed afterwards by e2e_cleanup_root, also on failure.
#
#   tests/py/run.sh [PYTEST ARGS...]
# Environment: BERTH_BIN_DIR, BERTH_E2E_TMP, BERTH_E2E_CACHE as for bats.
set -uo pipefail
PY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/helpers.bash
source "$PY_DIR/../e2e/helpers.bash"
# shellcheck source=../e2e/registry_helpers.bash
source "$PY_DIR/../e2e/registry_helpers.bash"

/usr/bin/python3 -c "import pytest" 2>/dev/null || { echo "MISSING: python3-pytest (Debian package)" >&2; exit 1; }
/usr/bin/python3 -c "import docker" 2>/dev/null || { echo "MISSING: python3-docker" >&2; exit 1; }
e2e_setup_file || exit 1
trap 'e2e_cleanup_root "$E2E_ROOT"' EXIT
trap 'exit 130' INT TERM
reg_start py || exit 1

export BERTH_PY_SOCK="$SOCK" BERTH_PY_ROOT="$E2E_ROOT" BERTH_PY_REGISTRY="$REG_PY"
cd "$PY_DIR" || exit 1
timeout -k 10 300 /usr/bin/python3 -m pytest -p no:cacheprovider -W ignore::DeprecationWarning -q -rfE "$@"
