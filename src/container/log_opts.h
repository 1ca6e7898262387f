#pragma once
// HostConfig.LogConfig for the json-file driver: the options dockerd
// accepts and the rotation limits berth-monitor applies (--log-max-size,
// --log-max-file). The driver itself is in src/monitor/json_log.h.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

struct JsonFileLimits {
  int64_t maxSize = 0;  // bytes; 0 = no rotation
  int maxFiles = 1;     // files kept, the live one included
};

// Validates LogConfig ({"Type","Config"}): only json-file (or empty) is
// supported; options max-size (go-units RAMInBytes: "10k", "1m", "2g"),
// max-file (>= 1, more than 1 only with max-size), and the accepted but
// unused labels, labels-regex, env, env-regex, tag; compress only "false".
// InvalidArgument worded as dockerd's.
Result<JsonFileLimits> jsonFileLimits(const nlohmann::json& logConfig);

// The json-file names of a log and its rotated files, oldest first:
// path.(maxFiles-1) ... path.1, path.
std::vector<std::string> rotatedLogFiles(const std::string& path, int maxFiles);

}  // namespace berth::container
