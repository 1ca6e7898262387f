#pragma once
// HostConfig.LogConfig for the json-file driver: the options dockerd
// accepts and the rotation limits berth-monitor applies (--log-max-size,
// --log-max-file). The driver itself is in src/monitor/json_log.h.

#include <cstdint>
#include <map>
#include <vector>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

// The driver of a LogConfig and the limits berth-monitor applies
// (--log-driver, --log-max-size, --log-max-file, --log-compress).
struct JsonFileLimits {
  std::string driver = "json-file";  // json-file, local or none
  int64_t maxSize = 0;  // bytes; 0 = no rotation
  int maxFiles = 1;     // files kept, the live one included
  bool compress = false;  // rotated files gzipped (local)
  std::string path;       // cri-log: the file kubelet asked for
};

// Validates LogConfig ({"Type","Config"}), worded as dockerd's
// (InvalidArgument):
//  - json-file (or empty Type): max-size (go-units RAMInBytes: "10k", "1m",
//    "2g"), max-file (>= 1, more than 1 only with max-size), the accepted but
//    unused labels, labels-regex, env, env-regex, tag; compress only "false".
//  - local: max-size (default 20m), max-file (default 5), compress (default
//    true); rotation always on.
//  - none: any options; nothing is kept.
//  - cri-log (berth's, for CRI containers only; the container service
//    refuses it for others): the CRI log format at Config "path" (an
//    absolute path, required), never rotated by berth (kubelet rotates it).
//  - any other Type: "logger: no log driver named 'X' is registered".
Result<JsonFileLimits> jsonFileLimits(const nlohmann::json& logConfig);

// The names of a log and its rotated files, oldest first:
// path.(maxFiles-1) ... path.1, path (with ".gz" on rotated ones when compressed).
std::vector<std::string> rotatedLogFiles(const std::string& path, int maxFiles, bool compressed = false);

// moby's mergeAndVerifyLogConfig: an empty Type takes the daemon's default
// driver; when the types then match, the daemon's default options fill the
// missing keys. Returns the LogConfig to store ({"Type","Config"}).
nlohmann::json mergeLogConfig(const nlohmann::json& logConfig, const std::string& defaultDriver,
                              const std::map<std::string, std::string>& defaultOpts);

}  // namespace berth::container
