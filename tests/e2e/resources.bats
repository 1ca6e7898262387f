#!/usr/bin/env bats
# Resource limits: memory (+ OOMKilled), pids, cpus, shares, cpuset,
# --cgroup-parent, --ulimit, --oom-score-adj, and the create-time checks.
# Limits are read back from the cgroup files (v1 here, v2 where pure).
# Each scenario with the berth CLI and the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# cg_dir CONTROLLER ID [PARENT]: the container's cgroup directory.
cg_dir() {
  local parent=${3:-$E2E_CGP}
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    echo "/sys/fs/cgroup/$parent/$2"
  else
    echo "/sys/fs/cgroup/$1/$parent/$2"
  fi
}

scenario_oom() {
  local c=$1
  # dd's 64 MiB buffer is touched by read(): more than -m 32m (+32m swap) allows
  run -137 cli "$c" run --name oom -m 32m busybox dd if=/dev/zero of=/dev/null bs=64M count=1
  assert_status 137
  run cli "$c" inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}' oom
  assert_success
  assert_output "true 137 33554432"
  # a process within the limit is not OOMKilled
  run cli "$c" run --name fine -m 32m busybox dd if=/dev/zero of=/dev/null bs=1M count=8
  assert_success
  run cli "$c" inspect -f '{{.State.OOMKilled}}' fine
  assert_output "false"
}
@test "berth: -m 32m and 64 MB allocated: OOMKilled, exit 137" { scenario_oom berth; }
@test "docker: -m 32m and 64 MB allocated: OOMKilled, exit 137" { scenario_oom docker; }

scenario_limits_files() {
  local c=$1 id d
  run cli "$c" run -d --name lim -m 64m --memory-reservation 32m --cpu-shares 512 --cpuset-cpus 0 \
    --pids-limit 50 --cpus 1.5 busybox sleep 60
  assert_success
  id=$output
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    d=$(cg_dir x "$id")
    [ "$(cat "$d/memory.max")" = 67108864 ] || _e2e_fail "memory.max"
    [ "$(cat "$d/pids.max")" = 50 ] || _e2e_fail "pids.max"
    [ "$(cat "$d/cpu.max")" = "150000 100000" ] || _e2e_fail "cpu.max"
  else
    [ "$(cat "$(cg_dir memory "$id")/memory.limit_in_bytes")" = 67108864 ] || _e2e_fail "memory limit"
    [ "$(cat "$(cg_dir memory "$id")/memory.memsw.limit_in_bytes")" = 134217728 ] || _e2e_fail "memsw = 2x"
    [ "$(cat "$(cg_dir memory "$id")/memory.soft_limit_in_bytes")" = 33554432 ] || _e2e_fail "reservation"
    [ "$(cat "$(cg_dir cpu "$id")/cpu.shares")" = 512 ] || _e2e_fail "cpu.shares"
    [ "$(cat "$(cg_dir cpu "$id")/cpu.cfs_quota_us")" = 150000 ] || _e2e_fail "cfs quota"
    [ "$(cat "$(cg_dir cpuset "$id")/cpuset.cpus")" = 0 ] || _e2e_fail "cpuset"
    [ "$(cat "$(cg_dir pids "$id")/pids.max")" = 50 ] || _e2e_fail "pids.max"
  fi
  run cli "$c" inspect -f '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}}' lim
  assert_output "1500000000 512 0 50"
  run cli "$c" rm -f lim
  assert_success
}
@test "berth: limits land in the cgroup files" { scenario_limits_files berth; }
@test "docker: limits land in the cgroup files" { scenario_limits_files docker; }

scenario_pids_limit() {
  local c=$1 id f
  run cli "$c" run -d --name bomb --pids-limit 20 busybox sleep 120
  assert_success
  id=$output
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then f=$(cg_dir x "$id")/pids.current
  else f=$(cg_dir pids "$id")/pids.current; fi
  # a shell that cannot fork gives up; what it started stays (orphans of pid 1)
  run cli "$c" exec bomb sh -c 'for i in $(seq 40); do sleep 120 & done; wait'
  assert_output_contains "can't fork"
  # 20 at the failed fork: pid 1, 18 sleeps and the exec's shell, which then exited
  [ "$(cat "$f")" = 19 ] || _e2e_fail "pids.current $(cat "$f") is not 19 after the shell left"
  [ "$(cli "$c" top bomb | grep -c 'sleep 120')" = 19 ] || _e2e_fail "not 19 sleeps"
  # one more fills it; an exec still joins (as with runc: the limit holds
  # for forks, not for joining) but cannot fork
  run cli "$c" exec -d bomb sleep 120
  assert_success
  wait_until 5 "pids.current to reach 20" grep -qx 20 "$f"
  run cli "$c" exec bomb sh -c 'sleep 1 & wait'
  assert_output_contains "can't fork"
  run cli "$c" rm -f bomb
}
@test "berth: --pids-limit 20 stops a fork bomb at 20" { scenario_pids_limit berth; }
@test "docker: --pids-limit 20 stops a fork bomb at 20" { scenario_pids_limit docker; }

# cpu_usage_ns ID: the container's CPU time so far.
cpu_usage_ns() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    awk '$1 == "usage_usec" {print $2 * 1000}' "$(cg_dir x "$1")/cpu.stat"
  else
    cat "$(cg_dir cpuacct "$1")/cpuacct.usage"
  fi
}

# --cpus 0.5 against an unlimited twin measured over the same 3 s: the
# quota is never exceeded; when it never bit (no throttled period), the twin
# shows the host had no more than half a core to give either (a loaded
# machine), so the result does not depend on the load.
scenario_cpus() {
  local c=$1 id twin a b ta tb ta2 tb2
  run cli "$c" run -d --name busy --cpus 0.5 busybox sh -c 'while :; do :; done'
  assert_success
  id=$output
  run cli "$c" run -d --name twin busybox sh -c 'while :; do :; done'
  assert_success
  twin=$output
  wait_until 10 "the busy loops to use CPU time" \
    eval "[ \"\$(cpu_usage_ns $id)\" -gt 0 ] && [ \"\$(cpu_usage_ns $twin)\" -gt 0 ]"
  a=$(cpu_usage_ns "$id"); ta2=$(cpu_usage_ns "$twin"); ta=$(date +%s%N)
  sleep 3   # the measured interval itself
  b=$(cpu_usage_ns "$id"); tb2=$(cpu_usage_ns "$twin"); tb=$(date +%s%N)
  local pct=$(( (b - a) * 100 / (tb - ta) )) tpct=$(( (tb2 - ta2) * 100 / (tb - ta) ))
  echo "busy loop under --cpus 0.5: ${pct}% of one core (unlimited twin: ${tpct}%)" >&3
  [ "$pct" -le 58 ] || _e2e_fail "busy loop used ${pct}% of a core, above --cpus 0.5"
  # not starved either: at least half of what the host gave the twin, up to the quota
  [ "$pct" -ge $(( (tpct < 50 ? tpct : 50) / 2 )) ] || _e2e_fail "busy loop got only ${pct}% (twin ${tpct}%)"
  local thr
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    thr=$(awk '$1 == "nr_throttled" {print $2}' "$(cg_dir x "$id")/cpu.stat")
  else
    thr=$(awk '$1 == "nr_throttled" {print $2}' "$(cg_dir cpu "$id")/cpu.stat")
  fi
  [ "$thr" -gt 0 ] || [ "$tpct" -lt 55 ] ||
    _e2e_fail "never throttled at ${pct}% while the unlimited twin got ${tpct}%: no quota"
  run cli "$c" rm -f busy twin
}
@test "berth: --cpus 0.5 holds a busy loop near 50% of a core" { scenario_cpus berth; }
@test "docker: --cpus 0.5 holds a busy loop near 50% of a core" { scenario_cpus docker; }

scenario_cgroup_parent() {
  local c=$1 id
  run cli "$c" run -d --cgroup-parent "$E2E_CGP/custom" -m 16m busybox sleep 60
  assert_success
  id=$output
  [ -d "$(cg_dir memory "$id" "$E2E_CGP/custom")" ] || _e2e_fail "not under the custom parent"
  run cli "$c" rm -f "$id"
}
@test "berth: --cgroup-parent" { scenario_cgroup_parent berth; }
@test "docker: --cgroup-parent" { scenario_cgroup_parent docker; }

scenario_ulimit_oom_score() {
  local c=$1
  run cli "$c" run --rm --ulimit nofile=100:200 --oom-score-adj 500 busybox \
    sh -c 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj'
  assert_success
  assert_output "100
200
500"
  local hard
  hard=$(ulimit -Hn)
  # no CAP_SYS_RESOURCE on these hosts: above the host's hard limit is refused clearly
  if ! grep -qE '^CapBnd:.*' /proc/self/status || [ $(( 0x$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status) >> 24 & 1 )) = 0 ]; then
    run -125 cli "$c" run --rm --ulimit "nofile=$((hard + 1)):$((hard + 1))" busybox true
    assert_status 125
    assert_output_contains "hard limit $((hard + 1)) is above the host's hard limit $hard"
    assert_output_contains "CAP_SYS_RESOURCE"
  fi
}
@test "berth: --ulimit and --oom-score-adj" { scenario_ulimit_oom_score berth; }
@test "docker: --ulimit and --oom-score-adj" { scenario_ulimit_oom_score docker; }

scenario_validation() {
  local c=$1
  run -125 cli "$c" run --rm -m 1m busybox true
  assert_status 125
  assert_output_contains "Minimum memory limit allowed is 6MB"
  run -125 cli "$c" run --rm --cpus 64 busybox true
  assert_status 125
  assert_output_contains "Range of CPUs is from 0.01 to $(nproc).00, as there are only $(nproc) CPUs available"
  run -125 cli "$c" run --rm -m 32m --memory-swap 16m busybox true
  assert_status 125
  assert_output_contains "Minimum memoryswap limit should be larger than memory limit"
  run -125 cli "$c" run --rm --blkio-weight 5 busybox true
  assert_status 125
  assert_output_contains "Range of blkio weight is from 10 to 1000"
  run -125 cli "$c" run --rm --cpuset-cpus 99 busybox true
  assert_status 125
  assert_output_contains "Requested CPUs are not available"
}
@test "berth: bad limits answer Docker's messages" { scenario_validation berth; }
@test "docker: bad limits answer Docker's messages" { scenario_validation docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
