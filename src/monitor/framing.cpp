#include "monitor/framing.h"

namespace berth::monitor {

std::string encodeMessage(MsgType t, std::string_view payload) {
  std::string out = encodeHeader(t, uint32_t(payload.size()));
  out.append(payload);
  return out;
}

void appendChunked(std::string& out, MsgType t, std::string_view data) {
  do {
    size_t n = std::min<size_t>(data.size(), kMaxPayload);
    out += encodeHeader(t, uint32_t(n));
    out.append(data.substr(0, n));
    data.remove_prefix(n);
  } while (!data.empty());
}

std::string encodeInt32(int32_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

std::string encodeStartError(Stage stage, int32_t err, std::string_view message) {
  std::string out = encodeInt32(int32_t(stage));
  out += encodeInt32(err);
  out.append(message);
  return out;
}

std::string encodeResize(uint16_t rows, uint16_t cols) {
  char b[4];
  std::memcpy(b, &rows, 2);
  std::memcpy(b + 2, &cols, 2);
  return std::string(b, 4);
}

bool decodeInt32(std::string_view p, int32_t& v) {
  if (p.size() < 4) return false;
  std::memcpy(&v, p.data(), 4);
  return true;
}

bool decodeResize(std::string_view p, uint16_t& rows, uint16_t& cols) {
  if (p.size() < 4) return false;
  std::memcpy(&rows, p.data(), 2);
  std::memcpy(&cols, p.data() + 2, 2);
  return true;
}

bool decodeStartError(std::string_view p, Stage& stage, int32_t& err, std::string& message) {
  int32_t s;
  if (!decodeInt32(p, s) || !decodeInt32(p.substr(4), err)) return false;
  stage = Stage(s);
  message.assign(p.substr(8));
  return true;
}

std::optional<Message> FrameDecoder::next() {
  if (invalid_ || buf_.size() - pos_ < sizeof(Header)) return std::nullopt;
  Header h;
  std::memcpy(&h, buf_.data() + pos_, sizeof h);
  if (h.length > kMaxPayload) {
    invalid_ = true;
    return std::nullopt;
  }
  if (buf_.size() - pos_ < sizeof h + h.length) return std::nullopt;
  Message m{MsgType(h.type), buf_.substr(pos_ + sizeof h, h.length)};
  pos_ += sizeof h + h.length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    if (buf_.capacity() > (64 << 10)) std::string().swap(buf_);
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return m;
}

}  // namespace berth::monitor
