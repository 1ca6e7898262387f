#pragma once
// Human-readable sizes, durations and timestamps exactly as the docker CLI
// prints / parses them (github.com/docker/go-units, docker's formatter and
// timetypes packages). Pure functions, thread-safe; "now" is always passed in.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/until.h"
#include "common/util.h"

namespace berth::cli::format {

// ---- sizes (go-units) ----
// HumanSizeWithPrecision(size, precision): decimal units B kB MB GB ...,
// printed with Go's "%.*g". docker uses precision 3 ("1.98MB", "0B", "1kB").
std::string humanSizeWithPrecision(double size, int precision);
inline std::string humanSize(int64_t bytes) { return humanSizeWithPrecision(static_cast<double>(bytes), 3); }
// go-units HumanSize (precision 4: "1.982MB").
inline std::string humanSize4(double size) { return humanSizeWithPrecision(size, 4); }
// go-units BytesSize: binary units B KiB MiB ..., "%.4g" ("1.5KiB").
std::string bytesSize(double size);
// go-units FromHumanSize / RAMInBytes ("10m", "1.5GB", "512k").
// Errors: InvalidArgument "invalid size: 'X'". A size beyond int64 gives
// INT64_MIN, as go-units does on amd64.
Result<int64_t> fromHumanSize(std::string_view s);
Result<int64_t> ramInBytes(std::string_view s);

// ---- durations (go-units HumanDuration) ----
// "Less than a second", "1 second", "N seconds", "About a minute",
// "N minutes", "About an hour", "N hours", "N days", "N weeks", "N months",
// "N years", with go-units' thresholds and rounding.
using berth::humanDurationNanos;  // common/util.h
inline std::string humanDuration(int64_t seconds) { return humanDurationNanos(seconds * 1000000000LL); }
// docker's CREATED column: HumanDuration(now - created) + " ago".
inline std::string timeAgo(int64_t unixSeconds, int64_t nowUnixSeconds) {
  return humanDuration(nowUnixSeconds - unixSeconds) + " ago";
}

// ---- ids and strings (docker formatter / stringid) ----
// stringid.TruncateID: drops an "algo:" prefix, keeps 12 characters.
std::string truncateId(std::string_view id);
// formatter.Ellipsis: fits s into maxDisplayWidth terminal columns, ending
// with "…" when cut (East Asian wide runes count 2).
std::string ellipsis(std::string_view s, int maxDisplayWidth);
// Terminal display width (go-runewidth, simplified: wide CJK = 2, combining = 0).
int displayWidth(std::string_view s);
// docker ps COMMAND cell: strconv.Quote(Ellipsis(cmd, 20)), or the whole
// command quoted when noTrunc.
std::string psCommand(std::string_view command, bool noTrunc = false);

// ---- Go time.Duration ----
// parseGoDuration (time.ParseDuration) is in common/until.h.
// time.Duration.String(): "1h30m0s", "10m0s", "1.5s", "300ms", "0s".
std::string formatGoDuration(int64_t nanos);

// ---- docker --since / --until (api/types/time.GetTimestamp) ----
// Accepts a Go duration ("10m": now - 10m, printed as whole unix seconds),
// RFC 3339 / date forms ("2024-01-02", "2024-01-02T15:04", with Z or
// offsets, fractional seconds: printed "seconds.nanos" with 9 digits),
// or a unix timestamp "secs[.nanos]" passed through unchanged.
// Forms without a zone are in the local zone, given as its UTC offset.
// Errors: InvalidArgument (`failed to parse value as time or duration: "x"`).
Result<std::string> getTimestamp(std::string_view value, int64_t nowUnixNanos, int localUtcOffsetSeconds = 0);
// The current process's local UTC offset at `unixSeconds` (localtime_r).
int localUtcOffset(int64_t unixSeconds);

}  // namespace berth::cli::format
