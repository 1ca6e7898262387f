#!/usr/bin/env bash
# The kernel's floor for a container start, next to berth's `run --rm`.
#
#   bench/kernel-floor.sh [-n RUNS]
#
# Builds bench/kernel_floor.c (cc -O2) into a temp dir, extracts the busybox
# rootfs there, and runs it RUNS times (default 30): cgroups, overlay, six
# namespaces, /proc, /dev, pivot_root, exec of /bin/true, wait, cleanup (see
# the program's header). Then, against a private berthd (the e2e harness:
# own roots, socket, cgroup parent), `berth run --rm busybox true` with
# `--network none`, and the same through the docker CLI. Prints each
# median, p10 and p90, and berth's ratio to the floor (issue 17's target:
# within 1.3x).
#
# What the floor includes, so it is an honest yardstick: the same static
# busybox rootfs (/bin/true is busybox-static, as in the container) on
# overlay with a fresh upper and work dir, the cgroups, six namespaces,
# /proc, a /dev tmpfs with its nodes, pivot_root, exec and wait, and the
# cleanup; not the rest of a container's mounts, seccomp, capabilities or
# networking. `kernel_floor ... full` adds every mount a container gets
# (devpts, shm, mqueue, sysfs, the three /etc binds, masked and read-only
# paths, lo up): bench/start-timeline.sh prints both, and its timeline
# shows berth's costs on top phase by phase.
#
# Environment: BERTH_BIN_DIR (default build/bin), DOCKER_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 30 10 "$@"
BERTH="$BERTH_BIN_DIR/berth"
bench_need_bins

floor_dir=$(mktemp -d /tmp/kfloor.XXXXXX)
cleanup() {
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
  rm -rf --one-file-system "$floor_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kernel_floor_prepare "$floor_dir"
read -r f_med f_p10 f_p90 < <(kernel_floor_stats "$floor_dir" "berth-floor-$$")

e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
read -r b_med b_p10 b_p90 < <(times_ms "$BERTH" -H "unix://$SOCK" run --rm --network none busybox true | stats)
read -r d_med d_p10 d_p90 < <(times_ms "$DOCKER_BIN" -H "unix://$SOCK" run --rm --network none busybox true | stats)

printf '%-44s %8s %8s %8s\n' "" median p10 p90
printf '%-44s %8s %8s %8s\n' "kernel floor (bench/kernel_floor.c)" "$f_med" "$f_p10" "$f_p90"
printf '%-44s %8s %8s %8s\n' "berth run --rm --network none busybox true" "$b_med" "$b_p10" "$b_p90"
printf '%-44s %8s %8s %8s\n' "docker CLI -> berthd, the same" "$d_med" "$d_p10" "$d_p90"
awk -v b="$b_med" -v f="$f_med" 'BEGIN { printf "berth / floor: %.2fx (target <= 1.3x)\n", b / f }'
