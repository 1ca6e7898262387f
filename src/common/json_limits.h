#pragma once
// Bounds on JSON text that comes from outside berthd (request bodies,
// filters, seccomp profiles, archives): a nesting depth checked by a cheap
// scan before any parser or recursive walk sees the document.

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth {

// Go's encoding/json maxNestingDepth: dockerd refuses deeper documents.
inline constexpr int kMaxJsonDepth = 10000;

// Scans text for '[' and '{' outside strings (escapes honoured) without
// parsing it. InvalidArgument "invalid character '[' exceeded max depth"
// (Go's text) when the nesting goes beyond maxDepth; malformed JSON passes
// (the parser reports it).
Result<> checkJsonDepth(std::string_view text, int maxDepth = kMaxJsonDepth);

// checkJsonDepth, then nlohmann's parser. InvalidArgument with the parser's
// message when the text is not JSON. Never throws.
Result<nlohmann::json> parseJsonBounded(std::string_view text, int maxDepth = kMaxJsonDepth);

}  // namespace berth
