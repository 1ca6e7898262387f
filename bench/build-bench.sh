#!/usr/bin/env bash
# Build (issue 13) against a private berthd:
#   - a fully cached rebuild of the seed-shaped 8-step Dockerfile (FROM,
#     LABEL, RUN, COPY, WORKDIR, RUN, EXPOSE, ENTRYPOINT), through the docker
#     CLI (DOCKER_BUILDKIT=0, the classic builder) and berth's CLI;
#   - a cold build (--no-cache) of FROM busybox + 5 RUNs, both CLIs;
#   - a 100 MB context: `berth build` of FROM busybox + LABEL (cached, so
#     the time is sending + extracting the context) against the floor of
#     reading the same directory from disk and writing it once
#     (tar -c | tar -x into the data-root's filesystem). Target: <= 1.2x;
#   - a cold multi-stage build (--no-cache): 3 independent stages of 3 RUNs
#     each (no sleep: a little CPU and file work) and a final stage copying
#     from all three, with the stages in parallel (berthd's default) and
#     then one after another (berthd restarted with BERTH_BUILD_PARALLEL=0),
#     berth CLI; prints sequential / parallel.
# median/p10/p90 of RUNS runs (default 10; the cold builds and the 100 MB
# context use RUNS/2, at least 3) after warm-ups.
#
#   bench/build-bench.sh [-n RUNS]
#
# Same private daemon set-up as bench/run-bench.sh (the e2e harness: own
# temp root, socket, data-root, cgroup parent); all torn down on exit.
# dockerd is not installed here; DESIGN.md's docker numbers for the same
# two builds are 150-210 ms (cached) and 3.2-4.3 s (cold).
set -euo pipefail
cd "$(dirname "$0")/.."

export E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-warn}
export DOCKER_BUILDKIT=0
# shellcheck source=tests/e2e/helpers.bash
source tests/e2e/helpers.bash
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_usage_runs 10 3 "$@"
SMALL=$((RUNS / 2 < 3 ? 3 : RUNS / 2))
BERTH="$BERTH_BIN_DIR/berth"
bench_need_bins
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: private berthd from $BERTH_BIN_DIR, $RUNS runs ($SMALL for the slow ones)" >&2
e2e_setup_file || { echo "bench: berthd did not start" >&2; exit 1; }
import_busybox || exit 1
B=("$BERTH" -H "unix://$SOCK")
D=("$DOCKER_BIN" -H "unix://$SOCK")

seed="$E2E_ROOT/seed"
mkdir -p "$seed"
echo hello >"$seed/hello.txt"
cat >"$seed/Dockerfile" <<'EOF'
FROM busybox
LABEL maintainer="berth@example.com"
RUN echo built > /built.txt
COPY . /src
WORKDIR /src
RUN cat hello.txt > /copied.txt
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "-c"]
EOF
cold="$E2E_ROOT/cold"
mkdir -p "$cold"
printf 'FROM busybox\nRUN echo 1 > /1\nRUN echo 2 > /2\nRUN echo 3 > /3\nRUN echo 4 > /4\nRUN echo 5 > /5\n' >"$cold/Dockerfile"
big="$E2E_ROOT/big"
mkdir -p "$big"
head -c $((100 << 20)) /dev/urandom >"$big/blob"
printf 'FROM busybox\nLABEL big=1\n' >"$big/Dockerfile"
multi="$E2E_ROOT/multi"
mkdir -p "$multi"
{
  for s in 1 2 3; do
    echo "FROM busybox AS s$s"
    echo "RUN seq 1 $((30000 + s)) | md5sum > /$s.a"
    echo "RUN find /bin /etc -xdev | sort | sha1sum > /$s.b"
    echo "RUN i=0; while [ \$i -lt 3000 ]; do i=\$((i+1)); done; echo \$i$s > /$s.c"
  done
  echo "FROM busybox"
  for s in 1 2 3; do echo "COPY --from=s$s /$s.a /$s.b /$s.c /out/"; done
} >"$multi/Dockerfile"

"${B[@]}" build -q -t bench-seed "$seed" >/dev/null
read -r cb_med cb_p10 cb_p90 < <(times_ms "${B[@]}" build -t bench-seed "$seed" | stats)
read -r cd_med cd_p10 cd_p90 < <(times_ms "${D[@]}" build -t bench-seed "$seed" | stats)
RUNS_SAVED=$RUNS
RUNS=$SMALL
read -r ob_med ob_p10 ob_p90 < <(times_ms "${B[@]}" build --no-cache -t bench-cold "$cold" | stats)
read -r od_med od_p10 od_p90 < <(times_ms "${D[@]}" build --no-cache -t bench-cold "$cold" | stats)
read -r bb_med bb_p10 bb_p90 < <(times_ms "${B[@]}" build -t bench-big "$big" | stats)
floor() {
  local dst="$E2E_ROOT/data/floor"
  rm -rf "$dst" && mkdir -p "$dst"
  tar -C "$big" -cf - . | tar -C "$dst" -xf -
  rm -rf "$dst"
}
read -r fl_med fl_p10 fl_p90 < <(times_ms floor | stats)
read -r mp_med mp_p10 mp_p90 < <(times_ms "${B[@]}" build --no-cache -t bench-multi "$multi" | stats)
# The same builds with the stages one after another.
kill -TERM "$(berthd_pid)"
wait_until 20 "berthd to stop" eval "! kill -0 $(berthd_pid) 2>/dev/null"
BERTH_BUILD_PARALLEL=0 berthd_start || { echo "bench: berthd did not restart" >&2; exit 1; }
read -r ms_med ms_p10 ms_p90 < <(times_ms "${B[@]}" build --no-cache -t bench-multi "$multi" | stats)
RUNS=$RUNS_SAVED

printf '\n%-52s %9s %9s %9s\n' "build (ms)" median p10 p90
printf '%-52s %9s %9s %9s\n' "cached 8-step rebuild: berth CLI (N=$RUNS)" "$cb_med" "$cb_p10" "$cb_p90"
printf '%-52s %9s %9s %9s\n' "cached 8-step rebuild: docker CLI (N=$RUNS)" "$cd_med" "$cd_p10" "$cd_p90"
printf '%-52s %9s %9s %9s\n' "cold FROM + 5 RUN: berth CLI (N=$SMALL)" "$ob_med" "$ob_p10" "$ob_p90"
printf '%-52s %9s %9s %9s\n' "cold FROM + 5 RUN: docker CLI (N=$SMALL)" "$od_med" "$od_p10" "$od_p90"
printf '%-52s %9s %9s %9s\n' "100 MB context, cached build: berth CLI (N=$SMALL)" "$bb_med" "$bb_p10" "$bb_p90"
printf '%-52s %9s %9s %9s\n' "100 MB read from disk + written once (N=$SMALL)" "$fl_med" "$fl_p10" "$fl_p90"
printf '%-52s %9s %9s %9s\n' "cold 3 stages x 3 RUN + final, parallel (N=$SMALL)" "$mp_med" "$mp_p10" "$mp_p90"
printf '%-52s %9s %9s %9s\n' "cold 3 stages x 3 RUN + final, sequential (N=$SMALL)" "$ms_med" "$ms_p10" "$ms_p90"
awk -v a="$bb_med" -v b="$fl_med" 'BEGIN { if (b > 0) printf "100 MB context / disk floor: %.2fx (target <= 1.2x)\n", a / b }'
awk -v p="$mp_med" -v s="$ms_med" 'BEGIN { if (p > 0) printf "multi-stage cold build, sequential / parallel: %.2fx\n", s / p }'
