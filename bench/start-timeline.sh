#!/usr/bin/env bash
# The start timeline of `berth run --rm busybox true`, phase by phase, next to
# the kernel floor measured in the same run (issue 17).
#
#   bench/start-timeline.sh [-n RUNS]        (default 50)
#   bench/with-dockerd.sh bench/start-timeline.sh [-n RUNS]   (+ dockerd side)
#
# 1. The kernel floor (bench/kernel_floor.c, same busybox rootfs on overlay,
#    see its header for what it includes and what not), RUNS times; and
#    with "full", every mount a container gets (the honest yardstick for
#    the same work; the plain floor is what no runtime can go below).
# 2. A private berthd (the e2e harness: own roots, socket, cgroup parent,
#    its own bridge and nftables table on 10.228.x.0/24) started with
#    BERTH_TRACE=1. For --network none and for the default bridge, RUNS
#    traced runs (BERTH_TRACE=FILE): per phase the median start offset
#    from the CLI's own start and the median duration. Then berthd
#    restarted without BERTH_TRACE (as it is run: a tracing berthd writes
#    and reads span files on the exit path) and RUNS untraced
#    `berth run --rm busybox true`: median, p10, p90 (the number the
#    targets are about).
# 3. `run --rm --network none busybox true` through the docker CLI against
#    that untraced berthd and, when DOCKERD_SOCK answers (bench/with-dockerd.sh starts a
#    private dockerd), against dockerd; the ratio (target >= 10x). Next to
#    them the docker CLI's own floor: the same command against
#    bench/instant_daemon.py, which answers every request at once and runs
#    nothing. What each daemon adds above that floor is its own share. The
#    three run by turns (one run of each per round), so a machine that
#    slows down for a while weighs on all three alike.
# 4. The docker CLI -> berthd timeline: berthd restarted with
#    BERTH_TRACE=FILE (it appends every span, the API server's per request
#    included), RUNS traced `docker run --rm --network none busybox true`,
#    each timed on the same clock by a small Python loop ("docker CLI,
#    spawn to exit": the CLI's whole process, Popen's fork and exec
#    included); per phase the median offset from that CLI's start.
#
# Environment: BERTH_BIN_DIR (default build/bin), DOCKER_BIN, DOCKERD_SOCK.
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 50 10 "$@"
BERTH="$BERTH_BIN_DIR/berth"
DOCKERD_SOCK=${DOCKERD_SOCK:-}
bench_need_bins

work=$(mktemp -d /tmp/btl.XXXXXX)
dockerd_image=""
instant_pid=""
cleanup() {
  [ -z "$instant_pid" ] || kill "$instant_pid" 2>/dev/null || true
  if [ -n "$dockerd_image" ]; then
    "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" rmi -f "$dockerd_image" >/dev/null 2>&1 || true
  fi
  [ -z "${E2E_ROOT:-}" ] || e2e_cleanup_root "$E2E_ROOT"
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. the kernel floor
kernel_floor_prepare "$work"
read -r f_med f_p10 f_p90 < <(kernel_floor_stats "$work" "berth-floor-$$")
read -r ff_med ff_p10 ff_p90 < <(kernel_floor_stats "$work" "berth-floorf-$$" full)

# 2. berthd with tracing on, a bridge of its own
BERTH_TRACE=1 e2e_net_setup_file tl 228 || { echo "bench: berthd did not start" >&2; exit 1; }
B=("$BERTH" -H "unix://$SOCK")

# phases FILE [CLIFILE]: "median start, median duration" per process/phase,
# in order of start. CLIFILE: spans of a client that records none itself
# (key ""), each put in the run whose spans start within it.
phases() {
  python3 - "$@" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.strip():
        s = json.loads(line)
        runs.setdefault(s["k"], []).append(s)
if len(sys.argv) > 2:
    for line in open(sys.argv[2]):
        if line.strip():
            c = json.loads(line)
            for spans in runs.values():
                if c["s"] <= min(s["s"] for s in spans) <= c["e"]:
                    spans.append(c)
                    break
acc = {}
for spans in runs.values():
    t0 = min(s["s"] for s in spans)
    for s in spans:
        acc.setdefault((s["p"], s["n"]), []).append(((s["s"] - t0) / 1e6, (s["e"] - s["s"]) / 1e6))
rows = sorted(((statistics.median(a for a, _ in v), statistics.median(d for _, d in v), len(v), p, n)
               for (p, n), v in acc.items()))
print(f"  {'PROCESS':<8} {'PHASE':<40} {'START':>8} {'DUR':>8}  (ms, medians of {len(runs)} runs)")
for st, d, cnt, p, n in rows:
    print(f"  {p:<8} {n:<40} {st:8.3f} {d:8.3f}" + ("" if cnt == len(runs) else f"  ({cnt} runs)"))
EOF
}

for mode in none bridge; do
  net=()
  [ "$mode" = none ] && net=(--network none)
  for ((i = 0; i < RUNS; i++)); do
    BERTH_TRACE="$work/$mode.jsonl" "${B[@]}" run --rm "${net[@]}" busybox true >/dev/null
  done
done

# The wall times against berthd as it is run, without BERTH_TRACE: a
# tracing berthd records every request's spans, and its monitors write
# their spans to a file that berthd reads at the exit, both on the path
# being timed (the timelines above and below say what tracing costs).
_e2e_stop_pid "$(berthd_pid)" berthd
berthd_start || { echo "bench: berthd did not restart" >&2; exit 1; }
declare -A med p10 p90
for mode in none bridge; do
  net=()
  [ "$mode" = none ] && net=(--network none)
  read -r "med[$mode]" "p10[$mode]" "p90[$mode]" < <(times_ms "${B[@]}" run --rm "${net[@]}" busybox true | stats)
done

# 3. the docker CLI's floor, docker CLI -> berthd, and -> dockerd when one answers
/usr/bin/python3 bench/instant_daemon.py "$work/instant.sock" &
instant_pid=$!
for _ in $(seq 50); do [ -S "$work/instant.sock" ] && break; sleep 0.05; done
# The three run by turns, one run each per round (times_ms_interleaved).
have_dockerd=0
cmds=("$DOCKER_BIN -H unix://$work/instant.sock run --rm --network none busybox true"
      "$DOCKER_BIN -H unix://$SOCK run --rm --network none busybox true")
if [ -n "$DOCKERD_SOCK" ] && [ "$(curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping 2>/dev/null)" = OK ]; then
  have_dockerd=1
  dockerd_image="berth-bench-busybox:$$"
  "$DOCKER_BIN" -H "unix://$DOCKERD_SOCK" import -c 'CMD ["sh"]' "$work/busybox.tar" "$dockerd_image" >/dev/null
  cmds+=("$DOCKER_BIN -H unix://$DOCKERD_SOCK run --rm --network none $dockerd_image true")
fi
times_ms_interleaved "$work" "${cmds[@]}" || exit 1
kill "$instant_pid"; wait "$instant_pid" 2>/dev/null || true; instant_pid=""
read -r i_med i_p10 i_p90 < <(stats <"$work/0.ms")
read -r d_med d_p10 d_p90 < <(stats <"$work/1.ms")
[ "$have_dockerd" = 0 ] || read -r k_med k_p10 k_p90 < <(stats <"$work/2.ms")

echo
printf '%-52s %8s %8s %8s\n' "wall time, ms (N=$RUNS)" median p10 p90
printf '%-52s %8s %8s %8s\n' "kernel floor (bench/kernel_floor.c)" "$f_med" "$f_p10" "$f_p90"
printf '%-52s %8s %8s %8s\n' "kernel floor, a container's full mount list" "$ff_med" "$ff_p10" "$ff_p90"
printf '%-52s %8s %8s %8s\n' "berth run --rm --network none busybox true" "${med[none]}" "${p10[none]}" "${p90[none]}"
printf '%-52s %8s %8s %8s\n' "berth run --rm busybox true (default bridge)" "${med[bridge]}" "${p10[bridge]}" "${p90[bridge]}"
printf '%-52s %8s %8s %8s\n' "docker CLI floor (instant_daemon.py), --network none" "$i_med" "$i_p10" "$i_p90"
printf '%-52s %8s %8s %8s\n' "docker CLI -> berthd, --network none" "$d_med" "$d_p10" "$d_p90"
[ "$have_dockerd" = 0 ] || printf '%-52s %8s %8s %8s\n' "docker CLI -> dockerd, --network none" "$k_med" "$k_p10" "$k_p90"
awk -v n="${med[none]}" -v b="${med[bridge]}" -v f="$f_med" 'BEGIN {
  printf "berth / floor: %.2fx (none, target <= 1.3x), %.2fx (bridge)\n", n / f, b / f }'
[ "$have_dockerd" = 0 ] || awk -v k="$k_med" -v d="$d_med" -v i="$i_med" 'BEGIN {
  printf "docker CLI: berthd %.1fx faster than dockerd (target >= 10x); a daemon that took no time would be %.1fx\n", k / d, k / i
  if (d > i) printf "above the docker CLI floor: berthd +%.1f ms, dockerd +%.1f ms (%.0fx)\n", d - i, k - i, (k - i) / (d - i)
  else printf "above the docker CLI floor: berthd +%.1f ms (within noise), dockerd +%.1f ms\n", d - i, k - i }'
for mode in none bridge; do
  echo
  echo "timeline, --network $mode (traced runs):"
  phases "$work/$mode.jsonl"
done

# 4. the docker CLI -> berthd timeline: berthd again, appending its spans to a file
_e2e_stop_pid "$(berthd_pid)" berthd
BERTH_TRACE="$work/docker.jsonl" berthd_start || { echo "bench: berthd did not restart" >&2; exit 1; }
for _ in 1 2; do "$DOCKER_BIN" -H "unix://$SOCK" run --rm --network none busybox true >/dev/null; done
: >"$work/docker.jsonl"
/usr/bin/python3 - "$RUNS" "$work/docker-cli.jsonl" "$DOCKER_BIN" -H "unix://$SOCK" run --rm --network none busybox true <<'EOF'
import json, subprocess, sys, time
runs, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(out, "w") as f:
    for _ in range(runs):
        s = time.monotonic_ns()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        e = time.monotonic_ns()
        f.write(json.dumps({"k": "", "p": "docker", "n": "docker CLI, spawn to exit", "s": s, "e": e}) + "\n")
EOF
echo
echo "timeline, docker CLI -> berthd, --network none (traced runs; the docker CLI records nothing itself):"
phases "$work/docker.jsonl" "$work/docker-cli.jsonl"
# berthd's share per run, from its spans: what the CLI waits for (each
# request's first byte to its head; from the start request to the wait
# answer: the start, the container's run, the exit path) and the exit path
# alone (the monitor's Exit sent to the wait answer written, tracing's own
# reading of the monitor's spans left out).
python3 - "$work/docker.jsonl" "$work/docker-cli.jsonl" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.strip():
        s = json.loads(line)
        runs.setdefault(s["k"], {}).setdefault((s["p"], s["n"]), s)
clis = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
share, exitp, tail = [], [], []
heads = ["api: HEAD /_ping", "api: POST /containers/create", "api: POST /containers/{id}/attach",
         "api: POST /containers/{id}/wait"]
for by in runs.values():
    g = lambda n, p="berthd": by.get((p, n))
    st, wa, ex, tr = g("api: POST /containers/{id}/start"), g("wait answer"), g("exit: reap to Exit", "monitor"), \
        g("exit: monitor trace read (tracing only)")
    if not (st and wa and all(g(n) for n in heads)):
        continue
    share.append((sum(g(n)["e"] - g(n)["s"] for n in heads) + wa["e"] - st["s"]) / 1e6)
    if ex and tr:
        exitp.append((wa["e"] - ex["e"] - (tr["e"] - tr["s"])) / 1e6)
    for c in clis:
        if c["s"] <= st["s"] <= c["e"]:
            tail.append((c["e"] - wa["e"]) / 1e6)
for name, v in [("berthd on the docker CLI's critical path", share),
                ("exit path: Exit sent -> wait answer (tracing's read left out)", exitp),
                ("wait answer -> docker CLI exit", tail)]:
    if v:
        print(f"  {name:<64} {statistics.median(v):8.3f}  ({len(v)} runs)")
EOF
