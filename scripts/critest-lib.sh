# shellcheck shell=bash
# critest-lib.sh: the private environment scripts/critest.sh and
# scripts/crictl-smoke.sh run critest / crictl against (sourced, not run).
#
#   crit_env_up    temp root /tmp/crit.XXXXXX (short: unix socket paths), a
#                  loopback registry holding the offline images
#                  (scripts/critest-images.sh) under their upstream paths, a
#                  CNI conf dir (bridge + host-local + portmap on a private
#                  bridge, 10.225.N.0/24), registry.k8s.io and gcr.io mirrored
#                  to that registry, and a private berthd in its own IPC
#                  namespace with its own data-root, exec-root, API socket,
#                  CRI socket and cgroup parent. Sets CRI_EP (unix://...).
#   crit_env_down  stops and removes all of it, also after a failure (the
#                  EXIT trap calls it): CRI pods through crictl first (CNI
#                  DEL), then tests/e2e's e2e_cleanup_root (processes by pid,
#                  cgroups, mounts, bridge), then the iptables chains portmap
#                  created during this run, then the shm segments ipcmk left
#                  (they die with the IPC namespace).
#
# Environment: BERTH_BIN_DIR (default build/bin), CRITEST_BIN (default
# /work/critest-bin: critest, crictl, ginkgo), CRITEST_CACHE (default
# /work/critest-cache: .debs and the image tars), CRITEST_KEEP=1 keeps the
# root for a post-mortem (processes are stopped all the same),
# CRITEST_BERTHD_ARGS extra berthd flags (word-split).
#
# Mirrors: containerd's hosts.toml layout (<dir>/<host>/hosts.toml, a
# [host."http://127.0.0.1:PORT"] with capabilities pull and resolve) in
# $E2E_ROOT/certs.d, given to berthd as --registry-hosts-dir
# (docs/registry-hosts.md). The file's server is 127.0.0.1:9 (nothing
# listens there), so a pull the mirror cannot serve fails on loopback
# instead of going to the real registry.

CRIT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/e2e/helpers.bash
source "$CRIT_REPO/tests/e2e/helpers.bash"
# shellcheck source=../tests/e2e/registry_helpers.bash
source "$CRIT_REPO/tests/e2e/registry_helpers.bash"

: "${CRITEST_BIN:=/work/critest-bin}"
: "${CRITEST_CACHE:=/work/critest-cache}"
CRIT_OCTET=225

crit_log() { echo "[$(date +%T)] $*" >&2; }
crit_die() { crit_log "FAILED: $*"; exit 1; }

# crictl_cmd ARGS...: crictl against the private berthd (no config file).
crictl_cmd() {
  timeout -k 5 "${CRICTL_TIMEOUT:-120}" "$CRITEST_BIN/crictl" --config /dev/null \
    --runtime-endpoint "$CRI_EP" --image-endpoint "$CRI_EP" --timeout 60s "$@"
}

# _crit_chains: "TOOL TABLE CHAIN" for every CNI-* chain, one per line.
_crit_chains() {
  local tool table
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in nat filter mangle; do
      "$tool" -w 5 -t "$table" -S 2>/dev/null | awk -v t="$tool" -v tb="$table" '$1 == "-N" && $2 ~ /^CNI-/ {print t, tb, $2}'
    done
  done | sort
}

# _crit_tables: "FAMILY NAME" of every nftables table, one per line
# (iptables-nft makes "ip nat" and "ip6 nat" when portmap first adds a rule).
_crit_tables() {
  /usr/bin/python3 "$CRIT_REPO/tests/e2e/nft_cmd.py" list tables 2>/dev/null | awk '$1 == "table" {print $2, $3}' | sort
}

# _crit_drop_empty_tables BEFORE: the ip/ip6 nat, filter and mangle tables
# that were not there before this run and hold no rule any more (only their
# base chains): iptables-nft created them for portmap; nobody else uses them.
_crit_drop_empty_tables() {
  local before=$1 fam name rules
  while read -r fam name; do
    case "$fam $name" in "ip nat" | "ip6 nat" | "ip filter" | "ip6 filter" | "ip mangle" | "ip6 mangle") ;; *) continue ;; esac
    rules=$(/usr/bin/python3 "$CRIT_REPO/tests/e2e/nft_cmd.py" list table "$fam" "$name" 2>/dev/null |
      grep -cvE '^[[:space:]]*(table |chain |type |\}|$)')
    [ "$rules" = 0 ] || continue
    /usr/bin/python3 "$CRIT_REPO/tests/e2e/nft_cmd.py" delete table "$fam" "$name" ||
      crit_log "could not delete the empty table $fam $name"
  done < <(comm -13 <(echo "$before") <(_crit_tables))
}

# _crit_drop_chain TOOL TABLE CHAIN: delete the rules jumping to CHAIN, then
# CHAIN's own rules and CHAIN (only called for chains this run created).
_crit_drop_chain() {
  local tool=$1 table=$2 chain=$3 rule
  "$tool" -w 5 -t "$table" -S | grep -E -- "-j $chain( |\$)" | sed 's/^-A /-D /' |
    while read -r rule; do
      # iptables -S quotes comments the way a shell reads them
      eval "\"\$tool\" -w 5 -t \"\$table\" $rule" || crit_log "could not delete: $tool -t $table $rule"
    done
  if ! { "$tool" -w 5 -t "$table" -F "$chain" && "$tool" -w 5 -t "$table" -X "$chain"; }; then
    crit_log "could not remove $tool $table $chain"
  fi
}

# crit_env_up: see the header. Exits on failure (the EXIT trap cleans up).
crit_env_up() {
  local need
  for need in "$CRITEST_BIN/crictl" "$BERTH_BIN_DIR/berthd" "$BERTH_BIN_DIR/berth" "$BERTH_BIN_DIR/berth-monitor"; do
    [ -x "$need" ] || crit_die "$need missing (scripts/critest-build.sh; cmake --build build)"
  done
  for need in docker-registry iptables unshare nsenter ipcmk; do
    command -v "$need" >/dev/null || crit_die "$need not installed"
  done
  [ -d /usr/lib/cni ] || crit_die "/usr/lib/cni missing: apt-get install containernetworking-plugins"

  E2E_ROOT=$(mktemp -d /tmp/crit.XXXXXX)
  SOCK=$E2E_ROOT/s.sock
  E2E_CGP="berth-e2e-critest-${E2E_ROOT##*.}$RANDOM"  # berth-e2e-*: e2e_cleanup_root removes it, processes included
  export E2E_ROOT SOCK E2E_CGP
  echo "$E2E_CGP" >"$E2E_ROOT/cgroup-parent"
  : >"$E2E_ROOT/berthd.pids"
  export DOCKER_CONFIG=$E2E_ROOT/docker-config
  mkdir -p "$DOCKER_CONFIG" "$E2E_ROOT/tmp"
  echo '{}' >"$DOCKER_CONFIG/config.json"
  _crit_chains >"$E2E_ROOT/chains.before"
  _crit_tables >"$E2E_ROOT/tables.before"
  trap crit_env_down EXIT
  trap 'exit 130' INT TERM
  crit_log "root $E2E_ROOT"

  # 1. the images, built once and cached (CRITEST_REBUILD_IMAGES=1 rebuilds)
  if [ "${CRITEST_REBUILD_IMAGES:-0}" = 1 ] || [ ! -s "$CRITEST_CACHE/images/images.tsv" ]; then
    crit_log "building the offline images"
    "$CRIT_REPO/scripts/critest-images.sh" "$CRITEST_CACHE/images" >&2 || crit_die "critest-images.sh"
  fi

  # 2. the registry the mirrors point at
  reg_start mirror >&2 || crit_die "docker-registry did not start"
  CRIT_REG=$REG_MIRROR
  local host
  for host in registry.k8s.io gcr.io; do
    mkdir -p "$E2E_ROOT/certs.d/$host"
    cat >"$E2E_ROOT/certs.d/$host/hosts.toml" <<EOF
# upstream $host is never asked: a miss fails on loopback
server = "http://127.0.0.1:9"

[host."http://$CRIT_REG"]
  capabilities = ["pull", "resolve"]
EOF
  done

  # 3. CNI: our own bridge, made here with its address (isGateway false, so
  #    the bridge plugin never turns on the host's ip_forward); host-local
  #    keeps its leases under the root; portmap for hostPort.
  CRIT_NET=10.$CRIT_OCTET.$((RANDOM % 60 * 4 + 8))
  CRIT_BR=$(printf 'bcrit%x' $((RANDOM % 65536)))
  echo "$CRIT_BR" >>"$E2E_ROOT/net-links"
  ip link add "$CRIT_BR" type bridge || crit_die "ip link add $CRIT_BR"
  ip addr add "$CRIT_NET.1/24" dev "$CRIT_BR"
  ip link set "$CRIT_BR" up
  mkdir -p "$E2E_ROOT/cni/net.d" "$E2E_ROOT/cni/ipam"
  cat >"$E2E_ROOT/cni/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "critest-$CRIT_BR",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CRIT_BR",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$E2E_ROOT/cni/ipam",
        "ranges": [[{"subnet": "$CRIT_NET.0/24", "rangeStart": "$CRIT_NET.10", "gateway": "$CRIT_NET.1"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
EOF

  # 4. berthd, in an IPC namespace of its own: "host IPC" pods and the
  #    HostIpc specs' ipcmk (run with nsenter into it) share that one, and
  #    the segments vanish with it.
  CRI_SOCK=$E2E_ROOT/cri.sock
  CRI_EP=unix://$CRI_SOCK
  export CRI_SOCK CRI_EP
  mkdir -p "$E2E_ROOT/data" "$E2E_ROOT/exec"
  # shellcheck disable=SC2086
  unshare --ipc "$BERTH_BIN_DIR/berthd" --host "unix://$SOCK" --data-root "$E2E_ROOT/data" \
    --exec-root "$E2E_ROOT/exec" --pidfile "$E2E_ROOT/berthd.pid" --cgroup-parent "$E2E_CGP" \
    --bridge=none --iptables=false --ip-forward=false \
    --cri-socket "$CRI_SOCK" --cni-conf-dir "$E2E_ROOT/cni/net.d" \
    --registry-hosts-dir "$E2E_ROOT/certs.d" --log-level "${CRITEST_LOG_LEVEL:-info}" \
    ${CRITEST_BERTHD_ARGS:-} </dev/null >>"$E2E_ROOT/berthd.log" 2>&1 &
  BERTHD_PID=$!
  echo "$BERTHD_PID" >>"$E2E_ROOT/berthd.pids"
  export BERTHD_PID
  local end=$((SECONDS + 20))
  until berthd_ping && [ -S "$CRI_SOCK" ]; do
    kill -0 "$BERTHD_PID" 2>/dev/null || { tail -n 30 "$E2E_ROOT/berthd.log" >&2; crit_die "berthd exited"; }
    [ "$SECONDS" -lt "$end" ] || { tail -n 30 "$E2E_ROOT/berthd.log" >&2; crit_die "berthd not up in 20 s"; }
    sleep 0.1
  done
  crictl_cmd version >&2 || crit_die "crictl version: the CRI does not answer on $CRI_EP"

  # 5. the images into the registry: one import per distinct (tar, changes),
  #    tagged for every reference that shares it (test-image-tags:1/2/3 must
  #    be one image), pushed, then untagged from berth's own namespace.
  crit_log "pushing the images to $CRIT_REG"
  local ref tar changes key id local_ref
  declare -A ids=()
  local -a args pushed=()
  while IFS=$'\t' read -r ref tar changes; do
    key="$tar|$changes"
    local_ref="$CRIT_REG/${ref#*/}"
    if [ -z "${ids[$key]:-}" ]; then
      args=()
      while IFS= read -r c; do [ -n "$c" ] && args+=(--change "$c"); done < <(sed 's/ ;; /\n/g' <<<"$changes")
      berth_cmd import "${args[@]}" "$tar" "$local_ref" >/dev/null || crit_die "berth import $tar"
      id=$(berth_cmd image inspect --format '{{.Id}}' "$local_ref") || crit_die "inspect $local_ref"
      ids[$key]=$id
    else
      berth_cmd tag "${ids[$key]}" "$local_ref" || crit_die "berth tag $local_ref"
    fi
    berth_cmd push "$local_ref" >/dev/null || crit_die "berth push $local_ref"
    pushed+=("$local_ref")
  done <"$CRITEST_CACHE/images/images.tsv"
  berth_cmd rmi "${pushed[@]}" >/dev/null || crit_die "berth rmi of the pushed images"
  crit_log "environment up: CRI $CRI_EP, registry $CRIT_REG, bridge $CRIT_BR ($CRIT_NET.0/24)"
}

# crit_env_down: see the header. Safe to call twice.
crit_env_down() {
  local rc=$?
  [ -n "${E2E_ROOT:-}" ] && [ -d "$E2E_ROOT" ] || return $rc
  trap - EXIT
  # every step runs, whatever failed before it (this runs from the EXIT trap
  # of a `set -e` script)
  set +e
  crit_log "cleaning up $E2E_ROOT"
  # CNI DEL for every pod while berthd still runs (portmap's per-pod chains
  # and the host-local leases go with it).
  if [ -n "${BERTHD_PID:-}" ] && kill -0 "$BERTHD_PID" 2>/dev/null && [ -S "${CRI_SOCK:-/nonexistent}" ]; then
    CRICTL_TIMEOUT=60 crictl_cmd rmp -fa >/dev/null 2>&1 || crit_log "crictl rmp -fa failed"
  fi
  if [ "${CRITEST_KEEP:-0}" = 1 ]; then
    local keep
    keep=$(mktemp -d /tmp/crit-keep.XXXXXX)
    cp -a "$E2E_ROOT"/*.log "$E2E_ROOT"/smoke "$keep"/ 2>/dev/null
    crit_log "logs kept in $keep"
  fi
  local before tables_before
  before=$(cat "$E2E_ROOT/chains.before" 2>/dev/null)
  tables_before=$(cat "$E2E_ROOT/tables.before" 2>/dev/null)
  e2e_cleanup_root "$E2E_ROOT" || crit_log "e2e_cleanup_root reported leftovers"
  # iptables chains portmap created during this run and CNI DEL left (a pod
  # whose DEL failed): new CNI-DN-* chains whose rules name our subnet. Then
  # portmap's top-level chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ: they
  # stay after the last DEL) if this run created them and no mapping is left
  # in CNI-HOSTPORT-DNAT (another user of portmap may have come meanwhile).
  local tool table chain new
  new=$(comm -13 <(echo "$before") <(_crit_chains))
  while read -r tool table chain; do
    case $chain in CNI-DN-*) ;; *) continue ;; esac
    "$tool" -w 5 -t "$table" -S "$chain" | grep -qF -- "$CRIT_NET." || continue
    _crit_drop_chain "$tool" "$table" "$chain"
  done <<<"$new"
  for tool in iptables ip6tables; do
    grep -qx "$tool nat CNI-HOSTPORT-DNAT" <<<"$new" || continue
    "$tool" -w 5 -t nat -S CNI-HOSTPORT-DNAT | grep -q -- '^-A ' && continue
    while read -r t table chain; do
      [ "$t" = "$tool" ] || continue
      case $chain in CNI-HOSTPORT-*) _crit_drop_chain "$tool" "$table" "$chain" ;; esac
    done <<<"$new"
  done
  _crit_drop_empty_tables "$tables_before"
  return $rc
}
