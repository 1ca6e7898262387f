#!/usr/bin/env bats
# Crash safety under load: rounds of mixed work (run -d of loggers, exec,
# logs, commit, pull/push with the loopback registry, rm -f, volume
# create/rm, build with a RUN), berthd SIGKILLed after a random delay,
# restarted, then the invariants checked (tests/chaos/chaos_lib.bash):
# everything acknowledged before the kill is there in the right state,
# loggers keep their pid and a gapless counter, exited containers keep their
# code, committed/pulled/built images run, volumes keep their data, nothing
# is orphaned, and `berth system check` reports "0 problems".
#
# CHAOS_KILLS  rounds (SIGKILLs) in the run (default 20)
# CHAOS_BUDGET seconds the rounds may take (default 90, 0 = no limit): on a
#              loaded machine the loop stops early, saying after how many
#              kills, so that CI stays within its time (the count is printed)
# CHAOS_SEED   seed of the generator choosing the ops, targets and delays
#              (default: random; printed, so a failing run can be replayed;
#              timing still varies between runs)

bats_require_minimum_version 1.5.0
load ../e2e/helpers
load ../e2e/registry_helpers
load chaos_lib

setup_file() {
  # a real default bridge, so veths and sandboxes are part of what a crash
  # may orphan; tag "ch", octet 220
  e2e_net_setup_file ch 220 || return 1
  reg_start chaos || return 1
  # the image the pull op fetches: busybox plus a marker layer, pushed to the
  # registry and then removed locally, so each pull writes a layer
  local b="$BERTH_BIN_DIR/berth" h="unix://$SOCK"
  export PUSHED_MARKER=pushed-marker PULL_REF="$REG_CHAOS/chaos/marked:v1"
  "$b" -H "$h" run --name mk busybox sh -c "echo $PUSHED_MARKER > /marker" >/dev/null &&
    "$b" -H "$h" commit mk "$PULL_REF" >/dev/null &&
    "$b" -H "$h" push -q "$PULL_REF" >/dev/null &&
    "$b" -H "$h" rm mk >/dev/null &&
    "$b" -H "$h" rmi "$PULL_REF" >/dev/null || { echo "setup: could not push $PULL_REF" >&2; return 1; }
  export CHAOS_CTX="$E2E_ROOT/ctx"
  mkdir -p "$CHAOS_CTX"
  printf 'FROM busybox\nARG R\nRUN echo "$R" > /built\n' >"$CHAOS_CTX/Dockerfile"
}
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

# pick_from ARRAY_NAME...: a random element of the union of the words given
# (prints nothing when empty); uses the seeded generator.
pick() {
  [ "$#" -gt 0 ] || return 0
  local -a a=("$@")
  echo "${a[$(rnd ${#a[@]})]}"
}

# chaos_plan_and_launch: choose this round's ops, start them in the
# background; sets OP_PIDS, OP_OUTS and UNK_C.
chaos_plan_and_launch() {
  local n k t c name target
  local -a types=(logger exit exit exec logs commit commit pull push rm rm stop pause volume volrm build rmi)
  local -A busy=()
  local -a loggers=() paused=() exited=() models=() imgs=() vols=()
  for name in "${!CS[@]}"; do
    [[ $name != base-* ]] || continue   # the base loggers live through the run
    models+=("$name")
    case ${CS[$name]} in
      run) loggers+=("$name") ;;
      paused) paused+=("$name") ;;
      *) exited+=("$name") ;;
    esac
  done
  for name in "${!IMG[@]}"; do [ "$name" = "$PULL_REF" ] || imgs+=("$name"); done
  for name in "${!VOL[@]}"; do vols+=("$name"); done
  OP_PIDS=() OP_OUTS=() OP_KIND=() OP_TARGET=() UNK_C=()
  n=$((4 + $(rnd 4)))
  local built=
  for k in $(seq "$n"); do
    t=${types[$(rnd ${#types[@]})]}
    c=$(pick berth docker)
    # keep the work bounded: a few loggers, a dozen containers
    [ "$t" != logger ] || [ $((${#loggers[@]} + ${#paused[@]})) -lt 3 ] || t=rm
    [ "${#models[@]}" -lt 12 ] || t=rm
    [ "$t" != build ] || [ -z "$built" ] || t=exit
    local -a argv=()
    target=
    case $t in
      logger) name="lg$ROUND-$k"; argv=(op_logger "$c" "$name"); UNK_C+=("$name") ;;
      exit) name="ex$ROUND-$k"; argv=(op_exit "$c" "$name" $((1 + $(rnd 120)))); UNK_C+=("$name") ;;
      exec|logs)
        target=$(pick "${loggers[@]}" base-berth base-docker)
        [ -z "${busy[$target]:-}" ] || continue
        argv=("op_$t" "$c" "$target") ;;
      commit)   # an exited container, or a running logger (paused meanwhile)
        if [ "$(rnd 2)" = 0 ]; then
          target=$(pick "${exited[@]}")
          [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
          argv=(op_commit "$c" "$target" "chaos/c$ROUND-$k")
          [[ $target == ex* ]] || argv+=(runs)   # a stopped logger has no /marker
        else
          target=$(pick "${loggers[@]}" base-berth base-docker)
          [ -z "${busy[$target]:-}" ] || continue
          argv=(op_commit "$c" "$target" "chaos/c$ROUND-$k" runs)
        fi
        busy[$target]=1 ;;
      pause)    # pause a logger, or unpause a paused one
        if [ "${#paused[@]}" -gt 0 ] && [ "$(rnd 2)" = 0 ]; then
          target=$(pick "${paused[@]}"); t=unpause
        else
          target=$(pick "${loggers[@]}")
        fi
        [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
        busy[$target]=1
        argv=("op_$t" "$c" "$target") ;;
      stop)
        target=$(pick "${loggers[@]}" "${paused[@]}")
        [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
        busy[$target]=1
        argv=(op_stop "$c" "$target") ;;
      pull|rmi)
        if [ -z "${busy[reg]:-}" ] && [ -z "${IMG[$PULL_REF]:-}" ] && [ "$t" = pull ]; then
          busy[reg]=1; argv=(op_pull "$PULL_REF")
        elif [ -z "${busy[reg]:-}" ] && [ -n "${IMG[$PULL_REF]:-}" ] && [ "$(rnd 2)" = 0 ]; then
          busy[reg]=1; target=$PULL_REF; argv=(op_rmi "$PULL_REF")
        else
          target=$(pick "${imgs[@]}")
          [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
          busy[$target]=1; argv=(op_rmi "$target")
        fi ;;
      push)
        target=$(pick "${imgs[@]}")
        [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
        busy[$target]=1
        argv=(op_push "$target" "$REG_CHAOS/chaos/p$ROUND-$k:v1") ;;
      rm)
        target=$(pick "${models[@]}")
        [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
        busy[$target]=1
        argv=(op_rm "$c" "$target") ;;
      volume) name="v$ROUND-$k"; argv=(op_volume "$c" "$name"); UNK_C+=("w$name") ;;
      volrm)
        target=$(pick "${vols[@]}")
        [ -n "$target" ] && [ -z "${busy[$target]:-}" ] || continue
        busy[$target]=1
        argv=(op_volrm "$c" "$target") ;;
      build) built=1; argv=(op_build "chaos/b$ROUND-$k" "b$ROUND-$k") ;;
    esac
    echo "${argv[*]}" >>"$RD/plan"
    ( "${argv[@]}" >"$RD/$k.out" 2>&1 ) 3>&- &
    OP_PIDS+=($!)
    OP_OUTS[$k]="$RD/$k.out" OP_KIND[$k]=$t OP_TARGET[$k]=$target
  done
}

# chaos_remove_unknown: the containers that unacknowledged ops may have
# made are removed (rm -f must work on whatever state the kill left).
chaos_remove_unknown() {
  local name listed
  listed=$(chaos_containers | awk '{print $1}')
  for name in "${UNK_C[@]}"; do
    [ -z "${CS[$name]:-}" ] || continue
    [ -z "${CGONE[$name]:-}" ] || continue
    grep -qx "$name" <<<"$listed" || continue
    berth_cmd rm -f "$name" >/dev/null || chaos_fail "rm -f of $name (left by an op the kill cut off) failed" || return 1
  done
}

# chaos_strays: containers listed that no op of the test made are a
# failure, except the intermediate container of a build the kill cut off
# in its RUN (dockerd leaves those too): recognised by the RUN's command,
# counted in STRAY_BUILD and removed.
chaos_strays() {
  local name id state cmd
  while read -r name id state; do
    case $name in lg*|ex*|wv*|base-*) continue ;; esac
    cmd=$(berth_cmd inspect -f '{{json .Config.Cmd}}' "$id" 2>&1)
    if [ -n "${BUILD_CUT:-}" ] && [[ $cmd == *'echo \"$R\" > /built'* ]]; then
      berth_cmd rm -f "$id" >/dev/null || chaos_fail "rm -f of build container $id failed" || return 1
      STRAY_BUILD=$((STRAY_BUILD + 1))
      continue
    fi
    chaos_fail "listed container $name ($id, $state, Cmd $cmd) was made by no op of the test" || return 1
  done < <(chaos_containers)
}

@test "chaos: rounds of mixed work, berthd SIGKILLed at random points, invariants after each restart" {
  require_cmd jq
  STRAY_BUILD=0
  local kills=${CHAOS_KILLS:-20} start=$SECONDS p d k restart_ms=() ms_ops=0 ms_model=0 ms_orph=0 ms_clean=0
  CHAOS_SEED=${CHAOS_SEED:-$(( $(date +%s%N) % 32768 ))}
  export CHAOS_KILLS=$kills CHAOS_SEED
  RANDOM=$CHAOS_SEED
  chaos_note "chaos: $kills SIGKILLs, CHAOS_SEED=$CHAOS_SEED"
  mkdir -p "$E2E_ROOT/chaos"
  # two loggers that live through every round, one per client
  for c in berth docker; do
    ROUND=0 RD="$E2E_ROOT/chaos"
    op_logger "$c" "base-$c" >"$RD/base-$c.out" 2>&1 || { cat "$RD/base-$c.out" >&2; false; }
    CS[base-$c]=run
    chaos_apply_acks "$RD/base-$c.out"
  done
  local budget=${CHAOS_BUDGET:-90} done=0
  for ROUND in $(seq "$kills"); do
    if [ "$budget" -gt 0 ] && [ $((SECONDS - start)) -ge "$budget" ]; then
      chaos_note "chaos: the ${budget} s budget (CHAOS_BUDGET) is spent after $done of $kills SIGKILLs: stopping here"
      break
    fi
    RD="$E2E_ROOT/chaos/r$ROUND"
    mkdir -p "$RD"
    NEWC=() PUSHED=()
    local t_start=${EPOCHREALTIME/./}
    chaos_plan_and_launch
    d=$((30 + $(rnd 900)))
    sleep "$(printf '0.%03d' "$d")"
    berthd_kill9
    for p in "${OP_PIDS[@]}"; do wait "$p" || true; done   # failures: the kill cut them off
    chaos_apply_acks "${OP_OUTS[@]}"
    chaos_forget_unacked
    BUILD_CUT=
    for k in "${!OP_KIND[@]}"; do
      [ "${OP_KIND[$k]}" != build ] || grep -q '^ACK image' "${OP_OUTS[$k]}" || BUILD_CUT=1
    done
    local t0=${EPOCHREALTIME/./}
    berthd_start
    restart_ms+=($(( (${EPOCHREALTIME/./} - t0) / 1000 )))
    echo "round $ROUND: kill after ${d} ms; $(wc -l <"$RD/plan") ops; acks: $(cat "${OP_OUTS[@]}" /dev/null | grep -c '^ACK ')" >>"$E2E_ROOT/chaos/log"
    local t1=${EPOCHREALTIME/./}
    chaos_system_check
    chaos_check_model
    local t2=${EPOCHREALTIME/./}
    chaos_no_orphans
    local t3=${EPOCHREALTIME/./}
    # what rm -f of these leaves is checked by the next round (and the
    # last test)
    chaos_remove_unknown
    chaos_strays
    local t4=${EPOCHREALTIME/./}
    echo "  ms: ops+kill+wait $(( (t0 - t_start) / 1000 )), restart $(( (t1 - t0) / 1000 )), model $(( (t2 - t1) / 1000 )), orphans $(( (t3 - t2) / 1000 )), cleanup $(( (t4 - t3) / 1000 ))" >>"$E2E_ROOT/chaos/log"
    ms_ops=$((ms_ops + (t0 - t_start) / 1000)) ms_model=$((ms_model + (t2 - t1) / 1000))
    ms_orph=$((ms_orph + (t3 - t2) / 1000)) ms_clean=$((ms_clean + (t4 - t3) / 1000))
    done=$ROUND
  done
  chaos_note "chaos: $done SIGKILLs in $((SECONDS - start)) s, 0 losses, ${SYSCHECK_NOTED:+NO }system check 0 problems after each; berthd restart ms: ${restart_ms[*]}"
  chaos_note "chaos: $STRAY_BUILD intermediate containers of builds cut off in a RUN were left listed (as dockerd leaves them) and removed"
  chaos_note "chaos: time in ops+kill $((ms_ops / 1000)) s, model checks $((ms_model / 1000)) s, orphan checks $((ms_orph / 1000)) s, cleanup $((ms_clean / 1000)) s"
  # every image in the model saves completely: each layer its manifest
  # names is read back into the archive
  local refs=("${!IMG[@]}") tarf="$E2E_ROOT/chaos/save.tar" l
  if [ "${#refs[@]}" -gt 0 ]; then
    berth_cmd save -o "$tarf" "${refs[@]}" || chaos_fail "save of ${refs[*]} failed"
    tar -tf "$tarf" >"$E2E_ROOT/chaos/save.list"
    for l in $(tar -xOf "$tarf" manifest.json | jq -r '.[].Layers[]' | sort -u); do
      grep -qx "$l" "$E2E_ROOT/chaos/save.list" || chaos_fail "save: layer $l missing from the archive"
    done
    [ "$(tar -xOf "$tarf" manifest.json | jq length)" -eq "$(printf '%s\n' "${IMG[@]}" | cut -d' ' -f1 | sort -u | wc -l)" ] ||
      chaos_fail "save: manifest.json does not list each of the images saved (${refs[*]})"
    rm -f "$tarf"
  fi
}

# The loop's orphan check is only worth something if it sees orphans: plant
# one of each kind it looks for and expect each named, then none once gone.
@test "the orphan check names planted orphans (mount, netns file, cgroup, container and volume dirs, temps)" {
  berthd_ping || berthd_start
  local d=$E2E_ROOT/data cg
  cg=$(for x in /sys/fs/cgroup/*/"$E2E_CGP" /sys/fs/cgroup/"$E2E_CGP"; do [ -d "$x" ] && echo "$x" && break; done)
  [ -n "$cg" ] || cg=/sys/fs/cgroup/pids/$E2E_CGP
  mkdir -p "$E2E_ROOT/plant" "$d/volumes/ghost-vol" "$d/containers/$(printf 'a%.0s' {1..64})" \
    "$d/content/ingest/partial" "$d/snapshots/.tmp-planted" "$d/build/tmp/ctx-planted" "$cg/planted-cgroup"
  mount --bind "$E2E_ROOT/plant" "$E2E_ROOT/plant"
  touch "$d/containers/state.json.tmp4242" "$E2E_ROOT/exec/netns/planted-netns"
  run chaos_orphans
  umount "$E2E_ROOT/plant"
  rmdir "$cg/planted-cgroup"
  rm -rf "$E2E_ROOT/plant" "$d/volumes/ghost-vol" "$d/containers/$(printf 'a%.0s' {1..64})" \
    "$d/content/ingest/partial" "$d/snapshots/.tmp-planted" "$d/build/tmp/ctx-planted" \
    "$d/containers/state.json.tmp4242" "$E2E_ROOT/exec/netns/planted-netns"
  assert_output_contains "mount: $E2E_ROOT/plant"
  assert_output_contains "netns file: $E2E_ROOT/exec/netns/planted-netns"
  assert_output_contains "cgroup: $cg/planted-cgroup"
  assert_output_contains "container dir: $d/containers/aaaa"
  assert_output_contains "volume dir: $d/volumes/ghost-vol"
  assert_output_contains "temp: $d/content/ingest/partial"
  assert_output_contains "temp: $d/snapshots/.tmp-planted"
  assert_output_contains "temp: $d/build/tmp/ctx-planted"
  assert_output_contains "temp: $d/containers/state.json.tmp4242"
  run chaos_orphans
  assert_output ""
}

@test "no leftovers: after rm -f of everything, no orphan of any kind; system check clean" {
  berthd_ping || berthd_start   # the loop may have failed between a kill and the restart
  remove_all_containers
  # (assert_no_leftovers would count the netns directory's own mount, which
  # berthd keeps while it runs; chaos_orphans allows exactly that one)
  if ! retry_until 10 eval '[ -z "$(chaos_orphans)" ]'; then
    chaos_orphans >&2
    _e2e_fail "orphans after removing every container (listed above)"
  fi
  [ -z "$(_e2e_cgroup_procs "$E2E_CGP")" ] || _e2e_fail "processes left in cgroup $E2E_CGP"
  chaos_system_check
  berthd_ping
}
