#include "cri/streaming/websocket.h"

#include <openssl/sha.h>

#include "common/base64.h"

namespace berth::cri::streaming::ws {

std::string acceptKey(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string encodeFrame(uint8_t opcode, std::string_view payload, std::optional<uint32_t> mask, bool fin) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(char((fin ? 0x80 : 0) | (opcode & 0x0f)));
  uint8_t m = mask ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(char(m | n));
  } else if (n <= 0xffff) {
    out.push_back(char(m | 126));
    out.push_back(char(n >> 8));
    out.push_back(char(n & 0xff));
  } else {
    out.push_back(char(m | 127));
    for (int i = 7; i >= 0; i--) out.push_back(char((uint64_t(n) >> (8 * i)) & 0xff));
  }
  if (!mask) {
    out += payload;
    return out;
  }
  char key[4] = {char(*mask >> 24), char(*mask >> 16), char(*mask >> 8), char(*mask)};
  out.append(key, 4);
  for (size_t i = 0; i < n; i++) out.push_back(char(payload[i] ^ key[i % 4]));
  return out;
}

std::string closePayload(uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(char(code >> 8));
  p.push_back(char(code & 0xff));
  p += reason;
  return p;
}

Result<std::optional<Message>> Decoder::next() {
  for (;;) {
    std::string_view b(buf_);
    b.remove_prefix(pos_);
    if (b.size() < 2) return std::optional<Message>{};
    uint8_t b0 = uint8_t(b[0]), b1 = uint8_t(b[1]);
    if (b0 & 0x70) return makeError(Code::InvalidArgument, "websocket: reserved bits set");
    bool fin = b0 & 0x80;
    uint8_t op = b0 & 0x0f;
    bool masked = b1 & 0x80;
    if (requireMask_ && !masked) return makeError(Code::InvalidArgument, "websocket: unmasked client frame");
    uint64_t len = b1 & 0x7f;
    size_t at = 2;
    if (len == 126) {
      if (b.size() < 4) return std::optional<Message>{};
      len = uint64_t(uint8_t(b[2])) << 8 | uint8_t(b[3]);
      at = 4;
    } else if (len == 127) {
      if (b.size() < 10) return std::optional<Message>{};
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | uint8_t(b[2 + i]);
      at = 10;
    }
    bool control = op & 0x8;
    if (control && (!fin || len > 125)) return makeError(Code::InvalidArgument, "websocket: bad control frame");
    if (op != kContinuation && op != kText && op != kBinary && op != kClose && op != kPing && op != kPong)
      return makeError(Code::InvalidArgument, "websocket: unknown opcode");
    if (len > kMaxMessage) return makeError(Code::InvalidArgument, "websocket: message too large");
    if (masked) at += 4;
    if (b.size() < at + len) return std::optional<Message>{};
    std::string payload(b.substr(at, size_t(len)));
    if (masked) {
      const char* key = b.data() + at - 4;
      for (size_t i = 0; i < payload.size(); i++) payload[i] = char(payload[i] ^ key[i % 4]);
    }
    pos_ += at + size_t(len);
    if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (control) return std::optional<Message>(Message{op, std::move(payload)});
    if (op == kContinuation) {
      if (!partial_) return makeError(Code::InvalidArgument, "websocket: continuation without a message");
      if (partial_->payload.size() + payload.size() > kMaxMessage)
        return makeError(Code::InvalidArgument, "websocket: message too large");
      partial_->payload += payload;
    } else {
      if (partial_) return makeError(Code::InvalidArgument, "websocket: new message inside a fragmented one");
      partial_ = Message{op, std::move(payload)};
    }
    if (fin) {
      auto m = std::move(*partial_);
      partial_.reset();
      return std::optional<Message>(std::move(m));
    }
  }
}

std::string encodeChannel(bool binary, uint8_t channel, std::string_view data) {
  if (binary) {
    std::string m(1, char(channel));
    m += data;
    return m;
  }
  std::string m(1, char('0' + channel));
  m += base64Encode(data);
  return m;
}

Result<ChannelData> decodeChannel(bool binary, std::string_view message) {
  if (message.empty()) return makeError(Code::InvalidArgument, "websocket: empty channel message");
  ChannelData d;
  if (binary) {
    d.channel = uint8_t(message[0]);
    d.data.assign(message.substr(1));
    return d;
  }
  d.channel = uint8_t(message[0] - '0');
  if (message.size() > 1) {
    TRY_ASSIGN(d.data, base64Decode(message.substr(1)));
  }
  return d;
}

}  // namespace berth::cri::streaming::ws
