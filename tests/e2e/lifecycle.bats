#!/usr/bin/env bats
# The container lifecycle: stop semantics (stop signal, timeouts, exit
# codes), restart -t, kill -s, the tutorial's percy session, and many
# containers driven in parallel from several clients.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
state_of() { cli "$1" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$2"; }
is_running() { [ "$(cli "$1" inspect -f '{{.State.Running}}' "$2")" = true ]; }
logs_have() { [[ $(cli "$1" logs "$2" 2>&1) == *"$3"* ]]; }
# event_recorded SINCE ID ACTION: berthd's event history since SINCE holds
# ACTION for container ID (asked up to this very moment, so it answers at once).
event_recorded() {
  api GET "/v1.41/events?since=$1&until=$(date +%s.%N)" -G \
    --data-urlencode "filters={\"container\":[\"$2\"],\"event\":[\"$3\"]}" | grep -q "\"Action\":\"$3\""
}
# created_before ID SECS: container ID was created more than SECS seconds ago.
created_before() {
  local created
  created=$(api GET "/v1.41/containers/$1/json" | grep -oE '"Created" *: *"[^"]+"' | cut -d'"' -f4) || return 1
  [ -n "$created" ] && (( $(date +%s%N) - $(date -d "$created" +%s%N) > $2 * 1000000000 ))
}

# A shell that ends with its own code on SIGTERM (sleep in short steps so
# the trap runs promptly).
TRAP_TERM='trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done'

scenario_stop_timeout() {
  local c=$1 n="ign-$1" t0 t1
  # sh as pid 1 ignores SIGTERM: stop -t 2 waits 2 s, then SIGKILL -> 137
  run cli "$c" run -d --name "$n" busybox sleep 300
  assert_success
  t0=$(now_ms)
  run cli "$c" stop -t 2 "$n"
  t1=$(now_ms)
  assert_success
  assert_output "$n"
  (( t1 - t0 >= 1900 && t1 - t0 < 4500 )) || _e2e_fail "stop -t 2 took $((t1 - t0)) ms"
  run state_of "$c" "$n"
  assert_output "exited 137"
  run cli "$c" ps -a --filter "name=$n" --format '{{.Status}}'
  [[ $output == "Exited (137) "* ]] || _e2e_fail "ps status"
}
@test "berth: stop -t 2 of a container ignoring SIGTERM takes ~2 s and exits 137" { scenario_stop_timeout berth; }
@test "docker: stop -t 2 of a container ignoring SIGTERM takes ~2 s and exits 137" { scenario_stop_timeout docker; }

scenario_stop_handled() {
  local c=$1 n="trap-$1" t0 t1
  run cli "$c" run -d --name "$n" busybox sh -c "$TRAP_TERM"
  assert_success
  wait_until 10 "$n to print ready" logs_have "$c" "$n" ready
  t0=$(now_ms)
  run cli "$c" stop -t 10 "$n"
  t1=$(now_ms)
  assert_success
  (( t1 - t0 < 1500 )) || _e2e_fail "stop of a container handling SIGTERM took $((t1 - t0)) ms"
  run state_of "$c" "$n"
  assert_output "exited 3"
  run cli "$c" logs "$n"
  assert_output_contains "got-term"
}
@test "berth: stop of a container that handles SIGTERM is prompt and keeps its code" { scenario_stop_handled berth; }
@test "docker: stop of a container that handles SIGTERM is prompt and keeps its code" { scenario_stop_handled docker; }

scenario_stop_signal() {
  local c=$1 n="sig-$1" m="to-$1" t0 t1
  # --stop-signal: stop sends USR1, which the shell traps
  run cli "$c" run -d --name "$n" --stop-signal SIGUSR1 busybox sh -c \
    'trap "exit 4" USR1; echo ready; while :; do sleep 0.1; done'
  assert_success
  run cli "$c" inspect -f '{{.Config.StopSignal}}' "$n"
  assert_output "SIGUSR1"
  wait_until 10 "$n to print ready" logs_have "$c" "$n" ready
  run cli "$c" stop "$n"
  assert_success
  run state_of "$c" "$n"
  assert_output "exited 4"
  # --stop-timeout: the default wait of stop becomes 1 s
  run cli "$c" run -d --name "$m" --stop-timeout 1 busybox sleep 300
  assert_success
  t0=$(now_ms)
  run cli "$c" stop "$m"
  t1=$(now_ms)
  assert_success
  (( t1 - t0 >= 900 && t1 - t0 < 3500 )) || _e2e_fail "stop with --stop-timeout 1 took $((t1 - t0)) ms"
  run state_of "$c" "$m"
  assert_output "exited 137"
  # the image's StopSignal (STOPSIGNAL in a commit) is used by stop
  run cli "$c" commit --change 'STOPSIGNAL SIGUSR2' "$m" "stopsig-$c:1"
  assert_success
  run cli "$c" run -d --name "$n-img" "stopsig-$c:1" sh -c 'trap "exit 5" USR2; echo ready; while :; do sleep 0.1; done'
  assert_success
  run cli "$c" inspect -f '{{.Config.StopSignal}}' "$n-img"
  assert_output "SIGUSR2"
  wait_until 10 "$n-img to print ready" logs_have "$c" "$n-img" ready
  run cli "$c" stop "$n-img"
  assert_success
  run state_of "$c" "$n-img"
  assert_output "exited 5"
  cli "$c" rm "$n-img" >/dev/null
  cli "$c" rmi "stopsig-$c:1" >/dev/null
}
@test "berth: --stop-signal, --stop-timeout and the image's StopSignal" { scenario_stop_signal berth; }
@test "docker: --stop-signal, --stop-timeout and the image's StopSignal" { scenario_stop_signal docker; }

scenario_restart_kill() {
  local c=$1 n="rk-$1" started t0 t1
  run cli "$c" run -d --name "$n" busybox sleep 300
  assert_success
  started=$(cli "$c" inspect -f '{{.State.StartedAt}}' "$n")
  t0=$(now_ms)
  run cli "$c" restart -t 1 "$n"
  t1=$(now_ms)
  assert_success
  (( t1 - t0 >= 900 && t1 - t0 < 4000 )) || _e2e_fail "restart -t 1 took $((t1 - t0)) ms"
  is_running "$c" "$n" || _e2e_fail "not running after restart"
  [ "$(cli "$c" inspect -f '{{.State.StartedAt}}' "$n")" != "$started" ] || _e2e_fail "StartedAt unchanged"
  # kill -s: the signal's own exit code
  run cli "$c" kill -s SIGINT "$n"
  assert_success
  # sleep as pid 1 has no handler, so SIGINT is ignored: it keeps running
  holds_for 0.5 "$n running after SIGINT (pid 1 without a handler ignores it)" is_running "$c" "$n"
  run cli "$c" kill "$n"
  assert_success
  run cli "$c" wait "$n"
  assert_output "137"
  run cli "$c" kill "$n"
  assert_status 1
  assert_output_contains "is not running"
  run cli "$c" kill -s NOPE "$n"
  assert_status 1
  # rm -f of a running container kills it with SIGKILL
  run cli "$c" run -d --name "$n-f" busybox sleep 300
  assert_success
  run cli "$c" rm "$n-f"
  assert_status 1
  assert_output_contains "cannot remove a running container"
  run cli "$c" rm -f "$n-f"
  assert_success
  run cli "$c" ps -aq --filter "name=$n-f"
  assert_output ""
}
@test "berth: restart -t, kill -s, rm -f" { scenario_restart_kill berth; }
@test "docker: restart -t, kill -s, rm -f" { scenario_restart_kill docker; }

TMUX_SOCK() { echo "$E2E_ROOT/tmux.sock"; }
pane_has() { tmux -S "$(TMUX_SOCK)" capture-pane -p -S -200 -t "$1" 2>/dev/null | grep -qF -- "$2"; }
pane_prompt() { tmux -S "$(TMUX_SOCK)" capture-pane -p -t "$1" 2>/dev/null | grep -qE '#$'; }

scenario_percy() {
  local c=$1 n="percy-$1" sess="percy-$1" rcf="$E2E_ROOT/percy-$1.rc" cmd
  require_cmd tmux
  cmd="$(cli_cmdline "$c") run --name $n -it busybox sh"
  rm -f "$rcf"
  tmux -S "$(TMUX_SOCK)" new-session -d -s "$sess" -x 100 -y 30 \
    "timeout --foreground -k 5 120 $cmd; echo \$? > $rcf; sleep 60" 3>&- 4>&-
  wait_until 30 "the shell prompt in tmux" pane_prompt "$sess"
  tmux -S "$(TMUX_SOCK)" send-keys -t "$sess" 'echo percy-was-here > /tmp/new && echo wrote-$((1+1))' Enter
  wait_until 10 "the write to run (wrote-2 in the pane)" pane_has "$sess" 'wrote-2'
  # ctrl-p ctrl-q detaches and leaves the container running
  tmux -S "$(TMUX_SOCK)" send-keys -t "$sess" C-p C-q
  wait_until 15 "the client to detach and record its exit status" test -s "$rcf"
  [ "$(cat "$rcf")" = 0 ] || _e2e_fail "detach exit status $(cat "$rcf")"
  tmux -S "$(TMUX_SOCK)" kill-session -t "$sess"
  run cli "$c" ps --filter "name=$n" --format '{{.Names}} {{.Status}}'
  [[ $output == "$n Up "* ]] || _e2e_fail "percy should be Up after detaching"
  run cli "$c" stop -t 1 "$n"
  assert_success
  run cli "$c" ps -a --filter "name=$n" --format '{{.Status}}'
  [[ $output == "Exited ("* ]] || _e2e_fail "percy should be Exited"
  run cli "$c" start "$n"
  assert_success
  run cli "$c" exec "$n" cat /tmp/new
  assert_success
  assert_output "percy-was-here"
  run cli "$c" stop -t 1 "$n"
  assert_success
  run cli "$c" rm "$n"
  assert_success
}
@test "berth: the tutorial's percy: -it, detach, stop, start, exec sees the data, rm" { scenario_percy berth; }
@test "docker: the tutorial's percy: -it, detach, stop, start, exec sees the data, rm" { scenario_percy docker; }

scenario_events() {
  local c=$1 n="ev-$1" since until id
  since=$(date +%s)
  run cli "$c" run -d --name "$n" busybox sleep 300
  assert_success
  id=$(tail -n1 <<<"$output")
  # sleep as pid 1 ignores SIGTERM: kill 15, kill 9 after 1 s, die, stop
  run cli "$c" stop -t 1 "$n"
  assert_success
  run cli "$c" start "$n"
  assert_success
  run cli "$c" kill "$n"
  assert_success
  run cli "$c" wait "$n"
  run cli "$c" rename "$n" "$n-2"
  assert_success
  run cli "$c" rm "$n-2"
  assert_success
  wait_until 10 "the destroy event of $id" event_recorded "$since" "$id" destroy
  until=$(( $(date +%s) + 1 ))
  run cli "$c" events --since "$since" --until "$until" --filter "container=$id" --format '{{.Type}} {{.Action}}'
  assert_success
  local want
  want=$'container create\ncontainer start\ncontainer kill\ncontainer kill\ncontainer die\ncontainer stop\ncontainer start\ncontainer kill\ncontainer die\ncontainer rename\ncontainer destroy'
  [ "$output" = "$want" ] || _e2e_fail "events differ"
  run cli "$c" events --since "$since" --until "$until" --filter "container=$id" --filter event=die \
    --format '{{.Action}} {{index .Actor.Attributes "exitCode"}}'
  assert_output $'die 137\ndie 137'
}
@test "berth: events for every state change, filtered, with --since/--until" { scenario_events berth; }
@test "docker: events for every state change, filtered, with --since/--until" { scenario_events docker; }

scenario_log_rotation() {
  local c=$1 n="rot-$1" id count first last
  run cli "$c" run -d --name "$n" --log-opt max-size=1k --log-opt max-file=3 busybox sh -c \
    'i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done'
  assert_success
  id=$(tail -n1 <<<"$output")
  run cli "$c" wait "$n"
  assert_output "0"
  # three files at most, none much over 1 KiB
  count=$(ls "$E2E_ROOT/data/containers/$id/" | grep -c -- '-json.log')
  [ "$count" = 3 ] || _e2e_fail "expected 3 log files, found $count"
  for f in "$E2E_ROOT/data/containers/$id/"*-json.log*; do
    [ "$(stat -c %s "$f")" -le 1100 ] || _e2e_fail "$f is over max-size"
  done
  # logs reads across the rotated files, in order, ending with the last line
  run cli "$c" logs "$n"
  assert_success
  last=$(tail -n1 <<<"$output")
  [ "$last" = line-299 ] || _e2e_fail "last line $last"
  first=$(head -n1 <<<"$output")
  first=${first#line-}
  (( first > 0 )) || _e2e_fail "nothing was rotated away"
  [ "$(wc -l <<<"$output")" = $((300 - first)) ] || _e2e_fail "lines missing between rotated files"
  run cli "$c" logs --tail 2 "$n"
  assert_output $'line-298\nline-299'
  # bad options are refused at create
  run cli "$c" run -d --log-opt max-size=ten busybox true
  assert_status 125
  assert_output_contains "invalid size"
  run cli "$c" run -d --log-opt bogus=1 busybox true
  assert_status 125
  assert_output_contains "unknown log opt 'bogus'"
}
@test "berth: json-file max-size/max-file rotation and logs across rotated files" { scenario_log_rotation berth; }
@test "docker: json-file max-size/max-file rotation and logs across rotated files" { scenario_log_rotation docker; }

scenario_prune() {
  local c=$1 keep="keep-$1" old="old-$1" lab="lab-$1" up="up-$1"
  run cli "$c" create --name "$old" busybox true
  assert_success
  run cli "$c" run --name "$lab" --label tier=test busybox true
  assert_success
  run cli "$c" run -d --name "$up" busybox sleep 300
  assert_success
  # until=1s below: the three above must be older than that, $keep younger
  wait_until 10 "$up (created last of the three) to be over 1 s old" created_before "$up" 1
  run cli "$c" run --name "$keep" busybox true
  assert_success
  # until=1s: only containers created more than a second ago; label filter
  run cli "$c" container prune -f --filter until=1s --filter label=tier=test
  assert_success
  assert_output_contains "Deleted Containers:"
  assert_output_contains "Total reclaimed space:"
  run cli "$c" ps -a --format '{{.Names}}'
  refute_output_contains "$lab"
  assert_output_contains "$old"
  run cli "$c" container prune -f --filter until=1s
  assert_success
  run cli "$c" ps -a --format '{{.Names}}'
  refute_output_contains "$old"
  assert_output_contains "$keep"
  assert_output_contains "$up"
  run cli "$c" container prune -f
  assert_success
  run cli "$c" ps -a --format '{{.Names}}'
  assert_output "$up"
  run cli "$c" container prune -f --filter bogus=1
  assert_status 1
  assert_output_contains "bogus"
  # port: nothing published
  run cli "$c" port "$up"
  assert_success
  assert_output ""
  run cli "$c" port "$up" 80
  assert_status 1
  assert_output_contains "No public port '80' published for $up"
  cli "$c" rm -f "$up" >/dev/null
}
@test "berth: container prune with until= and label filters; port" { scenario_prune berth; }
@test "docker: container prune with until= and label filters; port" { scenario_prune docker; }

scenario_wait_condition() {
  local c=$1 n="wc-$1" out
  run cli "$c" create --name "$n" busybox sh -c 'exit 6'
  assert_success
  # next-exit waits across the start; removed waits for the removal. berthd
  # sends the response head once the wait is registered (as dockerd does),
  # so the start comes after curl -v has printed it.
  api POST "/containers/$n/wait?condition=next-exit" -v > "$E2E_ROOT/wc-$c.next" 2>"$E2E_ROOT/wc-$c.next.err" &
  local p1=$!
  api POST "/containers/$n/wait?condition=removed" -v > "$E2E_ROOT/wc-$c.rm" 2>"$E2E_ROOT/wc-$c.rm.err" &
  local p2=$!
  wait_until 10 "the next-exit wait to be registered (its 200 response head)" \
    grep -q '^< HTTP/1.1 200' "$E2E_ROOT/wc-$c.next.err"
  wait_until 10 "the removed wait to be registered (its 200 response head)" \
    grep -q '^< HTTP/1.1 200' "$E2E_ROOT/wc-$c.rm.err"
  run cli "$c" start "$n"
  assert_success
  wait "$p1"
  out=$(head -n1 "$E2E_ROOT/wc-$c.next")
  [[ $out == *'"StatusCode":6'* ]] || _e2e_fail "next-exit: $out"
  # an unknown condition is a bad request (the container exists)
  run api POST "/containers/$n/wait?condition=bogus"
  [ "${lines[-1]}" = 400 ] || _e2e_fail "bad condition: expected 400"
  assert_output_contains 'invalid condition: \"bogus\"'
  run cli "$c" rm "$n"
  assert_success
  wait "$p2"
  out=$(head -n1 "$E2E_ROOT/wc-$c.rm")
  [[ $out == *'"StatusCode":6'* ]] || _e2e_fail "removed: $out"
}
@test "berth: wait --condition next-exit / removed through the API" { scenario_wait_condition berth; }

# exec_then_detach CLIENT FIRST KEYS EXEC-ARGS...: `exec -i EXEC-ARGS` with
# stdin from a fifo: write FIRST, wait until the session has echoed it
# back, then write KEYS (a printf format, e.g. '\020\021'). Sets status and
# output as bats' run does.
exec_then_detach() {
  local c=$1 first=$2 keys=$3 fifo="$E2E_ROOT/detach.fifo" outf="$E2E_ROOT/detach.out" pid w
  shift 3
  rm -f "$fifo" "$outf"
  mkfifo "$fifo"
  cli "$c" exec -i "$@" <"$fifo" >"$outf" 2>&1 &
  pid=$!
  exec {w}>"$fifo"
  printf '%s' "$first" >&"$w"
  if ! wait_until 10 "'$first' echoed back by the exec session" grep -qF -- "$first" "$outf"; then
    exec {w}>&-   # EOF ends the session; reap the client, the test fails anyway
    wait "$pid"
    return 1
  fi
  # shellcheck disable=SC2059
  printf "$keys" >&"$w"
  status=0
  wait "$pid" || status=$?
  exec {w}>&-
  output=$(cat "$outf")
}

scenario_server_detach() {
  local c=$1 n="sd-$1"
  run cli "$c" run -d -i --name "$n" busybox cat
  assert_success
  # exec -i without a tty: the client passes the bytes on, berthd sees
  # ctrl-p ctrl-q, ends the session and leaves the process running
  exec_then_detach "$c" x '\020\021more' "$n" sh -c 'cat; echo gone'
  assert_success
  assert_output "x"
  # the exec'd shell is still there, its cat never saw "more" nor an EOF
  run cli "$c" exec "$n" ps
  assert_output_contains "cat; echo gone"
  # a custom sequence (--detach-keys), here ctrl-x
  exec_then_detach "$c" y '\030' --detach-keys ctrl-x "$n" cat
  assert_success
  assert_output "y"
  # start -a -i: stdin reaches a created container and its output comes back
  run cli "$c" create -i --name "$n-ai" busybox sh -c 'read l; echo got-$l'
  assert_success
  run bash -c "echo hello | $(cli_cmdline "$c") start -a -i $n-ai"
  assert_success
  assert_output "got-hello"
  cli "$c" rm -f "$n" "$n-ai" >/dev/null
}
@test "berth: server-side detach keys on exec; start -a -i" { scenario_server_detach berth; }
@test "docker: server-side detach keys on exec; start -a -i" { scenario_server_detach docker; }

# One client's share of the parallel test: start, stop and remove 5 containers.
parallel_worker() {
  local c=$1 w=$2 i n
  for i in 1 2 3 4 5; do
    n="par-$w-$i"
    cli "$c" run -d --name "$n" busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null || return 1
  done
  for i in 1 2 3 4 5; do cli "$c" stop -t 5 "par-$w-$i" >/dev/null || return 1; done
  for i in 1 2 3 4 5; do cli "$c" rm "par-$w-$i" >/dev/null || return 1; done
}

@test "20 containers started, stopped, removed in parallel from 4 clients (2 berth, 2 docker)" {
  local pids=() w rc=0
  for w in 1 2 3 4; do
    local c=berth
    (( w % 2 == 0 )) && c=docker
    parallel_worker "$c" "$w" > "$E2E_ROOT/par-$w.out" 2>&1 &
    pids+=($!)
  done
  for w in "${!pids[@]}"; do wait "${pids[$w]}" || { rc=1; cat "$E2E_ROOT/par-$((w + 1)).out" >&2; }; done
  [ "$rc" = 0 ] || _e2e_fail "a client failed"
  run cli berth ps -aq
  assert_output ""
  # no container cgroup left below the parent (removed with their containers)
  local d sub
  for d in $(_e2e_cgroup_dirs "$E2E_CGP"); do
    sub=$(find "$d" -mindepth 1 -type d)
    [ -z "$sub" ] || _e2e_fail "cgroups left in $d: $sub"
  done
  # nothing left: mounts, cgroup processes, monitors
  assert_no_leftovers
}

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
