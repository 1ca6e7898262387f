#pragma once
// Time filters of prune and logs: Go durations and the until= filter.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace berth {

// Go durations as filters take them: "10m", "1h30m", "2.5h", "90s" (in
// nanos); nullopt when s is not one.
std::optional<int64_t> parseGoDuration(const std::string& s);
// The until= filter of prune: a Go duration before now, unix
// seconds[.frac], or an RFC 3339 time; unix nanos.
// InvalidArgument "invalid filter 'until=V'".
Result<int64_t> parseUntil(const std::string& v, int64_t nowNanos);

}  // namespace berth
