#pragma once
// docker's --mount flag value (opts.MountOpt): CSV "key=value" fields to one
// HostConfig.Mounts object. Pure.

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

// "type=volume,source=v,target=/app,readonly,volume-opt=k=v,tmpfs-size=1m".
// Errors carry docker's text after `invalid argument "..." for "--mount"
// flag: ` (e.g. "target is required", "unexpected key 'x' in 'x=1'").
Result<nlohmann::ordered_json> parseMountFlag(const std::string& value);

}  // namespace berth::cli
