#pragma once
// Internal: UTF-8 decoding as Go's utf8.DecodeRuneInString does it.

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::cli::format::detail {

// Decodes the rune at s[i]. Invalid or truncated sequences yield U+FFFD with
// length 1, as Go does. Requires i < s.size().
inline char32_t decodeRune(std::string_view s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  *len = 1;
  if (c < 0x80) return c;
  size_t n = 0;
  char32_t r = 0, min = 0;
  if ((c & 0xE0) == 0xC0) { n = 2; r = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { n = 3; r = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { n = 4; r = c & 0x07; min = 0x10000; }
  else return 0xFFFD;
  if (i + n > s.size()) return 0xFFFD;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0xFFFD;
    r = (r << 6) | (b(i + k) & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0xFFFD;
  *len = n;
  return r;
}

inline void appendRune(std::string& out, char32_t r) {
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// An approximation of Go's unicode.IsPrint for non-ASCII runes.
inline bool isPrintRune(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r < 0xA0 || r == 0xAD) return false;
  if (r >= 0x2028 && r <= 0x202E) return false;
  if (r >= 0x200B && r <= 0x200F) return false;
  if (r >= 0x2060 && r <= 0x206F) return false;
  if (r == 0xFEFF || r == 0xFFFE || r == 0xFFFF) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;   // private use
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  if (r >= 0xF0000) return false;
  return true;
}

}  // namespace berth::cli::format::detail
