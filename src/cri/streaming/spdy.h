#pragma once
// SPDY/3.1 framing as kubelet's streaming clients speak it (moby/spdystream):
// control frames SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY,
// HEADERS, WINDOW_UPDATE and DATA frames. Name/value header blocks are
// zlib-compressed with the SPDY/3 dictionary, one zlib stream per direction
// for the whole connection (HeaderCompressor / HeaderDecompressor).
// Pure: no sockets. Not thread safe (one decoder and one encoder per
// connection, the encoder used under the connection's write lock).

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::cri::streaming::spdy {

constexpr uint16_t kVersion = 3;

enum class Type : uint16_t {
  Data = 0,
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
};

constexpr uint8_t kFlagFin = 0x01;
constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM

// RST_STREAM status codes.
constexpr uint32_t kRstProtocolError = 1;
constexpr uint32_t kRstInvalidStream = 2;
constexpr uint32_t kRstRefusedStream = 3;
constexpr uint32_t kRstCancel = 5;
constexpr uint32_t kRstInternalError = 6;

// Largest frame payload accepted (SPDY's 24-bit length allows 16 MiB).
constexpr size_t kMaxFramePayload = 1 << 24;

// Header names travel lowercase; several values of one name are joined by NUL.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The value of the first header named `name` (case-insensitive), or nullopt.
std::optional<std::string> headerValue(const Headers& h, std::string_view name);

// The SPDY/3 dictionary (1423 bytes).
std::string_view dictionary();

// The uncompressed name/value block: count, then (len, name, len, value)...,
// 32-bit big-endian lengths. Names are lowercased.
std::string encodeHeaderBlock(const Headers& h);
// InvalidArgument for a truncated or oversized block.
Result<Headers> decodeHeaderBlock(std::string_view block);

// One direction's compression context (deflate with the dictionary,
// Z_SYNC_FLUSH after every block).
class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;
  Result<std::string> compress(const Headers& h);

 private:
  z_stream z_{};
  bool ok_ = false;
};

// The peer's direction (inflate, the dictionary on Z_NEED_DICT).
class HeaderDecompressor {
 public:
  HeaderDecompressor();
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;
  // InvalidArgument for corrupt data or a block over 1 MiB uncompressed.
  Result<Headers> decompress(std::string_view data);

 private:
  z_stream z_{};
  bool ok_ = false;
};

struct Frame {
  Type type = Type::Data;
  uint8_t flags = 0;
  uint32_t streamId = 0;       // Data, SynStream, SynReply, RstStream, Headers, WindowUpdate
  uint32_t associatedId = 0;   // SynStream
  uint8_t priority = 0;        // SynStream (0..7)
  Headers headers;             // SynStream, SynReply, Headers
  std::string data;            // Data
  uint32_t status = 0;         // RstStream, GoAway
  uint32_t pingId = 0;         // Ping
  uint32_t lastGoodStreamId = 0;  // GoAway
  uint32_t deltaWindow = 0;    // WindowUpdate
  std::vector<std::pair<uint32_t, uint32_t>> settings;  // Settings: (flags<<24|id, value)
  bool fin() const { return flags & kFlagFin; }
};

// Incremental frame reader: feed() bytes as they arrive, next() returns
// complete frames in order. Control frames of an unknown type or another
// version are returned with type as read and no decoded body (callers
// ignore them). InvalidArgument for an oversized frame or a corrupt header
// block: the connection is then unusable.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  Result<std::optional<Frame>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  HeaderDecompressor inflater_;
};

// Frame writers. The header-bearing ones compress through `c`, which must
// be the connection's single outgoing context, in the order frames are sent.
std::string encodeData(uint32_t streamId, std::string_view data, bool fin);
Result<std::string> encodeSynStream(HeaderCompressor& c, uint32_t streamId, uint32_t associatedId, uint8_t priority,
                                    const Headers& h, uint8_t flags);
Result<std::string> encodeSynReply(HeaderCompressor& c, uint32_t streamId, const Headers& h, bool fin);
Result<std::string> encodeHeaders(HeaderCompressor& c, uint32_t streamId, const Headers& h, bool fin);
std::string encodeRstStream(uint32_t streamId, uint32_t status);
std::string encodePing(uint32_t id);
std::string encodeGoAway(uint32_t lastGoodStreamId, uint32_t status);
std::string encodeWindowUpdate(uint32_t streamId, uint32_t delta);
std::string encodeSettings(const std::vector<std::pair<uint32_t, uint32_t>>& entries);

}  // namespace berth::cri::streaming::spdy
