#include "common/json_limits.h"

namespace berth {

Result<> checkJsonDepth(std::string_view text, int maxDepth) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    switch (c) {
      case '"': inString = true; break;
      case '[':
      case '{':
        if (++depth > maxDepth) return errorf(Code::InvalidArgument, "invalid character '{}' exceeded max depth", c);
        break;
      case ']':
      case '}':
        if (depth > 0) depth--;
        break;
      default: break;
    }
  }
  return {};
}

Result<nlohmann::json> parseJsonBounded(std::string_view text, int maxDepth) {
  TRY(checkJsonDepth(text, maxDepth));
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return makeError(Code::InvalidArgument, e.what());
  }
}

}  // namespace berth
