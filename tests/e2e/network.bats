#!/usr/bin/env bats
# Networks through the docker CLI against berthd's network service: the
# predefined networks and the default bridge (own --bridge name, --bip and
# nft table), user bridge networks with IPAM and options, ls filters and
# formats, inspect, rm and prune with dockerd's messages, persistence over a
# SIGKILL of berthd, and nothing left behind (links, nft table, netns files).
bats_require_minimum_version 1.5.0
load helpers

NFT="$BATS_TEST_DIRNAME/nft_cmd.py"

setup_file() {
  require_cmd ip iproute2
  require_cmd python3
  e2e_net_setup_file e 213 || return 1
}

teardown_file() {
  e2e_teardown_file
}

teardown() { e2e_teardown; }

# net_bridge NAME: the bridge link of network NAME (its option, or br-<12 hex>).
net_bridge() {
  local name=$1 opt id
  opt=$(docker_cmd network inspect "$name" --format '{{index .Options "com.docker.network.bridge.name"}}')
  if [ -n "$opt" ]; then echo "$opt"; return; fi
  id=$(docker_cmd network inspect "$name" --format '{{.Id}}')
  echo "br-${id:0:12}"
}

# record_links NAME...: remember the networks' bridges for the cleanup.
record_links() {
  local n
  for n in "$@"; do net_bridge "$n" >>"$E2E_ROOT/net-links"; done
}

@test "docker: predefined networks and the default bridge from --bridge/--bip" {
  run docker_cmd network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
  assert_status 0
  assert_output "bridge bridge local
host host local
none null local"
  run docker_cmd network inspect bridge --format '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{index .Options "com.docker.network.bridge.name"}}'
  assert_output "10.213.$NET_O.0/24 10.213.$NET_O.1 $NET_BR"
  run ip -br addr show dev "$NET_BR"
  assert_status 0
  assert_output_contains "10.213.$NET_O.1/24"
  run python3 "$NFT" list table inet "$NET_TABLE"
  assert_status 0
  assert_output_contains "$NET_BR"
}

@test "docker: create with --subnet --gateway --ip-range --label -o bridge.name, inspect" {
  local br=${NET_BR}u
  echo "$br" >>"$E2E_ROOT/net-links"
  run docker_cmd network create --subnet "10.213.$((NET_O + 1)).0/24" --gateway "10.213.$((NET_O + 1)).254" \
    --ip-range "10.213.$((NET_O + 1)).128/25" --label team=blue -o "com.docker.network.bridge.name=$br" n1
  assert_status 0
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  run docker_cmd network inspect n1 --format '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.EnableIPv6}} {{.Labels.team}}'
  assert_output "n1 bridge local false false blue"
  run docker_cmd network inspect n1 --format '{{json .IPAM}}'
  assert_output '{"Driver":"default","Options":{},"Config":[{"Subnet":"10.213.'$((NET_O + 1))'.0/24","IPRange":"10.213.'$((NET_O + 1))'.128/25","Gateway":"10.213.'$((NET_O + 1))'.254"}]}'
  run docker_cmd network inspect n1 --format '{{json .Containers}} {{.ConfigFrom.Network}}|{{.Attachable}}'
  assert_output '{} |false'
  run ip -br addr show dev "$br"
  assert_status 0
  assert_output_contains "10.213.$((NET_O + 1)).254/24"
  run python3 "$NFT" list table inet "$NET_TABLE"
  assert_output_contains "$br"
  # The raw API's created time is RFC 3339 with nanoseconds.
  run api GET /v1.41/networks/n1
  [[ $output =~ \"Created\":\"20[0-9-]+T[0-9:]+\.[0-9]+Z\" ]]
}

@test "docker: create --internal --ipv6 adds a ULA subnet beside --subnet" {
  run docker_cmd network create --internal --ipv6 --subnet "10.213.$((NET_O + 2)).0/24" n6
  assert_status 0
  record_links n6
  run docker_cmd network inspect n6 --format '{{.Internal}} {{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}},{{end}}'
  assert_status 0
  [[ $output =~ ^true\ true\ 10\.213\.$((NET_O + 2))\.0/24,fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/64,$ ]]
  run ip -br addr show dev "$(net_bridge n6)"
  assert_output_contains "10.213.$((NET_O + 2)).1/24"
}

@test "docker: ls filters, --format, -q" {
  run docker_cmd network ls --filter label=team=blue --format '{{.Name}}'
  assert_output "n1"
  run docker_cmd network ls --filter driver=null --format '{{.Name}}'
  assert_output "none"
  run docker_cmd network ls --filter type=custom --format '{{.Name}}'
  assert_output "n1
n6"
  run docker_cmd network ls --filter type=builtin --format '{{.Name}}'
  assert_output "bridge
host
none"
  run docker_cmd network ls --filter name=n --format '{{.Name}}'
  assert_output "n1
n6
none"
  run docker_cmd network ls --filter 'name=^n.$' --format '{{.Name}}'
  assert_output "n1
n6"
  run docker_cmd network ls -q --no-trunc --filter name=n1
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  run docker_cmd network ls --filter dangling=true --format '{{.Name}}'
  assert_output "n1
n6"
  run docker_cmd network ls --filter bogus=1
  [ "$status" -ne 0 ]
  assert_output_contains "invalid filter 'bogus'"
}

@test "docker: create, rm and inspect errors as dockerd words them" {
  run docker_cmd network create n1
  [ "$status" -ne 0 ]
  assert_output_contains "Error response from daemon: network with name n1 already exists"
  run docker_cmd network create --subnet "10.213.$((NET_O + 1)).0/25" overlap
  [ "$status" -ne 0 ]
  assert_output_contains "Pool overlaps with other one on this address space"
  run docker_cmd network create -d host h2
  [ "$status" -ne 0 ]
  assert_output_contains 'only one instance of "host" network is allowed'
  run docker_cmd network create -d null z2
  assert_output_contains 'only one instance of "null" network is allowed'
  run docker_cmd network create --subnet 10.213.0.1/16 badsub
  [ "$status" -ne 0 ]
  assert_output_contains "invalid subnet 10.213.0.1/16: it should be 10.213.0.0/16"
  run docker_cmd network rm nope
  [ "$status" -ne 0 ]
  assert_output_contains "Error response from daemon: network nope not found"
  run docker_cmd network rm bridge
  [ "$status" -ne 0 ]
  assert_output_contains "bridge is a pre-defined network and cannot be removed"
  run docker_cmd network inspect nope
  [ "$status" -ne 0 ]
  assert_output_contains "network nope not found"
  # None of the failures left a network behind.
  run docker_cmd network ls --format '{{.Name}}'
  assert_output "bridge
host
n1
n6
none"
}

@test "docker: networks, their ids and bridges survive a SIGKILL of berthd" {
  local before after
  before=$(docker_cmd network ls -q --no-trunc | sort)
  berthd_kill9
  berthd_start
  after=$(docker_cmd network ls -q --no-trunc | sort)
  [ "$before" = "$after" ]
  run ip -br link show dev "${NET_BR}u"
  assert_status 0
  run python3 "$NFT" list table inet "$NET_TABLE"
  assert_output_contains "${NET_BR}u"
}

@test "docker: rm and prune remove networks, their bridges and their rules" {
  local b6
  b6=$(net_bridge n6)
  run docker_cmd network create --label keep=1 --subnet "10.213.$((NET_O + 3)).0/24" kept
  assert_status 0
  record_links kept
  run docker_cmd network rm n6
  assert_status 0
  assert_output "n6"
  run ip link show dev "$b6"
  [ "$status" -ne 0 ]
  run docker_cmd network prune -f --filter label!=keep
  assert_status 0
  assert_output "Deleted Networks:
n1"
  run ip link show dev "${NET_BR}u"
  [ "$status" -ne 0 ]
  run python3 "$NFT" list table inet "$NET_TABLE"
  [[ $output != *"${NET_BR}u"* ]]
  run docker_cmd network prune -f
  assert_output_contains "kept"
  run docker_cmd network ls --format '{{.Name}}'
  assert_output "bridge
host
none"
}

@test "docker: nothing left behind" {
  assert_no_leftovers
  # No endpoint, so no namespace file.
  if [ -d "$E2E_ROOT/exec/netns" ]; then
    run find "$E2E_ROOT/exec/netns" -mindepth 1
    [ -z "$output" ]
  fi
  # The daemon leaves its default bridge and table (containers may still be
  # running after it stops, as dockerd's); the cleanup removes them.
  local r=$E2E_ROOT
  e2e_cleanup_root "$r"
  run ip link show dev "$NET_BR"
  [ "$status" -ne 0 ]
  run python3 "$NFT" list table inet "$NET_TABLE"
  [ "$status" -ne 0 ]
  run bash -c "ip -br link | grep -E '^($NET_BR|$NET_VETH)'"
  [ -z "$output" ]
}
