#include "cri/streaming/request_cache.h"

#include <sys/random.h>

namespace berth::cri::streaming {

namespace {

std::string newToken() {
  unsigned char b[8];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += size_t(n);
  }
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // base64url without padding (Go's RawURLEncoding): 8 bytes -> 11 chars.
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : b) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace

RequestCache::RequestCache(std::chrono::steady_clock::duration ttl, Clock clock)
    : ttl_(ttl), clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void RequestCache::gcLocked(std::chrono::steady_clock::time_point now) {
  while (!order_.empty() && order_.front().expires <= now) {
    byToken_.erase(order_.front().token);
    order_.pop_front();
  }
}

Result<std::string> RequestCache::insert(StreamRequest req) {
  std::lock_guard lk(mu_);
  auto now = clock_();
  gcLocked(now);
  if (order_.size() >= kMaxInFlight) return makeError(Code::Unavailable, "maximum number of in-flight requests exceeded");
  std::string token;
  do token = newToken();
  while (byToken_.count(token));
  order_.push_back(Entry{token, std::move(req), now + ttl_});
  byToken_[token] = std::prev(order_.end());
  return token;
}

std::optional<StreamRequest> RequestCache::consume(const std::string& token) {
  std::lock_guard lk(mu_);
  gcLocked(clock_());
  auto it = byToken_.find(token);
  if (it == byToken_.end()) return std::nullopt;
  StreamRequest r = std::move(it->second->req);
  order_.erase(it->second);
  byToken_.erase(it);
  return r;
}

size_t RequestCache::size() {
  std::lock_guard lk(mu_);
  gcLocked(clock_());
  return order_.size();
}

}  // namespace berth::cri::streaming
