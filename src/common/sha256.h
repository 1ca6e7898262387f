#pragma once
// Streaming sha256 on OpenSSL; digests as "sha256:<64 hex>".

#include <memory>
#include <string>
#include <string_view>

namespace berth {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finalises; call once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256Hex(std::string_view data);
// "sha256:" + hex
std::string sha256Digest(std::string_view data);
// True when s is "sha256:" followed by exactly 64 lowercase hex digits.
bool isValidDigest(std::string_view s);
bool isHex(std::string_view s);

}  // namespace berth
