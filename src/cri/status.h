#pragma once
// berth's Error -> gRPC status, one mapping for every handler (containerd's
// CRI plugin answers the same codes for the same cases).

#include <grpcpp/grpcpp.h>

#include "common/result.h"

namespace berth::cri {

inline grpc::StatusCode statusCode(Code c) {
  switch (c) {
    case Code::NotFound: return grpc::StatusCode::NOT_FOUND;
    case Code::InvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::Conflict: return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::FailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::AlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case Code::Cancelled: return grpc::StatusCode::CANCELLED;
    case Code::PermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case Code::Unavailable: return grpc::StatusCode::UNAVAILABLE;
    case Code::Ok: return grpc::StatusCode::OK;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

inline grpc::Status toStatus(const Error& e) { return grpc::Status(statusCode(e.code), e.message); }

inline grpc::Status unimplemented(const char* method) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, std::string(method) + " is not implemented by berth");
}

}  // namespace berth::cri
