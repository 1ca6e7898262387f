// The seccomp program's layout (runtime/seccomp.h): the binary-tree program
// the runtime installs decides every syscall exactly as libseccomp's linear
// one does, for Docker's default profile with and without CAP_SYS_ADMIN and
// for a profile with argument rules of every operator. Both programs run in
// a small classic-BPF interpreter (the subset libseccomp emits; anything
// else fails the test) over every syscall number of the three x86
// architectures with argument values around each rule's constants.

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "container/security.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

using nlohmann::json;
using berth::runtime::SeccompLayout;
using berth::runtime::SeccompProgram;

namespace {

// Runs prog on d as the kernel's seccomp does: the return value, or nullopt
// for an instruction outside the subset or a jump out of the program.
std::optional<uint32_t> runBpf(const SeccompProgram& prog, const seccomp_data& d) {
  const auto& f = prog.filter;
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  unsigned char data[sizeof d];
  std::memcpy(data, &d, sizeof d);
  for (size_t pc = 0; pc < f.size(); pc++) {
    const sock_filter& in = f[pc];
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (in.k % 4 || in.k + 4 > sizeof d) return std::nullopt;
        std::memcpy(&a, data + in.k, 4);
        break;
      case BPF_LD | BPF_IMM: a = in.k; break;
      case BPF_LDX | BPF_IMM: x = in.k; break;
      case BPF_LD | BPF_MEM:
        if (in.k >= BPF_MEMWORDS) return std::nullopt;
        a = mem[in.k];
        break;
      case BPF_LDX | BPF_MEM:
        if (in.k >= BPF_MEMWORDS) return std::nullopt;
        x = mem[in.k];
        break;
      case BPF_ST:
        if (in.k >= BPF_MEMWORDS) return std::nullopt;
        mem[in.k] = a;
        break;
      case BPF_STX:
        if (in.k >= BPF_MEMWORDS) return std::nullopt;
        mem[in.k] = x;
        break;
      case BPF_ALU | BPF_AND | BPF_K: a &= in.k; break;
      case BPF_ALU | BPF_OR | BPF_K: a |= in.k; break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_JMP | BPF_JA: pc += in.k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == in.k ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JGT | BPF_K: pc += a > in.k ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= in.k ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & in.k) ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JEQ | BPF_X: pc += a == x ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JGT | BPF_X: pc += a > x ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JGE | BPF_X: pc += a >= x ? in.jt : in.jf; break;
      case BPF_RET | BPF_K: return in.k;
      case BPF_RET | BPF_A: return a;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

berth::runtime::Seccomp parsedProfile(const json& oci) {
  std::string text = json{{"ociVersion", "1.0.2"},
                          {"process", {{"args", {"true"}}}},
                          {"root", {{"path", "/r"}}},
                          {"linux", {{"seccomp", oci}}}}
                         .dump();
  auto spec = berth::runtime::parseSpec(text, "/b");
  EXPECT_TRUE(spec) << spec.error().message;
  return spec && spec->seccomp ? *spec->seccomp : berth::runtime::Seccomp{};
}

// Argument values to try: 0, all ones, and each rule's constants with their
// neighbours, in the low half, the high half and both.
std::vector<uint64_t> argValues(const berth::runtime::Seccomp& p) {
  std::set<uint64_t> v{0, 1, ~0ull, 0xffffffffull, 0xffffffff00000000ull};
  for (const auto& r : p.syscalls)
    for (const auto& a : r.args)
      for (uint64_t c : {a.value, a.valueTwo, a.value & a.valueTwo, a.value | ~a.valueTwo}) {
        for (uint64_t n : {c - 1, c, c + 1}) {
          v.insert(n);
          v.insert(n << 32);
          v.insert(n | (1ull << 32));
          v.insert(n & 0xffffffffull);
        }
      }
  return {v.begin(), v.end()};
}

// The syscall numbers (low 9 bits, any of the three architectures) that a
// rule with argument conditions names: these get every argument value in
// every slot, the others a few.
std::set<uint32_t> numbersWithArgRules(const berth::runtime::Seccomp& p) {
  std::set<uint32_t> out;
  for (const auto& r : p.syscalls) {
    if (r.args.empty()) continue;
    for (const auto& n : r.names)
      for (uint32_t arch : {uint32_t(SCMP_ARCH_X86_64), uint32_t(SCMP_ARCH_X86), uint32_t(SCMP_ARCH_X32)}) {
        int nr = seccomp_syscall_resolve_name_arch(arch, n.c_str());
        if (nr >= 0) out.insert(uint32_t(nr) & 0x1ff);
      }
  }
  return out;
}

// Both layouts compiled, both programs run on every syscall number (0..511,
// and the x32 numbers) of x86_64, i386 and x32 (and aarch64, a foreign
// one), with argument values in each argument slot: the count of decisions
// compared, or a failure.
size_t expectSameDecisions(const berth::runtime::Seccomp& profile) {
  auto tree = berth::runtime::compileSeccomp(profile, SeccompLayout::BinaryTree);
  auto linear = berth::runtime::compileSeccomp(profile, SeccompLayout::Linear);
  EXPECT_TRUE(tree && linear);
  if (!tree || !linear) return 0;
  EXPECT_NE(tree->filter.size(), linear->filter.size()) << "the layouts should differ";
  const auto values = argValues(profile);
  const std::vector<uint64_t> few{1, 0x28, 0x7fffffff, 0x100000000ull, ~0ull};
  const auto heavy = numbersWithArgRules(profile);
  EXPECT_FALSE(heavy.empty());
  size_t compared = 0;
  struct Arch {
    uint32_t audit;
    uint32_t nrBase;
  };
  for (Arch arch : {Arch{AUDIT_ARCH_X86_64, 0}, Arch{AUDIT_ARCH_X86_64, 0x40000000u}, Arch{AUDIT_ARCH_I386, 0},
                    Arch{AUDIT_ARCH_AARCH64, 0}}) {
    for (uint32_t nr = 0; nr < 512; nr++) {
      seccomp_data d{};
      d.arch = arch.audit;
      d.nr = int(arch.nrBase + nr);
      d.instruction_pointer = 0x401000;
      auto check = [&] {
        auto t = runBpf(*tree, d), l = runBpf(*linear, d);
        if (!t || !l) {
          ADD_FAILURE() << "program left the interpreted subset at nr " << d.nr;
          return false;
        }
        if (*t != *l) {
          ADD_FAILURE() << "nr " << d.nr << " arch " << std::hex << d.arch << " args " << d.args[0] << ","
                        << d.args[1] << ": tree " << *t << ", linear " << *l;
          return false;
        }
        compared++;
        return true;
      };
      if (!check()) return compared;
      for (int slot = 0; slot < 6; slot++) {
        for (uint64_t v : heavy.count(nr) ? values : few) {
          std::memset(d.args, 0, sizeof d.args);
          d.args[slot] = v;
          if (!check()) return compared;
        }
      }
    }
  }
  return compared;
}

}  // namespace

TEST(RuntimeSeccomp, DockerDefaultProfileDecidesAlikeInBothLayouts) {
  using namespace berth::container;
  auto caps = effectiveCapabilities(json::object());
  ASSERT_TRUE(caps);
  auto oci = seccompForSpec(defaultSeccompProfile(), *caps);
  ASSERT_TRUE(oci);
  auto profile = parsedProfile(*oci);
  ASSERT_GT(profile.syscalls.size(), 5u);
  EXPECT_GT(expectSameDecisions(profile), 4u * 512 * 31);
}

TEST(RuntimeSeccomp, DockerDefaultProfileWithSysAdminDecidesAlike) {
  using namespace berth::container;
  auto caps = effectiveCapabilities(json{{"CapAdd", {"SYS_ADMIN"}}});
  ASSERT_TRUE(caps);
  auto oci = seccompForSpec(defaultSeccompProfile(), *caps);
  ASSERT_TRUE(oci);
  EXPECT_GT(expectSameDecisions(parsedProfile(*oci)), 4u * 512 * 31);
}

TEST(RuntimeSeccomp, EveryOperatorAndActionDecidesAlike) {
  json rules = json::array();
  const char* ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT"};
  const char* names[] = {"read", "write", "openat", "mmap", "ioctl", "fcntl"};
  for (int i = 0; i < 6; i++)
    rules.push_back({{"names", {names[i]}},
                     {"action", "SCMP_ACT_ALLOW"},
                     {"args", {{{"index", i}, {"value", 0x100000005ull + i}, {"op", ops[i]}}}}});
  rules.push_back({{"names", {"kill", "tkill"}},
                   {"action", "SCMP_ACT_ERRNO"},
                   {"errnoRet", 38},
                   {"args", {{{"index", 1}, {"value", 0xf0}, {"valueTwo", 0x90}, {"op", "SCMP_CMP_MASKED_EQ"}}}}});
  // two conditions on one argument: one rule each (an OR)
  rules.push_back({{"names", {"dup3"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", {{{"index", 2}, {"value", 0}, {"op", "SCMP_CMP_EQ"}},
                             {{"index", 2}, {"value", 0x80000}, {"op", "SCMP_CMP_EQ"}}}}});
  rules.push_back({{"names", {"getpid", "gettid", "uname", "exit_group"}}, {"action", "SCMP_ACT_ALLOW"}});
  rules.push_back({{"names", {"reboot"}}, {"action", "SCMP_ACT_KILL_PROCESS"}});
  rules.push_back({{"names", {"ptrace"}}, {"action", "SCMP_ACT_TRAP"}});
  rules.push_back({{"names", {"syslog"}}, {"action", "SCMP_ACT_LOG"}});
  json p{{"defaultAction", "SCMP_ACT_ERRNO"},
         {"defaultErrnoRet", 1},
         {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
         {"syscalls", rules}};
  EXPECT_GT(expectSameDecisions(parsedProfile(p)), 4u * 512 * 31);
}

TEST(RuntimeSeccomp, InterpreterRefusesWhatItDoesNotKnow) {
  // the check above is only as good as the interpreter: an unknown opcode
  // and a program that runs off its end are no decision, not a pass
  SeccompProgram p;
  p.filter.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  p.filter.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1));
  p.filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  p.filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1));
  seccomp_data d{};
  d.nr = 39;
  EXPECT_EQ(runBpf(p, d), std::optional<uint32_t>(SECCOMP_RET_ALLOW));
  d.nr = 40;
  EXPECT_EQ(runBpf(p, d), std::optional<uint32_t>(SECCOMP_RET_ERRNO | 1));
  p.filter.pop_back();
  EXPECT_EQ(runBpf(p, d), std::nullopt);
  p.filter.push_back(BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3));
  EXPECT_EQ(runBpf(p, d), std::nullopt);
}

namespace {

std::string dockerConfigText(int indent) {
  using namespace berth::container;
  auto oci = seccompForSpec(defaultSeccompProfile(), *effectiveCapabilities(json::object()));
  json j{{"ociVersion", "1.0.2"},
         {"annotations", {{"note", "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}"}}},
         {"process", {{"args", {"true"}}}},
         {"root", {{"path", "/r"}}},
         {"linux", {{"resources", {{"seccomp", {{"x", 1}}}}}, {"seccomp", *oci}, {"maskedPaths", {"/proc/kcore"}}}}};
  return j.dump(indent);
}

}  // namespace

TEST(RuntimeSeccomp, SpanIsLinuxSeccompExactly) {
  for (int indent : {-1, 2}) {
    std::string text = dockerConfigText(indent);
    auto span = berth::runtime::seccompSpan(text);
    ASSERT_TRUE(span) << indent;
    json whole = json::parse(text);
    EXPECT_EQ(json::parse(text.substr(span->first, span->second)), whole["linux"]["seccomp"]);
    EXPECT_EQ(text[span->first], '{');
    EXPECT_EQ(text[span->first + span->second - 1], '}');
    // without the span, the spec has no seccomp and otherwise the same
    std::string rest = text.substr(0, span->first) + "null" + text.substr(span->first + span->second);
    auto full = berth::runtime::parseSpec(text, "/b");
    auto without = berth::runtime::parseSpec(rest, "/b");
    ASSERT_TRUE(full && without);
    EXPECT_TRUE(full->seccomp);
    EXPECT_FALSE(without->seccomp);
    EXPECT_EQ(without->maskedPaths, full->maskedPaths);
    EXPECT_EQ(without->annotations, full->annotations);
  }
}

TEST(RuntimeSeccomp, SpanRefusesWhatItCannotBeSureOf) {
  using berth::runtime::seccompSpan;
  EXPECT_FALSE(seccompSpan(R"({"process":{},"root":{}})"));                         // no linux
  EXPECT_FALSE(seccompSpan(R"({"linux":{"maskedPaths":[]}})"));                      // no seccomp
  EXPECT_FALSE(seccompSpan(R"({"linux":{"resources":{"seccomp":{}}}})"));           // deeper only
  EXPECT_FALSE(seccompSpan(R"({"a":"\"linux\":{\"seccomp\":{}}"})"));             // inside a string
  EXPECT_FALSE(seccompSpan(R"({"linux":{"seccomp":{"a":1},"seccomp":{"b":2}}})"));  // twice
  EXPECT_FALSE(seccompSpan(R"({"linux":{"seccomp":{"a":1}},"linux":{}})"));         // linux twice
  EXPECT_FALSE(seccompSpan(R"({"linux":{"secc\u006fmp":{"a":1}}})"));               // escaped key
  EXPECT_FALSE(seccompSpan(R"({"linux":{"seccomp":{"a":"unterminated}}})"));        // bad text
  EXPECT_FALSE(seccompSpan(R"({"linux":{"seccomp":{"a":1}})"));                     // unclosed object
  EXPECT_FALSE(seccompSpan(R"([{"linux":{"seccomp":{}}}])"));                       // not an object
  EXPECT_FALSE(seccompSpan(""));
  auto s = seccompSpan(R"({ "linux" : { "seccomp" : {"a":"}\"{"} , "x":[1,{"y":"]"}] } })");
  ASSERT_TRUE(s);
  EXPECT_EQ(std::string(R"({ "linux" : { "seccomp" : {"a":"}\"{"} , "x":[1,{"y":"]"}] } })").substr(s->first, s->second),
            R"({"a":"}\"{"})");
}

TEST(RuntimeSeccomp, ProgramCachedUnderItsExactText) {
  char tmpl[] = "/tmp/berth-sectext-XXXXXX";
  std::string cache = mkdtemp(tmpl);
  SeccompProgram prog;
  prog.filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  prog.filter.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1));
  std::string text = R"({"defaultAction":"SCMP_ACT_ALLOW"})";
  EXPECT_FALSE(berth::runtime::cachedSeccompForText(text, cache));
  berth::runtime::cacheSeccompForText(text, prog, cache);
  auto back = berth::runtime::cachedSeccompForText(text, cache);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->filter.size(), 2u);
  EXPECT_EQ(std::memcmp(back->filter.data(), prog.filter.data(), 2 * sizeof(sock_filter)), 0);
  EXPECT_FALSE(berth::runtime::cachedSeccompForText(R"({"defaultAction":"SCMP_ACT_ALLOw"})", cache));
  EXPECT_FALSE(berth::runtime::cachedSeccompForText(text + " ", cache));
  std::string cmd = "rm -rf " + cache;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(RuntimeSeccomp, MemberSpanOfAnExecProcess) {
  std::string text = R"({"args":["sh"],"berthSeccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"env":["A={\"berthSeccomp\":1}"]})";
  auto s = berth::runtime::memberSpan(text, {"berthSeccomp"});
  ASSERT_TRUE(s);
  EXPECT_EQ(text.substr(s->first, s->second), R"({"defaultAction":"SCMP_ACT_ERRNO"})");
  EXPECT_FALSE(berth::runtime::memberSpan(text, {}));
  EXPECT_FALSE(berth::runtime::memberSpan(text, {"args", "x"}));  // not an object
  std::string rest = text.substr(0, s->first) + "null" + text.substr(s->first + s->second);
  auto p = berth::runtime::parseProcess(rest);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_FALSE(p->berthSeccomp);
  EXPECT_EQ(p->args, std::vector<std::string>{"sh"});
}
