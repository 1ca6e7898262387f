#pragma once
// One finding of `berth system check` (POST /system/check): a value type
// the services that own a store return and the API edge encodes as
// {"Kind","Object","Detail","Repaired"}. docs/crash-safety.md lists the kinds.

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

struct Problem {
  std::string kind;    // what sort of object: "container", "container-dir", "blob", ...
  std::string object;  // which one: an id, a digest, a path under the data-root
  std::string detail;  // what is wrong (and, when repaired, what was done)
  bool repaired = false;
};

struct CheckOptions {
  bool repair = false;  // remove orphans, mark lost containers dead, thaw, kill
  // Leftovers on disk (a directory, a blob) younger than this may belong to
  // work in progress (a pull between its blob and its row, a removal between
  // its row and its directory): neither reported nor repaired. 0 at berthd
  // start, when nothing can be in progress.
  int64_t minAgeNanos = 0;
};

}  // namespace berth
