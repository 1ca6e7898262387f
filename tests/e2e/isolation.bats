#!/usr/bin/env bats
# Default confinement equal to Docker's (capabilities, seccomp, masked and
# read-only paths), --privileged, --cap-add/--cap-drop, --security-opt,
# namespaces by mode, --sysctl, --group-add, --device, --read-only,
# --shm-size. Each scenario with the berth CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# Docker's default capability set as /proc/self/status prints it.
DOCKER_CAPS=00000000a80425fb

status_field() { # status_field OUTPUT FIELD
  awk -v f="$2:" '$1 == f {print $2}' <<<"$1"
}

scenario_default_status() {
  local c=$1
  run cli "$c" run --rm busybox cat /proc/self/status
  assert_success
  [ "$(status_field "$output" CapEff)" = "$DOCKER_CAPS" ] || _e2e_fail "CapEff is not Docker's"
  [ "$(status_field "$output" CapBnd)" = "$DOCKER_CAPS" ] || _e2e_fail "CapBnd is not Docker's"
  [ "$(status_field "$output" CapPrm)" = "$DOCKER_CAPS" ] || _e2e_fail "CapPrm is not Docker's"
  [ "$(status_field "$output" Seccomp)" = 2 ] || _e2e_fail "no seccomp filter"
  [ "$(status_field "$output" NoNewPrivs)" = 0 ] || _e2e_fail "no_new_privs set by default"
}
@test "berth: default container has Docker's caps and a seccomp filter" { scenario_default_status berth; }
@test "docker: default container has Docker's caps and a seccomp filter" { scenario_default_status docker; }

scenario_default_denied() {
  local c=$1
  run cli "$c" run --rm busybox sh -c 'mount -t tmpfs none /tmp 2>&1; echo "mount=$?"'
  assert_output_contains "mount=1"
  assert_output_contains "ermission denied"
  run cli "$c" run --rm busybox sh -c 'unshare -n true 2>&1; echo "unshare=$?"'
  assert_output_contains "Operation not permitted"
  assert_output_contains "unshare=1"
  # reboot(2) itself, not a signal to init: EPERM from the filter
  run cli "$c" run --rm busybox sh -c 'reboot -f 2>&1; echo "reboot=$?"'
  assert_output_contains "reboot=1"
  assert_output_contains "Operation not permitted"
  # clone with a namespace flag is refused too (the profile's clone rule)
  run cli "$c" run --rm busybox sh -c 'unshare -p -f true 2>&1; echo "rc=$?"'
  assert_output_contains "rc=1"
}
@test "berth: mount, unshare and reboot fail with EPERM by default" { scenario_default_denied berth; }
@test "docker: mount, unshare and reboot fail with EPERM by default" { scenario_default_denied docker; }

scenario_masked() {
  local c=$1
  # /proc/kcore and /proc/sysrq-trigger exist only on kernels built with them
  run cli "$c" run --rm busybox sh -c 'wc -c </proc/keys; wc -c </proc/timer_list
    for f in /proc/kcore /proc/sysrq-trigger; do
      [ -e $f ] || { echo "$f absent"; continue; }
      echo h >$f 2>/dev/null && echo "$f writable"; [ "$(wc -c <$f)" = 0 ] || echo "$f readable"
    done
    echo x >/proc/sys/kernel/domainname 2>&1; echo "sys=$?"
    echo "masks=$(grep -cE " /proc/(keys|timer_list) " /proc/self/mountinfo)"'
  assert_success
  [ "$(sed -n 1p <<<"$output")" = 0 ] || _e2e_fail "/proc/keys not empty"
  [ "$(sed -n 2p <<<"$output")" = 0 ] || _e2e_fail "/proc/timer_list not empty"
  refute_output_contains "writable"
  refute_output_contains "readable"
  assert_output_contains "sys=1"
  assert_output_contains "Read-only file system"
  assert_output_contains "masks=2"
}
@test "berth: masked and read-only /proc paths" { scenario_masked berth; }
@test "docker: masked and read-only /proc paths" { scenario_masked docker; }

scenario_privileged() {
  local c=$1
  run cli "$c" run --rm --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status
    mount -t tmpfs none /tmp && echo mounted
    unshare -n true && echo unshared
    wc -c </proc/keys'
  assert_success
  assert_output_contains "mounted"
  assert_output_contains "unshared"
  [ "$(status_field "$output" Seccomp)" = 0 ] || _e2e_fail "privileged has a seccomp filter"
  local eff
  eff=$(status_field "$output" CapEff)
  # every capability the host grants (this host lacks CAP_SYS_RESOURCE)
  local host
  host=$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)
  [ "$eff" = "$host" ] || _e2e_fail "CapEff $eff is not the host's bounding set $host"
  [ "$(tail -n1 <<<"$output")" != 0 ] || _e2e_fail "/proc/keys masked under --privileged"
  # a capability the host lacks (CAP_SYS_RESOURCE here) is left out, and the log says so
  if [ $(( 0x$host >> 24 & 1 )) = 0 ]; then
    local id
    id=$(cli "$c" run -d --privileged busybox true)
    cli "$c" wait "$id" >/dev/null
    grep -q "capabilities the host does not grant were left out: .*CAP_SYS_RESOURCE" \
      "$E2E_ROOT/data/containers/$id/monitor.log" || _e2e_fail "no note about CAP_SYS_RESOURCE in the monitor log"
    cli "$c" rm "$id" >/dev/null
  fi
}
@test "berth: --privileged gets the host's caps, no filter, no masks" { scenario_privileged berth; }
@test "docker: --privileged gets the host's caps, no filter, no masks" { scenario_privileged docker; }

scenario_cap_add_drop() {
  local c=$1
  run cli "$c" run --rm --cap-drop ALL --cap-add NET_RAW busybox grep CapEff /proc/self/status
  assert_success
  assert_output_contains "0000000000002000"
  run cli "$c" run --rm --cap-drop chown busybox sh -c 'grep CapEff /proc/self/status; chown 65534 /tmp 2>&1; echo "rc=$?"'
  assert_output_contains "00000000a80425fa"
  assert_output_contains "rc=1"
  # CAP_SYS_ADMIN also opens the profile's mount rule
  run cli "$c" run --rm --cap-add SYS_ADMIN busybox sh -c 'mount -t tmpfs none /tmp && echo mounted'
  assert_success
  assert_output "mounted"
  run cli "$c" run --rm --cap-add ALL --cap-drop MKNOD busybox grep CapEff /proc/self/status
  assert_success
  refute_output_contains "$DOCKER_CAPS"
  run -125 cli "$c" run --rm --cap-add NOPE busybox true
  assert_status 125
  assert_output_contains 'unknown capability: "CAP_NOPE"'
}
@test "berth: --cap-add / --cap-drop, ALL, unknown names" { scenario_cap_add_drop berth; }
@test "docker: --cap-add / --cap-drop, ALL, unknown names" { scenario_cap_add_drop docker; }

scenario_security_opt() {
  local c=$1
  run cli "$c" run --rm --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status
  assert_success
  assert_output_contains "0"
  refute_output_contains "2"
  run cli "$c" run --rm --security-opt no-new-privileges busybox grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
  assert_success
  assert_output_contains "NoNewPrivs:	1"
  assert_output_contains "Seccomp:	2"
  # a profile file: allow everything but mkdir
  cat >"$E2E_ROOT/nomkdir.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}
EOF
  run cli "$c" run --rm --security-opt "seccomp=$E2E_ROOT/nomkdir.json" busybox sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"'
  assert_output_contains "rc=1"
  assert_output_contains "Permission denied"
  run -125 cli "$c" run --rm --security-opt bogus busybox true
  assert_status 125
  assert_output_contains 'Invalid --security-opt: "bogus"'
}
@test "berth: --security-opt seccomp=unconfined|FILE, no-new-privileges" { scenario_security_opt berth; }
@test "docker: --security-opt seccomp=unconfined|FILE, no-new-privileges" { scenario_security_opt docker; }

scenario_namespaces() {
  local c=$1
  run cli "$c" run --rm --pid=host busybox cat /proc/1/comm
  assert_success
  [ "$output" = "$(cat /proc/1/comm)" ] || _e2e_fail "--pid=host does not see the host's pid 1"
  run cli "$c" run --rm busybox cat /proc/1/comm
  assert_output "cat"
  run cli "$c" run --rm --uts=host busybox hostname
  assert_output "$(hostname)"
  run cli "$c" run --rm --ipc=host busybox readlink /proc/self/ns/ipc
  assert_output "$(readlink /proc/self/ns/ipc)"
  run cli "$c" run --rm busybox readlink /proc/self/ns/ipc
  [ "$output" != "$(readlink /proc/self/ns/ipc)" ] || _e2e_fail "default shares the host's ipc namespace"
}
@test "berth: --pid=host, --uts=host, --ipc=host" { scenario_namespaces berth; }
@test "docker: --pid=host, --uts=host, --ipc=host" { scenario_namespaces docker; }

# A container without a PID namespace of its own leaves no process behind
# when it stops: what its init forked goes with it (containerd kills the
# cgroup for a shared PID namespace; the monitor does the same).
scenario_pid_host_stop() {
  local c=$1 name="pidhost-$c-$RANDOM" marker=$((RANDOM % 900 + 7100)) pids
  run cli "$c" run -d --name "$name" --pid=host busybox sh -c "sleep $marker & exec sleep $((marker + 1))"
  assert_success
  wait_until 10 "both sleeps running" eval "[ \$(pgrep -fc '^sleep $marker\$|^sleep $((marker + 1))\$') -eq 2 ]"
  run cli "$c" stop -t 1 "$name"
  assert_success
  wait_until 10 "the forked sleep gone with the container" eval "! pgrep -f '^sleep $marker\$' >/dev/null"
  pids=$(pgrep -f "^sleep $((marker + 1))\$" || true)
  [ -z "$pids" ] || _e2e_fail "the init's sleep still runs: $pids"
  run cli "$c" rm "$name"
  assert_success
}
@test "berth: stop of a --pid=host container leaves none of its processes" { scenario_pid_host_stop berth; }
@test "docker: stop of a --pid=host container leaves none of its processes" { scenario_pid_host_stop docker; }

scenario_sysctl_groups_devices() {
  local c=$1
  run cli "$c" run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=123456 busybox \
    sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
  assert_success
  assert_output "1
123456"
  run -125 cli "$c" run --rm --sysctl vm.swappiness=1 busybox true
  assert_status 125
  assert_output_contains "invalid argument \"vm.swappiness=1\" for \"--sysctl\" flag: sysctl 'vm.swappiness=1' is not allowed"
  # the daemon checks too (API clients): net.* is refused with the host network
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}}}'
  assert_output_contains 'sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace'
  assert_output_contains "400"
  run cli "$c" run --rm --group-add 1234 --group-add nogroup busybox id -G
  assert_success
  assert_output "0 1234 65534"
  run cli "$c" run --rm --device /dev/null:/dev/mynull busybox sh -c 'echo x >/dev/mynull && echo ok'
  assert_success
  assert_output "ok"
  # docker's CLI turns any "no such file or directory" into 127
  run -127 cli "$c" run --rm --device /dev/nonexistent-e2e busybox true
  assert_status 127
  assert_output_contains 'error gathering device information while adding custom device "/dev/nonexistent-e2e"'
  # the devices cgroup denies what was not allowed (v1: /dev/loop-control is c 10:237)
  run cli "$c" run --rm busybox sh -c 'mknod /tmp/lc c 10 237 && cat /tmp/lc 2>&1; echo "rc=$?"'
  assert_output_contains "Operation not permitted"
}
@test "berth: --sysctl, --group-add, --device, devices cgroup" { scenario_sysctl_groups_devices berth; }
@test "docker: --sysctl, --group-add, --device, devices cgroup" { scenario_sysctl_groups_devices docker; }

scenario_readonly_shm() {
  local c=$1
  run cli "$c" run --rm --read-only busybox sh -c 'touch /x 2>&1; echo "rc=$?"; touch /dev/shm/y && echo shm'
  assert_output_contains "Read-only file system"
  assert_output_contains "rc=1"
  assert_output_contains "shm"
  run cli "$c" run --rm --shm-size 16m busybox sh -c "df -k /dev/shm | awk 'NR==2 {print \$2}'"
  assert_success
  assert_output "16384"
  run cli "$c" run --rm busybox sh -c "df -k /dev/shm | awk 'NR==2 {print \$2}'"
  assert_output "65536"
}
@test "berth: --read-only and --shm-size" { scenario_readonly_shm berth; }
@test "docker: --read-only and --shm-size" { scenario_readonly_shm docker; }

scenario_exec_confined() {
  local c=$1
  run cli "$c" run -d --name conf busybox sleep 60
  assert_success
  run cli "$c" exec conf grep -E '^(CapEff|Seccomp):' /proc/self/status
  assert_success
  assert_output_contains "$DOCKER_CAPS"
  assert_output_contains "Seccomp:	2"
  run cli "$c" exec --privileged conf grep CapEff: /proc/self/status
  refute_output_contains "$DOCKER_CAPS"
  run cli "$c" rm -f conf
}
@test "berth: exec inherits the container's caps and filter" { scenario_exec_confined berth; }
@test "docker: exec inherits the container's caps and filter" { scenario_exec_confined docker; }

# The same probe against a real dockerd, where one runs (never pulls: the
# busybox image must already be there).
PROBE='grep -E "^(CapEff|CapBnd|CapPrm|Seccomp|NoNewPrivs):" /proc/self/status; wc -c </proc/keys </proc/timer_list;
  (echo x >/proc/sys/kernel/domainname) 2>/dev/null || echo sys-ro; mount -t tmpfs none /tmp 2>/dev/null || echo mount-denied;
  unshare -n true 2>/dev/null || echo unshare-denied; ls /dev | grep -vx core | sort | tr "\n" " "'
@test "same probe results as a real dockerd (skipped without one)" {
  local dsock=/var/run/docker.sock
  [ -S "$dsock" ] || skip "no dockerd on $dsock"
  timeout 10 "$DOCKER_BIN" -H "unix://$dsock" image inspect busybox >/dev/null 2>&1 ||
    skip "dockerd has no busybox image (tests never pull)"
  local theirs ours
  theirs=$(timeout 60 "$DOCKER_BIN" -H "unix://$dsock" run --rm --pull never busybox sh -c "$PROBE")
  ours=$(cli berth run --rm busybox sh -c "$PROBE")
  [ "$theirs" = "$ours" ] || _e2e_fail "differs from Docker:
--- docker
$theirs
--- berth
$ours"
}

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
