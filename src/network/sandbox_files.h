#pragma once
// A container's /etc/hosts and /etc/resolv.conf as dockerd writes them
// (libnetwork/etchosts, libnetwork/internal/resolvconf). Pure text in, text
// out; the network service gathers the inputs.

#include <string>
#include <string_view>
#include <vector>

namespace berth::network {

struct HostsInput {
  std::string hostname, domainname;
  std::vector<std::string> selfAddresses;  // the container's own addresses, every endpoint, in join order
  // "name:ip" (or "name=ip") as --add-host gives them, host-gateway already
  // resolved; several names may share one ip ("a b:ip" is not Docker's form).
  std::vector<std::string> extraHosts;
  // Legacy links: "ip\talias name" lines, already resolved.
  std::vector<std::string> linkLines;
  bool ipv6 = true;  // the ::1 / ip6-* lines
};
std::string buildHosts(const HostsInput& in);

struct ResolvInput {
  std::string hostResolvConf;             // the host's file (Config.resolvConf), its text
  std::vector<std::string> dns, dnsSearch, dnsOptions;  // the container's --dns ... (override the host's)
  // Empty on the default bridge; else berth-dns' addresses: the gateway of
  // each user network the container is on, in endpoint order.
  std::vector<std::string> internalNameservers;
  bool ipv6 = false;                      // Docker's IPv6 fallback servers too
};
std::string buildResolvConf(const ResolvInput& in);

// The host file's nameservers, search domains and options.
struct ResolvConf {
  std::vector<std::string> nameservers, search, options;
};
ResolvConf parseResolvConf(std::string_view text);

}  // namespace berth::network
