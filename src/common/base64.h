#pragma once
// base64 (RFC 4648) for registry credentials: X-Registry-Auth and the
// "auth" field of ~/.docker/config.json.

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

std::string base64Encode(std::string_view data);
// Accepts the standard and URL-safe alphabets, with or without padding.
// InvalidArgument "illegal base64 data" otherwise.
Result<std::string> base64Decode(std::string_view data);

}  // namespace berth
