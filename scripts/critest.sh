#!/usr/bin/env bash
# critest.sh: run critest (cri-tools v1.32.0, the CRI validation suite)
# against a private berthd, offline. Issue 16's acceptance "by hand"; never
# run by CI (the toolchain comes from the network: docs/testing.md).
#
#   scripts/critest.sh [-p N] [-f FOCUS] [-s SKIP] [-- CRITEST ARGS...]
#
#   -p N      ginkgo parallel nodes (default 1; N > 1 uses the ginkgo binary
#             scripts/critest-build.sh put beside critest)
#   -f REGEX  only the specs matching REGEX (-ginkgo.focus)
#   -s REGEX  skip these specs too (added to the default skips)
#
# Always skipped: AppArmor (this kernel has no AppArmor) and "public image
# with digest should be pulled and removed" (it pins upstream's digest,
# which an offline image cannot have).
#
# Prerequisites: scripts/critest-setup.sh, scripts/critest-build.sh, a built
# tree (build/bin: berthd, berth, berth-monitor, berth-cri.so, berth-pause).
# The environment (registry, mirrors, CNI, berthd) is scripts/critest-lib.sh;
# everything is removed at exit, also on failure or Ctrl-C.
#
# Output: the counts (all specs and [Conformance]) and the failed specs by
# area on stdout; critest's own output, its JSON report, berthd's log and the
# summary in $CRITEST_OUT (default /work/critest-out/<UTC time>).
# Exit status: 0 when no spec failed, 1 otherwise.
set -euo pipefail

parallel=1 focus="" extra_skip=""
while getopts 'p:f:s:h' o; do
  case $o in
    p) parallel=$OPTARG ;;
    f) focus=$OPTARG ;;
    s) extra_skip=$OPTARG ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift

# shellcheck source=critest-lib.sh
source "$(dirname "$0")/critest-lib.sh"
[ -x "$CRITEST_BIN/critest" ] || crit_die "$CRITEST_BIN/critest missing: scripts/critest-build.sh"

skip='AppArmor|public image with digest should be pulled and removed'
[ -z "$extra_skip" ] || skip="$skip|$extra_skip"
out=${CRITEST_OUT:-/work/critest-out/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

crit_env_up

args=(-runtime-endpoint "$CRI_EP" -image-endpoint "$CRI_EP"
      -ginkgo.skip "$skip" -ginkgo.no-color -ginkgo.json-report "$out/critest.json"
      -ginkgo.timeout 2h)
[ -z "$focus" ] || args+=(-ginkgo.focus "$focus")
# -parallel only when > 1: ginkgo refuses a run whose command line has
# go test's -parallel flag, even at 1.
[ "$parallel" -le 1 ] || args+=(-parallel "$parallel")
crit_log "critest ${args[*]} $* (output in $out/critest.log)"
start=$SECONDS
# In berthd's IPC namespace (the HostIpc specs run ipcmk on "the host");
# TMPDIR under the root (critest's pod log directories).
set +e
TMPDIR=$E2E_ROOT/tmp PATH=$CRITEST_BIN:$PATH \
  nsenter --ipc="/proc/$BERTHD_PID/ns/ipc" -- "$CRITEST_BIN/critest" "${args[@]}" "$@" >"$out/critest.log" 2>&1
crit_rc=$?
set -e
crit_log "critest exited $crit_rc after $((SECONDS - start)) s"
cp "$E2E_ROOT/berthd.log" "$out/berthd.log" 2>/dev/null || true

summary_rc=0
if [ -s "$out/critest.json" ]; then
  python3 "$CRIT_REPO/scripts/critest-summary.py" "$out/critest.json" | tee "$out/summary.txt" || summary_rc=$?
else
  echo "critest wrote no JSON report; the tail of its output:" | tee "$out/summary.txt"
  tail -n 40 "$out/critest.log" | tee -a "$out/summary.txt"
  summary_rc=1
fi
echo "critest wall time: $((SECONDS - start)) s; logs in $out"
[ "$crit_rc" -eq 0 ] && [ "$summary_rc" -eq 0 ]
