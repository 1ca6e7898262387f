// nftables ruleset tests: the generated text (pure), the runner seam with a
// recording fake, and one root test applying a uniquely named table inside a
// private network namespace (never the host's ruleset).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include "network/nft.h"

using namespace berth;
using namespace berth::network;

namespace {

IpAddr ip(std::string_view s) { return *parseIp(s); }
Prefix pfx(std::string_view s) { return *parsePrefix(s); }

class FakeRunner : public NftRunner {
 public:
  Result<std::string> run(std::string_view commands) override {
    batches.emplace_back(commands);
    if (fail) return makeError(Code::InvalidArgument, "nftables: Error: boom");
    return std::string(reply);
  }
  std::vector<std::string> batches;
  std::string reply;
  bool fail = false;
};

RulesetSpec sampleSpec(std::string table) {
  RulesetSpec s;
  s.table = std::move(table);
  s.bridges.push_back({"berth0", {pfx("172.18.0.0/16"), pfx("fd00:1::/64")}, false, true, true});
  s.bridges.push_back({"br-internal", {pfx("10.99.0.0/24")}, true, true, false});
  s.ports.push_back({"tcp", {}, 8080, ip("172.18.0.2"), 80});
  s.ports.push_back({"udp", ip("127.0.0.1"), 5353, ip("172.18.0.3"), 53});
  s.ports.push_back({"tcp", {}, 8080, ip("fd00:1::2"), 80});
  return s;
}

bool has(const std::string& text, std::string_view line) { return text.find(line) != std::string::npos; }

}  // namespace

TEST(NetworkNft, RendersAtomicReplaceOfOwnTableOnly) {
  auto text = renderRuleset(sampleSpec("berth"));
  ASSERT_TRUE(text) << text.error().message;
  // Replaces only its own table, in one batch; never a flush.
  EXPECT_TRUE(text->starts_with("add table inet berth\ndelete table inet berth\ntable inet berth {\n"));
  EXPECT_FALSE(has(*text, "flush"));
  for (auto at = text->find("table "); at != std::string::npos; at = text->find("table ", at + 1)) {
    EXPECT_EQ(text->compare(at, 16, "table inet berth"), 0) << text->substr(at, 20);
    EXPECT_TRUE(text->at(at + 16) == '\n' || text->at(at + 16) == ' ') << text->substr(at, 20);
  }
  // Published ports in the maps of their family and binding.
  EXPECT_TRUE(has(*text, "map pub4_any {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
                         "\t\telements = { tcp . 8080 : 172.18.0.2 . 80 }"));
  EXPECT_TRUE(has(*text, "elements = { 127.0.0.1 . udp . 5353 : 172.18.0.3 . 53 }"));
  EXPECT_TRUE(has(*text, "elements = { tcp . 8080 : fd00:1::2 . 80 }"));
  EXPECT_TRUE(has(*text, "dnat ip to ip daddr . meta l4proto . th dport map @pub4_addr"));
  // Prerouting and output (127.0.0.1, locally generated) both reach the DNAT chain.
  EXPECT_TRUE(has(*text, "type nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump published"));
  EXPECT_TRUE(has(*text, "type nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump published"));
  // Masquerade out of other interfaces, hairpin, localhost; none for internal.
  EXPECT_TRUE(has(*text, "oifname != \"berth0\" ip saddr 172.18.0.0/16 masquerade"));
  EXPECT_TRUE(has(*text, "oifname != \"berth0\" ip6 saddr fd00:1::/64 masquerade"));
  EXPECT_TRUE(has(*text, "oifname \"berth0\" ct status dnat ip saddr 172.18.0.0/16 masquerade"));
  EXPECT_TRUE(has(*text, "oifname \"berth0\" ct status dnat ip saddr 127.0.0.0/8 masquerade"));
  EXPECT_FALSE(has(*text, "10.99.0.0/24 masquerade"));
  // Forwarding: established and published in, the rest to a bridge dropped,
  // internal bridges cut off, icc per bridge.
  EXPECT_TRUE(has(*text, "oifname \"berth0\" ct state established,related accept\n"
                         "\t\toifname \"berth0\" ct status dnat accept\n\t\toifname \"berth0\" drop\n"));
  EXPECT_TRUE(has(*text, "iifname \"berth0\" oifname \"berth0\" accept"));
  EXPECT_TRUE(has(*text, "iifname \"br-internal\" oifname != \"br-internal\" drop"));
  EXPECT_TRUE(has(*text, "oifname \"br-internal\" iifname != \"br-internal\" drop"));
  EXPECT_TRUE(has(*text, "iifname \"br-internal\" oifname \"br-internal\" drop"));
}

TEST(NetworkNft, EmptySpecAndDelete) {
  RulesetSpec s;
  auto text = renderRuleset(s);
  ASSERT_TRUE(text);
  EXPECT_TRUE(has(*text, "map pub4_any {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n"));
  EXPECT_EQ(*renderDeleteTable("berth-x_1"), "add table inet berth-x_1\ndelete table inet berth-x_1\n");
}

TEST(NetworkNft, RejectsBadInput) {
  for (auto t : {"", "1berth", "berth;flush ruleset", "a b", "berth\n", std::string(33, 'a').c_str()}) {
    RulesetSpec s;
    s.table = t;
    auto r = renderRuleset(s);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
  }
  auto s = sampleSpec("berth");
  s.bridges[0].bridge = "br\" accept";
  EXPECT_FALSE(renderRuleset(s));
  s = sampleSpec("berth");
  s.ports.push_back({"icmp", {}, 1, ip("172.18.0.2"), 1});
  EXPECT_EQ(renderRuleset(s).error().message, "invalid protocol \"icmp\" for published port 1");
  s = sampleSpec("berth");
  s.ports.push_back({"tcp", {}, 8080, ip("172.18.0.9"), 81});
  EXPECT_EQ(renderRuleset(s).error().message, "port 8080/tcp is published twice on 0.0.0.0");
  s = sampleSpec("berth");
  s.ports.push_back({"tcp", ip("::1"), 8081, ip("172.18.0.9"), 81});
  EXPECT_FALSE(renderRuleset(s));
  s = sampleSpec("berth");
  s.ports.push_back({"tcp", {}, 0, ip("172.18.0.9"), 81});
  EXPECT_FALSE(renderRuleset(s));
  s = sampleSpec("berth");
  s.bridges[0].subnets.push_back(pfx("172.19.0.1/16"));
  EXPECT_FALSE(renderRuleset(s));
}

TEST(NetworkNft, RunnerSeam) {
  FakeRunner f;
  ASSERT_TRUE(applyRuleset(f, sampleSpec("berth")));
  ASSERT_EQ(f.batches.size(), 1u);
  EXPECT_EQ(f.batches[0], *renderRuleset(sampleSpec("berth")));
  ASSERT_TRUE(deleteTable(f, "berth"));
  EXPECT_EQ(f.batches[1], "add table inet berth\ndelete table inet berth\n");
  f.reply = "table inet other\n";
  EXPECT_EQ(listTable(f, "berth").error().code, Code::NotFound);
  f.reply = "table inet berth\n";
  EXPECT_TRUE(listTable(f, "berth"));
  f.fail = true;
  auto r = applyRuleset(f, sampleSpec("berth"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "apply nftables table berth: nftables: Error: boom");
}

// Applies, lists and deletes a uniquely named table inside a private netns.
TEST(NetworkNft, LibNftablesInPrivateNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string table = fmt::format("berthut-{}", ::getpid());
  std::string skip;
  Result<std::string> listed = makeError(Code::Internal, "not run");
  Result<std::string> afterDelete = makeError(Code::Internal, "not run");
  Result<void> applied, deleted, deletedAgain;
  std::thread t([&] {
    // A private namespace for this thread only; it dies with the thread,
    // taking the table with it even if a step below fails.
    if (::unshare(CLONE_NEWNET) != 0) {
      skip = "unshare(CLONE_NEWNET) failed";
      return;
    }
    LibNftRunner nft;
    auto spec = sampleSpec(table);
    applied = applyRuleset(nft, spec);
    if (!applied && applied.error().code == Code::Unavailable) {
      skip = applied.error().message;
      return;
    }
    // Applying twice replaces the table (atomic, idempotent).
    if (applied) applied = applyRuleset(nft, spec);
    listed = listTable(nft, table);
    deleted = deleteTable(nft, table);
    deletedAgain = deleteTable(nft, table);
    afterDelete = listTable(nft, table);
  });
  t.join();
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_TRUE(has(*listed, "table inet " + table));
  EXPECT_TRUE(has(*listed, "172.18.0.2 . 80")) << *listed;
  EXPECT_TRUE(has(*listed, "masquerade")) << *listed;
  EXPECT_TRUE(deleted) << deleted.error().message;
  EXPECT_TRUE(deletedAgain) << deletedAgain.error().message;
  ASSERT_FALSE(afterDelete);
  EXPECT_EQ(afterDelete.error().code, Code::NotFound);
}

// Isolation between networks: traffic from one bridge to another must meet
// the second bridge's drop before the first bridge's "leave for anywhere"
// accept, whatever the order of the bridges in the spec (a container on the
// default bridge reached a user network's container when the default bridge
// came first).
TEST(NetworkNft, EveryBridgeDropComesBeforeAnyBridgeAccept) {
  RulesetSpec s;
  s.bridges.push_back({"berth0", {pfx("172.18.0.0/16")}, false, true, true});
  s.bridges.push_back({"br-a", {pfx("10.99.1.0/24")}, false, true, true});
  s.bridges.push_back({"br-b", {pfx("10.99.2.0/24")}, false, true, true});
  auto text = renderRuleset(s);
  ASSERT_TRUE(text) << text.error().message;
  size_t lastDrop = 0, firstAccept = std::string::npos;
  for (const char* br : {"berth0", "br-a", "br-b"}) {
    size_t d = text->find(fmt::format("oifname \"{}\" drop", br));
    size_t a = text->find(fmt::format("iifname \"{}\" accept", br));
    ASSERT_NE(d, std::string::npos) << br;
    ASSERT_NE(a, std::string::npos) << br;
    lastDrop = std::max(lastDrop, d);
    firstAccept = std::min(firstAccept, a);
  }
  EXPECT_LT(lastDrop, firstAccept) << *text;
}
