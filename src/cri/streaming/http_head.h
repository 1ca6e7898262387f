#pragma once
// The HTTP/1.1 request head a streaming client sends before it upgrades
// (SPDY/3.1 or WebSocket), and the plain responses the server answers
// before or instead of an upgrade. Pure.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::cri::streaming {

constexpr size_t kMaxRequestHead = 16 << 10;

struct RequestHead {
  std::string method, target, path, query, version;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  // Values of every header line named `name` (case-insensitive).
  std::vector<std::string> all(std::string_view name) const;
  // The first value, or "".
  std::string get(std::string_view name) const;
  // Values of a query parameter (application/x-www-form-urlencoded decoding).
  std::vector<std::string> queryValues(std::string_view key) const;
  // Connection lists "upgrade" and Upgrade names `protocol` (case-insensitive).
  bool upgradeTo(std::string_view protocol) const;
};

// The offset just past "\r\n\r\n" in buf, or nullopt while incomplete.
std::optional<size_t> findHeadEnd(std::string_view buf);
// InvalidArgument for a malformed request line or header line.
Result<RequestHead> parseRequestHead(std::string_view head);

// "HTTP/1.1 <code> <reason>" with the headers, Content-Length and a
// text/plain body (Connection: close).
std::string plainResponse(int code, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace berth::cri::streaming
