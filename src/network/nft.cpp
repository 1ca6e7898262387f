#include "network/nft.h"

#include <dlfcn.h>

#include <cctype>

#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace berth::network {

namespace {

bool validTable(std::string_view t) {
  if (t.empty() || t.size() > 32) return false;
  if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z'))) return false;
  for (char c : t)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

bool validIfname(std::string_view n) {
  if (n.empty() || n.size() > 15) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// Map elements keyed by their text so duplicates of the host side show up.
struct Maps {
  std::map<std::string, std::string> any4, addr4, any6, addr6;
};

void appendMap(std::string& out, std::string_view name, std::string_view keyType, std::string_view addrType,
               const std::map<std::string, std::string>& elems) {
  out += fmt::format("\tmap {} {{\n\t\ttype {} : {} . inet_service\n", name, keyType, addrType);
  if (!elems.empty()) {
    out += "\t\telements = { ";
    bool first = true;
    for (const auto& [k, v] : elems) {
      if (!first) out += ",\n\t\t\t     ";
      first = false;
      out += k + " : " + v;
    }
    out += " }\n";
  }
  out += "\t}\n";
}

}  // namespace

Result<std::string> renderDeleteTable(std::string_view table) {
  if (!validTable(table)) return errorf(Code::InvalidArgument, "invalid nftables table name \"{}\"", table);
  // "add" first: deleting an absent table is an error, adding an existing one is not.
  return fmt::format("add table inet {0}\ndelete table inet {0}\n", table);
}

Result<std::string> renderRuleset(const RulesetSpec& spec) {
  TRY_ASSIGN(std::string out, renderDeleteTable(spec.table));

  Maps maps;
  for (const auto& p : spec.ports) {
    if (p.proto != "tcp" && p.proto != "udp" && p.proto != "sctp")
      return errorf(Code::InvalidArgument, "invalid protocol \"{}\" for published port {}", p.proto, p.hostPort);
    if (p.hostPort == 0 || p.containerPort == 0)
      return errorf(Code::InvalidArgument, "invalid published port {}:{}", p.hostPort, p.containerPort);
    if (p.hostIp && p.hostIp->family != p.containerIp.family)
      return errorf(Code::InvalidArgument, "published port {}: host address {} and container address {} differ in family",
                    p.hostPort, p.hostIp->str(), p.containerIp.str());
    bool v4 = p.containerIp.isV4();
    std::string value = fmt::format("{} . {}", p.containerIp.str(), p.containerPort);
    std::string key = fmt::format("{} . {}", p.proto, p.hostPort);
    auto& m = p.hostIp ? (v4 ? maps.addr4 : maps.addr6) : (v4 ? maps.any4 : maps.any6);
    if (p.hostIp) key = p.hostIp->str() + " . " + key;
    if (!m.emplace(key, value).second)
      return errorf(Code::InvalidArgument, "port {}/{} is published twice on {}", p.hostPort, p.proto,
                    p.hostIp ? p.hostIp->str() : (v4 ? "0.0.0.0" : "::"));
  }
  for (const auto& b : spec.bridges) {
    if (!validIfname(b.bridge)) return errorf(Code::InvalidArgument, "invalid bridge name \"{}\"", b.bridge);
    for (const auto& s : b.subnets)
      if (s.masked() != s) return errorf(Code::InvalidArgument, "invalid subnet {}: it should be {}", s.str(), s.masked().str());
  }

  out += fmt::format("table inet {} {{\n", spec.table);
  appendMap(out, "pub4_any", "inet_proto . inet_service", "ipv4_addr", maps.any4);
  appendMap(out, "pub4_addr", "ipv4_addr . inet_proto . inet_service", "ipv4_addr", maps.addr4);
  appendMap(out, "pub6_any", "inet_proto . inet_service", "ipv6_addr", maps.any6);
  appendMap(out, "pub6_addr", "ipv6_addr . inet_proto . inet_service", "ipv6_addr", maps.addr6);

  // DNAT of published ports: one address first, then all addresses.
  out +=
      "\tchain published {\n"
      "\t\tmeta l4proto { tcp, udp, sctp } meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @pub4_addr\n"
      "\t\tmeta l4proto { tcp, udp, sctp } meta nfproto ipv4 dnat ip to meta l4proto . th dport map @pub4_any\n"
      "\t\tmeta l4proto { tcp, udp, sctp } meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_addr\n"
      "\t\tmeta l4proto { tcp, udp, sctp } meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @pub6_any\n"
      "\t}\n"
      "\tchain prerouting {\n"
      "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\tfib daddr type local jump published\n"
      "\t}\n"
      "\tchain output {\n"
      "\t\ttype nat hook output priority -100; policy accept;\n"
      "\t\tfib daddr type local jump published\n"
      "\t}\n";

  out +=
      "\tchain postrouting {\n"
      "\t\ttype nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& b : spec.bridges) {
    if (b.internal) continue;
    // 127.0.0.1:port DNATed onto the bridge (with route_localnet on it).
    out += fmt::format("\t\toifname \"{}\" ct status dnat ip saddr 127.0.0.0/8 masquerade\n", b.bridge);
    for (const auto& s : b.subnets) {
      const char* fam = s.addr.isV4() ? "ip" : "ip6";
      // Hairpin: a container reaching a published port that leads back to its bridge.
      out += fmt::format("\t\toifname \"{}\" ct status dnat {} saddr {} masquerade\n", b.bridge, fam, s.str());
      if (b.masquerade) out += fmt::format("\t\toifname != \"{}\" {} saddr {} masquerade\n", b.bridge, fam, s.str());
    }
  }
  out += "\t}\n";

  out +=
      "\tchain forward {\n"
      "\t\ttype filter hook forward priority filter; policy accept;\n";
  for (const auto& b : spec.bridges) {
    const std::string& n = b.bridge;
    if (b.internal) {
      out += fmt::format("\t\tiifname \"{0}\" oifname != \"{0}\" drop\n", n);
      out += fmt::format("\t\toifname \"{0}\" iifname != \"{0}\" drop\n", n);
    }
    out += fmt::format("\t\tiifname \"{0}\" oifname \"{0}\" {1}\n", n, b.icc ? "accept" : "drop");
    out += fmt::format("\t\toifname \"{}\" ct state established,related accept\n", n);
    out += fmt::format("\t\toifname \"{}\" ct status dnat accept\n", n);
    out += fmt::format("\t\toifname \"{}\" drop\n", n);
  }
  // Only after every bridge's drops: a bridge's own traffic may leave for
  // anywhere but another bridge (an accept here before a later bridge's
  // drop would let one network reach another, depending on the order).
  for (const auto& b : spec.bridges) out += fmt::format("\t\tiifname \"{}\" accept\n", b.bridge);
  out += "\t}\n}\n";
  return out;
}

// ---- libnftables, loaded on first use -------------------------------------

namespace {

struct nft_ctx;

struct NftApi {
  void* lib = nullptr;
  std::string loadError;
  nft_ctx* (*ctxNew)(std::uint32_t) = nullptr;
  void (*ctxFree)(nft_ctx*) = nullptr;
  int (*bufferOutput)(nft_ctx*) = nullptr;
  int (*bufferError)(nft_ctx*) = nullptr;
  const char* (*getOutput)(nft_ctx*) = nullptr;
  const char* (*getError)(nft_ctx*) = nullptr;
  int (*runCmd)(nft_ctx*, const char*) = nullptr;
};

NftApi loadNft() {
  NftApi a;
  a.lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!a.lib) {
    const char* e = dlerror();
    a.loadError = std::string("libnftables could not be loaded (Debian package libnftables1): ") + (e ? e : "unknown error");
    return a;
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(a.lib, name));
    if (!fn && a.loadError.empty()) a.loadError = std::string("libnftables.so.1 lacks ") + name;
  };
  sym(a.ctxNew, "nft_ctx_new");
  sym(a.ctxFree, "nft_ctx_free");
  sym(a.bufferOutput, "nft_ctx_buffer_output");
  sym(a.bufferError, "nft_ctx_buffer_error");
  sym(a.getOutput, "nft_ctx_get_output_buffer");
  sym(a.getError, "nft_ctx_get_error_buffer");
  sym(a.runCmd, "nft_run_cmd_from_buffer");
  if (!a.loadError.empty()) {
    dlclose(a.lib);
    a.lib = nullptr;
  }
  return a;
}

const NftApi& nftApi() {
  static const NftApi api = loadNft();  // thread-safe initialisation
  return api;
}

}  // namespace

Result<std::string> LibNftRunner::run(std::string_view commands) {
  const NftApi& api = nftApi();
  if (!api.lib) return makeError(Code::Unavailable, api.loadError);
  nft_ctx* ctx = api.ctxNew(0);  // NFT_CTX_DEFAULT
  if (!ctx) return makeError(Code::Internal, "nft_ctx_new failed");
  api.bufferOutput(ctx);
  api.bufferError(ctx);
  std::string cmd(commands);
  int rc = api.runCmd(ctx, cmd.c_str());
  // Each getter hands the buffer over and rewinds it: call each once.
  const char* out = api.getOutput(ctx);
  const char* err = api.getError(ctx);
  std::string output = out ? out : "";
  std::string error = err ? err : "";
  api.ctxFree(ctx);
  if (rc != 0) {
    while (!error.empty() && error.back() == '\n') error.pop_back();
    return errorf(Code::InvalidArgument, "nftables: {}", error.empty() ? "command failed" : error);
  }
  return output;
}

Result<void> applyRuleset(NftRunner& runner, const RulesetSpec& spec) {
  TRY_ASSIGN(std::string text, renderRuleset(spec));
  auto r = runner.run(text);
  if (!r) return std::unexpected(r.error().wrap(fmt::format("apply nftables table {}", spec.table)));
  return {};
}

Result<void> deleteTable(NftRunner& runner, std::string_view table) {
  TRY_ASSIGN(std::string text, renderDeleteTable(table));
  auto r = runner.run(text);
  if (!r) return std::unexpected(r.error().wrap(fmt::format("delete nftables table {}", table)));
  return {};
}

Result<std::string> listTable(NftRunner& runner, std::string_view table) {
  if (!validTable(table)) return errorf(Code::InvalidArgument, "invalid nftables table name \"{}\"", table);
  // Presence from the listing itself, not from the text of nft's error.
  TRY_ASSIGN(std::string tables, runner.run("list tables inet"));
  std::string want = fmt::format("table inet {}\n", table);
  if (tables.find(want) == std::string::npos && !tables.ends_with(want.substr(0, want.size() - 1)))
    return errorf(Code::NotFound, "nftables table inet {} not found", table);
  return runner.run(fmt::format("list table inet {}", table));
}

}  // namespace berth::network
