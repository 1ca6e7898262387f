#!/usr/bin/env bats
# The acceptance checks of the networking issue, end to end, with the docker
# CLI 28 and the berth CLI against a berthd with its own default bridge
# (--bip 10.216.x.1/24), nft table, veth prefix and --ip-forward=false, and
# a fake upstream DNS server on a loopback address (tests/e2e/fake_dns.py,
# given to berthd with --dns) so that no query leaves the machine.
# Forwarding is enabled per interface on this file's bridge and "outside"
# veth only (net.ipv4.conf.IF.forwarding), never host-wide.
bats_require_minimum_version 1.5.0
load helpers

NFT="$BATS_TEST_DIRNAME/nft_cmd.py"

setup_file() {
  require_cmd ip iproute2
  require_cmd python3
  require_cmd nsenter util-linux
  require_cmd busybox busybox-static
  export OUT_BASE=$((RANDOM % 60 * 4))    # 10.216.250.OUT_BASE/30: the "outside"
  export DNS_UP="127.0.53.$((RANDOM % 200 + 20))"
  export EXT_NAME="ext-accept.test"
  export EXT_IP="198.51.100.$((RANDOM % 200 + 20))"
  # A second fake upstream: a container's own --dns (EXT_NAME is EXT_IP2 there).
  export DNS_UP2="127.0.53.$((${DNS_UP##*.} + 1))"
  export EXT_IP2="198.51.100.$((${EXT_IP##*.} + 1))"
  e2e_net_setup_file a 216 --dns "$DNS_UP" || return 1   # 10.216.NET_O..NET_O+3 are this file's
  export UPFX="10.216.$((NET_O + 1))"
  export IPFX="10.216.$((NET_O + 2))"
  export V6PFX="10.216.$((NET_O + 3))"
  export ULA=$(printf 'fd16:%x:%x' "$NET_R" "$NET_O")
  # The fake upstream resolver (stopped by pid in teardown_file).
  python3 "$BATS_TEST_DIRNAME/fake_dns.py" "$DNS_UP" 53 "$EXT_NAME" "$EXT_IP" \
    "$E2E_ROOT/fakedns.log" >"$E2E_ROOT/fakedns.out" 2>&1 3>&- &
  echo $! >"$E2E_ROOT/fakedns.pid"
  wait_until 10 "the fake DNS server to bind" grep -q ready "$E2E_ROOT/fakedns.out"
  python3 "$BATS_TEST_DIRNAME/fake_dns.py" "$DNS_UP2" 53 "$EXT_NAME" "$EXT_IP2" \
    "$E2E_ROOT/fakedns2.log" >"$E2E_ROOT/fakedns2.out" 2>&1 3>&- &
  echo $! >"$E2E_ROOT/fakedns2.pid"
  wait_until 10 "the second fake DNS server to bind" grep -q ready "$E2E_ROOT/fakedns2.out"
  # Routed paths (hairpin, outbound NAT) need forwarding on the bridge the
  # packets come in by; per interface, so the host's setting is untouched.
  echo 1 >"/proc/sys/net/ipv4/conf/$NET_BR/forwarding"
}

teardown_file() {
  local pid f
  for f in fakedns fakedns2; do
    pid=$(cat "$E2E_ROOT/$f.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -q fake_dns.py "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "${NET_R:-}" ]; then outside_down; fi
  e2e_teardown_file
}

teardown() { e2e_teardown; }

# user_net NAME ARGS...: a user network whose bridge the cleanup removes.
user_net() {
  local name=$1 id
  shift
  docker_cmd network create "$@" "$name" >/dev/null
  id=$(docker_cmd network inspect "$name" --format '{{.Id}}')
  echo "br-${id:0:12}" >>"$E2E_ROOT/net-links"
}

# httpd_ctr CLIENT NAME ARGS...: a detached busybox httpd on 8080 serving
# /www/i = "hello-from-NAME"; waits until it listens.
httpd_ctr() {
  local c=$1 name=$2
  shift 2
  cli "$c" run -d --name "$name" "$@" busybox \
    sh -c "mkdir -p /www && echo hello-from-$name >/www/i && exec httpd -f -p 8080 -h /www" >/dev/null
  wait_until 10 "$name to listen on 8080" docker_cmd exec "$name" sh -c 'netstat -ltn | grep -q :8080'
}

# forward_blocked: another table (iptables or nftables, not berth's) drops
# forwarded traffic by policy: routed tests cannot work and must not touch it.
forward_blocked() {
  python3 "$NFT" list ruleset 2>/dev/null | awk -v own="$NET_TABLE" '
    /^table / { t = $3 } 
    /hook forward/ && /policy drop/ && t != own { found = 1 }
    END { exit !found }' && return 0
  if command -v iptables >/dev/null 2>&1; then
    iptables -S FORWARD 2>/dev/null | grep -q '^-P FORWARD DROP' && return 0
  fi
  return 1
}

# host_addr: the host's own non-loopback IPv4 address (of the default
# route's interface), empty when there is none.
host_addr() {
  local dev
  dev=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
  [ -n "$dev" ] || return 0
  ip -4 -o addr show dev "$dev" scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

nft_table() { python3 "$NFT" list table inet "$NET_TABLE"; }

OUT_NS() { echo "btaout$NET_R"; }
OUT_IF() { printf 'btao%x' "$NET_R"; }

# outside_up: a namespace playing "outside" with its own veth pair to the
# host (10.216.250.OUT_BASE+1 host side, +2 inside), running busybox httpd
# on 8081 whose CGI prints the source address it sees.
outside_up() {
  local ns if dir
  ns=$(OUT_NS); if=$(OUT_IF); dir="$E2E_ROOT/outside"
  echo "$if" >>"$E2E_ROOT/net-links"
  ip netns add "$ns"
  ip link add "$if" type veth peer name eth0 netns "$ns"
  ip addr add "10.216.250.$((OUT_BASE + 1))/30" dev "$if"
  ip link set "$if" up
  echo 1 >"/proc/sys/net/ipv4/conf/$if/forwarding"
  ip -n "$ns" addr add "10.216.250.$((OUT_BASE + 2))/30" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  mkdir -p "$dir/cgi-bin"
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "src=$REMOTE_ADDR"\n' >"$dir/cgi-bin/src"
  chmod +x "$dir/cgi-bin/src"
  ip netns exec "$ns" busybox httpd -f -p 8081 -h "$dir" </dev/null >/dev/null 2>&1 3>&- &
  echo $! >"$E2E_ROOT/outside.pid"
  wait_until 10 "the outside httpd to listen" \
    eval "ip netns exec $ns busybox netstat -ltn | grep -q :8081"
}

outside_down() {
  local pid ns
  ns=$(OUT_NS)
  pid=$(cat "$E2E_ROOT/outside.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && grep -q httpd "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$E2E_ROOT/outside.pid"
  ip link del "$(OUT_IF)" 2>/dev/null || true
  [ ! -e "/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || true
}

# ---------------------------------------------------------------- 1. names

scenario_names() {
  local c=$1 n=an-$1
  user_net "$n" --subnet "$UPFX.0/25" --ip-range "$UPFX.0/26"
  httpd_ctr "$c" "srv-$c" --network "$n" --network-alias "web-$c"
  run cli "$c" run --rm --network "$n" busybox sh -c "
    timeout 5 wget -q -O- http://srv-$c:8080/i &&
    timeout 5 wget -q -O- http://web-$c:8080/i &&
    printf 'GET /i HTTP/1.0\r\n\r\n' | nc -w 5 srv-$c 8080 | tail -n1 &&
    printf 'GET /i HTTP/1.0\r\n\r\n' | nc -w 5 web-$c 8080 | tail -n1"
  assert_status 0
  [ "$(grep -c "hello-from-srv-$c" <<<"$output")" -eq 4 ] || _e2e_fail "four answers expected"
  # An external name: berth-dns forwards it to the upstream (the fake one).
  : >"$E2E_ROOT/fakedns.log"
  run cli "$c" run --rm --network "$n" busybox nslookup "$EXT_NAME"
  assert_status 0
  assert_output_contains "$EXT_IP"
  grep -q "^$EXT_NAME 1" "$E2E_ROOT/fakedns.log"
  run cli "$c" run --rm --network "$n" busybox nslookup "nosuch-$c.$EXT_NAME"
  [ "$status" -ne 0 ]
  grep -q "^nosuch-$c.$EXT_NAME" "$E2E_ROOT/fakedns.log"
  cli "$c" rm -f "srv-$c" >/dev/null
  cli "$c" network rm "$n" >/dev/null
}

@test "docker: names and aliases on a user network (wget, nc); external names go upstream" { scenario_names docker; }
@test "berth: names and aliases on a user network (wget, nc); external names go upstream" { scenario_names berth; }

# ---------------------------------------------------------------- 2. ports

@test "docker: published ports: 127.0.0.1, the host address, -P, a conflict leaves nothing" {
  local p1=$((20000 + RANDOM % 10000)) p2=$((30000 + RANDOM % 10000)) ha
  httpd_ctr docker pub1 -p "127.0.0.1:$p1:8080" -p "$p2:8080"
  run curl -s --max-time 5 "http://127.0.0.1:$p1/i"
  assert_output "hello-from-pub1"
  run curl -s --max-time 5 "http://127.0.0.1:$p2/i"
  assert_output "hello-from-pub1"
  ha=$(host_addr)
  if [ -n "$ha" ]; then
    run curl -s --max-time 5 "http://$ha:$p2/i"
    assert_output "hello-from-pub1"
    # the 127.0.0.1 binding is not published on the host address
    run curl -s --max-time 2 "http://$ha:$p1/i"
    [ "$output" != "hello-from-pub1" ]
  fi
  # -P with --expose: a port docker port reports, serving.
  httpd_ctr docker pub2 -P --expose 8080
  run docker_cmd port pub2 8080/tcp
  assert_status 0
  local pp
  pp=$(sed -n 's/^0\.0\.0\.0:\([0-9]*\)$/\1/p' <<<"$output")
  [ -n "$pp" ] || _e2e_fail "no 0.0.0.0 port in: $output"
  run curl -s --max-time 5 "http://127.0.0.1:$pp/i"
  assert_output "hello-from-pub2"
  # A conflict: exit 125, dockerd's message, nothing half-set.
  local links table
  links=$(ip -br link | grep -c "^$NET_VETH" || true)
  table=$(nft_table)
  run docker_cmd run -d --name pub3 -p "127.0.0.1:$p1:8080" busybox sleep 300
  assert_status 125
  assert_output_contains "Bind for 127.0.0.1:$p1 failed: port is already allocated"
  [ "$(ip -br link | grep -c "^$NET_VETH" || true)" -eq "$links" ]
  local id
  id=$(docker_cmd inspect -f '{{.Id}}' pub3)
  [ ! -e "$E2E_ROOT/exec/netns/$id" ]
  [ "$(nft_table)" = "$table" ] || _e2e_fail "the nft table changed"
  docker_cmd rm -f pub1 pub2 pub3 >/dev/null
}

@test "docker: hairpin: a container reaches its own published port on the host address" {
  local ha p=$((40000 + RANDOM % 10000))
  ha=$(host_addr)
  [ -n "$ha" ] || skip "the host has no non-loopback IPv4 address"
  if forward_blocked; then skip "another table drops forwarded traffic by policy (not touched)"; fi
  httpd_ctr docker hp1 -p "$p:8080"
  run docker_cmd exec hp1 timeout 5 wget -q -O- "http://$ha:$p/i"
  assert_status 0
  assert_output "hello-from-hp1"
  docker_cmd rm -f hp1 >/dev/null
}

@test "berth: published port with the berth CLI serves and berth port reports it" {
  local p=$((20000 + RANDOM % 10000))
  httpd_ctr berth bp1 -p "127.0.0.1:$p:8080"
  run berth_cmd port bp1 8080/tcp
  assert_output "127.0.0.1:$p"
  run curl -s --max-time 5 "http://127.0.0.1:$p/i"
  assert_output "hello-from-bp1"
  berth_cmd rm -f bp1 >/dev/null
}

# ---------------------------------------------------------------- 3. modes

@test "docker: connect/disconnect of a running container changes its interfaces and reachability" {
  user_net ac3 --subnet "$UPFX.128/25"
  httpd_ctr docker s3 --network ac3 --ip "$UPFX.140"
  docker_cmd run -d --name c3 busybox sleep 300 >/dev/null
  run docker_cmd exec c3 timeout 2 wget -q -O- "http://$UPFX.140:8080/i"
  [ "$status" -ne 0 ]
  docker_cmd network connect ac3 c3
  run docker_cmd exec c3 ip -o -4 addr show dev eth1
  assert_output_contains "inet $UPFX."
  run docker_cmd exec c3 timeout 5 wget -q -O- "http://s3:8080/i"
  assert_output "hello-from-s3"
  docker_cmd network disconnect ac3 c3
  run docker_cmd exec c3 ip -o link show dev eth1
  [ "$status" -ne 0 ]
  run docker_cmd exec c3 timeout 2 wget -q -O- "http://$UPFX.140:8080/i"
  [ "$status" -ne 0 ]
  docker_cmd rm -f s3 c3 >/dev/null
  docker_cmd network rm ac3 >/dev/null
}

@test "berth: --network none has only lo; --network host sees the host's interfaces" {
  run berth_cmd run --rm --network none busybox ip -o link
  assert_status 0
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
  assert_output_contains "lo:"
  run berth_cmd run --rm --network host busybox ip -o link
  assert_status 0
  assert_output_contains "$NET_BR"
  local dev
  for dev in $(ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//'); do
    grep -q ": $dev[:@]" <<<"$output" || _e2e_fail "host link $dev not seen"
  done
}

# ---------------------------------------------------------------- 4. IPv6

@test "docker: IPv6 user network: addresses from its subnet, containers reach each other over IPv6" {
  user_net a6 --ipv6 --subnet "$ULA::/64" --subnet "$V6PFX.0/24"
  httpd_ctr docker s6 --network a6
  local a
  a=$(docker_cmd inspect -f '{{.NetworkSettings.Networks.a6.GlobalIPv6Address}}' s6)
  [[ "$a" == "$ULA::"* ]] || _e2e_fail "s6's IPv6 address '$a' not in $ULA::/64"
  run docker_cmd exec s6 ip -o -6 addr show dev eth0 scope global
  assert_output_contains "inet6 $a/64"
  docker_cmd run -d --name c6 --network a6 busybox sleep 300 >/dev/null
  # (duplicate address detection may keep a fresh address tentative a moment)
  wait_until 10 "c6 to ping s6 over IPv6" docker_cmd exec c6 ping6 -c 1 -W 1 "$a"
  run docker_cmd exec c6 timeout 5 wget -q -O- "http://[$a]:8080/i"
  assert_output "hello-from-s6"
  docker_cmd rm -f s6 c6 >/dev/null
  docker_cmd network rm a6 >/dev/null
}

# ---------------------------------------------------------------- 5. crash

@test "docker: berthd SIGKILLed: the published port serves and names resolve during the downtime and after" {
  local p=$((20000 + RANDOM % 10000)) key ip
  user_net a5 --subnet "$UPFX.0/25"
  httpd_ctr docker s5 --network a5 -p "127.0.0.1:$p:8080"
  docker_cmd run -d --name c5 --network a5 busybox sleep 300 >/dev/null
  ip=$(docker_cmd inspect -f '{{.NetworkSettings.Networks.a5.IPAddress}}' s5)
  key=$(docker_cmd inspect -f '{{.NetworkSettings.SandboxKey}}' c5)
  berthd_kill9
  run curl -s --max-time 5 "http://127.0.0.1:$p/i"
  assert_output "hello-from-s5"
  # inside c5's namespace (exec needs berthd): its resolv.conf's server
  run nsenter --net="$key" busybox nslookup s5 "$UPFX.1"
  assert_status 0
  assert_output_contains "$ip"
  run nsenter --net="$key" busybox nslookup "$EXT_NAME" "$UPFX.1"
  assert_status 0
  assert_output_contains "$EXT_IP"
  run nsenter --net="$key" curl -s --max-time 5 "http://$ip:8080/i"
  assert_output "hello-from-s5"
  berthd_start
  run curl -s --max-time 5 "http://127.0.0.1:$p/i"
  assert_output "hello-from-s5"
  run docker_cmd exec c5 timeout 5 wget -q -O- http://s5:8080/i
  assert_output "hello-from-s5"
  run docker_cmd exec c5 nslookup "$EXT_NAME"
  assert_output_contains "$EXT_IP"
  docker_cmd rm -f s5 c5 >/dev/null
  docker_cmd network rm a5 >/dev/null
}

# ---------------------------------------------------------------- 6. NAT

@test "docker: outbound NAT: the outside sees the host's address; an --internal container cannot get out" {
  if forward_blocked; then skip "another table drops forwarded traffic by policy (not touched)"; fi
  outside_up
  local out="10.216.250.$((OUT_BASE + 2))"
  run docker_cmd run --rm busybox sh -c "timeout 5 wget -q -O- http://$out:8081/cgi-bin/src || exit 1"
  assert_status 0
  # (busybox's timeout cannot kill a pid 1, hence sh -c '... || exit 1';
  # busybox httpd shows an IPv4 peer as ::ffff:a.b.c.d)
  [[ "$output" =~ ^src=(\[::ffff:)?10\.216\.250\.$((OUT_BASE + 1))\]?$ ]] || _e2e_fail "source not the host's address"
  user_net ai6 --internal --subnet "$IPFX.0/24"
  run docker_cmd run --rm --network ai6 busybox sh -c "ip route; echo ---; timeout 3 wget -q -O- http://$out:8081/cgi-bin/src || exit 1"
  [ "$status" -ne 0 ]
  [[ "$output" != *default* ]] || _e2e_fail "an internal container has a default route"
  [[ "$output" != *src=* ]] || _e2e_fail "an internal container reached the outside"
  # not even through a route of its own: the host's forward path drops it
  run docker_cmd run --rm --cap-add NET_ADMIN --network ai6 busybox sh -c \
    "ip route add default via $IPFX.1 && timeout 3 wget -q -O- http://$out:8081/cgi-bin/src || exit 1"
  [ "$status" -ne 0 ]
  [[ "$output" != *src=* ]] || _e2e_fail "an internal container reached the outside"
  docker_cmd network rm ai6 >/dev/null
  outside_down
}

# ---------------------------------------------------------------- 7. leftovers

# no_leftovers: no veth with the prefix, no netns file, no container address
# in berth's table.
no_net_leftovers() {
  [ -z "$(ip -br link | grep "^$NET_VETH")" ] || { echo "veths: $(ip -br link | grep "^$NET_VETH")"; return 1; }
  [ -z "$(find "$E2E_ROOT/exec/netns" -mindepth 1)" ] || { echo "netns: $(ls "$E2E_ROOT/exec/netns")"; return 1; }
  ! nft_table | grep -E "10\.216\.[0-9]+\.[0-9]+ \. [0-9]+" || { echo "nft elements left"; return 1; }
}

@test "docker: nothing left after rm, network prune, and a crash + restart; leases freed" {
  local p=$((20000 + RANDOM % 10000))
  remove_all_containers   # (what a failed test above may have left)
  wait_until 10 "no veth, netns file or nft element" no_net_leftovers
  user_net a7 --subnet "$UPFX.0/25"
  docker_cmd run -d --name l1 --network a7 --ip "$UPFX.77" -p "127.0.0.1:$p:8080" busybox sleep 300 >/dev/null
  docker_cmd run -d --name l2 -p "$((p + 1)):8080" busybox sleep 300 >/dev/null
  nft_table | grep -q "$UPFX.77 \. 8080"
  docker_cmd rm -f l1 l2 >/dev/null
  wait_until 10 "no veth, netns file or nft element" no_net_leftovers
  run docker_cmd network inspect -f '{{len .Containers}}' a7
  assert_output 0
  # the address is free again
  run docker_cmd run --rm --network a7 --ip "$UPFX.77" busybox ip -o -4 addr show dev eth0
  assert_status 0
  assert_output_contains "inet $UPFX.77/"
  run docker_cmd network prune -f
  assert_status 0
  run docker_cmd network ls -q --filter name=a7
  assert_output ""
  # crash: one container dies while berthd is down, one survives
  user_net a7b --subnet "$UPFX.0/25"
  docker_cmd run -d --name k1 --network a7b --ip "$UPFX.78" -p "127.0.0.1:$p:8080" busybox sleep 300 >/dev/null
  docker_cmd run -d --name k2 --network a7b --ip "$UPFX.79" busybox sleep 300 >/dev/null
  local pid1
  pid1=$(docker_cmd inspect -f '{{.State.Pid}}' k1)
  berthd_kill9
  kill -KILL "$pid1"
  berthd_start
  wait_until 10 "k1 to be seen exited" eval "[ \"\$(docker_cmd inspect -f '{{.State.Status}}' k1)\" = exited ]"
  wait_until 10 "k1's element to leave the table" eval "! nft_table | grep -q '$UPFX.78 \. 8080'"
  run docker_cmd run --rm --network a7b --ip "$UPFX.78" busybox true
  assert_status 0
  docker_cmd rm -f k1 k2 >/dev/null
  wait_until 10 "no veth, netns file or nft element" no_net_leftovers
  berthd_kill9
  berthd_start
  run docker_cmd run --rm --network a7b --ip "$UPFX.79" busybox true
  assert_status 0
  docker_cmd network prune -f >/dev/null
  wait_until 10 "no veth, netns file or nft element" no_net_leftovers
  run docker_cmd network ls --format '{{.Name}}'
  assert_output "$(printf 'bridge\nhost\nnone')"
}

# ---------------------------------------------------------------- DNS per container

@test "docker: a container's --dns gets its unknown names; a container on two user networks resolves both" {
  local ga="$IPFX.1" gb="$IPFX.129" ipa ipb
  user_net dna --subnet "$IPFX.0/25"
  user_net dnb --subnet "$IPFX.128/25"
  # --dns on a user network: resolv.conf keeps the gateway (berth-dns), which
  # forwards this container's external names to its own server only.
  : >"$E2E_ROOT/fakedns.log"
  : >"$E2E_ROOT/fakedns2.log"
  run docker_cmd run --rm --network dna --dns "$DNS_UP2" busybox \
    sh -c "grep ^nameserver /etc/resolv.conf; nslookup $EXT_NAME"
  assert_status 0
  assert_output_contains "nameserver $ga"
  assert_output_contains "$EXT_IP2"
  grep -q "^$EXT_NAME 1" "$E2E_ROOT/fakedns2.log"
  ! grep -q "^$EXT_NAME" "$E2E_ROOT/fakedns.log"
  # Without --dns on the same network: berthd's --dns.
  run docker_cmd run --rm --network dna busybox nslookup "$EXT_NAME"
  assert_status 0
  assert_output_contains "$EXT_IP"
  # Two networks: each one's resolver answers the other's names for it, with
  # the addresses on that network; a container on one only does not get them.
  docker_cmd run -d --name onlya --network dna busybox sleep 300 >/dev/null
  docker_cmd run -d --name onlyb --network dnb busybox sleep 300 >/dev/null
  docker_cmd run -d --name both --network dna busybox sleep 300 >/dev/null
  docker_cmd network connect dnb both
  ipa=$(docker_cmd inspect onlya --format '{{(index .NetworkSettings.Networks "dna").IPAddress}}')
  ipb=$(docker_cmd inspect onlyb --format '{{(index .NetworkSettings.Networks "dnb").IPAddress}}')
  run docker_cmd exec both nslookup onlyb "$ga"
  assert_status 0
  assert_output_contains "$ipb"
  run docker_cmd exec both nslookup onlya "$gb"
  assert_status 0
  assert_output_contains "$ipa"
  run docker_cmd exec onlya nslookup onlyb "$ga"
  [ "$status" -ne 0 ] || _e2e_fail "onlya resolved onlyb: $output"
  # Disconnected from dnb: dna's resolver forgets dnb's names for it.
  docker_cmd network disconnect dnb both
  run docker_cmd exec both nslookup onlyb "$ga"
  [ "$status" -ne 0 ] || _e2e_fail "both still resolves onlyb after disconnect: $output"
  docker_cmd rm -f onlya onlyb both >/dev/null
  docker_cmd network rm dna dnb >/dev/null
}

@test "no leftovers: no veth, netns file, nft element, monitor or process" {
  remove_all_containers
  wait_until 10 "no veth, netns file or nft element" no_net_leftovers
  # The one mount left under the root is the daemon's own netns directory
  # (dockerd keeps its too).
  run bash -c "grep -c ' $E2E_ROOT/exec/netns/' /proc/self/mountinfo"
  assert_output 0
  [ -z "$(_e2e_cgroup_procs "$E2E_CGP")" ]
  [ -z "$(_e2e_monitor_pids "$E2E_ROOT")" ]
  berthd_ping
}
