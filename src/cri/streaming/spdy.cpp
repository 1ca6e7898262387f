#include "cri/streaming/spdy.h"

#include <strings.h>

namespace berth::cri::streaming::spdy {

namespace {

constexpr size_t kMaxHeaderBlock = 1 << 20;

void put32(std::string& out, uint32_t v) {
  out.push_back(char(v >> 24));
  out.push_back(char(v >> 16));
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}

uint32_t get32(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return uint32_t(uint8_t(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void controlHeader(std::string& out, Type type, uint8_t flags, size_t length) {
  out.push_back(char(0x80 | (kVersion >> 8)));
  out.push_back(char(kVersion & 0xff));
  out.push_back(char(uint16_t(type) >> 8));
  out.push_back(char(uint16_t(type) & 0xff));
  put32(out, uint32_t(flags) << 24 | uint32_t(length & 0xffffff));
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return r;
}

}  // namespace

std::optional<std::string> headerValue(const Headers& h, std::string_view name) {
  for (auto& [k, v] : h)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return std::nullopt;
}

std::string encodeHeaderBlock(const Headers& h) {
  std::string out;
  put32(out, uint32_t(h.size()));
  for (auto& [k, v] : h) {
    put32(out, uint32_t(k.size()));
    out += lower(k);
    put32(out, uint32_t(v.size()));
    out += v;
  }
  return out;
}

Result<Headers> decodeHeaderBlock(std::string_view b) {
  if (b.size() < 4) return makeError(Code::InvalidArgument, "spdy: truncated header block");
  uint32_t n = get32(b, 0);
  size_t at = 4;
  // Each pair takes at least 8 bytes: bound the count before reserving.
  if (n > (b.size() - 4) / 8) return makeError(Code::InvalidArgument, "spdy: header count exceeds the block");
  Headers h;
  h.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    std::string parts[2];
    for (auto& part : parts) {
      if (b.size() - at < 4) return makeError(Code::InvalidArgument, "spdy: truncated header block");
      uint32_t len = get32(b, at);
      at += 4;
      if (len > b.size() - at) return makeError(Code::InvalidArgument, "spdy: truncated header block");
      part.assign(b.substr(at, len));
      at += len;
    }
    if (parts[0].empty()) return makeError(Code::InvalidArgument, "spdy: empty header name");
    h.emplace_back(lower(parts[0]), std::move(parts[1]));
  }
  return h;
}

HeaderCompressor::HeaderCompressor() {
  ok_ = deflateInit(&z_, Z_BEST_COMPRESSION) == Z_OK;
  if (ok_)
    ok_ = deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(dictionary().data()), uInt(dictionary().size())) ==
          Z_OK;
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&z_); }

Result<std::string> HeaderCompressor::compress(const Headers& h) {
  if (!ok_) return makeError(Code::Internal, "spdy: deflate init failed");
  std::string in = encodeHeaderBlock(h);
  std::string out;
  z_.next_in = reinterpret_cast<Bytef*>(in.data());
  z_.avail_in = uInt(in.size());
  char buf[4096];
  do {
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = sizeof buf;
    int rc = deflate(&z_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return makeError(Code::Internal, "spdy: deflate failed");
    out.append(buf, sizeof buf - z_.avail_out);
  } while (z_.avail_out == 0);
  return out;
}

HeaderDecompressor::HeaderDecompressor() { ok_ = inflateInit(&z_) == Z_OK; }

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&z_); }

Result<Headers> HeaderDecompressor::decompress(std::string_view data) {
  if (!ok_) return makeError(Code::Internal, "spdy: inflate init failed");
  std::string out;
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z_.avail_in = uInt(data.size());
  char buf[4096];
  for (;;) {
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = sizeof buf;
    int rc = inflate(&z_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      if (inflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(dictionary().data()), uInt(dictionary().size())) !=
          Z_OK)
        return makeError(Code::InvalidArgument, "spdy: header dictionary rejected");
      out.append(buf, sizeof buf - z_.avail_out);
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      ok_ = false;
      return makeError(Code::InvalidArgument, "spdy: corrupt header block");
    }
    out.append(buf, sizeof buf - z_.avail_out);
    if (out.size() > kMaxHeaderBlock) return makeError(Code::InvalidArgument, "spdy: header block too large");
    if (z_.avail_out != 0 || rc == Z_STREAM_END) break;
  }
  return decodeHeaderBlock(out);
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (buffered() < 8) return std::optional<Frame>{};
  std::string_view b(buf_);
  b.remove_prefix(pos_);
  uint32_t w0 = get32(b, 0), w1 = get32(b, 4);
  size_t len = w1 & 0xffffff;
  if (len > kMaxFramePayload) return makeError(Code::InvalidArgument, "spdy: frame too large");
  if (b.size() < 8 + len) return std::optional<Frame>{};
  std::string_view body = b.substr(8, len);
  Frame f;
  f.flags = uint8_t(w1 >> 24);
  auto consume = [&] {
    pos_ += 8 + len;
    if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  };
  if (!(w0 & 0x80000000u)) {
    f.type = Type::Data;
    f.streamId = w0 & 0x7fffffff;
    f.data.assign(body);
    consume();
    return std::optional<Frame>(std::move(f));
  }
  uint16_t version = uint16_t((w0 >> 16) & 0x7fff);
  f.type = Type(w0 & 0xffff);
  auto need = [&](size_t n) -> Result<> {
    if (len < n) return makeError(Code::InvalidArgument, "spdy: short control frame");
    return {};
  };
  if (version != kVersion) {
    consume();
    return std::optional<Frame>(std::move(f));
  }
  switch (f.type) {
    case Type::SynStream: {
      TRY(need(10));
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.associatedId = get32(body, 4) & 0x7fffffff;
      f.priority = uint8_t(uint8_t(body[8]) >> 5);
      TRY_ASSIGN(f.headers, inflater_.decompress(body.substr(10)));
      break;
    }
    case Type::SynReply:
    case Type::Headers: {
      TRY(need(4));
      f.streamId = get32(body, 0) & 0x7fffffff;
      TRY_ASSIGN(f.headers, inflater_.decompress(body.substr(4)));
      break;
    }
    case Type::RstStream:
      TRY(need(8));
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.status = get32(body, 4);
      break;
    case Type::Settings: {
      TRY(need(4));
      uint32_t n = get32(body, 0);
      if (n > (len - 4) / 8) return makeError(Code::InvalidArgument, "spdy: short SETTINGS frame");
      for (uint32_t i = 0; i < n; i++) f.settings.emplace_back(get32(body, 4 + 8 * i), get32(body, 8 + 8 * i));
      break;
    }
    case Type::Ping:
      TRY(need(4));
      f.pingId = get32(body, 0);
      break;
    case Type::GoAway:
      TRY(need(4));
      f.lastGoodStreamId = get32(body, 0) & 0x7fffffff;
      if (len >= 8) f.status = get32(body, 4);
      break;
    case Type::WindowUpdate:
      TRY(need(8));
      f.streamId = get32(body, 0) & 0x7fffffff;
      f.deltaWindow = get32(body, 4) & 0x7fffffff;
      break;
    default:
      break;
  }
  consume();
  return std::optional<Frame>(std::move(f));
}

std::string encodeData(uint32_t streamId, std::string_view data, bool fin) {
  std::string out;
  out.reserve(8 + data.size());
  put32(out, streamId & 0x7fffffff);
  put32(out, uint32_t(fin ? kFlagFin : 0) << 24 | uint32_t(data.size() & 0xffffff));
  out += data;
  return out;
}

Result<std::string> encodeSynStream(HeaderCompressor& c, uint32_t streamId, uint32_t associatedId, uint8_t priority,
                                    const Headers& h, uint8_t flags) {
  TRY_ASSIGN(std::string block, c.compress(h));
  std::string out;
  controlHeader(out, Type::SynStream, flags, 10 + block.size());
  put32(out, streamId & 0x7fffffff);
  put32(out, associatedId & 0x7fffffff);
  out.push_back(char((priority & 7) << 5));
  out.push_back(0);  // slot
  out += block;
  return out;
}

Result<std::string> encodeSynReply(HeaderCompressor& c, uint32_t streamId, const Headers& h, bool fin) {
  TRY_ASSIGN(std::string block, c.compress(h));
  std::string out;
  controlHeader(out, Type::SynReply, fin ? kFlagFin : 0, 4 + block.size());
  put32(out, streamId & 0x7fffffff);
  out += block;
  return out;
}

Result<std::string> encodeHeaders(HeaderCompressor& c, uint32_t streamId, const Headers& h, bool fin) {
  TRY_ASSIGN(std::string block, c.compress(h));
  std::string out;
  controlHeader(out, Type::Headers, fin ? kFlagFin : 0, 4 + block.size());
  put32(out, streamId & 0x7fffffff);
  out += block;
  return out;
}

std::string encodeRstStream(uint32_t streamId, uint32_t status) {
  std::string out;
  controlHeader(out, Type::RstStream, 0, 8);
  put32(out, streamId & 0x7fffffff);
  put32(out, status);
  return out;
}

std::string encodePing(uint32_t id) {
  std::string out;
  controlHeader(out, Type::Ping, 0, 4);
  put32(out, id);
  return out;
}

std::string encodeGoAway(uint32_t lastGoodStreamId, uint32_t status) {
  std::string out;
  controlHeader(out, Type::GoAway, 0, 8);
  put32(out, lastGoodStreamId & 0x7fffffff);
  put32(out, status);
  return out;
}

std::string encodeWindowUpdate(uint32_t streamId, uint32_t delta) {
  std::string out;
  controlHeader(out, Type::WindowUpdate, 0, 8);
  put32(out, streamId & 0x7fffffff);
  put32(out, delta & 0x7fffffff);
  return out;
}

std::string encodeSettings(const std::vector<std::pair<uint32_t, uint32_t>>& entries) {
  std::string out;
  controlHeader(out, Type::Settings, 0, 4 + 8 * entries.size());
  put32(out, uint32_t(entries.size()));
  for (auto& [id, v] : entries) {
    put32(out, id);
    put32(out, v);
  }
  return out;
}

}  // namespace berth::cri::streaming::spdy
