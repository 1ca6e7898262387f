#pragma once
// The one table between error codes and HTTP statuses (STYLE.md 7): berthd
// answers httpStatus(code) for an Error, the CLI rebuilds a Code from the
// status it receives with codeForStatus. Both directions read kCodeStatus.

#include <cerrno>

#include "common/result.h"

namespace berth {

struct CodeStatus {
  Code code;
  int status;
};

// One row per Code. Several codes share 409; the first row with a status is
// the code the reverse map gives back for it.
inline constexpr CodeStatus kCodeStatus[] = {
    {Code::Ok, 200},
    {Code::NotFound, 404},
    {Code::InvalidArgument, 400},
    {Code::Conflict, 409},
    {Code::AlreadyExists, 409},
    {Code::FailedPrecondition, 409},
    {Code::PermissionDenied, 403},
    {Code::Unavailable, 503},
    {Code::Cancelled, 499},
    {Code::Internal, 500},
    {Code::NotModified, 304},
};

// Statuses berthd never sends but other servers (dockerd, proxies) do.
inline constexpr CodeStatus kStatusAliases[] = {
    {Code::PermissionDenied, 401},
    {Code::Unavailable, 501},
};

// The HTTP status berthd answers for an error code; 500 for a code not in the table.
constexpr int httpStatus(Code code) {
  for (const auto& row : kCodeStatus)
    if (row.code == code) return row.status;
  return 500;
}

// The code the CLI gives a response status: the first table row with that
// status, an alias, Ok for any other 2xx, Internal for anything else.
constexpr Code codeForStatus(int status) {
  for (const auto& row : kCodeStatus)
    if (row.status == status) return row.code;
  for (const auto& row : kStatusAliases)
    if (row.status == status) return row.code;
  return status >= 200 && status < 300 ? Code::Ok : Code::Internal;
}

// Docker's exit status for a container or exec process that could not be
// started, from the errno of the failure (Error::stage != 0): 127 when
// something was not found, 126 when it could not be executed, 0 when the
// errno says neither (the caller picks its own code then). berthd records
// it as State.ExitCode; the berth CLI exits with it.
constexpr int startFailureExitCode(int err) {
  if (err == ENOENT) return 127;
  if (err == EACCES || err == EISDIR) return 126;
  return 0;
}

}  // namespace berth
