#pragma once
// Limits against archive bombs (docs/security.md, "Hostile archives"): every
// place that expands a tar or a compressed stream coming from outside (image
// load and import, layer unpack, cp into a container, build contexts, ADD of
// a local tar) checks its progress with an ExpansionGuard.
//
// Thread safety: an ExpansionGuard belongs to one stream (one thread);
// UnpackLimits is an immutable value.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

struct UnpackLimits {
  // daemon.json "max-expansion-ratio" / --max-expansion-ratio: a compressed
  // input may expand at most this many times (decompressed bytes over the
  // compressed bytes read so far), checked once it has produced more than
  // kExpansionFloor bytes. 0 = no limit.
  uint32_t maxExpansionRatio = 200;
  // daemon.json "min-free-space" / --min-free-space: bytes that must stay
  // free on the filesystem of fsPath (the data-root) while unpacking.
  // 0 = no reserve.
  uint64_t minFreeBytes = 256ull << 20;
  std::string fsPath;  // "" = no free-space check
};

// Below this many decompressed bytes the ratio is not checked (a small
// file of zeros compresses far beyond any ratio and is harmless).
inline constexpr uint64_t kExpansionFloor = 16ull << 20;

class ExpansionGuard {
 public:
  // what names the input in errors ("layer", "image archive", "build context").
  ExpansionGuard(const UnpackLimits& limits, std::string what) : limits_(limits), what_(std::move(what)) {}

  // in: bytes read from the (compressed) source so far; out: bytes produced
  // so far; compressed: whether a decompression filter sits between them.
  // InvalidArgument "... expands more than N times (max-expansion-ratio)"
  // past the ratio; InvalidArgument "... would leave less than N bytes free
  // on the data-root filesystem (min-free-space)" below the reserve (checked
  // at the first call and then every 4 MiB of output).
  Result<> check(uint64_t in, uint64_t out, bool compressed);

  // The reserve alone, now (before an unpack starts).
  Result<> checkFree();

 private:
  UnpackLimits limits_;
  std::string what_;
  uint64_t nextFreeCheck_ = 0;
};

}  // namespace berth
