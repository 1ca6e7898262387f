#include <gtest/gtest.h>

#include <cerrno>

#include "cli/exit_code.h"
#include "common/error_status.h"

namespace berth {
namespace {

// Every code survives the trip daemon -> HTTP status -> CLI, except codes
// that share a status with an earlier row: they come back as that row's.
TEST(ErrorStatus, RoundTrip) {
  for (const auto& row : kCodeStatus) {
    int status = httpStatus(row.code);
    EXPECT_EQ(status, row.status);
    Code back = codeForStatus(status);
    Code first = row.code;
    for (const auto& r : kCodeStatus)
      if (r.status == status) {
        first = r.code;
        break;
      }
    EXPECT_EQ(back, first) << "status " << status;
  }
  EXPECT_EQ(codeForStatus(httpStatus(Code::AlreadyExists)), Code::Conflict);
  EXPECT_EQ(codeForStatus(httpStatus(Code::FailedPrecondition)), Code::Conflict);
  EXPECT_EQ(codeForStatus(httpStatus(Code::Cancelled)), Code::Cancelled);
}

TEST(ErrorStatus, DockerStatuses) {
  EXPECT_EQ(httpStatus(Code::NotFound), 404);
  EXPECT_EQ(httpStatus(Code::InvalidArgument), 400);
  EXPECT_EQ(httpStatus(Code::Conflict), 409);
  EXPECT_EQ(httpStatus(Code::NotModified), 304);
  EXPECT_EQ(httpStatus(Code::Unavailable), 503);
  EXPECT_EQ(codeForStatus(401), Code::PermissionDenied);
  EXPECT_EQ(codeForStatus(501), Code::Unavailable);
  EXPECT_EQ(codeForStatus(204), Code::Ok);
  EXPECT_EQ(codeForStatus(418), Code::Internal);
  EXPECT_EQ(codeForStatus(502), Code::Internal);
}

TEST(ErrorStatus, StartFailureExitCode) {
  EXPECT_EQ(startFailureExitCode(ENOENT), 127);
  EXPECT_EQ(startFailureExitCode(EACCES), 126);
  EXPECT_EQ(startFailureExitCode(EISDIR), 126);
  EXPECT_EQ(startFailureExitCode(EPERM), 0);
  EXPECT_EQ(startFailureExitCode(0), 0);
}

TEST(ErrorStatus, CliExitCodes) {
  using cli::ExitContext;
  using cli::exitCodeFor;
  Error plain{Code::NotFound, ENOENT, "No such image: x"};
  EXPECT_EQ(exitCodeFor(plain), 1);
  EXPECT_EQ(exitCodeFor(plain, ExitContext::Run), 125);  // errno alone is not a start failure
  Error notFound{Code::InvalidArgument, ENOENT, "exec: \"nope\": executable file not found in $PATH", 7};
  EXPECT_EQ(exitCodeFor(notFound, ExitContext::Run), 127);
  EXPECT_EQ(exitCodeFor(notFound), 1);  // start / exec report any failure as 1
  Error denied{Code::InvalidArgument, EACCES, "exec /etc: permission denied", 7};
  EXPECT_EQ(exitCodeFor(denied, ExitContext::Run), 126);
  Error dir{Code::InvalidArgument, EISDIR, "text that says nothing", 7};
  EXPECT_EQ(exitCodeFor(dir, ExitContext::Run), 126);
  Error other{Code::InvalidArgument, EPERM, "no such file or directory (the text is not read)", 5};
  EXPECT_EQ(exitCodeFor(other, ExitContext::Run), 125);
  EXPECT_EQ(exitCodeFor(notFound.wrap("start"), ExitContext::Run), 127);  // wrap keeps stage and errno
}

}  // namespace
}  // namespace berth
