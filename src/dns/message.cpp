#include "dns/message.h"

#include <arpa/inet.h>

namespace berth::dns {

namespace {

constexpr size_t kMinQuestion = 5;  // root name + type + class
constexpr size_t kMinRecord = 11;   // root name + type, class, ttl, rdlength

Result<> need(std::string_view wire, size_t off, size_t n) {
  if (off > wire.size() || wire.size() - off < n) return makeError(Code::InvalidArgument, "truncated message");
  return {};
}

uint32_t get32(std::string_view s, size_t off) { return (uint32_t(get16(s, off)) << 16) | get16(s, off + 2); }

void append16(std::string& s, uint16_t v) {
  s.push_back(char(v >> 8));
  s.push_back(char(v & 0xff));
}

void append32(std::string& s, uint32_t v) {
  append16(s, uint16_t(v >> 16));
  append16(s, uint16_t(v & 0xffff));
}

Result<> readRecords(std::string_view wire, size_t& off, uint16_t count, std::vector<Record>& out) {
  for (uint16_t i = 0; i < count; i++) {
    Record r;
    TRY_ASSIGN(r.name, readName(wire, off));
    TRY(need(wire, off, 10));
    r.type = get16(wire, off);
    r.klass = get16(wire, off + 2);
    r.ttl = get32(wire, off + 4);
    uint16_t len = get16(wire, off + 8);
    off += 10;
    TRY(need(wire, off, len));
    r.rdata = std::string(wire.substr(off, len));
    if (r.type == kTypePtr || r.type == kTypeCname || r.type == kTypeNs) {
      size_t t = off;
      TRY_ASSIGN(r.target, readName(wire, t));
      if (t != off + len) return makeError(Code::InvalidArgument, "name in rdata does not fill it");
    }
    off += len;
    out.push_back(std::move(r));
  }
  return {};
}

}  // namespace

bool parseHeader(std::string_view wire, Header& h) {
  if (wire.size() < kHeaderSize) return false;
  h.id = get16(wire, 0);
  h.flags = get16(wire, 2);
  h.qdcount = get16(wire, 4);
  h.ancount = get16(wire, 6);
  h.nscount = get16(wire, 8);
  h.arcount = get16(wire, 10);
  return true;
}

Result<std::string> readName(std::string_view wire, size_t& off) {
  std::string name;
  size_t pos = off;
  size_t wireLen = 1;  // the final zero byte
  int pointers = 0;
  bool jumped = false;
  for (;;) {
    TRY(need(wire, pos, 1));
    uint8_t len = uint8_t(wire[pos]);
    if ((len & 0xc0) == 0xc0) {
      TRY(need(wire, pos, 2));
      size_t target = get16(wire, pos) & 0x3fff;
      // Strictly backwards: a pointer can never reach itself, so no loop.
      if (target >= pos) return makeError(Code::InvalidArgument, "compression pointer does not point backwards");
      if (++pointers > kMaxPointers) return makeError(Code::InvalidArgument, "too many compression pointers");
      if (!jumped) off = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if (len & 0xc0) return makeError(Code::InvalidArgument, "unsupported label type");
    if (len == 0) {
      if (!jumped) off = pos + 1;
      return name;
    }
    TRY(need(wire, pos + 1, len));
    wireLen += 1 + len;
    if (wireLen > kMaxName) return makeError(Code::InvalidArgument, "name longer than 255 bytes");
    if (!name.empty()) name.push_back('.');
    name.append(wire.substr(pos + 1, len));
    pos += 1 + len;
  }
}

Result<Message> parse(std::string_view wire) {
  Message m;
  if (!parseHeader(wire, m.header)) return makeError(Code::InvalidArgument, "shorter than a DNS header");
  const Header& h = m.header;
  // Counts the message cannot hold are refused before reserving anything.
  size_t minimum = kHeaderSize + h.qdcount * kMinQuestion +
                   (size_t(h.ancount) + h.nscount + h.arcount) * kMinRecord;
  if (minimum > wire.size()) return makeError(Code::InvalidArgument, "section counts exceed the message size");
  size_t off = kHeaderSize;
  for (uint16_t i = 0; i < h.qdcount; i++) {
    Question q;
    TRY_ASSIGN(q.name, readName(wire, off));
    TRY(need(wire, off, 4));
    q.type = get16(wire, off);
    q.klass = get16(wire, off + 2);
    off += 4;
    m.questions.push_back(std::move(q));
  }
  TRY(readRecords(wire, off, h.ancount, m.answers));
  TRY(readRecords(wire, off, h.nscount, m.authority));
  TRY(readRecords(wire, off, h.arcount, m.additional));
  return m;
}

size_t udpLimit(const Message& query) {
  for (auto& r : query.additional)
    if (r.type == kTypeOpt && r.name.empty()) return r.klass < kMaxUdpPlain ? kMaxUdpPlain : r.klass;
  return kMaxUdpPlain;
}

bool encodeName(std::string_view name, std::string& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  size_t start = out.size(), total = 1;
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) {
      out.resize(start);
      return false;
    }
    total += 1 + label.size();
    if (total > kMaxName) {
      out.resize(start);
      return false;
    }
    out.push_back(char(label.size()));
    out.append(label);
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (dot != std::string_view::npos && name.empty()) {  // "a..": an empty label
      out.resize(start);
      return false;
    }
  }
  out.push_back('\0');
  return true;
}

std::string reverseName(std::string_view ip) {
  std::string s(ip);
  unsigned char b[16];
  static const char* kHex = "0123456789abcdef";
  if (::inet_pton(AF_INET, s.c_str(), b) == 1)
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
  if (::inet_pton(AF_INET6, s.c_str(), b) == 1) {
    std::string out;
    for (int i = 15; i >= 0; i--) {
      out.push_back(kHex[b[i] & 15]);
      out.push_back('.');
      out.push_back(kHex[b[i] >> 4]);
      out.push_back('.');
    }
    return out + "ip6.arpa";
  }
  return "";
}

Builder::Builder(uint16_t id, uint16_t flags) {
  append16(out_, id);
  append16(out_, flags);
  out_.append(8, '\0');
}

void Builder::bump(size_t countOffset) { put16(out_, countOffset, uint16_t(get16(out_, countOffset) + 1)); }

bool Builder::question(std::string_view name, uint16_t type, uint16_t klass) {
  if (!encodeName(name, out_)) return false;
  append16(out_, type);
  append16(out_, klass);
  bump(4);
  return true;
}

void Builder::answerToQuestion(uint16_t type, uint32_t ttl, std::string_view rdata, uint16_t klass) {
  append16(out_, 0xc000 | kHeaderSize);
  append16(out_, type);
  append16(out_, klass);
  append32(out_, ttl);
  append16(out_, uint16_t(rdata.size()));
  out_.append(rdata);
  bump(6);
}

bool Builder::answer(std::string_view name, uint16_t type, uint32_t ttl, std::string_view rdata, uint16_t klass) {
  if (!encodeName(name, out_)) return false;
  append16(out_, type);
  append16(out_, klass);
  append32(out_, ttl);
  append16(out_, uint16_t(rdata.size()));
  out_.append(rdata);
  bump(6);
  return true;
}

}  // namespace berth::dns
