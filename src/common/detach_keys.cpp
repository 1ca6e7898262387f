#include "common/detach_keys.h"

#include "common/util.h"

namespace berth {

Result<std::vector<uint8_t>> parseDetachKeys(std::string_view spec) {
  std::vector<uint8_t> out;
  for (const std::string& key : split(spec, ',')) {
    if (key.size() == 1) {
      out.push_back(uint8_t(key[0]));
      continue;
    }
    std::string k = toLower(key);
    if (k.size() != 6 || !startsWith(k, "ctrl-"))
      return errorf(Code::InvalidArgument, "Unknown character: '{}'", key);
    char c = k[5];
    if (c >= 'a' && c <= 'z') {
      out.push_back(uint8_t(c - 'a' + 1));
    } else {
      static const std::string_view kSpecial = "@[\\]^_";
      auto pos = kSpecial.find(c);
      if (pos == std::string_view::npos)
        return errorf(Code::InvalidArgument, "Unknown character: '{}'", key);
      out.push_back(pos == 0 ? 0 : uint8_t(26 + pos));
    }
  }
  if (out.empty()) return makeError(Code::InvalidArgument, "empty detach keys");
  return out;
}

std::string DetachDetector::feed(std::string_view in) {
  std::string out;
  for (char ch : in) {
    if (detached_) break;
    uint8_t c = uint8_t(ch);
    if (!keys_.empty() && c == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        detached_ = true;
        matched_ = 0;
      }
      continue;
    }
    if (matched_ > 0) {  // mismatch: release the held prefix
      out.append(reinterpret_cast<const char*>(keys_.data()), matched_);
      matched_ = 0;
      if (c == keys_[0]) {
        matched_ = 1;
        if (keys_.size() == 1) detached_ = true;
        continue;
      }
    }
    out.push_back(ch);
  }
  return out;
}

}  // namespace berth
