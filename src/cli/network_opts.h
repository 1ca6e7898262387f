#pragma once
// `berth network ...` requests and output pieces, pure (no I/O): the create
// and connect bodies as the docker CLI 28.2.2 sends them at API 1.41, its
// CLI-side checks and messages, and the shapes `network ls` / `network
// inspect` print. Captured and compared in tests/unit/cli_network_test.cpp
// and tests/e2e/network_cli.bats.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

struct NetworkCreateFlags {
  std::string name, driver = "bridge", scope, configFrom, ipamDriver = "default";
  std::vector<std::string> opts, labels, subnets, ipRanges, gateways, auxAddresses, ipamOpts;  // raw flag values
  bool internal = false, attachable = false, ingress = false, configOnly = false;
  std::optional<bool> ipv4, ipv6;  // sent only when given
};
// POST /networks/create. Errors (InvalidArgument): the flag-value ones in
// pflag's words (`invalid argument "a b" for "--label" flag: label 'a b'
// contains whitespaces`, exit 125), and createIPAMConfig's ("every ip-range
// or gateway must have a corresponding subnet", "multiple overlapping subnet
// configuration is not supported", "no matching subnet for gateway x",
// "cannot configure multiple ranges (a, b) on the same subnet (s)",
// "invalid subnet: invalid CIDR address: x", ..., exit 1).
Result<nlohmann::ordered_json> networkCreateBody(const NetworkCreateFlags& f);

struct NetworkConnectFlags {
  std::string ipv4, ipv6;
  std::vector<std::string> links, aliases, linkLocalIps, driverOpts;  // raw flag values
  int64_t gwPriority = 0;
};
// POST /networks/{id}/connect. Errors: `invalid argument "a:b:c" for
// "--link" flag: bad format for links: a:b:c`, "invalid key/value pair
// format in driver options".
Result<nlohmann::ordered_json> networkConnectBody(const std::string& container, const NetworkConnectFlags& f);

// pflag's StringSlice: each value read as one CSV record.
Result<std::vector<std::string>> stringSlice(const std::vector<std::string>& values);

// Go's time.Time.String() of an RFC 3339 time in the local zone:
// "2026-12-01 10:01:00.123456789 +0000 UTC" (the CREATED AT column).
std::string networkCreatedAt(const std::string& rfc3339);

// docker's network formatter headers.
const std::map<std::string, std::string>& networkHeaders();

// docker's inspect output for `network inspect`, one entry per name asked
// for: its raw answer, or the error to print (raw empty). Indented JSON
// array (format ""), one compact array ("json"), or the template per
// network with missingkey=error: a failing network adds "template parsing
// error: <go message>" and the others go on; no output at all prints one
// newline. Errors come back in the order of the names.
struct InspectEntry {
  std::string raw, error;
};
struct InspectOutput {
  std::string out;
  std::vector<std::string> errors;
  bool parseError = false;  // the template does not parse: docker exits 64
};
InspectOutput renderInspect(const std::vector<InspectEntry>& entries, const std::string& format);

}  // namespace berth::cli
