#pragma once
// The request target of an Engine API request (the HTTP request line's
// path and query), decoded as the server hands it to the router. Pure code:
// the server (server.cpp) and the HTTP fuzz target (tests/fuzz/http.cpp)
// call it on whatever bytes a client sent.

#include <string>
#include <string_view>

#include "api/http.h"

namespace berth::api {

// %XX decoded (a '%' not followed by two hex digits stays as is); with
// plusIsSpace (query keys and values) '+' becomes ' '.
std::string urlDecode(std::string_view s, bool plusIsSpace);

// "1.41" -> 141; -1 when malformed (no dot, a part that is not an int, or a
// negative one); INT_MAX when major * 100 + minor would not fit an int.
int versionNumber(std::string_view v);

// Fills req.path (decoded, the /vX.Y prefix removed), req.apiVersion ("" when
// the path had no valid prefix) and req.query (decoded, empty pairs skipped,
// repeated keys kept) from a request target "/v1.41/containers/json?all=1".
// Never fails: any bytes give some path (the router answers 404 for junk).
void parseTarget(std::string_view target, Request& req);

}  // namespace berth::api
