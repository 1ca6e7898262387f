#!/usr/bin/env bats
# Independent stages of one build run at once (issue 13), through POST
# /build with `berth build` and `DOCKER_BUILDKIT=0 docker build`: the two
# stages' intervals overlap, the output keeps the sequential order (the
# first stage live), a failing stage cancels its sleeping sibling and
# leaves nothing, a client that goes away cancels every stage, and
# BERTH_BUILD_PARALLEL=0 gives the same image ids, fully cached.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { export DOCKER_BUILDKIT=0; }
teardown() { e2e_teardown; }

build() { local c=$1; shift; cli "$c" build "$@"; }
running_count() { api GET '/v1.41/containers/json' | head -n1 | grep -oE '"Id"' | wc -l; }
all_count() { api GET '/v1.41/containers/json?all=1' | head -n1 | grep -oE '"Id"' | wc -l; }
image_count() { api GET '/v1.41/images/json?all=1' | head -n1 | grep -oE '"Id"' | wc -l; }
# cache_dir ID: the host directory of RUN --mount=type=cache,id=ID.
cache_dir() { echo "$E2E_ROOT/data/build/cache/$(printf %s "$1" | sha256sum | cut -c1-32)"; }

# Two stages that each record /proc/uptime (the host clock) before and
# after a one-second sleep, and a final stage with both files.
overlap_context() {
  local d=$1 tag=$2
  mkdir -p "$d"
  cat >"$d/Dockerfile" <<EOF
FROM busybox AS a
RUN cut -d' ' -f1 /proc/uptime > /start; sleep 1; cut -d' ' -f1 /proc/uptime > /end; echo a-out $tag
FROM busybox AS b
RUN cut -d' ' -f1 /proc/uptime > /start; sleep 1; cut -d' ' -f1 /proc/uptime > /end; echo b-out $tag
FROM busybox
COPY --from=a /start /a.start
COPY --from=a /end /a.end
COPY --from=b /start /b.start
COPY --from=b /end /b.end
EOF
}

# intervals CLIENT IMAGE: "a.start a.end b.start b.end" of the image.
intervals() { cli "$1" run --rm "$2" cat /a.start /a.end /b.start /b.end | tr '\n' ' '; }
overlap() { awk -v s="$1" 'BEGIN { split(s, t, " "); exit !(t[1] < t[4] && t[3] < t[2]) }'; }
# The "Step N/M" numbers in the order the output shows them.
step_order() { grep -oE '^Step [0-9]+/' <<<"$1" | grep -oE '[0-9]+' | tr '\n' ' '; }

scenario_overlap() {
  local c=$1 d="$E2E_ROOT/$1-overlap" t
  overlap_context "$d" "$c"
  run --separate-stderr build "$c" --no-cache -t "$c-par:1" "$d"
  assert_success
  t=$(intervals "$c" "$c-par:1")
  overlap "$t" || _e2e_fail "the stages did not run at once: a and b intervals $t"
  [ "$(step_order "$output")" = "1 2 3 4 5 6 7 8 9 " ] || _e2e_fail "steps out of order: $(step_order "$output")"
  # a's whole block (its RUN output included) before b's first line
  local block=${output%%Step 3/9 : FROM busybox AS b*}
  [[ $block == *"a-out $c"* ]] || _e2e_fail "a's output is not in a's block"
  [[ $block != *"b-out"* ]] || _e2e_fail "b's output inside a's block"
  assert_output_contains "Successfully tagged $c-par:1"
}
@test "berth: two independent stages run at once, output in stage order" { scenario_overlap berth; }
@test "docker: two independent stages run at once, output in stage order" { scenario_overlap docker; }

scenario_live() {
  local c=$1 d="$E2E_ROOT/$1-live" id="live-$1-$RANDOM" pid
  mkdir -p "$d"
  # a's RUN ends only once this test has seen its first line (then it
  # creates /sync/go); b finishes meanwhile and waits for its turn.
  cat >"$d/Dockerfile" <<EOF
FROM busybox AS a
RUN --mount=type=cache,id=$id,target=/sync echo a-live; i=0; while [ ! -e /sync/go ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done; test -e /sync/go && echo a-released
FROM busybox AS b
RUN echo b-done
FROM busybox
COPY --from=a /etc/passwd /a
COPY --from=b /etc/passwd /b
EOF
  build "$c" --no-cache "$d" >"$d/out" 2>&1 &
  pid=$!
  wait_until 20 "a's first line to be streamed" grep -q '^a-live' "$d/out"
  : >"$(cache_dir "$id")/go"
  wait "$pid" || _e2e_fail "build failed: $(cat "$d/out")"
  output=$(cat "$d/out")
  assert_output_contains "a-released"
  [ "$(step_order "$output")" = "1 2 3 4 5 6 7 " ] || _e2e_fail "steps out of order: $(step_order "$output")"
  local block=${output%%Step 3/7 : FROM busybox AS b*}
  [[ $block == *a-released* && $block != *b-done* ]] || _e2e_fail "b's block is not after a's"
}
@test "berth: the first stage streams live, the next one follows in order" { scenario_live berth; }
@test "docker: the first stage streams live, the next one follows in order" { scenario_live docker; }

scenario_fail() {
  local c=$1 d="$E2E_ROOT/$1-fail" id="fail-$1-$RANDOM" images start
  mkdir -p "$d"
  # failer waits until sleeper is in its 30 s sleep, then fails
  cat >"$d/Dockerfile" <<EOF
FROM busybox AS sleeper
RUN --mount=type=cache,id=$id,target=/sync touch /sync/started; sleep 30
FROM busybox AS failer
RUN --mount=type=cache,id=$id,target=/sync i=0; while [ ! -e /sync/started ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done; echo failing; exit 3
FROM busybox
COPY --from=sleeper /etc/passwd /a
COPY --from=failer /etc/passwd /b
EOF
  images=$(image_count)
  start=$SECONDS
  run --separate-stderr build "$c" --force-rm -t "$c-fail:1" "$d"
  assert_status 3
  assert_stderr_contains "returned a non-zero code: 3"
  assert_output_contains "failing"
  [ $((SECONDS - start)) -lt 20 ] || _e2e_fail "the sleeping stage was not cancelled ($((SECONDS - start)) s)"
  [ "$(all_count)" -eq 0 ] || _e2e_fail "containers left: $(cli "$c" ps -a)"
  run cli "$c" ps -aq
  assert_output ""
  [ "$(image_count)" -eq "$images" ] || _e2e_fail "images made: $(cli "$c" images -a)"
  run cli "$c" image inspect "$c-fail:1"
  assert_status 1
}
@test "berth: a failing stage cancels its sleeping sibling and leaves no container or image" { scenario_fail berth; }
@test "docker: a failing stage cancels its sleeping sibling and leaves no container or image" { scenario_fail docker; }

@test "api: a client that goes away cancels every running stage" {
  local d="$E2E_ROOT/gone" pid
  mkdir -p "$d"
  printf 'FROM busybox AS a\nRUN sleep 60\nFROM busybox AS b\nRUN sleep 61\nFROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n' >"$d/Dockerfile"
  tar -C "$d" -cf "$d/ctx.tar" Dockerfile
  curl -sS -N --unix-socket "$SOCK" -X POST "http://x/v1.41/build" -H 'Content-Type: application/x-tar' \
    --data-binary "@$d/ctx.tar" >"$d/out" 2>&1 &
  pid=$!
  wait_until 20 "both stages' RUN containers to run" eval '[ "$(running_count)" -eq 2 ]'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  wait_until 15 "both RUN containers to be removed" eval '[ "$(all_count)" -eq 0 ]'
  wait_until 10 "build/tmp to be emptied" eval '[ -z "$(ls -A "$E2E_ROOT/data/build/tmp")" ]'
}

# berthd_restart: SIGTERM the running berthd and start it again (a
# `VAR=value berthd_restart` reaches the new berthd's environment).
berthd_restart() {
  local pid
  pid=$(berthd_pid)
  kill -TERM "$pid"
  wait_until 15 "berthd $pid to stop" eval "! kill -0 $pid 2>/dev/null"
  berthd_start
}

@test "berth and docker: BERTH_BUILD_PARALLEL=0 builds one stage after another, same ids, fully cached" {
  local d="$E2E_ROOT/knob" par seq t
  overlap_context "$d" knob
  run --separate-stderr build berth -q --no-cache "$d"
  assert_success
  par=$output
  BERTH_BUILD_PARALLEL=0 berthd_restart
  tr '\0' '\n' <"/proc/$(berthd_pid)/environ" | grep -qx BERTH_BUILD_PARALLEL=0 || _e2e_fail "berthd without the variable"
  # the same Dockerfile through the sequential builder: every step cached, the same id
  run --separate-stderr build docker "$d"
  assert_success
  [ "$(grep -c '^ ---> Using cache' <<<"$output")" -eq 6 ] || _e2e_fail "not fully cached"
  assert_output_contains "Successfully built ${par:7:12}"
  # a cold sequential build: b starts after a ended
  run --separate-stderr build berth -q --no-cache "$d"
  assert_success
  seq=$output
  t=$(intervals berth "$seq")
  ! overlap "$t" || _e2e_fail "BERTH_BUILD_PARALLEL=0 ran the stages at once: $t"
  berthd_restart
  # back in parallel: the sequential build's id, fully cached
  run --separate-stderr build berth -q "$d"
  assert_success
  assert_output "$seq"
  # a bad value stops berthd before it touches anything
  run env BERTH_BUILD_PARALLEL=2 "$BERTH_BIN_DIR/berthd" --host "unix://$E2E_ROOT/bad.sock" \
    --data-root "$E2E_ROOT/bad-data" --exec-root "$E2E_ROOT/bad-exec" --bridge=none --iptables=false --ip-forward=false
  assert_status 125
  assert_output_contains 'invalid BERTH_BUILD_PARALLEL value "2": want 1 or 0'
  [ ! -e "$E2E_ROOT/bad-data" ] || _e2e_fail "berthd made its data-root"
}

@test "no leftovers" {
  assert_no_leftovers
}
