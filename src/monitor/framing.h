#pragma once
// Message framing for the monitor protocol (protocol.h): encoding and an
// incremental decoder for a byte stream.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "monitor/protocol.h"

namespace berth::monitor {

struct Message {
  MsgType type;
  std::string payload;
};

// Header + payload. payload.size() must be <= kMaxPayload.
std::string encodeMessage(MsgType t, std::string_view payload);
// Appends messages carrying `data` to out, split at kMaxPayload.
void appendChunked(std::string& out, MsgType t, std::string_view data);

std::string encodeInt32(int32_t v);
std::string encodeStartError(Stage stage, int32_t err, std::string_view message);
std::string encodeResize(uint16_t rows, uint16_t cols);

// Payload decoders; false when the payload is too short.
bool decodeInt32(std::string_view payload, int32_t& v);
bool decodeResize(std::string_view payload, uint16_t& rows, uint16_t& cols);
bool decodeStartError(std::string_view payload, Stage& stage, int32_t& err, std::string& message);

// Feeds bytes, pops whole messages. A header announcing more than
// kMaxPayload makes the stream invalid (the peer is dropped).
class FrameDecoder {
 public:
  void feed(std::string_view data) { buf_.append(data); }
  // The next complete message, or nullopt when more bytes are needed.
  std::optional<Message> next();
  bool invalid() const { return invalid_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  bool invalid_ = false;
};

}  // namespace berth::monitor
