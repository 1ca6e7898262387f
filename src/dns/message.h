#pragma once
// The DNS wire format (RFC 1035 4.1), the few parts berth-dns needs: parse a
// message (header, questions, resource records with names decompressed) and
// build one. Hand-written: berth-dns is a small static binary, and it
// answers only A, AAAA and PTR itself; everything else is relayed as bytes.
//
// Parsing is defensive against hostile input: every read is bounds-checked,
// compression pointers must point strictly backwards (so they cannot loop)
// and at most kMaxPointers are followed, a name is at most 255 bytes, and the
// section counts must be coverable by the message's size before anything is
// allocated for them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::dns {

enum Type : uint16_t {
  kTypeA = 1,
  kTypeNs = 2,
  kTypeCname = 5,
  kTypeSoa = 6,
  kTypePtr = 12,
  kTypeMx = 15,
  kTypeTxt = 16,
  kTypeAaaa = 28,
  kTypeOpt = 41,
  kTypeAny = 255,
};
constexpr uint16_t kClassIn = 1;

enum Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// Header flag bits (the second 16-bit word).
constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagAa = 0x0400;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxName = 255;  // wire length, RFC 1035 3.1
constexpr int kMaxPointers = 64;
constexpr size_t kMaxUdpPlain = 512;  // a UDP answer without EDNS

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  int opcode() const { return (flags >> 11) & 0xf; }
  int rcode() const { return flags & 0xf; }
};

struct Question {
  std::string name;  // dotted, no trailing dot, case as sent; "" is the root
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string rdata;   // raw bytes as on the wire
  std::string target;  // PTR, CNAME, NS: the name in rdata, decompressed
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;
};

// The header alone; false when the buffer is shorter than 12 bytes.
bool parseHeader(std::string_view wire, Header& out);
// A whole message. InvalidArgument for anything malformed (truncation,
// pointer loops or forward pointers, labels of 64+ bytes, names over 255,
// counts the size cannot hold, trailing garbage is allowed as DNS allows).
Result<Message> parse(std::string_view wire);
// One name at `off` (advanced past it, not past a pointer's target).
Result<std::string> readName(std::string_view wire, size_t& off);

// The largest UDP answer the client accepts: its EDNS OPT's payload size
// (at least 512, at most 65535), or 512 without OPT.
size_t udpLimit(const Message& query);

// Builds a message section by section; names are written uncompressed
// except that answers may point at the first question's name.
class Builder {
 public:
  Builder(uint16_t id, uint16_t flags);
  // Appends a question; false when the name is not encodable (a label
  // over 63 bytes, a name over 255, an empty label).
  bool question(std::string_view name, uint16_t type, uint16_t klass = kClassIn);
  // Appends an answer whose owner is the first question's name (0xC00C).
  void answerToQuestion(uint16_t type, uint32_t ttl, std::string_view rdata, uint16_t klass = kClassIn);
  // Appends an answer with an explicit owner name.
  bool answer(std::string_view name, uint16_t type, uint32_t ttl, std::string_view rdata,
              uint16_t klass = kClassIn);
  const std::string& wire() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void bump(size_t countOffset);
  std::string out_;
};

// "a.b.c" -> "\1a\1b\1c\0"; false when not encodable.
bool encodeName(std::string_view name, std::string& out);
// The PTR owner of an address: "4.3.2.1.in-addr.arpa" or the nibbles under
// "ip6.arpa"; "" when `ip` is not an address.
std::string reverseName(std::string_view ip);

// Reads and writes big-endian 16-bit values (the message id, a TCP length).
inline uint16_t get16(std::string_view s, size_t off) {
  return uint16_t((uint8_t(s[off]) << 8) | uint8_t(s[off + 1]));
}
inline void put16(std::string& s, size_t off, uint16_t v) {
  s[off] = char(v >> 8);
  s[off + 1] = char(v & 0xff);
}

}  // namespace berth::dns
