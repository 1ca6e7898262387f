# shellcheck shell=bash
# End-to-end harness: one isolated berthd per bats file.
#
# In a .bats file:
#   load helpers
#   setup_file()    { e2e_setup_file; }
#   teardown_file() { e2e_teardown_file; }
#
# Each file gets a short temp root (unix socket paths must stay < 108 bytes):
#   $E2E_ROOT/s.sock        the API socket            ($SOCK)
#   $E2E_ROOT/data          --data-root
#   $E2E_ROOT/exec          --exec-root
#   $E2E_ROOT/berthd.pid    --pidfile
#   $E2E_ROOT/berthd.log    berthd's stdout+stderr (shown when a test fails)
#   $E2E_ROOT/berthd.pids   every berthd pid this file started
#   $E2E_ROOT/cgroup-parent the --cgroup-parent name (berth-e2e-<random>)
# so that `e2e_cleanup_root DIR` can tear everything down from the directory
# alone, also from another process after a crash (scripts/test.sh does that).
#
# Environment:
#   BERTH_BIN_DIR     where berthd, berth, berth-monitor are (default build/bin)
#   DOCKER_BIN        the docker CLI (default /usr/local/bin/docker)
#   BERTH_E2E_TMP     parent of the temp roots (default /tmp; test.sh sets one)
#   BERTH_E2E_CACHE   where the busybox rootfs tar is cached for the whole run
#   E2E_CMD_TIMEOUT   seconds before a client command is killed (default 60)
#   E2E_LOG_LEVEL     berthd --log-level (default info)
#   E2E_BERTHD_ARGS   extra berthd flags (word-split), e.g. --registry-mirror URL
#   E2E_NET_ARGS      berthd's networking flags (word-split). Default:
#                     --bridge=none --iptables=false (no default bridge, no
#                     nft table: nothing on the host's network stack). A file
#                     that tests networking sets its own bridge, --bip,
#                     --nft-table and --veth-prefix, and lists what to remove
#                     in $E2E_ROOT/net-links and $E2E_ROOT/net-tables.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
: "${BERTH_BIN_DIR:=$REPO_ROOT/build/bin}"
case $BERTH_BIN_DIR in /*) ;; *) BERTH_BIN_DIR="$REPO_ROOT/$BERTH_BIN_DIR" ;; esac
: "${DOCKER_BIN:=/usr/local/bin/docker}"
: "${E2E_CMD_TIMEOUT:=60}"
: "${E2E_LOG_LEVEL:=info}"
export BERTH_BIN_DIR DOCKER_BIN E2E_CMD_TIMEOUT E2E_LOG_LEVEL
# Nothing in here may reach Docker Hub or read the user's ~/.docker.
export DOCKER_CLI_HINTS=false DOCKER_CLI_EXPERIMENTAL=disabled
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_API_VERSION BERTH_HOST

# ---------------------------------------------------------------- clients

# berth_cmd ARGS...: the berth CLI against this file's berthd.
berth_cmd() {
  timeout -k 5 "$E2E_CMD_TIMEOUT" "$BERTH_BIN_DIR/berth" -H "unix://$SOCK" "$@"
}

# docker_cmd ARGS...: the real docker CLI against this file's berthd.
docker_cmd() {
  [ -x "$DOCKER_BIN" ] || {
    echo "MISSING TOOL: the docker CLI (28.x) is not at $DOCKER_BIN (set DOCKER_BIN)" >&2; return 127; }
  timeout -k 5 "$E2E_CMD_TIMEOUT" "$DOCKER_BIN" -H "unix://$SOCK" "$@"
}

# cli CLIENT ARGS...: CLIENT is "berth" or "docker".
cli() {
  local c=$1; shift
  case $c in
    berth) berth_cmd "$@" ;;
    docker) docker_cmd "$@" ;;
    *) echo "cli: unknown client '$c'" >&2; return 2 ;;
  esac
}

# cli_cmdline CLIENT: the client as one shell-quoted command line, for
# tmux/script which take a string.
cli_cmdline() {
  case $1 in
    berth) printf '%q -H %q' "$BERTH_BIN_DIR/berth" "unix://$SOCK" ;;
    docker) printf '%q -H %q' "$DOCKER_BIN" "unix://$SOCK" ;;
  esac
}

# for_each_client FN ARGS...: run FN CLIENT ARGS... for berth, then docker.
# (Most files instead write two @test blocks per scenario, so the report
# names the client that failed.)
for_each_client() {
  local fn=$1 c; shift
  for c in berth docker; do
    "$fn" "$c" "$@" || { echo "for_each_client: $fn failed with $c" >&2; return 1; }
  done
}

# api METHOD PATH [curl args...]: a raw Engine API request; prints the body
# and then, on a last line of its own, the HTTP status.
api() {
  local method=$1 path=$2; shift 2
  curl -sS --max-time "$E2E_CMD_TIMEOUT" --unix-socket "$SOCK" -X "$method" \
    -w '\n%{http_code}\n' "$@" "http://x$path"
}

# ---------------------------------------------------------------- assertions
# On failure they print what was expected and what came, and return 1
# (bats marks the test failed because each @test runs under set -e).

_e2e_fail() {
  {
    echo "ASSERTION FAILED: $*"
    echo "  status: ${status-}"
    echo "  output: ${output-}"
    [ -z "${stderr-}" ] || echo "  stderr: $stderr"
  } >&2
  return 1
}
assert_status() { [ "$status" -eq "$1" ] || _e2e_fail "expected exit status $1, got $status"; }
assert_success() { assert_status 0; }
assert_output() { [ "$output" = "$1" ] || _e2e_fail "expected output '$1'"; }
assert_output_contains() {
  [[ $output == *"$1"* ]] || _e2e_fail "expected output to contain '$1'"
}
refute_output_contains() {
  [[ $output != *"$1"* ]] || _e2e_fail "expected output not to contain '$1'"
}
assert_stderr_contains() {
  [[ ${stderr-} == *"$1"* ]] || _e2e_fail "expected stderr to contain '$1'"
}

# ---------------------------------------------------------------- waiting
# Tests wait for observable state (a container's status, a log line, a file,
# a process gone, a socket answering), never for a fixed time. A plain
# `sleep` is left only where the elapsed time is itself what is tested.

# _e2e_us SECONDS: SECONDS (integer or decimal, e.g. 1.5) in microseconds.
_e2e_us() {
  local s=$1 i f
  i=${s%%.*} f=
  [[ $s == *.* ]] && f=${s#*.}
  f="${f}000000"
  echo $(( 10#${i:-0} * 1000000 + 10#${f:0:6} ))
}
# _e2e_now_us: the wall clock in microseconds.
_e2e_now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# retry_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; return 1
# once SECONDS have passed without success. Quiet: for cleanup code and for
# conditions whose timeout is not a failure. Tests use wait_until.
retry_until() {
  local end; end=$(( $(_e2e_now_us) + $(_e2e_us "$1") )); shift
  while :; do
    "$@" && return 0
    [ "$(_e2e_now_us)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# wait_until SECONDS DESCRIPTION CMD...: run CMD (in this shell, so functions
# and `eval "..."` work) every 0.1 s until it succeeds. On timeout print
# "timed out after SECONDS s waiting for DESCRIPTION" with the output of the
# last attempt, and return 1 (which fails the test). CMD's output is
# otherwise discarded.
wait_until() {
  local secs=$1 what=$2 end out rc
  shift 2
  end=$(( $(_e2e_now_us) + $(_e2e_us "$secs") ))
  out=$(mktemp "${E2E_ROOT:-${TMPDIR:-/tmp}}/.wait.XXXXXX") || return 1
  while :; do
    "$@" >"$out" 2>&1 && rc=0 || rc=$?
    [ "$rc" != 0 ] || { rm -f "$out"; return 0; }
    [ "$(_e2e_now_us)" -lt "$end" ] || break
    sleep 0.1
  done
  {
    echo "TIMED OUT after $secs s waiting for $what"
    echo "  condition: $*"
    echo "  last attempt: exit status $rc, output:"
    sed 's/^/    /' "$out"
  } >&2
  rm -f "$out"
  return 1
}

# holds_for SECONDS DESCRIPTION CMD...: the opposite wait, for tests whose
# subject is that nothing happens (a stopped container is not restarted, a
# frozen counter does not move): CMD must succeed at every check, every
# 0.1 s, for SECONDS. Fails at the first check where it does not, saying
# after how long DESCRIPTION stopped holding.
holds_for() {
  local secs=$1 what=$2 start end out rc now
  shift 2
  start=$(_e2e_now_us)
  end=$(( start + $(_e2e_us "$secs") ))
  out=$(mktemp "${E2E_ROOT:-${TMPDIR:-/tmp}}/.hold.XXXXXX") || return 1
  while :; do
    now=$(_e2e_now_us)
    "$@" >"$out" 2>&1 && rc=0 || rc=$?
    if [ "$rc" != 0 ]; then
      {
        echo "ASSERTION FAILED: $what stopped holding after $(( (now - start) / 1000 )) ms (of $secs s)"
        echo "  condition: $*"
        echo "  exit status $rc, output:"
        sed 's/^/    /' "$out"
      } >&2
      rm -f "$out"
      return 1
    fi
    [ "$now" -lt "$end" ] || break
    sleep 0.1
  done
  rm -f "$out"
}

# ---------------------------------------------------------------- tools

# require_cmd TOOL [PACKAGE]: a tool a test needs. When TOOL is not on PATH
# the test FAILS (never skips: a missing tool must not pass as green),
# naming the Debian package that provides it (default TOOL), which
# scripts/deps.sh lists and `scripts/setup.sh --deps-only` installs.
require_cmd() {
  local tool=$1 pkg=${2:-$1}
  command -v "$tool" >/dev/null 2>&1 && return 0
  echo "MISSING TOOL: '$tool' is not installed; install the Debian package '$pkg'" \
    "(apt-get install $pkg; scripts/deps.sh lists every package the tests need," \
    "scripts/setup.sh --deps-only installs them)" >&2
  return 1
}

# ---------------------------------------------------------------- daemon

# berthd_ping: true when the daemon answers GET /_ping with OK.
berthd_ping() {
  [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://x/_ping 2>/dev/null)" = OK ]
}

# berthd_start: start berthd with this file's flags (same flags every time,
# so a restart after SIGKILL is a real restart of the same daemon).
berthd_start() {
  local bin="$BERTH_BIN_DIR/berthd"
  [ -x "$bin" ] || { echo "berthd not built: $bin (set BERTH_BIN_DIR)" >&2; return 1; }
  mkdir -p "$E2E_ROOT/data" "$E2E_ROOT/exec"
  echo "=== berthd start $(date +%T.%N)" >>"$E2E_ROOT/berthd.log"
  # fd 3 is bats' own: a daemon holding it would make bats wait forever.
  "$bin" --host "unix://$SOCK" --data-root "$E2E_ROOT/data" \
    --exec-root "$E2E_ROOT/exec" --pidfile "$E2E_ROOT/berthd.pid" \
    --cgroup-parent "$E2E_CGP" --log-level "$E2E_LOG_LEVEL" ${E2E_NET_ARGS---bridge=none --iptables=false} \
    ${E2E_BERTHD_ARGS:-} \
    </dev/null >>"$E2E_ROOT/berthd.log" 2>&1 3>&- 4>&- &
  BERTHD_PID=$!
  disown "$BERTHD_PID" 2>/dev/null || true   # no "Killed" job notice after kill -9
  export BERTHD_PID
  echo "$BERTHD_PID" >>"$E2E_ROOT/berthd.pids"
  local end=$((SECONDS + 20))
  until berthd_ping; do
    if ! kill -0 "$BERTHD_PID" 2>/dev/null; then
      echo "berthd exited during start-up; log:" >&2
      tail -n 30 "$E2E_ROOT/berthd.log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      echo "berthd did not answer /_ping within 20 s; log:" >&2
      tail -n 30 "$E2E_ROOT/berthd.log" >&2
      return 1
    fi
    sleep 0.05
  done
}

# berthd_kill9: SIGKILL the running berthd (by the pid we started) and wait
# until it is gone.
berthd_kill9() {
  local pid
  pid=$(berthd_pid)
  _e2e_is_cmd "$pid" berthd || { echo "berthd $pid not running" >&2; return 1; }
  kill -KILL "$pid"
  wait_until 10 "berthd $pid to exit after SIGKILL" eval "! kill -0 $pid 2>/dev/null"
}

# berthd_pid: the pid of the berthd started last (tests may restart it, and
# each bats test runs in its own process, so the file is the truth).
berthd_pid() { tail -n1 "$E2E_ROOT/berthd.pids"; }

# berthd_log_tail: the end of this file's berthd log (for diagnostics).
berthd_log_tail() { tail -n "${1:-40}" "$E2E_ROOT/berthd.log" 2>/dev/null; }

# ---------------------------------------------------------------- busybox image

# busybox_tar: path of the busybox rootfs tar, built once per run.
busybox_tar() {
  local dir=${BERTH_E2E_CACHE:-$E2E_ROOT}
  local tar="$dir/busybox-rootfs.tar"
  if [ ! -s "$tar" ]; then
    # files run in parallel lanes: build aside, then rename (atomic), so a
    # lane never reads a half-written tar
    mkdir -p "$dir"
    "$REPO_ROOT/scripts/mk-busybox-rootfs.sh" "$tar.$$" >&2 || return 1
    mv -f "$tar.$$" "$tar" || return 1
  fi
  echo "$tar"
}

# import_busybox [REF]: import the busybox rootfs as REF (default
# busybox:latest) through the raw API, so that no client's import command is
# a precondition of every test (run.bats tests both clients' import).
import_busybox() {
  local ref=${1:-busybox:latest} tar out code
  tar=$(busybox_tar) || return 1
  out=$(api POST "/v1.41/images/create?fromSrc=-&repo=${ref//:/%3A}&changes=CMD%20%5B%22sh%22%5D" \
    -H 'Content-Type: application/x-tar' --data-binary "@$tar") || {
    echo "import of $ref failed: $out" >&2; return 1; }
  code=${out##*$'\n'}
  if [ "$code" != 200 ] || [[ $out != *sha256:* ]]; then
    echo "import of $ref: HTTP $code: $out" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- setup / teardown

# e2e_net_setup_file TAG OCTET [BERTHD FLAGS...]: e2e_setup_file for a file
# that tests networking. Its berthd gets a default bridge of its own
# (bt<TAG><hex>), nftables table (berth<TAG>2e<hex>), veth prefix
# (v<TAG><hex>), --bip 10.OCTET.NET_O.1/24 (10.OCTET.NET_O..NET_O+3 are the
# file's: one OCTET per file) and --ip-forward=false, plus the flags given;
# the bridge and table are listed for e2e_cleanup_root. Exports NET_R (the
# random tag), NET_BR, NET_TABLE, NET_VETH, NET_O, NET_BIP.
e2e_net_setup_file() {
  local tag=$1 octet=$2
  shift 2
  export NET_R=$((RANDOM % 4096))
  export NET_BR NET_TABLE NET_VETH
  NET_BR=$(printf 'bt%s%x' "$tag" "$NET_R")   # IFNAMSIZ: 15 characters at most
  NET_TABLE=$(printf 'berth%s2e%x' "$tag" "$NET_R")
  NET_VETH=$(printf 'v%s%x' "$tag" "$NET_R")
  export NET_O=$((RANDOM % 60 * 4 + 8))
  export NET_BIP="10.$octet.$NET_O.1/24"
  export E2E_NET_ARGS="--bridge $NET_BR --bip $NET_BIP --nft-table $NET_TABLE --veth-prefix $NET_VETH --ip-forward=false $*"
  e2e_setup_file || return 1
  echo "$NET_BR" >>"$E2E_ROOT/net-links"
  echo "$NET_TABLE" >>"$E2E_ROOT/net-tables"
}

e2e_setup_file() {
  local parent=${BERTH_E2E_TMP:-/tmp}
  require_cmd curl || return 1   # api, berthd_ping
  E2E_ROOT=$(mktemp -d "$parent/bt.XXXXXX") || return 1
  SOCK="$E2E_ROOT/s.sock"
  E2E_CGP="berth-e2e-${E2E_ROOT##*.}$RANDOM"
  export E2E_ROOT SOCK E2E_CGP
  echo "$E2E_CGP" >"$E2E_ROOT/cgroup-parent"
  : >"$E2E_ROOT/berthd.pids"
  export DOCKER_CONFIG="$E2E_ROOT/docker-config"
  mkdir -p "$DOCKER_CONFIG"
  echo '{}' >"$DOCKER_CONFIG/config.json"
  if ! { berthd_start && import_busybox busybox:latest; }; then
    e2e_cleanup_root "$E2E_ROOT"
    return 1
  fi
}

e2e_teardown_file() {
  [ -n "${E2E_ROOT:-}" ] || return 0
  if [ -n "${E2E_KEEP:-}" ]; then
    echo "E2E_KEEP set: leaving $E2E_ROOT (clean it with e2e_cleanup_root)" >&2
    return 0
  fi
  e2e_cleanup_root "$E2E_ROOT"
}

# Print the berthd log tail after a failed test (call from teardown()).
e2e_teardown() {
  if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${E2E_ROOT:-}" ]; then return 0; fi
  echo "--- berthd log (last 40 lines) ---" >&2
  berthd_log_tail 40 >&2
}

# _e2e_is_cmd PID WORD: PID is alive and the base name of its argv[0] (or
# of argv[1], for a program run by an interpreter) starts with WORD.
_e2e_is_cmd() {
  local pid=$1 word=$2 a args=()
  [[ $pid =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || return 1
  # mapfile and a redirection: no process forked per pid looked at
  mapfile -d '' -t -n 2 args 2>/dev/null <"/proc/$pid/cmdline" || return 1
  for a in "${args[@]}"; do
    # "/usr/bin/berthd", or a process title such as sshd's
    # "sshd: /usr/sbin/sshd -D ... [listener]" (one argument): its first word
    [[ ${a##*/} == "$word"* ]] && return 0
    a=${a%% *}
    [[ ${a##*/} == "$word"* ]] && return 0
  done
  return 1
}

# _e2e_pids_mentioning WORD ROOT: live pids whose argv[0] mentions WORD and
# whose command line mentions ROOT (the temp root is unique to one file).
# One grep reads every command line: a fork per process took seconds per
# call on a loaded machine, and cleanup calls this several times. (ROOT has
# no NUL, so matching the raw NUL-separated argv finds the same processes.)
_e2e_pids_mentioning() {
  local word=$1 root=$2 f pid
  # one grep over every command line instead of a fork per process
  while IFS= read -r f; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" != "$$" ] || continue
    _e2e_is_cmd "$pid" "$word" && echo "$pid"
  done < <(grep -lasF -- "$root" /proc/[0-9]*/cmdline 2>/dev/null)
  return 0
}

# _e2e_monitor_pids ROOT: berth-monitor pids recorded under ROOT (state.json
# "MonitorPid", *.pid files) or started with a path under ROOT.
_e2e_monitor_pids() {
  local root=$1 pid
  {
    find "$root" -xdev \( -name state.json -o -name '*.pid' -o -name pid \) -type f \
      -exec cat {} + 2>/dev/null | grep -oE '"MonitorPid" *: *[0-9]+|^[0-9]+$' | grep -oE '[0-9]+$'
    _e2e_pids_mentioning berth-monitor "$root"
  } | sort -un | while read -r pid; do
    _e2e_is_cmd "$pid" berth-monitor && echo "$pid"
  done
}

# cgroup_dirs_of ID: container ID's cgroup directory in every hierarchy.
cgroup_dirs_of() {
  local h
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h$E2E_CGP/$1" ] && echo "$h$E2E_CGP/$1"
  done
  return 0
}

# _e2e_cgroup_dirs NAME: the cgroup directory NAME in every hierarchy.
_e2e_cgroup_dirs() {
  [[ $1 == berth-e2e-* ]] || return 0   # never touch a tree we did not name
  find /sys/fs/cgroup -maxdepth 3 -type d -name "$1" 2>/dev/null
}

# _e2e_cgroup_procs NAME: pids in any cgroup below NAME.
_e2e_cgroup_procs() {
  local d
  for d in $(_e2e_cgroup_dirs "$1"); do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

# _e2e_mounts_under ROOT: mount points at or under ROOT, deepest first.
_e2e_mounts_under() {
  awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# _e2e_stop_pid PID WORD: SIGTERM, wait up to 5 s, SIGKILL; only if PID is
# still the WORD process.
_e2e_stop_pid() {
  local pid=$1 word=$2 _
  _e2e_is_cmd "$pid" "$word" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    _e2e_is_cmd "$pid" "$word" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 20); do _e2e_is_cmd "$pid" "$word" || return 0; sleep 0.1; done
}

# e2e_cleanup_root DIR: remove everything the berthd of temp root DIR left:
# daemon, monitors, container processes, mounts, cgroups, the directory.
# Safe to call twice, after a failure, or from another process.
e2e_cleanup_root() {
  local root=$1 cgp pid d mp mons inits
  [ -n "$root" ] && [ -d "$root" ] || return 0
  case $root in /tmp/*|"${BERTH_E2E_TMP:-/nonexistent}"/*) ;;
    *) echo "e2e_cleanup_root: refusing $root" >&2; return 1 ;; esac
  cgp=$(cat "$root/cgroup-parent" 2>/dev/null || true)

  # 0. registries and test servers a test started (tests/e2e/registry_helpers.bash)
  for pid in $(cat "$root/registry.pids" 2>/dev/null); do
    _e2e_stop_pid "$pid" docker-registry
  done
  for pid in $(cat "$root/sshd.pids" 2>/dev/null); do    # remote.bats' own sshd on loopback
    _e2e_stop_pid "$pid" sshd
  done
  for pid in $(cat "$root/token.pids" 2>/dev/null); do   # token_server.py, search_index.py
    _e2e_stop_pid "$pid" token_server
    _e2e_stop_pid "$pid" search_index
  done

  # 1. the daemon(s) this root started
  for pid in $(cat "$root/berthd.pids" "$root/berthd.pid" 2>/dev/null) \
             $(_e2e_pids_mentioning berthd "$root"); do
    _e2e_stop_pid "$pid" berthd
  done

  # 2. container processes: whatever is in our cgroups (thaw paused ones
  #    first, a frozen task does not die), and the inits recorded in
  #    state.json whose parent is one of our monitors.
  mons=$(_e2e_monitor_pids "$root")
  inits=$(find "$root" -xdev -name state.json -type f -exec cat {} + 2>/dev/null |
          grep -oE '"Pid" *: *[0-9]+' | grep -oE '[0-9]+$' || true)
  for pid in $inits; do
    local ppid
    ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    if [ -n "$ppid" ] && grep -qx "$ppid" <<<"$mons"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$cgp" ]; then
    for d in $(_e2e_cgroup_dirs "$cgp"); do
      find "$d" -name freezer.state 2>/dev/null | while read -r f; do echo THAWED >"$f" 2>/dev/null; done
      find "$d" -name cgroup.freeze 2>/dev/null | while read -r f; do echo 0 >"$f" 2>/dev/null; done
    done
    for _ in $(seq 50); do
      local procs
      procs=$(_e2e_cgroup_procs "$cgp")
      [ -n "$procs" ] || break
      # shellcheck disable=SC2086
      kill -KILL $procs 2>/dev/null || true
      sleep 0.1
    done
  fi

  # 3. monitors (they exit by themselves once their container is gone)
  for pid in $mons $(_e2e_monitor_pids "$root"); do _e2e_stop_pid "$pid" berth-monitor; done
  # 3b. berth-dns resolvers (one per user network; they outlive berthd and
  #     are started with their config under the root)
  for pid in $(_e2e_pids_mentioning berth-dns "$root"); do _e2e_stop_pid "$pid" berth-dns; done

  # 4. a tmux server a test started
  if [ -S "$root/tmux.sock" ]; then tmux -S "$root/tmux.sock" kill-server 2>/dev/null || true; fi

  # 5. mounts under the root, deepest first, lazily
  for _ in 1 2 3; do
    mp=$(_e2e_mounts_under "$root")
    [ -n "$mp" ] || break
    while read -r d; do umount -l "$d" 2>/dev/null || true; done <<<"$mp"
  done

  # 5b. network objects a networking test named (links in the host's
  #     namespace, berth's nft table of that daemon)
  for d in $(cat "$root/net-links" 2>/dev/null); do
    ip link del "$d" 2>/dev/null || true
  done
  for d in $(cat "$root/net-tables" 2>/dev/null); do
    python3 "$E2E_DIR/nft_cmd.py" delete table inet "$d" >/dev/null 2>&1 || true
  done

  # 6. the cgroup trees, deepest first, in every hierarchy
  if [ -n "$cgp" ]; then
    for d in $(_e2e_cgroup_dirs "$cgp"); do
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    if [ -n "$(_e2e_cgroup_dirs "$cgp")" ]; then
      echo "e2e_cleanup_root: cgroups left: $(_e2e_cgroup_dirs "$cgp" | tr '\n' ' ')" >&2
    fi
  fi

  # 7. the directory (never crossing into a mount that survived)
  if [ -z "$(_e2e_mounts_under "$root")" ]; then
    rm -rf --one-file-system "$root"
  else
    echo "e2e_cleanup_root: mounts left under $root, not removing it" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- leftovers

# remove_all_containers: force-remove every container of this berthd via the
# raw API (independent of either client's rm/ps).
remove_all_containers() {
  local out id
  out=$(api GET '/v1.41/containers/json?all=1') || return 1
  grep -oE '"Id" *: *"[0-9a-f]{64}"' <<<"$out" | grep -oE '[0-9a-f]{64}' |
    while read -r id; do
      api DELETE "/v1.41/containers/$id?force=1&v=1" >/dev/null || true
    done
}

_e2e_no_leftovers_now() {
  [ -z "$(_e2e_mounts_under "$E2E_ROOT")" ] &&
    [ -z "$(_e2e_cgroup_procs "$E2E_CGP")" ] &&
    [ -z "$(_e2e_monitor_pids "$E2E_ROOT")" ]
}

# assert_no_leftovers: after removing all containers, within 10 s there is
# no mount under the temp root, no process in the cgroup parent and no
# berth-monitor of this daemon.
assert_no_leftovers() {
  remove_all_containers
  if ! retry_until 10 _e2e_no_leftovers_now; then
    echo "leftovers after removing every container:" >&2
    echo "  mounts under $E2E_ROOT: $(_e2e_mounts_under "$E2E_ROOT" | tr '\n' ' ')" >&2
    echo "  processes in cgroup $E2E_CGP: $(_e2e_cgroup_procs "$E2E_CGP" | while read -r p; do
           printf '%s(%s) ' "$p" "$(tr '\0' ' ' 2>/dev/null </proc/"$p"/cmdline)"; done)" >&2
    echo "  monitors: $(_e2e_monitor_pids "$E2E_ROOT" | tr '\n' ' ')" >&2
    return 1
  fi
  # the daemon must still be the one we started, alive and answering
  berthd_ping || { echo "berthd no longer answers" >&2; return 1; }
}

# e2e_make_tls_certs DIR: an ECDSA P-256 CA (ca.pem, ca-key.pem), a server
# certificate for IP 127.0.0.1 (server-cert.pem, server-key.pem) and a client
# certificate (cert.pem, key.pem) signed by it, valid 2 days: the files of
# berthd's --tlsverify and of DOCKER_CERT_PATH. Used by remote.bats and
# bench/tls-bench.sh.
e2e_make_tls_certs() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=berth test ca" -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
      -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=client \
      -keyout key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out cert.pem 2>/dev/null
  )
  [ -s "$d/server-cert.pem" ] && [ -s "$d/cert.pem" ]
}
