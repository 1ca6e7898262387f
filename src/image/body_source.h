#pragma once
// A request body (BodyReader) as a libarchive read callback, for the
// tarballs of import and load.

#include <archive.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "common/filters.h"
#include "common/io.h"
#include "common/result.h"

namespace berth::image {

struct BodySource {
  BodyReader* body;
  std::vector<char> buf = std::vector<char>(1 << 17);
  std::optional<Error> err;  // the body's own error, kept for the caller
};

// archive_read_open's read callback; ud is a BodySource.
inline la_ssize_t bodyRead(struct archive* a, void* ud, const void** out) {
  auto* src = static_cast<BodySource*>(ud);
  auto n = src->body->read(src->buf.data(), src->buf.size());
  if (!n) {
    src->err = n.error();
    archive_set_error(a, EIO, "%s", n.error().message.c_str());
    return -1;
  }
  *out = src->buf.data();
  return la_ssize_t(*n);
}

}  // namespace berth::image
