#pragma once
// Docker's detach keys ("ctrl-p,ctrl-q" by default): the CLI watches its
// stdin for them, berthd watches an attach or exec stream's input
// (--detach-keys sent as detachKeys / DetachKeys).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth {

inline constexpr std::string_view kDefaultDetachKeys = "ctrl-p,ctrl-q";

// Parses docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-@") into bytes.
Result<std::vector<uint8_t>> parseDetachKeys(std::string_view spec);

// Detach-key detection on an input byte stream. feed() returns the bytes
// to forward; detached() turns true when the whole sequence was seen (those
// bytes are never forwarded). A partial match is held back until the next
// byte decides. Not thread safe.
class DetachDetector {
 public:
  explicit DetachDetector(std::vector<uint8_t> keys) : keys_(std::move(keys)) {}
  std::string feed(std::string_view in);
  bool detached() const { return detached_; }

 private:
  std::vector<uint8_t> keys_;
  size_t matched_ = 0;
  bool detached_ = false;
};

}  // namespace berth
