// The DNS wire format of berth-dns (src/dns/message.h) and its local
// answers (src/dns/records.h): pure, no sockets.

#include <gtest/gtest.h>

#include <random>

#include "dns/message.h"
#include "dns/records.h"

using namespace berth;
using namespace berth::dns;

namespace {

std::string query(std::string_view name, uint16_t type, uint16_t id = 0x1234, uint16_t flags = kFlagRd) {
  Builder b(id, flags);
  EXPECT_TRUE(b.question(name, type));
  return b.take();
}

// A query with an EDNS OPT record announcing `size` bytes.
std::string ednsQuery(std::string_view name, uint16_t type, uint16_t size) {
  std::string q = query(name, type);
  q.push_back('\0');  // root owner
  q += std::string{0, char(kTypeOpt), char(size >> 8), char(size & 0xff), 0, 0, 0, 0, 0, 0};
  put16(q, 10, 1);
  return q;
}

network::DnsConfig sampleConfig() {
  network::DnsConfig c;
  c.networkId = "n1";
  c.listen = {"10.89.0.1"};
  c.searchDomains = {"example.com."};
  c.records = {{"web", {"10.89.0.2"}, {"fd00:89::2"}},
               {"Api.", {"10.89.0.4", "10.89.0.5"}, {}},
               {"db", {"10.89.0.3"}, {}},
               {"web-alias", {"10.89.0.2"}, {}}};
  return c;
}

Message parsed(const std::string& wire) {
  auto m = parse(wire);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? *m : Message{};
}

std::string ipv4(const Record& r) {
  if (r.rdata.size() != 4) return "?";
  return fmt::format("{}.{}.{}.{}", uint8_t(r.rdata[0]), uint8_t(r.rdata[1]), uint8_t(r.rdata[2]),
                     uint8_t(r.rdata[3]));
}

}  // namespace

TEST(DnsMessage, BuildAndParseRoundTrip) {
  Builder b(0xbeef, kFlagQr | kFlagRd | kFlagRa);
  ASSERT_TRUE(b.question("Web.Example.COM", kTypeA));
  b.answerToQuestion(kTypeA, 600, std::string("\x0a\x59\x00\x02", 4));
  std::string target;
  ASSERT_TRUE(encodeName("web", target));
  ASSERT_TRUE(b.answer("2.0.89.10.in-addr.arpa", kTypePtr, 30, target));
  Message m = parsed(b.wire());
  EXPECT_EQ(m.header.id, 0xbeef);
  EXPECT_TRUE(m.header.flags & kFlagQr);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "Web.Example.COM");  // case kept on the wire
  EXPECT_EQ(m.questions[0].type, kTypeA);
  EXPECT_EQ(m.questions[0].klass, kClassIn);
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(m.answers[0].name, "Web.Example.COM");  // through the 0xC00C pointer
  EXPECT_EQ(m.answers[0].ttl, 600u);
  EXPECT_EQ(ipv4(m.answers[0]), "10.89.0.2");
  EXPECT_EQ(m.answers[1].name, "2.0.89.10.in-addr.arpa");
  EXPECT_EQ(m.answers[1].target, "web");
}

TEST(DnsMessage, EncodeNameRefusesBadNames) {
  std::string out;
  EXPECT_TRUE(encodeName("a.b.", out));
  EXPECT_EQ(out, std::string("\1a\1b\0", 5));
  out.clear();
  EXPECT_TRUE(encodeName("", out));  // the root
  EXPECT_EQ(out, std::string(1, '\0'));
  out = "keep";
  EXPECT_FALSE(encodeName("a..b", out));
  EXPECT_FALSE(encodeName(std::string(64, 'x'), out));
  std::string longName;
  for (int i = 0; i < 50; i++) longName += "abcd.";
  std::string fits;
  EXPECT_TRUE(encodeName(longName, fits));  // 50 labels: 251 bytes on the wire
  EXPECT_EQ(fits.size(), 251u);
  longName += "abcd";
  EXPECT_FALSE(encodeName(longName, out));  // 51 labels: 256 bytes
  EXPECT_EQ(out, "keep");                    // nothing half-written
}

TEST(DnsMessage, ShortAndTruncatedMessagesAreRefused) {
  Header h;
  EXPECT_FALSE(parseHeader(std::string(11, '\0'), h));
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse(std::string(11, '\0')));
  std::string q = query("web", kTypeA);
  for (size_t n = kHeaderSize; n < q.size(); n++) EXPECT_FALSE(parse(q.substr(0, n))) << "length " << n;
  EXPECT_TRUE(parse(q));
}

TEST(DnsMessage, HugeCountsAreRefusedBeforeAllocating) {
  std::string q = query("web", kTypeA);
  put16(q, 4, 0xffff);  // 65535 questions in 21 bytes
  auto m = parse(q);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("counts"), std::string::npos);
  q = query("web", kTypeA);
  put16(q, 6, 0xffff);
  put16(q, 8, 0xffff);
  put16(q, 10, 0xffff);
  EXPECT_FALSE(parse(q));
}

TEST(DnsMessage, CompressionPointerLoopsAreRefused) {
  // A name that is a pointer to itself.
  std::string self(kHeaderSize, '\0');
  put16(self, 4, 1);
  self += std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  EXPECT_FALSE(parse(self));
  // A forward pointer (to the label after it).
  std::string fwd(kHeaderSize, '\0');
  put16(fwd, 4, 1);
  fwd += std::string("\xc0\x0e\x01" "a\x00\x00\x01\x00\x01", 9);
  EXPECT_FALSE(parse(fwd));
  // Two names pointing at each other: the second points back at the first,
  // whose label is followed by a pointer to the second.
  std::string pingPong(kHeaderSize, '\0');
  put16(pingPong, 4, 2);
  // q1 at 12: "\1a" then pointer to 22 (forward: refused)
  pingPong += std::string("\x01" "a\xc0\x16\x00\x01\x00\x01", 8);
  pingPong += std::string("\x01" "b\xc0\x0c\x00\x01\x00\x01", 8);
  EXPECT_FALSE(parse(pingPong));
  // A backward loop through labels: each pointer goes back to a label
  // that leads to the same pointer again; bounded by kMaxPointers / 255 bytes.
  std::string loop(kHeaderSize, '\0');
  put16(loop, 4, 1);
  loop += std::string("\x01" "a\xc0\x0c\x00\x01\x00\x01", 8);
  auto m = parse(loop);
  EXPECT_FALSE(m);
  // An unknown label type (0x40, extended labels).
  std::string ext(kHeaderSize, '\0');
  put16(ext, 4, 1);
  ext += std::string("\x41" "a\x00\x00\x01\x00\x01", 7);
  EXPECT_FALSE(parse(ext));
}

TEST(DnsMessage, RandomMutationsNeverCrash) {
  Builder b(7, kFlagQr);
  ASSERT_TRUE(b.question("web.example.com", kTypeA));
  b.answerToQuestion(kTypeA, 600, std::string("\x0a\x59\x00\x02", 4));
  std::string target;
  encodeName("web.example.com", target);
  b.answer("x.example.com", kTypeCname, 5, target);
  const std::string base = b.take();
  std::mt19937 rng(12345);
  int parsedOk = 0;
  for (int i = 0; i < 20000; i++) {
    std::string m = base;
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; e++) m[rng() % m.size()] = char(rng());
    if (rng() % 4 == 0) m.resize(rng() % m.size());
    auto r = parse(m);
    if (r) parsedOk++;
    Table t(sampleConfig());
    (void)decide(t, m, true);
  }
  EXPECT_GT(parsedOk, 0);  // some mutations stay valid: the parser is not refusing everything
}

TEST(DnsMessage, ReverseNames) {
  EXPECT_EQ(reverseName("10.89.0.2"), "2.0.89.10.in-addr.arpa");
  EXPECT_EQ(reverseName("fd00:89::2"),
            "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.0.0.d.f.ip6.arpa");
  EXPECT_EQ(reverseName("nope"), "");
}

TEST(DnsMessage, UdpLimitFromEdns) {
  EXPECT_EQ(udpLimit(parsed(query("web", kTypeA))), 512u);
  EXPECT_EQ(udpLimit(parsed(ednsQuery("web", kTypeA, 1232))), 1232u);
  EXPECT_EQ(udpLimit(parsed(ednsQuery("web", kTypeA, 100))), 512u);
}

TEST(DnsRecords, AnswersAAndAaaaCaseInsensitively) {
  Table t(sampleConfig());
  for (std::string name : {"web", "WEB", "Web", "web."}) {
    Decision d = decide(t, query(name, kTypeA, 0x4242), true);
    ASSERT_EQ(d.action, Action::Reply) << name;
    Message m = parsed(d.reply);
    EXPECT_EQ(m.header.id, 0x4242);
    EXPECT_EQ(m.header.rcode(), kNoError);
    EXPECT_TRUE(m.header.flags & kFlagQr);
    EXPECT_TRUE(m.header.flags & kFlagRd);  // copied from the query
    ASSERT_EQ(m.answers.size(), 1u) << name;
    EXPECT_EQ(ipv4(m.answers[0]), "10.89.0.2");
    EXPECT_EQ(m.answers[0].ttl, kLocalTtl);
  }
  Message six = parsed(decide(t, query("web", kTypeAaaa), true).reply);
  ASSERT_EQ(six.answers.size(), 1u);
  EXPECT_EQ(six.answers[0].type, kTypeAaaa);
  EXPECT_EQ(six.answers[0].rdata, std::string("\xfd\x00\x00\x89\0\0\0\0\0\0\0\0\0\0\0\x02", 16));
  // A config name with a trailing dot and capitals; every address answers.
  Message api = parsed(decide(t, query("api", kTypeA), true).reply);
  ASSERT_EQ(api.answers.size(), 2u);
  EXPECT_EQ(ipv4(api.answers[0]), "10.89.0.4");
  EXPECT_EQ(ipv4(api.answers[1]), "10.89.0.5");
}

TEST(DnsRecords, KnownNameWithoutTheFamilyIsNoErrorAndEmpty) {
  Table t(sampleConfig());
  for (uint16_t type : {uint16_t(kTypeAaaa), uint16_t(kTypeMx), uint16_t(kTypeTxt)}) {
    Decision d = decide(t, query("db", type), true);
    ASSERT_EQ(d.action, Action::Reply);
    Message m = parsed(d.reply);
    EXPECT_EQ(m.header.rcode(), kNoError) << type;
    EXPECT_EQ(m.answers.size(), 0u) << type;
    ASSERT_EQ(m.questions.size(), 1u);
    EXPECT_EQ(m.questions[0].type, type);
  }
}

TEST(DnsRecords, SearchDomainIsStripped) {
  Table t(sampleConfig());
  Message m = parsed(decide(t, query("DB.example.com", kTypeA), true).reply);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(ipv4(m.answers[0]), "10.89.0.3");
  EXPECT_EQ(decide(t, query("db.example.org", kTypeA), true).action, Action::Forward);
  EXPECT_EQ(decide(t, query("xdb.example.com", kTypeA), true).action, Action::Forward);
}

TEST(DnsRecords, PtrForRecordAddresses) {
  Table t(sampleConfig());
  Message m = parsed(decide(t, query("2.0.89.10.IN-ADDR.ARPA", kTypePtr), true).reply);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].target, "web");  // the first record holding it, not the alias
  Message six = parsed(decide(t, query(reverseName("fd00:89::2"), kTypePtr), true).reply);
  ASSERT_EQ(six.answers.size(), 1u);
  EXPECT_EQ(six.answers[0].target, "web");
  EXPECT_EQ(decide(t, query("9.0.89.10.in-addr.arpa", kTypePtr), true).action, Action::Forward);
}

TEST(DnsRecords, UnknownNamesAndOtherClassesAreForwarded) {
  Table t(sampleConfig());
  EXPECT_EQ(decide(t, query("example.org", kTypeA), true).action, Action::Forward);
  Builder b(1, kFlagRd);
  b.question("web", kTypeA, 3);  // CHAOS
  EXPECT_EQ(decide(t, b.wire(), true).action, Action::Forward);
  Decision d = decide(t, ednsQuery("example.org", kTypeA, 4096), true);
  EXPECT_EQ(d.action, Action::Forward);
  EXPECT_EQ(d.udpLimit, 4096u);
}

TEST(DnsRecords, BadQueriesGetErrorsAndAnswersAreDropped) {
  Table t(sampleConfig());
  EXPECT_EQ(decide(t, "short", true).action, Action::Drop);
  EXPECT_EQ(decide(t, query("web", kTypeA, 1, kFlagQr), true).action, Action::Drop);  // an answer
  // Malformed: FORMERR with the id.
  std::string bad = query("web", kTypeA, 0x7777);
  put16(bad, 4, 0xffff);
  Decision d = decide(t, bad, true);
  ASSERT_EQ(d.action, Action::Reply);
  Header h;
  ASSERT_TRUE(parseHeader(d.reply, h));
  EXPECT_EQ(h.id, 0x7777);
  EXPECT_EQ(h.rcode(), kFormErr);
  // Two questions: FORMERR.
  Builder two(2, kFlagRd);
  two.question("web", kTypeA);
  two.question("db", kTypeA);
  EXPECT_EQ(parsed(decide(t, two.wire(), true).reply).header.rcode(), kFormErr);
  // Opcode 2 (STATUS): NOTIMP.
  EXPECT_EQ(parsed(decide(t, query("web", kTypeA, 3, 2 << 11), true).reply).header.rcode(), kNotImp);
}

TEST(DnsRecords, LargeLocalAnswerIsTruncatedOverUdp) {
  network::DnsConfig c = sampleConfig();
  network::DnsRecord many{"many", {}, {}};
  for (int i = 0; i < 60; i++) many.ipv6.push_back(fmt::format("fd00:89::{:x}", i + 16));
  c.records.push_back(many);
  Table t(c);
  Message udp = parsed(decide(t, query("many", kTypeAaaa), true).reply);
  EXPECT_TRUE(udp.header.flags & kFlagTc);
  EXPECT_EQ(udp.answers.size(), 0u);
  Message tcp = parsed(decide(t, query("many", kTypeAaaa), false).reply);
  EXPECT_FALSE(tcp.header.flags & kFlagTc);
  EXPECT_EQ(tcp.answers.size(), 60u);
  Message edns = parsed(decide(t, ednsQuery("many", kTypeAaaa, 4096), true).reply);
  EXPECT_FALSE(edns.header.flags & kFlagTc);
  EXPECT_EQ(edns.answers.size(), 60u);
}

TEST(DnsRecords, ErrorReplyKeepsIdAndQuestion) {
  Message m = parsed(errorReply(query("example.org", kTypeAaaa, 0x5151), kServFail));
  EXPECT_EQ(m.header.id, 0x5151);
  EXPECT_EQ(m.header.rcode(), kServFail);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "example.org");
  EXPECT_EQ(m.questions[0].type, kTypeAaaa);
  EXPECT_EQ(errorReply("tiny", kServFail), "");
}
