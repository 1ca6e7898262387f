#!/usr/bin/env bash
# crictl-smoke.sh: crictl (cri-tools v1.32.0) drives a pod through berthd's
# CRI: runp, pull, create, start, exec, logs, stats, port-forward, stopp,
# rmp, each step checked. Issue 16's acceptance "by hand"; never run by CI.
#
#   scripts/crictl-smoke.sh
#
# Same environment as scripts/critest.sh (scripts/critest-lib.sh: private
# berthd, loopback registry mirroring registry.k8s.io, CNI bridge), removed
# at exit. Prints one "ok N - step" / "not ok N - step" line per check and
# "N passed, N failed"; exits 1 when a check failed.
set -euo pipefail
# shellcheck source=critest-lib.sh
source "$(dirname "$0")/critest-lib.sh"
command -v jq >/dev/null || crit_die "jq not installed"

crit_env_up

n=0 passed=0 failed=0
# check DESCRIPTION CMD...: run CMD (in this shell), record ok / not ok.
check() {
  local desc=$1
  shift
  n=$((n + 1))
  if "$@"; then
    passed=$((passed + 1))
    echo "ok $n - $desc"
  else
    failed=$((failed + 1))
    echo "not ok $n - $desc"
  fi
}
# poll SECS CMD...: CMD succeeds within SECS seconds.
poll() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}

W=$E2E_ROOT/smoke
mkdir -p "$W/logs"
NGINX=registry.k8s.io/e2e-test-images/nginx:1.14-2
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
cat >"$W/pod.json" <<EOF
{"metadata": {"name": "smoke", "namespace": "critest-smoke", "uid": "smoke-$RANDOM", "attempt": 0},
 "hostname": "smoke-pod", "log_directory": "$W/logs", "linux": {}}
EOF
cat >"$W/web.json" <<EOF
{"metadata": {"name": "web"}, "image": {"image": "$NGINX"}, "log_path": "web.log", "linux": {}}
EOF
cat >"$W/talker.json" <<EOF
{"metadata": {"name": "talker"}, "image": {"image": "$BUSYBOX"}, "log_path": "talker.log",
 "command": ["sh", "-c", "echo smoke-out; echo smoke-err >&2; sleep 3600"], "linux": {}}
EOF

POD="" WEB="" TALK=""
step_runp() {
  POD=$(crictl_cmd runp "$W/pod.json") && [ -n "$POD" ] &&
    [ "$(crictl_cmd inspectp "$POD" | jq -r .status.state)" = SANDBOX_READY ] &&
    crictl_cmd pods -q | grep -qx "$POD"
}
check "runp: the pod is SANDBOX_READY and listed" step_runp
step_pod_ip() {
  local ip
  ip=$(crictl_cmd inspectp "$POD" | jq -r .status.network.ip)
  [[ $ip == "$CRIT_NET".* ]] || { echo "pod IP '$ip' not in $CRIT_NET.0/24" >&2; return 1; }
}
check "runp: the pod has an IP of the CNI bridge's subnet" step_pod_ip

step_pull() {
  crictl_cmd pull "$NGINX" >/dev/null && crictl_cmd pull "$BUSYBOX" >/dev/null &&
    crictl_cmd images -o json | jq -e --arg r "$NGINX" '[.images[].repoTags[]] | index($r) != null' >/dev/null
}
check "pull through the registry.k8s.io mirror; images lists it" step_pull

step_create() {
  WEB=$(crictl_cmd create "$POD" "$W/web.json" "$W/pod.json") &&
    TALK=$(crictl_cmd create "$POD" "$W/talker.json" "$W/pod.json") &&
    [ "$(crictl_cmd inspect "$WEB" | jq -r .status.state)" = CONTAINER_CREATED ]
}
check "create: two containers, CONTAINER_CREATED" step_create

running() { [ "$(crictl_cmd inspect "$1" | jq -r .status.state)" = CONTAINER_RUNNING ]; }
step_start() {
  crictl_cmd start "$WEB" "$TALK" >/dev/null && poll 20 running "$WEB" && poll 20 running "$TALK"
}
check "start: both CONTAINER_RUNNING" step_start

step_exec() {
  local out err
  out=$(crictl_cmd exec "$TALK" sh -c 'echo exec-$((6*7)); hostname') || return 1
  [ "$out" = "exec-42
smoke-pod" ] || { echo "exec printed: $out" >&2; return 1; }
  # crictl exits 1 for a streamed exec's non-zero status and names the
  # status the runtime reported in its error (cmd/crictl/exec.go)
  if err=$(crictl_cmd exec "$TALK" sh -c 'exit 3' 2>&1); then
    echo "exec of 'exit 3' succeeded" >&2; return 1
  fi
  grep -q 'command terminated with exit code 3' <<<"$err" || { echo "exec error: $err" >&2; return 1; }
}
check "exec (streaming): output, the pod's hostname, the exit status" step_exec
step_exec_sync() {
  local err
  [ "$(crictl_cmd exec -s "$WEB" cat /var/run/nginx.pid)" -gt 0 ] || return 1
  # cri-client turns ExecSyncResponse.exit_code != 0 into an error naming
  # it ("command '...' exited with N"), and crictl exits 1
  if err=$(crictl_cmd exec -s "$TALK" sh -c 'exit 3' 2>&1); then
    echo "exec -s of 'exit 3' succeeded" >&2; return 1
  fi
  grep -q 'exited with 3' <<<"$err" || { echo "exec -s error: $err" >&2; return 1; }
}
check "exec --sync: nginx's pid file, the exit code" step_exec_sync

logs_have() { crictl_cmd logs "$TALK" 2>&1 | grep -qx "$1"; }
step_logs() {
  poll 10 logs_have smoke-out && poll 10 logs_have smoke-err &&
    grep -qE '^[0-9T:.+-]+Z? stdout F smoke-out$' "$W/logs/talker.log" &&
    grep -qE '^[0-9T:.+-]+Z? stderr F smoke-err$' "$W/logs/talker.log"
}
check "logs: both streams; the file is in the CRI log format" step_logs

step_stats() {
  local j
  j=$(crictl_cmd stats -o json "$TALK") || return 1
  jq -e --arg id "$TALK" '.stats | length == 1 and .[0].attributes.id == $id
      and (.[0].memory.workingSetBytes.value | tonumber) > 0
      and (.[0].cpu.timestamp | tonumber) > 0' >/dev/null <<<"$j" ||
    { echo "stats: $j" >&2; return 1; }
}
check "stats: the container's memory and cpu" step_stats

PF_PID=""
pf_answers() { curl -sf --max-time 5 "http://127.0.0.1:$1/" | grep -q 'Welcome to nginx'; }
step_port_forward() {
  local port
  port=$(free_port)
  "$CRITEST_BIN/crictl" --config /dev/null --runtime-endpoint "$CRI_EP" port-forward "$POD" "$port:80" \
    >"$W/pf.log" 2>&1 &
  PF_PID=$!
  poll 15 pf_answers "$port" && pf_answers "$port"   # twice: two streams on one session
  local rc=$?
  kill "$PF_PID" 2>/dev/null
  wait "$PF_PID" 2>/dev/null
  PF_PID=""
  [ "$rc" -eq 0 ] || { cat "$W/pf.log" >&2; return 1; }
}
check "port-forward: nginx's page through 127.0.0.1" step_port_forward

step_stopp() {
  crictl_cmd stopp "$POD" >/dev/null &&
    [ "$(crictl_cmd inspectp "$POD" | jq -r .status.state)" = SANDBOX_NOTREADY ] &&
    [ "$(crictl_cmd inspect "$WEB" | jq -r .status.state)" = CONTAINER_EXITED ] &&
    crictl_cmd stopp "$POD" >/dev/null   # idempotent
}
check "stopp: pod NOTREADY, containers EXITED, a second stopp succeeds" step_stopp

step_rmp() {
  crictl_cmd rmp "$POD" >/dev/null && ! crictl_cmd pods -q | grep -qx "$POD" &&
    ! crictl_cmd ps -a -q | grep -qxE "$WEB|$TALK" &&
    ! crictl_cmd inspectp "$POD" >/dev/null 2>&1
}
check "rmp: pod and containers gone, inspectp fails" step_rmp

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
