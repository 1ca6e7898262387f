#!/usr/bin/env bats
# The networking CLI of berth next to the docker CLI 28:
#  - against tests/e2e/net_fake_daemon.py (canned networks and containers):
#    network ls/inspect/rm/prune/connect output, exit codes and errors,
#    `ps` PORTS and `port`, and the request bodies (network create/connect/
#    disconnect, run/create networking fields) byte for byte;
#  - against this file's berthd (own bridge, --bip 10.215.x.1/24, nft table,
#    veth prefix): network create/ls/inspect/rm/prune through berth with
#    the docker CLI reading the same daemon, and a container with -p whose
#    `port` and `ps` PORTS both clients print alike.
bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  require_cmd ip iproute2
  require_cmd python3
  e2e_net_setup_file p 215 || return 1
  # the fake daemon (its pid goes where the harness stops processes of this root)
  export FAKE_SOCK="$E2E_ROOT/f.sock" FAKE_LOG="$E2E_ROOT/fake.log"
  python3 "$BATS_TEST_DIRNAME/net_fake_daemon.py" "$FAKE_SOCK" "$FAKE_LOG" 1.41 >"$E2E_ROOT/fake.out" 2>&1 &
  echo $! >"$E2E_ROOT/fake.pid"
  retry_until 10 curl -sf --unix-socket "$FAKE_SOCK" http://x/_ping
}

teardown_file() {
  if [ -s "$E2E_ROOT/fake.pid" ]; then
    kill "$(cat "$E2E_ROOT/fake.pid")" 2>/dev/null
    wait "$(cat "$E2E_ROOT/fake.pid")" 2>/dev/null
  fi
  e2e_teardown_file
}

teardown() { e2e_teardown; }

# both HOST ARGS...: runs the docker CLI and berth with ARGS against HOST
# (stdin from $BOTH_STDIN or /dev/null) and fails unless stdout, stderr and
# the exit status are the same (docker's name in its messages read as berth's).
both() {
  local host=$1 in=${BOTH_STDIN:-/dev/null} d="$BATS_TEST_TMPDIR"
  shift
  local drc=0 brc=0
  timeout -k 5 "$E2E_CMD_TIMEOUT" "$DOCKER_BIN" -H "unix://$host" "$@" <"$in" >"$d/d.out" 2>"$d/d.err" || drc=$?
  timeout -k 5 "$E2E_CMD_TIMEOUT" "$BERTH_BIN_DIR/berth" -H "unix://$host" "$@" <"$in" >"$d/b.out" 2>"$d/b.err" || brc=$?
  sed -i 's/docker/berth/g; s/docs\.berth\.com/docs.docker.com/g' "$d/d.out" "$d/d.err"
  local bad=0
  cmp -s "$d/d.out" "$d/b.out" || { echo "stdout differs for: $*"; diff "$d/d.out" "$d/b.out"; bad=1; }
  cmp -s "$d/d.err" "$d/b.err" || { echo "stderr differs for: $*"; diff "$d/d.err" "$d/b.err"; bad=1; }
  [ "$drc" = "$brc" ] || { echo "exit status differs for: $*: docker $drc, berth $brc"; bad=1; }
  BOTH_RC=$drc
  BOTH_OUT=$(cat "$d/b.out")
  return $bad
}
fake() { both "$FAKE_SOCK" "$@"; }
real() { both "$SOCK" "$@"; }

# last_request CLIENT ARGS...: runs the client against the fake daemon and
# prints the last request it logged (method, path and JSON body).
last_request() {
  local c=$1
  shift
  : >"$FAKE_LOG"
  if [ "$c" = docker ]; then
    timeout -k 5 "$E2E_CMD_TIMEOUT" "$DOCKER_BIN" -H "unix://$FAKE_SOCK" "$@" >/dev/null 2>&1
  else
    timeout -k 5 "$E2E_CMD_TIMEOUT" "$BERTH_BIN_DIR/berth" -H "unix://$FAKE_SOCK" "$@" >/dev/null 2>&1
  fi
  tail -n1 "$FAKE_LOG"
}
same_request() {
  local d b
  d=$(last_request docker "$@")
  b=$(last_request berth "$@")
  [ -n "$d" ] || { echo "docker sent nothing for: $*"; return 1; }
  [ "$d" = "$b" ] || { echo "requests differ for: $*"; echo "docker: $d"; echo "berth:  $b"; return 1; }
}

@test "fake daemon: network ls as docker prints it (table, -q, --no-trunc, json, templates, natural sort)" {
  fake network ls
  [ "$(echo "$BOTH_OUT" | awk 'NR>1 {print $2}' | paste -sd' ')" = "bridge host n2 n10 none" ]
  fake network ls -q
  fake network ls --no-trunc
  fake network ls --format json
  fake network ls --format 'table {{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}'
  fake network ls --format '{{.Name}} {{.Label "env"}}'
  fake network ls -q --format '{{.Name}}'
  fake network list --filter driver=bridge
  fake network ls --format '{{.Name'
  [ "$BOTH_RC" -ne 0 ]
}

@test "fake daemon: network inspect, rm, prune, connect, disconnect: output, errors, exit codes" {
  fake network inspect n2
  fake network inspect -f '{{.Name}} {{.Driver}}' n2 n10
  fake network inspect --format json n2 n10
  fake network inspect nope
  [ "$BOTH_RC" = 1 ]
  fake network inspect n2 nope -f '{{.Name}}'
  fake network inspect -f '{{.Bogus}}' nope n2
  fake network inspect -f '{{.Name' n2
  [ "$BOTH_RC" = 64 ]
  fake network rm n2 n10
  fake network rm nope n2 bridge
  [ "$BOTH_RC" = 1 ]
  fake network remove -f nope n2
  [ "$BOTH_RC" = 0 ]
  fake network rm
  echo n >"$BATS_TEST_TMPDIR/no"
  echo y >"$BATS_TEST_TMPDIR/yes"
  BOTH_STDIN="$BATS_TEST_TMPDIR/no" fake network prune
  [ "$BOTH_OUT" = "WARNING! This will remove all custom networks not used by at least one container.
Are you sure you want to continue? [y/N] " ]
  BOTH_STDIN="$BATS_TEST_TMPDIR/yes" fake network prune
  fake network prune -f --filter until=1h
  [ "$BOTH_OUT" = "Deleted Networks:
n10
n2" ]
  fake network connect nope web
  fake network connect n2 nope
  fake network disconnect n2 web
  fake network connect n2
  fake network connect --driver-opt x n2 web
  fake network connect --link a:b:c n2 web
  [ "$BOTH_RC" = 125 ]
  fake network create n2
  fake network create --label 'a b=1' x
  fake network create --subnet 10.0.0.0/24 --subnet bad x
  fake network create --gateway 10.0.0.1 x
  fake network create a b
  local c
  for c in "" create ls inspect rm prune connect disconnect; do fake network $c --help; done
}

@test "fake daemon: ps PORTS and port as docker prints them" {
  fake ps
  fake ps --format '{{.Ports}}'
  [ "$(echo "$BOTH_OUT" | head -1)" = "53-54/udp, 0.0.0.0:9000-9002->9000-9002/tcp, 127.0.0.1:9999->80/udp, [::1]:8443->443/tcp, 0.0.0.0:32768->8080/tcp, [::]:32768->8080/tcp" ]
  fake port web
  fake port web 8080
  fake container port web 80/udp
  fake port web 53/udp
  [ "$BOTH_RC" = 1 ]
  fake port web abc
  fake port web 70000
  fake port web 9003
  fake port nope
}

@test "fake daemon: network create/connect/disconnect/rm/prune requests equal docker's" {
  same_request network create n9
  same_request network create --driver bridge --subnet 10.9.0.0/24 --gateway 10.9.0.1 --ip-range 10.9.0.128/25 \
    --aux-address a=10.9.0.5 --aux-address b=10.9.0.6 --ipv6 --internal --attachable --label x=y --label z \
    -o com.docker.network.bridge.name=br9 --opt mtu=1400 --ipam-driver default --ipam-opt p=q --scope local n9
  same_request network create --ipv4=false --config-only --ingress x
  same_request network create --config-from n4 n5
  same_request network connect --alias a --alias b,c --ip 10.0.0.9 --ip6 fd00::9 --link x:y \
    --link-local-ip 169.254.0.1 --driver-opt k=v,k2=v2 --gw-priority 5 n2 web
  same_request network connect n2 web
  same_request network disconnect -f n2 web
  same_request network prune -f --filter label=a
  same_request network rm n2
}

# The networking fields of the last create body the fake daemon logged.
create_fields() {
  python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])["body"]
h = d["HostConfig"]
out = {k: d.get(k) for k in ("Hostname", "Domainname", "ExposedPorts", "MacAddress")}
out.update({k: h.get(k) for k in ("NetworkMode", "PortBindings", "PublishAllPorts", "Dns", "DnsOptions",
                                 "DnsSearch", "ExtraHosts", "Links")})
out["NetworkingConfig"] = d["NetworkingConfig"]
print(json.dumps(out))' "$FAKE_LOG"
}

@test "fake daemon: create bodies for the networking flags equal docker's (API 1.41)" {
  local args d b
  while IFS= read -r args; do
    : >"$FAKE_LOG"
    eval "timeout -k 5 \"\$E2E_CMD_TIMEOUT\" \"\$DOCKER_BIN\" -H \"unix://\$FAKE_SOCK\" create $args busybox" >/dev/null 2>&1 || true
    d=$(create_fields)
    : >"$FAKE_LOG"
    eval "berth_cmd -H \"unix://\$FAKE_SOCK\" create $args busybox" >/dev/null 2>&1 || true
    b=$(create_fields)
    [ "$d" = "$b" ] || { echo "create $args:"; echo "docker: $d"; echo "berth:  $b"; return 1; }
  done <<'EOF'
-p 8080 -p 127.0.0.1:9000:80/udp --expose 53/udp
-p 8000-8001:80-81 -p [::1]:5353:53/udp -p 7000-7010:7000 --expose 9000-9002/udp -P
-p published=8080,target=80 -p target=53,protocol=udp
--network n1 --network-alias a1 --ip 10.1.2.3 --ip6 fd00::3 --link x:y --link-local-ip 169.254.1.1
--network n1 --network n2
--dns 1.1.1.1 --dns-search ex.com. --dns-option ndots:2 --add-host h:1.2.3.4 --add-host g=host-gateway -h myhost --domainname dom
--network host
--network container:x
--net n1 --net-alias a3 --dns-opt x
--network bridge --link a:b --link c
EOF
}

@test "fake daemon: run/create flag errors as docker prints them (exit 125)" {
  fake create -p bad busybox
  [ "$BOTH_RC" = 125 ]
  fake create -p '[::1:80:80' busybox
  fake create --expose 5-3 busybox
  fake create --dns bad busybox
  fake create --add-host bad busybox
  fake create --network n1 --network host busybox
  fake create --network 'name=n1,foo=bar' busybox
  fake create --network-alias foo busybox
  fake create --link a:b:c busybox
  [ "$BOTH_RC" = 125 ]
}

# ------------------------------------------------------------ real berthd

net_o() { echo "10.215.$((NET_O + $1))"; }

@test "berthd: networks made by berth, listed and inspected alike by both clients" {
  run berth_cmd network create --subnet "$(net_o 1).0/24" --gateway "$(net_o 1).254" --label team=blue pn1
  assert_status 0
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  local id=$output
  echo "br-${id:0:12}" >>"$E2E_ROOT/net-links"
  run docker_cmd network create --internal pn10
  assert_status 0
  echo "br-${output:0:12}" >>"$E2E_ROOT/net-links"
  real network ls
  [ "$(echo "$BOTH_OUT" | awk 'NR>1 {print $2}' | paste -sd' ')" = "bridge host none pn1 pn10" ]
  real network ls -q
  real network ls --no-trunc
  real network ls --format json
  real network ls --format 'table {{.Name}}\t{{.Driver}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}'
  real network ls --filter name=pn1 --format '{{.Name}} {{.Label "team"}}'
  real network ls --filter label=team=blue -q
  [ "$BOTH_OUT" = "${id:0:12}" ]
  real network inspect pn1
  real network inspect pn1 pn10 -f '{{.Name}} {{.Driver}} {{.Internal}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}'
  [ "$(echo "$BOTH_OUT" | sed -n 1p)" = "pn1 bridge false $(net_o 1).0/24 $(net_o 1).254" ]
  [[ $(echo "$BOTH_OUT" | sed -n 2p) == "pn10 bridge true "* ]]
  real network inspect --format json pn1
  real network inspect pn1 nope
  [ "$BOTH_RC" = 1 ]
  real network rm bridge nope
  [ "$BOTH_RC" = 1 ]
  run berth_cmd network rm pn1 pn10
  assert_status 0
  assert_output "pn1
pn10"
  real network ls -q --filter name=pn
  [ -z "$BOTH_OUT" ]
}

@test "berthd: prune through berth and through docker print the same" {
  berth_cmd network create pp1 >/dev/null
  berth_cmd network create pp2 >/dev/null
  echo n >"$BATS_TEST_TMPDIR/no"
  run berth_cmd network prune <"$BATS_TEST_TMPDIR/no"
  assert_status 0
  run docker_cmd network ls -q --filter name=pp
  [ "$(echo "$output" | wc -l)" = 2 ]
  run berth_cmd network prune -f
  assert_status 0
  local berth_out=$output
  [ "$(echo "$berth_out" | head -1)" = "Deleted Networks:" ]
  [ "$(echo "$berth_out" | tail -n +2 | sort | paste -sd' ')" = "pp1 pp2" ]
  docker_cmd network create pp1 >/dev/null
  docker_cmd network create pp2 >/dev/null
  run docker_cmd network prune -f
  [ "$(echo "$output" | head -1)" = "Deleted Networks:" ]
  [ "$(echo "$output" | tail -n +2 | sort | paste -sd' ')" = "pp1 pp2" ]
}

@test "berthd: berth run -p: port and ps PORTS as docker prints them; connect/disconnect through berth" {
  run berth_cmd network create pc1
  assert_status 0
  echo "br-${output:0:12}" >>"$E2E_ROOT/net-links"
  run berth_cmd run -d --name pweb -p 127.0.0.1::80 -p 127.0.0.1::8000-8001 -p 127.0.0.1::53/udp --expose 7000/udp \
    busybox sleep 1000
  assert_status 0
  real port pweb
  [ "$(echo "$BOTH_OUT" | wc -l)" = 4 ]
  [[ $BOTH_OUT == *"80/tcp -> 127.0.0.1:"* ]]
  real port pweb 80
  real port pweb 53/udp
  real port pweb 7000/udp
  [ "$BOTH_RC" = 1 ]
  real ps --filter name=pweb --format '{{.Ports}}'
  [[ $BOTH_OUT == *"7000/udp"* ]]
  [[ $BOTH_OUT == *"->80/tcp"* ]]
  run berth_cmd network connect --alias pw pc1 pweb
  assert_status 0
  # (docker prints the networks in Go's random map order: berth alone, sorted)
  run berth_cmd ps --filter name=pweb --format '{{.Networks}}'
  assert_output "bridge,pc1"
  run docker_cmd inspect -f '{{json (index .NetworkSettings.Networks "pc1").Aliases}}' pweb
  assert_output_contains '"pw"'
  run berth_cmd network disconnect pc1 pweb
  assert_status 0
  run docker_cmd inspect -f '{{len .NetworkSettings.Networks}}' pweb
  assert_output "1"
  berth_cmd rm -f pweb >/dev/null
  run berth_cmd network rm pc1
  assert_status 0
}

@test "berthd: berth run's networking flags reach the container (--network, --ip, --mac-address, alias, --add-host, --dns, -h)" {
  run berth_cmd network create --subnet "$(net_o 2).0/24" pr1
  assert_status 0
  echo "br-${output:0:12}" >>"$E2E_ROOT/net-links"
  run berth_cmd run --rm --network pr1 --ip "$(net_o 2).77" --mac-address 02:42:aa:bb:cc:dd --network-alias pal \
    --add-host "gw:$(net_o 2).1" --add-host "v6h=[::1]" --dns 10.9.9.9 --dns-search ex.com --dns-option ndots:3 \
    -h myhost --domainname dom busybox sh -c \
    'ip -o -4 addr show dev eth0; cat /sys/class/net/eth0/address; hostname; cat /etc/hosts; cat /etc/resolv.conf'
  assert_status 0
  assert_output_contains "inet $(net_o 2).77/24"
  assert_output_contains "02:42:aa:bb:cc:dd"
  assert_output_contains "myhost"
  assert_output_contains "$(net_o 2).1	gw"
  assert_output_contains "::1	v6h"
  assert_output_contains "search ex.com"
  assert_output_contains "options ndots:3"
  run berth_cmd create --name prc --network pr1 --network-alias pal2 busybox true
  assert_status 0
  run docker_cmd inspect -f '{{json (index .NetworkSettings.Networks "pr1").Aliases}} {{.HostConfig.NetworkMode}}' prc
  assert_output_contains '"pal2"'
  assert_output_contains " pr1"
  berth_cmd rm prc >/dev/null
  run berth_cmd run --rm --network pr1 --ip 10.0.0.5 busybox true
  [ "$status" -ne 0 ]
  run berth_cmd network rm pr1
  assert_status 0
}
