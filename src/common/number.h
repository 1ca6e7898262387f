#pragma once
// The one number parser (std::from_chars): the whole string must be a number
// of the asked type, in range, with no sign on unsigned types, no spaces, no
// trailing garbage. Use it in place of atoi/strtol/std::sto*, which accept
// "12abc" or " 7" or throw.
//
//   parseNumber<int>("42")       -> 42
//   parseNumber<int>("42x")      -> nullopt
//   parseNumber<uint16_t>("-1")  -> nullopt
//   parseNumber<double>("0.5")   -> 0.5
//
// numberOr() reads with a fallback where a bad value is not an error the
// caller can report (a corrupt /proc line, an optional field).

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "common/result.h"

namespace berth {

template <class T>
std::optional<T> parseNumber(std::string_view s, int base = 10) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
  if (s.empty()) return std::nullopt;
  if constexpr (std::is_unsigned_v<T>) {
    if (s.front() == '-' || s.front() == '+') return std::nullopt;
  }
  if (s.front() == '+') {  // "+5", as Go's strconv accepts it
    s.remove_prefix(1);
    if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  }
  T v{};
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(s.data(), s.data() + s.size(), v);
  } else {
    r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  }
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// parseNumber, or InvalidArgument "invalid <what>: \"<s>\"".
template <class T>
Result<T> parseNumberArg(std::string_view s, std::string_view what) {
  if (auto v = parseNumber<T>(s)) return *v;
  return errorf(Code::InvalidArgument, "invalid {}: \"{}\"", what, s);
}

template <class T>
T numberOr(std::string_view s, T fallback) {
  return parseNumber<T>(s).value_or(fallback);
}

// The text of Go's strconv.Atoi error for a string parseNumber<int> refused,
// which Docker's API errors quote: `strconv.Atoi: parsing "x": invalid
// syntax`, or `...: value out of range` for a well-formed integer too large.
inline std::string atoiErrorText(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  bool wellFormed = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  return "strconv.Atoi: parsing \"" + std::string(s) + "\": " + (wellFormed ? "value out of range" : "invalid syntax");
}

}  // namespace berth
