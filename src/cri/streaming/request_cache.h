#pragma once
// Streaming requests waiting for their client, by token (kubelet's
// requestCache): a token is random (8 bytes, base64url), used once, and
// expires after the TTL (1 minute); at most 1000 wait at once. Thread safe.

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "common/result.h"
#include "cri/streaming/backend.h"

namespace berth::cri::streaming {

using StreamRequest = std::variant<ExecSpec, AttachSpec, PortForwardSpec>;

class RequestCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr size_t kMaxInFlight = 1000;

  explicit RequestCache(std::chrono::steady_clock::duration ttl = std::chrono::minutes(1), Clock clock = nullptr);
  // The new token. Unavailable "maximum number of in-flight requests
  // exceeded" when kMaxInFlight unexpired requests wait.
  Result<std::string> insert(StreamRequest req);
  // The request, removed; nullopt for an unknown, used or expired token.
  std::optional<StreamRequest> consume(const std::string& token);
  size_t size();

 private:
  struct Entry {
    std::string token;
    StreamRequest req;
    std::chrono::steady_clock::time_point expires;
  };
  void gcLocked(std::chrono::steady_clock::time_point now);

  std::mutex mu_;
  std::chrono::steady_clock::duration ttl_;
  Clock clock_;
  std::list<Entry> order_;  // oldest first
  std::map<std::string, std::list<Entry>::iterator> byToken_;
};

}  // namespace berth::cri::streaming
