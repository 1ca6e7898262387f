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

// Fills req.path (decoded, the /vX.Y prefix removed), req.apiVersion ("" when
// the path had no valid prefix) and req.query (decoded, empty pairs skipped,
// repeated keys kept) from a request target "/v1.41/containers/json?all=1".
// Any bytes give some path (the router answers 404 for junk). false when a
// decoded path, key or value holds a NUL byte (%00): no parameter of the
// Engine API can hold one, C paths would be cut short at it, and the
// server answers 400.
bool parseTarget(std::string_view target, Request& req);

}  // namespace berth::api
