#pragma once
// Time filters of prune and logs: Go durations and the until= filter.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

// Go's time.ParseDuration, in nanos: "10m", "1h30m", "1.5s", "300ms",
// "-2h45m", "0"; units ns, us (µs), ms, s, m, h. InvalidArgument with Go's
// text: `time: invalid duration "x"`, `time: missing unit in duration "10"`,
// `time: unknown unit "x" in duration "10x"`.
Result<int64_t> parseGoDuration(std::string_view s);
// The until= filter of prune: a Go duration before now, unix
// seconds[.frac], or an RFC 3339 time; unix nanos.
// InvalidArgument "invalid filter 'until=V'".
Result<int64_t> parseUntil(const std::string& v, int64_t nowNanos);

}  // namespace berth
