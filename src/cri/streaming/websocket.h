#pragma once
// WebSocket (RFC 6455) framing for the streaming server, and the channel
// codecs of k8s.io's wsstream ("channel.k8s.io": a binary message whose
// first byte is the channel; "base64.channel.k8s.io": a text message whose
// first character is '0'+channel, the rest base64). Pure: no sockets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cri::streaming::ws {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Largest message accepted from a client (reassembled).
constexpr size_t kMaxMessage = 16 << 20;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(sha1(key + GUID)).
std::string acceptKey(std::string_view key);

struct Frame {
  bool fin = true;
  uint8_t opcode = kBinary;
  std::string payload;  // unmasked
};

// One frame; mask: a client's frames are masked (the 4-byte key), a
// server's are not (nullopt).
std::string encodeFrame(uint8_t opcode, std::string_view payload, std::optional<uint32_t> mask = std::nullopt,
                        bool fin = true);
// A close frame's payload: status code (big-endian) and reason.
std::string closePayload(uint16_t code, std::string_view reason = {});

// A complete message (fragments joined) or a control frame.
struct Message {
  uint8_t opcode = kBinary;  // kText, kBinary, kClose, kPing, kPong
  std::string payload;
};

// Incremental reader. requireMask: a server refuses unmasked client frames
// (RFC 6455 5.1). InvalidArgument on a protocol error: reserved bits,
// unknown opcode, fragmented or oversized control frame, a message over
// kMaxMessage, a continuation without a start.
class Decoder {
 public:
  explicit Decoder(bool requireMask) : requireMask_(requireMask) {}
  void feed(std::string_view bytes) { buf_.append(bytes); }
  Result<std::optional<Message>> next();

 private:
  bool requireMask_;
  std::string buf_;
  size_t pos_ = 0;
  std::optional<Message> partial_;  // a fragmented data message in progress
};

// wsstream channel codecs. binary: "channel.k8s.io" style, else base64.
std::string encodeChannel(bool binary, uint8_t channel, std::string_view data);
struct ChannelData {
  uint8_t channel = 0;
  std::string data;
};
// InvalidArgument for an empty message or bad base64. (Empty messages are
// skipped by callers before decoding, as wsstream does.)
Result<ChannelData> decodeChannel(bool binary, std::string_view message);

}  // namespace berth::cri::streaming::ws
