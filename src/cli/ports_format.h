#pragma once
// How the docker CLI 28 shows published ports: the PORTS column of `ps`
// (formatter.DisplayablePorts over the list API's Ports array) and the
// lines of `port` (over inspect's NetworkSettings.Ports). Pure.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

// "0.0.0.0:32768->8080/tcp, [::]:32768->8080/tcp, 53/udp": sorted by
// private port, IP, public port, type; runs of consecutive ports with the
// same IP whose public port equals the private one collapse into ranges
// ("0.0.0.0:8000-8002->8000-8002/tcp", "7000-7002/tcp"); other mappings
// come last in sorted order.
std::string displayablePorts(const nlohmann::json& ports);

// fvbommel/sortorder.NaturalLess: digit runs compare as numbers.
bool naturalLess(std::string_view a, std::string_view b);

// `port CONTAINER [PRIVATE_PORT[/PROTO]]` lines, naturally sorted:
// "8080/tcp -> 0.0.0.0:32768" for all, "0.0.0.0:32768" for one port.
// Errors (the text docker prints, exit 1): "Error: invalid port (x):
// strconv.ParseUint: parsing \"x\": invalid syntax", "Error: No public port
// '80' published for c1".
Result<std::vector<std::string>> portLines(const nlohmann::json& networkSettingsPorts, const std::string& container,
                                           const std::string& privatePort);

}  // namespace berth::cli
