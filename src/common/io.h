#pragma once
// Byte streams that cross the seam between the HTTP edge (api/) and the
// services: a request body read incrementally, a streamed response body, and
// a hijacked connection. Services take these interfaces; api/ implements them
// over a socket, tests implement them in memory. Nothing here knows HTTP.

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth {

// Reads a body incrementally (bodies may be chunked and large).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to n bytes; returns 0 at the end of the body.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

// A streamed body: each write is sent as one unit and flushed.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Returns false when the peer has gone away.
  virtual bool write(std::string_view data) = 0;
  bool writeJsonLine(const nlohmann::json& j) { return write(j.dump() + "\n"); }
  // True when the peer has closed its side (for callers that wait long
  // before writing: wait, events, logs -f).
  virtual bool clientGone() { return false; }
};

// A hijacked connection (attach, exec start): raw bytes both ways.
class RawStream {
 public:
  virtual ~RawStream() = default;
  // Blocks; returns 0 on EOF (peer half-closed), <0 on error.
  virtual ssize_t read(char* buf, size_t n) = 0;
  // Writes all bytes; false when the peer has gone away.
  virtual bool write(std::string_view data) = 0;
  // Shuts down the write side (stream end) and closes.
  virtual void close() = 0;
  // A pollable fd for the read side (for poll loops); -1 if none.
  virtual int readFd() const = 0;
};

}  // namespace berth
