#pragma once
// DNS on user networks (issue 12): the records berthd publishes and the
// resolver process that answers containers, `berth-dns`, which outlives
// berthd like a monitor does (so names resolve while berthd is down).
//
// CONTRACT (session 4): declared by the lead; implemented on branch
// `net-dns` (dns.cpp, src/dns/ for the berth-dns binary, tests); used by the
// network service (branch `net-core`).
//
// Design: one berth-dns process per user network that has DNS, in the
// host's network namespace, listening on UDP and TCP port 53 of the
// network's gateway address(es) (as Podman's aardvark-dns does; Docker
// uses 127.0.0.11 inside each container: documented difference). A
// container's resolv.conf names the gateway. Records live in one file per
// network, replaced atomically (write temp + rename) by berthd; berth-dns
// re-reads it when its mtime/inode changes (checked per query, or inotify),
// so berthd never needs to talk to it. Unknown names are forwarded to the
// upstream servers (from the host: loopback upstreams work) with the
// client's query id; A, AAAA, PTR for the network's names; NXDOMAIN for a
// known name's missing type is NOERROR/empty, as Docker answers.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::network {

struct DnsRecord {
  std::string name;               // lower-case; a container name, alias, short id
  std::vector<std::string> ipv4;  // addresses on this network
  std::vector<std::string> ipv6;
  // (net-dns addition, optional) The answer to PTR queries for these
  // addresses, e.g. "web.mynet" (Docker answers <container name>.<network
  // name>, never an alias). Empty: the record claims nothing; an address no
  // record claims answers the name of the first record holding it.
  std::string ptr = {};
};

// (dns-clients addition) One container on this network, keyed by its
// address here: berth-dns answers its queries from the network's records plus
// `extraRecords` (the names of the other user networks it is on, with its
// addresses there: Docker resolves every network a container is on), and
// forwards its unknown names to `upstreams` (its own --dns) when it has any,
// else to the network's.
struct DnsClient {
  std::string address;                 // the container's IPv4 or IPv6 address on this network
  std::vector<std::string> upstreams;  // as DnsConfig::upstreams; empty: the network's
  std::vector<DnsRecord> extraRecords;
};

struct DnsConfig {
  std::string networkId;
  std::vector<std::string> listen;     // gateway addresses (IPv4 and/or IPv6)
  std::vector<std::string> upstreams;  // "ip" or "ip:port" / "[ip6]:port"; empty: the host's resolv.conf
  std::vector<std::string> searchDomains;
  std::vector<DnsRecord> records;
  std::vector<DnsClient> clients = {};  // (dns-clients addition) missing in the JSON: none
};

// Writes <dir>/<networkId>.json (temp + rename). berth-dns reads only this file.
Result<> writeDnsConfig(const std::string& dir, const DnsConfig& cfg);
Result<DnsConfig> readDnsConfig(const std::string& path);

// Makes sure berth-dns runs for this network: reads <dir>/<networkId>.pid,
// and if that pid is not a live berth-dns for this network, spawns
// `<dnsBin> --config <dir>/<networkId>.json --pid-file <dir>/<networkId>.pid`
// detached (setsid, no fds inherited but stderr to <dir>/<networkId>.log)
// and waits until it listens (it writes the pid file after bind). Idempotent.
Result<> ensureResolver(const std::string& dnsBin, const std::string& dir, const std::string& networkId);
// SIGTERM to the network's berth-dns (by its pid file, checked against
// /proc/<pid>/cmdline), waits for it to exit, removes its files.
Result<> stopResolver(const std::string& dir, const std::string& networkId);

}  // namespace berth::network
