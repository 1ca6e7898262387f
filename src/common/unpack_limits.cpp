#include "common/unpack_limits.h"

#include <sys/statvfs.h>

namespace berth {

namespace {
constexpr uint64_t kFreeCheckEvery = 4ull << 20;
}

Result<> ExpansionGuard::checkFree() {
  if (limits_.minFreeBytes == 0 || limits_.fsPath.empty()) return {};
  struct statvfs sv {};
  if (::statvfs(limits_.fsPath.c_str(), &sv) != 0) return sysError(errno, "statvfs {}", limits_.fsPath);
  uint64_t avail = uint64_t(sv.f_bavail) * uint64_t(sv.f_frsize);
  if (avail < limits_.minFreeBytes)
    return errorf(Code::InvalidArgument,
                  "refusing to unpack the {}: it would leave less than {} bytes free on the data-root filesystem "
                  "(min-free-space; {} bytes free)",
                  what_, limits_.minFreeBytes, avail);
  return {};
}

Result<> ExpansionGuard::check(uint64_t in, uint64_t out, bool compressed) {
  if (compressed && limits_.maxExpansionRatio > 0 && out > kExpansionFloor &&
      out / std::max<uint64_t>(in, 1) >= limits_.maxExpansionRatio)
    return errorf(Code::InvalidArgument,
                  "refusing to unpack the {}: it expands more than {} times (max-expansion-ratio): {} bytes from {}",
                  what_, limits_.maxExpansionRatio, out, in);
  if (out >= nextFreeCheck_) {
    nextFreeCheck_ = out + kFreeCheckEvery;
    TRY(checkFree());
  }
  return {};
}

}  // namespace berth
