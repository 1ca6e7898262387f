#!/usr/bin/env bash
# Manual end-to-end check of berth-monitor (run + exec) against a busybox
# rootfs. Needs root. Usage: tests/e2e/monitor_smoke.sh [path/to/berth-monitor]
# Cleans up everything it creates (temp dir, cgroups under berth-mon-test-$$,
# processes it started) even on failure.
set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
MON=${1:-}
if [[ -z "$MON" ]]; then
  for b in "$ROOT_DIR"/build-mon/bin/berth-monitor "$ROOT_DIR"/build*/bin/berth-monitor; do
    [[ -x "$b" ]] && { MON=$b; break; }
  done
fi
[[ -x "$MON" ]] || { echo "berth-monitor not found (build it first)"; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 2; }

TMP=$(mktemp -d /tmp/berth-mon-smoke.XXXXXX)
CGPARENT=berth-mon-test-$$
CGROOT=/sys/fs/cgroup
PIDS_FILE=$TMP/pids
PASS=0
FAIL=0

# wait_for SECONDS CMD...: run CMD every 0.05 s until it succeeds; 1 on timeout.
wait_for() {
  local n=$(( $1 * 20 )); shift
  while (( n-- > 0 )); do "$@" && return 0; sleep 0.05; done
  return 1
}
pids_gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

cleanup() {
  local killed=()
  if [[ -f $PIDS_FILE ]]; then
    while read -r p; do
      [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null && killed+=("$p")
    done <"$PIDS_FILE"
  fi
  # the cgroups can only go once the killed processes are gone
  wait_for 5 pids_gone "${killed[@]}" || echo "cleanup: processes still there: ${killed[*]}"
  # leaf cgroups first, then our parent (never anything else)
  for c in "$CGROOT"/*/"$CGPARENT" "$CGROOT/$CGPARENT"; do
    [[ -d "$c" ]] || continue
    find "$c" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
    rmdir "$c" 2>/dev/null
  done
  # overlay lives in the container's mount namespace; nothing on the host,
  # but be safe about stray mounts under TMP.
  grep -o " $TMP[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ok() { echo "ok   - $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $1${2:+: $2}"; FAIL=$((FAIL + 1)); }

# --- busybox rootfs -----------------------------------------------------------
RFS=$TMP/rootfs
mkdir -p "$RFS"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$RFS/bin/busybox"
for a in $(/bin/busybox --list); do
  [[ -e "$RFS/bin/$a" ]] || ln -s busybox "$RFS/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$RFS/etc/passwd"
echo "root:x:0:" >"$RFS/etc/group"
echo "berth-smoke-host" >"$TMP/hostname"
printf '127.0.0.1\tlocalhost\n' >"$TMP/hosts"

CLIENT=$TMP/client.py
cat >"$CLIENT" <<'PY'
import json, os, socket, struct, subprocess, sys, time, select

HDR = struct.Struct("=B3xI")
T = dict(Hello=1, Stdin=2, StdinClose=3, Resize=4, Signal=5, Started=64, StartError=65, Stdout=66, Stderr=67, Exit=68)

def mkconfig(bundle, args, tmp, cgparent, cid, tty=False, stdin=False, hostname="smoke", net=True, env=None, cwd="/",
             uid=0, gid=0, readonly=False):
    os.makedirs(bundle, exist_ok=True)
    up, wk = os.path.join(bundle, "upper"), os.path.join(bundle, "work")
    os.makedirs(up, exist_ok=True); os.makedirs(wk, exist_ok=True)
    os.makedirs(os.path.join(bundle, "merged"), exist_ok=True)
    ns = [{"type": t} for t in ("pid", "mount", "uts", "ipc")] + ([{"type": "network"}] if net else [])
    cfg = {
        "ociVersion": "1.0.2",
        "process": {"terminal": tty, "consoleSize": {"height": 30, "width": 100},
                    "user": {"uid": uid, "gid": gid, "additionalGids": [10]}, "args": args,
                    "env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
                    "cwd": cwd,
                    "capabilities": {k: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                                         "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                                         "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
                                         "CAP_NOT_A_REAL_ONE"]
                                     for k in ("bounding", "effective", "permitted")},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}],
                    "noNewPrivileges": True},
        "root": {"path": "merged", "readonly": readonly},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/etc/hostname", "type": "bind", "source": os.path.join(tmp, "hostname"), "options": ["rbind", "rprivate"]},
            {"destination": "/etc/hosts", "type": "bind", "source": os.path.join(tmp, "hosts"), "options": ["rbind", "rprivate", "ro"]},
        ],
        "linux": {"namespaces": ns, "cgroupsPath": "/%s/%s" % (cgparent, cid),
                  "resources": {"memory": {"limit": 64 << 20}, "cpu": {"shares": 512}, "pids": {"limit": 100}},
                  "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
                  "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]},
        "annotations": {"berth.overlay.lowerdir": os.path.join(tmp, "rootfs"), "berth.overlay.upperdir": up,
                        "berth.overlay.workdir": wk, "berth.stdin": "1" if stdin else "0"},
    }
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f)

def send(sock, t, payload=b""):
    sock.sendall(HDR.pack(T[t], len(payload)) + payload)

def session(argv, pidsfile, stdin_data=None, signal_after=None, timeout=20):
    a, b = socket.socketpair()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, pass_fds=[b.fileno(), 3], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.dup2(b.fileno(), 3) if b.fileno() != 3 else None)
    # preexec runs before close_fds; keeping 3 in pass_fds keeps the dup.
    with open(pidsfile, "a") as f:
        f.write("%d\n" % p.pid)
    b.close()
    out = {"stdout": b"", "stderr": b"", "monitor_pid": p.pid}
    buf = b""
    deadline = t0 + timeout
    done = False
    while not done and time.monotonic() < deadline:
        r, _, _ = select.select([a], [], [], 0.5)
        if not r:
            continue
        d = a.recv(65536)
        if not d:
            break
        buf += d
        while len(buf) >= 8:
            typ, ln = HDR.unpack(buf[:8])
            if len(buf) < 8 + ln:
                break
            pl, buf = buf[8:8 + ln], buf[8 + ln:]
            if typ == T["Started"]:
                out["started"] = struct.unpack_from("=i", pl)[0]  # + features (protocol.h)
                out["t_started_ms"] = (time.monotonic() - t0) * 1000
                if stdin_data is not None:
                    send(a, "Stdin", stdin_data.encode())
                    send(a, "StdinClose")
                if signal_after is not None:
                    time.sleep(signal_after)
                    send(a, "Signal", struct.pack("=i", 9))
            elif typ == T["Stdout"]:
                out["stdout"] += pl
            elif typ == T["Stderr"]:
                out["stderr"] += pl
            elif typ == T["StartError"]:
                st, err = struct.unpack("=ii", pl[:8])
                out["starterror"] = {"stage": st, "errno": err, "message": pl[8:].decode(errors="replace")}
                done = True
            elif typ == T["Exit"]:
                out["exit"] = json.loads(pl)
                out["t_exit_ms"] = (time.monotonic() - t0) * 1000
                done = True
    try:
        rc = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill(); rc = p.wait()
    out["monitor_rc"] = rc
    out["monitor_stderr"] = p.stderr.read().decode(errors="replace")
    out["stdout"] = out["stdout"].decode(errors="replace")
    out["stderr"] = out["stderr"].decode(errors="replace")
    return out

def main():
    cmd = sys.argv[1]
    if cmd == "mkconfig":
        spec = json.loads(sys.argv[2])
        mkconfig(**spec)
    elif cmd == "session":
        spec = json.loads(sys.argv[2])
        print(json.dumps(session(spec["argv"], spec["pids"], spec.get("stdin"), spec.get("signal_after"),
                                 spec.get("timeout", 20))))
    elif cmd == "signal":  # connect to --socket, send Signal, wait for Exit
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])
        send(s, "Hello"); send(s, "Signal", struct.pack("=i", int(sys.argv[3])))
        buf = b""; s.settimeout(10)
        while True:
            d = s.recv(65536)
            if not d: break
            buf += d
        msgs = []
        while len(buf) >= 8:
            typ, ln = HDR.unpack(buf[:8]); msgs.append((typ, buf[8:8 + ln])); buf = buf[8 + ln:]
        ex = [json.loads(p) for t, p in msgs if t == T["Exit"]]
        print(json.dumps({"types": [t for t, _ in msgs], "exit": ex[0] if ex else None}))
    elif cmd == "get":  # get JSONFILE key.path
        d = json.load(open(sys.argv[2]))
        for k in sys.argv[3].split("."):
            d = d.get(k) if isinstance(d, dict) else None
        print("" if d is None else d)

main()
PY

N=0
# run_case NAME ARGS_JSON [extra mkconfig json fields] [stdin data] -> $TMP/NAME.json
run_case() {
  local name=$1 args=$2 extra=${3:-} stdin=${4:-}
  N=$((N + 1))
  local bundle=$TMP/b-$name id=c$N-$$
  python3 "$CLIENT" mkconfig "{\"bundle\":\"$bundle\",\"args\":$args,\"tmp\":\"$TMP\",\"cgparent\":\"$CGPARENT\",\"cid\":\"$id\"$extra}"
  local sess="{\"argv\":[\"$MON\",\"run\",\"--bundle\",\"$bundle\",\"--id\",\"$id\",\"--socket\",\"$bundle/mon.sock\",\"--cgroup-root\",\"$CGROOT\"],\"pids\":\"$PIDS_FILE\""
  [[ -n "$stdin" ]] && sess="$sess,\"stdin\":$stdin"
  sess="$sess}"
  python3 "$CLIENT" session "$sess" >"$TMP/$name.json"
}
get() { python3 "$CLIENT" get "$TMP/$1.json" "$2"; }

# 1. echo hello
run_case echo '["echo","hello"]'
if [[ "$(get echo stdout)" == "hello" && "$(get echo exit.ExitCode)" == "0" ]]; then ok "echo hello -> output, exit 0"
else bad "echo hello" "$(cat "$TMP/echo.json")"; fi
if [[ -f "$TMP/b-echo/exit.json" && -f "$TMP/b-echo/state.json" ]] && grep -q '"log":"hello\\n","stream":"stdout"' "$TMP/b-echo/c1-$$-json.log"; then
  ok "exit.json, state.json and json-file log written"
else bad "files" "$(ls "$TMP/b-echo"; cat "$TMP/b-echo"/*-json.log 2>/dev/null)"; fi
if [[ ! -e "$CGROOT/memory/$CGPARENT/c1-$$" && ! -e "$TMP/b-echo/mon.sock" ]]; then ok "cgroup and socket removed"
else bad "cgroup/socket cleanup"; fi
echo "     start latency: spawn->Started $(get echo t_started_ms) ms, ->Exit $(get echo t_exit_ms) ms"

# 2. exit code
run_case exit3 '["sh","-c","exit 3"]'
[[ "$(get exit3 exit.ExitCode)" == "3" ]] && ok "sh -c 'exit 3' -> ExitCode 3" || bad "exit 3" "$(cat "$TMP/exit3.json")"

# 3. missing command
run_case missing '["nosuchcmd"]'
if [[ "$(get missing starterror.errno)" == "2" && "$(get missing starterror.stage)" == "7" &&
      "$(get missing starterror.message)" == *"executable file not found"* && "$(get missing monitor_rc)" == "1" ]]; then
  ok "missing command -> StartError{Exec, ENOENT}"
else bad "missing command" "$(cat "$TMP/missing.json")"; fi
[[ ! -e "$TMP/b-missing/exit.json" ]] && ok "no exit.json after StartError" || bad "exit.json after StartError"

# 4. pid 1
run_case pid1 '["sh","-c","echo $$"]'
[[ "$(get pid1 stdout)" == "1" ]] && ok "echo \$\$ -> 1" || bad "pid 1" "$(cat "$TMP/pid1.json")"

# 5. hostname
run_case host '["hostname"]' ',"hostname":"smoke-host"'
[[ "$(get host stdout)" == "smoke-host" ]] && ok "hostname" || bad "hostname" "$(cat "$TMP/host.json")"

# 6. ps shows only the container
run_case ps '["ps","-o","pid,comm"]'
lines=$(get ps stdout | grep -cE '^ *[0-9]+ ')
[[ "$lines" == "1" ]] && ok "ps shows only the container's process" || bad "ps" "$(get ps stdout)"

# 7. stderr, stdin, mounts, devices
run_case stdin '["sh","-c","cat; echo err >&2"]' ',"stdin":true' '"piped input\n"'
[[ "$(get stdin stdout)" == "piped input" && "$(get stdin stderr)" == "err" ]] && ok "stdin pipe + stderr" || bad "stdin" "$(cat "$TMP/stdin.json")"
run_case devs '["sh","-c","ls /dev; cat /etc/hostname; readlink /dev/ptmx; grep -c overlay /proc/mounts; touch /sys/x 2>/dev/null || echo sysro; ulimit -n"]'
out=$(get devs stdout)
if [[ "$out" == *null*urandom* && "$out" == *berth-smoke-host* && "$out" == *pts/ptmx* && "$out" == *sysro* && "$out" == *1024 ]]; then
  ok "/dev nodes, bind mounts, ptmx link, ro /sys, rlimits"
else bad "mounts" "$out $(get devs stderr)"; fi
run_case caps '["sh","-c","grep -E \"CapEff|CapBnd|NoNewPrivs\" /proc/self/status"]'
out=$(get caps stdout)
[[ "$out" == *"CapEff:	00000000a80425fb"* && "$out" == *"NoNewPrivs:	1"* ]] && ok "capabilities + no_new_privs" || bad "caps" "$out"

run_case user '["sh","-c","id -u; id -g; id -G; pwd; touch /x 2>/dev/null || echo rofs"]' ',"uid":1000,"gid":1000,"cwd":"/home/u","readonly":true,"net":false'
out=$(get user stdout)
[[ "$out" == $'1000\n1000\n1000 10\n/home/u\nrofs' ]] && ok "user, groups, created cwd, read-only root, host netns" || bad "user" "$out $(get user stderr) $(get user starterror)"

# 8. tty
run_case tty '["sh","-c","tty >/dev/null && echo isatty; stty size"]' ',"tty":true'
out=$(get tty stdout)
[[ "$out" == *isatty* && "$out" == *"30 100"* && "$(get tty exit.ExitCode)" == "0" ]] && ok "tty run" || bad "tty" "$(cat "$TMP/tty.json")"

# 9. exec into a running container, then kill it through --socket
N=$((N + 1))
bundle=$TMP/b-long id=c$N-$$
python3 "$CLIENT" mkconfig "{\"bundle\":\"$bundle\",\"args\":[\"sleep\",\"30\"],\"tmp\":\"$TMP\",\"cgparent\":\"$CGPARENT\",\"cid\":\"$id\",\"hostname\":\"exec-host\"}"
python3 "$CLIENT" session "{\"argv\":[\"$MON\",\"run\",\"--bundle\",\"$bundle\",\"--id\",\"$id\",\"--socket\",\"$bundle/mon.sock\"],\"pids\":\"$PIDS_FILE\",\"timeout\":40}" >"$TMP/long.json" &
wait_for 10 test -f "$bundle/state.json" || bad "exec target" "no $bundle/state.json after 10 s"
cpid=$(python3 "$CLIENT" get "$bundle/state.json" Pid)
if [[ -n "$cpid" ]]; then
  mpid=$(python3 "$CLIENT" get "$bundle/state.json" MonitorPid)
  rss=$(ps -o rss= -p "$mpid" | tr -d ' ')
  echo "     monitor RSS while the container runs: ${rss} kB"
  cat >"$TMP/proc.json" <<EOF
{"args":["sh","-c","echo \$\$ \$(hostname); ps -o pid,comm | grep -c sleep; pwd"],"env":["PATH=/bin"],"cwd":"/tmp/newdir","terminal":false,"user":{"uid":0,"gid":0}}
EOF
  python3 "$CLIENT" session "{\"argv\":[\"$MON\",\"exec\",\"--pid\",\"$cpid\",\"--process\",\"$TMP/proc.json\"],\"pids\":\"$PIDS_FILE\"}" >"$TMP/exec.json"
  out=$(get exec stdout)
  if [[ "$out" == *"exec-host"* && "$out" != "1 "* && "$out" == *$'\n1\n/tmp/newdir'* && "$(get exec exit.ExitCode)" == "0" ]]; then
    ok "exec in a running container"
  else bad "exec" "$(cat "$TMP/exec.json")"; fi
  echo '{"args":["cat"],"env":["PATH=/bin"],"cwd":"/","berthStdin":true}' >"$TMP/proc2.json"
  python3 "$CLIENT" session "{\"argv\":[\"$MON\",\"exec\",\"--pid\",\"$cpid\",\"--process\",\"$TMP/proc2.json\"],\"pids\":\"$PIDS_FILE\",\"stdin\":\"via exec\\n\"}" >"$TMP/exec2.json"
  [[ "$(get exec2 stdout)" == "via exec" && "$(get exec2 exit.ExitCode)" == "0" ]] && ok "exec with stdin (berthStdin)" || bad "exec stdin" "$(cat "$TMP/exec2.json")"
  python3 "$CLIENT" signal "$bundle/mon.sock" 9 >"$TMP/sig.json"
  wait
  [[ "$(get long exit.ExitCode)" == "137" && "$(get long exit.Signal)" == "9" ]] && ok "Signal via --socket -> 137" || bad "signal" "$(cat "$TMP/long.json") $(cat "$TMP/sig.json")"
else
  bad "long-running container did not start" "$(cat "$TMP/long.json")"
  wait
fi

# 10. OOM
run_case oom '["sh","-c","x=$(head -c 200000000 /dev/zero | tr \"\\\\0\" a); echo survived"]'
[[ "$(get oom exit.OOMKilled)" == "True" ]] && ok "OOMKilled detected" || bad "oom" "$(python3 -c "import json;d=json.load(open('$TMP/oom.json'));print(d.get('exit'),d.get('starterror'))")"

echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
