#pragma once
// The networking flags of `berth run` / `berth create` (-p, -P, --expose,
// --network, --network-alias, --ip, --ip6, --mac-address, --link,
// --link-local-ip, --dns*, --add-host) and of `berth network connect`,
// turned into the create body's pieces exactly as the docker CLI 28 sends
// them at API >= 1.44 (captured: tests/unit/cli_run_network_test.cpp).
// Pure: no I/O.
//
// Errors come back as InvalidArgument with the docker CLI's text: flag-value
// errors start with `invalid argument "<v>" for "--<flag>" flag: ` (the
// caller prints them with the usage line), the others are docker's plain
// messages ("invalid containerPort: x", "conflicting options: ...").

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "common/result.h"

namespace berth::cli {

// One --network value: a name, or docker's long syntax
// "name=n1,alias=a,ip=…,ip6=…,mac-address=…,link-local-ip=…,driver-opt=k=v,gw-priority=N"
// (CSV, keys and values lowercased and trimmed, as docker's opts.NetworkOpt).
struct NetworkAttachment {
  std::string target;
  std::vector<std::string> aliases, links, linkLocalIps;
  std::string ipv4, ipv6, mac;
  std::map<std::string, std::string> driverOpts;
  int gwPriority = 0;
};
// Errors: "invalid field key x", "invalid field x", "network name/id is not
// specified", "invalid key value pair format in driver options",
// "invalid gw-priority (x): invalid syntax" (without the flag prefix).
Result<NetworkAttachment> parseNetworkOpt(std::string_view value);

// The endpoint settings docker's CLI sends for one attachment (all the
// EndpointSettings fields, zero values included). Errors:
// "no name set for network", "network-scoped aliases are only supported for
// user-defined networks", "links are only supported for user-defined
// networks", "<mac> is not a valid mac address".
Result<nlohmann::ordered_json> endpointSettings(const NetworkAttachment& a);

// Not default, bridge, host, none or container:<x> (docker's IsUserDefined).
bool isUserDefinedNetwork(std::string_view mode);

// The networking parts of a create body.
struct NetworkingParts {
  nlohmann::ordered_json exposedPorts;  // null when none: the key is then left out
  nlohmann::ordered_json portBindings = nlohmann::ordered_json::object();
  std::string networkMode = "default";
  nlohmann::ordered_json endpoints = nlohmann::ordered_json::object();  // NetworkingConfig.EndpointsConfig
  std::vector<std::string> dns, dnsSearch, dnsOptions;
  nlohmann::ordered_json extraHosts, links;  // null when none
  std::vector<std::string> warnings;  // "WARNING: Localhost DNS (127.0.0.1) may fail in containers."
};
Result<NetworkingParts> networkingParts(const FlagSet& f);

// docker's flag validators, returning the value docker sends.
Result<std::string> validateExtraHost(std::string_view v);  // "h=1.2.3.4" -> "h:1.2.3.4"
Result<std::string> validateDnsSearch(std::string_view v);  // "x.com." -> "x.com"
Result<std::string> validateIpAddress(std::string_view v);  // canonical form
Result<std::string> validateLink(std::string_view v);
bool isValidMac(std::string_view v);  // Go's net.ParseMAC
// One record of Go's encoding/csv ("a,\"b,c\"" -> a | b,c).
Result<std::vector<std::string>> splitCsv(std::string_view v);

}  // namespace berth::cli
