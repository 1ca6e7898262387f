#pragma once
// A request body (BodyReader) as a libarchive read callback, for the
// tarballs of import and load.

#include <archive.h>

#include <cerrno>
#include <optional>
#include <string_view>
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

// A libarchive reader over a request body, with every filter (compression)
// and one format. Owns the archive. fail(what) is the error for a libarchive
// failure: the body's own error when reading the body failed, else
// InvalidArgument "<what>: <libarchive's message>".
class BodyArchive {
 public:
  enum class Format { Tar, Raw };
  BodyArchive(BodyReader& body, Format format) : a_(archive_read_new()) {
    src_.body = &body;
    archive_read_support_filter_all(a_);
    if (format == Format::Tar) archive_read_support_format_tar(a_);
    else archive_read_support_format_raw(a_);
  }
  ~BodyArchive() { archive_read_free(a_); }
  BodyArchive(const BodyArchive&) = delete;
  BodyArchive& operator=(const BodyArchive&) = delete;

  struct archive* get() const { return a_; }
  Result<> open(std::string_view what) {
    if (archive_read_open(a_, &src_, nullptr, bodyRead, nullptr) != ARCHIVE_OK) return fail(what);
    return {};
  }
  std::unexpected<Error> fail(std::string_view what) const {
    if (src_.err) return std::unexpected(src_.err->wrap("read request body"));
    const char* s = archive_error_string(a_);
    return errorf(Code::InvalidArgument, "{}: {}", what, s ? s : "unknown error");
  }

 private:
  struct archive* a_;
  BodySource src_;
};

}  // namespace berth::image
