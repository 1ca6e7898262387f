#!/usr/bin/env bats
# Containers on networks, through the docker CLI 28 against a berthd with its
# own default bridge (--bridge, --bip 10.214.x.1/24), nft table and veth
# prefix: eth0 with an address, a 02:42 MAC and a default route; /etc/hosts
# and resolv.conf; inspect's NetworkSettings running and stopped; none and
# host; two containers on a user network talking; connect/disconnect live;
# --ip and --mac-address; --internal; legacy links; a port conflict that
# leaves nothing; and nothing left (veths, netns files) after rm.
bats_require_minimum_version 1.5.0
load helpers

NFT="$BATS_TEST_DIRNAME/nft_cmd.py"

setup_file() {
  require_cmd ip iproute2
  require_cmd python3
  e2e_net_setup_file c 214 || return 1
  export USER_SUBNET="10.214.$((NET_O + 1)).0/24"
  export USER_PFX="10.214.$((NET_O + 1))"
  export INT_SUBNET="10.214.$((NET_O + 2)).0/24"
}

teardown_file() {
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

running() { [ "$(docker_cmd inspect -f '{{.State.Running}}' "$1")" = true ]; }

@test "docker: default bridge: eth0 in the subnet, a 02:42 MAC, a default route, NetworkMode bridge" {
  run docker_cmd run --rm busybox sh -c 'ip -o -4 addr show dev eth0; ip -o link show dev eth0; ip route'
  assert_status 0
  assert_output_contains "inet 10.214.$NET_O."
  assert_output_contains "/24"
  assert_output_contains "link/ether 02:42:"
  assert_output_contains "default via 10.214.$NET_O.1 dev eth0"
  run docker_cmd create busybox true
  assert_status 0
  run docker_cmd inspect -f '{{.HostConfig.NetworkMode}}' "$output"
  assert_output "bridge"
}

@test "docker: /etc/hosts and /etc/resolv.conf of a bridge container" {
  run docker_cmd run --rm --hostname hbox --dns 10.9.9.9 --dns-search example.test --add-host foo.test:10.1.2.3 \
    busybox sh -c 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; ip -o -4 addr show dev eth0'
  assert_status 0
  local ip
  ip=$(printf '%s\n' "$output" | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p')
  [ -n "$ip" ]
  assert_output_contains "127.0.0.1	localhost"
  assert_output_contains "10.1.2.3	foo.test"
  assert_output_contains "$ip	hbox"
  assert_output_contains "nameserver 10.9.9.9"
  assert_output_contains "search example.test"
}

@test "docker: inspect NetworkSettings running and stopped" {
  run docker_cmd run -d --name insp busybox sleep 300
  assert_status 0
  local f='{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}}'
  run docker_cmd inspect -f "$f" insp
  assert_status 0
  read -r ip ip2 gw plen mac <<<"$output"
  [[ "$ip" == 10.214.$NET_O.* ]]
  [ "$ip" = "$ip2" ]
  [ "$gw" = "10.214.$NET_O.1" ]
  [ "$plen" = 24 ]
  [[ "$mac" == 02:42:* ]]
  run docker_cmd inspect -f '{{.NetworkSettings.SandboxKey}}' insp
  [[ "$output" == "$E2E_ROOT/exec/netns/"* ]]
  [ -e "$output" ]
  local key=$output
  run docker_cmd inspect -f '{{.NetworkSettings.Networks.bridge.NetworkID}}' insp
  [ "$output" = "$(docker_cmd network inspect -f '{{.Id}}' bridge)" ]
  # The network lists the container.
  run docker_cmd network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}' bridge
  assert_output "insp $ip/24"
  # ps shows the network.
  run docker_cmd ps --filter network=bridge --format '{{.Names}} {{.Networks}}'
  assert_output_contains "insp bridge"
  docker_cmd stop -t 0 insp >/dev/null
  run docker_cmd inspect -f '[{{.NetworkSettings.IPAddress}}] [{{.NetworkSettings.Networks.bridge.IPAddress}}] [{{.NetworkSettings.SandboxKey}}]' insp
  assert_output "[] [] []"
  [ ! -e "$key" ]
  # A restart gets an address again.
  docker_cmd start insp >/dev/null
  run docker_cmd inspect -f '{{.NetworkSettings.IPAddress}}' insp
  [[ "$output" == 10.214.$NET_O.* ]]
  docker_cmd rm -f insp >/dev/null
}

@test "docker: --network none has only lo; --network host sees the host's links" {
  run docker_cmd run --rm --network none busybox ip -o link
  assert_status 0
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
  assert_output_contains "lo:"
  run docker_cmd run --rm --network host busybox ip -o link show dev "$NET_BR"
  assert_status 0
  assert_output_contains "$NET_BR"
}

@test "docker: two containers on a user network reach each other; --ip and --mac-address" {
  user_net un1 --subnet "$USER_SUBNET"
  run docker_cmd run -d --name srv --network un1 --ip "$USER_PFX.50" busybox \
    sh -c 'mkdir -p /www && echo hello-from-srv >/www/i && httpd -f -p 8080 -h /www'
  assert_status 0
  run docker_cmd inspect -f '{{.NetworkSettings.Networks.un1.IPAddress}} [{{.NetworkSettings.IPAddress}}]' srv
  assert_output "$USER_PFX.50 []"
  # The docker CLI 28 refuses --mac-address below API 1.44 (berth
  # advertises 1.41): Config.MacAddress through the raw API, as older clients send it.
  run api POST "/containers/create?name=mac1" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["ip","-o","link","show","dev","eth0"],"MacAddress":"02:42:0a:d6:aa:01","HostConfig":{"NetworkMode":"un1"}}'
  [ "${lines[-1]}" = 201 ]
  run docker_cmd start -a mac1
  assert_status 0
  assert_output_contains "link/ether 02:42:0a:d6:aa:01"
  run docker_cmd inspect -f '{{.NetworkSettings.Networks.un1.MacAddress}}' mac1
  assert_output "02:42:0a:d6:aa:01"
  docker_cmd rm mac1 >/dev/null
  wait_until 10 "srv to listen" docker_cmd exec srv sh -c 'netstat -ltn | grep -q :8080'
  run docker_cmd run --rm --network un1 busybox sh -c "printf 'GET /i HTTP/1.0\r\n\r\n' | nc -w 5 $USER_PFX.50 8080"
  assert_status 0
  assert_output_contains "hello-from-srv"
  docker_cmd rm -f srv >/dev/null
}

@test "docker: connect and disconnect a running container" {
  user_net un2 --subnet "10.214.$((NET_O + 3)).0/25"
  docker_cmd run -d --name cd1 busybox sleep 300 >/dev/null
  run docker_cmd network connect un2 cd1
  assert_status 0
  run docker_cmd exec cd1 ip -o -4 addr
  assert_output_contains "inet 10.214.$((NET_O + 3))."
  run docker_cmd inspect -f '{{.NetworkSettings.Networks.un2.IPAddress}}' cd1
  [[ "$output" == 10.214.$((NET_O + 3)).* ]]
  run docker_cmd exec cd1 ip -o link show dev eth1
  assert_status 0
  run docker_cmd network connect un2 cd1
  [ "$status" -ne 0 ]
  assert_output_contains "endpoint with name cd1 already exists in network un2"
  run docker_cmd network disconnect un2 cd1
  assert_status 0
  run docker_cmd exec cd1 ip -o -4 addr
  [[ "$output" != *"10.214.$((NET_O + 3))."* ]]
  run docker_cmd network disconnect un2 cd1
  [ "$status" -ne 0 ]
  assert_output_contains "is not connected to network un2"
  run docker_cmd network connect host cd1
  [ "$status" -ne 0 ]
  assert_output_contains "container cannot be disconnected from host network or connected to host network"
  # Stopped: the intent only; the next start attaches it.
  docker_cmd stop -t 0 cd1 >/dev/null
  run docker_cmd network connect un2 cd1
  assert_status 0
  docker_cmd start cd1 >/dev/null
  run docker_cmd inspect -f '{{.NetworkSettings.Networks.un2.IPAddress}}' cd1
  [[ "$output" == 10.214.$((NET_O + 3)).* ]]
  docker_cmd rm -f cd1 >/dev/null
}

@test "docker: an --internal network has no default route" {
  user_net inet1 --internal --subnet "$INT_SUBNET"
  run docker_cmd run --rm --network inet1 busybox ip route
  assert_status 0
  [[ "$output" != *default* ]]
  assert_output_contains "10.214.$((NET_O + 2)).0/24"
}

@test "docker: create-time errors as dockerd" {
  # As dockerd: created, the start fails, the container stays Created.
  run docker_cmd run --name nonet --network nosuch busybox true
  [ "$status" -eq 125 ]
  assert_output_contains "network nosuch not found"
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}}' nonet
  assert_output "created 128"
  docker_cmd rm nonet >/dev/null
  run docker_cmd run --rm --ip 10.214.$NET_O.77 busybox true
  [ "$status" -eq 125 ]
  assert_output_contains "user specified IP address is supported on user defined networks only"
  # (the docker CLI refuses --network-alias on the default bridge itself)
  run api POST "/containers/create" -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["x"]}}}}'
  [ "${lines[-1]}" = 400 ]
  assert_output_contains "network-scoped alias is supported only for containers in user defined networks"
  run docker_cmd run --rm --network container:nosuch --dns 1.1.1.1 busybox true
  [ "$status" -eq 125 ]
  assert_output_contains "conflicting options: dns and the network mode"
  run docker_cmd run --rm --link nosuch:x busybox true
  [ "$status" -eq 125 ]
  assert_output_contains "could not get container for nosuch"
}

@test "docker: legacy links: env vars and the hosts entry" {
  docker_cmd run -d --name db1 -e DBPASS=s3cret --expose 5432 busybox sleep 300 >/dev/null
  local dbip
  dbip=$(docker_cmd inspect -f '{{.NetworkSettings.IPAddress}}' db1)
  [ -n "$dbip" ]
  run docker_cmd run --name app1 --link db1:dbx busybox sh -c 'env | sort; cat /etc/hosts'
  assert_status 0
  assert_output_contains "DBX_NAME=/app1/dbx"
  assert_output_contains "DBX_ENV_DBPASS=s3cret"
  assert_output_contains "DBX_PORT=tcp://$dbip:5432"
  assert_output_contains "DBX_PORT_5432_TCP_ADDR=$dbip"
  assert_output_contains "$dbip	dbx db1"
  [[ "$output" != *DBX_ENV_PATH* ]]
  run docker_cmd inspect -f '{{json .HostConfig.Links}}' app1
  assert_output '["/db1:/app1/dbx"]'
  docker_cmd rm -f app1 db1 >/dev/null
}

@test "docker: a failed attach (address in use) fails the start and leaves nothing" {
  user_net un3 --subnet "10.214.$((NET_O + 3)).128/25"
  docker_cmd run -d --name a1 --network un3 --ip "10.214.$((NET_O + 3)).140" busybox sleep 300 >/dev/null
  local before
  before=$(ip -br link | grep -c "^$NET_VETH" || true)
  run docker_cmd run -d --name a2 --network un3 --ip "10.214.$((NET_O + 3)).140" busybox sleep 300
  [ "$status" -eq 125 ]
  assert_output_contains "failed to set up container networking"
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}} [{{.NetworkSettings.SandboxKey}}]' a2
  assert_output "created 128 []"
  run docker_cmd inspect -f '{{.State.Error}}' a2
  assert_output_contains "failed to set up container networking"
  [ "$(ip -br link | grep -c "^$NET_VETH" || true)" -eq "$before" ]
  local id
  id=$(docker_cmd inspect -f '{{.Id}}' a2)
  [ ! -e "$E2E_ROOT/exec/netns/$id" ]
  # The address is still a1's: a third container gets another one.
  run docker_cmd run --rm --network un3 busybox ip -o -4 addr show dev eth0
  assert_status 0
  [[ "$output" != *"10.214.$((NET_O + 3)).140/"* ]]
  docker_cmd rm -f a1 a2 >/dev/null
}

@test "docker: a port already allocated fails the start and leaves nothing; publish= filter" {
  local port=$((20000 + RANDOM % 20000))
  docker_cmd run -d --name p1 -p "127.0.0.1:$port:80" busybox sleep 300 >/dev/null
  run docker_cmd inspect -f '{{json .NetworkSettings.Ports}}' p1
  assert_output "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$port\"}]}"
  run docker_cmd ps --filter "publish=$port" --format '{{.Names}} {{.Ports}}'
  assert_output "p1 127.0.0.1:$port->80/tcp"
  run docker_cmd ps --filter "publish=$((port + 1))" --format '{{.Names}}'
  assert_output ""
  run docker_cmd ps --filter "expose=80" --format '{{.Names}}'
  assert_output "p1"
  local before
  before=$(ip -br link | grep -c "^$NET_VETH" || true)
  run docker_cmd run -d --name p2 -p "127.0.0.1:$port:80" busybox sleep 300
  [ "$status" -eq 125 ]
  assert_output_contains "Bind for 127.0.0.1:$port failed: port is already allocated"
  run docker_cmd inspect -f '{{.State.Status}} {{.State.ExitCode}} [{{.NetworkSettings.SandboxKey}}]' p2
  assert_output "created 128 []"
  [ "$(ip -br link | grep -c "^$NET_VETH" || true)" -eq "$before" ]
  local id
  id=$(docker_cmd inspect -f '{{.Id}}' p2)
  [ ! -e "$E2E_ROOT/exec/netns/$id" ]
  # Once p1 is gone the port is free again.
  docker_cmd rm -f p1 >/dev/null
  run docker_cmd start p2
  assert_status 0
  run docker_cmd port p2 80/tcp
  assert_output "127.0.0.1:$port"
  docker_cmd rm -f p2 >/dev/null
}

@test "docker: restart policy: each run gets a fresh sandbox, none is left after" {
  docker_cmd run -d --name rp1 --restart on-failure:2 busybox sh -c 'ip -o -4 addr show dev eth0 | grep -q "inet 10.214."; exit 3' >/dev/null
  wait_until 30 "rp1 to give up after 2 restarts" eval \
    "[ \"\$(docker_cmd inspect -f '{{.State.Status}} {{.RestartCount}}' rp1)\" = 'exited 2' ]"
  # exit 3, not grep's 1: every run had its address on eth0
  run docker_cmd inspect -f '{{.State.ExitCode}} [{{.NetworkSettings.SandboxKey}}]' rp1
  assert_output "3 []"
  local id
  id=$(docker_cmd inspect -f '{{.Id}}' rp1)
  [ ! -e "$E2E_ROOT/exec/netns/$id" ]
  docker_cmd rm rp1 >/dev/null
}

@test "docker: berthd SIGKILLed: a survivor keeps its address; one that died meanwhile loses its sandbox" {
  docker_cmd run -d --name sv1 busybox sleep 300 >/dev/null
  docker_cmd run -d --name sv2 busybox sleep 300 >/dev/null
  local ip1 id2 pid2
  ip1=$(docker_cmd inspect -f '{{.NetworkSettings.IPAddress}}' sv1)
  id2=$(docker_cmd inspect -f '{{.Id}}' sv2)
  pid2=$(docker_cmd inspect -f '{{.State.Pid}}' sv2)
  [ -e "$E2E_ROOT/exec/netns/$id2" ]
  berthd_kill9
  kill -KILL "$pid2"
  berthd_start
  wait_until 10 "sv2 to be seen exited" eval "[ \"\$(docker_cmd inspect -f '{{.State.Status}}' sv2)\" = exited ]"
  [ ! -e "$E2E_ROOT/exec/netns/$id2" ]
  run docker_cmd inspect -f '{{.State.Status}} {{.NetworkSettings.IPAddress}}' sv1
  assert_output "running $ip1"
  run docker_cmd exec sv1 ip -o -4 addr show dev eth0
  assert_output_contains "inet $ip1/24"
  # A new container does not get sv1's address.
  run docker_cmd run --rm busybox ip -o -4 addr show dev eth0
  assert_status 0
  [[ "$output" != *"inet $ip1/"* ]]
  docker_cmd rm -f sv1 sv2 >/dev/null
}

@test "docker: after rm -f of everything no veth and no netns file remain" {
  docker_cmd run -d --name l1 busybox sleep 300 >/dev/null
  docker_cmd run -d --name l2 busybox sleep 300 >/dev/null
  [ -n "$(ip -br link | grep "^$NET_VETH")" ]
  run docker_cmd ps -aq
  docker_cmd rm -f $output >/dev/null
  # The kernel deletes the veths with the namespaces, a moment later.
  wait_until 10 "the veths to go" eval "[ -z \"\$(ip -br link | grep '^$NET_VETH')\" ]"
  run find "$E2E_ROOT/exec/netns" -mindepth 1
  [ -z "$output" ]
  for n in $(docker_cmd network ls --format '{{.Name}}'); do
    case $n in bridge | host | none) ;; *) docker_cmd network rm "$n" >/dev/null ;; esac
  done
  # No monitor, no process in the cgroup parent; the one mount left under
  # the root is the daemon's own netns directory (dockerd keeps its too).
  run bash -c "grep -c ' $E2E_ROOT/exec/netns/' /proc/self/mountinfo"
  assert_output 0
  [ -z "$(_e2e_cgroup_procs "$E2E_CGP")" ]
  [ -z "$(_e2e_monitor_pids "$E2E_ROOT")" ]
}
