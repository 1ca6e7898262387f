#pragma once
// The body of an HTTP(S) GET as a BodyReader, for `docker import URL`
// (POST /images/create?fromSrc=URL). libcurl's multi interface is driven
// from read(): nothing runs between reads, and at most one libcurl write
// chunk (16 kB) is buffered, so a large tarball streams through.
//
// Thread safety: one reader per thread.

#include <memory>
#include <string>

#include "common/filters.h"
#include "common/io.h"
#include "common/result.h"

namespace berth::image {

// Starts the GET and waits for the response head. A URL without a scheme
// gets "http://" (as dockerd does). Errors, in dockerd's words:
//   InvalidArgument  scheme other than http/https
//   Internal         `Get "URL": <transport error>`, or
//                    "failed to GET URL with status 404 Not Found"
Result<std::unique_ptr<BodyReader>> openUrl(const std::string& url);

}  // namespace berth::image
