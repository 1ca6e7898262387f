#pragma once
// Docker's json-file log driver format: one JSON object per line,
//   {"log":"one\n","stream":"stdout","time":"2026-11-28T21:20:00.112130484Z"}
// with strings escaped as Docker's jsonlog (Go) does: \" \\ \n \r \t, other
// control characters and <, >, & as \u00XX, U+2028/9 escaped, each invalid
// UTF-8 byte as \ufffd. Time is Go's RFC3339Nano (trailing zeros trimmed).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/result.h"

namespace berth::monitor {

// Appends the JSON string literal (with quotes) for raw bytes.
void appendJsonString(std::string& out, std::string_view bytes);
// Go's time.RFC3339Nano in UTC: fraction trimmed of trailing zeros.
std::string formatGoRfc3339Nano(int64_t unixNanos);
// One log line including the trailing '\n'.
std::string encodeLogLine(std::string_view log, std::string_view stream, int64_t unixNanos);
// One line of the CRI log format (kubelet's, as containerd writes it):
//   <RFC3339Nano> stdout|stderr F|P <content>\n
// piece: a complete line with its '\n' (tag F, the "\n" or "\r\n" dropped),
// a kMaxLine piece of a longer line without one (tag P), or the rest of a
// stream that ended without a newline (final = true: tag F).
std::string encodeCriLine(std::string_view piece, std::string_view stream, int64_t unixNanos, bool final = false);

// The format of the lines a JsonLogWriter writes.
enum class LogFormat { Json, Cri };

// Splits each stream into lines and writes them to a file; rotates like
// Docker's max-size / max-file (json format). Single-threaded.
class JsonLogWriter {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;

  // maxSize 0: no rotation. maxFiles >= 1 (1: truncate in place).
  // compress (the local driver's format, docs/monitor.md): a rotated file
  // is gzipped to PATH.1.gz (older ones shift to .2.gz ...), synchronously.
  static Result<JsonLogWriter> open(const std::string& path, int64_t maxSize, int maxFiles, bool compress = false,
                                    LogFormat format = LogFormat::Json);
  // A writer that keeps nothing (the none driver).
  JsonLogWriter() = default;

  // Appends stream bytes; whole lines (and 16 KiB pieces) are written.
  // stream: 0 = stdout, 1 = stderr.
  void write(int stream, std::string_view data, int64_t nowNanos);
  // Writes any partial lines (at stream end).
  void flush(int64_t nowNanos);
  bool isOpen() const { return fd_.valid(); }
  // Opens the path again (O_APPEND, created when missing) and writes there
  // from now on: kubelet rotates a CRI log by renaming it, then asks for
  // this (ReopenContainerLog). The old fd is kept when the open fails.
  Result<> reopen();

 private:
  void emit(int stream, std::string_view line, int64_t nowNanos, bool final = false);
  void rotate();

  UniqueFd fd_;
  std::string path_;
  int64_t maxSize_ = 0;
  int maxFiles_ = 1;
  bool compress_ = false;
  LogFormat format_ = LogFormat::Json;
  int64_t size_ = 0;
  std::string pending_[2];
};

// Line splitting without the file, for tests and reuse: calls emit(line) for
// every complete line (with its '\n') or kMaxLine piece; keeps the rest in pending.
template <class F>
void splitLines(std::string& pending, std::string_view data, size_t maxLine, F&& emit) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t room = maxLine - pending.size();
    if (nl != std::string_view::npos && nl < room) {
      if (pending.empty()) {
        emit(data.substr(0, nl + 1));
      } else {
        pending.append(data.substr(0, nl + 1));
        emit(std::string_view(pending));
        pending.clear();
      }
      data.remove_prefix(nl + 1);
      continue;
    }
    size_t take = std::min(room, data.size());
    pending.append(data.substr(0, take));
    data.remove_prefix(take);
    if (pending.size() >= maxLine) {
      emit(std::string_view(pending));
      pending.clear();
    }
  }
}

}  // namespace berth::monitor
