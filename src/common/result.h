#pragma once
// Result<T> and Error: the error model of every module (STYLE.md 5-7).
// Functions that can fail return Result<T>; exceptions never cross module
// boundaries. errno becomes an Error only through sysError().

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace berth {

enum class Code {
  Ok = 0,
  NotFound,
  AlreadyExists,
  InvalidArgument,
  Conflict,
  FailedPrecondition,
  PermissionDenied,
  Unavailable,
  Cancelled,
  Internal,
  NotModified,  // start of a running / stop of a stopped container: HTTP 304
};

struct Error {
  Code code = Code::Internal;
  int err = 0;  // errno when the error came from a syscall, else 0
  std::string message;
  // Where starting a container or exec process failed (a runtime::Stage
  // value), else 0. With err it decides exit codes 126/127, never the text.
  int stage = 0;

  // Prefixes context: "create container: " + message.
  Error wrap(std::string_view context) const& {
    return Error{code, err, std::string(context) + ": " + message, stage};
  }
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> makeError(Code code, std::string message) {
  return std::unexpected(Error{code, 0, std::move(message)});
}

template <class... Args>
std::unexpected<Error> errorf(Code code, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{code, 0, fmt::format(f, std::forward<Args>(args)...)});
}

// The one place errno becomes an Error: "<context>: <strerror>".
inline Code codeForErrno(int e) {
  switch (e) {
    case ENOENT: return Code::NotFound;
    case EEXIST: return Code::AlreadyExists;
    case EINVAL: return Code::InvalidArgument;
    case EACCES:
    case EPERM: return Code::PermissionDenied;
    case EBUSY: return Code::Conflict;
    default: return Code::Internal;
  }
}

template <class... Args>
std::unexpected<Error> sysError(int e, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error{codeForErrno(e), e,
                               fmt::format(f, std::forward<Args>(args)...) + ": " + std::strerror(e)});
}

}  // namespace berth

// TRY(expr): evaluates a Result; returns its error from the enclosing function.
#define BERTH_CONCAT_(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_(a, b)
#define TRY(expr)                                               \
  do {                                                          \
    auto&& berth_try_r_ = (expr);                               \
    if (!berth_try_r_) return std::unexpected(berth_try_r_.error()); \
  } while (0)
// TRY_ASSIGN(decl, expr): `TRY_ASSIGN(auto fd, openFile(p));`
#define TRY_ASSIGN_IMPL_(tmp, decl, expr)                 \
  auto tmp = (expr);                                      \
  if (!tmp) return std::unexpected(std::move(tmp.error())); \
  decl = std::move(*tmp)
#define TRY_ASSIGN(decl, expr) TRY_ASSIGN_IMPL_(BERTH_CONCAT(berth_try_v_, __LINE__), decl, expr)
